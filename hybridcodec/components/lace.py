"""The learned post-filter ``lace`` (``postfilter`` slot): a tiny causal network steers LACE's
comb filter and adaptive FIR (``dsp.lace``), NumPy inference only.

Per sub-frame s (80 samples, 5 ms) the decoder already has, and the network reads
(``FEATURES`` = 38 numbers):

    e_s  = log ŝ averaged over ``N_BANDS`` = 16 bands of 20 bins (500 Hz),
    q_s  = log min(δ(f), STEP_CAP) averaged over the same bands, δ(f) the steps of the rate
           loop (inf where a bin is not coded, which counts as STEP_CAP),
    i_s, n_s = the rate loop's target index and noise-level index,
           these four interpolated between frames as the classical post-filter does
           (``subframe_weights``),
    r    = log2(bitrate / 16 kbps),
    rho_s, T_s / MAX_LAG  = the decoder-side pitch (P1) of ``dsp.postfilter`` (causal:
           the sub-frame and the samples before it),
    E_s  = log10 of the decoded sub-frame's mean power;                                       (N1)

q, i and n tell the network how coarsely the frame was quantized, band by band, and how much of
it is noise filling (LACE reads the codec's own quantizer parameters likewise).  Trained 1600
steps with and without them, PESQ-WB + ViSQOL on the 12 validation clips averaged over 9.6 /
13.2 / 24.4 kbps was higher with them at each of the 8 checkpoints (best 7.167 against 7.106;
none 6.900); a wider network (48 instead of 32, with them) gave no more (7.170).

normalized by the training set's mean and deviation, they go through

    u_s = tanh(W_e z_s + b_e),  h_s = GRU(u_s, h_{s-1})  (torch.nn.GRU's equations),
    o_s = W_o h_s + b_o  (21 outputs),                                                        (N2)

and o_s gives the filters of (L1)-(L2):

    b_s = sigmoid(o_0) softmax(o_1..o_3),
    a_s = exp(clip(o_20, GAIN_LOG_RANGE)) kappa_s / ||kappa_s||,  kappa_s = delta + o_4..o_19. (N3)

The output layer starts near zero, so an untrained network is nearly the identity.  Weights:
``hybridcodec/data/lace-<digest>.npz``, written by ``hybridcodec train postfilter``
(``hybridcodec.training.postfilter_training``, the torch model in ``learned.postfilter_net``).
"""
from functools import cached_property
from typing import Dict, Optional

import numpy as np

from numba import njit

from hybridcodec.dsp.lace import (ADACONV_TAPS, COMB_HISTORY, crossfade_window, identity_filters,
                                  lace_filter_kernel, subframe_pitch_kernel)
from hybridcodec.dsp.postfilter import HISTORY, MAX_LAG, SUBFRAME

from ..core.registry import register
from ..parameters import digest, find_parameter_file, load_parameters
from .postfilter import rate_strength, subframe_weights

PARAMETER_STEM = "lace"
N_BANDS = 16
STEP_CAP = 16.0
"""q of (N1) counts a step δ(f) above this, or a bin not coded, as STEP_CAP: the largest steps
of the rate loop are about 15 (at 6 kbps)."""
FRAME_FEATURES = 2 * N_BANDS + 2      # e, q, i and n of (N1)
FEATURES = FRAME_FEATURES + 4
OUTPUTS = 1 + 3 + ADACONV_TAPS + 1
GAIN_LOG_RANGE = (-3.0, 1.0)
POWER_FLOOR = 1e-10
REFERENCE_BPS = 16000


NETWORK_ARRAYS = ("feature_mean", "feature_std", "embed_w", "embed_b", "gru_w_ih", "gru_b_ih",
                  "gru_w_hh", "gru_b_hh", "out_w", "out_b")
"""The weights of (N1)'s normalization and of (N2), in the order ``network_kernel`` takes them."""


@njit(cache=True)
def band_log_means(values, cap):
    """log min(v, cap) averaged over N_BANDS equal bands: e of (N1) from ŝ (cap inf), q from
    δ(f); a loop, which on 320 bins takes about half the time of NumPy's log, reshape and mean
    (5 against 9 µs a call)."""
    width = values.size // N_BANDS
    bands = np.empty(N_BANDS)
    for b in range(N_BANDS):
        total = 0.0
        for i in range(b * width, (b + 1) * width):
            total += np.log(min(values[i], cap))
        bands[b] = total / width
    return bands


