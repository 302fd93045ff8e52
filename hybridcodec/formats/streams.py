"""Files and pipes: the codec block by block, with memory that does not grow with duration.

Audio is read with soundfile in blocks of ``BLOCK_SAMPLES``, resampled with
``soxr.ResampleStream`` (bit-exact with the whole-signal ``audio.resample``, whatever the
blocks), coded and written frame by frame.  For an input of known length (any file, or a WAV
from a pipe whose header says it) the bytes equal those of ``api.encode`` on the whole signal;
otherwise the file is *streamed* (see the container's docstring).  ``-`` means standard input
or output.
"""
import io
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Iterator, List, Optional, Tuple

import numpy as np
import soundfile
import soxr

from .audio import resampled_length
from ..core.codec import Decoder, Encoder
from ..core.geometry import SAMPLE_RATE_HZ
from .hcb import Header, HcbWriter, check_original_rate
from .. import termination
from ..errors import AudioInputError, BitstreamError, ConfigError, HybridCodecError
from .packets import DEFAULT_CRC_BITS, LossSimulator, PacketWriter
from .readers import FrameReader, open_stream
from .writers import open_writer, output_format

BLOCK_SAMPLES = 1 << 15
"""Samples read (and written) per block by the file and pipe paths."""
MIN_OUTPUT_RATE_HZ = 8_000
MAX_OUTPUT_RATE_HZ = 384_000
"""Lowest and highest output rate of a decode (``--rate``)."""
STDIO = "-"
MIN_DURATION_S = 0.010
"""Shortest input accepted: 10 ms, the codec's algorithmic delay (one overlap)."""


def output_rate(header: Header, sample_rate_hz: Optional[int]) -> int:
    """The rate asked for (checked), or the original one."""
    if sample_rate_hz is None:
        return header.original_rate_hz
    if not MIN_OUTPUT_RATE_HZ <= sample_rate_hz <= MAX_OUTPUT_RATE_HZ:
        raise HybridCodecError(f"invalid output sample rate {sample_rate_hz} Hz: use "
                               f"{MIN_OUTPUT_RATE_HZ} ... {MAX_OUTPUT_RATE_HZ} Hz")
    return int(sample_rate_hz)

class StreamResampler:
    """``audio.resample`` in blocks: libsoxr VHQ streaming, cut or padded to the exact length.

    libsoxr gives the same samples whatever the blocks, so the concatenated output equals
    ``audio.resample`` of the whole signal; the last ``HOLD`` samples are held back until
    :meth:`finish` knows the length (round(n × to / from), as ``audio.resampled_length``).
    """

    HOLD = 64

    def __init__(self, from_hz: int, to_hz: int):
        self.stream = None if from_hz == to_hz else soxr.ResampleStream(
            from_hz, to_hz, 1, dtype="float64", quality="VHQ")
        self.held = np.zeros(0)
        self.emitted = 0

    def _take(self, y: np.ndarray, keep: int) -> np.ndarray:
        y = np.concatenate([self.held, y])
        cut = max(0, y.shape[0] - keep)
        out, self.held = y[:cut], y[cut:]
        self.emitted += out.shape[0]
        return out

    def push(self, x: np.ndarray) -> np.ndarray:
        y = x if self.stream is None else self.stream.resample_chunk(x, last=False)
        return self._take(np.asarray(y, dtype=np.float64), self.HOLD)

    def finish(self, n_total: int) -> np.ndarray:
        """The rest, so that ``n_total`` samples have been returned in all."""
        rest = np.zeros(0) if self.stream is None else self.stream.resample_chunk(
            np.zeros(0), last=True)
        y = np.concatenate([self.held, np.asarray(rest, dtype=np.float64)])
        need = max(0, n_total - self.emitted)
        self.held = np.zeros(0)
        self.emitted += need
        return np.pad(y, (0, max(0, need - y.shape[0])))[:need]


@dataclass(frozen=True)
class RawFormat:
    """Headerless PCM input (``--raw``): little-endian signed integers, channels interleaved.
    The defaults are opusenc's."""

    rate_hz: int = 48000
    channels: int = 2
    bits: int = 16

    def subtype(self) -> str:
        """The libsndfile subtype of these samples, or an AudioInputError."""
        subtypes = {8: "PCM_S8", 16: "PCM_16", 24: "PCM_24", 32: "PCM_32"}
        if self.bits not in subtypes or not 1 <= self.channels <= 255 or self.rate_hz < 1:
            raise AudioInputError(f"raw input of {self.bits} bits, {self.channels} channels at "
                                  f"{self.rate_hz} Hz is not supported: use 8, 16, 24 or 32 "
                                  "bits, 1 ... 255 channels")
        return subtypes[self.bits]


