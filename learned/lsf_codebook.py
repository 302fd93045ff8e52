"""The trainable LSP codebook of collaborative quantization, trained against the frame cost.

Softmax (soft-to-hard) quantization, CQ paper sec. 2.2 and 3.1: each of the 16 LSFs is
assigned to one of J = 256 shared scalar centroids b.  Here the LSF is first predicted from the
previous quantized one and normalized (``hybridcodec.components.lsf_envelope.LsfSoftmaxEnvelope``
gives the codec's side), so the quantity assigned is r_i = (l_i − p_i) / σ_i.  In training the
assignment is soft, A = softmax(−α (r − b)²) (α raised from 2 to 64), the forward pass uses the
hard centroid and the gradient flows through A·b (straight-through); the bits of index i are the
cross-entropy −Σ_j A_ij log2 P_i(j) under learned per-coefficient probabilities (the entropy
term E of the paper).  The loss of a frame is

    λ · envelope bits + bits of the flattened spectrum it leaves,

the second term being −log2 of the Laplacian source model's mass of the rounding cell of
|w| = |X| / ŝ at the fixed step δ of ``hybridcodec.training.lsf_training.spectrum_bits`` (the continuous
relaxation of that function), with ŝ built from the quantized LSFs in the closed form
|A(e^{jω})|² = cos²(ω/2) Π_even 2(cos ω − cos l_i)² + sin²(ω/2) Π_odd 2(cos ω − cos l_i)², the
pre-emphasis undone, the correction curve c(f) (also trained) and the geometric-mean gain.
λ = 1 is the whole-frame optimum; other λ give the rate points of the envelope study.

Trained with fixed seeds on CPU in float32; exported in float64 for the codec, which needs no
torch.  Index frequencies of the exported tables are counted from hard assignments afterwards.
"""
import math
from typing import Dict, Optional, Tuple

import numpy as np
import torch
from tqdm import tqdm

from hybridcodec.components import lsf_envelope as le
from hybridcodec.components.source_model import LaplacianSourceModel
from hybridcodec.training import lsf_training as lt

STEM = "lsf-softmax"
SEED = 20261122
N_CENTROIDS = 256
LAMBDAS = (0.25, 0.5, 1.0, 2.0, 4.0)
"""Weights of the envelope bits, one codebook each; 1.0 is what tcx-lsf-softmax uses."""
LAG_WINDOW_HZ = 60.0
"""Lag window of lsf-softmax's own analysis (stored in its parameter file as ``lag_window_hz``;
the decoder reads it from there).  This component is optimized for whole-frame bits, and so is
its analysis: in the training-split sweep of total frame bits (envelope + spectrum at the fixed
step; see ``lsf_training.LSF_VQ_LAG_WINDOW_HZ``) 30-60 Hz were within 1 bit of each other and
150 Hz ~13 bits worse; below 60 Hz order-16 LPC starts to follow single harmonics, so AMR-WB's
60 Hz is kept.  lsf-vq, designed for LSF distortion, has its own (150 Hz) analysis."""
TRAIN_FRAMES = 60_000
STEPS = 500
BATCH = 256
LEARNING_RATE = 0.01
ALPHA_RANGE = (2.0, 64.0)
LN2 = math.log(2.0)


