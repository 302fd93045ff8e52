"""Probability models for entropy coding and the one route from them to integer tables.

Every coding table of the codec is made here, in float64 on the CPU, in three steps:

1. A continuous model (:class:`Laplace`, :class:`Gaussian`, :class:`LogisticMixture`) gives
   bin probabilities by differences of its CDF over bins of width ``step`` centred on integer
   multiples of ``step`` (value v ↔ ``[(v - 1/2) step, (v + 1/2) step)``), eq. 7–8 of [1]_;
   the ESCAPE symbol gets the tail mass outside the values ``lo .. hi``
   (:func:`bin_probabilities`).
2. :func:`quantize_cdf` turns those probabilities into integer frequencies summing to
   exactly ``2**precision_bits``, with at least ``min_freq`` each (the idea of encodec's
   ``build_stable_quantized_cdf``).  Nothing else in the codec may make frequency tables.
3. :func:`make_tableset` pads tables into a :class:`dsp.range_coder.TableSet` for the Numba
   coding kernels.

References
----------
.. [1] T. Bäckström, "Entropy-optimized source model for TCX" (shared/papers), sec. 3 and 5.
"""
import math
from dataclasses import dataclass

import numpy as np

from .range_coder import MAX_ABS_VALUE, MAX_PRECISION_BITS, TableSet

_LOG2E = 1.0 / math.log(2.0)


# ----------------------------------------------------------------------------- models

@dataclass(frozen=True)
class Laplace:
    """Laplacian distribution with location ``mu`` and scale ``scale`` (> 0), same units as x."""

    mu: float
    scale: float

    def __post_init__(self):
        _check_positive("scale", self.scale)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Cumulative distribution at ``x`` (float64 array)."""
        z = (np.asarray(x, dtype=np.float64) - self.mu) / self.scale
        half_tail = 0.5 * np.exp(-np.abs(z))
        return np.where(z < 0.0, half_tail, 1.0 - half_tail)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Probability density at ``x``, in 1 / (units of x)."""
        z = (np.asarray(x, dtype=np.float64) - self.mu) / self.scale
        return 0.5 * np.exp(-np.abs(z)) / self.scale


@dataclass(frozen=True)
class Gaussian:
    """Normal distribution with mean ``mu`` and standard deviation ``sigma`` (> 0)."""

    mu: float
    sigma: float

    def __post_init__(self):
        _check_positive("sigma", self.sigma)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Cumulative distribution at ``x`` (float64 array)."""
        from scipy.special import ndtr  # here: SciPy's import costs start-up that tables skip

        return ndtr((np.asarray(x, dtype=np.float64) - self.mu) / self.sigma)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Probability density at ``x``, in 1 / (units of x)."""
        z = (np.asarray(x, dtype=np.float64) - self.mu) / self.sigma
        return np.exp(-0.5 * z * z) / (self.sigma * math.sqrt(2.0 * math.pi))


