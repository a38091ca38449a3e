"""Prices and grid carbon intensity: a pricing file read and checked (:func:`load_pricing`), and the rates that apply
to one host (:meth:`Pricing.resolve`: host name, then its labels, then the region's prices, then ``default``).

Two formats are read. ``pricing.yml``::

    currency: USD
    node_cost_per_hour: 0.20            # optional: every host not matched below
    regions:
      default:   {electricity_per_kwh: 0.12, gco2_per_kwh: 400}
      eu-west-1: {electricity_per_kwh: 0.22, gco2_per_kwh: 250}
    hosts:                              # optional: by host name (or its first DNS label)
      enc-1: {region: eu-west-1, node_cost_per_hour: 0.34}
    labels:                             # optional: by agent label, "key=value" or a bare value
      group=encoders: {region: eu-west-1}

and a JSON file with ``electricity_prices`` (USD/kWh) and ``co2_intensity`` (gCO2/kWh) per region, each with an
optional ``default``; keys starting with ``_`` are comments. Problems name the file and line (YAML) or the field
(JSON); a negative or non-numeric price, or a region no host can fall back from, is refused.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from master.campaign.errors import SpecError
from master.campaign.yamldoc import parse

DEFAULT_REGION = "default"
"""The region whose prices apply to a host no entry names a region for, and to a region missing a price."""

JSON_CURRENCY = "USD"
"""Currency of a JSON pricing file (its prices are USD per kWh)."""

PRICE_FIELDS = ("electricity_per_kwh", "gco2_per_kwh")
"""Fields of a region in pricing.yml."""

PLACEMENT_FIELDS = ("region", "node_cost_per_hour")
"""Fields of a ``hosts`` or ``labels`` entry in pricing.yml."""

TOP_FIELDS = ("currency", "node_cost_per_hour", "regions", "hosts", "labels")
"""Top-level keys of pricing.yml."""


class PricingError(Exception):
    """A pricing file that cannot be used; ``problems`` are lines naming the file and line or field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Region:
    """Prices of one region; None where the file gives none (then ``default``'s apply)."""

    electricity_per_kwh: float | None = None
    gco2_per_kwh: float | None = None


@dataclass(frozen=True)
class Placement:
    """What a ``hosts`` or ``labels`` entry says: the region its hosts are in, their node cost per hour."""

    region: str | None = None
    node_cost_per_hour: float | None = None


@dataclass(frozen=True)
class Rates:
    """The rates for one host, each with where it came from (``source``: figure -> words)."""

    host: str
    region: str | None
    electricity_per_kwh: float | None
    gco2_per_kwh: float | None
    node_cost_per_hour: float | None
    source: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "region": self.region,
            "electricity_per_kwh": self.electricity_per_kwh,
            "gco2_per_kwh": self.gco2_per_kwh,
            "node_cost_per_hour": self.node_cost_per_hour,
            "source": dict(self.source),
        }


