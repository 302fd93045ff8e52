"""Trained source models for the ``source_model`` slot, read from ``hybridcodec/data`` (NumPy only).

``logistic-mixture``: the TCX paper's logistic mixtures trained for minimum entropy with a
trained envelope step Δq (``hybridcodec train source-model``, ``learned/``): M = 5 components
per cepstral coefficient (eq. 4) and L = 3 per band of the flattened spectrum (eq. 5, tied over
the 20 bands of ``band_edges``).  Baselines behind the same interface, fitted in the same run:
``gaussian`` (one Gaussian per coefficient, one for all bins, like ``laplacian``) and ``gmm``
(scikit-learn Gaussian mixtures with as many parameters as the logistic ones).

Tables: the codec needs one integer table per (spectrum model, step ratio), 73 ratios each, and
builds them when the pipeline is built.  A mixture per bin (320 × 73 = 23,360 tables) would take
seconds and ~400 MB; 20 band models give 1,460 tables (≈ 1 s, ≈ 25 MB).  Training ties a band
model next to the per-bin one on the same w, so the codec's models are maximum-likelihood fits,
not averages; ``hybridcodec study entropy`` reports what the per-bin model would save on top.

Conventions the rate loop relies on (``dsp.spectrum_coder``): a bin's step grid is
``scale · 2^(r/8)`` and δ(f) = 2^(H1(f) − B(f)); a mixture's ``scale`` is the Laplacian-
equivalent scale 2^H1 / (2e), so the grid sits where it sits for the Laplacian of the same
entropy.  Tables cover the mixture's quantiles at the Laplacian's tail mass (e^-12 / 2 per side);
every value outside is still codable through the ESCAPE.  Every table goes through
``dsp.entropy_models.make_table`` → ``quantize_cdf``.
"""
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Tuple

import numpy as np

from hybridcodec.dsp.entropy_models import Gaussian, LogisticMixture

from ..errors import ConfigError
from ..parameters import find_parameter_file, load_parameters
from ..core.registry import register
from ..table_cache import cached_arrays
from .source_model import SourceModel

PARAMETER_STEM = "logistic-mixture"
VARIANTS = ("trained", "conventional")
"""``trained``: Δq trained by eq. 6; ``conventional``: Δq by the 1 dB rule (models trained at it)."""
TAIL_MASS = 0.5 * math.exp(-12.0)
"""Mass left outside a table on each side: that of the Laplacian tables (mean ± 12 scales)."""
GRID_POINTS = 40_001


@dataclass(frozen=True, eq=False)
class GaussianMixture1D:
    """Mixture of J Gaussians: ``c(x) = Σ_j weights[j] Φ((x − means[j]) / sigmas[j])``."""

    weights: np.ndarray
    means: np.ndarray
    sigmas: np.ndarray

    def __post_init__(self):
        w = np.asarray(self.weights, dtype=np.float64)
        if np.any(w < 0.0) or abs(math.fsum(w) - 1.0) > 1e-6 or np.any(np.asarray(self.sigmas) <= 0):
            raise ValueError("Gaussian mixture needs weights >= 0 summing to 1 and sigmas > 0")
        object.__setattr__(self, "weights", w / math.fsum(w))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        from scipy.special import ndtr  # here, not at import: cached tables need no SciPy

        z = (np.asarray(x, dtype=np.float64)[..., None] - self.means) / self.sigmas
        return ndtr(z) @ self.weights

    def pdf(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float64)[..., None] - self.means) / self.sigmas
        return (np.exp(-0.5 * z * z) / (self.sigmas * math.sqrt(2.0 * math.pi))) @ self.weights


@dataclass(frozen=True, eq=False)
class TabulatedModel:
    """A continuous model with what the table builder needs (see the module docstring).

    Attributes
    ----------
    model : LogisticMixture, GaussianMixture1D or Gaussian
        Gives ``cdf`` (and ``pdf``).
    mu : float
        Median, the centre of a table clipped to 1024 values.
    scale : float
        Laplacian-equivalent scale 2^h1 / (2e).
    support : (float, float)
        Quantiles TAIL_MASS and 1 − TAIL_MASS.
    h1 : float
        Differential entropy in bits (trapezoidal rule on GRID_POINTS points).
    """

    model: Any
    mu: float
    scale: float
    support: Tuple[float, float]
    h1: float

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return self.model.cdf(x)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        return self.model.pdf(x)

    def summary(self) -> np.ndarray:
        """(mu, scale, support low, support high, h1): what ``of`` computes, for the cache."""
        return np.array([self.mu, self.scale, self.support[0], self.support[1], self.h1])

    @classmethod
    def from_summary(cls, model, summary: np.ndarray) -> "TabulatedModel":
        mu, scale, lo, hi, h1 = (float(value) for value in summary)
        return cls(model, mu, scale, (lo, hi), h1)

    @classmethod
    def of(cls, model) -> "TabulatedModel":
        means, spreads = _means_and_spreads(model)
        x = np.linspace(np.min(means - 40.0 * spreads), np.max(means + 40.0 * spreads), GRID_POINTS)
        f = model.pdf(x)
        h1 = float(np.trapezoid(-f * np.log2(np.where(f > 0.0, f, 1.0)), x))
        c = model.cdf(x)
        lo, mu, hi = np.interp([TAIL_MASS, 0.5, 1.0 - TAIL_MASS], c, x)
        return cls(model, float(mu), 2.0**h1 / (2.0 * math.e), (float(lo), float(hi)), h1)


