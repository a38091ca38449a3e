"""Tests of master.analysis.stats: summaries of repetitions and Student-t quantiles."""

import math
import statistics
from statistics import NormalDist

import pytest

from master.analysis.stats import Summary, summary, t_cdf, t_quantile, welch

T975_DF3 = 3.182446305284263
"""Published 97.5% quantile of Student's t with 3 degrees of freedom."""


def test_summary_of_one_to_four_matches_known_values():
    """Mean 2.5, stdev sqrt(5/3), CI half-width t(0.975, 3) * s / 2."""
    s = summary([1, 2, 3, 4])
    half = T975_DF3 * math.sqrt(5 / 3) / 2
    assert s.n == 4
    assert s.mean == pytest.approx(2.5)
    assert s.stdev == pytest.approx(1.2909944487358056)
    assert s.ci95_halfwidth == pytest.approx(half, rel=1e-9)
    assert s.ci95_halfwidth == pytest.approx(2.05426, abs=1e-5)
    assert (s.ci95_low, s.ci95_high) == pytest.approx((2.5 - half, 2.5 + half))
    assert s.rel_ci95 == pytest.approx(half / 2.5)


def test_summary_ignores_none():
    """None values are left out: the summary equals that of the present values, n counts them only."""
    assert summary([None, 1, 2, None, 3, 4]) == summary([1, 2, 3, 4])
    assert summary([None, 1, 2, None, 3, 4]).n == 4


def test_summary_ignores_nan_and_infinity():
    """NaN and infinity are not measurements and are left out like None."""
    assert summary([1.0, float("nan"), 3.0, float("inf")]) == summary([1.0, 3.0])


def test_summary_of_one_value_has_no_spread():
    """n=1: the mean exists, stdev and CI are None (not 0)."""
    assert summary([None, 7.5]) == Summary(n=1, mean=7.5)


@pytest.mark.parametrize("values", [[], [None, None]])
def test_summary_of_nothing_is_all_none(values):
    """n=0: every field is None."""
    assert summary(values) == Summary(
        n=0, mean=None, stdev=None, ci95_halfwidth=None, ci95_low=None, ci95_high=None, rel_ci95=None
    )


def test_relative_ci_is_none_for_zero_mean():
    """The relative half-width is undefined when the mean is 0; the absolute one still exists."""
    s = summary([-1, 1])
    assert s.rel_ci95 is None
    assert s.ci95_halfwidth > 0


def test_identical_values_have_zero_width():
    """Identical repetitions: stdev 0 and a zero-width interval, not None."""
    s = summary([2.0, 2.0, 2.0])
    assert (s.stdev, s.ci95_halfwidth, s.rel_ci95) == (0.0, 0.0, 0.0)


def test_to_dict_has_every_field():
    """to_dict gives the seven fields for JSON and templates."""
    fields = {"n", "mean", "stdev", "ci95_halfwidth", "ci95_low", "ci95_high", "rel_ci95"}
    assert set(summary([1, 2]).to_dict()) == fields


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.706204736174707),
        (0.975, 2, 4.302652729749464),
        (0.975, 3, T975_DF3),
        (0.975, 5, 2.570581835636314),
        (0.975, 10, 2.228138851986273),
        (0.975, 30, 2.042272456301238),
        (0.995, 5, 4.032142983557536),
        (0.95, 7, 1.894578605090007),
    ],
)
def test_t_quantile_matches_published_values(p, df, expected):
    """Quantiles agree with published Student-t tables to 1e-9."""
    assert t_quantile(p, df) == pytest.approx(expected, rel=1e-9)


def test_t_quantile_tends_to_the_normal():
    """With very many degrees of freedom t approaches the normal quantile."""
    assert t_quantile(0.975, 1e7) == pytest.approx(NormalDist().inv_cdf(0.975), abs=1e-6)


def test_t_quantile_is_symmetric():
    """Lower quantiles are the negated upper ones; the median is 0."""
    assert t_quantile(0.025, 4) == pytest.approx(-t_quantile(0.975, 4))
    assert t_quantile(0.5, 4) == 0.0


def test_t_cdf_of_one_degree_is_cauchy():
    """With 1 degree of freedom the t CDF is the Cauchy CDF 1/2 + atan(t)/pi."""
    for t in (-3.0, -0.5, 0.0, 0.7, 2.0, 40.0):
        assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-12)


@pytest.mark.parametrize(("p", "df"), [(0.0, 3), (1.0, 3), (-0.1, 3), (0.975, 0)])
def test_t_quantile_rejects_bad_arguments(p, df):
    """p outside (0, 1) or df <= 0 raise ValueError."""
    with pytest.raises(ValueError):
        t_quantile(p, df)


