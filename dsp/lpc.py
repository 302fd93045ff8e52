"""Linear prediction: autocorrelation, Levinson-Durbin, LSF conversion and LPC envelopes.

The LPC analysis of AMR-WB (3GPP TS 26.190 sec. 5.2), which the collaborative-quantization paper
(sec. 3.1) adopts with order 16 and LSP representation, and the "inverse DFT of the power spectrum
then Levinson-Durbin" route of the TCX paper (sec. 6) for fitting a predictor to an envelope.

Conventions: A(z) = 1 + sum_{i=1}^{p} a_i z^-i with a[0] = 1, predicting s[n] from
-sum_i a_i s[n-i]; reflection coefficients k_m are the a_m of each order-m step; line spectral
frequencies (LSF) are in radians, ascending, in (0, pi); the MDCT bin centres are
omega_k = pi (k + 1/2) / 320, k = 0..319.
"""
import functools

import numpy as np
from numba import njit

LAG_WINDOW_BANDWIDTH_HZ = 60.0   # f0 of the Gaussian lag window, TS 26.190 sec. 5.2.1
WHITE_NOISE_FACTOR = 1.0001      # r[0] scaling, a -40 dB noise floor, TS 26.190 sec. 5.2.1
_LSF_GRID_POINTS = 512           # initial root-search grid over [0, pi]; refined if roots merge
_LSF_MAX_GRID_POINTS = 1 << 16


def _vector(x, name):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x


def _check_order(order, available, name):
    if int(order) != order or order < 1:
        raise ValueError(f"order must be a positive integer, got {order}")
    if available < order + 1:
        raise ValueError(f"{name} has {available} values, order {order} needs {order + 1}")
    return int(order)


def autocorrelation(x, order):
    """Autocorrelation r[m] = sum_n x[n] x[n + m] of a (windowed) frame.

    Parameters
    ----------
    x : array_like, shape (n,)
        Frame, already windowed.
    order : int
        Highest lag p.

    Returns
    -------
    r : ndarray, shape (p + 1,)
    """
    x = _vector(x, "x")
    order = _check_order(order, x.size, "x")
    return np.array([np.dot(x[:x.size - m], x[m:]) for m in range(order + 1)])


def lag_window(order, bandwidth_hz=LAG_WINDOW_BANDWIDTH_HZ, sample_rate_hz=16000):
    """Gaussian lag window w[i] = exp(-1/2 (2 pi f0 i / fs)^2), TS 26.190 sec. 5.2.1.

    Multiplying r[i] by w[i] convolves the power spectrum with a Gaussian of standard deviation f0,
    widening sharp peaks (AMR-WB and EVS use f0 = 60 Hz).

    Parameters
    ----------
    order : int
        Highest lag p.
    bandwidth_hz : float
        f0 in Hz.
    sample_rate_hz : float
        fs in Hz.

    Returns
    -------
    w : ndarray, shape (p + 1,)
        w[0] = 1.
    """
    order = _check_order(order, order + 1, "lag_window")
    if bandwidth_hz < 0 or sample_rate_hz <= 0:
        raise ValueError(f"need bandwidth_hz >= 0 and sample_rate_hz > 0, got "
                         f"{bandwidth_hz}, {sample_rate_hz}")
    return np.exp(-0.5 * (2.0 * np.pi * bandwidth_hz * np.arange(order + 1) / sample_rate_hz) ** 2)


def white_noise_correction(r, factor=WHITE_NOISE_FACTOR):
    """Scale r[0] by ``factor``: add white noise at 10 log10(factor - 1) dB (-40 dB for 1.0001).

    Parameters
    ----------
    r : array_like, shape (p + 1,)
    factor : float
        >= 1 (TS 26.190 sec. 5.2.1 uses 1.0001).

    Returns
    -------
    ndarray, shape (p + 1,)
    """
    if factor < 1.0:
        raise ValueError(f"white-noise factor must be >= 1, got {factor}")
    r = np.array(r, dtype=np.float64)
    r[0] *= factor
    return r


