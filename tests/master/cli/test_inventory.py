"""``campaign run --inventory``: an Ansible inventory read as the fleet with Ansible's own API (cli/inventory)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from master.campaign.spec import SpecError, load_campaign, load_campaign_text
from master.cli.inventory import InventoryError, load_fleet
from master.cli.run_cmds import run
from tests.integration.procs import free_port
from tests.master.cli.fleet_files import (
    campaign_text,
    encrypt_string,
    indent,
    vault_password_file,
    write_campaign,
    write_inventory,
)

FLEET = """\
all:
  vars:
    ffwatt_agent_labels: {rack: r1}
  children:
    master:
      hosts:
        m1: {ansible_host: 127.0.0.10, ffwatt_master_port: 8181}
    agents:
      hosts:
        m1:
        a1: {ansible_host: 127.0.0.11}
        g1: {ansible_host: 127.0.0.12, ffwatt_agent_labels: {rack: r2, card: h100}}
    gpu:
      hosts:
        g1:
    storage:
      hosts:
        s1: {ansible_host: 127.0.0.13}
"""


def fleet_of(tmp_path: Path, text: str = FLEET, password_file: Path | None = None):
    return load_fleet(write_inventory(tmp_path, text), str(password_file) if password_file else None)


def resolve(tmp_path: Path, targets: list[str] | None, text: str = FLEET):
    fleet = fleet_of(tmp_path, text)
    path = write_campaign(tmp_path, targets)
    return fleet, fleet.resolve(load_campaign(path), str(path))


def test_groups_and_hosts_as_ansible_reads_them(tmp_path):
    """Groups list their hosts (a host may be in two); all and ungrouped are no groups of their own."""
    fleet = fleet_of(tmp_path)
    assert fleet.groups == {"agents": ["a1", "g1", "m1"], "gpu": ["g1"], "master": ["m1"], "storage": ["s1"]}
    assert fleet.hosts == ["a1", "g1", "m1", "s1"]
    assert fleet.master_host == "m1"


def test_targets_resolve_to_groups_hosts_and_label_values(tmp_path):
    """A group, a host and an agent label value each resolve; the deploy limit is the master plus those hosts."""
    fleet, targeting = resolve(tmp_path, ["gpu", "a1", "r1"])
    assert targeting.groups == {"gpu": ["g1"]}
    assert targeting.hosts == ["a1"]
    assert targeting.labels == {"r1": ["a1", "m1"]}
    assert targeting.warnings == []
    assert targeting.limit(fleet.master_host) == "m1,gpu,a1"
    assert targeting.describe() == "group gpu (g1), host a1, label r1 (a1, m1)"


def test_a_host_in_two_groups_is_reached_by_either(tmp_path):
    """m1 is in master and agents: targeting agents covers it, and it is the master too."""
    fleet, targeting = resolve(tmp_path, ["agents"])
    assert targeting.groups == {"agents": ["a1", "g1", "m1"]}
    assert targeting.limit(fleet.master_host) == "m1,agents"


@pytest.mark.parametrize("everywhere", ["all", "any"])
def test_every_node_targets_need_no_limit(tmp_path, everywhere):
    """all and any match every node: the whole inventory is deployed, without warnings."""
    fleet, targeting = resolve(tmp_path, [everywhere])
    assert targeting.limit(fleet.master_host) is None
    assert targeting.warnings == []
    assert targeting.describe() == f"every node ({everywhere})"


def test_local_on_a_fleet_warns(tmp_path):
    """A campaign without targets means local: on a fleet that matches every agent, which it says."""
    fleet, targeting = resolve(tmp_path, None)
    assert targeting.everywhere == ["local"]
    assert targeting.limit(fleet.master_host) is None
    assert len(targeting.warnings) == 1 and "matches every agent of the fleet" in targeting.warnings[0]


def test_a_target_without_agents_warns(tmp_path):
    """Group storage has no host in agents: its jobs would wait forever, which is said."""
    _, targeting = resolve(tmp_path, ["storage", "s1"])
    assert [w.split(":")[0] for w in targeting.warnings] == ["target storage", "target s1"]


def test_unknown_targets_are_errors_at_their_lines(tmp_path):
    """Each unknown target is a problem at its line of the campaign file, listing the inventory's groups and hosts."""
    fleet = fleet_of(tmp_path)
    path = write_campaign(tmp_path, ["agents", "nosuch", "a1", "gpus"])
    with pytest.raises(SpecError) as raised:
        fleet.resolve(load_campaign(path), "fleet.yml")
    inventory = tmp_path / "inventory" / "inventory.yml"
    lists = "(groups: agents, gpu, master, storage; hosts: a1, g1, m1, s1); local, all and any match every node"
    assert [str(p) for p in raised.value.problems] == [
        f"fleet.yml:5:5: targets[1]: 'nosuch' is not a group or host of the inventory {inventory} {lists}",
        f"fleet.yml:7:5: targets[3]: 'gpus' is not a group or host of the inventory {inventory} {lists}",
    ]


