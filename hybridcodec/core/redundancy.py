"""In-band redundancy for packet streams: a coarse copy of the previous frame's low band.

Why the low band: on training clips at 16.4 kbps with 5 % random loss, concealment that is given
the lost frame's true MDCT coefficients below 1.6 kHz (and conceals the rest) scores PESQ-WB
3.76 against 3.19 for concealment alone and 4.06 without loss; the true coefficients above
1.6 kHz give nothing measurable (3.22).  The first few harmonics decide the score, and no
extrapolation from the neighbours predicts their phase over 30 ms (the waveform SNR of pitch
extension over a lost frame is about 0 dB).  So packet t + 1 carries ``n_bytes`` bytes that
code frame t's lowest ``LOW_BINS`` coefficients (0 … 600 Hz) coarsely, like the low-bitrate
redundancy of Opus (LBRR) but for the band that matters.  With the exact lowest 16 / 32 / 64
coefficients the same runs score 3.64 / 3.86 / 3.98; in 6 bytes, 24 coefficients at about
2 bits each did best (3.66, against 3.63 for 32 and 3.52 for 16).

Layout (one range-coded block, zero-padded to ``n_bytes``):

    mode        2 bits: 0 = no copy; 1 … 3 = quantization step ``STEP_FACTORS[mode - 1]`` × r,
                where r is the coded RMS of the band
    gain        log2 r in quarter steps (1.5 dB), coded as the difference to the same quantity
                of frame t + 1's decoded low band (Laplace table, escapes for large jumps)
    values      q_k = round(X_t(k) / step), k < LOW_BINS, each with a discrete Laplace table
                whose scale is CONTEXT_SLOPE |X̂_{t+1}(k)| / step + CONTEXT_FLOOR (the decoded
                next frame is known to the decoder whenever this block is: it arrives in the
                same packet), with |X̂_{t+1}| smoothed over three bins

The encoder takes the finest step whose block fits ``n_bytes``; the decoder restores
X_t(k) ≈ q_k × step.  Context constants and step factors were fitted on the training split
(ideal code length 34 bits/frame with the context against 39 without, at step 1.2 r).
Sending copies only for frames with a strong low band (a length byte saying which) scored
lower on the same runs (3.46 at 55 % of frames copied): even quiet frames gain from a copy.
"""
from functools import lru_cache
from typing import Optional

import numpy as np

from hybridcodec.dsp.entropy_models import Laplace, make_table, make_tableset
from hybridcodec.dsp.range_coder import RangeCoder, TableSet

from ..errors import BitstreamError

LOW_BINS = 24
"""MDCT coefficients copied (25 Hz each: 0 … 600 Hz)."""
STEP_FACTORS = (0.85, 1.2, 1.7)
"""Quantization step of modes 1 … 3, relative to the band's RMS r."""
MODE_BITS = 2
GAIN_QUARTERS = 4
"""Gain resolution: log2 r in steps of 1/4 (1.5 dB)."""
GAIN_RANGE = (-96, 48)
"""Quarter-step range of log2 r (2^-24 … 2^12): quieter bands are not copied."""
GAIN_DELTA_SCALE = 2.6
"""Laplace scale of the gain difference to the next frame, in quarter steps (train split:
standard deviation 3.6 quarter steps = √2 × 2.6)."""
CONTEXT_SLOPE = 0.8
CONTEXT_FLOOR = 0.2
SCALE_GRID = np.geomspace(0.1, 40.0, 24)
"""Laplace scales (in steps) with a table each; a bin uses the nearest in log scale."""


@lru_cache(maxsize=1)
def _value_tables() -> TableSet:
    return make_tableset([make_table(Laplace(0.0, s), 1.0) for s in SCALE_GRID])


@lru_cache(maxsize=1)
def _gain_tables() -> TableSet:
    return make_tableset([make_table(Laplace(0.0, GAIN_DELTA_SCALE), 1.0)])


