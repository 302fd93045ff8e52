"""The LACE-style post-filter in torch: network (N2)-(N3) of ``hybridcodec.components.lace``, the
differentiable filters (L1)-(L3) of ``dsp.lace``, the training loss, and the export.

Loss (per batch of decoded segments y against the clean input x):

    spectral convergence at FFT sizes 256 / 512 / 1024, hop 1/4, Hann:
        sum_sizes || |X| - |Y| ||_F / || |X| ||_F,                                            (T1)
    mel-band levels L = 10 log10(M |STFT|^2 + eps) in dB (M: 64 mel bands, 50 Hz - 8 kHz, FFT
    512, hop 128), floored at each segment's loudest clean band level minus 60 dB:
        mean | L_X - L_Y |,                                                                   (T2)

and the loss is (T1) + LEVEL_WEIGHT (T2).  (T2) follows the auditory band levels that ViSQOL
compares (gammatone bands on a dB scale); with the log-STFT and log-spectral-distance terms used
before instead, the post-filter raised PESQ-WB and lowered ViSQOL more the longer it trained.  On
24 voice-balanced validation clips at 9.6 / 13.2 / 16.4 kbps, change against none, PESQ-WB and
ViSQOL: the old terms +0.224 / +0.188 / +0.165 and +0.002 / +0.005 / -0.006; (T2) with weight 1
+0.238 / +0.206 / +0.168 and +0.012 / +0.012 / +0.001; weight 3 +0.215 / +0.182 / +0.162 and
+0.032 / +0.041 / +0.007 (the largest sum over 9.6-32 kbps); weight 1 at learning rate 1e-3
+0.192 / +0.163 / +0.145 and +0.046 / +0.020 / 0.000.
"""
from functools import lru_cache
from typing import Dict

import numpy as np
import torch
from torch import nn

from hybridcodec.components.lace import FEATURES, GAIN_LOG_RANGE, OUTPUTS
from hybridcodec.core.geometry import SAMPLE_RATE_HZ
from hybridcodec.dsp.lace import ADACONV_TAPS, COMB_OFFSETS, crossfade_window, identity_filters
from hybridcodec.dsp.postfilter import SUBFRAME

STFT_SIZES = (256, 512, 1024)
MEL_BANDS = 64
MEL_FFT = 512
MEL_HOP = 128
MEL_RANGE_HZ = (50.0, 8000.0)
LEVEL_FLOOR_DB = 60.0
LEVEL_WEIGHT = 3.0
POWER_EPS = 1e-8


class LaceNet(nn.Module):
    """(N2)-(N3): features (B, S, FEATURES) → comb taps (B, S, 3), FIR (B, S, J)."""

    def __init__(self, feature_mean: np.ndarray, feature_std: np.ndarray, embed: int = 32,
                 hidden: int = 32):
        super().__init__()
        self.register_buffer("feature_mean", torch.as_tensor(feature_mean, dtype=torch.float32))
        self.register_buffer("feature_std", torch.as_tensor(feature_std, dtype=torch.float32))
        self.embed = nn.Linear(FEATURES, embed)
        self.gru = nn.GRU(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, OUTPUTS)
        with torch.no_grad():           # start near the identity filter
            self.out.weight.mul_(0.01)
            self.out.bias.zero_()
            self.out.bias[0] = -3.0

    def forward(self, features: torch.Tensor):
        z = (features - self.feature_mean) / self.feature_std
        h, _ = self.gru(torch.tanh(self.embed(z)))
        o = self.out(h)
        comb = torch.sigmoid(o[..., :1]) * torch.softmax(o[..., 1:4], dim=-1)
        delta = torch.zeros(ADACONV_TAPS, dtype=o.dtype)
        delta[0] = 1.0
        kernel = o[..., 4:4 + ADACONV_TAPS] + delta
        gain = torch.exp(torch.clamp(o[..., -1:], *GAIN_LOG_RANGE))
        return comb, gain * kernel / torch.linalg.norm(kernel, dim=-1, keepdim=True)

    def export(self) -> Dict[str, np.ndarray]:
        """float64 arrays for ``hybridcodec.components.lace.LaceNetwork``."""
        tensors = {"feature_mean": self.feature_mean, "feature_std": self.feature_std,
                   "embed_w": self.embed.weight, "embed_b": self.embed.bias,
                   "gru_w_ih": self.gru.weight_ih_l0, "gru_w_hh": self.gru.weight_hh_l0,
                   "gru_b_ih": self.gru.bias_ih_l0, "gru_b_hh": self.gru.bias_hh_l0,
                   "out_w": self.out.weight, "out_b": self.out.bias}
        return {name: t.detach().double().numpy().copy() for name, t in tensors.items()}

    @classmethod
    def from_arrays(cls, arrays: Dict[str, np.ndarray]) -> "LaceNet":
        net = cls(arrays["feature_mean"], arrays["feature_std"], arrays["embed_w"].shape[0],
                  arrays["gru_w_hh"].shape[1])
        names = {"embed.weight": "embed_w", "embed.bias": "embed_b",
                 "gru.weight_ih_l0": "gru_w_ih", "gru.weight_hh_l0": "gru_w_hh",
                 "gru.bias_ih_l0": "gru_b_ih", "gru.bias_hh_l0": "gru_b_hh",
                 "out.weight": "out_w", "out.bias": "out_b",
                 "feature_mean": "feature_mean", "feature_std": "feature_std"}
        net.load_state_dict({key: torch.as_tensor(arrays[name]) for key, name in names.items()})
        return net


