"""An Ansible inventory read as ffwatt's fleet (DESIGN.md's inventory contract), with Ansible's own API.

The contract: group ``master`` holds exactly one host, group ``agents`` the agents (a host may be in both). An agent
registers under its ``inventory_hostname`` with a label ``group=<group>`` for each group it is in and the labels of
its ``ffwatt_agent_labels``; the master matches a job's ``targets`` against a node's hostname or any of its label
values, so a campaign's targets may name the inventory's groups, hosts and agent label values. ``local``, ``all``
and ``any`` match every node.

Variables are read as Ansible reads them (group_vars, host_vars, vault-encrypted values, templates), from the master
host's variables for the master's URL, TLS CA and admin token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from master.campaign.errors import Problem, SpecError
from master.campaign.yamldoc import parse

EVERYWHERE = ("local", "all", "any")
"""Targets that match every node of the fleet (the master's matching, master/scheduling)."""

DEFAULT_MASTER_PORT = 8080
"""The master's port when the master host sets no ``ffwatt_master_port`` (the playbook's default)."""

WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")
"""Bind addresses that say "every interface", not an address to reach the master at."""

BUILTIN_GROUPS = ("all", "ungrouped")
"""Groups every inventory has; not targets of their own (``all`` matches every node anyway)."""

VAULT_HINT = (
    "pass --vault-password-file FILE (or set ANSIBLE_VAULT_PASSWORD_FILE) with the password the inventory's "
    "values were encrypted with"
)


class InventoryError(click.ClickException):
    """An inventory that cannot be used for a campaign: said in one line, exit 1."""


def _ansible():
    """Ansible's inventory API, or an InventoryError saying how to install it."""
    try:
        from ansible.inventory.manager import InventoryManager
        from ansible.parsing.dataloader import DataLoader
        from ansible.vars.manager import VariableManager
    except ImportError as exc:
        raise InventoryError(f"--inventory needs Ansible ({exc}): pip install 'ffwatt[fleet]'") from None
    return DataLoader, InventoryManager, VariableManager


def _vault_secrets(loader, password_file: str | None) -> list:
    """The vault secret of ``password_file`` (none without one), set on ``loader`` and, from ansible-core 2.19 on,
    on the process-wide VaultSecretsContext that decrypts values when they are used."""
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import get_file_vault_secret

    secrets = []
    if password_file:
        try:
            secret = get_file_vault_secret(filename=password_file, vault_id="default", loader=loader)
            secret.load()
        except AnsibleError as exc:
            raise InventoryError(f"vault password file {password_file}: {exc.message}") from None
        secrets = [("default", secret)]
    loader.set_vault_secrets(secrets)
    try:
        from ansible.parsing.vault import VaultSecretsContext
    except ImportError:  # ansible-core < 2.19 decrypts through the loader alone
        return secrets
    current = VaultSecretsContext.current(optional=True)
    if current is None:
        VaultSecretsContext.initialize(VaultSecretsContext(secrets))
    else:  # initialised once per process; a second inventory read in the same process brings its own password
        current.secrets = secrets
    return secrets


def _plain(value: Any) -> Any:
    """``value`` as plain Python values (Ansible hands out tagged subclasses of str, dict, ...)."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass
class Targeting:
    """A campaign's targets resolved on the fleet: every node, or these groups, hosts and agent label values."""

    everywhere: list[str] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)
    labels: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def limit(self, master_host: str) -> str | None:
        """An ansible-playbook ``--limit`` for the master and the targeted hosts; None when every node is a target."""
        if self.everywhere:
            return None
        label_hosts = [host for hosts in self.labels.values() for host in hosts]
        return ",".join(dict.fromkeys([master_host, *self.groups, *self.hosts, *label_hosts]))

    def describe(self) -> str:
        """``group agents (a1, a2), host b1`` or ``every node (all)``."""
        if self.everywhere:
            return f"every node ({', '.join(self.everywhere)})"
        parts = [f"group {name} ({', '.join(hosts) or 'no hosts'})" for name, hosts in self.groups.items()]
        parts += [f"host {host}" for host in self.hosts]
        parts += [f"label {value} ({', '.join(hosts)})" for value, hosts in self.labels.items()]
        return ", ".join(parts)


