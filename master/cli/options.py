"""How ``campaign``'s option bundles are built: one decorator applying several click options, in the order listed."""

from __future__ import annotations

from collections.abc import Callable

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
"""``context_settings`` of the group and of every subcommand: ``-h`` is ``--help`` (a subcommand needs its own: click
keeps the help option a command first made, and a test may invoke the subcommand alone)."""


def bundle(*options: Callable[[Callable], Callable]) -> Callable[[Callable], Callable]:
    """One decorator that applies ``options`` (click options or other bundles) so that ``--help`` lists them in the
    order given."""

    def apply(func: Callable) -> Callable:
        for option in reversed(options):
            func = option(func)
        return func

    return apply
