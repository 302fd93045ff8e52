"""Regenerate the golden vectors: short .hcb files and their decoded output (int16 WAV).

Run from the repository root after a deliberate format change (and bump
``container.FORMAT_VERSION`` when the bitstream's meaning changed)::

    python tests/vectors/make_vectors.py

Each vector is 0.5 s of the bundled demo clip (16 kHz) coded with one configuration at one
bitrate; ``<name>.hcb`` is the bitstream (a plain or a streamed file; ``.hcp``: a packet stream),
``<name>.wav`` what ``hybridcodec decode`` makes of it.  tests/test_golden.py decodes every
.hcb and compares with the .wav sample for sample.
"""
import sys
from pathlib import Path

import soundfile

from hybridcodec import api
from hybridcodec.formats.audio import demo_clip_path, read_audio
from hybridcodec.formats.streams import encode_streamed

HERE = Path(__file__).resolve().parent
START, LENGTH = 24000, 8000
"""The excerpt: samples 24000 … 31999 of the demo clip (1.5 … 2.0 s)."""
VECTORS = (
    # name, configuration, bitrate, form
    ("laplacian-9k6", "tcx-laplacian", 9600, "hcb"),
    ("laplacian-16k4", "tcx-laplacian", 16400, "hcb"),
    ("laplacian-24k4", "tcx-laplacian", 24400, "hcb"),
    ("evs-weighting-16k4", "tcx-evs-weighting", 16400, "hcb"),
    ("default-16k4", "default", 16400, "hcb"),
    ("dsp-9k6", "tcx-dsp", 9600, "hcb"),
    ("laplacian-13k2-streamed", "tcx-laplacian", 13200, "streamed"),
    ("laplacian-16k4-packets", "tcx-laplacian", 16400, "packets"),
    ("default-16k4-redundancy", "default", 16400, "redundancy"),
    ("residual-16k4", "tcx-residual", 16400, "hcb"),
)


def excerpt():
    x, rate, _ = read_audio(demo_clip_path())
    assert rate == 16000
    return x[START:START + LENGTH]


def bitstream(x, config: str, bitrate: int, form: str) -> bytes:
    """The bytes of one vector: a plain .hcb, a streamed .hcb or a CRC-16 packet stream
    (``redundancy``: with 6-byte copies of the previous frame in each packet)."""
    if form == "hcb":
        return api.encode(x, 16000, bitrate, config)
    if form in ("packets", "redundancy"):
        return api.encode_packets(x, 16000, bitrate, config, crc_bits=16,
                                  redundancy_bytes=6 if form == "redundancy" else 0)
    return encode_streamed(x, bitrate, config)


def main() -> int:
    x = excerpt()
    for name, config, bitrate, form in VECTORS:
        data = bitstream(x, config, bitrate, form)
        (HERE / f"{name}.{'hcb' if form in ('hcb', 'streamed') else 'hcp'}").write_bytes(data)
        y, rate = api.decode(data)
        soundfile.write(str(HERE / f"{name}.wav"), y.clip(-1, 1), rate, subtype="PCM_16")
        print(f"{name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
