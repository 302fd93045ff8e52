"""Decoder post-filter: long-term (pitch) and short-term (formant) filters; zero bits, no delay.

The classical post-filter of CELP decoders, after ITU-T G.729 sec. 4.2 (long-term filter,
short-term filter, tilt compensation, adaptive gain control, in that order), with the long-term
filter of CELT (RFC 6716 sec. 4.3.7.1: an IIR comb with three low-pass taps, cross-faded when its
parameters change).  Everything runs per sub-frame of ``SUBFRAME`` = 80 samples (5 ms at 16 kHz):

1. pitch estimate on the decoded signal x itself, the lag T in [MIN_LAG, MAX_LAG] maximizing
   the normalized correlation over the last ``PITCH_WINDOW`` samples (the sub-frame and the ones
   before it, nothing after it: no added delay)

       rho(T) = sum x[n] x[n-T] / sqrt(sum x[n]^2 sum x[n-T]^2),                           (P1)

   preferring T / k (k = 2, 3) when it correlates almost as well (against octave errors);
   where the core coded a lag T_c for the frame (its pitch filter on), T maximizes rho(T) only
   within ``LAG_RADIUS`` of T_c (the coded lag holds for 20 ms, the sub-frame's pitch drifts);
2. pitch post-filter, an IIR comb on the output u, taps h = (1/4, 1/2, 1/4) (CELT's low-pass
   taps: harmonics below a few kHz are enhanced, the top band is left alone)

       u[n] = x[n] + g sum_{k=-1..1} h_k u[n - T + k],  g = g_max max(0, rho)^2,            (P2)

   the previous sub-frame's (T, g) faded out and the new one faded in over the sub-frame with
   f[n] = sin^2(pi (n + 1/2) / (2 L)) (CELT's comb-filter cross-fade);
3. formant post-filter from the predictor A(z) of the decoded envelope (G.729 sec. 4.2.2-4.2.3)

       H_f(z) = A(z / gamma_n) / A(z / gamma_d),                                            (F1)
       H_t(z) = 1 + mu z^-1,  mu = -gamma_t r_h(1) / r_h(0) when r_h(1) > 0, else 0,        (F2)

   r_h the autocorrelation of the first ``IMPULSE_LENGTH`` samples of the impulse response of
   H_f: the tilt that H_f adds is taken back; the coefficients switch per sub-frame with
   continuous filter state (AMR-WB, G.729);
4. adaptive gain control (G.729 sec. 4.2.4): per sub-frame G = sqrt(E_x / E_y), smoothed per
   sample

       g[n] = alpha g[n-1] + (1 - alpha) G,  out[n] = g[n] y[n],  alpha = 0.85,            (G1)

   so the output has the decoded signal's energy.

The pitch search (P1) and the comb (P2) are those of ``dsp.pitch`` (its (P1), (P3) and (P5)),
which the pitch filters of the TCX frame share.

:class:`PostFilter` processes any number of whole sub-frames per call and gives the same floats
for any such chunking as one call on the whole signal (:func:`postfilter`).
"""
import numpy as np
from numba import njit

from .pitch import (COMB_TAPS, MAX_LAG, MIN_LAG, OCTAVE_TOLERANCE, comb_kernel, pitch_kernel,
                    refine_lag)

SUBFRAME = 80                  # 5 ms at 16 kHz, the sub-frame of G.729 and AMR-WB's post-filters
PITCH_WINDOW = 160             # samples of the correlation (P1): the sub-frame and 80 before
HISTORY = PITCH_WINDOW + MAX_LAG + 1
IMPULSE_LENGTH = 22            # samples of the impulse response for the tilt (G.729 sec. 4.2.3)
AGC_ALPHA = 0.85               # alpha of (G1), G.729 sec. 4.2.4
GAMMA_NUM = 0.75               # gamma_n of (F1); G.729 has 0.55 for narrowband LPC
GAMMA_DEN = 0.9                # gamma_d of (F1); G.729 has 0.7 (too flat for order-16 WB LPC)
GAMMA_TILT = 0.8               # gamma_t of (F2), G.729
LAG_RADIUS = 8                 # samples around a coded lag that step 1 searches


@njit(cache=True)
def pole_zero_kernel(x, numerator, denominator, x_state, y_state):
    """y = (numerator / denominator) x in direct form, states updated in place.

    numerator has q + 1 taps (x_state: the last q inputs, newest first), denominator is
    A(z) with a[0] = 1 and p + 1 taps (y_state: the last p outputs, newest first).
    """
    y = np.empty(x.size)
    q = numerator.size - 1
    p = denominator.size - 1
    for n in range(x.size):
        acc = numerator[0] * x[n]
        for i in range(q):
            acc += numerator[i + 1] * x_state[i]
        for i in range(p):
            acc -= denominator[i + 1] * y_state[i]
        for i in range(q - 1, 0, -1):
            x_state[i] = x_state[i - 1]
        if q > 0:
            x_state[0] = x[n]
        for i in range(p - 1, 0, -1):
            y_state[i] = y_state[i - 1]
        if p > 0:
            y_state[0] = acc
        y[n] = acc
    return y


@njit(cache=True)
def gain_control_kernel(reference, y, previous_gain, alpha):
    """(G1) for one sub-frame: y scaled towards the energy of ``reference``; (out, last gain)."""
    e_ref = 0.0
    e_y = 0.0
    for n in range(y.size):
        e_ref += reference[n] * reference[n]
        e_y += y[n] * y[n]
    target = np.sqrt(e_ref / e_y) if e_y > 0.0 else 1.0
    out = np.empty(y.size)
    gain = previous_gain
    for n in range(y.size):
        gain = alpha * gain + (1.0 - alpha) * target
        out[n] = gain * y[n]
    return out, gain


