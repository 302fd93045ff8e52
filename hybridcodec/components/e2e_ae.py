"""The end-to-end autoencoder ``e2e-ae`` (``spectrum_quantizer`` slot): Kankanahalli's speech
autoencoder codes the frame's 320 time samples (the ``folded-time`` transform, no envelope).

One model per target rate (``hybridcodec train e2e-ae``, entropy-controlled toward its target,
sec. 2.3).  Field layout: the model index m + 1 (0: a silent frame, nothing else coded), the
frame's gain index (``dsp.e2e_ae.GAIN_BITS`` raw bits; the autoencoder codes the frame divided
by that gain, so the code length hardly depends on the level or the speaker), then
the L = 160 latent symbols, range-coded with model m's learned table (the hard-assignment
histogram h of eq. 6 on the training frames).  Budget rule: the encoder takes the model of the
largest rate ≤ the frame's budget when its code fits (the entropy control holds the rate on
average, a costly frame takes more); otherwise, by analysis by synthesis, the model whose
fitted code decodes closest to the frame, where fitting replaces the model's least important
symbols — the smallest latent distortion (B_s − B_mode)² per bit saved — by the most probable
one until the frame fits.  A silent frame when no model fits even with the all-mode latent,
or when the frame lies below the gain grid; below the lowest model's rate that would be every
frame, so the configuration refuses such bitrates (``min_bitrate_bps``).

Run-time entropy control (extension of sec. 2.3 to the encoder, :class:`EntropyControl`): the
λ-adjustment rule sets a model's rate on the training speech, but a speaker whose latent is
cheaper or dearer moves it (on held-out speakers the rate fell 1.3-2.1 kbps below the target at
16.4 and 24.4 kbps).  So each stream's encoder codes the gain index k steps below the frame's
(the autoencoder sees a frame 2^(k/4) louder, which spreads its latent over more centers, and
the decoder multiplies back by the coded gain), with k steered frame by frame toward the
model's target.  The decoder is unchanged: it reads the coded gain.  Every step is a
deterministic function of the frames so far.

NumPy inference only (``dsp.e2e_ae``); weights in ``hybridcodec/data/e2e-ae-<digest>.npz``.
"""
from dataclasses import dataclass
from functools import cached_property
from typing import Dict, List, Optional, Tuple

import numpy as np

from hybridcodec.dsp import e2e_ae
from hybridcodec.dsp.entropy_models import quantize_cdf
from hybridcodec.dsp.range_coder import RangeCoder

from ..core.geometry import FRAME_DURATION_MS, N_BINS
from ..core.registry import register
from ..parameters import digest, find_parameter_file, load_parameters
from .spectrum_quantizer import SpectrumReport

PARAMETER_STEM = "e2e-ae"
MODEL_PROBABILITIES = np.array([1.0, 1000.0, 1000.0, 1000.0])
"""Of the coded index m + 1: 0 a silent frame (rare), else model m (≤ 1.6 bits a frame)."""
ESTIMATE_MARGIN_BITS = 16
FRAMES_PER_SECOND = 1000 // FRAME_DURATION_MS
CONTROL_RATE = 0.4
"""η of the run-time entropy control: gain steps per unit of a frame's relative rate error."""
MAX_GAIN_OFFSET = 8
"""|k| ≤ 8 gain steps (2 octaves)."""


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