def _means_and_spreads(model) -> tuple:
    if isinstance(model, Gaussian):
        return np.array([model.mu]), np.array([model.sigma])
    if isinstance(model, LogisticMixture):
        return model.means, model.scales
    return model.means, model.sigmas


class TabulatedSourceModel(SourceModel):
    """Source model whose envelope and spectrum models are :class:`TabulatedModel`."""

    def _load(self, parameters: str, variant: str) -> dict:
        if variant not in VARIANTS:
            raise ConfigError(f"unknown variant {variant!r}; allowed: {', '.join(VARIANTS)}")
        path = find_parameter_file(parameters)
        self.parameter_files = [path]
        arrays = load_parameters(path)
        self.variant = variant
        self.envelope_step = float(arrays[f"{variant}_envelope_step"])
        self.band_edges = arrays["band_edges"]
        return {name[len(variant) + 1:]: value for name, value in arrays.items()
                if name.startswith(variant + "_")} | {"n_bins": int(arrays["n_bins"])}

    @cached_property
    def spectrum_h1(self) -> np.ndarray:
        """H1(f) in bits of each bin's model (TCX eq. 10), from the tabulated integral."""
        return np.array([model.h1 for model in self._spectrum])[self._bin_model]

    def table_key(self) -> tuple:
        cls = type(self)
        return (f"{cls.__module__}.{cls.__qualname__}", self.variant,
                tuple(digest.hex() for digest in self.parameter_digests()))

    def _tabulated(self, part: str, models: list) -> list:
        """``[TabulatedModel.of(m) for m in models]``, its grid integrals from the table cache."""
        def build():
            return {"summary": np.array([TabulatedModel.of(m).summary() for m in models])}
        summary = cached_arrays("tabulated", self.table_key() + (part,), build)["summary"]
        return [TabulatedModel.from_summary(m, row) for m, row in zip(models, summary)]

    def _band_bins(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.band_edges) - 1), np.diff(self.band_edges)).astype(np.int64)


def _mixtures(arrays: dict, part: str, kind=LogisticMixture, spread: str = "scales") -> list:
    weights, means, spreads = (arrays[f"{part}_{name}"] for name in ("weights", "means", spread))
    return [kind(w, m, s) for w, m, s in zip(weights, means, spreads)]


@register("source_model", "logistic-mixture")
class LogisticMixtureSourceModel(TabulatedSourceModel):
    """Logistic mixtures trained for minimum entropy (eq. 4-6): M = 5 per cepstral coefficient,
    L = 3 per band of the flattened spectrum, with the trained Δq (``variant="trained"``) or the
    models trained at the 1 dB Δq (``variant="conventional"``)."""

    def __init__(self, parameters: str = PARAMETER_STEM, variant: str = "trained"):
        arrays = self._load(parameters, variant)
        self._envelope = self._tabulated("envelope", _mixtures(arrays, "envelope"))
        self._spectrum = self._tabulated("band", _mixtures(arrays, "band"))
        self._bin_model = self._band_bins()


@register("source_model", "gaussian")
class GaussianSourceModel(TabulatedSourceModel):
    """Gaussians: one per cepstral coefficient (mean, standard deviation) and one zero-mean
    Gaussian (rms of w) shared by all bins; Δq by the 1 dB rule unless ``variant="trained"``."""

    def __init__(self, parameters: str = PARAMETER_STEM, variant: str = "conventional"):
        arrays = self._load(parameters, variant)
        self._envelope = self._tabulated("envelope", [
            Gaussian(float(m), float(s))
            for m, s in zip(arrays["gauss_envelope_mu"], arrays["gauss_envelope_sigma"])])
        self._spectrum = self._tabulated(
            "spectrum", [Gaussian(0.0, float(arrays["gauss_spectrum_sigma"]))])
        self._bin_model = np.zeros(arrays["n_bins"], dtype=np.int64)


@register("source_model", "gmm")
class GaussianMixtureSourceModel(TabulatedSourceModel):
    """Diagonal Gaussian mixtures (scikit-learn EM) with the logistic mixtures' number of
    parameters: M = 5 per cepstral coefficient, L = 3 per band of the flattened spectrum."""

    def __init__(self, parameters: str = PARAMETER_STEM, variant: str = "conventional"):
        arrays = self._load(parameters, variant)
        self._envelope = self._tabulated(
            "envelope", _mixtures(arrays, "gmm_envelope", GaussianMixture1D, "sigmas"))
        self._spectrum = self._tabulated(
            "band", _mixtures(arrays, "gmm_band", GaussianMixture1D, "sigmas"))
        self._bin_model = self._band_bins()
