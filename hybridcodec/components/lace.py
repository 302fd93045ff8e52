"""The learned post-filter ``lace`` (``postfilter`` slot): a tiny causal network steers LACE's
comb filter and adaptive FIR (``dsp.lace``), NumPy inference only.

Per sub-frame s (80 samples, 5 ms) the decoder already has, and the network reads
(``FEATURES`` = 20 numbers):

    e_s  = log ŝ averaged over ``N_BANDS`` = 16 bands of 20 bins (500 Hz), interpolated
           between frames as the classical post-filter does (``subframe_weights``),
    r    = log2(bitrate / 16 kbps),
    rho_s, T_s / MAX_LAG  = the decoder-side pitch (P1) of ``dsp.postfilter`` (causal:
           the sub-frame and the samples before it),
    E_s  = log10 of the decoded sub-frame's mean power;                                       (N1)

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
FEATURES = N_BANDS + 4
OUTPUTS = 1 + 3 + ADACONV_TAPS + 1
GAIN_LOG_RANGE = (-3.0, 1.0)
POWER_FLOOR = 1e-10
REFERENCE_BPS = 16000


def band_log_envelope(envelope: np.ndarray) -> np.ndarray:
    """log ŝ averaged over N_BANDS equal bands (e of (N1))."""
    return np.log(envelope).reshape(N_BANDS, -1).mean(axis=1)


class LaceFeatures:
    """(N1) for a stream of decoder blocks, and the lag T_s of each sub-frame."""

    def __init__(self, bitrate_bps: int):
        self.rate = np.log2(bitrate_bps / REFERENCE_BPS)
        self.history = np.zeros(HISTORY)
        self.bands: Optional[np.ndarray] = None

    def push(self, samples: np.ndarray, envelope: Optional[np.ndarray]):
        """Features (k, FEATURES), lags (k,) and the decoded samples before the block
        (HISTORY,) of one block of k sub-frames."""
        previous = self.bands
        if envelope is not None:
            self.bands = band_log_envelope(envelope)
        elif previous is None:       # concealed before anything was decoded: a flat envelope
            self.bands = np.zeros(N_BANDS)
        if previous is None:
            previous = self.bands
        k = samples.size // SUBFRAME
        w = subframe_weights(k)[:, None]
        history = self.history
        xe = np.concatenate((history, samples))
        lags, rho, power = subframe_pitch_kernel(xe, HISTORY + SUBFRAME, k, SUBFRAME)
        features = np.empty((k, FEATURES))
        features[:, :N_BANDS] = (1.0 - w) * previous + w * self.bands
        features[:, N_BANDS:] = np.stack((np.full(k, self.rate), rho, lags / MAX_LAG,
                                          np.log10(power + POWER_FLOOR)), axis=1)
        self.history = xe[-HISTORY:]
        return features, lags, history


@njit(cache=True)
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@njit(cache=True)
def filter_coefficients(outputs):
    """(N3): comb taps b (k, 3) and FIR a (k, J) from the network outputs o (k, OUTPUTS)."""
    k = outputs.shape[0]
    comb = np.empty((k, 3))
    kernels = np.empty((k, ADACONV_TAPS))
    for s in range(k):
        logits = np.exp(outputs[s, 1:4] - np.max(outputs[s, 1:4]))
        comb[s] = sigmoid(outputs[s, 0]) * logits / np.sum(logits)
        kernel = outputs[s, 4:4 + ADACONV_TAPS].copy()
        kernel[0] += 1.0
        gain = np.exp(min(max(outputs[s, -1], GAIN_LOG_RANGE[0]), GAIN_LOG_RANGE[1]))
        kernels[s] = gain * kernel / np.sqrt(np.sum(kernel * kernel))
    return comb, kernels


@njit(cache=True)
def gru_kernel(gi, w_hh, b_hh, h):
    """torch.nn.GRU's recurrence over the rows of gi = W_ih u + b_ih: states (k, n), from h."""
    n = h.size
    states = np.empty((gi.shape[0], n))
    for s in range(gi.shape[0]):
        gh = b_hh.copy()
        for i in range(3 * n):
            for j in range(n):
                gh[i] += w_hh[i, j] * h[j]
        reset = sigmoid(gi[s, :n] + gh[:n])
        update = sigmoid(gi[s, n:2 * n] + gh[n:2 * n])
        candidate = np.tanh(gi[s, 2 * n:] + reset * gh[2 * n:])
        h = (1.0 - update) * candidate + update * h
        states[s] = h
    return states


