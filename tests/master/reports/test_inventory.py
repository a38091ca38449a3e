"""Tests of master.reports.inventory: host rows from differently shaped inventories."""

from master.reports.inventory import node_view, pick


def rows(node: dict) -> dict:
    """The rows of a node view keyed by label."""
    return {r["label"]: r for r in node_view(node)["rows"]}


def test_pick_follows_dotted_paths_in_order():
    """pick returns the first present value of the given paths."""
    data = {"cpu": {"model": None}, "cpu_model": "Xeon"}
    assert pick(data, "cpu.model", "cpu_model") == "Xeon"
    assert pick(data, "nothing.here") is None


def test_flat_inventory_keys_are_understood():
    """Flat keys (cpu_model, cores, threads), a string GPU list and encoder names as a list are shown."""
    view = rows(
        {
            "hostname": "h",
            "inventory": {
                "cpu_model": "Xeon",
                "cores": 4,
                "threads": 8,
                "ram_bytes": 2**34,
                "gpus": ["NVIDIA L4"],
                "encoders": ["libx264", "h264_nvenc"],
            },
        }
    )
    assert view["CPU"]["text"] == "Xeon"
    assert view["Cores / threads"]["text"] == "4 / 8"
    assert view["RAM"]["text"] == "16.0 GiB"
    assert view["GPUs"]["text"] == "NVIDIA L4"
    assert view["Usable encoders"]["text"] == "libx264, h264_nvenc"


def test_gpu_dicts_and_unavailable_power_sources():
    """GPU dicts show name and memory; an unavailable power source shows its reason."""
    view = rows(
        {
            "inventory": {
                "gpus": [{"name": "NVIDIA L4", "memory_bytes": 24 * 2**30}],
                "power_sources": [{"name": "nvml:0", "available": False, "reason": "driver too old"}],
            }
        }
    )
    assert view["GPUs"]["text"] == "NVIDIA L4 (24 GiB)"
    assert view["Power sources"]["text"] == "nvml:0 (unavailable: driver too old)"


def test_empty_inventory_is_all_dashes_with_reason():
    """With no inventory every row is "—" with a reason, and the hostname falls back to the id."""
    view = node_view({"id": "n-1"})
    assert view["hostname"] == "n-1"
    assert all(r["missing"] and r["text"] == "—" and r["title"] for r in view["rows"])


def test_empty_gpu_list_says_no_gpu():
    """An inventory that lists no GPU says so, unlike one that lacks the key."""
    assert rows({"inventory": {"gpus": []}})["GPUs"]["title"] == "no GPU reported"
    assert rows({"inventory": {}})["GPUs"]["title"] == "not in this host's inventory"


def test_inventory_missing_reason_is_the_tooltip():
    """A value the agent could not read shows "—" with the agent's reason from inventory["missing"]."""
    view = rows({"inventory": {"cpu_model": None, "missing": {"cpu_model": "not in /proc/cpuinfo"}}})
    assert (view["CPU"]["text"], view["CPU"]["title"]) == ("—", "not in /proc/cpuinfo")


def test_described_power_source_marks_an_estimate():
    """A power source described with measured: false is labelled an estimate; a measured one is its name."""
    view = rows(
        {
            "inventory": {
                "power_sources": [
                    {"name": "estimate:cpu-time", "kind": "estimate", "measured": False},
                    {"name": "rapl:package-0", "kind": "rapl", "measured": True},
                ]
            }
        }
    )
    assert view["Power sources"]["text"] == "estimate:cpu-time (estimate), rapl:package-0"


def test_ffwatt_version_row():
    """The host table shows the agent's ffwatt version, or "—" with the inventory's reason when it had none."""
    assert rows({"inventory": {"ffwatt": "0.1.0"}})["ffwatt"]["text"] == "0.1.0"
    absent = rows({"inventory": {"ffwatt": None, "missing": {"ffwatt": "not installed as a distribution"}}})["ffwatt"]
    assert absent["missing"] and absent["title"] == "not installed as a distribution"