@njit(cache=True)
def levinson_kernel(r, order):
    """Unchecked Numba kernel of :func:`levinson_durbin`, for callers inside other kernels."""
    a = np.zeros(order + 1)
    a[0] = 1.0
    k = np.zeros(order)
    err = r[0]
    previous = np.empty(order + 1)
    for m in range(1, order + 1):
        acc = r[m]
        for j in range(1, m):
            acc += a[j] * r[m - j]
        k_m = -acc / err
        if not abs(k_m) < 1.0:   # not positive definite beyond order m - 1 (or NaN): stop
            break
        previous[:m] = a[:m]
        for j in range(1, m):
            a[j] = previous[j] + k_m * previous[m - j]
        a[m] = k_m
        k[m - 1] = k_m
        err *= 1.0 - k_m * k_m
    return a, k, err


@njit(cache=True)
def reflection_kernel(a):
    """Reflection coefficients k_1..k_p of A(z) by the step-down recursion (Levinson's inverse).

    From m = p down to 1: k_m = a_m^(m), a_j^(m-1) = (a_j^(m) - k_m a_{m-j}^(m)) / (1 - k_m^2);
    ``a`` must be minimum phase (|k_m| < 1), e.g. a bandwidth-expanded Levinson-Durbin result.
    Unchecked Numba kernel.
    """
    order = a.size - 1
    k = np.zeros(order)
    current = a.copy()
    for m in range(order, 0, -1):
        k_m = current[m]
        k[m - 1] = k_m
        previous = current.copy()
        for j in range(1, m):
            current[j] = (previous[j] - k_m * previous[m - j]) / (1.0 - k_m * k_m)
    return k


def levinson_durbin(r, order):
    """Solve the normal equations sum_j a_j r[|i - j|] = -r[i] (i = 1..p) by Levinson-Durbin.

    Order-m step: k_m = -(r[m] + sum_{j<m} a_j r[m-j]) / E, a_j += k_m a_{m-j}, a_m = k_m,
    E *= 1 - k_m^2. If |k_m| >= 1 (r not positive definite at order m, e.g. a pure sinusoid) the
    recursion stops and the higher coefficients stay 0, so A(z) is always minimum phase.

    Parameters
    ----------
    r : array_like, shape (>= p + 1,)
        Autocorrelation, r[0] > 0.
    order : int
        Prediction order p.

    Returns
    -------
    a : ndarray, shape (p + 1,)
        A(z) coefficients, a[0] = 1.
    k : ndarray, shape (p,)
        Reflection coefficients, |k| < 1.
    prediction_error : float
        Residual power E = r[0] prod (1 - k_m^2), in the units of r.
    """
    r = _vector(r, "r")
    order = _check_order(order, r.size, "r")
    if not r[0] > 0:
        raise ValueError(f"r[0] must be positive, got {r[0]}")
    return levinson_kernel(r[:order + 1], order)


@functools.lru_cache(maxsize=8)
def bin_centre_cosines(order, n_bins):
    """Read-only table cos(m omega_k), shape (order + 1, n_bins), omega_k = pi (k + 1/2) / n_bins.

    The phase m (2k + 1) is reduced modulo 4 n_bins in integers, so large m k lose no accuracy.
    """
    phase = np.outer(np.arange(order + 1), 2 * np.arange(n_bins) + 1) % (4 * n_bins)
    table = np.cos(2.0 * np.pi * phase / (4 * n_bins))
    table.flags.writeable = False
    return table


@njit(cache=True)
def cosine_sum_kernel(table, power):
    """Unchecked Numba kernel: r[m] = 1/N sum_k table[m, k] power[k], summed in order of k."""
    r = np.zeros(table.shape[0])
    for k in range(power.size):      # the lags side by side: independent sums, no waiting on
        for m in range(table.shape[0]):      # one long chain of additions
            r[m] += table[m, k] * power[k]
    for m in range(table.shape[0]):
        r[m] /= power.size
    return r