def _open_audio(in_path, raw: Optional[RawFormat] = None) -> soundfile.SoundFile:
    """A soundfile reader of a path or of standard input (``-``; a pipe is fine for WAV and raw
    PCM, not for formats that libsndfile must seek in, such as FLAC)."""
    source = sys.stdin.fileno() if str(in_path) == STDIO else str(in_path)
    if str(in_path) != STDIO and not Path(in_path).is_file():
        raise AudioInputError(f"input audio file not found: {in_path}")
    options = {} if raw is None else dict(samplerate=raw.rate_hz, channels=raw.channels,
                                          subtype=raw.subtype(), format="RAW",
                                          endian="LITTLE")
    try:
        return soundfile.SoundFile(source, closefd=str(in_path) != STDIO, **options)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        if str(in_path) == STDIO:
            raise AudioInputError(f"cannot read audio from standard input ({reason}): a pipe "
                                  "carries WAV or raw PCM (--raw); give FLAC and other formats "
                                  "as a file") from None
        raise AudioInputError(f"cannot read audio file {in_path}: {reason}") from None


def _known_length(audio: soundfile.SoundFile, ignore_length: bool) -> Optional[int]:
    """Frames of the input if known up front (a pipe's WAV header may say 0 or 'unknown';
    ``ignore_length``: do not trust what it says, as opusenc --ignorelength)."""
    if not ignore_length and (audio.seekable() or 0 < audio.frames < 2**31 - 1):
        return int(audio.frames)
    return None


class Downmix:
    """Averages the channels of each block, and measures the energy the average loses.

    ``loss_db``: 10 log10(mean energy of the channels / energy of the mono signal); 0 dB for
    identical channels, 3 dB for one silent channel of two, large when the channels cancel.
    """

    def __init__(self):
        self.channel_energy = 0.0
        self.mono_energy = 0.0

    def __call__(self, block: np.ndarray) -> np.ndarray:
        mono = block.mean(axis=1)
        self.channel_energy += float(np.sum(block * block)) / block.shape[1]
        self.mono_energy += float(np.dot(mono, mono))
        return mono

    @property
    def loss_db(self) -> float:
        if self.mono_energy == 0.0:
            return math.inf if self.channel_energy else 0.0
        return 10.0 * math.log10(self.channel_energy / self.mono_energy)


def _audio_blocks(audio: soundfile.SoundFile, name: str, downmix: Downmix) -> Iterator[np.ndarray]:
    """Mono float64 blocks (channels averaged by ``downmix``), NaN and infinities refused."""
    n = 0
    while True:
        try:
            block = audio.read(BLOCK_SAMPLES, dtype="float64", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError) as err:
            raise AudioInputError(f"cannot read audio file {name}: {err}") from None
        if block.shape[0] == 0:
            return
        if not np.all(np.isfinite(block)):
            bad = np.flatnonzero(~np.all(np.isfinite(block), axis=1))
            raise AudioInputError(f"audio file holds {bad.size} NaN or infinite samples "
                                  f"(the first at sample {n + int(bad[0])}): {name}")
        n += block.shape[0]
        yield downmix(block)


@dataclass
class EncodeSummary:
    """What an encode did; ``downmix_loss_db``: see :class:`Downmix` (0 for mono input)."""

    header: Header
    n_frames: int
    n_channels: int
    n_bytes: int
    downmix_loss_db: float = 0.0


