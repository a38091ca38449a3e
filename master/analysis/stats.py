"""Repetition statistics: mean, sample standard deviation and a Student-t 95% confidence interval; Welch's t-test of
the difference of two sets of runs (:func:`welch`).

A missing measurement (None; also NaN, infinity, or anything that is not a number, such as a string stored before
results were validated) is left out, never counted as 0: `n` counts only the values present. With no value every field
is None; with one value the mean exists but the spread and the interval do not.

Any finite values can be summarized, up to the largest float: the sums are taken on the values scaled by a power of
two (exact), and a spread or interval bound that does not fit in a float (values near ±1.8e308) is None, never inf.

No installed library provides Student-t quantiles (`statistics.NormalDist` is normal only, and scipy is not a
dependency), so `t_quantile` computes them from the regularized incomplete beta function. It is the one place to swap
for `scipy.stats.t.ppf` if scipy ever becomes a dependency.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass

CONFIDENCE = 0.95
"""Two-sided confidence level of the interval reported with every mean."""

_BETACF_MAX_ITER = 300
_BETACF_EPS = 1e-15
_TINY = 1e-300


@dataclass(frozen=True)
class Summary:
    """Mean and spread of one metric over the repetitions of a variant; None where it cannot be computed."""

    n: int
    mean: float | None = None
    stdev: float | None = None
    ci95_halfwidth: float | None = None
    ci95_low: float | None = None
    ci95_high: float | None = None
    rel_ci95: float | None = None
    """Half-width of the 95% interval as a fraction of |mean| (0.05 = ±5%); None when the mean is 0."""

    def to_dict(self) -> dict:
        """Plain dict, for JSON and templates."""
        return asdict(self)


def present(values: Iterable[object]) -> list[float]:
    """The values that were measured: numbers (booleans count as 0/1) that are finite; None, NaN, infinity and
    non-numbers are left out."""
    return [float(v) for v in values if isinstance(v, (int, float)) and _finite(v)]


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the float range
        return False


def summary(values: Iterable[object]) -> Summary:
    """Summary of the present values: n, mean, sample stdev (n-1) and the Student-t 95% interval of the mean."""
    xs = present(values)
    n = len(xs)
    if n == 0:
        return Summary(n=0)
    exponent = math.frexp(max(abs(x) for x in xs))[1]
    ys = [math.ldexp(x, -exponent) for x in xs]  # |y| < 1; a power of two keeps every digit
    mean_y = statistics.fmean(ys)
    mean = math.ldexp(mean_y, exponent)  # between the smallest and largest value: it fits
    if n == 1:
        return Summary(n=1, mean=mean)
    stdev_y = statistics.stdev(ys)
    half_y = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * stdev_y / math.sqrt(n)
    rel = _fits(half_y / abs(mean_y)) if mean_y != 0 else None
    return Summary(
        n,
        mean,
        _scaled(stdev_y, exponent),
        _scaled(half_y, exponent),
        _scaled(mean_y - half_y, exponent),
        _scaled(mean_y + half_y, exponent),
        rel,
    )


def _scaled(y: float, exponent: int) -> float | None:
    """y x 2**exponent, None when it does not fit in a float."""
    try:
        return _fits(math.ldexp(y, exponent))
    except OverflowError:
        return None


@dataclass(frozen=True)
class Difference:
    """Welch's two-sample t-test of ``b - a`` (unequal variances): the difference of the means, its confidence interval
    at ``level``, the Welch-Satterthwaite degrees of freedom and the two-sided p-value; None where it cannot be
    computed (fewer than 2 values on a side, or no spread at all), with the reason in ``why``."""

    n_a: int
    n_b: int
    mean_a: float | None
    mean_b: float | None
    diff: float | None = None
    rel_diff: float | None = None
    """``diff`` as a fraction of |mean_a| (-0.43 = 43% less than a); None when mean_a is 0."""
    ci_low: float | None = None
    ci_high: float | None = None
    df: float | None = None
    t: float | None = None
    p_value: float | None = None
    level: float = CONFIDENCE
    why: str | None = None

    def to_dict(self) -> dict:
        """Plain dict, for JSON and templates."""
        return asdict(self)


def welch(a: Iterable[object], b: Iterable[object], level: float = CONFIDENCE) -> Difference:
    """Welch's t-test of the means of ``b`` and ``a`` (missing values left out, as :func:`summary` does)."""
    xs, ys = present(a), present(b)
    mean_a = statistics.fmean(xs) if xs else None
    mean_b = statistics.fmean(ys) if ys else None
    base = {"n_a": len(xs), "n_b": len(ys), "mean_a": mean_a, "mean_b": mean_b, "level": level}
    if mean_a is None or mean_b is None:
        return Difference(**base, why="no value on one side")
    diff = mean_b - mean_a
    rel = diff / abs(mean_a) if mean_a else None
    if len(xs) < 2 or len(ys) < 2:
        return Difference(
            **base, diff=diff, rel_diff=rel, why=f"needs 2 or more runs on each side, got {len(xs)} and {len(ys)}"
        )
    va, vb = statistics.variance(xs) / len(xs), statistics.variance(ys) / len(ys)
    se2 = va + vb
    if not math.isfinite(se2) or se2 <= 0:
        return Difference(**base, diff=diff, rel_diff=rel, why="no spread on either side: the test is undefined")
    df = se2 * se2 / (va * va / (len(xs) - 1) + vb * vb / (len(ys) - 1))
    se = math.sqrt(se2)
    t = diff / se
    p_value = min(1.0, 2.0 * t_cdf(-abs(t), df))
    half = t_quantile(0.5 + level / 2.0, df) * se
    return Difference(
        **base, diff=diff, rel_diff=rel, ci_low=diff - half, ci_high=diff + half, df=df, t=t, p_value=p_value
    )