class Fleet:
    """An inventory as a fleet: its groups and hosts, the master host, and the variables the CLI needs."""

    def __init__(self, path: Path, inventory, variables, loader):
        self.path, self._inventory, self._variables, self._loader = path, inventory, variables, loader
        self._vars_of: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, list[str]] = {
            name: sorted(host.name for host in group.get_hosts())
            for name, group in sorted(inventory.groups.items())
            if name not in BUILTIN_GROUPS
        }
        self.hosts: list[str] = sorted(host.name for host in inventory.get_hosts())
        self.master_host = self._only_master()

    def _only_master(self) -> str:
        masters = self.groups.get("master")
        if masters is None:
            raise InventoryError(
                f"{self.path}: no group 'master' (groups: {', '.join(self.groups) or 'none'}); the "
                "inventory needs a group master with exactly one host, and a group agents"
            )
        if len(masters) != 1:
            raise InventoryError(
                f"{self.path}: group 'master' must hold exactly one host, not {len(masters)}"
                f" ({', '.join(masters) or 'empty'})"
            )
        return masters[0]

    def _host_vars(self, host: str) -> dict[str, Any]:
        if host not in self._vars_of:
            self._vars_of[host] = self._variables.get_vars(host=self._inventory.get_host(host))
        return self._vars_of[host]

    def var(self, host: str, name: str, default: Any = None) -> Any:
        """Variable ``name`` of ``host`` as Ansible would use it (templated, decrypted), or ``default`` if unset."""
        from ansible.errors import AnsibleError
        from ansible.template import Templar

        variables = self._host_vars(host)
        if name not in variables:
            return default
        try:
            value = Templar(loader=self._loader, variables=variables).template(variables[name])
        except AnsibleError as exc:
            message = str(getattr(exc, "message", exc)).rstrip(".")
            hint = f"; {VAULT_HINT}" if "vault" in message.lower() or "decrypt" in message.lower() else ""
            raise InventoryError(f"{self.path}: cannot read {name} of host {host}: {message}{hint}") from None
        return _plain(value)

    def master_url(self) -> str:
        """``ffwatt_master_url``, else ``{http|https}://{address}:{ffwatt_master_port}`` of the master host."""
        host = self.master_host
        explicit = self.var(host, "ffwatt_master_url")
        if explicit:
            return str(explicit).rstrip("/")
        port = self.var(host, "ffwatt_master_port", DEFAULT_MASTER_PORT)
        address = str(self.var(host, "ffwatt_bind_address") or "")
        if address in WILDCARD_ADDRESSES:
            address = str(self.var(host, "ansible_host") or host)
        if ":" in address and not address.startswith("["):
            address = f"[{address}]"  # an IPv6 address in a URL
        scheme = "https" if self.var(host, "ffwatt_tls_cert") else "http"
        return f"{scheme}://{address}:{port}"

    def tls_ca(self) -> str | None:
        """``ffwatt_tls_ca`` of the master host: a CA file on this machine (relative to the working directory)."""
        ca = self.var(self.master_host, "ffwatt_tls_ca")
        if not ca:
            return None
        path = os.path.expanduser(str(ca))
        if not os.path.isfile(path):
            raise InventoryError(
                f"{self.path}: ffwatt_tls_ca {ca}: no such file here (the CA certificate that signed "
                "the master's, as a path on this machine)"
            )
        return path

    def admin_token(self) -> str | None:
        """``ffwatt_admin_token`` as the master host sees it, decrypted; None when unset."""
        token = self.var(self.master_host, "ffwatt_admin_token")
        return str(token) if token else None

    def agent_labels(self, host: str) -> dict[str, str]:
        """``ffwatt_agent_labels`` of ``host`` (the labels besides ``group=``), as strings."""
        labels = self.var(host, "ffwatt_agent_labels") or {}
        if not isinstance(labels, dict):
            raise InventoryError(
                f"{self.path}: ffwatt_agent_labels of host {host} must be a mapping, not {type(labels).__name__}"
            )
        return {str(key): str(value) for key, value in labels.items()}

    def resolve(self, campaign, campaign_file: str) -> Targeting:
        """The campaign's targets on this fleet; SpecError (each unknown target at its line) for one that is none
        of local/all/any, a group, a host or an agent label value."""
        targeting, unknown = Targeting(), []
        agents = set(self.groups.get("agents", []))
        label_hosts: dict[str, list[str]] | None = None  # read only when a target is no group or host
        for index, target in enumerate(campaign.targets):
            if target in EVERYWHERE:
                targeting.everywhere.append(target)
            elif target in self.groups:
                targeting.groups[target] = self.groups[target]
            elif target in self.hosts:
                targeting.hosts.append(target)
            elif target in (label_hosts := self._label_values(agents) if label_hosts is None else label_hosts):
                targeting.labels[target] = label_hosts[target]
            else:
                unknown.append(index)
        if unknown:
            raise SpecError([self._unknown_target(campaign, campaign_file, index) for index in unknown])
        targeting.warnings = self._warnings(targeting, agents)
        return targeting

    def _label_values(self, agents: set[str]) -> dict[str, list[str]]:
        """Each value of the agents' ``ffwatt_agent_labels`` -> the agents carrying it. An agent whose labels cannot
        be known here (a template of its facts, say) is left out: its host name and groups still name it."""
        found: dict[str, list[str]] = {}
        for host in sorted(agents):
            try:
                labels = self.agent_labels(host)
            except InventoryError:
                continue
            for value in labels.values():
                found.setdefault(value, []).append(host)
        return found

    def _unknown_target(self, campaign, campaign_file: str, index: int) -> Problem:
        target = campaign.targets[index]
        message = (
            f"{target!r} is not a group or host of the inventory {self.path} (groups: "
            f"{', '.join(self.groups) or 'none'}; hosts: {', '.join(self.hosts) or 'none'}); "
            f"local, all and any match every node"
        )
        try:
            return parse(campaign.text, campaign_file).problem(("targets", index), message)
        except SpecError:
            return Problem(campaign_file, 1, 1, f"targets[{index}]", message)

    def _warnings(self, targeting: Targeting, agents: set[str]) -> list[str]:
        """What is probably a mistake: ``local`` on a fleet, a target no agent answers to."""
        warnings = []
        if "local" in targeting.everywhere:
            warnings.append(
                "targets: local (the default when a campaign sets no targets) matches every agent of "
                "the fleet, not this machine; name groups or hosts (e.g. targets: [agents]) to pin jobs"
            )
        for name, hosts in targeting.groups.items():
            if not agents.intersection(hosts):
                warnings.append(
                    f"target {name}: no host of group {name} is in group agents: its jobs wait for an "
                    "agent that never comes"
                )
        for host in targeting.hosts:
            if host not in agents:
                warnings.append(
                    f"target {host}: host {host} is not in group agents: its jobs wait for an agent that never comes"
                )
        return warnings


def load_fleet(path: Path, vault_password_file: str | None = None) -> Fleet:
    """The fleet of the inventory at ``path``; InventoryError for one that is missing, unreadable or has no single
    master host."""
    data_loader, inventory_manager, variable_manager = _ansible()
    if not path.exists():
        raise InventoryError(f"inventory {path}: no such file or directory")
    loader = data_loader()
    loader.set_basedir(str(path.resolve() if path.is_dir() else path.resolve().parent))
    _vault_secrets(loader, vault_password_file)
    from ansible.errors import AnsibleError

    try:
        inventory = inventory_manager(loader=loader, sources=[str(path)])
    except AnsibleError as exc:
        raise InventoryError(f"inventory {path}: {getattr(exc, 'message', exc)}") from None
    return Fleet(path, inventory, variable_manager(loader=loader, inventory=inventory), loader)
