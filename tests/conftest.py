"""Shared pytest fixtures."""
import numpy as np
import pytest

from hybridcodec.formats.audio import demo_clip_path, read_audio


@pytest.fixture
def rng():
    """A seeded random generator, so every test run draws the same numbers."""
    return np.random.default_rng(20261122)


@pytest.fixture(scope="session")
def speech():
    """The bundled demo clip: 7.24 s of Dutch speech at 16 kHz, float64 mono."""
    x, rate_hz, _ = read_audio(demo_clip_path())
    assert rate_hz == 16000
    return x
