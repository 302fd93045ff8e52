"""Kankanahalli's end-to-end speech autoencoder in torch (the model that ``dsp.e2e_ae`` runs in
NumPy), its softmax quantization and the losses of the objective (eq. 3):

    O = λ_mse ℓ2(x, y) + λ_perceptual P(x, y) + λ_quantization Q(c) + λ_entropy E(c).

* softmax quantization (eq. 1-2): D = |z − B|, S = softmax(−σ D), ẑ = S · B, with the centers
  B trainable.  Deviation: σ is fixed (a buffer) at a few center spacings (training sets it
  when it places the centers); at the paper's σ = 300 the assignments are hard at our
  latent's scale and E(c) has no gradient, and a trainable σ only lowers the soft estimate.
  Deviation: the forward pass uses the hard assignment and the gradient the soft one
  (straight-through), so the decoder trains on what it receives;
* P (eq. 4): the ℓ2 distance between the MFCCs of four mel filterbanks (8, 16, 32, 128
  filters), computed on the unfolded, windowed time block of the frame.  With every cepstral
  coefficient kept, the orthonormal DCT leaves ℓ2 unchanged, so the distance of log-mel energies
  is taken directly;
* Q (eq. 5): mean over symbols of Σ_j √c_ij − 1;
* E (eq. 6): entropy in bits of the batch histogram h of the soft assignments.
"""
from typing import Dict

import numpy as np
import torch
from torch import nn

from hybridcodec.dsp import mdct
from hybridcodec.dsp.e2e_ae import KERNEL

