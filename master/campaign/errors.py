"""Problems found in a campaign file, each one pointing at a line, and the error that carries all of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

FILE_KEY = "(file)"
"""Key of a problem about the file as a whole: unreadable, empty, not YAML."""

ROOT_KEY = "(top level)"
"""Key of a problem about the document's top level."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a campaign file; ``line`` and ``column`` count from 1."""

    file: str
    line: int
    column: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.key}: {self.message}"


class SpecError(Exception):
    """A campaign file that cannot be used; ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(problem) for problem in self.problems))


def key_of(path: Iterable[str | int]) -> str:
    """The dotted key of a path into the document: ``("scenarios", 0, "encoder")`` -> ``scenarios[0].encoder``."""
    key = ""
    for part in path:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key or ROOT_KEY