def autocorrelation_from_power_spectrum(power, order):
    """Autocorrelation as the inverse DFT of a power spectrum sampled at the MDCT bin centres.

    r[m] = 1/N sum_{k<N} P[k] cos(m omega_k), omega_k = pi (k + 1/2) / N: the autocorrelation of a
    signal whose power spectrum is P on the half-bin-shifted grid of the MDCT (TCX paper sec. 6),
    positive semi-definite for P >= 0.

    Parameters
    ----------
    power : array_like, shape (N,)
        Power spectrum P >= 0 at omega_k.
    order : int
        Highest lag p.

    Returns
    -------
    r : ndarray, shape (p + 1,)
    """
    power = _vector(power, "power")
    order = _check_order(order, order + 1, "power")
    if np.any(power < 0):
        raise ValueError("power must be non-negative")
    return cosine_sum_kernel(bin_centre_cosines(order, power.size), power)


def lpc_from_power_spectrum(power, order, bandwidth_hz=LAG_WINDOW_BANDWIDTH_HZ,
                            white_noise_factor=WHITE_NOISE_FACTOR, sample_rate_hz=16000):
    """Predictor fitted to a power spectrum: inverse DFT, lag window, noise floor, Levinson-Durbin.

    Parameters
    ----------
    power : array_like, shape (N,)
        Power spectrum at the MDCT bin centres omega_k = pi (k + 1/2) / N, not all zero.
    order : int
        Prediction order p.
    bandwidth_hz, white_noise_factor, sample_rate_hz : float
        See :func:`lag_window` and :func:`white_noise_correction`.

    Returns
    -------
    a : ndarray, shape (p + 1,)
    prediction_error : float
        E such that E / |A(e^{j omega})|^2 approximates ``power`` (same units).
    """
    r = autocorrelation_from_power_spectrum(power, order)
    r = white_noise_correction(r * lag_window(order, bandwidth_hz, sample_rate_hz),
                               white_noise_factor)
    a, _, prediction_error = levinson_durbin(r, order)
    return a, prediction_error


@njit(cache=True)
def _chebyshev_sum_difference(a):
    """Chebyshev series of F1(z) / (1 + z^-1) and F2(z) / (1 - z^-1) in x = cos(omega).

    F1,2(z) = A(z) +- z^-(p+1) A(1/z). Each deflated polynomial g of degree p is symmetric, so
    g(e^{jw}) = e^{-jw p/2} (g[p/2] + 2 sum_{m>=1} g[p/2 - m] cos(m w)).
    """
    p = a.size - 1
    half = p // 2
    extended = np.zeros(p + 2)
    extended[:p + 1] = a
    series = np.zeros((2, half + 1))
    for which in range(2):
        sign = 1.0 if which == 0 else -1.0
        g = np.zeros(p + 1)
        for i in range(p + 1):
            f_i = extended[i] + sign * extended[p + 1 - i]
            g[i] = f_i - sign * g[i - 1] if i > 0 else f_i
        series[which, 0] = g[half]
        for m in range(1, half + 1):
            series[which, m] = 2.0 * g[half - m]
    return series


@njit(cache=True)
def _clenshaw(c, x):
    """sum_m c[m] T_m(x) by Clenshaw's recurrence."""
    b1 = 0.0
    b2 = 0.0
    for m in range(c.size - 1, 0, -1):
        b1, b2 = c[m] + 2.0 * x * b1 - b2, b1
    return c[0] + x * b1 - b2


@njit(cache=True)
def _bisect(c, lo, hi, value_lo):
    """Root of sum c_m T_m(cos w) in [lo, hi] (sign change) by bisection to machine precision."""
    while True:
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            return mid
        value = _clenshaw(c, np.cos(mid))
        if (value < 0.0) == (value_lo < 0.0):
            lo, value_lo = mid, value
        else:
            hi = mid


