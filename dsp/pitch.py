"""Pitch search and comb filters: the long-term (pitch) tools shared by the pitch filters of the
TCX frame (``hybridcodec.components.pitch_filter``) and the decoder post-filter (``dsp.postfilter``).

1. pitch estimate, the lag T in [min_lag, max_lag] maximizing the normalized correlation over
   the ``length`` samples before x[end] (nothing after it)

       rho(T) = sum x[n] x[n-T] / sqrt(sum x[n]^2 sum x[n-T]^2),                           (P1)

   preferring T / k (k = 2, 3) when it correlates almost as well (against octave errors);
2. the comb of CELT (RFC 6716 sec. 4.3.7.1), three low-pass taps h = (1/4, 1/2, 1/4) around
   the lag (harmonics below a few kHz are enhanced, the top band is left alone),

       c[n] = sum_{k=-1..1} h_k v[n - T + k],                                                (P2)

   as an IIR comb on its own output (the post-filter, v = u)

       u[n] = x[n] + g c[n],                                                                  (P3)

   or as the FIR comb on its input (CELT's pre-filter, ``run_prefilter`` of
   ``celt/celt_encoder.c``, v = x), whose inverse is (P3) with the same (T, g)

       x'[n] = x[n] - g c[n];                                                                 (P4)

3. the cross-fade when (T, g) change (CELT's ``comb_filter``): over the first L samples of a
   block the old parameters' term fades out and the new one's in, with

       f[i] = sin^2(pi (i + 1/2) / (2 L)),  g c[n] -> (1 - f) g_old c_old[n] + f g_new c_new[n],  (P5)

   i the sample's position in its block; (P4) and (P3) with the same fades invert each other.
"""
import numpy as np
from numba import njit

MIN_LAG = 32                   # 500 Hz
MAX_LAG = 288                  # 55.6 Hz
COMB_TAPS = np.array([0.25, 0.5, 0.25])   # h_{-1}, h_0, h_1 of (P2)
OCTAVE_TOLERANCE = 0.9         # T / k wins when rho(T / k) >= 0.9 rho(T)
RUNNING_SUM_GUARD = 1e-6       # sum x[n-T]^2 is summed again below this share of its largest


@njit(cache=True)
def cross_correlations(x, start, end, min_lag, max_lag):
    """sum x[n] x[n-T] over n = start..end-1 for T = min_lag..max_lag (index T of the result).

    The loop runs over n outside and over the lags inside, so each lag's sum still adds its
    terms in the order of n (the same floats as one loop per lag) while the inner loop is
    element-wise over lags, which the compiler vectorizes (about 3 × faster); it reads the past
    from a time-reversed copy, forwards in memory (1.5 × faster again), and takes four n per
    pass, so that the sums go through memory a quarter as often (1.4 × faster again).
    """
    n_lags = max_lag - min_lag + 1
    sums = np.zeros(n_lags)
    reversed_x = x[start - max_lag:end - min_lag][::-1].copy()   # [m] = x[end - min_lag - 1 - m]
    n = start
    while n + 4 <= end:
        a, b, c, d = x[n], x[n + 1], x[n + 2], x[n + 3]
        first = end - 1 - n
        past_a = reversed_x[first:first + n_lags]          # past_a[i] = x[n - min_lag - i]
        past_b = reversed_x[first - 1:first - 1 + n_lags]
        past_c = reversed_x[first - 2:first - 2 + n_lags]
        past_d = reversed_x[first - 3:first - 3 + n_lags]
        for i in range(n_lags):
            sums[i] = (((sums[i] + a * past_a[i]) + b * past_b[i]) + c * past_c[i]) + d * past_d[i]
        n += 4
    for m in range(n, end):                                # the last end - n < 4 terms
        first = end - 1 - m
        past = reversed_x[first:first + n_lags]
        for i in range(n_lags):
            sums[i] += x[m] * past[i]
    xy = np.zeros(max_lag + 1)
    xy[min_lag:] = sums
    return xy


@njit(cache=True)
def energy(x, start, end):
    """sum x[n]^2 over n = start..end-1."""
    total = 0.0
    for n in range(start, end):
        total += x[n] * x[n]
    return total


