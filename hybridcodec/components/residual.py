"""Residual layers (the ``residual`` slot): CMRL's cascade of small autoencoders coding what
the core left in the MDCT domain, each layer a fixed number of bytes per frame.

``none`` has no layers.  ``cmrl`` codes, after the core at the base rate, K layers
(``dsp.residual_ae`` (R1)-(R2)): layer i reads the residual that the core and layers 1 … i−1
left, and its m symbols are range-coded with a static table per latent learned on the training
split.  A frame whose symbols would overrun the layer's bytes still fits: the last latents
(the least important, as the export orders them) take their most probable symbol, as few as
needed, found by bisection (fewer replaced symbols never cost fewer bits than more, as the most
probable symbol is the cheapest).  The decoder reads the m symbols whatever the encoder chose.
A layer given fewer bytes than its m most probable symbols need (only in a file's last frames)
is not coded, on both sides.  Weights: ``hybridcodec/data/residual-<digest>.npz``, written by
``hybridcodec train residual`` (``hybridcodec.training.residual_training``).
"""
from functools import cached_property
from typing import List, Sequence, Tuple

import numpy as np

from hybridcodec.dsp.entropy_models import quantize_cdf
from hybridcodec.dsp.range_coder import RangeCoder
from hybridcodec.dsp.residual_ae import decode_symbols, encode_latents, hard_symbols

from ..core.registry import register
from ..errors import ConfigError
from ..formats.hcb import LAYER_RATE_BPS_PER_BYTE
from ..parameters import digest, find_parameter_file, load_parameters

PARAMETER_STEM = "residual"
TABLE_PRECISION_BITS = 15
LAYER_ARRAYS = ("w1", "b1", "w2", "b2", "w3", "b3", "w4", "b4", "centers", "pmf")
"""Arrays of layer i in the parameter file, each named ``layer<i>_<name>``."""


@register("residual", "none")
class NoResidual:
    """No residual layers: the core's frames only."""

    core = None

    def layer_bytes(self, bitrate_bps: int) -> Tuple[int, ...]:
        return ()


class ResidualLayer:
    """One autoencoder of the cascade with its per-latent coding tables."""

    def __init__(self, weights):
        self.weights = weights
        self.cdfs = [quantize_cdf(p, TABLE_PRECISION_BITS) for p in weights["pmf"]]
        self.most_probable = np.argmax(weights["pmf"], axis=1)
        self.min_bytes = len(self._coded(self.most_probable))

    def _coded(self, symbols: np.ndarray) -> bytes:
        coder = RangeCoder.encoder(4 * len(symbols) + 16)
        for cdf, symbol in zip(self.cdfs, symbols):
            coder.encode_symbol(cdf, int(symbol))
        return coder.finish()

    def encode(self, r: np.ndarray, budget: int) -> Tuple[bytes, np.ndarray]:
        """(payload of at most ``budget`` bytes, symbols coded) of residual ``r``."""
        symbols = hard_symbols(encode_latents(self.weights, r), self.weights["centers"])
        lo, hi = 0, len(symbols)           # replace the last `kept..` latents: bisection
        while lo < hi:
            mid = (lo + hi) // 2
            if len(self._coded(self._kept(symbols, len(symbols) - mid))) <= budget:
                hi = mid
            else:
                lo = mid + 1
        symbols = self._kept(symbols, len(symbols) - lo)
        return self._coded(symbols), symbols

    def _kept(self, symbols: np.ndarray, n_kept: int) -> np.ndarray:
        return np.concatenate((symbols[:n_kept], self.most_probable[n_kept:]))

    def decode(self, payload: bytes) -> Tuple[np.ndarray, int]:
        """(symbols, bits read) of a payload."""
        coder = RangeCoder.decoder(payload)
        symbols = np.array([coder.decode_symbol(cdf) for cdf in self.cdfs])
        return symbols, coder.tell()

    def output(self, symbols: np.ndarray) -> np.ndarray:
        return decode_symbols(self.weights, symbols)


@register("residual", "cmrl")
class ResidualLayers:
    """K ≤ ``max_layers`` layers of ``layer_bytes`` bytes per frame each after the core
    configuration ``core``, as many as leave the base ``min_base_bps`` or more."""

    def __init__(self, core: str = "tcx-mixture-pitch", layer_bytes: int = 8,
                 max_layers: int = 2, min_base_bps: int = 6400):
        self.core = core
        self.bytes_per_layer = layer_bytes
        self.max_layers = max_layers
        self.min_base_bps = min_base_bps

    def layer_bytes(self, bitrate_bps: int) -> Tuple[int, ...]:
        """Bytes per frame of each layer at ``bitrate_bps``, or a ConfigError below one layer."""
        layer_bps = LAYER_RATE_BPS_PER_BYTE * self.bytes_per_layer
        count = min(self.max_layers, (bitrate_bps - self.min_base_bps) // layer_bps)
        if count < 1:
            raise ConfigError(f"residual layers need at least {self.min_base_bps + layer_bps} "
                              f"bps ({self.min_base_bps} for the core, {layer_bps} per layer); "
                              f"got {bitrate_bps}")
        return (self.bytes_per_layer,) * int(count)

    @cached_property
    def path(self):
        return find_parameter_file(PARAMETER_STEM)

    @cached_property
    def layers(self) -> List[ResidualLayer]:
        arrays = load_parameters(self.path)
        count = int(arrays["n_layers"])
        if count < self.max_layers:
            raise ConfigError(f"{self.path.name} holds {count} layers, {self.max_layers} needed")
        return [ResidualLayer({name: arrays[f"layer{i}_{name}"] for name in LAYER_ARRAYS})
                for i in range(count)]

    def parameter_digests(self) -> tuple:
        return (digest(self.path),)

    def encode(self, r: np.ndarray, budgets: Sequence[int]) -> Tuple[List[bytes], List[int]]:
        """Payloads (padded to ``budgets``) and bits written of the layers for residual r."""
        payloads, bits = [], []
        for layer, budget in zip(self.layers, budgets):
            payload = b""
            if budget >= layer.min_bytes:
                payload, symbols = layer.encode(r, int(budget))
                r = r - layer.output(symbols)
            payloads.append(payload.ljust(int(budget), b"\0"))
            bits.append(8 * len(payload))
        return payloads, bits

    def decode(self, payloads: Sequence[bytes]) -> Tuple[np.ndarray, List[int]]:
        """Σ_i y_i (normalized domain) of the layers' payloads, and each one's bits."""
        total, bits = 0.0, []
        for layer, payload in zip(self.layers, payloads):
            if len(payload) < layer.min_bytes:
                bits.append(0)
                continue
            symbols, read = layer.decode(payload)
            total = total + layer.output(symbols)
            bits.append(read)
        return total, bits