def _fits(value: float) -> float | None:
    return value if math.isfinite(value) else None


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t distribution with `df` degrees of freedom: the t with P(T <= t) = p."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if not df > 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    hi = 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    lo = 0.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-14 * hi:
            break
    return (lo + hi) / 2.0


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def regularized_beta(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b), by its continued fraction (Numerical Recipes `betai`)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function, evaluated by the modified Lentz method."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _BETACF_MAX_ITER + 1):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            result *= c * d
        if abs(c * d - 1.0) < _BETACF_EPS:
            return result
    return result


def coefficient_of_variation(stat: Summary) -> float | None:
    """The runs' standard deviation as a fraction of |mean| (0.05 = 5%); None with fewer than 2 values or a
    mean of 0."""
    if stat.stdev is None or not stat.mean:
        return None
    return _fits(stat.stdev / abs(stat.mean))


def negative_bound_note(stat: Summary) -> str | None:
    """Why the 95% interval of a quantity that cannot be below 0 (joules, watts, frames per joule) has no lower bound
    to show: the Student-t interval reaches below 0 when the runs are too few for their spread. None when it does
    not."""
    if stat.ci95_low is None or stat.ci95_low >= 0:
        return None
    return (
        f"the 95% interval would reach below 0 (to {stat.ci95_low:.3g}), which this quantity cannot: "
        f"n={stat.n} is too small for the spread of these runs"
    )


OUTLIER_RULE = "tukey-1.5iqr"
"""How :func:`outliers` flags a run: Tukey's fences, a value below Q1 - 1.5 IQR or above Q3 + 1.5 IQR, the quartiles
by ``statistics.quantiles(method="inclusive")`` (linear interpolation, as numpy's default), with
:data:`OUTLIER_MIN_N` values or more."""

OUTLIER_MIN_N = 4
"""Fewest values :func:`outliers` judges: with 3 or fewer the quartiles say nothing."""

OUTLIER_FENCE = 1.5
"""Tukey's factor: how many interquartile ranges beyond a quartile a value is an outlier."""


def outliers(values: Iterable[object]) -> list[int] | None:
    """The positions (in ``values``) of the present values outside Tukey's fences (:data:`OUTLIER_RULE`); None when
    fewer than :data:`OUTLIER_MIN_N` values are present."""
    indexed = [(i, float(v)) for i, v in enumerate(values) if present([v])]
    if len(indexed) < OUTLIER_MIN_N:
        return None
    q1, _, q3 = statistics.quantiles([v for _, v in indexed], n=4, method="inclusive")
    low, high = q1 - OUTLIER_FENCE * (q3 - q1), q3 + OUTLIER_FENCE * (q3 - q1)
    return [i for i, v in indexed if v < low or v > high]