def test_summary_of_the_largest_values_does_not_overflow():
    """1e308 twice: the mean is 1e308 and the spread 0, where a plain sum overflows to inf."""
    s = summary([1e308, 1e308])
    assert (s.mean, s.stdev, s.ci95_halfwidth, s.ci95_low, s.ci95_high, s.rel_ci95) == (1e308, 0, 0, 1e308, 1e308, 0)


def test_summary_spread_beyond_the_float_range_is_none():
    """±1.7e308: the mean exists, a standard deviation and interval beyond the float range are None, never inf."""
    s = summary([1.7e308, -1.7e308])
    assert s.n == 2 and s.mean == 0.0
    assert (s.stdev, s.ci95_halfwidth, s.ci95_low, s.ci95_high, s.rel_ci95) == (None, None, None, None, None)


def test_summary_keeps_ordinary_values_exact():
    """Scaling by a power of two changes no digit of an ordinary summary."""
    values = [0.4347, 0.4412, 0.4389, 0.4401]
    s = summary(values)
    assert (s.mean, s.stdev) == (statistics.fmean(values), statistics.stdev(values))


@pytest.mark.parametrize("junk", ["abc", {"a": 1}, [1], 10**400], ids=["string", "object", "list", "huge-int"])
def test_summary_skips_what_is_not_a_number(junk):
    """A string, object, list or an integer beyond the float range (stored before validation) is left out."""
    assert summary([1.0, junk, 3.0]) == summary([1.0, 3.0])


# Welch's t-test: the first worked example of Welch's test in the literature's usual form (two samples of 15, unequal
# variances): t = 2.46, df = 25.0, p = 0.021 (two-sided), as published for this data.
WELCH_A = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
WELCH_B = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]


def test_welch_matches_the_published_example():
    d = welch(WELCH_A, WELCH_B)
    assert d.t == pytest.approx(2.46, abs=0.005) and d.df == pytest.approx(24.99, abs=0.01)
    assert d.p_value == pytest.approx(0.021, abs=0.0005)
    assert d.diff == pytest.approx(statistics.fmean(WELCH_B) - statistics.fmean(WELCH_A))
    assert d.ci_low < d.diff < d.ci_high and d.ci_low > 0  # p < 0.05: the 95% interval excludes 0
    swapped = welch(WELCH_B, WELCH_A)
    assert swapped.t == pytest.approx(-d.t) and swapped.p_value == pytest.approx(d.p_value)


def test_welch_says_why_it_cannot_test():
    assert welch([1.0], [2.0, 3.0]).p_value is None and "2 or more" in welch([1.0], [2.0, 3.0]).why
    assert welch([1.0, 1.0], [1.0, 1.0]).why.startswith("no spread")
    assert welch([], [1.0, 2.0]).diff is None
    same = welch([1.0, 2.0, None, "x"], [1.0, 2.0])
    assert same.n_a == 2 and same.p_value == pytest.approx(1.0) and same.rel_diff == 0.0


def test_coefficient_of_variation():
    """cv = stdev / |mean|; None for one value or a mean of 0."""
    from master.analysis.stats import coefficient_of_variation

    assert coefficient_of_variation(summary([9, 11])) == pytest.approx(math.sqrt(2) / 10)
    assert coefficient_of_variation(summary([-9, -11])) == pytest.approx(math.sqrt(2) / 10)
    assert coefficient_of_variation(summary([5])) is None
    assert coefficient_of_variation(summary([-1, 1])) is None


def test_negative_bound_note_only_when_the_interval_reaches_below_zero():
    """Two runs far apart: the t interval (12.706 x se) reaches below 0 and the note says n is too small."""
    from master.analysis.stats import negative_bound_note

    wide = summary([0.0, 3.0])
    assert wide.ci95_low < 0
    note = negative_bound_note(wide)
    assert "below 0" in note and "n=2 is too small" in note
    assert negative_bound_note(summary([10.0, 10.5, 9.5])) is None
    assert negative_bound_note(summary([1.0])) is None


def test_outliers_by_tukey_fences():
    """One run far from the rest is flagged by position (missing values skipped); fewer than 4 values: no verdict."""
    from master.analysis.stats import OUTLIER_MIN_N, outliers

    assert outliers([1.0, 1.1, None, 0.9, 1.05, 5.0]) == [5]
    assert outliers([1.0, 1.1, 0.9, 1.05]) == []
    assert outliers([1.0, 9.0, None, 1.0]) is None and OUTLIER_MIN_N == 4
