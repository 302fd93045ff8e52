"""Streaming encoder and decoder at the codec rate (16 kHz): any chunk size in, frames out.

``Encoder.push`` returns the payloads of the frames its samples completed; ``Encoder.finish``
codes the tail once the length is known (the header decides the tail's budgets, see
``container.frame_budgets``).  ``Decoder.push`` takes payloads and returns the samples that
became final.  Whole-signal conveniences live in ``hybridcodec.api``.
"""
from typing import List

import numpy as np

from dsp.filters import HighPass50Hz

from .config import SAMPLE_RATE_HZ, check_bitrate
from .errors import BitstreamError, ConfigError
from .container import MAX_HEADER_BYTES, Header, frame_budgets, frame_bytes
from .frame import FrameDecoder, FrameEncoder, FrameReport
from .pipeline import get_pipeline


class Encoder:
    """Streaming encoder: 16 kHz float samples in, fixed-budget frame payloads out.

    Parameters
    ----------
    bitrate_bps : int
        6000 … 64000; every frame gets floor(bitrate × 20 ms / 8) bytes.
    config : str
        Name of a configuration (``hybridcodec configs``).
    """

    def __init__(self, bitrate_bps: int, config: str = "default"):
        self.bitrate_bps = check_bitrate(bitrate_bps)
        self.pipeline = get_pipeline(config)
        self.config_name = self.pipeline.config.name
        self.highpass = HighPass50Hz()
        self.analyzer = self.pipeline.transform.analyzer()
        self.frame_encoder = FrameEncoder(self.pipeline)
        self.reports: List[FrameReport] = []
        self.n_samples = 0
        if self.header(1).size > MAX_HEADER_BYTES:
            raise ConfigError(
                f"configuration {self.config_name!r} needs a {self.header(1).size}-byte header "
                f"(name and parameter digests); at most {MAX_HEADER_BYTES} fit the file format")

    def header(self, n_samples: int, original_rate_hz: int = SAMPLE_RATE_HZ) -> Header:
        """The .hcb header of a signal of ``n_samples`` at ``original_rate_hz``."""
        return Header(SAMPLE_RATE_HZ, original_rate_hz, self.bitrate_bps, n_samples,
                      self.config_name, self.pipeline.parameter_digests())

    def _encode(self, frames: np.ndarray, budgets) -> List[bytes]:
        payloads = []
        for spectrum, budget in zip(frames, budgets):
            payload, report = self.frame_encoder.encode_frame(spectrum, len(self.reports),
                                                              int(budget))
            payloads.append(payload)
            self.reports.append(report)
        return payloads

    def push(self, samples: np.ndarray) -> List[bytes]:
        """Encode the frames completed by ``samples`` (16 kHz, float in [-1, 1])."""
        samples = np.asarray(samples, dtype=np.float64)
        self.n_samples += samples.shape[0]
        frames = self.analyzer.push(self.highpass.push(samples))
        return self._encode(frames, [frame_bytes(self.bitrate_bps)] * len(frames))

    def finish(self, header: Header) -> List[bytes]:
        """Encode the remaining frames with the budgets that ``header`` gives the file's tail."""
        frames = self.analyzer.flush()
        budgets = frame_budgets(header)[len(self.reports):]
        if len(budgets) != len(frames):
            raise ValueError(f"the header announces {len(self.reports) + len(budgets)} frames, "
                             f"the signal has {len(self.reports) + len(frames)}")
        return self._encode(frames, budgets)


class Decoder:
    """Streaming decoder: frame payloads in, 16 kHz samples out."""

    def __init__(self, header: Header):
        self.header = header
        self.pipeline = get_pipeline(header.config_name)
        if header.parameter_digests != self.pipeline.parameter_digests():
            raise BitstreamError(
                f"the file was encoded with other parameter files for configuration "
                f"{header.config_name!r} than this installation has (digests differ)")
        self.frame_decoder = FrameDecoder(self.pipeline)
        self.synthesizer = self.pipeline.transform.synthesizer()
        self.n_frames = 0
        self.reports: List[FrameReport] = []

    def push(self, payloads: List[bytes]) -> np.ndarray:
        """Decode payloads; return the samples that became final (16 kHz)."""
        frames = np.empty((len(payloads), self.pipeline.transform.n_bins))
        for i, payload in enumerate(payloads):
            frames[i] = self.frame_decoder.decode_frame(payload, self.n_frames)
            self.reports.append(self.frame_decoder.last_report)
            self.n_frames += 1
        return self.pipeline.postfilter.process(self.synthesizer.push(frames))