def test_cli_unknown_target_exits_2_with_file_line(tmp_path, monkeypatch):
    """``campaign run --inventory`` prints the problem at the campaign file's line and exits 2, submitting nothing."""
    monkeypatch.chdir(tmp_path)
    write_inventory(tmp_path, FLEET)
    write_campaign(tmp_path, ["gpu", "nosuch"])
    result = CliRunner().invoke(run, ["fleet.yml", "--inventory", "inventory/inventory.yml"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("fleet.yml:5:5: targets[1]: 'nosuch' is not a group or host of the inventory")


@pytest.mark.parametrize(
    ("master_vars", "url"),
    [
        ("{ansible_host: 127.0.0.10}", "http://127.0.0.10:8080"),
        (
            "{ansible_host: 127.0.0.10, ffwatt_bind_address: 127.0.0.20, ffwatt_master_port: 9090}",
            "http://127.0.0.20:9090",
        ),
        ("{ansible_host: 127.0.0.10, ffwatt_bind_address: 0.0.0.0}", "http://127.0.0.10:8080"),
        ("{ansible_host: 127.0.0.10, ffwatt_bind_address: '::'}", "http://127.0.0.10:8080"),
        ("{ffwatt_bind_address: 0.0.0.0}", "http://m1:8080"),
        ("{}", "http://m1:8080"),
        ("{ansible_host: 127.0.0.10, ffwatt_tls_cert: /etc/ffwatt/master.pem}", "https://127.0.0.10:8080"),
        (
            "{ansible_host: 127.0.0.10, ffwatt_master_url: 'https://master.example:8443/'}",
            "https://master.example:8443",
        ),
    ],
)
def test_master_url_rules(tmp_path, master_vars, url):
    """ffwatt_master_url, else scheme (https with ffwatt_tls_cert), bind address unless a wildcard, else
    ansible_host, else the host name, and ffwatt_master_port (8080)."""
    fleet = fleet_of(tmp_path, f"master:\n  hosts:\n    m1: {master_vars}\nagents:\n  hosts:\n    a1:\n")
    assert fleet.master_url() == url


def test_master_url_from_group_vars(tmp_path):
    """Variables come as Ansible gives them: group_vars next to the inventory count, templates are rendered."""
    (tmp_path / "inventory" / "group_vars").mkdir(parents=True)
    (tmp_path / "inventory" / "group_vars" / "master.yml").write_text(
        'ffwatt_master_port: 8282\nffwatt_bind_address: "{{ ansible_host }}"\n'
    )
    fleet = fleet_of(tmp_path, "master:\n  hosts:\n    m1: {ansible_host: 127.0.0.30}\n")
    assert fleet.master_url() == "http://127.0.0.30:8282"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agents:\n  hosts:\n    a1:\n", "no group 'master' (groups: agents)"),
        ("master:\n  hosts:\n    m1:\n    m2:\n", "group 'master' must hold exactly one host, not 2 (m1, m2)"),
    ],
)
def test_master_group_must_hold_one_host(tmp_path, text, message):
    with pytest.raises(InventoryError) as raised:
        fleet_of(tmp_path, text)
    assert message in raised.value.message


def test_missing_inventory(tmp_path):
    with pytest.raises(InventoryError, match="no such file or directory"):
        load_fleet(tmp_path / "nope.yml")


