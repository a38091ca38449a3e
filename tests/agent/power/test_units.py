"""Energy and Power value types."""

from agent.power.units import Energy, Power


def test_energy_constructors_and_arithmetic():
    """Micro- and millijoules convert to joules; energies add, subtract and spread into watts."""
    assert Energy.from_ujoules(2_500_000).joules == 2.5
    assert Energy.from_mjoules(1500).joules == 1.5
    assert (Energy(3.0) + Energy(1.0) - Energy(0.5)).joules == 3.5
    assert Energy(10.0).over(4.0) == Power(2.5)
    assert Energy(3.6e6).kwh == 1.0


def test_power_constructors():
    """Milli- and microwatts convert to watts; power held over time is energy."""
    assert Power.from_mwatts(250_000).watts == 250.0
    assert Power.from_uwatts(40_000_000).watts == 40.0
    assert Power(5.0).times(3.0) == Energy(15.0)
    assert Power(1.0) < Power(2.0)
