"""Follow a campaign's progress on the terminal: jobs done/total, current job, elapsed/ETA, live watts."""
from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

from master.cli.api import MasterApi

REFRESH_S = 0.5
"""How often the progress display asks the master for the campaign's state."""


def status_line(campaign: dict[str, Any]) -> str:
    """'job-name 42% 215 W' for the first running job, or what the campaign is doing."""
    running = campaign.get("running") or []
    if not running:
        return "waiting for an agent" if campaign.get("state") == "running" else campaign.get("state", "")
    job = running[0]
    progress = job.get("progress") or {}
    parts = [job["name"], progress.get("phase", "")]
    if progress.get("frame") is not None:
        parts.append(f"frame {progress['frame']}")
    watts = job.get("current_watts")
    parts.append(f"{watts:.1f} W" if watts is not None else "— W")
    return "  ".join(p for p in parts if p)


def follow(api: MasterApi, campaign_id: str, console: Console, is_done=None) -> dict[str, Any]:
    """Show progress until the campaign leaves ``running`` (or ``is_done()`` says stop); returns its last state."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        campaign = api.campaign(campaign_id)
        task = progress.add_task(campaign["name"], total=campaign["total"], status="")
        while True:
            progress.update(task, completed=campaign["done"], status=status_line(campaign))
            if campaign["state"] != "running" or (is_done is not None and is_done()):
                return campaign
            time.sleep(REFRESH_S)
            campaign = api.campaign(campaign_id)
