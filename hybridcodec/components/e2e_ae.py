"""The end-to-end autoencoder ``e2e-ae`` (``spectrum_quantizer`` slot): Kankanahalli's speech
autoencoder codes the frame's 320 time samples (the ``folded-time`` transform, no envelope).

Field layout: a flag (coded / silent; silent only when not even the all-mode latent fits the
frame), then the L = 160 latent symbols, each range-coded with the learned table of its model
(the hard-assignment histogram h of eq. 6 on the training frames).  One model per target rate
(``hybridcodec train e2e-ae``, entropy-controlled toward its target, sec. 2.3); a frame uses the
model of the largest rate ≤ its budget (the lowest below 9.6 kbps), so both sides pick it from
the budget alone.  Budget rule: while the code would overrun the frame, the encoder replaces the
least important symbols — the smallest latent distortion (B_s − B_mode)² per bit saved — by the
most probable one; every step is a deterministic function of the frame.  NumPy inference only
(``dsp.e2e_ae``); weights in ``hybridcodec/data/e2e-ae-<digest>.npz``.
"""
from dataclasses import dataclass
from functools import cached_property
from typing import Dict, List, Tuple

import numpy as np

from hybridcodec.dsp import e2e_ae
from hybridcodec.dsp.entropy_models import quantize_cdf
from hybridcodec.dsp.range_coder import RangeCoder

from ..core.geometry import FRAME_DURATION_MS, N_BINS
from ..core.registry import register
from ..parameters import digest, find_parameter_file, load_parameters
from .spectrum_quantizer import SpectrumReport

PARAMETER_STEM = "e2e-ae"
FLAG_CDF = quantize_cdf(np.array([1.0, 1023.0]), precision_bits=10)
"""Flag 0: a silent frame (nothing else coded), 1: the latent follows (~0.0014 bits)."""
ESTIMATE_MARGIN_BITS = 16
FRAMES_PER_SECOND = 1000 // FRAME_DURATION_MS


@dataclass(frozen=True)
class RateModel:
    """One trained autoencoder: its weights (float64), centers B, symbol table and target."""

    rate_bps: int
    target_bps: float
    params: Dict[str, np.ndarray]
    cdf: np.ndarray

    @cached_property
    def centers(self) -> np.ndarray:
        return self.params["quantizer.centers"]

    @cached_property
    def cost_bits(self) -> np.ndarray:
        """−log2 of each symbol's coded probability."""
        return np.log2(float(self.cdf[-1])) - np.log2(np.diff(self.cdf).astype(np.float64))

    @cached_property
    def mode(self) -> int:
        return int(np.argmax(np.diff(self.cdf)))


def rate_models(arrays: Dict[str, np.ndarray]) -> List[RateModel]:
    """The models of a parameter file, lowest rate first (layout: learned.e2e_ae export)."""
    models = []
    for rate in sorted(int(r) for r in arrays["rates_bps"]):
        prefix = f"r{rate}_"
        params = {name[len(prefix):]: value for name, value in arrays.items()
                  if name.startswith(prefix)}
        models.append(RateModel(rate, float(params.pop("target_bps")), params,
                                quantize_cdf(params.pop("probabilities"))))
    return models