def encode_stream(audio: soundfile.SoundFile, out: BinaryIO, bitrate_bps: int,
                  config: str = "default", packets: bool = False,
                  crc_bits: int = DEFAULT_CRC_BITS, name: str = "input",
                  redundancy_bytes: int = 0, *, ignore_length: bool = False,
                  progress=None) -> EncodeSummary:
    """Encode an open soundfile to ``out`` block by block (a .hcb file or a packet stream;
    ``redundancy_bytes`` > 0: packets carrying a copy of the previous frame's low band).

    ``ignore_length``: treat the input's length as unknown (a WAV header that lies);
    ``progress(n_read, n_known, rate_hz)`` is called after each block.

    Processing steps: header (streamed if the length is unknown) → per block: downmix, check,
    resample, encode, write → check length, silence → tail frames → trailer / end packet.
    """
    rate = check_original_rate(int(audio.samplerate), AudioInputError)
    n_known = _known_length(audio, ignore_length)
    if redundancy_bytes and not packets:
        raise ConfigError("redundant copies (--redundancy) need a packet stream (--packets)")
    encoder = Encoder(bitrate_bps, config, keep_reports=False, redundancy_bytes=redundancy_bytes,
                      packets=packets)
    header = encoder.header(n_known or 0, rate, streamed=n_known is None)
    counted = _CountingWriter(out)
    sink = PacketWriter(counted, header, crc_bits) if packets else HcbWriter(counted, header)
    resampler = StreamResampler(rate, SAMPLE_RATE_HZ)
    n, downmix = 0, Downmix()
    for x in _audio_blocks(audio, name, downmix):
        n += x.shape[0]
        sink.write_frames(encoder.push(resampler.push(x)))
        if progress is not None:
            progress(n, n_known, rate)
    _check_stream_signal(n, n_known, rate, name)
    header = replace(header, n_samples=n)
    sink.write_frames(encoder.push(resampler.finish(resampled_length(n, rate, SAMPLE_RATE_HZ))))
    sink.write_frames(encoder.finish(header))
    sink.finish(header)
    return EncodeSummary(header, encoder.n_frames, audio.channels, counted.n_bytes,
                         downmix.loss_db)


def encode_streamed(x: np.ndarray, bitrate_bps: int, config: str = "default",
                    chunk_samples: int = BLOCK_SAMPLES) -> bytes:
    """The *streamed* .hcb of a 16 kHz signal, as from a pipe of unknown length: the header
    says 0 samples and the count follows the frames; pushed in chunks of ``chunk_samples``."""
    encoder = Encoder(bitrate_bps, config)
    out = io.BytesIO()
    writer = HcbWriter(out, encoder.header(0, SAMPLE_RATE_HZ, streamed=True))
    for start in range(0, x.shape[0], chunk_samples):
        writer.write_frames(encoder.push(x[start:start + chunk_samples]))
    header = encoder.header(x.shape[0], SAMPLE_RATE_HZ, streamed=True)
    writer.write_frames(encoder.finish(header))
    writer.finish(header)
    return out.getvalue()


def _check_stream_signal(n: int, n_known: Optional[int], rate: int, name: str):
    if n == 0:
        raise AudioInputError(f"audio file has no samples: {name}")
    if n_known is not None and n != n_known:
        raise AudioInputError(f"{name} ended after {n} of the {n_known} samples its header "
                              "announces")
    if n < MIN_DURATION_S * rate:
        raise AudioInputError(f"the signal is too short: {n} samples at {rate} Hz; at least "
                              f"{MIN_DURATION_S * 1000:g} ms is needed")


