"""NumPy inference of the end-to-end speech autoencoder (Kankanahalli, "End-to-end optimized
speech coding with deep neural networks", sec. 2), scaled down.

One frame of 320 time samples (the folded-time frame of the low-overlap MDCT's geometry) goes
through

    encoder  x → conv(1→C) → PReLU → res → conv(C→C, stride 2) → PReLU → res → conv(C→1) = z
    softmax quantization  z_i → nearest center B_j (eq. 1-2 at σ → ∞: the hard assignment)
    decoder  ẑ → conv(1→C) → PReLU → res → conv(C→2C) → subpixel ×2 → PReLU → res → conv(C→1)

with res(h) = h + conv(PReLU(conv(h))) (the paper's residual blocks, Fig. 2), every
convolution of width 9 (sec. 2: "1D filters of size 9 and PReLU activations"; the upsampling is
a subpixel convolution).  ``params`` are the arrays of the torch model
``learned.e2e_ae.SpeechAutoencoder`` by their ``state_dict`` names (float64 here).

Per-frame gain normalization (deviation, in the spirit of the paper's normalized speech
frames): the frame's RMS is coded as ``GAIN_BITS`` raw bits on a grid of ``GAIN_STEP_LOG2``
octaves (≈ 1.5 dB) and the autoencoder sees the frame divided by the quantized gain, so every
frame's latent has about the same entropy whatever its level or speaker; the decoder multiplies
back.  A frame below the grid's floor is silent.
"""
import numpy as np
from numba import njit

from .range_coder import rc_decode_symbol, rc_encode_symbol

KERNEL = 9
RESAMPLING = 2
"""The encoder's stride and the decoder's subpixel factor: a frame of N samples has N / 2
latents."""
GAIN_BITS = 6
GAIN_STEP_LOG2 = 0.25
GAIN_FLOOR_LOG2 = -14.0
"""Gain grid: log2 RMS from −14 (≈ −84 dBFS) in steps of 0.25 octave, 64 levels up to +1.75."""


def gain_index(frame: np.ndarray) -> int:
    """Index of the frame's RMS on the gain grid (clipped at the top), −1 below its floor."""
    rms = np.sqrt(np.mean(frame ** 2))
    if rms == 0.0:
        return -1
    index = int(np.round((np.log2(rms) - GAIN_FLOOR_LOG2) / GAIN_STEP_LOG2))
    return -1 if index < 0 else min(index, (1 << GAIN_BITS) - 1)


def gain(index: int) -> float:
    """The quantized gain of ``index`` (the decoder multiplies the normalized frame by it)."""
    return float(2.0 ** (GAIN_FLOOR_LOG2 + GAIN_STEP_LOG2 * index))


def conv1d(x, weight, bias, stride=1):
    """torch.nn.Conv1d with padding KERNEL // 2: x (C_in, L) → (C_out, ceil(L / stride)), as
    one matrix product per tap (no copy of the input per tap)."""
    pad = weight.shape[2] // 2
    padded = np.pad(x, ((0, 0), (pad, pad)))
    n = -(-x.shape[1] // stride)
    out = bias[:, None] + weight[:, :, 0] @ padded[:, 0:stride * n:stride]
    for k in range(1, weight.shape[2]):
        out += weight[:, :, k] @ padded[:, k:k + stride * n:stride]
    return out


def prelu(x, slope):
    """torch.nn.PReLU with one slope per channel."""
    return np.where(x >= 0.0, x, slope[:, None] * x)


def subpixel(x):
    """Subpixel upsampling × R = RESAMPLING (Shi et al.): (RC, L) → (C, RL),
    out[c, Rl + r] = x[Rc + r, l]."""
    channels, length = x.shape
    c = channels // RESAMPLING
    return x.reshape(c, RESAMPLING, length).transpose(0, 2, 1).reshape(c, RESAMPLING * length)


def _conv(params, name, x, stride=1):
    return conv1d(x, params[name + ".weight"], params[name + ".bias"], stride)


def residual(params, name, h):
    """res(h) = h + conv_b(PReLU(conv_a(h)))."""
    inner = prelu(_conv(params, name + ".conv_a", h), params[name + ".act.weight"])
    return h + _conv(params, name + ".conv_b", inner)


def encode(params, x):
    """Latent z (L,) of one frame x (320,) (already multiplied by the input scale)."""
    h = prelu(_conv(params, "encoder.inp", x[None, :]), params["encoder.inp_act.weight"])
    h = residual(params, "encoder.res1", h)
    h = prelu(_conv(params, "encoder.down", h, stride=RESAMPLING),
              params["encoder.down_act.weight"])
    h = residual(params, "encoder.res2", h)
    return _conv(params, "encoder.out", h)[0]


def decode(params, z_hat):
    """Frame (320,) (in the input scale) of the dequantized latent ẑ (L,)."""
    h = prelu(_conv(params, "decoder.inp", z_hat[None, :]), params["decoder.inp_act.weight"])
    h = residual(params, "decoder.res1", h)
    h = prelu(subpixel(_conv(params, "decoder.up", h)), params["decoder.up_act.weight"])
    h = residual(params, "decoder.res2", h)
    return _conv(params, "decoder.out", h)[0]


def nearest_center(z, centers):
    """Indices of the nearest of the sorted ``centers`` B for each z_i (eq. 1-2 as σ → ∞)."""
    return np.argmin(np.abs(z[:, None] - centers[None, :]), axis=1)


@njit(cache=True)
def encode_symbols(state, buf, cdf, symbols):
    """Range-code the latent symbols with one table (the histogram h of eq. 6, learned)."""
    for s in symbols:
        rc_encode_symbol(state, buf, cdf, s)


@njit(cache=True)
def decode_symbols(state, buf, cdf, n):
    """The ``n`` symbols coded by :func:`encode_symbols`."""
    symbols = np.empty(n, dtype=np.int64)
    for i in range(n):
        symbols[i] = rc_decode_symbol(state, buf, cdf)
    return symbols