def vault_fleet_text(password_file: Path) -> str:
    token = encrypt_string("admin-from-the-vault", "ffwatt_admin_token", password_file)
    return (
        "all:\n  vars:\n" + indent(token, 4) + "  children:\n    master:\n      hosts:\n"
        "        m1: {ansible_host: 127.0.0.10}\n    agents:\n      hosts:\n        a1:\n"
    )


def test_vault_encrypted_admin_token_is_decrypted(tmp_path):
    """``ansible-vault encrypt_string`` values are decrypted with the password file."""
    password = vault_password_file(tmp_path)
    fleet = fleet_of(tmp_path, vault_fleet_text(password), password)
    assert fleet.admin_token() == "admin-from-the-vault"
    assert type(fleet.admin_token()) is str


@pytest.mark.parametrize("wrong", [False, True])
def test_vault_token_without_the_password_is_a_clear_error(tmp_path, wrong):
    """Without the password (or with a wrong one) reading the token fails, saying how to give the password."""
    text = vault_fleet_text(vault_password_file(tmp_path))
    other = vault_password_file(tmp_path, "not it", name="wrong-pass") if wrong else None
    fleet = fleet_of(tmp_path, text, other)
    assert fleet.master_url() == "http://127.0.0.10:8080"  # what is not encrypted reads without it
    with pytest.raises(InventoryError) as raised:
        fleet.admin_token()
    assert "cannot read ffwatt_admin_token of host m1" in raised.value.message
    assert "pass --vault-password-file FILE (or set ANSIBLE_VAULT_PASSWORD_FILE)" in raised.value.message


def test_cli_vault_error_is_one_line_exit_1(tmp_path, monkeypatch):
    """``campaign run --inventory`` with an encrypted token and no password: exit 1, one error, no traceback."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FFWATT_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    write_inventory(tmp_path, vault_fleet_text(vault_password_file(tmp_path)))
    write_campaign(tmp_path, ["agents"])
    result = CliRunner().invoke(run, ["fleet.yml", "--inventory", "inventory/inventory.yml"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "Error: " in result.stderr and "--vault-password-file" in result.stderr


def test_campaign_text_puts_targets_from_line_4():
    """The helper's campaigns are valid, targets on lines 4 on (the line numbers above rely on it)."""
    campaign = load_campaign_text(campaign_text(["a", "b"]))
    assert campaign.targets == ["a", "b"]
    assert campaign_text(["a"]).splitlines()[3] == "  - a"


def test_labels_only_known_on_the_host_do_not_stop_a_campaign(tmp_path):
    """An agent label made of facts (unknown here) is no error: groups and hosts still resolve, and other agents'
    label values too."""
    text = FLEET.replace("{rack: r2, card: h100}", '{rack: r2, cpu: "{{ ansible_processor_vcpus }}"}')
    _, targeting = resolve(tmp_path, ["gpu", "r1"], text)
    assert targeting.groups == {"gpu": ["g1"]}
    assert targeting.labels == {"r1": ["a1", "m1"]}


def test_cli_honours_ansible_vault_password_file(tmp_path, monkeypatch):
    """ANSIBLE_VAULT_PASSWORD_FILE decrypts the token as --vault-password-file does: the command gets as far as the
    inventory's master (none listens on that loopback port) without a vault error."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FFWATT_ADMIN_TOKEN", raising=False)
    password = vault_password_file(tmp_path)
    port = free_port("127.0.0.1")
    master_vars = f"{{ansible_host: 127.0.0.1, ffwatt_master_port: {port}}}"
    write_inventory(tmp_path, vault_fleet_text(password).replace("{ansible_host: 127.0.0.10}", master_vars))
    write_campaign(tmp_path, ["agents"])
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(password))
    result = CliRunner().invoke(run, ["fleet.yml", "--inventory", "inventory/inventory.yml"])
    assert result.exit_code == 1, result.output
    assert f"master: http://127.0.0.1:{port} (host m1 of inventory/inventory.yml)" in result.stderr
    assert result.stderr.rstrip().endswith(f"Error: master http://127.0.0.1:{port} unreachable: connection refused")
