"""Shared pytest fixtures."""
import numpy as np
import pytest
import soundfile

from hybridcodec import cli
from hybridcodec.formats.audio import demo_clip_path, read_audio


@pytest.fixture
def rng():
    """A seeded random generator, so every test run draws the same numbers."""
    return np.random.default_rng(20261122)


@pytest.fixture
def assert_same_parameters():
    """Check that two parameter files hold the same arrays to 1e-12 (relative, or absolute near
    zero).  A train command reproduces the shipped file's numbers, but its digest only where
    NumPy sums in the same order: another NumPy build moves the last bits (1e-14 in the
    envelope prediction's means), and with them the file's name."""
    def check(produced, shipped):
        with np.load(produced) as a, np.load(shipped) as b:
            assert sorted(a.files) == sorted(b.files)
            for name in a.files:
                np.testing.assert_allclose(a[name], b[name], rtol=1e-12, atol=1e-12,
                                           err_msg=name)
    return check


@pytest.fixture(scope="session")
def speech():
    """The bundled demo clip: 7.24 s of Dutch speech at 16 kHz, float64 mono."""
    x, rate_hz, _ = read_audio(demo_clip_path())
    assert rate_hz == 16000
    return x


@pytest.fixture
def wav(tmp_path, speech):
    """Write a WAV file of ``x`` (default: 1 s of the demo clip) and return its path."""
    def write(x=None, rate_hz=16000, name="in.wav", subtype="PCM_16"):
        x = speech[16000:32000] if x is None else x
        path = tmp_path / name
        soundfile.write(str(path), x, rate_hz, subtype=subtype)
        return path
    return write


@pytest.fixture
def hcb(tmp_path, wav, capsys):
    """A .hcb file of 1 s of speech at 16.4 kbps."""
    path = tmp_path / "speech.hcb"
    assert cli.main(["encode", str(wav()), str(path), "--bitrate", "16.4k"]) == 0
    capsys.readouterr()
    return path
