"""``campaign``: validate, plan, run, follow, cancel and report benchmark campaigns.

Without ``--master`` a command works on the embedded default (a master and one agent in this process, the database in
``--state-dir``); with ``--master URL`` it talks to a master service (admin token: ``--token`` or FFWATT_ADMIN_TOKEN).
"""

from __future__ import annotations

import click

from master.cli.capacity_cmds import plan_capacity
from master.cli.compare_cmds import compare, history
from master.cli.compat import COMMANDS as COMPAT_COMMANDS
from master.cli.options import HELP_OPTIONS
from master.cli.run_cmds import report, run
from master.cli.spec_cmds import plan, validate
from master.cli.status_cmds import cancel, status


@click.group(context_settings=HELP_OPTIONS)
def main() -> None:
    """ffwatt campaigns: what FFmpeg work really costs, measured."""


for command in (validate, plan, run, status, cancel, report, compare, history, plan_capacity):
    main.add_command(command)
for command in COMPAT_COMMANDS:  # run_tests.py's single, multi and batch
    main.add_command(command)