class _CountingWriter:
    """Counts the bytes written through it."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.n_bytes = 0

    def write(self, data: bytes) -> None:
        self.n_bytes += len(data)
        self.stream.write(data)


@dataclass
class DecodeSummary:
    """What a decode did: the (final) header, output rate, and the frames it had to conceal.

    ``lost``: frames dropped by the loss simulation; ``damaged``: frames whose payload failed
    its CRC (packet mode) or the frame check, or were missing; ``problems``: what is wrong
    with the stream as a whole (CRC-32 mismatch, cut short, ...); ``n_clipped``: samples
    beyond full scale that the output format clipped (``decode_file``).
    """

    header: Header
    rate_hz: int
    n_frames: int = 0
    lost: List[int] = field(default_factory=list)
    damaged: List[int] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    n_clipped: int = 0

    @property
    def is_damaged(self) -> bool:
        return bool(self.damaged or self.problems)

    def describe(self) -> str:
        """One line naming what was wrong and which frames were concealed."""
        frames = ", ".join(map(str, self.damaged[:20])) + (" ..." if len(self.damaged) > 20 else "")
        parts = self.problems[:2] + ([f"concealed {len(self.damaged)} damaged frame(s): {frames}"]
                                     if self.damaged else [])
        return "; ".join(parts)


def stream_problems(stream: BinaryIO, size: Optional[int]) -> Tuple[Header, List[str]]:
    """Read a whole stream without decoding it: its header (BitstreamError if that is
    damaged) and what is wrong with the rest, first problem first."""
    reader = open_stream(stream, size)
    if reader.size_problem():
        return reader.header, [reader.size_problem()]
    for _ in reader.frames():
        pass
    return reader.header, _problems(reader)


def _verify(stream: BinaryIO, size: int) -> None:
    """Strict mode on a file: read it once and raise the first problem, before any output."""
    problems = stream_problems(stream, size)[1]
    if problems:
        raise BitstreamError(problems[0])
    stream.seek(0)


def _problems(reader: FrameReader) -> List[str]:
    """What a reader found wrong: its problems, then the first damaged or missing packet."""
    damaged = [f"the packet stream is damaged: frame {reader.damaged[0]} is missing or fails "
               "its CRC"] if reader.damaged else []
    return reader.problems + damaged


def raise_problems(reader: FrameReader) -> None:
    """BitstreamError for the first problem or damaged packet a reader found, if any."""
    problems = _problems(reader)
    if problems:
        raise BitstreamError(problems[0])


def decode_stream(stream: BinaryIO, write, sample_rate_hz: Optional[int] = None, *,
                  conceal: bool = False, loss: Optional[LossSimulator] = None, seed: int = 0,
                  size: Optional[int] = None, on_header=None,
                  postfilter: Optional[str] = None,
                  layers: Optional[int] = None) -> DecodeSummary:
    """Decode a .hcb file or packet stream from ``stream``, calling ``write(samples)`` per block.

    Without ``conceal`` any damage raises BitstreamError: before the first sample when ``size``
    is given (a file: it is checked first), at the end for a pipe.  With ``conceal`` damaged,
    missing and lost frames are concealed and listed in the summary.  ``on_header(header, rate,
    n_out)`` is called before the first block (``n_out`` None while the length is unknown).
    ``postfilter`` names a post-filter to use instead of the configuration's (the bits are read
    the same way whichever it is).  ``layers``: residual layers to decode (``Decoder``).
    """
    if size is not None and not conceal:
        _verify(stream, size)
    reader = open_stream(stream, size)
    header = reader.header
    rate = output_rate(header, sample_rate_hz)
    summary = DecodeSummary(header, rate)
    if on_header is not None:
        on_header(header, rate, _output_length(header, rate) if reader.length_known else None)
    decoder = Decoder(header, keep_reports=False, seed=seed, postfilter=postfilter,
                      layers=layers)
    resampler = StreamResampler(SAMPLE_RATE_HZ, rate)
    n16 = 0
    for payload in _frames_to_decode(reader.frames(), reader, decoder):
        if loss is not None and loss.lost():
            summary.lost.append(decoder.n_frames)
            payload = None
        elif payload is None:
            summary.damaged.append(decoder.n_frames)
        n16 += _write_kept(decoder.decode_frame(payload), reader, n16, resampler, write)
    _write_kept(decoder.finish(), reader, n16, resampler, write)
    summary.header = header = reader.header
    write(resampler.finish(_output_length(header, rate)))
    summary.n_frames = decoder.n_frames
    summary.damaged = sorted(set(summary.damaged) | set(decoder.damaged))
    summary.problems = list(reader.problems)
    if not conceal:
        raise_problems(reader)
        if decoder.damaged:
            raise BitstreamError(f"frame {decoder.damaged[0]} is damaged (it does not end as the "
                                 "encoder's frames do)")
    return summary


def _write_kept(x16: np.ndarray, reader, n16: int, resampler, write) -> int:
    """Write the samples of ``x16`` within the signal's length; return how many."""
    if reader.length_known:
        x16 = x16[:max(0, reader.header.n_codec_samples - n16)]
    write(resampler.push(x16))
    return x16.shape[0]


def _frames_to_decode(frames, reader, decoder) -> Iterator[Optional[bytes]]:  # noqa: D103
    """The reader's frames, cut at the announced count, then ``None`` for any still missing."""
    for payload in frames:
        if reader.length_known and decoder.n_frames >= reader.header.n_frames:
            break
        yield payload
    while decoder.n_frames < reader.header.n_frames:
        yield None