@njit(cache=True)
def _grid_roots(series, grid_points, roots):
    """Fill roots[s] with the sign changes of series[s] on a uniform omega grid over [0, pi].

    Returns False if a series has more or fewer sign changes than roots[s] has room for (two roots
    in one grid cell, or A(z) not minimum phase).
    """
    counts = np.zeros(2, dtype=np.int64)
    values_lo = np.array([_clenshaw(series[0], 1.0), _clenshaw(series[1], 1.0)])
    step = np.pi / grid_points
    for j in range(1, grid_points + 1):
        hi = np.pi if j == grid_points else j * step
        x = np.cos(hi)
        for s in range(2):
            value_hi = _clenshaw(series[s], x)
            if (value_hi < 0.0) != (values_lo[s] < 0.0):
                if counts[s] == roots.shape[1]:
                    return False
                roots[s, counts[s]] = _bisect(series[s], (j - 1) * step, hi, values_lo[s])
                counts[s] += 1
            values_lo[s] = value_hi
    return counts[0] == roots.shape[1] and counts[1] == roots.shape[1]


@njit(cache=True)
def _lsf_kernel(a, grid_points, max_grid_points):
    """LSFs of A(z); an empty array if the roots are not all found (A(z) not minimum phase)."""
    half = (a.size - 1) // 2
    series = _chebyshev_sum_difference(a)
    roots = np.zeros((2, half))
    while grid_points <= max_grid_points:
        if _grid_roots(series, grid_points, roots):
            lsf = np.empty(2 * half)
            lsf[0::2] = roots[0]
            lsf[1::2] = roots[1]
            return lsf
        grid_points *= 2
    return np.zeros(0)


def lpc_to_lsf(a):
    """Line spectral frequencies of A(z) by a Chebyshev-domain root search (AMR-WB style).

    The roots of the sum and difference polynomials F1,2(z) = A(z) +- z^-(p+1) A(1/z), less their
    trivial roots at z = -1 and z = +1, lie on the unit circle and interlace. Their Chebyshev series
    in x = cos(omega) are evaluated on a grid of 512 points over [0, pi] (AMR-WB's Az_isp uses 100,
    TS 26.190 sec. 5.2.3); each sign change is refined by bisection to machine precision, and the
    grid is refined if two roots fall in one grid cell.

    Parameters
    ----------
    a : array_like, shape (p + 1,)
        Minimum-phase A(z), a[0] = 1, p even.

    Returns
    -------
    lsf : ndarray, shape (p,)
        Radians, ascending, in (0, pi); even indices are roots of F1, odd of F2.
    """
    a = _predictor(a)
    if (a.size - 1) % 2:
        raise ValueError(f"LSF conversion needs an even order, got {a.size - 1}")
    lsf = _lsf_kernel(a, _LSF_GRID_POINTS, _LSF_MAX_GRID_POINTS)
    if lsf.size == 0 or np.any(np.diff(lsf) <= 0):
        raise ValueError("A(z) must be minimum phase (its LSFs were not found interlaced)")
    return lsf


def _predictor(a):
    a = _vector(a, "a")
    if a.size < 2 or a[0] != 1.0:
        raise ValueError(f"a must be [1, a_1, ..., a_p] with p >= 1, got {a[:3]}...")
    return a


@njit(cache=True)
def _product_of_sections(lsf, first, last_root):
    """prod over lsf[first::2] of (1 - 2 cos(w) z^-1 + z^-2), times (1 - last_root z^-1)."""
    poly = np.zeros(lsf.size + 2)
    poly[0] = 1.0
    degree = 0
    for i in range(first, lsf.size, 2):
        c = -2.0 * np.cos(lsf[i])
        for j in range(degree + 2, 1, -1):
            poly[j] += c * poly[j - 1] + poly[j - 2]
        poly[1] += c * poly[0]
        degree += 2
    for j in range(degree + 1, 0, -1):
        poly[j] -= last_root * poly[j - 1]
    return poly


@njit(cache=True)
def _lsf_to_lpc_kernel(lsf):
    f1 = _product_of_sections(lsf, 0, -1.0)   # F1(z), trivial root z = -1
    f2 = _product_of_sections(lsf, 1, 1.0)    # F2(z), trivial root z = +1
    return 0.5 * (f1[:lsf.size + 1] + f2[:lsf.size + 1])


