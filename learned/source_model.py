"""Logistic-mixture source models trained for minimum entropy (TCX paper [1]_, sec. 3-4 and 6).

The envelope model (eq. 4: per cepstral coefficient, M = 5 logistic components), the flattened-
spectrum model (eq. 5: per MDCT bin, L = 3) and the envelope step Δq are trained together by
minimizing the bits per frame of eq. 6,

    cost = -[log2 f(y) + log2 f(w) + K log2 Δq],

with the envelope term in its exact form for a quantized value, eq. 8:
``-log2 f(y_k) - log2 Δq  ≈  -log2 [c(ŷ_k + Δq/2) - c(ŷ_k - Δq/2)]`` (equal as Δq → 0; the
CDF difference is what the range coder pays).  During training the envelope quantization is
replaced by uniform noise over its bin, ŷ = y + Δq u, u ~ U(-1/2, 1/2) (sec. 6), so the cost is
differentiable in Δq: the flattened spectrum w = X / exp(Dᵀŷ) depends on Δq through the noise.

A second spectrum model, tied over bands of bins (:data:`BAND_EDGES`), is trained in the same
loop on the same w (detached, so it does not pull on Δq): the codec makes its integer tables
from the band models (20 bands × 73 step ratios instead of 320 × 73), the study evaluates both.

Processing steps of :func:`train`: fixed seeds; per epoch a fresh permutation of the frames;
per batch of 1,000 frames: noise → ŷ → ŝ → w, cost, Adam step.  Everything runs on the CPU.

References
----------
.. [1] T. Bäckström et al., "Entropy-optimized source model for TCX" (shared/papers).
"""
import math
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np
import torch
from torch import nn

from hybridcodec.dsp import envelope as cepstral

ENVELOPE_COMPONENTS = 5
"""M of eq. 4."""
SPECTRUM_COMPONENTS = 3
"""L of eq. 5."""
BAND_EDGES = np.array([0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192,
                       224, 256, 288, 320])
"""Bands of the tied spectrum model used for the codec tables: 8 bins (200 Hz) below 1.6 kHz,
where harmonics make w peaky and its statistics change fastest, 16 bins up to 4.8 kHz, 32 above."""
LOG2E = 1.0 / math.log(2.0)
MIN_PROBABILITY = 1e-12
"""Floor on the bin probability of an envelope value (keeps log finite for outliers)."""


@dataclass(frozen=True)
class TrainingSettings:
    """Hyper-parameters of :func:`train` (the paper's where it gives them)."""

    epochs: int = 8
    batch_frames: int = 1000
    learning_rate: float = 0.02
    final_learning_rate: float = 0.002
    seed: int = 20261122
    train_step: bool = True


