"""Whole-signal and file conveniences around the streaming Encoder and Decoder."""
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from .audio import read_audio, resample, write_audio
from .codec import Decoder, Encoder
from .config import SAMPLE_RATE_HZ
from .container import Header, read_hcb, write_hcb
from .errors import AudioInputError, HybridCodecError
from .frame import FrameReport


MIN_DURATION_S = 0.010
"""Shortest input accepted: 10 ms, the codec's algorithmic delay (one overlap)."""


def _check_signal(x: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """``x`` as a float64 mono signal, or an AudioInputError saying what is wrong with it."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1:
        raise AudioInputError(f"expected a mono or (samples, channels) signal, got shape {x.shape}")
    if sample_rate_hz < 1:
        raise AudioInputError(f"invalid sample rate {sample_rate_hz} Hz")
    if x.shape[0] == 0:
        raise AudioInputError("the signal is empty (0 samples)")
    if x.shape[0] < MIN_DURATION_S * sample_rate_hz:
        raise AudioInputError(f"the signal is too short: {x.shape[0]} samples at {sample_rate_hz} "
                              f"Hz; at least {MIN_DURATION_S * 1000:g} ms is needed")
    if not np.all(np.isfinite(x)):
        raise AudioInputError("the signal holds NaN or infinite samples")
    if not np.any(x):
        raise AudioInputError("the signal is silent (every sample is 0); nothing to encode")
    return x


def encode_with_reports(x: np.ndarray, sample_rate_hz: int, bitrate_bps: int,
                        config: str = "default") -> Tuple[bytes, List[FrameReport]]:
    """The .hcb bytes of ``x`` and the encoder's per-frame reports."""
    x = _check_signal(x, sample_rate_hz)
    encoder = Encoder(bitrate_bps, config)
    header = encoder.header(x.shape[0], int(sample_rate_hz))
    x16 = resample(x, sample_rate_hz, SAMPLE_RATE_HZ)
    frames = encoder.push(x16) + encoder.finish(header)
    return write_hcb(header, frames), encoder.reports


def encode(x: np.ndarray, sample_rate_hz: int, bitrate_bps: int, config: str = "default") -> bytes:
    """Encode a signal (float in [-1, 1], mono or (n, channels)) to the bytes of a .hcb file."""
    return encode_with_reports(x, sample_rate_hz, bitrate_bps, config)[0]


def decode(data: bytes, sample_rate_hz: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """Decode .hcb bytes to (signal, rate): the original rate and length unless a rate is given."""
    header, frames = read_hcb(data)
    x16 = Decoder(header).push(frames)[:header.n_codec_samples]
    rate = header.original_rate_hz if sample_rate_hz is None else int(sample_rate_hz)
    if rate < 1:
        raise HybridCodecError(f"invalid output sample rate {rate} Hz")
    n_out = header.n_samples if rate == header.original_rate_hz else None
    y = resample(x16, SAMPLE_RATE_HZ, rate)
    if n_out is not None:
        y = np.pad(y, (0, max(0, n_out - y.shape[0])))[:n_out]
    return y, rate


def frame_reports(data: bytes) -> List[FrameReport]:
    """Per-frame reports (bits by field, target index, ...) read back from .hcb bytes."""
    header, frames = read_hcb(data)
    decoder = Decoder(header)
    decoder.push(frames)
    return decoder.reports


def read_header(data: bytes) -> Header:
    """The header of .hcb bytes (after checking the whole file)."""
    return read_hcb(data)[0]


def read_bytes(path: Path) -> bytes:
    """The bytes of a file, or a HybridCodecError saying why it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise HybridCodecError(f"cannot read {path}: {error.strerror or error}") from None


def encode_file(in_path: Path, out_path: Path, bitrate_bps: int, config: str = "default"):
    """Encode an audio file to a .hcb file; returns (header, reports, n_channels)."""
    x, rate, n_channels = read_audio(in_path)
    data, reports = encode_with_reports(x, rate, bitrate_bps, config)
    Path(out_path).write_bytes(data)
    return read_header(data), reports, n_channels


def decode_file(in_path: Path, out_path: Path, sample_rate_hz: Optional[int] = None) -> Header:
    """Decode a .hcb file to a 16-bit WAV file; returns the header."""
    data = read_bytes(Path(in_path))
    y, rate = decode(data, sample_rate_hz)
    write_audio(out_path, y, rate)
    return read_header(data)
