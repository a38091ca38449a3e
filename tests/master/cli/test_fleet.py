"""How ``campaign run --inventory`` picks the master's URL, token and CA: given options first, then the inventory."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from rich.console import Console

from master.campaign.spec import load_campaign
from master.cli.fleet import Connection, FleetArgs, prepare_fleet
from master.cli.inventory import InventoryError
from master.cli.run_cmds import run
from tests.master.cli.fleet_files import encrypt_string, indent, vault_password_file, write_campaign, write_inventory

NOTHING = Connection(None, None, None)


def prepare(tmp_path, inventory_text: str, given: Connection = NOTHING, targets=("agents",)):
    """prepare_fleet on an inventory and a campaign; returns (connection, what it printed)."""
    inventory = write_inventory(tmp_path, inventory_text)
    path = write_campaign(tmp_path, list(targets))
    out = io.StringIO()
    connection = prepare_fleet(
        FleetArgs(inventory, None, False, None), load_campaign(path), str(path), given, Console(file=out, width=200)
    )
    return connection, out.getvalue()


def plain_fleet(master_vars: str = "{ansible_host: 127.0.0.10}", extra_vars: str = "") -> str:
    return (
        f"all:\n  vars:\n    ffwatt_admin_token: from-inventory\n{extra_vars}  children:\n    master:\n"
        f"      hosts:\n        m1: {master_vars}\n    agents:\n      hosts:\n        a1:\n"
    )


def test_inventory_fills_in_master_and_token(tmp_path):
    """Without --master and --token the inventory's URL and admin token are used, and said."""
    connection, printed = prepare(tmp_path, plain_fleet())
    assert connection == Connection("http://127.0.0.10:8080", "from-inventory", None)
    inventory = tmp_path / "inventory" / "inventory.yml"
    assert printed == f"master: http://127.0.0.10:8080 (host m1 of {inventory})\ntargets: group agents (a1)\n"


def test_given_options_win(tmp_path):
    """--master, --token (or FFWATT_ADMIN_TOKEN) and --tls-ca win over the inventory's."""
    ca = tmp_path / "ca.pem"
    ca.write_text("not read here\n")
    given = Connection("https://127.0.0.20:9443", "given", str(ca))
    connection, printed = prepare(tmp_path, plain_fleet(), given)
    assert connection == given
    assert printed.startswith("master: https://127.0.0.20:9443 (--master)\n")


def test_given_token_needs_no_vault_password(tmp_path):
    """An encrypted inventory token is only decrypted when no token was given."""
    token = encrypt_string("secret", "ffwatt_admin_token", vault_password_file(tmp_path))
    text = (
        "all:\n  vars:\n" + indent(token, 4) + "  children:\n    master:\n      hosts:\n        m1:\n"
        "    agents:\n      hosts:\n        a1:\n"
    )
    connection, _ = prepare(tmp_path, text, Connection(None, "given", None))
    assert connection.token == "given"
    with pytest.raises(InventoryError, match="--vault-password-file"):
        prepare(tmp_path, text)


def test_tls_ca_from_the_inventory(tmp_path):
    """ffwatt_tls_ca is the CA the CLI trusts; one that does not exist here is an error."""
    ca = tmp_path / "ca.pem"
    ca.write_text("not read here\n")
    master_vars = "{ansible_host: 127.0.0.10, ffwatt_tls_cert: /etc/ffwatt/master.pem}"
    connection, _ = prepare(tmp_path, plain_fleet(master_vars, f"    ffwatt_tls_ca: {ca}\n"))
    assert connection == Connection("https://127.0.0.10:8080", "from-inventory", str(ca))
    with pytest.raises(InventoryError, match="ffwatt_tls_ca .*missing.pem: no such file here"):
        prepare(tmp_path, plain_fleet(master_vars, f"    ffwatt_tls_ca: {tmp_path / 'missing.pem'}\n"))


def test_ipv6_master_address_is_bracketed(tmp_path):
    connection, _ = prepare(tmp_path, plain_fleet("{ffwatt_bind_address: '::1'}"))
    assert connection.master_url == "http://[::1]:8080"


def test_local_target_warning_is_printed(tmp_path):
    _, printed = prepare(tmp_path, plain_fleet(), targets=("local",))
    assert printed.startswith(
        "warning: targets: local (the default when a campaign sets no targets) matches every agent of the fleet"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--deploy"], "--deploy and --playbook need --inventory INV"),
        (["--playbook", "deploy.yml"], "--deploy and --playbook need --inventory INV"),
        (["--inventory", "inventory/inventory.yml", "--playbook", "deploy.yml"], "--playbook goes with --deploy"),
    ],
)
def test_fleet_option_usage_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    write_inventory(tmp_path, plain_fleet())
    write_campaign(tmp_path, ["agents"])
    result = CliRunner().invoke(run, ["fleet.yml", *args])
    assert result.exit_code == 2
    assert message in result.stderr
