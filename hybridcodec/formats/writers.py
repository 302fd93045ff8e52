"""Decoded audio out, block by block: WAV (16-bit PCM or 32-bit float, to files and pipes) and
the other formats libsndfile writes (FLAC, Ogg Vorbis, AIFF, ...), named by the extension.

A writer counts the samples beyond full scale (|x| > 1) that a fixed-point format clips, so
that the caller can say so (``n_clipped``); 32-bit float WAV keeps them as they are.
"""
import io
import os
import struct
from typing import BinaryIO, List, Optional

import numpy as np
import soundfile

from ..errors import HybridCodecError

FLUSH_SAMPLES = 1 << 15
"""Samples gathered before a WAV writer converts and writes them."""
FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".aiff": "AIFF", ".aif": "AIFF",
           ".au": "AU", ".caf": "CAF"}
"""Output extensions and the libsndfile format each names (no extension, or ``-``: WAV)."""
_SUBTYPES = {"OGG": "VORBIS"}
"""Subtype of a format other than WAV, if not 16-bit PCM."""


def output_format(out_path, float_samples: bool = False) -> str:
    """The libsndfile format that ``out_path`` names by its extension, or a HybridCodecError."""
    extension = os.path.splitext(str(out_path))[1].lower()
    if str(out_path) == "-" or not extension:
        return "WAV"
    if extension not in FORMATS:
        raise HybridCodecError(f"cannot write {extension} files: name the output "
                               f"{', '.join(sorted(FORMATS))} (or no extension: WAV)")
    if float_samples and FORMATS[extension] != "WAV":
        raise HybridCodecError(f"--float writes 32-bit float WAV; {extension} cannot hold it")
    return FORMATS[extension]


def open_writer(stream: BinaryIO, audio_format: str, float_samples: bool = False):
    """A writer of ``audio_format`` (see :data:`FORMATS`) on ``stream``."""
    if audio_format == "WAV":
        return WavWriter(stream, float_samples)
    return SoundFileWriter(stream, audio_format)


class _Clipping:
    """Counts the samples beyond full scale, and clips them unless the format is float."""

    def __init__(self, float_samples: bool):
        self.float_samples = float_samples
        self.n_clipped = 0

    def limited(self, x: np.ndarray) -> np.ndarray:
        if self.float_samples:
            return x
        self.n_clipped += int(np.count_nonzero(np.abs(x) > 1.0))
        return np.clip(x, -1.0, 1.0)


class WavWriter(_Clipping):
    """A mono WAV written block by block, 16-bit PCM or 32-bit float; sizes patched at the end
    when the stream is seekable (a pipe gets 0xFFFFFFFF, as from ffmpeg).

    Samples are converted by libsndfile itself (RAW PCM_16), so the file equals what
    ``audio.write_audio`` writes for the same signal.
    """

    def __init__(self, stream: BinaryIO, float_samples: bool = False):
        super().__init__(float_samples)
        self.stream = stream
        self.n_samples = 0
        self.pending: List[np.ndarray] = []
        self.n_pending = 0

    def start(self, rate_hz: int, n_samples: Optional[int]) -> None:
        self.declared = n_samples
        self.stream.write(_wav_header(rate_hz, n_samples, self.float_samples))

    def write(self, x: np.ndarray) -> None:
        self.pending.append(x)
        self.n_pending += x.shape[0]
        if self.n_pending >= FLUSH_SAMPLES:
            self.flush()

    def flush(self) -> None:
        if self.n_pending:
            raw = io.BytesIO()
            soundfile.write(raw, self.limited(np.concatenate(self.pending)), 8000, format="RAW",
                            subtype="FLOAT" if self.float_samples else "PCM_16", endian="LITTLE")
            self.stream.write(raw.getvalue())
            self.n_samples += self.n_pending
        self.pending, self.n_pending = [], 0

    def close(self, rate_hz: int) -> None:
        self.flush()
        if self.declared != self.n_samples and self.stream.seekable():
            self.stream.seek(0)
            self.stream.write(_wav_header(rate_hz, self.n_samples, self.float_samples))


def _wav_header(rate_hz: int, n_samples: Optional[int], float_samples: bool) -> bytes:
    """RIFF/WAVE header of mono 16-bit PCM (format 1) or 32-bit float (format 3); sizes
    0xFFFFFFFF when unknown (as ffmpeg writes on pipes)."""
    width = 4 if float_samples else 2
    data = 0xFFFFFFFF if n_samples is None else min(width * n_samples, 0xFFFFFFFF - 36)
    riff = 0xFFFFFFFF if n_samples is None else data + 36
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", riff, b"WAVE", b"fmt ", 16,
                       3 if float_samples else 1, 1, rate_hz, width * rate_hz, width,
                       8 * width, b"data", data)


class SoundFileWriter(_Clipping):
    """Any other format libsndfile writes (FLAC, Ogg Vorbis, AIFF, ...) to a seekable file."""

    def __init__(self, stream: BinaryIO, audio_format: str):
        super().__init__(float_samples=False)
        self.stream = stream
        self.audio_format = audio_format

    def start(self, rate_hz: int, n_samples: Optional[int]) -> None:
        self.file = soundfile.SoundFile(self.stream, "w", rate_hz, 1, format=self.audio_format,
                                        subtype=_SUBTYPES.get(self.audio_format, "PCM_16"))

    def write(self, x: np.ndarray) -> None:
        self.file.write(self.limited(x))

    def close(self, rate_hz: int) -> None:
        self.file.close()