@njit(cache=True)
def _correlations(x, end, min_lag, max_lag, length):
    """rho(T) of (P1) for T = min_lag..max_lag over x[end - length:end]."""
    return normalized_correlations(x, end, min_lag, max_lag, length,
                                   cross_correlations(x, end - length, end, min_lag, max_lag))


@njit(cache=True, error_model="numpy")
def normalized_correlations(x, end, min_lag, max_lag, length, xy):
    """rho(T) of (P1) over x[end - length:end] from its numerators xy[T] = sum x[n] x[n-T];
    sum x[n-T]^2 slides along a running sum, sum x[n]^2 is computed once.

    The running sum keeps the rounding errors of every term it has added and removed, about
    1e-16 of its largest value each; where it falls below RUNNING_SUM_GUARD of that (the window
    moved from speech into near-silence) the errors could dominate it, and rho(T) could leave
    [-1, 1], so it is summed again directly there.  The divisions run in a loop of their own,
    which the compiler vectorizes once a zero divisor needs no Python exception
    (``error_model="numpy"``; none occurs, the guard sees to it): three times faster, the same
    floats.
    """
    start = end - length
    xx = energy(x, start, end)
    yy = np.empty(max_lag + 1)
    yy[min_lag] = largest = energy(x, start - min_lag, end - min_lag)
    for lag in range(min_lag + 1, max_lag + 1):     # the window moves one sample back
        yy[lag] = yy[lag - 1] + (x[start - lag] * x[start - lag] - x[end - lag] * x[end - lag])
        if yy[lag] < RUNNING_SUM_GUARD * largest:
            yy[lag] = largest = energy(x, start - lag, end - lag)
        largest = max(largest, yy[lag])
    rho = np.zeros(max_lag + 1)
    for lag in range(min_lag, max_lag + 1):
        product = xx * yy[lag]   # both > 0 can still underflow to a zero product
        rho[lag] = xy[lag] / np.sqrt(product) if product > 0.0 else 0.0
    return rho


@njit(cache=True)
def refine_lag(x, end, centre, radius, length):
    """(T, rho(T)) of (P1) over x[end - length:end] for T within ``radius`` of ``centre``, in
    [MIN_LAG, MAX_LAG]: a lag known to the decoder (a coded one) refined where it drifts."""
    low, high = max(MIN_LAG, centre - radius), min(MAX_LAG, centre + radius)
    rho = _correlations(x, end, low, high, length)
    lag = low + np.argmax(rho[low:high + 1])
    return lag, rho[lag]


@njit(cache=True)
def pitch_kernel(x, end, min_lag, max_lag, length, tolerance):
    """(T, rho(T)) of step 1 for the window ending at x[end] (end - length - max_lag >= 0)."""
    return octave_checked_lag(_correlations(x, end, min_lag, max_lag, length), min_lag,
                              tolerance)


@njit(cache=True)
def octave_checked_lag(rho, min_lag, tolerance):
    """(T, rho(T)) of step 1 from rho (index T): the best lag, or T / k when it correlates
    almost as well."""
    best_lag = min_lag + np.argmax(rho[min_lag:])
    for k in (3, 2):
        lag = int(round(best_lag / k))
        if lag >= min_lag and rho[lag] >= tolerance * rho[best_lag]:
            return lag, rho[lag]
    return best_lag, rho[best_lag]


@njit(cache=True)
def comb_kernel(x, history, offset, fade_length, old_lag, old_gain, new_lag, new_gain, taps,
                recursive):
    """(P3) (``recursive``) or (P4) on x with the cross-fade (P5).

    ``history``: the >= max lag + 2 samples of v before x (past outputs for (P3), past inputs
    for (P4)); ``offset``: the position i of x[0] in its block; ``fade_length``: L.
    """
    h = history.size
    v = np.concatenate((history, x))
    out = np.empty(x.size)
    for n in range(x.size):
        i = offset + n
        fade = np.sin(np.pi * (i + 0.5) / (2 * fade_length)) ** 2 if i < fade_length else 1.0
        j = h + n
        old = 0.0
        new = 0.0
        for k in range(3):
            old += taps[k] * v[j - old_lag + 1 - k]
            new += taps[k] * v[j - new_lag + 1 - k]
        if recursive:
            out[n] = x[n] + (1.0 - fade) * old_gain * old + fade * new_gain * new
            v[j] = out[n]
        else:
            out[n] = x[n] - (1.0 - fade) * old_gain * old - fade * new_gain * new
    return out