SIGMA_INITIAL = 300.0
MEL_SIZES = (8, 16, 32, 128)
MFCC_FFT = 512
MFCC_FRAME = 256
MFCC_HOP = 112
LOG_EPS = 1e-6
SQRT_EPS = 1e-8


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Conv1d:
    return nn.Conv1d(c_in, c_out, KERNEL, stride=stride, padding=KERNEL // 2)


class Residual(nn.Module):
    """res(h) = h + conv_b(PReLU(conv_a(h))) (Fig. 2)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv_a = _conv(channels, channels)
        self.act = nn.PReLU(channels)
        self.conv_b = _conv(channels, channels)

    def forward(self, h):
        return h + self.conv_b(self.act(self.conv_a(h)))


class Encoder(nn.Module):
    """Frame (B, 320) → latent z (B, 160)."""

    def __init__(self, channels: int):
        super().__init__()
        self.inp, self.inp_act = _conv(1, channels), nn.PReLU(channels)
        self.res1 = Residual(channels)
        self.down, self.down_act = _conv(channels, channels, stride=2), nn.PReLU(channels)
        self.res2 = Residual(channels)
        self.out = _conv(channels, 1)

    def forward(self, x):
        h = self.res1(self.inp_act(self.inp(x[:, None, :])))
        h = self.res2(self.down_act(self.down(h)))
        return self.out(h)[:, 0]


class Decoder(nn.Module):
    """Dequantized latent ẑ (B, 160) → frame (B, 320), upsampled by a subpixel convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.inp, self.inp_act = _conv(1, channels), nn.PReLU(channels)
        self.res1 = Residual(channels)
        self.up, self.up_act = _conv(channels, 2 * channels), nn.PReLU(channels)
        self.res2 = Residual(channels)
        self.out = _conv(channels, 1)

    def forward(self, z_hat):
        h = self.res1(self.inp_act(self.inp(z_hat[:, None, :])))
        up = self.up(h)
        batch, channels, length = up.shape
        shuffled = up.reshape(batch, channels // 2, 2, length).transpose(2, 3)
        h = self.res2(self.up_act(shuffled.reshape(batch, channels // 2, 2 * length)))
        return self.out(h)[:, 0]


class SoftmaxQuantizer(nn.Module):
    """Softmax quantization (eq. 1-2) to ``n_centers`` trainable scalar centers B."""

    def __init__(self, n_centers: int):
        super().__init__()
        self.centers = nn.Parameter(torch.linspace(-1.0, 1.0, n_centers))
        self.register_buffer("sigma", torch.tensor(SIGMA_INITIAL))

    def forward(self, z):
        """ẑ (hard forward, soft gradient) and the soft assignments c (B, L, N)."""
        distance = (z[..., None] - self.centers).abs()
        soft = torch.softmax(-self.sigma * distance, dim=-1)
        z_soft = soft @ self.centers
        z_hard = self.centers[distance.argmin(dim=-1)]
        return z_soft + (z_hard - z_soft).detach(), soft


class SpeechAutoencoder(nn.Module):
    """Encoder, softmax quantizer, decoder; ``quantize=False`` is the pre-training stage."""

    def __init__(self, channels: int, n_centers: int):
        super().__init__()
        self.encoder = Encoder(channels)
        self.quantizer = SoftmaxQuantizer(n_centers)
        self.decoder = Decoder(channels)

    def forward(self, x, quantize: bool = True):
        z = self.encoder(x)
        if not quantize:
            return self.decoder(z), None
        z_hat, soft = self.quantizer(z)
        return self.decoder(z_hat), soft

    def export(self) -> Dict[str, np.ndarray]:
        """Every parameter as float64, by ``state_dict`` name (what dsp.e2e_ae reads)."""
        return {name: value.detach().double().numpy().copy()
                for name, value in self.state_dict().items()}


def quantization_penalty(soft):
    """Q(c) of eq. 5: zero when every soft assignment is one-hot (√ taken at c + SQRT_EPS, so
    its gradient stays finite where the softmax underflows to 0)."""
    return ((soft + SQRT_EPS).sqrt().sum(dim=-1) - 1.0).mean()


def entropy_bits(soft):
    """E(c) of eq. 6: entropy (bits per symbol) of the batch histogram of soft assignments."""
    h = soft.reshape(-1, soft.shape[-1]).mean(dim=0)
    return -(h * torch.log2(h.clamp_min(1e-12))).sum()


def mel_filterbank(n_filters: int, n_fft: int = MFCC_FFT,
                   sample_rate: int = mdct.SAMPLE_RATE_HZ) -> np.ndarray:
    """Triangular mel filters (n_filters, n_fft // 2 + 1), 0 Hz to Nyquist."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    edges_mel = np.linspace(0.0, mel(sample_rate / 2), n_filters + 2)
    edges = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)
    freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    rising = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    falling = (edges[2:, None] - freqs[None, :]) / (edges[2:, None] - edges[1:-1, None])
    return np.maximum(0.0, np.minimum(rising, falling))


class PerceptualLoss(nn.Module):
    """P(x, y) of eq. 4 on the time blocks of folded frames (unfold + window, 480 samples)."""

    def __init__(self):
        super().__init__()
        start = (mdct.BLOCK - mdct.HOP - mdct.OVERLAP) // 2
        unfold = mdct.unfold(np.eye(mdct.HOP))[:, start:mdct.BLOCK - start]
        self.register_buffer("unfold", torch.tensor(unfold, dtype=torch.float32))
        self.register_buffer("window", torch.hann_window(MFCC_FRAME, periodic=False))
        self.banks = [torch.tensor(mel_filterbank(n), dtype=torch.float32) for n in MEL_SIZES]

    def _log_mels(self, frames):
        blocks = frames @ self.unfold
        segments = blocks.unfold(1, MFCC_FRAME, MFCC_HOP) * self.window
        power = torch.fft.rfft(segments, n=MFCC_FFT).abs().square()
        return [torch.log(power @ bank.T + LOG_EPS) for bank in self.banks]

    def forward(self, x, y):
        pairs = zip(self._log_mels(x), self._log_mels(y))
        return sum(((a - b).square().mean() for a, b in pairs)) / len(MEL_SIZES)