def lsf_to_lpc(lsf):
    """A(z) = (F1(z) + F2(z)) / 2 from its line spectral frequencies.

    F1(z) = (1 + z^-1) prod_{i even} (1 - 2 cos(w_i) z^-1 + z^-2) and
    F2(z) = (1 - z^-1) prod_{i odd} (1 - 2 cos(w_i) z^-1 + z^-2).

    Parameters
    ----------
    lsf : array_like, shape (p,)
        Radians, p even; ascending values in (0, pi) give a minimum-phase A(z).

    Returns
    -------
    a : ndarray, shape (p + 1,)
        a[0] = 1.
    """
    lsf = _vector(lsf, "lsf")
    if lsf.size == 0 or lsf.size % 2:
        raise ValueError(f"lsf must have an even, positive length, got {lsf.size}")
    return _lsf_to_lpc_kernel(lsf)


@njit(cache=True)
def _stabilize_kernel(lsf, min_gap):
    out = np.sort(lsf)
    floor = min_gap
    for i in range(out.size):
        out[i] = max(out[i], floor)
        floor = out[i] + min_gap
    ceiling = np.pi - min_gap
    for i in range(out.size - 1, -1, -1):
        out[i] = min(out[i], ceiling)
        ceiling = out[i] - min_gap
    return out


def stabilize_lsf(lsf, min_gap_rad):
    """Sort LSFs and push them apart to at least ``min_gap_rad``, and that far from 0 and pi.

    A forward pass raises each LSF to its predecessor + gap (the first to the gap), as AMR-WB's
    Reorder_isf (TS 26.190 sec. 5.2.5); a backward pass lowers each to its successor - gap (the last
    to pi - gap). LSFs that already satisfy the constraints are returned unchanged.

    Parameters
    ----------
    lsf : array_like, shape (p,)
        Radians.
    min_gap_rad : float
        Minimum spacing, 0 <= min_gap_rad <= pi / (p + 1).

    Returns
    -------
    ndarray, shape (p,)
    """
    lsf = _vector(lsf, "lsf")
    if not 0.0 <= min_gap_rad <= np.pi / (lsf.size + 1):
        raise ValueError(f"min_gap_rad must be in [0, pi / {lsf.size + 1}], got {min_gap_rad}")
    return _stabilize_kernel(lsf, float(min_gap_rad))


def lpc_envelope(a, gain, n_bins=320):
    """Magnitude |gain / A(e^{j omega_k})| at the MDCT bin centres omega_k = pi (k + 1/2) / n_bins.

    A(e^{j omega_k}) = sum_i a_i e^{-j 2 pi (2k + 1) i / (4 n_bins)} is bin 2k + 1 of the
    4 n_bins-point DFT of a (1280 points for 320 bins).

    Parameters
    ----------
    a : array_like, shape (..., p + 1)
        Predictor(s), p < 4 n_bins.
    gain : float or array_like, shape (...)
        Gain of each predictor, e.g. sqrt(prediction_error).
    n_bins : int

    Returns
    -------
    envelope : ndarray, shape (..., n_bins)
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0 or not 2 <= a.shape[-1] <= 4 * n_bins:
        raise ValueError(f"a must have shape (..., p + 1) with 1 <= p < {4 * n_bins}, "
                         f"got {a.shape}")
    response = np.fft.rfft(a, n=4 * n_bins, axis=-1)[..., 1:2 * n_bins:2]
    return np.abs(np.asarray(gain, dtype=np.float64))[..., None] / np.abs(response)


def bandwidth_expand(a, gamma):
    """Weighted predictor A(z / gamma): a_i gamma^i, which moves the poles towards the origin.

    Parameters
    ----------
    a : array_like, shape (..., p + 1)
    gamma : float
        0 < gamma <= 1 (0.92 for the AMR-WB/EVS weighting filter).

    Returns
    -------
    ndarray, shape (..., p + 1)
    """
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"gamma must be in (0, 1], got {gamma}")
    a = np.asarray(a, dtype=np.float64)
    return a * gamma ** np.arange(a.shape[-1])