def lace_filters(x, lags, comb, kernels):
    """(L1)-(L3), as ``dsp.lace.lace_filter_kernel``, batched and differentiable.

    x : (B, H + S L) decoded samples, H >= COMB_HISTORY of history first; lags (B, S + 1) long;
    comb (B, S + 1, 3); kernels (B, S + 1, J): row 0 the filters before the first sub-frame.
    The comb output before x is taken as zero.  Returns y (B, S L).
    """
    batch, steps = lags.shape[0], lags.shape[1] - 1
    history = x.shape[1] - steps * SUBFRAME
    f = torch.as_tensor(crossfade_window(), dtype=x.dtype)
    n = (history + torch.arange(steps * SUBFRAME)).reshape(steps, SUBFRAME, 1)
    offsets = torch.as_tensor(COMB_OFFSETS)

    def comb_term(lag, taps):            # lag (B, S), taps (B, S, 3) → (B, S, L)
        index = n - lag[:, :, None, None] + offsets
        past = torch.gather(x, 1, index.reshape(batch, -1)).reshape(index.shape)
        return torch.einsum("bslk,bsk->bsl", past, taps)

    c = (x[:, history:].reshape(batch, steps, SUBFRAME) + (1.0 - f) * comb_term(lags[:, :-1],
         comb[:, :-1]) + f * comb_term(lags[:, 1:], comb[:, 1:])).reshape(batch, -1)
    frames = nn.functional.pad(c, (ADACONV_TAPS - 1, 0)).unfold(1, ADACONV_TAPS, 1).flip(-1)
    frames = frames.reshape(batch, steps, SUBFRAME, ADACONV_TAPS)
    old = torch.einsum("bslj,bsj->bsl", frames, kernels[:, :-1])
    new = torch.einsum("bslj,bsj->bsl", frames, kernels[:, 1:])
    return ((1.0 - f) * old + f * new).reshape(batch, -1)


def with_identity_row(lags, comb, kernels):
    """Prepend the identity filters (``dsp.lace.identity_filters``) as row 0: a stream's start."""
    lag0, comb0, kernel0 = identity_filters()
    batch = lags.shape[0]
    lags = torch.cat((torch.full((batch, 1), lag0, dtype=lags.dtype), lags), dim=1)
    comb = torch.cat((torch.as_tensor(comb0, dtype=comb.dtype).expand(batch, 1, -1), comb), 1)
    kernels = torch.cat((torch.as_tensor(kernel0, dtype=kernels.dtype).expand(batch, 1, -1),
                         kernels), 1)
    return lags, comb, kernels


def postfilter_signal(net: LaceNet, features, lags, decoded):
    """The whole stream, as ``LaceStream`` gives it block by block: features (B, S, F), lags
    (B, S), decoded (B, S L) → (B, S L)."""
    comb, kernels = net(features)
    history = torch.zeros(decoded.shape[0], SUBFRAME * 4, dtype=decoded.dtype)
    return lace_filters(torch.cat((history, decoded), 1), *with_identity_row(lags, comb, kernels))


def _magnitudes(x, n_fft, hop):
    window = torch.hann_window(n_fft, dtype=x.dtype)
    return torch.stft(x, n_fft, hop, window=window, return_complex=True).abs()


def spectral_loss(clean, enhanced):
    """(T1) + LEVEL_WEIGHT (T2) of segments (B, n) of the clean input and the post-filtered
    output."""
    total = 0.0
    for n_fft in STFT_SIZES:
        target, estimate = _magnitudes(clean, n_fft, n_fft // 4), _magnitudes(enhanced, n_fft,
                                                                                  n_fft // 4)
        total = total + torch.linalg.norm(target - estimate) / torch.linalg.norm(target)
    target, estimate = _mel_levels_db(clean), _mel_levels_db(enhanced)
    floor = target.amax(dim=(-2, -1), keepdim=True) - LEVEL_FLOOR_DB
    return total + LEVEL_WEIGHT * torch.mean(torch.abs(torch.maximum(target, floor)
                                                       - torch.maximum(estimate, floor)))


@lru_cache(maxsize=1)
def _mel_matrix() -> torch.Tensor:
    """M of (T2): (MEL_BANDS, MEL_FFT / 2 + 1), librosa's Slaney mel filters."""
    import librosa

    return torch.as_tensor(librosa.filters.mel(sr=SAMPLE_RATE_HZ, n_fft=MEL_FFT, n_mels=MEL_BANDS,
                                               fmin=MEL_RANGE_HZ[0], fmax=MEL_RANGE_HZ[1]))


def _mel_levels_db(x):
    """L of (T2): (B, MEL_BANDS, frames)."""
    power = _magnitudes(x, MEL_FFT, MEL_HOP) ** 2
    return 10.0 * torch.log10(_mel_matrix().to(power.dtype) @ power + POWER_EPS)