@dataclass(frozen=True, eq=False)
class LogisticMixture:
    """Mixture of J logistic distributions, eq. 3 and 7 of [1]_.

    ``c(x) = sum_j weights[j] / (1 + exp(-(x - means[j]) / scales[j]))``.

    Attributes
    ----------
    weights : np.ndarray, shape (J,)
        Mixture weights, ≥ 0, summing to 1 (within 1e-6; renormalized when used).
    means : np.ndarray, shape (J,)
        Component locations, same units as x.
    scales : np.ndarray, shape (J,)
        Component scales (> 0), same units as x.
    """

    weights: np.ndarray
    means: np.ndarray
    scales: np.ndarray

    def __post_init__(self):
        w, m, s = (np.asarray(a, dtype=np.float64) for a in (self.weights, self.means, self.scales))
        if w.ndim != 1 or w.size == 0 or w.shape != m.shape or w.shape != s.shape:
            raise ValueError("weights, means and scales must be 1-D arrays of one length J >= 1")
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(m)) and np.all(np.isfinite(s))):
            raise ValueError("mixture parameters must be finite")
        if np.any(w < 0.0) or abs(math.fsum(w) - 1.0) > 1e-6:
            raise ValueError(f"weights must be >= 0 and sum to 1, got sum {math.fsum(w)}")
        if np.any(s <= 0.0):
            raise ValueError("scales must be > 0")
        object.__setattr__(self, "weights", w / math.fsum(w))
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "scales", s)

    def _z(self, x):
        x = np.asarray(x, dtype=np.float64)
        return (x[..., None] - self.means) / self.scales

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Cumulative distribution at ``x`` (float64 array of any shape)."""
        from scipy.special import expit  # here: SciPy's import costs start-up that tables skip

        return expit(self._z(x)) @ self.weights

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Probability density at ``x``, in 1 / (units of x)."""
        from scipy.special import expit

        z = self._z(x)
        return (expit(z) * expit(-z) / self.scales) @ self.weights