@dataclass(frozen=True)
class Pricing:
    """A checked pricing file."""

    file: str
    format: str
    currency: str
    regions: dict[str, Region]
    hosts: dict[str, Placement] = field(default_factory=dict)
    labels: dict[str, Placement] = field(default_factory=dict)
    node_cost_per_hour: float | None = None

    def resolve(self, hostname: str | None, labels: dict[str, Any] | None = None) -> Rates:
        """The rates for a host: its ``hosts`` entry, else the first ``labels`` entry it carries, names its region
        and node cost; a region's missing price, or a host in no region, takes ``default``'s. Raises PricingError
        when a price is found nowhere (no ``default``)."""
        host = hostname or "?"
        matches = [(f"host {name}", p) for name, p in self.hosts.items() if _host_matches(name, hostname)]
        matches += [(f"label {key}", p) for key, p in self.labels.items() if _label_matches(key, labels or {})]
        region_match = next(((why, p.region) for why, p in matches if p.region), None)
        cost_match = next(((why, p.node_cost_per_hour) for why, p in matches if p.node_cost_per_hour is not None), None)
        region = region_match[1] if region_match else DEFAULT_REGION
        region_why = f"region {region} ({region_match[0]})" if region_match else f"region {DEFAULT_REGION}"
        source = {"region": f"{self.file}: {region_why}"}
        prices = {}
        for name in PRICE_FIELDS:
            value, where = self._price(region, name, host)
            prices[name] = value
            source[name] = f"{self.file}: {where}"
        if cost_match:
            cost, source["node_cost_per_hour"] = cost_match[1], f"{self.file}: {cost_match[0]}"
        elif self.node_cost_per_hour is not None:
            cost, source["node_cost_per_hour"] = self.node_cost_per_hour, f"{self.file}: node_cost_per_hour (default)"
        else:
            cost, source["node_cost_per_hour"] = None, f"{self.file}: no node_cost_per_hour for host {host}"
        return Rates(host, region, prices["electricity_per_kwh"], prices["gco2_per_kwh"], cost, source)

    def _price(self, region: str, name: str, host: str) -> tuple[float, str]:
        """A region's price (``name``), else ``default``'s, with the field it came from."""
        own = getattr(self.regions.get(region, Region()), name)
        if own is not None:
            return own, self._field(region, name)
        fallback = getattr(self.regions.get(DEFAULT_REGION, Region()), name)
        if fallback is None:
            raise PricingError([f"{self.file}: no {name} for region {region} (host {host}) and no {DEFAULT_REGION}"])
        gap = f" ({region} has none)" if region != DEFAULT_REGION else ""
        return fallback, self._field(DEFAULT_REGION, name) + gap

    def _field(self, region: str, name: str) -> str:
        """Where a region's price is written: ``regions.R.name`` (YAML), ``electricity_prices.R`` (JSON)."""
        return f"{_JSON_FIELD[name]}.{region}" if self.format == "json" else f"regions.{region}.{name}"

    def to_dict(self) -> dict[str, Any]:
        """The file's content as plain data, for results.json."""
        return {
            "file": self.file,
            "format": self.format,
            "currency": self.currency,
            "node_cost_per_hour": self.node_cost_per_hour,
            "regions": {name: vars(r) for name, r in self.regions.items()},
            "hosts": {name: vars(p) for name, p in self.hosts.items()},
            "labels": {name: vars(p) for name, p in self.labels.items()},
        }


def _host_matches(name: str, hostname: str | None) -> bool:
    return bool(hostname) and name in (hostname, hostname.split(".", 1)[0])


def _label_matches(key: str, labels: dict[str, Any]) -> bool:
    """``key=value`` matches a label of that key holding the value (``group=a,b`` holds a and b); a bare value
    matches any label holding it."""

    def values(v: Any) -> set[str]:
        return {v, *v.split(",")} if isinstance(v, str) else set()

    if "=" in key:
        name, _, value = key.partition("=")
        return value in values(labels.get(name))
    return any(key in values(v) for v in labels.values())


