"""Tests of hybridcodec.formats.audio: reading, resampling, writing, level helpers."""
import numpy as np
import pytest
import soundfile

from hybridcodec.formats.audio import (clipped_fraction, demo_clip_path, is_silent, read_audio,
                                       resample, resampled_length, write_audio)
from hybridcodec.errors import AudioInputError, HybridCodecError


def _tone(frequency_hz, sample_rate_hz, duration_s=0.5, channels=1):
    """A sine tone at 0.5 amplitude, shape (n,) or (n, channels)."""
    t_s = np.arange(int(duration_s * sample_rate_hz)) / sample_rate_hz
    x = 0.5 * np.sin(2 * np.pi * frequency_hz * t_s)
    return x if channels == 1 else np.tile(x[:, None], (1, channels))


@pytest.mark.parametrize("sample_rate_hz", [8000, 16000, 44100, 48000])
def test_read_audio_returns_mono_float64_and_rate(tmp_path, sample_rate_hz):
    path = tmp_path / "tone.wav"
    soundfile.write(str(path), _tone(440.0, sample_rate_hz), sample_rate_hz, subtype="PCM_16")
    x, rate_hz, n_channels = read_audio(path)
    assert (rate_hz, n_channels, x.dtype, x.ndim) == (sample_rate_hz, 1, np.float64, 1)
    np.testing.assert_allclose(x, _tone(440.0, sample_rate_hz), atol=1e-4)


def test_read_audio_downmixes_stereo_by_averaging(tmp_path):
    left, right = _tone(440.0, 16000), _tone(1000.0, 16000)
    path = tmp_path / "stereo.flac"
    soundfile.write(str(path), np.stack([left, right], axis=1), 16000, subtype="PCM_16")
    x, _, n_channels = read_audio(path)
    assert n_channels == 2
    np.testing.assert_allclose(x, (left + right) / 2, atol=1e-4)


def test_read_audio_missing_file(tmp_path):
    with pytest.raises(AudioInputError, match="not found"):
        read_audio(tmp_path / "nope.wav")


def test_read_audio_garbage_bytes(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(np.random.default_rng(1).bytes(4000))
    with pytest.raises(AudioInputError, match="cannot read"):
        read_audio(path)


def test_read_audio_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(str(path), np.zeros(0), 16000, subtype="PCM_16")
    with pytest.raises(AudioInputError, match="no samples"):
        read_audio(path)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_read_audio_non_finite_samples(tmp_path, bad_value):
    x = _tone(440.0, 16000)
    x[100] = bad_value
    path = tmp_path / "bad.wav"
    soundfile.write(str(path), x, 16000, subtype="FLOAT")
    with pytest.raises(AudioInputError, match="NaN or infinite"):
        read_audio(path)


def test_errors_are_one_line_hybridcodec_errors(tmp_path):
    with pytest.raises(HybridCodecError) as info:
        read_audio(tmp_path / "nope.wav")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("from_hz, to_hz", [(22050, 16000), (44100, 16000), (48000, 16000),
                                            (8000, 16000), (16000, 16000)])
@pytest.mark.parametrize("n_samples", [0, 1, 2, 3, 7, 1001, 22050])
def test_resample_length(rng, from_hz, to_hz, n_samples):
    y = resample(rng.standard_normal(n_samples), from_hz, to_hz)
    expected = round(n_samples * to_hz / from_hz)
    assert y.shape == (max(expected, 1) if n_samples else 0,)
    assert resampled_length(n_samples, from_hz, to_hz) == y.shape[0]


@pytest.mark.parametrize("from_hz", [8000, 22050, 44100, 48000])
def test_resample_keeps_an_in_band_tone_aligned(from_hz):
    y = resample(_tone(440.0, from_hz), from_hz, 16000)
    inner = slice(200, -200)
    np.testing.assert_allclose(y[inner], _tone(440.0, 16000)[inner], atol=1e-3)


def test_resample_removes_out_of_band_tone():
    y = resample(_tone(10000.0, 48000), 48000, 16000)
    assert np.max(np.abs(y[200:-200])) < 1e-3


def test_resample_multichannel_shape(rng):
    assert resample(rng.standard_normal((4410, 2)), 44100, 16000).shape == (1600, 2)


def test_resample_rejects_bad_rate():
    with pytest.raises(ValueError, match="positive"):
        resample(np.zeros(10), 0, 16000)


def test_write_audio_round_trip_16_bit_and_clipping(tmp_path):
    x = np.array([0.0, 0.5, -0.5, 1.7, -3.0, 0.25])
    path = tmp_path / "out.wav"
    write_audio(path, x, 16000)
    info = soundfile.info(str(path))
    assert (info.format, info.subtype, info.samplerate) == ("WAV", "PCM_16", 16000)
    y, _, _ = read_audio(path)
    np.testing.assert_allclose(y, np.clip(x, -1, 1), atol=1 / 32767)


def test_is_silent():
    assert is_silent(np.zeros(1000))
    assert is_silent(np.full(1000, 1e-5))
    assert not is_silent(_tone(440.0, 16000))


def test_clipped_fraction():
    x = np.zeros(100)
    x[:5] = 1.0
    x[5:10] = -1.0
    assert clipped_fraction(x) == pytest.approx(0.1)
    assert clipped_fraction(np.zeros(0)) == 0.0


def test_demo_clip_is_16_khz_mono_speech():
    x, rate_hz, n_channels = read_audio(demo_clip_path())
    assert (rate_hz, n_channels) == (16000, 1)
    assert 4.0 <= x.shape[0] / rate_hz <= 8.0
    assert demo_clip_path().stat().st_size < 200_000
    assert not is_silent(x)
