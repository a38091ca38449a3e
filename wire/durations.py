"""Durations on the command line: 10s, 2m, 500ms, 1h or a bare number of seconds (agent and master flags)."""

from __future__ import annotations

import click


def parse_duration(value: str) -> float:
    """'10s', '2m', '500ms', '1h' or a bare number of seconds."""
    text = str(value).strip().lower()
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


class Duration(click.ParamType):
    """A positive duration: 10s, 2m, 500ms, 1h, or seconds."""

    name = "duration"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            try:
                seconds = parse_duration(value)
            except ValueError:
                self.fail(f"{value!r} is not a duration like 10s, 2m or 500ms", param, ctx)
        if not 0 < seconds < float("inf"):  # also refuses nan
            self.fail("must be positive", param, ctx)
        return seconds