def load_pricing(path: str | Path) -> Pricing:
    """The pricing file at ``path`` (``.json``: the JSON format; otherwise YAML, where a mapping with
    ``electricity_prices`` is read as the JSON format too); raises PricingError listing its problems."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PricingError([f"{file}: no such pricing file"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise PricingError([f"{file}: cannot read: {error}"]) from None
    if not text.strip():
        raise PricingError([f"{file}: empty file: expected regions with electricity_per_kwh and gco2_per_kwh"])
    if file.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PricingError([f"{file}:{error.lineno}:{error.colno}: not JSON: {error.msg}"]) from None
        return _from_json(file, data)
    try:
        document = parse(text, file)
    except SpecError as error:
        raise PricingError([str(p) for p in error.problems]) from None
    problems = [str(p) for p in document.duplicate_keys]
    if isinstance(document.data, dict) and "electricity_prices" in document.data:
        if problems:
            raise PricingError(problems)
        return _from_json(file, document.data)
    return _from_yaml(file, document, problems)


def _from_json(file: str, data: Any) -> Pricing:
    """The JSON format: ``electricity_prices`` and ``co2_intensity`` per region; problems name the field."""
    if not isinstance(data, dict):
        raise PricingError([f"{file}: expected an object with electricity_prices and co2_intensity"])
    problems: list[str] = []
    tables: dict[str, dict[str, float]] = {}
    for key in ("electricity_prices", "co2_intensity"):
        table = data.get(key)
        if not isinstance(table, dict):
            problems.append(f"{file}: {key}: expected an object of region: number, got {_kind(table)}")
            continue
        tables[key] = {}
        for region, value in table.items():
            if str(region).startswith("_"):
                continue
            why = _bad_number(value)
            if why:
                problems.append(f"{file}: {key}.{region}: {why}")
            else:
                tables[key][str(region)] = float(value)
    problems += [
        f"{file}: {key}.{DEFAULT_REGION}: missing (a JSON pricing file maps no host to a region, so every host is "
        f"priced at {DEFAULT_REGION})"
        for key, table in tables.items()
        if DEFAULT_REGION not in table
    ]
    unknown = [k for k in data if not str(k).startswith("_") and k not in ("electricity_prices", "co2_intensity")]
    problems += [f"{file}: {k}: unknown field (expected electricity_prices, co2_intensity)" for k in unknown]
    if problems:
        raise PricingError(problems)
    names = list(dict.fromkeys([*tables["electricity_prices"], *tables["co2_intensity"]]))
    regions = {n: Region(tables["electricity_prices"].get(n), tables["co2_intensity"].get(n)) for n in names}
    pricing = Pricing(file, "json", JSON_CURRENCY, regions)
    _check_regions(pricing, problems, lambda path, message: f"{file}: {'.'.join(path)}: {message}")
    if problems:
        raise PricingError(problems)
    return pricing


def _from_yaml(file: str, document, problems: list[str]) -> Pricing:
    """pricing.yml: every problem placed at its line."""
    data = document.data

    def at(path: tuple, message: str, at_key: bool = False) -> str:
        return str(document.problem(path, message, at_key))

    if not isinstance(data, dict):
        raise PricingError([at((), "expected a mapping with currency and regions")])
    problems += [
        at((k,), f"unknown key (expected one of {', '.join(TOP_FIELDS)})", True) for k in data if k not in TOP_FIELDS
    ]
    currency = data.get("currency", "USD")
    if not isinstance(currency, str) or not currency.strip():
        problems.append(at(("currency",), "expected a currency name such as USD or EUR"))
    default_cost = _number(data, ("node_cost_per_hour",), at, problems)
    regions = {
        str(name): Region(*(_number(entry, ("regions", name, f), at, problems) for f in PRICE_FIELDS))
        for name, entry in _mapping(data, "regions", PRICE_FIELDS, at, problems, required=True).items()
    }
    hosts, labels = (
        {
            str(name): Placement(
                _region_name(entry, (section, name), at, problems),
                _number(entry, (section, name, "node_cost_per_hour"), at, problems),
            )
            for name, entry in _mapping(data, section, PLACEMENT_FIELDS, at, problems).items()
        }
        for section in ("hosts", "labels")
    )
    if problems:
        raise PricingError(problems)
    pricing = Pricing(file, "yaml", currency.strip(), regions, hosts, labels, default_cost)
    _check_regions(pricing, problems, at)
    if problems:
        raise PricingError(problems)
    return pricing


def _mapping(data: dict, section: str, fields: tuple[str, ...], at, problems: list[str], required=False) -> dict:
    """``data[section]``: a mapping of names to mappings of ``fields`` (problems for anything else)."""
    value = data.get(section)
    if value is None:
        if required:
            problems.append(at((), f"{section}: missing (a mapping of region name to {', '.join(fields)})"))
        return {}
    if not isinstance(value, dict):
        problems.append(at((section,), f"expected a mapping of names to {{{', '.join(fields)}}}"))
        return {}
    good = {}
    for name, entry in value.items():
        if not isinstance(entry, dict):
            problems.append(at((section, name), f"expected a mapping with {' and/or '.join(fields)}"))
            continue
        expected = f"unknown key (expected {' or '.join(fields)})"
        problems += [at((section, name, k), expected, True) for k in entry if k not in fields]
        good[name] = entry
    return good


def _number(entry: dict, path: tuple, at, problems: list[str]) -> float | None:
    """The number at ``entry[path[-1]]`` (None when absent); a problem when it is not a number of 0 or more."""
    if path[-1] not in entry or entry[path[-1]] is None:
        return None
    why = _bad_number(entry[path[-1]])
    if why:
        problems.append(at(path, why))
        return None
    return float(entry[path[-1]])


def _region_name(entry: dict, path: tuple, at, problems: list[str]) -> str | None:
    value = entry.get("region")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        problems.append(at((*path, "region"), "expected a region name of the regions mapping"))
        return None
    return value


def _check_regions(pricing: Pricing, problems: list[str], at) -> None:
    """Every region a host or label names exists (or ``default`` does); a price missing from a region is in
    ``default``."""
    fallback = pricing.regions.get(DEFAULT_REGION)
    for section, entries in (("hosts", pricing.hosts), ("labels", pricing.labels)):
        for name, placement in entries.items():
            if placement.region and placement.region not in pricing.regions and fallback is None:
                known = ", ".join(pricing.regions) or "none"
                problems.append(
                    at(
                        (section, name, "region"),
                        f"unknown region {placement.region!r} (regions: {known}) and no {DEFAULT_REGION} region",
                    )
                )
    for name, region in pricing.regions.items():
        for price in PRICE_FIELDS:
            if getattr(region, price) is None and (fallback is None or getattr(fallback, price) is None):
                field_name = price if pricing.format == "yaml" else _JSON_FIELD[price]
                path = ("regions", name, price) if pricing.format == "yaml" else (field_name, name)
                problems.append(at(path, f"no {field_name} for region {name} and none in {DEFAULT_REGION}"))


_JSON_FIELD = {"electricity_per_kwh": "electricity_prices", "gco2_per_kwh": "co2_intensity"}


def _bad_number(value: Any) -> str | None:
    """Why ``value`` is not a price or intensity (a finite number of 0 or more); None when it is one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"expected a number of 0 or more, got {_kind(value)} {value!r}"
    if not math.isfinite(value) or value < 0:
        return f"expected a number of 0 or more, got {value!r}"
    return None


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def rates_for(run: dict, job: dict, pricing: Pricing) -> Rates:
    """The pricing's rates for the host a job of ``run`` ran on (its node's hostname and labels)."""
    node_id = job.get("node_id") or (job.get("result") or {}).get("node_id")
    node = next((n for n in run.get("nodes") or [] if n.get("id") == node_id), {})
    labels = node.get("labels") if isinstance(node.get("labels"), dict) else {}
    return pricing.resolve(node.get("hostname") or node_id, labels)


def pricing_path(campaign: dict | None) -> Path | None:
    """The pricing file a campaign names with its top-level ``pricing:`` key (relative to its campaign file), from
    the run's ``campaign`` (``spec_text`` and ``spec_path``); None when it names none."""
    campaign = campaign or {}
    try:
        data = yaml.safe_load(campaign.get("spec_text") or "")
    except yaml.YAMLError:
        return None
    value = data.get("pricing") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        return None
    spec_path = campaign.get("spec_path")
    base = Path(spec_path).parent if spec_path and not str(spec_path).startswith("<") else Path.cwd()
    return base / value


def pricing_for_run(campaign: dict | None, flag: Path | None) -> Pricing | None:
    """The pricing of a run: ``--pricing FILE`` when given, else the campaign's ``pricing:`` file, else None."""
    path = flag if flag is not None else pricing_path(campaign)
    return load_pricing(path) if path is not None else None