NO_CHOICE = np.concatenate((np.full(N_BANDS, np.log(STEP_CAP)), np.zeros(2)))
"""q, i and n of (N1) for a frame without the rate loop's report: no bin coded."""


@njit(cache=True)
def frame_features_kernel(envelope, steps, target_index, noise_level_index):
    """e, q, i and n of (N1) in one compiled call: about 0.6 of the time of assembling them in
    Python from two calls of ``band_log_means`` (7 against 11 µs a frame, timed in one
    process), the same floats."""
    features = np.empty(FRAME_FEATURES)
    features[:N_BANDS] = band_log_means(envelope, np.inf)
    features[N_BANDS:2 * N_BANDS] = band_log_means(steps, STEP_CAP)
    features[2 * N_BANDS] = target_index
    features[2 * N_BANDS + 1] = noise_level_index
    return features


def frame_features(envelope: np.ndarray, choice) -> np.ndarray:
    """e, q, i and n of (N1) of one decoded frame: its envelope ŝ and the spectrum quantizer's
    report (``SpectrumReport``, or None)."""
    if choice is None:
        return np.concatenate((band_log_means(envelope, np.inf), NO_CHOICE))
    return frame_features_kernel(envelope, choice.steps, choice.target_index,
                                 choice.noise_level_index)


@njit(cache=True)
def features_kernel(xe, previous_frame, frame, rate, numerators):
    """(N1) of the k sub-frames at the end of xe (HISTORY decoded samples before them first),
    from the frame features (e, q, i, n) of the frame before and of the block's frame and the
    pitch numerators of the sub-frame before the block (``subframe_pitch_kernel``): features
    (k, FEATURES), lags T_s (k,) and the numerators of the block's last sub-frame."""
    k = (xe.size - HISTORY) // SUBFRAME
    lags, rho, power, numerators = subframe_pitch_kernel(xe, HISTORY + SUBFRAME, k, SUBFRAME,
                                                         numerators)
    w = subframe_weights(k)
    features = np.empty((k, FEATURES))
    for s in range(k):
        features[s, :FRAME_FEATURES] = (1.0 - w[s]) * previous_frame + w[s] * frame
        features[s, FRAME_FEATURES:] = (rate, rho[s], lags[s] / MAX_LAG,
                                        np.log10(power[s] + POWER_FLOOR))
    return features, lags, numerators


class LaceFeatures:
    """(N1) for a stream of decoder blocks, and the lag T_s of each sub-frame."""

    def __init__(self, bitrate_bps: int):
        self.rate = np.log2(bitrate_bps / REFERENCE_BPS)
        self.history = np.zeros(HISTORY)
        self.frame: Optional[np.ndarray] = None
        self.numerators = np.zeros(MAX_LAG + 1)    # of the zero history's last sub-frame

    def extend(self, samples: np.ndarray, envelope: Optional[np.ndarray], choice=None):
        """The block with the HISTORY decoded samples before it, and the frame features (e, q,
        i, n) of the frame before (``frame`` becomes the block's frame's: from its envelope and
        the rate loop's report ``choice``, or the frame before's when it was concealed)."""
        previous = self.frame
        if envelope is not None:
            self.frame = frame_features(envelope, choice)
        elif previous is None:       # concealed before anything was decoded: a flat envelope
            self.frame = np.concatenate((np.zeros(N_BANDS), NO_CHOICE))
        xe = np.concatenate((self.history, samples))
        self.history = xe[-HISTORY:]
        return xe, self.frame if previous is None else previous

    def push(self, samples: np.ndarray, envelope: Optional[np.ndarray], choice=None):
        """Features (k, FEATURES) and lags (k,) of one block of k sub-frames."""
        xe, previous = self.extend(samples, envelope, choice)
        features, lags, self.numerators = features_kernel(xe, previous, self.frame, self.rate,
                                                          self.numerators)
        return features, lags


