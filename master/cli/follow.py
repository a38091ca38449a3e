"""Follow a campaign's progress on the terminal: jobs done/total, current job, elapsed/ETA, live watts.

A remote master may restart while it is followed: an unreachable master (or a 5xx) shows in the status column and
the display keeps asking, until the master has been gone for :data:`MASTER_LOST_S`.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from master.cli.api import ApiError, MasterApi

REFRESH_S = 0.5
"""How often the progress display asks the master for the campaign's state."""

MASTER_LOST_S = 300.0
"""How long the display keeps asking an unreachable master before it gives up."""


def status_line(campaign: dict[str, Any]) -> str:
    """'job-name 42% 215 W' for the first running job, or what the campaign is doing."""
    running = campaign.get("running") or []
    if not running:
        if campaign.get("state") != "running":
            return campaign.get("state", "")
        waiting = campaign.get("waiting_reason") or campaign.get("waiting")
        return f"waiting: {waiting}" if isinstance(waiting, str) and waiting else "waiting for an agent"
    job = running[0]
    progress = job.get("progress") or {}
    parts = [job["name"], progress.get("phase", "")]
    if progress.get("frame") is not None:
        parts.append(f"frame {progress['frame']}")
    watts = job.get("current_watts")
    parts.append(f"{watts:.1f} W" if watts is not None else "— W")
    if len(running) > 1:
        parts.append(f"(+{len(running) - 1} more running)")
    return "  ".join(p for p in parts if p)


class _Poller:
    """Asks for the campaign; rides out an unreachable master for up to ``lost_s`` seconds."""

    def __init__(self, api: MasterApi, campaign_id: str, lost_s: float):
        self.api, self.campaign_id, self.lost_s = api, campaign_id, lost_s
        self.lost_since: float | None = None
        self.last_error = ""

    def poll(self) -> dict[str, Any] | None:
        """The campaign, or None while the master cannot answer; raises ApiError once it has been gone too long."""
        try:
            campaign = self.api.campaign(self.campaign_id)
        except ApiError as exc:
            if not exc.unreachable:
                raise
            now = time.monotonic()
            self.lost_since = self.lost_since or now
            self.last_error = str(exc)
            if now - self.lost_since > self.lost_s:
                raise ApiError(f"{exc} (for {now - self.lost_since:.0f} s: giving up)", status=exc.status) from exc
            return None
        self.lost_since = None
        return campaign


def follow(
    api: MasterApi, campaign_id: str, console: Console, is_done=None, lost_s: float = MASTER_LOST_S
) -> dict[str, Any]:
    """Show progress until the campaign leaves ``running`` (or ``is_done()`` says stop); returns its last state.

    The total is taken from every answer: a campaign with ``confidence`` queues more jobs as it goes, so the bar's
    total grows, and only the campaign's state (never done == total) ends the display."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
    )
    poller = _Poller(api, campaign_id, lost_s)
    campaign = api.campaign(campaign_id)
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(campaign["name"], total=campaign["total"], status="")
        while True:
            # the total grows while the campaign runs when a variant repeats until its confidence is reached
            progress.update(task, total=campaign["total"], completed=campaign["done"], status=status_line(campaign))
            if campaign["state"] != "running" or (is_done is not None and is_done()):
                return campaign
            campaign = _next_state(poller, progress, task)


def _next_state(poller: _Poller, progress: Progress, task) -> dict[str, Any]:
    """The campaign's next state, saying on the status column while the master cannot answer."""
    while True:
        time.sleep(REFRESH_S)
        latest = poller.poll()
        if latest is not None:
            return latest
        progress.update(task, status=f"[yellow]{poller.last_error}; retrying[/]")