class SoftmaxLspCodebook(torch.nn.Module):
    """Predictive scalar softmax quantizer of 16 LSFs with 256 shared centroids.

    Parameters
    ----------
    lsf_mean : ndarray, shape (16,)
        μ, fixed.
    rho, scale : ndarray, shape (16,)
        Initial prediction coefficients ρ and residual scales σ.
    correction : ndarray, shape (320,)
        Initial correction curve c(f).
    """

    def __init__(self, lsf_mean, rho, scale, correction):
        super().__init__()
        as_tensor = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
        self.register_buffer("mean", as_tensor(lsf_mean))
        self.rho = torch.nn.Parameter(as_tensor(rho))
        self.log_scale = torch.nn.Parameter(torch.log(as_tensor(scale)))
        self.centroids = torch.nn.Parameter(torch.arange(N_CENTROIDS, dtype=torch.float32)
                                            - N_CENTROIDS // 2)
        self.logits = torch.nn.Parameter(-0.5 * self.centroids.detach()[None].repeat(16, 1)**2
                                         / 4.0)
        self.correction = torch.nn.Parameter(as_tensor(correction))

    def quantize(self, lsf: torch.Tensor, alpha: float) -> Tuple[torch.Tensor, torch.Tensor]:
        """Quantized LSFs (B, 16) (hard forward, soft gradient) and envelope bits (B,)."""
        scale = torch.exp(self.log_scale)
        b = self.centroids
        quantized, bits, previous = [], 0.0, None
        for i in range(le.LPC_ORDER):
            prediction = (self.mean[0].expand(lsf.shape[0]) if i == 0 else
                          self.mean[i] + self.rho[i] * (previous - self.mean[i - 1]))
            distance = ((lsf[:, i] - prediction) / scale[i])[:, None] - b[None]
            soft_assignment = torch.softmax(-alpha * distance**2, dim=1)
            soft = soft_assignment @ b
            hard = b[torch.argmin(distance.abs(), dim=1)]
            value = soft + (hard - soft).detach()
            previous = prediction + scale[i] * value
            quantized.append(previous)
            log_p = torch.log_softmax(self.logits[i], dim=0)
            bits = bits - (soft_assignment * log_p).sum(dim=1) / LN2
        return torch.stack(quantized, dim=1), bits


def log_shape_torch(lsf: torch.Tensor, correction: torch.Tensor) -> torch.Tensor:
    """ln envelope shape (B, 320): −½ ln|A|² − pre-emphasis + c, by the LSF product form."""
    omega = torch.tensor(np.pi * (np.arange(le.N_BINS) + 0.5) / le.N_BINS, dtype=lsf.dtype)
    difference = 2.0 * (torch.cos(omega)[None, None] - torch.cos(lsf)[:, :, None])
    p = torch.prod(difference[:, 0::2], dim=1)
    q = torch.prod(difference[:, 1::2], dim=1)
    power = torch.cos(omega / 2)**2 * p**2 + torch.sin(omega / 2)**2 * q**2
    tilt = torch.tensor(le.log_tilt(le.N_BINS), dtype=lsf.dtype)
    return -0.5 * torch.log(power.clamp_min(1e-30)) - tilt + correction - correction.mean()


def spectrum_bits_torch(log_magnitude: torch.Tensor, log_envelope: torch.Tensor,
                        scale: float, step_ratio: float = lt.FIXED_SPECTRUM_STEP) -> torch.Tensor:
    """Continuous relaxation of ``lsf_training.spectrum_bits``: −log2 of the Laplacian mass of
    the cell of width δ centred on |w| (B,)."""
    w = torch.exp(log_magnitude - log_envelope) / scale
    t = step_ratio / 2.0
    outer = -w + math.log(math.sinh(t))
    inner = torch.log((1.0 - math.exp(-t) * torch.cosh(torch.clamp(w, max=t))).clamp_min(1e-30))
    return -torch.where(w >= t, outer, inner).sum(dim=1) / LN2


def frame_loss(model, lsf, log_magnitude, alpha, lam, scale, gain_step_nepers, generator):
    """Mean of λ·envelope bits + spectrum bits over a batch, and the two means."""
    quantized, envelope_bits = model.quantize(lsf, alpha)
    shape = log_shape_torch(quantized, model.correction)
    gain = log_magnitude.mean(dim=1) - shape.mean(dim=1)
    gain = gain + gain_step_nepers * (torch.rand(gain.shape, generator=generator) - 0.5)
    spectrum = spectrum_bits_torch(log_magnitude, gain[:, None] + shape, scale)
    return (lam * envelope_bits + spectrum).mean(), envelope_bits.mean(), spectrum.mean()


def initial_predictor(lsf: np.ndarray, mean: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Least-squares ρ_i on the previous (unquantized) LSF and the residual rms σ_i."""
    centred = lsf - mean
    rho = np.zeros(le.LPC_ORDER)
    rho[1:] = (np.sum(centred[:, 1:] * centred[:, :-1], axis=0)
               / np.sum(centred[:, :-1]**2, axis=0))
    residual = centred.copy()
    residual[:, 1:] -= rho[1:] * centred[:, :-1]
    return rho, residual.std(axis=0)


def train_one(lsf, log_magnitude, shared, lam, scale, progress_bar) -> SoftmaxLspCodebook:
    """Train the codebook for one λ (seeded)."""
    torch.manual_seed(SEED)
    generator = torch.Generator().manual_seed(SEED)
    rho, sigma = initial_predictor(lsf, shared["lsf_mean"])
    model = SoftmaxLspCodebook(shared["lsf_mean"], rho, 0.6 * sigma * math.sqrt(lam),
                               shared["correction"])
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, STEPS)
    lsf_t = torch.tensor(lsf, dtype=torch.float32)
    mag_t = torch.tensor(log_magnitude, dtype=torch.float32)
    gain_step = float(shared["gain_step_db"]) / le.DB_PER_NEPER
    for step in range(STEPS):
        alpha = ALPHA_RANGE[0] * (ALPHA_RANGE[1] / ALPHA_RANGE[0]) ** (step / (STEPS - 1))
        rows = torch.randint(0, lsf_t.shape[0], (BATCH,), generator=generator)
        loss, env, spec = frame_loss(model, lsf_t[rows], mag_t[rows], alpha, lam, scale,
                                     gain_step, generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        progress_bar.update(1)
        progress_bar.set_postfix(lam=lam, env=f"{env.item():.1f}", spec=f"{spec.item():.1f}",
                                 refresh=False)
    return model


def hard_counts(model: SoftmaxLspCodebook, lsf: np.ndarray) -> np.ndarray:
    """Index frequencies (16, 256) of the hard assignments over the training frames."""
    counts = np.zeros((le.LPC_ORDER, N_CENTROIDS))
    with torch.no_grad():
        scale = torch.exp(model.log_scale).double()
        b, mean, rho = model.centroids.double(), model.mean.double(), model.rho.double()
        x = torch.tensor(lsf, dtype=torch.float64)
        previous = None
        for i in range(le.LPC_ORDER):
            prediction = mean[0].expand(x.shape[0]) if i == 0 else \
                mean[i] + rho[i] * (previous - mean[i - 1])
            index = torch.argmin(((x[:, i] - prediction) / scale[i])[:, None].sub(b).abs(), 1)
            previous = prediction + scale[i] * b[index]
            counts[i] = np.bincount(index.numpy(), minlength=N_CENTROIDS)
    return counts


def train_lsf_codebook(corpus_dir=None, max_files: Optional[int] = None,
                       max_frames: int = TRAIN_FRAMES,
                       lambdas=LAMBDAS) -> Tuple[Dict[str, np.ndarray], str]:
    """The lsf-softmax parameter arrays (one codebook per λ) and a one-line summary each."""
    torch.set_num_threads(1)   # the 2 shared cores: one thread avoids oversubscription stalls
    spectra = lt.training_frames(corpus_dir, max_files, max_frames)
    lsf = lt.lsf_of(spectra, LAG_WINDOW_HZ, progress=True)
    shared = lt.shared_arrays(spectra, lsf, LAG_WINDOW_HZ)
    log_magnitude = lt.log_magnitude(spectra)
    scale = LaplacianSourceModel()._spectrum[0].scale
    models, lines = [], []
    with tqdm(total=STEPS * len(lambdas), desc="softmax LSP codebook") as bar:
        for lam in lambdas:
            models.append(train_one(lsf, log_magnitude, shared, lam, scale, bar))
    arrays = dict(shared)
    for lam, model in zip(lambdas, models):
        lines.append(f"λ = {lam:g}: " + describe(model, lsf, log_magnitude, scale))
    # one correction curve for all rate points (the λ = 1 one), exported centred
    unit = int(np.argmin(np.abs(np.asarray(lambdas) - 1.0)))
    correction = models[unit].correction.detach().double().numpy()
    arrays["correction"] = correction - correction.mean()
    arrays.update(lt.gain_table(spectra, lsf, arrays["correction"]))
    arrays.update({
        "lambdas": np.asarray(lambdas, dtype=np.float64),
        "rho": np.stack([m.rho.detach().double().numpy() for m in models]),
        "scale": np.stack([torch.exp(m.log_scale).detach().double().numpy() for m in models]),
        "centroids": np.stack([m.centroids.detach().double().numpy() for m in models]),
        "index_counts": np.stack([hard_counts(m, lsf) for m in models]),
        "spectrum_step_ratio": np.array(lt.FIXED_SPECTRUM_STEP),
    })
    return arrays, "\n".join(lines)


def describe(model, lsf, log_magnitude, scale) -> str:
    """Mean envelope and spectrum bits of the trained model on 4096 training frames (hard)."""
    with torch.no_grad():
        rows = slice(0, 4096)
        _, env, spec = frame_loss(model, torch.tensor(lsf[rows], dtype=torch.float32),
                                  torch.tensor(log_magnitude[rows], dtype=torch.float32),
                                  1e4, 1.0, scale, 0.0, torch.Generator().manual_seed(0))
    return f"envelope {env.item():.1f} bits (cross-entropy), spectrum {spec.item():.1f} bits"