def formant_filter(a, gamma_num=GAMMA_NUM, gamma_den=GAMMA_DEN, gamma_tilt=GAMMA_TILT):
    """Numerator and denominator of H_f(z) H_t(z), (F1) and (F2).

    Parameters
    ----------
    a : ndarray, shape (p + 1,)
        Predictor A(z), a[0] = 1, minimum phase.
    gamma_num, gamma_den : float
        gamma_n <= gamma_d <= 1 (0.55, 0.7 in G.729 for narrowband; 0.75, 0.9 here for the
        wideband order-16 predictor); gamma_n = gamma_d makes H_f = 1.
    gamma_tilt : float
        gamma_t >= 0 (0.8 in G.729).

    Returns
    -------
    numerator : ndarray, shape (p + 2,)
        A(z / gamma_n) (1 + mu z^-1).
    denominator : ndarray, shape (p + 1,)
        A(z / gamma_d).
    """
    powers = np.arange(a.size)
    numerator = a * gamma_num ** powers
    denominator = a * gamma_den ** powers
    impulse = np.zeros(IMPULSE_LENGTH)
    impulse[0] = 1.0
    h = pole_zero_kernel(impulse, numerator, denominator, np.zeros(a.size - 1),
                         np.zeros(a.size - 1))
    r0, r1 = np.dot(h, h), np.dot(h[:-1], h[1:])
    mu = -gamma_tilt * r1 / r0 if r1 > 0.0 else 0.0
    return np.convolve(numerator, [1.0, mu]), denominator


class PostFilter:
    """Streaming post-filter, steps 1-4 of the module docstring.

    Parameters
    ----------
    order : int
        p, the order of the predictors passed to :meth:`push`.
    pitch_gain : float
        g_max of (P2), 0 <= g_max < 1 (0: no pitch post-filter).
    gamma_num, gamma_den, gamma_tilt : float
        See :func:`formant_filter` (gamma_num = gamma_den: no formant post-filter).
    """

    def __init__(self, order, pitch_gain=0.5, gamma_num=GAMMA_NUM, gamma_den=GAMMA_DEN,
                 gamma_tilt=GAMMA_TILT):
        if not 0.0 <= pitch_gain < 1.0:
            raise ValueError(f"pitch_gain must be in [0, 1), got {pitch_gain}")
        if not 0.0 < gamma_num <= gamma_den <= 1.0:
            raise ValueError(f"need 0 < gamma_num <= gamma_den <= 1, got {gamma_num}, {gamma_den}")
        self.pitch_gain = pitch_gain
        self.gammas = (gamma_num, gamma_den, gamma_tilt)
        self.x_history = np.zeros(HISTORY)
        self.u_history = np.zeros(MAX_LAG + 2)
        self.lag, self.gain = MIN_LAG, 0.0
        self.x_state = np.zeros(order + 1)
        self.y_state = np.zeros(order)
        self.agc_gain = 1.0

    def push(self, samples, predictors, coded_lag=0):
        """Filter whole sub-frames.

        Parameters
        ----------
        samples : array_like, shape (SUBFRAME k,)
            Decoded signal.
        predictors : array_like, shape (k, p + 1), or None
            A(z) of each sub-frame; None: no formant filter (H_f = H_t = 1).
        coded_lag : int, optional
            The lag the core coded for these samples (MIN_LAG <= T_c <= MAX_LAG): step 1
            searches only around it; 0 where it coded none: step 1 searches every lag.

        Returns
        -------
        ndarray, shape (SUBFRAME k,)
        """
        samples = np.asarray(samples, dtype=np.float64)
        if predictors is None:
            predictors = [None] * (samples.size // SUBFRAME)
        if samples.ndim != 1 or samples.size != SUBFRAME * len(predictors):
            raise ValueError(f"need {SUBFRAME} samples per predictor, got {samples.shape} "
                             f"samples and {len(predictors)} predictors")
        blocks = [self._subframe(x, a, coded_lag)
                  for x, a in zip(samples.reshape(-1, SUBFRAME), predictors)]
        return np.concatenate(blocks) if blocks else np.zeros(0)

    def _subframe(self, x, a, coded_lag):
        """Steps 1-4 on one sub-frame."""
        self.x_history = np.concatenate((self.x_history[SUBFRAME:], x))
        if coded_lag:
            lag, rho = refine_lag(self.x_history, HISTORY, coded_lag, LAG_RADIUS, PITCH_WINDOW)
        else:
            lag, rho = pitch_kernel(self.x_history, HISTORY, MIN_LAG, MAX_LAG, PITCH_WINDOW,
                                    OCTAVE_TOLERANCE)
        gain = self.pitch_gain * max(0.0, rho) ** 2
        u = comb_kernel(x, self.u_history, 0, SUBFRAME, self.lag, self.gain, lag, gain,
                        COMB_TAPS, True)
        self.u_history = np.concatenate((self.u_history[SUBFRAME:], u))
        self.lag, self.gain = lag, gain
        y = u if a is None else self._formant(u, np.asarray(a, dtype=np.float64))
        out, self.agc_gain = gain_control_kernel(x, y, self.agc_gain, AGC_ALPHA)
        return out

    def _formant(self, u, a):
        """Step 3 on one sub-frame."""
        numerator, denominator = formant_filter(a, *self.gammas)
        return pole_zero_kernel(u, numerator, denominator, self.x_state, self.y_state)


def postfilter(x, predictors, **kwargs):
    """:class:`PostFilter` on a whole signal (``kwargs``: its parameters)."""
    predictors = np.asarray(predictors, dtype=np.float64)
    return PostFilter(predictors.shape[-1] - 1, **kwargs).push(x, predictors)
