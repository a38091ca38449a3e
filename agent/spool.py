"""Results wait on disk until the master acknowledges them, so a crash or an outage never loses one.

A result leaves the spool only when the master acknowledged it or refused it as stale (409: another attempt holds
the job). One the master will never take for another reason (unknown job, invalid body) moves to ``rejected/`` with
the reason beside it, so nothing measured is ever deleted unseen.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

REJECTED_DIR = "rejected"
"""Subfolder for results the master refused for good (kept for a person to inspect)."""


def _write_durably(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Spool:
    """One JSON file per result attempt under ``folder``; written atomically, removed once acknowledged."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, result: dict[str, Any]) -> Path:
        return self.folder / f"{result['job_id']}-{result['attempt']}.json"

    def put(self, result: dict[str, Any]) -> Path:
        """Write ``result`` durably (temp file, fsync, rename)."""
        path = self._path(result)
        _write_durably(path, json.dumps(result))
        return path

    def remove(self, result: dict[str, Any]) -> None:
        """The master acknowledged ``result`` (or has another attempt's): forget it."""
        self._path(result).unlink(missing_ok=True)

    def reject(self, result: dict[str, Any], reason: str) -> Path:
        """Move ``result`` to ``rejected/`` with ``reason`` beside it; it is never sent again."""
        return self._quarantine(self._path(result), reason)

    def _quarantine(self, path: Path, reason: str) -> Path:
        target_dir = self.folder / REJECTED_DIR
        target_dir.mkdir(exist_ok=True)
        target = target_dir / path.name
        if path.exists():
            os.replace(path, target)
        _write_durably(target.with_suffix(".reason"), reason + "\n")
        return target

    def job_ids(self) -> set[str]:
        """The jobs with a result waiting here (from the file names alone: cheap enough for every heartbeat)."""
        return {path.stem.rsplit("-", 1)[0] for path in self.folder.glob("*.json")}

    def depth(self) -> int:
        """How many results wait here (every attempt's, not jobs: a job may have several)."""
        return sum(1 for _ in self.folder.glob("*.json"))

    def pending(self) -> Iterator[dict[str, Any]]:
        """Every result not yet acknowledged, oldest first; an unreadable file is set aside, not fatal."""
        for path in sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime):
            try:
                with open(path) as fh:
                    result = json.load(fh)
                if not isinstance(result, dict) or "job_id" not in result or "attempt" not in result:
                    raise ValueError("no job_id/attempt")
            except (OSError, ValueError) as exc:
                log.error("spooled result %s is unreadable (%s): moved to %s/", path.name, exc, REJECTED_DIR)
                self._quarantine(path, f"unreadable: {exc}")
                continue
            yield result