class LaceNetwork:
    """(N2); ``weights`` as ``learned.postfilter_net`` exports them."""

    def __init__(self, weights: Dict[str, np.ndarray]):
        self.w = {name: np.ascontiguousarray(value, dtype=np.float64)
                  for name, value in weights.items()}
        self.hidden = self.w["gru_w_hh"].shape[1]

    def run(self, features: np.ndarray, state: np.ndarray):
        """Outputs o (k, OUTPUTS) and the last GRU state h."""
        w = self.w
        z = (features - w["feature_mean"]) / w["feature_std"]
        gi = np.tanh(z @ w["embed_w"].T + w["embed_b"]) @ w["gru_w_ih"].T + w["gru_b_ih"]
        states = gru_kernel(gi, w["gru_w_hh"], w["gru_b_hh"], state)
        return states @ w["out_w"].T + w["out_b"], states[-1]


@register("postfilter", "lace")
class LacePostfilter:
    """LACE-style learned post-filter (module docstring); zero bits, zero added delay.

    Below ``full_strength_bps`` the filters act as the network gives them; above, they are
    weakened towards the identity, b → σ b and a → σ a + (1 − σ) delta, with the strength σ
    falling linearly to ``high_rate_strength`` at ``high_rate_bps`` (``rate_strength``), where
    the core leaves little to fix.  Defaults from validation clips, 4 at 24.4 kbps and 2 each at
    16.4 and 32 kbps (PESQ-WB / ViSQOL
    change against none at σ = 1, 0.75, 0.5, 0.25): 24.4 kbps +0.29 / −0.045, +0.25 / −0.014,
    +0.18 / −0.004, +0.10 / −0.005; 32 kbps +0.12 / −0.06, +0.10 / −0.04, +0.07 / −0.026,
    +0.04 / −0.004; at 16.4 kbps σ = 1 was best on both (+0.49 / +0.04).  Those were the first
    weights (trained on tcx-mixture); with the shipped ones, on 24 voice-balanced validation
    clips, the schedule against σ = 1: 24.4 kbps +0.079 / −0.004 against +0.089 / −0.004, 32 kbps
    +0.016 / −0.001 against +0.038 / −0.012.
    """

    def __init__(self, full_strength_bps: int = 16400, high_rate_bps: int = 32000,
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


class LaceStream:
    """One decoder's post-filter: features (N1), network (N2)-(N3), filters (L1)-(L3)."""

    def __init__(self, network: LaceNetwork, bitrate_bps: int, strength: float = 1.0):
        self.network = network
        self.strength = strength
        self.features = LaceFeatures(bitrate_bps)
        self.state = np.zeros(network.hidden)
        lag, comb, self.kernel_identity = identity_filters()
        self.lag, self.comb, self.kernel = lag, comb[None], self.kernel_identity[None]
        self.comb_history = np.zeros(ADACONV_TAPS - 1)
        self.fade = crossfade_window()

    def push(self, samples: np.ndarray, envelope: Optional[np.ndarray],
             coded_lag: int = 0) -> np.ndarray:
        """(N1)-(N3), (L1)-(L3) on one block; the network reads its own pitch search (N1), not
        ``coded_lag``, so that it runs alike on every core."""
        if samples.size % SUBFRAME or samples.size == 0:
            return samples          # not a decoder's block: left alone
        samples = np.asarray(samples, dtype=np.float64)
        features, lags, history = self.features.push(samples, envelope)
        outputs, self.state = self.network.run(features, self.state)
        comb, kernels = filter_coefficients(outputs)
        if self.strength < 1.0:
            kernels = self.strength * kernels + (1.0 - self.strength) * self.kernel_identity
            comb = self.strength * comb
        y, c = lace_filter_kernel(samples, history[-COMB_HISTORY:],
                                  np.concatenate(([self.lag], lags)),
                                  np.concatenate((self.comb, comb)),
                                  np.concatenate((self.kernel, kernels)),
                                  self.comb_history, self.fade)
        self.lag, self.comb, self.kernel = lags[-1], comb[-1:], kernels[-1:]
        self.comb_history = c[-(ADACONV_TAPS - 1):]
        return y