def _output_length(header: Header, rate: int) -> int:
    if rate == header.original_rate_hz:
        return header.n_samples
    return resampled_length(header.n_codec_samples, SAMPLE_RATE_HZ, rate)


def encode_file(in_path, out_path, bitrate_bps: int, config: str = "default",
                packets: bool = False, crc_bits: int = DEFAULT_CRC_BITS,
                redundancy_bytes: int = 0, *, raw: Optional[RawFormat] = None,
                ignore_length: bool = False, progress=None) -> EncodeSummary:
    """Encode an audio file (or ``-``: standard input; ``raw``: headerless PCM) to a .hcb file
    or packet stream (``-``: standard output), block by block; a file is written whole or not
    at all.  ``ignore_length`` and ``progress``: see :func:`encode_stream`."""
    with _open_audio(in_path, raw) as audio, _output(out_path) as out:
        return encode_stream(audio, out, bitrate_bps, config, packets, crc_bits, str(in_path),
                             redundancy_bytes, ignore_length=ignore_length, progress=progress)


def decode_file(in_path, out_path, sample_rate_hz: Optional[int] = None, *,
                conceal: bool = False, loss: Optional[LossSimulator] = None,
                seed: int = 0, postfilter: Optional[str] = None, float_samples: bool = False,
                gain_db: float = 0.0, layers: Optional[int] = None) -> DecodeSummary:
    """Decode a .hcb file or packet stream (or ``-``) to audio in the format the output's
    extension names (``writers.FORMATS``; WAV for ``-``): 16-bit, or 32-bit float WAV with
    ``float_samples``, after a gain of ``gain_db`` dB.  ``summary.n_clipped`` counts the
    samples a fixed-point output clipped.  ``postfilter``, ``layers``: see :func:`decode_stream`.

    Without ``conceal`` a damaged input leaves no output file (the audio is written to a
    temporary file and renamed at the end).
    """
    audio_format = output_format(out_path, float_samples)
    gain = 10.0 ** (gain_db / 20.0)
    with _input(in_path) as (stream, size), _output(out_path) as out:
        writer = open_writer(out, audio_format, float_samples)
        summary = decode_stream(stream, lambda x: writer.write(gain * x), sample_rate_hz,
                                conceal=conceal, loss=loss, seed=seed, size=size,
                                postfilter=postfilter, layers=layers,
                                on_header=lambda header, rate, n: writer.start(rate, n))
        writer.close(summary.rate_hz)
        summary.n_clipped = writer.n_clipped
        return summary


class _input:
    """Context manager: (binary stream, size or None) of a path or of standard input."""

    def __init__(self, in_path):
        self.in_path = str(in_path)

    def __enter__(self):
        if self.in_path == STDIO:
            stream = sys.stdin.buffer
            return stream, (os.fstat(stream.fileno()).st_size if stream.seekable() else None)
        try:
            self.file = open(self.in_path, "rb")
        except OSError as error:
            reason = error.strerror or error
            raise HybridCodecError(f"cannot read {self.in_path}: {reason}") from None
        return self.file, os.fstat(self.file.fileno()).st_size

    def __exit__(self, *exc):
        if self.in_path != STDIO:
            self.file.close()
        return False


class _output:
    """Context manager: a binary stream to ``-`` (standard output) or to a temporary file next
    to the path, renamed over it only if the block completes without an exception."""

    def __init__(self, out_path):
        self.out_path = str(out_path)

    def __enter__(self) -> BinaryIO:
        if self.out_path == STDIO:
            return sys.stdout.buffer
        if os.path.isdir(self.out_path):
            raise HybridCodecError(f"the output {self.out_path} is a directory; name a file")
        folder = os.path.dirname(os.path.abspath(self.out_path))
        try:
            fd, self.temp = tempfile.mkstemp(prefix=".hybridcodec-", dir=folder)
        except OSError as error:
            raise HybridCodecError(f"cannot write {self.out_path}: "
                                   f"{error.strerror or error}") from None
        self.file = os.fdopen(fd, "wb")
        return self.file

    def __exit__(self, kind, value, traceback):
        if self.out_path == STDIO:
            sys.stdout.buffer.flush()
            return False
        self.file.close()
        try:
            if kind is None:
                termination.check()
                os.chmod(self.temp, 0o666 & ~_umask())
                os.replace(self.temp, self.out_path)
        finally:
            if os.path.exists(self.temp):
                os.unlink(self.temp)
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