class LogisticMixture(nn.Module):
    """``n`` independent 1-D logistic mixtures of ``j`` components (eq. 3-5, 7).

    Parameters are unconstrained: weights by softmax of ``logits``, scales by exp of
    ``log_scales``; ``means`` are free.  Shapes (n, j).
    """

    def __init__(self, means: np.ndarray, scales: np.ndarray):
        super().__init__()
        n, j = means.shape
        self.logits = nn.Parameter(torch.zeros(n, j))
        self.means = nn.Parameter(torch.as_tensor(means, dtype=torch.float32))
        self.log_scales = nn.Parameter(torch.as_tensor(np.log(scales), dtype=torch.float32))

    def _z(self, x: torch.Tensor) -> torch.Tensor:
        return (x[..., None] - self.means) * torch.exp(-self.log_scales)

    def log_pdf(self, x: torch.Tensor) -> torch.Tensor:
        """Natural log of the density, x of shape (batch, n) → (batch, n)."""
        z = self._z(x)
        log_f = -z - self.log_scales - 2.0 * nn.functional.softplus(-z)
        return torch.logsumexp(torch.log_softmax(self.logits, dim=-1) + log_f, dim=-1)

    def cdf(self, x: torch.Tensor) -> torch.Tensor:
        """c(x) of eq. 7, x of shape (batch, n) → (batch, n)."""
        return (torch.sigmoid(self._z(x)) * torch.softmax(self.logits, dim=-1)).sum(-1)

    def log_bin_probability(self, x: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        """log P[x ∈ bin of width ``step`` centred on x] = log(c(x + step/2) - c(x - step/2)), eq. 8."""
        upper = self.cdf(x + 0.5 * step)
        lower = self.cdf(x - 0.5 * step)
        return torch.log(torch.clamp(upper - lower, min=MIN_PROBABILITY))

    def export(self) -> Dict[str, np.ndarray]:
        """float64 ``weights``, ``means``, ``scales`` (n, j); weights sum to 1 exactly enough
        for ``dsp.entropy_models.LogisticMixture``."""
        logits = self.logits.detach().double().numpy()
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        return {"weights": weights / weights.sum(axis=1, keepdims=True),
                "means": self.means.detach().double().numpy(),
                "scales": np.exp(self.log_scales.detach().double().numpy())}


def _spread(values: np.ndarray, n_components: int) -> tuple:
    """Initial means (quantiles) and scales (a share of the spread) of per-column mixtures."""
    quantiles = (np.arange(n_components) + 0.5) / n_components
    means = np.quantile(values, quantiles, axis=0).T
    spread = np.std(values, axis=0)[:, None]
    return means, np.repeat(spread / n_components, n_components, axis=1)


class SourceModelNet(nn.Module):
    """Envelope model, per-bin and per-band spectrum models and Δq (one trainable set, eq. 6).

    Parameters
    ----------
    y : np.ndarray, shape (n, K)
        Training cepstra, for the initial envelope mixture.
    w : np.ndarray, shape (n, F)
        A flattened spectrum of the training frames, for the initial spectrum scales.
    envelope_step : float
        Initial Δq (the 1 dB rule), in cepstral units.
    train_step : bool
        Whether Δq is trained; if not it stays at ``envelope_step``.
    """

    def __init__(self, y: np.ndarray, w: np.ndarray, envelope_step: float,
                 train_step: bool = True, band_edges: np.ndarray = BAND_EDGES):
        super().__init__()
        means, scales = _spread(y, ENVELOPE_COMPONENTS)
        self.envelope = LogisticMixture(means, scales)
        n_bins = w.shape[1]
        mean_abs = np.mean(np.abs(w), axis=0)
        relative = np.array([0.3, 1.0, 3.0])[:SPECTRUM_COMPONENTS]
        self.spectrum = LogisticMixture(np.zeros((n_bins, SPECTRUM_COMPONENTS)),
                                        np.outer(0.5 * mean_abs, relative))
        self.register_buffer("band_of_bin", torch.as_tensor(
            np.repeat(np.arange(len(band_edges) - 1), np.diff(band_edges))))
        band_abs = np.array([mean_abs[a:b].mean() for a, b in zip(band_edges[:-1], band_edges[1:])])
        self.band_spectrum = LogisticMixture(np.zeros((len(band_abs), SPECTRUM_COMPONENTS)),
                                             np.outer(0.5 * band_abs, relative))
        self.band_edges = np.asarray(band_edges)
        self.log_step = nn.Parameter(torch.tensor(math.log(envelope_step)),
                                     requires_grad=train_step)
        self.register_buffer("dct", torch.tensor(cepstral.dct_matrix(y.shape[1], n_bins),
                                                 dtype=torch.float32))

    @property
    def envelope_step(self) -> float:
        return float(torch.exp(self.log_step.detach()))

    def flatten(self, x: torch.Tensor, y_hat: torch.Tensor) -> torch.Tensor:
        """w = X / ŝ with ŝ = exp(Dᵀŷ) clipped as in ``dsp.envelope.envelope_from_cepstrum``."""
        log_envelope = torch.clamp(y_hat @ self.dct, *cepstral.LOG_ENVELOPE_RANGE)
        return x * torch.exp(-log_envelope)

    def band_log_pdf(self, w: torch.Tensor) -> torch.Tensor:
        """log f(w) under the band-tied models, (batch, F)."""
        band = self.band_spectrum
        z = (w[..., None] - band.means[self.band_of_bin]) * torch.exp(-band.log_scales[self.band_of_bin])
        log_f = -z - band.log_scales[self.band_of_bin] - 2.0 * nn.functional.softplus(-z)
        log_weights = torch.log_softmax(band.logits, dim=-1)[self.band_of_bin]
        return torch.logsumexp(log_weights + log_f, dim=-1)

    def bits(self, x: torch.Tensor, y: torch.Tensor, noise: Optional[torch.Tensor]) -> Dict:
        """Bits per frame (batch,) of envelope, spectrum (per bin) and spectrum (per band).

        ``noise`` (batch, K) in [-1/2, 1/2) replaces the rounding (training); None rounds
        (evaluation, as the codec does).
        """
        step = torch.exp(self.log_step)
        if noise is None:
            y_hat = step * torch.round(y / step)
        else:
            y_hat = y + step * noise
        envelope_bits = -LOG2E * self.envelope.log_bin_probability(y_hat, step).sum(-1)
        w = self.flatten(x, y_hat)
        spectrum_bits = -LOG2E * self.spectrum.log_pdf(w).sum(-1)
        band_bits = -LOG2E * self.band_log_pdf(w.detach()).sum(-1)
        return {"envelope": envelope_bits, "spectrum": spectrum_bits, "band_spectrum": band_bits}


def prepare(spectra: np.ndarray) -> tuple:
    """Training tensors: MDCT frames X (n, F) and their cepstra y (n, K), float32."""
    y = cepstral.cepstrum(spectra)
    return torch.as_tensor(spectra, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)


def initial_net(spectra: np.ndarray, envelope_step: float, train_step: bool = True) -> SourceModelNet:
    """A :class:`SourceModelNet` initialized from (a subset of) the training frames."""
    subset = spectra[:: max(1, spectra.shape[0] // 20000)]
    w = cepstral.flatten_by_quantized_envelope(subset, envelope_step)
    return SourceModelNet(cepstral.cepstrum(subset), w, envelope_step, train_step)


def evaluate(net: SourceModelNet, spectra: np.ndarray, batch_frames: int = 5000) -> Dict[str, float]:
    """Mean bits per frame on ``spectra`` with the envelope rounded as in the codec."""
    x, y = prepare(spectra)
    totals = {"envelope": 0.0, "spectrum": 0.0, "band_spectrum": 0.0}
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_frames):
            bits = net.bits(x[start:start + batch_frames], y[start:start + batch_frames], None)
            for name in totals:
                totals[name] += float(bits[name].sum())
    result = {name: total / x.shape[0] for name, total in totals.items()}
    result["cost"] = result["envelope"] + result["spectrum"]
    return result


def train(spectra: np.ndarray, envelope_step: float, settings: TrainingSettings = TrainingSettings(),
          progress: bool = True, description: str = "training") -> SourceModelNet:
    """Train the source models (and Δq unless ``settings.train_step`` is False) by eq. 6.

    Parameters
    ----------
    spectra : np.ndarray, shape (n, F)
        MDCT frames of the training split (active speech, as ``hybridcodec.training.fit.speech_spectra``).
    envelope_step : float
        Initial (or, with ``train_step=False``, fixed) Δq.
    settings : TrainingSettings
    progress : bool
        Show a tqdm progress bar with the running cost in bits per frame.

    Returns
    -------
    SourceModelNet
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: one thread is faster, and far faster on a busy CPU
    try:
        return _train(spectra, envelope_step, settings, progress, description)
    finally:
        torch.set_num_threads(threads)


def _train(spectra, envelope_step, settings, progress, description) -> SourceModelNet:
    from tqdm import tqdm

    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    net = initial_net(spectra, envelope_step, settings.train_step)
    x, y = prepare(spectra)
    n_batches = max(1, x.shape[0] // settings.batch_frames)
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad],
                                 lr=settings.learning_rate)
    decay = (settings.final_learning_rate / settings.learning_rate) ** (1.0 / max(1, settings.epochs * n_batches))
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, decay)
    bar = tqdm(total=settings.epochs * n_batches, desc=description, unit="batch", disable=not progress)
    for _ in range(settings.epochs):
        order = torch.randperm(x.shape[0], generator=generator)
        for b in range(n_batches):
            index = order[b * settings.batch_frames:(b + 1) * settings.batch_frames]
            noise = torch.rand(index.shape[0], y.shape[1], generator=generator) - 0.5
            bits = net.bits(x[index], y[index], noise)
            loss = (bits["envelope"] + bits["spectrum"] + bits["band_spectrum"]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            bar.update()
            cost = (bits["envelope"] + bits["spectrum"]).mean().item()
            bar.set_postfix(bits=f"{cost:.1f}",
                            dq=f"{net.envelope_step:.3f}", refresh=False)
    bar.close()
    return net