@njit(cache=True)
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@njit(cache=True)
def filter_coefficients(outputs, strength=1.0):
    """(N3): comb taps b (k, 3) and FIR a (k, J) from the network outputs o (k, OUTPUTS),
    weakened towards the identity by ``strength`` σ < 1 (``LacePostfilter``)."""
    k = outputs.shape[0]
    comb = np.empty((k, 3))
    kernels = np.empty((k, ADACONV_TAPS))
    for s in range(k):
        logits = np.exp(outputs[s, 1:4] - np.max(outputs[s, 1:4]))
        comb[s] = strength * sigmoid(outputs[s, 0]) * logits / np.sum(logits)
        kernel = outputs[s, 4:4 + ADACONV_TAPS].copy()
        kernel[0] += 1.0
        gain = np.exp(min(max(outputs[s, -1], GAIN_LOG_RANGE[0]), GAIN_LOG_RANGE[1]))
        kernels[s] = strength * gain * kernel / np.sqrt(np.sum(kernel * kernel))
        kernels[s, 0] += 1.0 - strength
    return comb, kernels


@njit(cache=True)
def affine(w_t, b, v):
    """w v + b from w's transpose w_t (n, m), b (m,) and v (n,): the inner loop runs along
    w_t's rows, which the compiler vectorizes."""
    out = b.copy()
    for j in range(w_t.shape[0]):
        for i in range(w_t.shape[1]):
            out[i] += w_t[j, i] * v[j]
    return out


@njit(cache=True)
def network_kernel(features, weights, h):
    """(N1)'s normalization and (N2) over the rows of ``features`` from GRU state h
    (torch.nn.GRU's equations); ``weights`` as named by NETWORK_ARRAYS, matrices transposed.
    Returns the outputs o (k, OUTPUTS) and the last state."""
    mean, std, embed_w, embed_b, w_ih, b_ih, w_hh, b_hh, out_w, out_b = weights
    n = h.size
    outputs = np.empty((features.shape[0], out_b.size))
    for s in range(features.shape[0]):
        u = np.tanh(affine(embed_w, embed_b, (features[s] - mean) / std))
        gi = affine(w_ih, b_ih, u)
        gh = affine(w_hh, b_hh, h)
        reset = sigmoid(gi[:n] + gh[:n])
        update = sigmoid(gi[n:2 * n] + gh[n:2 * n])
        candidate = np.tanh(gi[2 * n:] + reset * gh[2 * n:])
        h = (1.0 - update) * candidate + update * h
        outputs[s] = affine(out_w, out_b, h)
    return outputs, h


class LaceNetwork:
    """The weights of (N2) as ``network_kernel`` reads them, from ``weights`` as
    ``learned.postfilter_net`` exports them."""

    def __init__(self, weights: Dict[str, np.ndarray]):
        self.arrays = tuple(np.ascontiguousarray(weights[name].T, dtype=np.float64)
                            for name in NETWORK_ARRAYS)     # .T: the matrices for ``affine``
        self.hidden = weights["gru_w_hh"].shape[1]


