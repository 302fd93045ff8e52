"""The residual layers' autoencoder in torch: (R2) of ``hybridcodec.dsp.residual_ae`` with
Kankanahalli's softmax (soft-to-hard) quantization and entropy control, and the export.

Softmax quantization (Kankanahalli sec. 2, "Quantization"; CQ sec. 2.2): every latent z_j gets
soft assignments to the L learned centers c,

    a_jl = softmax_l(−α (z_j − c_l)²),   z̃_j = Σ_l a_jl c_l,   ẑ_j = c_{argmax_l a_jl},       (Q1)

and the decoder reads ẑ in the forward pass with the gradient of z̃ (straight-through).  The
code's entropy is estimated from the soft assignments of a batch, per latent (the per-latent
tables the range coder uses):

    p_jl = mean_batch a_jl,   H = Σ_j −Σ_l p_jl log2 p_jl   bits per frame,                   (Q2)

and the loss is MSE(y, r) + λ H (Kankanahalli's O with λ_entropy; no perceptual term: r is
already perceptually normalized, (R1)).  Entropy control (Kankanahalli sec. 3, "Entropy
control"): when the entropy of the batch's hard symbols is above the target region λ grows by
τ, below it λ shrinks by τ (λ ≥ 0); the gradient is the soft H's.
"""
from typing import Dict

import numpy as np
import torch
from torch import nn

from hybridcodec.dsp.residual_ae import INPUT_CLIP


class ResidualAE(nn.Module):
    """(R2) with (Q1): residuals (B, F) → reconstruction (B, F), soft assignments (B, m, L)."""

    def __init__(self, n_bins: int = 320, hidden: int = 256, latents: int = 32,
                 levels: int = 8, softness: float = 4.0):
        super().__init__()
        self.enc1 = nn.Linear(n_bins, hidden)
        self.enc2 = nn.Linear(hidden, latents)
        self.dec1 = nn.Linear(latents, hidden)
        self.dec2 = nn.Linear(hidden, n_bins)
        self.centers = nn.Parameter(torch.linspace(-1.5, 1.5, levels))
        self.softness = softness
        self.quantize = True

    def latents(self, r: torch.Tensor) -> torch.Tensor:
        return self.enc2(torch.tanh(self.enc1(torch.clamp(r, -INPUT_CLIP, INPUT_CLIP))))

    def assignments(self, z: torch.Tensor) -> torch.Tensor:
        """a of (Q1), (B, m, L)."""
        return torch.softmax(-self.softness * (z[..., None] - self.centers) ** 2, dim=-1)

    def decode(self, zq: torch.Tensor) -> torch.Tensor:
        return self.dec2(torch.tanh(self.dec1(zq)))

    def forward(self, r: torch.Tensor):
        z = self.latents(r)
        if not self.quantize:
            return self.decode(z), None
        a = self.assignments(z)
        soft = a @ self.centers
        hard = self.centers[torch.argmin(torch.abs(z[..., None] - self.centers), dim=-1)]
        return self.decode(soft + (hard - soft).detach()), a

    def symbols(self, r: torch.Tensor) -> torch.Tensor:
        """Hard symbols (B, m) of residuals."""
        z = self.latents(r)
        return torch.argmin(torch.abs(z[..., None] - self.centers), dim=-1)

    def export(self, pmf: np.ndarray, order: np.ndarray) -> Dict[str, np.ndarray]:
        """float64 arrays for ``dsp.residual_ae``, latents permuted to ``order``; ``pmf`` (m, L)
        in the original latent order."""
        t = {k: v.detach().double().numpy() for k, v in self.state_dict().items()}
        return {"w1": t["enc1.weight"], "b1": t["enc1.bias"],
                "w2": t["enc2.weight"][order], "b2": t["enc2.bias"][order],
                "w3": t["dec1.weight"][:, order], "b3": t["dec1.bias"],
                "w4": t["dec2.weight"], "b4": t["dec2.bias"],
                "centers": t["centers"], "pmf": pmf[order]}


def entropy_bits(a: torch.Tensor) -> torch.Tensor:
    """H of (Q2): bits per frame estimated from a batch's soft assignments (B, m, L)."""
    p = a.mean(dim=0)
    return -(p * torch.log2(p + 1e-9)).sum()


def hard_entropy_bits(a: torch.Tensor) -> float:
    """(Q2) of the hard assignments ẑ, the symbols actually coded: what the entropy control
    steers (the soft estimate runs above it while the assignments are soft)."""
    one_hot = nn.functional.one_hot(torch.argmax(a, dim=-1), a.shape[-1]).to(a.dtype)
    return float(entropy_bits(one_hot))


class EntropyControl:
    """Kankanahalli's λ_entropy rule: ±τ when H leaves target ± tolerance (bits per frame)."""

    def __init__(self, target_bits: float, tolerance_bits: float, step: float,
                 initial: float = 0.0):
        self.target = target_bits
        self.tolerance = tolerance_bits
        self.step = step
        self.weight = initial

    def update(self, entropy: float) -> float:
        if entropy > self.target + self.tolerance:
            self.weight += self.step
        elif entropy < self.target - self.tolerance:
            self.weight = max(0.0, self.weight - self.step)
        return self.weight
