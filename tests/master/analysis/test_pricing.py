"""Tests of master.analysis.pricing: pricing.yml and the JSON format, their problems, and the rates of a host."""

import json
from pathlib import Path

import pytest

from master.analysis.pricing import PricingError, load_pricing, pricing_for_run, pricing_path, rates_for

ROOT = Path(__file__).resolve().parents[3]
JSON_FILE = ROOT / "tests" / "data" / "pricing_config.json"
SHIPPED = ROOT / "pricing.yml"

FLEET_YML = """\
currency: EUR
node_cost_per_hour: 0.5
regions:
  default: {electricity_per_kwh: 0.10, gco2_per_kwh: 400}
  eu-west-1: {electricity_per_kwh: 0.22, gco2_per_kwh: 250}
  nordic: {electricity_per_kwh: 0.05}
hosts:
  enc-1: {region: eu-west-1, node_cost_per_hour: 1.25}
  enc-2: {node_cost_per_hour: 2.0}
labels:
  group=nordic: {region: nordic, node_cost_per_hour: 0.75}
  gpu: {region: eu-west-1}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(PricingError) as caught:
        load_pricing(path)
    return caught.value.problems


def test_json_format_is_read_as_is():
    """The JSON file's regions, prices and intensities are read unchanged, in USD; _comment is ignored."""
    pricing = load_pricing(JSON_FILE)
    assert pricing.format == "json" and pricing.currency == "USD"
    assert len(pricing.regions) == 10
    assert pricing.regions["eu-central-1"].electricity_per_kwh == 0.28
    assert pricing.regions["ap-southeast-2"].gco2_per_kwh == 650
    assert "_comment" not in pricing.regions


def test_shipped_pricing_yml_has_the_json_regions():
    """pricing.yml holds the same regions and prices as the JSON file."""
    assert load_pricing(SHIPPED).regions == load_pricing(JSON_FILE).regions
    assert load_pricing(SHIPPED).format == "yaml"


def test_json_host_is_priced_at_default_with_its_fields_named():
    """A JSON file maps no host: every host gets default, and the sources name the JSON fields."""
    rates = load_pricing(JSON_FILE).resolve("enc-1", {"group": "encoders"})
    assert (rates.region, rates.electricity_per_kwh, rates.gco2_per_kwh) == ("default", 0.12, 400)
    assert rates.node_cost_per_hour is None
    assert rates.source["electricity_per_kwh"].endswith("electricity_prices.default")
    assert rates.source["gco2_per_kwh"].endswith("co2_intensity.default")
    assert "no node_cost_per_hour" in rates.source["node_cost_per_hour"]


def test_host_entry_wins_over_labels_and_default(tmp_path):
    """A host's own entry gives its region and node cost; the source says the host matched."""
    pricing = load_pricing(write(tmp_path, "p.yml", FLEET_YML))
    rates = pricing.resolve("enc-1.example.net", {"group": "nordic"})
    assert (rates.region, rates.electricity_per_kwh, rates.gco2_per_kwh, rates.node_cost_per_hour) == (
        "eu-west-1",
        0.22,
        250,
        1.25,
    )
    assert "region eu-west-1 (host enc-1)" in rates.source["region"]
    assert rates.source["electricity_per_kwh"].endswith("regions.eu-west-1.electricity_per_kwh")


def test_label_gives_region_and_host_gives_cost(tmp_path):
    """enc-2's entry has only a node cost: its region comes from its label; a missing intensity from default."""
    pricing = load_pricing(write(tmp_path, "p.yml", FLEET_YML))
    rates = pricing.resolve("enc-2", {"group": "a,nordic"})
    assert (rates.region, rates.electricity_per_kwh, rates.gco2_per_kwh, rates.node_cost_per_hour) == (
        "nordic",
        0.05,
        400,
        2.0,
    )
    assert "label group=nordic" in rates.source["region"]
    assert "default.gco2_per_kwh (nordic has none)" in rates.source["gco2_per_kwh"]


def test_bare_label_value_and_default_node_cost(tmp_path):
    """A bare label value matches any label holding it; an unmatched host gets the file's node_cost_per_hour."""
    pricing = load_pricing(write(tmp_path, "p.yml", FLEET_YML))
    gpu = pricing.resolve("box", {"kind": "gpu"})
    assert (gpu.region, gpu.node_cost_per_hour) == ("eu-west-1", 0.5)
    assert "node_cost_per_hour (default)" in gpu.source["node_cost_per_hour"]
    plain = pricing.resolve("other", {})
    assert (plain.region, plain.electricity_per_kwh, plain.gco2_per_kwh) == ("default", 0.10, 400)


def test_rates_for_a_job_use_its_node(tmp_path):
    """rates_for finds the job's node in the run and resolves its hostname and labels."""
    pricing = load_pricing(write(tmp_path, "p.yml", FLEET_YML))
    run = {"nodes": [{"id": "n-1", "hostname": "x", "labels": {"group": "nordic"}}]}
    assert rates_for(run, {"node_id": "n-1"}, pricing).region == "nordic"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("regions:\n  default: {electricity_per_kwh: -0.1, gco2_per_kwh: 400}\n", "p.yml:2:"),
        ("regions:\n  default:\n    electricity_per_kwh: cheap\n    gco2_per_kwh: 1\n", "p.yml:3:"),
        ("regions:\n  default: {electricity_per_kwh: 1, gco2_per_kwh: 1}\nhost: {}\n", "p.yml:3:1: host: unknown key"),
        ("currency: USD\n", "regions: missing"),
        ("regions:\n  default: {electricity_per_kwh: 1, gco2_per_kwh: 1, watts: 3}\n", "default.watts: unknown key"),
        ("regions: [1, 2\n", "p.yml:2:"),
    ],
)
def test_bad_yaml_names_file_and_line(tmp_path, text, expected):
    """A negative or non-numeric price, an unknown key, no regions or a syntax error: file:line and the key."""
    found = problems(write(tmp_path, "p.yml", text))
    assert any(expected in p for p in found), found


