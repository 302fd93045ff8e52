"""The torch model of ``spectrum_quantizer: psq`` (``hybridcodec.components.psq``): per band a
linear projection E_b, the scalar quantizer of PSQ eq. 6 in one of its two training
realizations (PSQ sec. III-A), a linear back-projection D_b and per-dimension Laplacians.

* "st": straight-through gradient, ẑ = z + sg(floor(z/Δ + 1/2) Δ − z): the forward pass is the
  quantizer the codec runs, the backward pass the identity.
* "noise": pseudo-quantization noise, ẑ = z + ε, ε ~ U(−Δ/2, Δ/2)   (PSQ eq. 7).

The rate of ẑ is its code length under latent d's zero-mean Laplacian of scale σ_d W̄_b (σ_d
learned, W̄_b the frame's band weight), the mass of the bin [ẑ − Δ/2, ẑ + Δ/2) (the table the
codec codes q with; for "noise" the density of z + ε, PSQ sec. III-B2).
"""
import math

import numpy as np
import torch
from torch import nn

REALIZATIONS = ("st", "noise")
MIN_PROBABILITY = 1e-9


def scalar_quantize(z: torch.Tensor, step: torch.Tensor, realization: str) -> torch.Tensor:
    """ẑ of the realization (module docstring); ``step`` broadcasts against z."""
    if realization == "st":
        return z + (torch.floor(z / step + 0.5) * step - z).detach()
    if realization == "noise":
        return z + (torch.rand_like(z) - 0.5) * step
    raise ValueError(f"realization must be one of {REALIZATIONS}, got {realization!r}")


def laplace_cdf(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    half_tail = 0.5 * torch.exp(-torch.abs(x) / scale)
    return torch.where(x < 0.0, half_tail, 1.0 - half_tail)


class ProjectedScalarQuantizer(nn.Module):
    """E (B, R, L), D (B, L, R) and log σ (B, R).

    Parameters
    ----------
    basis : ndarray, shape (B, L, R)
        Start of D (E starts as its transpose).
    latent_scale : ndarray, shape (B, R)
        Initial Laplacian scales σ (in the flattened domain: the codec uses σ W̄_b).
    """

    def __init__(self, basis: np.ndarray, latent_scale: np.ndarray):
        super().__init__()
        basis = torch.as_tensor(basis, dtype=torch.float32)
        self.encoder = nn.Parameter(basis.transpose(1, 2).clone())
        self.decoder = nn.Parameter(basis.clone())
        self.log_scale = nn.Parameter(torch.log(torch.as_tensor(latent_scale,
                                                                dtype=torch.float32)))

    def project(self, v: torch.Tensor) -> torch.Tensor:
        """z (N, B, R) of band vectors v (N, B, L)."""
        return torch.einsum("nbl,brl->nbr", v, self.encoder)

    def back_project(self, z_hat: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nbr,blr->nbl", z_hat, self.decoder)

    def bits(self, z_hat: torch.Tensor, band_weight: torch.Tensor,
             step: torch.Tensor) -> torch.Tensor:
        """Code length of ẑ (N, B, R) in bits under the Laplacians (scales σ W̄, W̄ (N, B, 1))
        at step Δ."""
        scale = torch.exp(self.log_scale) * band_weight
        mass = laplace_cdf(z_hat + 0.5 * step, scale) - laplace_cdf(z_hat - 0.5 * step, scale)
        return -torch.log2(torch.clamp(mass, min=MIN_PROBABILITY))

    def forward(self, v: torch.Tensor, band_weight: torch.Tensor, step: torch.Tensor,
                realization: str):
        """v̂ (N, B, L) and the bits of ẑ (N, B, R) at steps Δ (N, 1, 1)."""
        z_hat = scalar_quantize(self.project(v), step, realization)
        return self.back_project(z_hat), self.bits(z_hat, band_weight, step)

    def loss(self, v: torch.Tensor, band_weight: torch.Tensor, step: torch.Tensor,
             realization: str) -> torch.Tensor:
        """E[‖v − v̂‖² / Δ²] + (ln 2 / 6) E[bits], per element: the Lagrangian D + λ R at
        the slope λ = (ln 2 / 6) Δ² of a uniform quantizer at high rate (D = Δ²/12,
        dD/dR = −2 ln 2 D), so that every sampled Δ trains at its own operating point."""
        v_hat, bits = self(v, band_weight, step, realization)
        distortion = ((v - v_hat) ** 2 / step ** 2).mean()
        return distortion + math.log(2.0) / 6.0 * bits.mean()

    def export(self, steps_per_octave: int) -> dict:
        """Float64 arrays for ``hybridcodec.components.psq``: encoder, decoder and the scales
        snapped to the step grid, s_d = round(steps_per_octave log2 σ_d)."""
        with torch.no_grad():
            log2_scale = self.log_scale.double().numpy().reshape(-1) / math.log(2.0)
            return {"encoder": np.ascontiguousarray(self.encoder.double().numpy()),
                    "decoder": np.ascontiguousarray(self.decoder.double().numpy()),
                    "scale_eighths": np.round(steps_per_octave * log2_scale).astype(np.int64)}
