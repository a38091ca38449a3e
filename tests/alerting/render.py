"""Renders the alerting role's templates the way Ansible's template module does (trim_blocks), with the role's
defaults, so promtool, vmalert and amtool can check what a host gets."""

from __future__ import annotations

from pathlib import Path

import jinja2
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "alerting"


def defaults(**overrides) -> dict:
    """The role's defaults with `overrides` on top. A default made from a fleet variable (`{{ ffwatt_x | default(y) }}`)
    gets what plain Jinja2 makes of it with no inventory, y; one that needs more of Ansible (hostvars) is left out."""
    values = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    plain = {name: value for name, value in values.items() if not (isinstance(value, str) and "{{" in value)}
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    for name, value in values.items():
        if name not in plain:
            try:
                plain[name] = env.from_string(value).render(plain)
            except jinja2.UndefinedError:
                pass
    return {**plain, "ansible_managed": "Ansible managed", **overrides}


def _comment(text: str) -> str:
    return "\n".join("# " + line for line in text.splitlines())


def render(template: str, **overrides) -> str:
    """The role's templates/`template` rendered with its defaults and `overrides`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLE / "templates"),
        trim_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["comment"] = _comment
    return env.get_template(template).render(defaults(**overrides))
