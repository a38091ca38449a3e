"""The ``campaign`` command's shared options: ``-h`` everywhere, and the run options as one object."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from master.cli import main
from master.cli.run_cmds import RunOptions, run


@pytest.mark.parametrize("args", [[], *([name] for name in main.commands)])
def test_dash_h_is_help_on_the_group_and_every_subcommand(args):
    """``campaign -h`` and ``campaign SUBCOMMAND -h`` print the same help as ``--help``, exit 0."""
    runner = CliRunner()
    short = runner.invoke(main, [*args, "-h"], prog_name="campaign")
    long = runner.invoke(main, [*args, "--help"], prog_name="campaign")
    assert short.exit_code == 0 and short.output == long.output and "Usage: campaign" in short.output


def test_run_options_are_the_fields_of_run_options_object():
    """Every option ``campaign run`` passes on (all but the fleet ones and the file) is a RunOptions field."""
    fleet = {"inventory", "vault_password_file", "deploy", "playbook", "campaign_file"}
    params = {param.name for param in run.params} - fleet
    assert params == {field.name for field in dataclasses.fields(RunOptions)}
