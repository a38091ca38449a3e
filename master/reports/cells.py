"""The report's table cells: a number for people, and a cell with its text, tooltip, footnote and `est.` badge.

A missing value is shown as "—" with its reason as a tooltip and a numbered footnote (:class:`Footnotes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wire.metrics import get

DASH = "—"

ESTIMATE_SENTENCE = "no power sensor on this host; energy is a CPU-time model"


@dataclass
class Cell:
    """One table cell: display text, optional second line, tooltip, footnote number and estimated badge."""

    text: str
    sub: str | None = None
    title: str | None = None
    note: int | None = None
    est: bool = False
    missing: bool = False


@dataclass
class Footnotes:
    """Numbered, de-duplicated reasons for the missing values of the page."""

    items: list[str] = field(default_factory=list)

    def add(self, reason: str) -> int:
        """The number of this reason's footnote, adding it if new."""
        if reason not in self.items:
            self.items.append(reason)
        return self.items.index(reason) + 1

    def missing(self, reason: str) -> Cell:
        """A "—" cell explained by a tooltip and a footnote."""
        return Cell(DASH, title=reason, note=self.add(reason), missing=True)


def fmt(value, digits: int = 4) -> str:
    """A number for people: 4 significant digits, thousands grouped; "—" is for the caller to decide."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if value == 0:
        return "0"
    if 10**digits <= abs(value) < 1e15:  # larger ones (up to 1.8e308) in exponent form, not 300 digits
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def value_cell(value, reason: str, notes: Footnotes, est: bool = False, suffix: str = "") -> Cell:
    """A cell for a single value; missing values become "—" with the reason."""
    if value is None:
        return notes.missing(reason)
    return Cell(fmt(value) + suffix, est=est)


def stat_cell(variant: dict, name: str, notes: Footnotes, energy: bool) -> Cell:
    """A scenario-table cell: mean ± stdev and the 95% CI over the variant's successful runs; a CI whose lower bound
    summarize left out (``ci95_note``: it would be below 0 for a quantity that cannot be) shows no interval and
    says why in the tooltip."""
    stat = variant["stats"][name]
    prov = variant["provenance"]
    est = energy and prov["estimated"]
    if stat["n"] == 0:
        return notes.missing(_no_value_reason(variant, name))
    if name == "realtime":
        return _share_cell(variant, stat)
    registered = get(name)
    cell = Cell(fmt(stat["mean"], registered.digits if registered else 4), est=est)
    if stat.get("ci95_note") and stat["stdev"] is not None:  # an interval that would reach below 0: not shown
        cell.text += f" ± {fmt(stat['stdev'], 2)}"
        cell.sub = f"CI {DASH}"
        cell.title = stat["ci95_note"]
    elif stat["stdev"] is None or stat["ci95_low"] is None or stat["ci95_high"] is None:
        cell.sub = DASH
        cell.title = (
            "one run: no standard deviation or 95% CI (needs at least 2)"
            if stat["n"] < 2
            else "the spread of these runs is too large to represent"
        )
    else:
        cell.text += f" ± {fmt(stat['stdev'], 2)}"
        rel = f" (±{stat['rel_ci95'] * 100:.0f}%)" if stat["rel_ci95"] is not None else ""
        cell.sub = f"CI [{fmt(stat['ci95_low'])}, {fmt(stat['ci95_high'])}]{rel}"
    if stat["n"] < variant["runs_ok"]:
        cell.sub = f"{cell.sub} n={stat['n']}/{variant['runs_ok']}"
        cell.note = notes.add("; ".join(variant["missing"].get(name, ["not reported by the agent"])))
    if est:
        runs = f"estimated in {prov['estimated_runs']} of {prov['runs']} runs"
        cell.title = _join(cell.title, f"{runs}: {ESTIMATE_SENTENCE}")
    return cell


def _share_cell(variant: dict, stat: dict) -> Cell:
    """A yes/no metric (``realtime``): the share of runs where it held."""
    held = round(stat["mean"] * stat["n"])
    return Cell(
        f"{stat['mean'] * 100:.0f}%",
        sub=f"{held} of {stat['n']} runs",
        title=f"real time in {held} of {stat['n']} runs with a value ({variant['runs_ok']} succeeded)",
    )


def _no_value_reason(variant: dict, name: str) -> str:
    if variant["runs_ok"] == 0:
        errors = "; ".join(variant["errors"])
        return f"no successful run ({errors})" if errors else "no successful run"
    return "; ".join(variant["missing"].get(name, ["not reported by the agent"]))


def _join(*parts: str | None) -> str:
    return "; ".join(p for p in parts if p)