def copy_bytes(redundancy_bytes: int, payload_bytes: int, full_bytes: int) -> int:
    """Bytes of copy at the end of a payload: R for a full-size payload, 0 for the squeezed
    tail frames of a stream (the one rule both the encoder and the decoder follow)."""
    return redundancy_bytes if payload_bytes == full_bytes else 0


def _gain_quarters(band: np.ndarray) -> int:
    """round(4 log2 RMS) of ``band``, clipped to GAIN_RANGE."""
    rms = float(np.sqrt(np.mean(np.square(band))))
    if rms <= 0.0 or not np.isfinite(rms):
        return GAIN_RANGE[0]
    return int(np.clip(np.round(GAIN_QUARTERS * np.log2(rms)), *GAIN_RANGE))


def _table_index(next_spectrum: np.ndarray, step: float) -> np.ndarray:
    """Per-bin table: the scale CONTEXT_SLOPE |X̂_{t+1}| / step + CONTEXT_FLOOR on SCALE_GRID."""
    context = np.convolve(np.abs(next_spectrum[:LOW_BINS]), [0.25, 0.5, 0.25], mode="same")
    scale = CONTEXT_SLOPE * context / step + CONTEXT_FLOOR
    log_grid = np.log(SCALE_GRID)
    nearest = np.abs(np.log(scale)[:, None] - log_grid[None, :]).argmin(axis=1)
    return nearest.astype(np.int64)


def encode(spectrum: np.ndarray, next_spectrum: np.ndarray, n_bytes: int) -> bytes:
    """The ``n_bytes``-byte redundant copy of frame t's low band.

    Parameters
    ----------
    spectrum : ndarray, shape (320,)
        X_t, the encoder's MDCT of frame t.
    next_spectrum : ndarray, shape (320,)
        X̂_{t+1}, frame t + 1 as the decoder decodes it (the coding context).
    n_bytes : int
        Size of the block (≥ 1).
    """
    band = spectrum[:LOW_BINS]
    gain = _gain_quarters(band)
    if gain > GAIN_RANGE[0]:
        for mode in range(1, len(STEP_FACTORS) + 1):
            coder = _encoded(band, gain, mode, next_spectrum, n_bytes)
            if coder.tell() <= 8 * n_bytes and not coder.overflow:
                return coder.finish().ljust(n_bytes, b"\0")
    coder = RangeCoder.encoder(n_bytes)
    coder.encode_bits(0, MODE_BITS)
    return coder.finish().ljust(n_bytes, b"\0")


def _encoded(band, gain, mode, next_spectrum, n_bytes) -> RangeCoder:
    coder = RangeCoder.encoder(n_bytes + 16)
    coder.encode_bits(mode, MODE_BITS)
    coder.encode_value(_gain_tables(), 0, gain - _gain_quarters(next_spectrum[:LOW_BINS]))
    step = _step(gain, mode)
    q = np.clip(np.round(band / step), -1000, 1000).astype(np.int64)
    coder.encode_values(_value_tables(), _table_index(next_spectrum, step), q)
    return coder


def _step(gain: int, mode: int) -> float:
    return STEP_FACTORS[mode - 1] * 2.0 ** (gain / GAIN_QUARTERS)


def decode(data: bytes, next_spectrum: np.ndarray) -> Optional[np.ndarray]:
    """Frame t's low band X̂_t(k), k < LOW_BINS, from its copy; None when the copy is empty.

    Raises BitstreamError when the block cannot be a copy (its values run past the range).
    """
    coder = RangeCoder.decoder(data)
    mode = coder.decode_bits(MODE_BITS)
    if mode == 0:
        return None
    gain = _gain_quarters(next_spectrum[:LOW_BINS]) + coder.decode_value(_gain_tables(), 0)
    if not GAIN_RANGE[0] < gain <= GAIN_RANGE[1]:
        raise BitstreamError("a redundant copy holds an impossible gain")
    step = _step(gain, mode)
    q = coder.decode_values(_value_tables(), _table_index(next_spectrum, step))
    if np.any(np.abs(q) > 1000):
        raise BitstreamError("a redundant copy holds impossible values")
    return q * step