@register("spectrum_quantizer", "e2e-ae")
class EndToEndAutoencoder:
    """Codes the folded-time frame with the autoencoder of the frame's rate (module doc)."""

    def __init__(self, n_bins: int = N_BINS):
        self.n_bins = n_bins

    @cached_property
    def path(self):
        return find_parameter_file(PARAMETER_STEM)

    @cached_property
    def _arrays(self) -> Dict[str, np.ndarray]:
        return load_parameters(self.path)

    @cached_property
    def models(self) -> List[RateModel]:
        return rate_models(self._arrays)

    @cached_property
    def input_scale(self) -> float:
        return float(self._arrays["input_scale"])

    def parameter_digests(self) -> tuple:
        """The shipped weights' digest (recorded in the header)."""
        return (digest(self.path),)

    def model_index(self, budget_bits: int) -> int:
        """The model of the largest rate ≤ the frame's budget (0 below the lowest)."""
        rates = np.array([m.rate_bps for m in self.models])
        return max(0, int(np.searchsorted(rates, budget_bits * FRAMES_PER_SECOND, "right")) - 1)

    def symbols(self, model: RateModel, w: np.ndarray) -> np.ndarray:
        """Latent symbols of frame ``w``: encoder, then the nearest center (eq. 1-2, σ → ∞)."""
        z = e2e_ae.encode(model.params, self.input_scale * w)
        return e2e_ae.nearest_center(z, model.centers)

    def frame(self, model: RateModel, symbols: np.ndarray) -> np.ndarray:
        """The decoded frame of ``symbols``."""
        return e2e_ae.decode(model.params, model.centers[symbols]) / self.input_scale

    def _replacement_order(self, model: RateModel, symbols: np.ndarray) -> np.ndarray:
        """Symbols that are not the mode, least latent distortion per bit saved first."""
        candidates = np.flatnonzero(symbols != model.mode)
        distortion = (model.centers[symbols[candidates]] - model.centers[model.mode]) ** 2
        saved = np.maximum(model.cost_bits[symbols[candidates]] - model.cost_bits[model.mode],
                           1e-9)
        return candidates[np.argsort(distortion / saved, kind="stable")]

    def _trial(self, coder: RangeCoder, model: RateModel, symbols: np.ndarray) -> RangeCoder:
        trial = RangeCoder(coder.state.copy(), coder.buf.copy(), True)
        trial.encode_symbol(FLAG_CDF, 1)
        e2e_ae.encode_symbols(trial.state, trial.buf, model.cdf, symbols)
        return trial

    def fit(self, coder: RangeCoder, model: RateModel, symbols: np.ndarray,
            budget_bits: int) -> Tuple[bool, np.ndarray]:
        """(coded, symbols) that fit ``budget_bits`` after what ``coder`` holds: the fewest
        least important symbols replaced by the mode (estimated from the table costs, then
        checked by coding), or not coded when even the all-mode latent overruns."""
        order = self._replacement_order(model, symbols)
        savings = np.cumsum(model.cost_bits[symbols[order]] - model.cost_bits[model.mode])
        excess = (coder.tell_frac() + model.cost_bits[symbols].sum()
                  - (budget_bits - ESTIMATE_MARGIN_BITS))
        n = int(np.searchsorted(savings, excess)) if excess > 0 else 0
        while True:
            fitted = symbols.copy()
            fitted[order[:n]] = model.mode
            if self._trial(coder, model, fitted).tell() <= budget_bits:
                return True, fitted
            if n >= order.size:
                return False, fitted
            n = min(order.size, n + 4)

    def encode(self, coder: RangeCoder, w: np.ndarray, log2_weights: np.ndarray,
               budget_bits: int, frame_index: int, harmonic_lag: float = 0.0) -> SpectrumReport:
        """Write the flag and the latent symbols so that the frame fits ``budget_bits``."""
        index = self.model_index(budget_bits)
        model = self.models[index]
        coded, symbols = self.fit(coder, model, self.symbols(model, w), budget_bits)
        coder.encode_symbol(FLAG_CDF, int(coded))
        if coded:
            e2e_ae.encode_symbols(coder.state, coder.buf, model.cdf, symbols)
        return self._report(index, model, symbols if coded else None)

    def decode(self, coder: RangeCoder, log2_weights: np.ndarray, budget_bits: int,
               frame_index: int, harmonic_lag: float = 0.0) -> Tuple[np.ndarray, SpectrumReport]:
        """Read the flag and the symbols; return the decoded frame and what was read."""
        index = self.model_index(budget_bits)
        model = self.models[index]
        if not coder.decode_symbol(FLAG_CDF):
            return np.zeros(self.n_bins), self._report(index, model, None)
        n_symbols = self.n_bins // 2
        symbols = e2e_ae.decode_symbols(coder.state, coder.buf, model.cdf, n_symbols)
        return self.frame(model, symbols), self._report(index, model, symbols)

    def _report(self, index: int, model: RateModel, symbols) -> SpectrumReport:
        """target_index: the model; coded_bins: symbols coded; nonzero_bins: those ≠ the mode."""
        coded = 0 if symbols is None else symbols.size
        differ = 0 if symbols is None else int(np.count_nonzero(symbols != model.mode))
        return SpectrumReport(index, 0, coded, differ, np.full(self.n_bins, np.inf))