def test_negative_price_message(tmp_path):
    """The problem says what is expected and what was found."""
    (problem,) = problems(write(tmp_path, "p.yml", "regions:\n  eu: {electricity_per_kwh: -2, gco2_per_kwh: 1}\n"))
    assert problem.startswith(f"{tmp_path / 'p.yml'}:2:")
    assert "regions.eu.electricity_per_kwh: expected a number of 0 or more, got -2" in problem


def test_unknown_region_without_default_is_refused(tmp_path):
    """A host placed in a region the file lacks, with no default region to fall back on: refused at its line."""
    text = "regions:\n  eu: {electricity_per_kwh: 1, gco2_per_kwh: 2}\nhosts:\n  enc-1: {region: us}\n"
    (problem,) = problems(write(tmp_path, "p.yml", text))
    assert ":4:" in problem and "unknown region 'us'" in problem and "no default" in problem


def test_region_missing_a_price_without_default_is_refused(tmp_path):
    """A region with no grid intensity and no default to take it from is refused."""
    (problem,) = problems(write(tmp_path, "p.yml", "regions:\n  eu: {electricity_per_kwh: 1}\n"))
    assert "no gco2_per_kwh for region eu" in problem


def test_unmatched_host_without_default_is_a_clear_error(tmp_path):
    """A host no entry places, in a file without a default region: PricingError naming the host."""
    text = "regions:\n  eu: {electricity_per_kwh: 1, gco2_per_kwh: 2}\nhosts:\n  enc-1: {region: eu}\n"
    pricing = load_pricing(write(tmp_path, "p.yml", text))
    assert pricing.resolve("enc-1").region == "eu"
    with pytest.raises(PricingError, match="host enc-9.*no default"):
        pricing.resolve("enc-9")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"electricity_prices": {"us": -1, "default": 1}, "co2_intensity": {"default": 1}}, "electricity_prices.us:"),
        ({"electricity_prices": {"default": "x"}, "co2_intensity": {"default": 1}}, "electricity_prices.default:"),
        ({"electricity_prices": {"default": 1}, "co2_intensity": {"default": True}}, "co2_intensity.default:"),
        ({"electricity_prices": {"us": 1}, "co2_intensity": {"default": 1}}, "electricity_prices.default: missing"),
        ({"electricity_prices": {"default": 1}}, "co2_intensity: expected an object"),
        ({"electricity_prices": {"default": 1}, "co2_intensity": {"default": 1}, "watts": 1}, "watts: unknown"),
        ([1, 2], "expected an object"),
    ],
)
def test_bad_json_names_the_field(tmp_path, data, expected):
    """Problems of a JSON file name the field."""
    found = problems(write(tmp_path, "p.json", json.dumps(data)))
    assert any(expected in p for p in found), found


def test_json_syntax_error_and_missing_file(tmp_path):
    """Invalid JSON gives its line and column; a missing file says so."""
    (problem,) = problems(write(tmp_path, "p.json", '{\n  "electricity_prices": {,}\n}'))
    assert ":2:" in problem and "not JSON" in problem
    (problem,) = problems(tmp_path / "none.yml")
    assert "no such pricing file" in problem


def test_campaign_pricing_key_is_relative_to_the_campaign_file(tmp_path):
    """pricing: in the campaign's text names a file beside the campaign file; --pricing wins over it."""
    write(tmp_path, "prices.yml", "regions:\n  default: {electricity_per_kwh: 0.3, gco2_per_kwh: 100}\n")
    campaign = {"spec_text": "name: c\npricing: prices.yml\nscenarios: []\n", "spec_path": str(tmp_path / "c.yml")}
    assert pricing_path(campaign) == tmp_path / "prices.yml"
    assert pricing_for_run(campaign, None).regions["default"].electricity_per_kwh == 0.3
    assert pricing_for_run(campaign, JSON_FILE).format == "json"
    assert pricing_for_run({"spec_text": "name: c\n"}, None) is None


def readme_block(after: str, lang: str) -> str:
    """The first ```lang block of README.md after the line holding ``after``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rest = text[text.index(after) :]
    start = rest.index(f"```{lang}\n") + len(lang) + 4
    return rest[start : rest.index("```", start)]


def test_readme_examples_load(tmp_path):
    """The README's pricing.yml in full and its JSON example load, and price hosts as the README says."""
    yml = load_pricing(write(tmp_path, "p.yml", readme_block("The format in full", "yaml")))
    enc = yml.resolve("enc-1", {"group": "encoders"})
    assert (enc.region, enc.electricity_per_kwh, enc.node_cost_per_hour) == ("eu-west-1", 0.22, 0.34)
    gpu = yml.resolve("g-1", {"group": "encoders,gpu"})
    assert (gpu.region, gpu.node_cost_per_hour) == ("us-west-2", 1.10)
    assert yml.resolve("other").node_cost_per_hour == 0.20
    js = load_pricing(write(tmp_path, "p.json", readme_block("A JSON file of two tables", "json")))
    assert js.resolve("x").electricity_per_kwh == 0.12