@dataclass
class EntropyControl:
    """The run-time entropy control of one stream (module doc): the gain offset k = round(u),
    |k| ≤ MAX_GAIN_OFFSET, where u integrates each frame's relative rate error,

        u ← u + η (target − bits) / target,    bits = Σ −log2 h(s_i) of the frame's symbols,

    the λ-adjustment rule's feedback with the gain in place of λ (u is held within the
    offsets' range, so that it does not wind up)."""

    u: float = 0.0

    def offset(self) -> int:
        return int(np.floor(self.u + 0.5))

    def coded_gain_index(self, gain_index: int) -> int:
        """The gain index to code for a frame at ``gain_index``: k steps lower, on the grid."""
        return int(np.clip(gain_index - self.offset(), 0, (1 << e2e_ae.GAIN_BITS) - 1))

    def update(self, model: RateModel, symbols: np.ndarray):
        """Take the code length of a frame's ``symbols`` under ``model`` into account."""
        target = model.target_bps / FRAMES_PER_SECOND
        error = (target - model.cost_bits[symbols].sum()) / target
        self.u = float(np.clip(self.u + CONTROL_RATE * error, -MAX_GAIN_OFFSET, MAX_GAIN_OFFSET))


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

    side_bits = 0
    """No side fields apart from the spectrum's: the model index and the gain count with it."""

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

    @cached_property
    def min_bitrate_bps(self) -> int:
        """The lowest model's rate: below it not even the all-mode latent fits a frame, and
        every frame would be silent."""
        return self.models[0].rate_bps

    def encoder(self) -> "StreamEncoder":
        """The encoder side of one stream, with its own run-time entropy control."""
        return StreamEncoder(self)

    def symbols(self, model: RateModel, w: np.ndarray, gain_index: int) -> np.ndarray:
        """Latent symbols of frame ``w`` divided by its gain: encoder, then the nearest center
        (eq. 1-2, σ → ∞)."""
        z = e2e_ae.encode(model.params, self.input_scale / e2e_ae.gain(gain_index) * w)
        return e2e_ae.nearest_center(z, model.centers)

    def frame(self, model: RateModel, symbols: np.ndarray, gain_index: int) -> np.ndarray:
        """The decoded frame of ``symbols``, multiplied back by its gain."""
        y = e2e_ae.decode(model.params, model.centers[symbols])
        return e2e_ae.gain(gain_index) / self.input_scale * y

    def _replacement_order(self, model: RateModel, symbols: np.ndarray) -> np.ndarray:
        """Symbols that are not the mode, least latent distortion per bit saved first."""
        candidates = np.flatnonzero(symbols != model.mode)
        distortion = (model.centers[symbols[candidates]] - model.centers[model.mode]) ** 2
        saved = np.maximum(model.cost_bits[symbols[candidates]] - model.cost_bits[model.mode],
                           1e-9)
        return candidates[np.argsort(distortion / saved, kind="stable")]

    @cached_property
    def model_cdf(self) -> np.ndarray:
        return quantize_cdf(MODEL_PROBABILITIES[:len(self.models) + 1])

    def _write(self, coder: RangeCoder, index: int, gain_index: int, symbols: np.ndarray):
        """Model ``index``, the gain index and the ``symbols`` (module doc: field layout)."""
        coder.encode_symbol(self.model_cdf, index + 1)
        coder.encode_bits(gain_index, e2e_ae.GAIN_BITS)
        e2e_ae.encode_symbols(coder.state, coder.buf, self.models[index].cdf, symbols)

    def _trial(self, coder: RangeCoder, index: int, gain_index: int,
               symbols: np.ndarray) -> RangeCoder:
        """A copy of ``coder`` with the frame's fields written."""
        trial = RangeCoder(coder.state.copy(), coder.buf.copy(), True)
        self._write(trial, index, gain_index, symbols)
        return trial

    def fit(self, coder: RangeCoder, index: int, gain_index: int, symbols: np.ndarray,
            budget_bits: int) -> Tuple[bool, np.ndarray]:
        """(coded, symbols) of model ``index`` that fit ``budget_bits`` after what ``coder``
        holds: the fewest least important symbols replaced by the mode (estimated from the
        table costs, then checked by coding), or not coded when even the all-mode latent
        overruns."""
        model = self.models[index]
        order = self._replacement_order(model, symbols)
        savings = np.cumsum(model.cost_bits[symbols[order]] - model.cost_bits[model.mode])
        excess = (coder.tell_frac() + e2e_ae.GAIN_BITS + model.cost_bits[symbols].sum()
                  - (budget_bits - ESTIMATE_MARGIN_BITS))
        n = int(np.searchsorted(savings, excess)) if excess > 0 else 0
        while True:
            fitted = symbols.copy()
            fitted[order[:n]] = model.mode
            if self._trial(coder, index, gain_index, fitted).tell() <= budget_bits:
                return True, fitted
            if n >= order.size:
                return False, fitted
            n = min(order.size, n + 4)

    def controlled_symbols(self, model: RateModel, w: np.ndarray, gain_index: int,
                           control: Optional[EntropyControl]) -> Tuple[int, np.ndarray]:
        """(coded gain index, symbols) of frame ``w`` at ``gain_index`` under ``control``
        (the gain index itself without one), which then takes the symbols into account."""
        if control is None:
            return gain_index, self.symbols(model, w, gain_index)
        gain_index = control.coded_gain_index(gain_index)
        symbols = self.symbols(model, w, gain_index)
        control.update(model, symbols)
        return gain_index, symbols

    def choose(self, coder: RangeCoder, w: np.ndarray, budget_bits: int,
               control: Optional[EntropyControl] = None
               ) -> Tuple[Optional[int], int, np.ndarray]:
        """(model index or None for a silent frame, coded gain index, symbols) of frame ``w``
        (module doc)."""
        gain_index = e2e_ae.gain_index(w)
        if gain_index < 0:
            return None, gain_index, np.zeros(0, dtype=np.int64)
        top = self.model_index(budget_bits)
        gain_index, symbols = self.controlled_symbols(self.models[top], w, gain_index, control)
        if self._trial(coder, top, gain_index, symbols).tell() <= budget_bits:
            return top, gain_index, symbols
        return self._closest_fit(coder, w, gain_index, budget_bits, top)

    def _closest_fit(self, coder: RangeCoder, w: np.ndarray, gain_index: int,
                     budget_bits: int, top: int) -> Tuple[Optional[int], int, np.ndarray]:
        """Analysis by synthesis: of the models ``top`` … 0, each cut to fit by :meth:`fit`,
        the one whose decoded frame is closest to ``w`` (squared error); silent if none fits."""
        best, best_error = (None, gain_index, np.zeros(0, dtype=np.int64)), np.inf
        for index in range(top, -1, -1):
            model = self.models[index]
            coded, symbols = self.fit(coder, index, gain_index,
                                      self.symbols(model, w, gain_index), budget_bits)
            error = np.sum((w - self.frame(model, symbols, gain_index)) ** 2)
            if coded and error < best_error:
                best, best_error = (index, gain_index, symbols), error
        return best

    def encode(self, coder: RangeCoder, w: np.ndarray, log2_weights: np.ndarray,
               budget_bits: int, frame_index: int, harmonic_lag: float = 0.0,
               control: Optional[EntropyControl] = None) -> SpectrumReport:
        """Write the model index, the gain and the latent symbols so that the frame fits
        ``budget_bits`` (at the gain offset of ``control``, which then takes the frame into
        account; none without it)."""
        index, gain_index, symbols = self.choose(coder, w, budget_bits, control)
        if index is None:
            coder.encode_symbol(self.model_cdf, 0)
            return self._report(None, None)
        self._write(coder, index, gain_index, symbols)
        return self._report(index, symbols)

    def decode(self, coder: RangeCoder, log2_weights: np.ndarray, budget_bits: int,
               frame_index: int, harmonic_lag: float = 0.0) -> Tuple[np.ndarray, SpectrumReport]:
        """Read the model index, the gain and the symbols; return the decoded frame and what
        was read."""
        coded = coder.decode_symbol(self.model_cdf)
        if not coded:
            return np.zeros(self.n_bins), self._report(None, None)
        model = self.models[coded - 1]
        gain_index = coder.decode_bits(e2e_ae.GAIN_BITS)
        symbols = e2e_ae.decode_symbols(coder.state, coder.buf, model.cdf,
                                         self.n_bins // e2e_ae.RESAMPLING)
        return self.frame(model, symbols, gain_index), self._report(coded - 1, symbols)

    def _report(self, index: Optional[int], symbols) -> SpectrumReport:
        """target_index: the model (−1 for a silent frame); coded_bins: symbols coded;
        nonzero_bins: those that are not the model's mode."""
        if index is None:
            return SpectrumReport(-1, 0, 0, 0, np.full(self.n_bins, np.inf))
        differ = int(np.count_nonzero(symbols != self.models[index].mode))
        return SpectrumReport(index, 0, symbols.size, differ, np.full(self.n_bins, np.inf))


class StreamEncoder:
    """:class:`EndToEndAutoencoder` on the encoder side of one stream: its ``encode`` with the
    stream's :class:`EntropyControl`."""

    def __init__(self, quantizer: EndToEndAutoencoder):
        self.quantizer = quantizer
        self.control = EntropyControl()

    def encode(self, coder: RangeCoder, w: np.ndarray, log2_weights: np.ndarray,
               budget_bits: int, frame_index: int, harmonic_lag: float = 0.0) -> SpectrumReport:
        return self.quantizer.encode(coder, w, log2_weights, budget_bits, frame_index,
                                     harmonic_lag, self.control)
