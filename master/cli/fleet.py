"""``campaign run --inventory INV [--deploy]``: a campaign for the fleet an Ansible inventory describes.

The inventory says where the master is and which admin token it takes (master/cli/inventory.py); the campaign's
targets are checked against its groups and hosts; ``--deploy`` runs the deploy playbook on the master and the
targeted hosts first (master/cli/deploy.py). Explicit ``--master``, ``--token`` and ``--tls-ca`` win over the
inventory's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from master.cli.deploy import Deployment, find_playbook, run_deploy
from master.cli.inventory import load_fleet
from master.cli.options import bundle

VAULT_PASSWORD_ENV = "ANSIBLE_VAULT_PASSWORD_FILE"
"""Ansible's own variable for the vault password file, honoured as ansible-playbook honours it."""


fleet_options = bundle(
    click.option(
        "--inventory",
        type=click.Path(path_type=Path),
        metavar="INV",
        help="Ansible inventory of the fleet: the master's URL and admin token come from it (unless "
        "--master/--token say otherwise) and targets must be its groups or hosts.",
    ),
    click.option(
        "--vault-password-file",
        envvar=VAULT_PASSWORD_ENV,
        show_envvar=True,
        metavar="FILE",
        type=click.Path(exists=True, dir_okay=False),
        help="Decrypts the inventory's vault-encrypted values (ffwatt_admin_token, ...).",
    ),
    click.option(
        "--deploy",
        is_flag=True,
        help="Run the deploy playbook on the master and the targeted hosts first (needs --inventory); "
        "a failed deployment submits nothing.",
    ),
    click.option(
        "--playbook",
        type=click.Path(path_type=Path),
        metavar="PATH",
        help="The deploy playbook [default: ./deploy.yml, else deploy.yml in the inventory directory's parent].",
    ),
)
"""``--inventory``, ``--vault-password-file``, ``--deploy``, ``--playbook``."""


@dataclass(frozen=True)
class FleetArgs:
    """The fleet options as given."""

    inventory: Path | None
    vault_password_file: str | None
    deploy: bool
    playbook: Path | None


@dataclass(frozen=True)
class Connection:
    """How to reach the master: the given options, filled in from the inventory."""

    master_url: str | None
    token: str | None
    tls_ca: str | None


def prepare_fleet(args: FleetArgs, campaign, campaign_file: str, given: Connection, console: Console) -> Connection:
    """Resolve the campaign on the inventory, say where it goes, deploy when asked; the connection to use.

    Raises SpecError for targets the inventory does not have, InventoryError or DeployError otherwise."""
    if args.inventory is None:
        if args.deploy or args.playbook:
            raise click.UsageError("--deploy and --playbook need --inventory INV")
        return given
    if args.playbook and not args.deploy:
        raise click.UsageError("--playbook goes with --deploy")
    fleet = load_fleet(args.inventory, args.vault_password_file)
    targeting = fleet.resolve(campaign, campaign_file)
    for warning in targeting.warnings:
        console.print(Text.assemble(("warning:", "yellow"), f" {warning}"), soft_wrap=True, highlight=False)
    connection = Connection(
        master_url=given.master_url or fleet.master_url(),
        token=given.token or fleet.admin_token(),
        tls_ca=given.tls_ca or fleet.tls_ca(),
    )
    source = "--master" if given.master_url else f"host {fleet.master_host} of {args.inventory}"
    console.print(f"master: {connection.master_url} ({source})", soft_wrap=True, highlight=False, markup=False)
    console.print(f"targets: {targeting.describe()}", soft_wrap=True, highlight=False, markup=False)
    if args.deploy:
        playbook = find_playbook(args.playbook, args.inventory)
        run_deploy(
            Deployment(playbook, args.inventory, targeting.limit(fleet.master_host), args.vault_password_file), console
        )
    return connection
