"""Results wait on disk until the master acknowledges them, so a crash or an outage never loses one."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator


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
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(result, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

    def remove(self, result: dict[str, Any]) -> None:
        self._path(result).unlink(missing_ok=True)

    def pending(self) -> Iterator[dict[str, Any]]:
        """Every result not yet acknowledged, oldest first."""
        for path in sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime):
            with open(path) as fh:
                yield json.load(fh)
