"""Golden vectors: decode the bitstreams under tests/vectors/ and match the stored output exactly.

They pin the format: a change that makes one of them decode differently changes what existing
files mean, so it must be deliberate, bump ``container.FORMAT_VERSION`` and regenerate the
vectors with ``python tests/vectors/make_vectors.py`` (which says which excerpt and settings).
The comparison is on 16-bit samples as ``hybridcodec decode`` writes them.
"""
import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from hybridcodec import api
from hybridcodec.formats.hcb import FORMAT_VERSION

VECTORS = Path(__file__).resolve().parent / "vectors"
BITSTREAMS = sorted(VECTORS.glob("*.hc[bp]"))


def _int16(y: np.ndarray, rate: int) -> np.ndarray:
    """Samples as the decoder's WAV output holds them (libsndfile's 16-bit conversion)."""
    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(y, -1.0, 1.0), rate, subtype="PCM_16", format="WAV")
    buffer.seek(0)
    return soundfile.read(buffer, dtype="int16")[0]


def test_there_are_vectors_of_several_configurations_and_forms():
    names = {path.name for path in BITSTREAMS}
    assert len(names) >= 6
    assert {"default-16k4.hcb", "evs-weighting-16k4.hcb", "laplacian-16k4-packets.hcp",
            "laplacian-13k2-streamed.hcb"} <= names


@pytest.mark.parametrize("path", BITSTREAMS, ids=lambda p: p.name)
def test_vector_decodes_to_its_stored_output(path):
    data = path.read_bytes()
    assert data[4] == FORMAT_VERSION, "regenerate the vectors after a format version bump"
    expected, rate = soundfile.read(str(path.with_suffix(".wav")), dtype="int16")
    y, y_rate = api.decode(data)
    assert y_rate == rate
    np.testing.assert_array_equal(_int16(y, rate), expected)


def test_command_line_decode_matches_a_vector(tmp_path):
    path = VECTORS / "laplacian-16k4.hcb"
    api.decode_file(path, tmp_path / "out.wav")
    decoded = soundfile.read(str(tmp_path / "out.wav"), dtype="int16")[0]
    np.testing.assert_array_equal(decoded, soundfile.read(str(path.with_suffix(".wav")),
                                                          dtype="int16")[0])
