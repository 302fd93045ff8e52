"""Regenerate the golden vectors: short .hcb files and their decoded output (int16 WAV).

Run from the repository root after a deliberate format change (and bump
``container.FORMAT_VERSION`` when the bitstream's meaning changed)::

    python tests/vectors/make_vectors.py

Each vector is 0.5 s of the bundled demo clip (16 kHz) coded with one configuration at one
bitrate; ``<name>.hcb`` is the bitstream (a plain or a streamed file; ``.hcp``: a packet stream),
``<name>.wav`` what ``hybridcodec decode`` makes of it.  tests/test_golden.py decodes every
.hcb and compares with the .wav sample for sample.
"""
import io
import sys
from pathlib import Path

import soundfile

from hybridcodec import api
from hybridcodec.audio import demo_clip_path, read_audio
from hybridcodec.container import read_hcb
from hybridcodec.packets import PacketWriter
from hybridcodec.streams import encode_streamed

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
    ("laplacian-13k2-streamed", "tcx-laplacian", 13200, "streamed"),
    ("laplacian-16k4-packets", "tcx-laplacian", 16400, "packets"),
)


def excerpt():
    x, rate, _ = read_audio(demo_clip_path())
    assert rate == 16000
    return x[START:START + LENGTH]


def bitstream(x, config: str, bitrate: int, form: str) -> bytes:
    """The bytes of one vector: a plain .hcb, a streamed .hcb or a CRC-16 packet stream."""
    if form == "hcb":
        return api.encode(x, 16000, bitrate, config)
    out = io.BytesIO()
    if form == "packets":
        header, frames = read_hcb(api.encode(x, 16000, bitrate, config))
        writer = PacketWriter(out, header, 16)
        writer.write_frames(frames)
        writer.finish(header)
        return out.getvalue()
    return encode_streamed(x, bitrate, config)


def main() -> int:
    x = excerpt()
    for name, config, bitrate, form in VECTORS:
        data = bitstream(x, config, bitrate, form)
        (HERE / f"{name}.{'hcp' if form == 'packets' else 'hcb'}").write_bytes(data)
        y, rate = api.decode(data)
        soundfile.write(str(HERE / f"{name}.wav"), y.clip(-1, 1), rate, subtype="PCM_16")
        print(f"{name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