def _check_positive(name: str, value: float):
    if not (np.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")


def differential_entropy_bits(model) -> float:
    """Differential entropy ``h = -∫ f log2 f dx`` of a model, in bits (plus log2 of x units).

    Analytic for :class:`Laplace`, ``log2(2 e b)``, and :class:`Gaussian`,
    ``log2(2 π e σ²) / 2``; numerical (trapezoidal rule on a fine grid) for a mixture.
    This is H1 of eq. 10 in [1]_: a uniform quantizer of step Δ costs about ``h − log2 Δ``.
    """
    if isinstance(model, Laplace):
        return math.log2(2.0 * math.e * model.scale)
    if isinstance(model, Gaussian):
        return 0.5 * math.log2(2.0 * math.pi * math.e * model.sigma ** 2)
    if isinstance(model, LogisticMixture):
        x = _integration_grid(model)
        f = model.pdf(x)
        integrand = -f * np.log2(np.where(f > 0.0, f, 1.0))
        return float(np.trapezoid(integrand, x))
    raise ValueError(f"unknown model type {type(model).__name__}")


def _integration_grid(model: LogisticMixture) -> np.ndarray:
    """A grid over ±40 scales around every component, 200 points per smallest scale."""
    lo = np.min(model.means - 40.0 * model.scales)
    hi = np.max(model.means + 40.0 * model.scales)
    n = int(min(400_001, max(10_001, 200 * (hi - lo) / np.min(model.scales))))
    return np.linspace(lo, hi, n)


# ----------------------------------------------------------------------------- integer tables

def quantize_cdf(pdf: np.ndarray, precision_bits: int = 15, min_freq: int = 1) -> np.ndarray:
    """Integer cumulative frequencies for a distribution: THE route from floats to tables.

    Processing steps: normalize ``pdf`` (float64, exactly rounded sums); find the scale
    ``λ`` with ``sum(max(min_freq, λ p)) = 2**precision_bits`` (water-filling: the symbols
    held at ``min_freq`` are taken out and ``λ`` recomputed until none changes); round the
    shares ``λ p`` of the other symbols down and hand the leftover units one each to the
    largest rounding remainders (ties to the lower index).  This nearly minimizes the
    coding cost ``-sum p log2 q``; only the rare symbols pay for the ``min_freq`` floor.
    The result depends only on the float64 inputs, not on the platform's summation order.

    Parameters
    ----------
    pdf : array_like, shape (n,)
        Non-negative probabilities or weights (need not sum to 1).  All zeros gives the
        uniform table.
    precision_bits : int
        Total of the table as a power of two, 1 .. 15.
    min_freq : int
        Smallest frequency of any symbol (≥ 1), so that every symbol stays codable.

    Returns
    -------
    np.ndarray of int64, shape (n + 1,)
        ``cdf[0] = 0``, ``cdf[n] = 2**precision_bits``, ``cdf[s+1] - cdf[s] >= min_freq``.

    Raises
    ------
    ValueError
        For NaN, infinite or negative entries, an empty pdf, bad ``precision_bits`` or
        ``min_freq``, or ``n * min_freq > 2**precision_bits``.
    """
    p = _check_pdf(pdf)
    if not 1 <= precision_bits <= MAX_PRECISION_BITS:
        raise ValueError(
            f"precision_bits must be in 1 .. {MAX_PRECISION_BITS}, got {precision_bits}")
    if min_freq < 1:
        raise ValueError(f"min_freq must be >= 1, got {min_freq}")
    total = 1 << precision_bits
    if p.size * min_freq > total:
        raise ValueError(
            f"{p.size} symbols with min_freq {min_freq} do not fit 2**{precision_bits}")
    mass = math.fsum(p)
    p = p / mass if mass > 0.0 else np.full(p.size, 1.0 / p.size)
    share = _water_fill(p, total, min_freq)
    freq = np.floor(share).astype(np.int64)
    leftover = total - int(freq.sum())
    freq[np.argsort(freq - share, kind="stable")[:leftover]] += 1
    return np.concatenate(([0], np.cumsum(freq))).astype(np.int64)


def _water_fill(p: np.ndarray, total: int, min_freq: int) -> np.ndarray:
    """Real shares ``max(min_freq, λ p)`` summing to ``total`` (p sums to 1)."""
    free = np.ones(p.size, dtype=bool)
    while True:
        scale = (total - min_freq * (p.size - np.count_nonzero(free))) / math.fsum(p[free])
        held = free & (scale * p < min_freq)
        if not held.any():
            return np.where(free, scale * p, float(min_freq))
        free &= ~held


def _check_pdf(pdf) -> np.ndarray:
    p = np.asarray(pdf, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("pdf must be a non-empty 1-D array")
    if not np.all(np.isfinite(p)) or np.any(p < 0.0):
        raise ValueError("pdf entries must be finite and >= 0")
    return p


@dataclass(frozen=True, eq=False)
class CodingTable:
    """One integer coding table: values ``offset .. offset + n - 2`` then the ESCAPE symbol.

    Attributes
    ----------
    cdf : np.ndarray of int64, shape (n + 1,)
        Cumulative frequencies from :func:`quantize_cdf`.
    offset : int
        The value coded by symbol 0.
    """

    cdf: np.ndarray
    offset: int

    @property
    def n_symbols(self) -> int:
        """Symbols including the ESCAPE."""
        return self.cdf.size - 1

    def bits(self) -> np.ndarray:
        """Ideal code length of each symbol in bits, ``precision_bits - log2(freq)``."""
        return np.log2(float(self.cdf[-1])) - np.log2(np.diff(self.cdf).astype(np.float64))


def bin_probabilities(model, step: float, lo: int, hi: int) -> np.ndarray:
    """Probabilities of the values ``lo .. hi`` and of the ESCAPE (everything else).

    Value v stands for the interval ``[(v - 1/2) step, (v + 1/2) step)`` of the model's
    variable, so ``P(v) = c((v + 1/2) step) - c((v - 1/2) step)`` (eq. 8 of [1]_).

    Parameters
    ----------
    model : Laplace, Gaussian or LogisticMixture
        Anything with a vectorised float64 ``cdf(x)``.
    step : float
        Quantization step, in units of the model's variable (> 0).
    lo, hi : int
        First and last value of the table, ``lo <= hi``.

    Returns
    -------
    np.ndarray of float64, shape (hi - lo + 2,)
        ``P(lo), ..., P(hi), P(escape)``; sums to 1 up to rounding.
    """
    _check_positive("step", step)
    if lo > hi:
        raise ValueError(f"lo must be <= hi, got lo={lo}, hi={hi}")
    edges = (np.arange(lo, hi + 2, dtype=np.float64) - 0.5) * step
    c = model.cdf(edges)
    inside = np.maximum(np.diff(c), 0.0)
    escape = max(c[0] + (1.0 - c[-1]), 0.0)
    return np.append(inside, escape)


def value_range(model, step: float, tail_mass: float) -> tuple:
    """The smallest ``(lo, hi)`` whose bins hold all but about ``tail_mass`` of the model.

    Quantiles ``tail_mass / 2`` and ``1 - tail_mass / 2`` are found by bisection on the CDF
    and rounded to the bins that contain them.
    """
    if not 0.0 < tail_mass < 1.0:
        raise ValueError(f"tail_mass must be in (0, 1), got {tail_mass}")
    _check_positive("step", step)
    x_lo = _quantile(model, 0.5 * tail_mass)
    x_hi = _quantile(model, 1.0 - 0.5 * tail_mass)
    return int(math.floor(x_lo / step + 0.5)), int(math.floor(x_hi / step + 0.5))


def _quantile(model, q: float) -> float:
    """The x with ``model.cdf(x) = q``, by bracketing and 200 bisection steps."""
    a, b = -1.0, 1.0
    while model.cdf(a) > q:
        a *= 2.0
    while model.cdf(b) < q:
        b *= 2.0
    for _ in range(200):
        mid = 0.5 * (a + b)
        if model.cdf(mid) < q:
            a = mid
        else:
            b = mid
    return 0.5 * (a + b)


def make_table(model, step: float, lo: int | None = None, hi: int | None = None,
               precision_bits: int = 15, min_freq: int = 1,
               tail_mass: float = 1e-4) -> CodingTable:
    """The integer coding table of a model quantized with ``step``.

    Parameters
    ----------
    model : Laplace, Gaussian or LogisticMixture
        The distribution of the unquantized variable.
    step : float
        Quantization step (> 0), in units of the model's variable.
    lo, hi : int, optional
        First and last value with its own symbol; chosen by :func:`value_range` with
        ``tail_mass`` when omitted.
    precision_bits, min_freq : int
        Passed to :func:`quantize_cdf`.
    tail_mass : float
        Probability left to the ESCAPE when ``lo``/``hi`` are chosen automatically.

    Returns
    -------
    CodingTable
        ``hi - lo + 2`` symbols: values ``lo .. hi`` and the ESCAPE.
    """
    auto_lo, auto_hi = value_range(model, step, tail_mass) if lo is None or hi is None else (lo, hi)
    lo = auto_lo if lo is None else int(lo)
    hi = auto_hi if hi is None else int(hi)
    if max(abs(lo), abs(hi)) > MAX_ABS_VALUE:
        raise ValueError(f"table values must be within ±{MAX_ABS_VALUE}, got {lo} .. {hi}")
    pdf = bin_probabilities(model, step, lo, hi)
    return CodingTable(quantize_cdf(pdf, precision_bits, min_freq), lo)


def make_tableset(tables: list) -> TableSet:
    """Pad a list of :class:`CodingTable` into one :class:`dsp.range_coder.TableSet`.

    Padding repeats each table's total in ``cdf`` and puts ``inf`` in ``bits``.
    """
    if not tables:
        raise ValueError("make_tableset needs at least one table")
    max_len = max(table.n_symbols for table in tables)
    cdf = np.zeros((len(tables), max_len + 1), dtype=np.int32)
    bits = np.full((len(tables), max_len), np.inf)
    for t, table in enumerate(tables):
        n = table.n_symbols
        cdf[t, :n + 1] = table.cdf
        cdf[t, n + 1:] = table.cdf[-1]
        bits[t, :n] = table.bits()
    length = np.array([table.n_symbols for table in tables], dtype=np.int64)
    offset = np.array([table.offset for table in tables], dtype=np.int64)
    return TableSet(cdf=cdf, length=length, offset=offset, bits=bits)