@register("postfilter", "lace")
class LacePostfilter:
    """LACE-style learned post-filter (module docstring); zero bits, zero added delay.

    Below ``full_strength_bps`` the filters act as the network gives them; above, they are
    weakened towards the identity, b → σ b and a → σ a + (1 − σ) delta, with the strength σ
    falling linearly to ``high_rate_strength`` at ``high_rate_bps`` (``rate_strength``), where
    the core leaves little to fix.  Defaults from 24 voice-balanced validation clips with
    lace-721e60a121385a24 (PESQ-WB / ViSQOL at σ = 1, 0.75, 0.5, 0.25, 0 = none):

    ==========  =============  =============  =============  =============  =============
    kbit/s      σ = 1          0.75           0.5            0.25           0
    ==========  =============  =============  =============  =============  =============
    24.4        4.147 / 4.062  4.145 / 4.056  4.140 / 4.052  4.133 / 4.028  4.123 / 4.007
    32          4.313 / 4.201  4.313 / 4.211  4.311 / 4.206  4.309 / 4.196  4.306 / 4.182
    48          4.465 / 4.392  4.466 / 4.397  4.466 / 4.401  4.467 / 4.403  4.467 / 4.403
    ==========  =============  =============  =============  =============  =============

    so σ = 1 up to 24.4 kbps, 0.76 at 32 and 0.25 at 48.  The schedule before, chosen for the
    first weights, went from 1 at 16.4 kbps to 0.25 at 32 (24.4 kbps: σ = 0.62).  The weights of
    format 9, lace-5b65346ff16e597d on the core with γ1 = 0.92, keep it; on the same clips:

    ==========  =============  =============  =============  =============  =============
    kbit/s      σ = 1          0.75           0.5            0.25           0
    ==========  =============  =============  =============  =============  =============
    24.4        4.197 / 4.135  4.195 / 4.135  4.192 / 4.130  4.189 / 4.120  4.184 / 4.100
    32          4.354 / 4.292  4.353 / 4.294  4.352 / 4.296  4.350 / 4.294  4.348 / 4.288
    48          4.488 / 4.403  4.488 / 4.404  4.488 / 4.405  4.488 / 4.408  4.488 / 4.406
    ==========  =============  =============  =============  =============  =============

    (at 32 kbps σ = 0.5-1 lie within 0.002 of each other in the sum).  Format 10's weights,
    lace-d86ee29b48941352, retrained when the rate loop began to fill the frame to the byte,
    keep the schedule without a new search.
    """

    def __init__(self, full_strength_bps: int = 24400, high_rate_bps: int = 48000,
                 high_rate_strength: float = 0.25):
        self.rates = (full_strength_bps, high_rate_bps, high_rate_strength)

    @cached_property
    def path(self):
        return find_parameter_file(PARAMETER_STEM)

    @cached_property
    def network(self) -> LaceNetwork:
        return LaceNetwork(load_parameters(self.path))

    def parameter_digests(self) -> tuple:
        """The shipped weights' digest (recorded in the header when a configuration uses it)."""
        return (digest(self.path),)

    def stream(self, bitrate_bps: int) -> "LaceStream":
        return LaceStream(self.network, bitrate_bps, rate_strength(bitrate_bps, *self.rates))


@njit(cache=True)
def lace_block_kernel(xe, previous_frame, frame, rate, numerators, weights, h, previous,
                      comb_history, fade, strength):
    """(N1)-(N3) and (L1)-(L3) on the block at the end of xe (``LaceFeatures.extend``), from the
    pitch numerators, GRU state h, the filters (T, b, a) of the sub-frame before and
    ``comb_history``.  Returns y, the new numerators and state, the last sub-frame's filters
    and the new comb history."""
    features, lags, numerators = features_kernel(xe, previous_frame, frame, rate, numerators)
    outputs, h = network_kernel(features, weights, h)
    comb, kernels = filter_coefficients(outputs, strength)
    lag, last_comb, last_kernel = previous
    all_lags = np.concatenate((np.array([lag]), lags))
    all_comb = np.concatenate((last_comb.reshape(1, -1), comb))
    all_kernels = np.concatenate((last_kernel.reshape(1, -1), kernels))
    y, c = lace_filter_kernel(xe[HISTORY:], xe[HISTORY - COMB_HISTORY:HISTORY], all_lags,
                              all_comb, all_kernels, comb_history, fade)
    return (y, numerators, h, (lags[-1], comb[-1], kernels[-1]),
            c[c.size - (ADACONV_TAPS - 1):])


class LaceStream:
    """One decoder's post-filter: features (N1), network (N2)-(N3), filters (L1)-(L3)."""

    def __init__(self, network: LaceNetwork, bitrate_bps: int, strength: float = 1.0):
        self.network = network
        self.strength = strength
        self.features = LaceFeatures(bitrate_bps)
        self.state = np.zeros(network.hidden)
        self.filters = identity_filters()
        self.comb_history = np.zeros(ADACONV_TAPS - 1)
        self.fade = crossfade_window()

    def push(self, samples: np.ndarray, envelope: Optional[np.ndarray], coded_lag: int = 0,
             choice=None) -> np.ndarray:
        """(N1)-(N3), (L1)-(L3) on one block; the network reads its own pitch search (N1), not
        ``coded_lag``, so that it runs alike on every core."""
        if samples.size % SUBFRAME or samples.size == 0:
            return samples          # not a decoder's block: left alone
        xe, previous_frame = self.features.extend(np.asarray(samples, dtype=np.float64),
                                                  envelope, choice)
        features = self.features
        y, features.numerators, self.state, self.filters, self.comb_history = lace_block_kernel(
            xe, previous_frame, features.frame, features.rate, features.numerators,
            self.network.arrays, self.state, self.filters, self.comb_history, self.fade,
            self.strength)
        return y
