"""Tests of dsp.filters: 50 Hz high-pass response, streaming == whole, emphasis round trip."""
import numpy as np
import pytest
import scipy.signal

from hybridcodec.dsp import filters

FS = 16000


def sine(frequency_hz, seconds=2.0):
    return np.sin(2 * np.pi * frequency_hz * np.arange(int(seconds * FS)) / FS)


def steady_gain_db(frequency_hz):
    """Output/input RMS of a sine after the high-pass, measured on the second half (settled)."""
    x = sine(frequency_hz)
    y = filters.highpass_50hz(x)
    half = x.size // 2
    return 20 * np.log10(np.std(y[half:]) / np.std(x[half:]))


def test_highpass_is_second_order_and_stable():
    b, a = filters.highpass_50hz_coefficients()
    assert b.shape == a.shape == (3,)
    assert np.all(np.abs(np.roots(a)) < 1)
    np.testing.assert_allclose(np.sum(b), 0.0, atol=1e-12)      # zero gain at DC


def test_highpass_attenuates_20hz_and_passes_200hz():
    assert steady_gain_db(20.0) < -15.0
    assert -0.1 < steady_gain_db(200.0) < 0.1
    assert -3.2 < steady_gain_db(50.0) < -2.8


def test_highpass_removes_dc():
    y = filters.highpass_50hz(np.ones(FS))
    assert abs(y[-1]) < 1e-6


@pytest.mark.parametrize("splits", [[1], [3, 100, 101, 5000], list(range(7, 9000, 321))])
def test_highpass_chunked_equals_whole(rng, splits):
    x = rng.standard_normal(9000)
    stream = filters.HighPass50Hz()
    chunked = np.concatenate([stream.push(chunk) for chunk in np.split(x, splits)])
    whole = filters.highpass_50hz(x)
    assert np.array_equal(chunked, whole)
    b, a = filters.highpass_50hz_coefficients()
    np.testing.assert_allclose(whole, scipy.signal.lfilter(b, a, x), rtol=0, atol=1e-12)


def test_pre_emphasis_formula(rng):
    x = rng.standard_normal(100)
    y, state = filters.pre_emphasis(x, 0.68, state=0.5)
    expected = x - 0.68 * np.concatenate([[0.5], x[:-1]])
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-15)
    assert state == x[-1]


@pytest.mark.parametrize("beta", [0.0, 0.68, 0.9])
def test_de_emphasis_inverts_pre_emphasis(rng, beta):
    x = rng.standard_normal(4000)
    y, _ = filters.pre_emphasis(x, beta)
    back, _ = filters.de_emphasis(y, beta)
    np.testing.assert_allclose(back, x, rtol=0, atol=1e-12)


def test_emphasis_chunked_equals_whole(rng):
    x = rng.standard_normal(3000)
    pre_state = de_state = 0.0
    pre_chunks, de_chunks = [], []
    for chunk in np.split(x, [0, 1, 2, 500, 501, 2000]):
        y, pre_state = filters.pre_emphasis(chunk, state=pre_state)
        z, de_state = filters.de_emphasis(y, state=de_state)
        pre_chunks.append(y)
        de_chunks.append(z)
    whole_pre, _ = filters.pre_emphasis(x)
    assert np.array_equal(np.concatenate(pre_chunks), whole_pre)
    assert np.array_equal(np.concatenate(de_chunks), filters.de_emphasis(whole_pre)[0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="beta"):
        filters.pre_emphasis(np.zeros(3), beta=1.0)
    with pytest.raises(ValueError, match="one-dimensional"):
        filters.de_emphasis(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="sample_rate_hz"):
        filters.highpass_50hz_coefficients(80)


@pytest.mark.parametrize("rate_hz", [8000, 12800, 16000, 48000])
def test_highpass_coefficients_equal_scipy_butter(rate_hz):
    b, a = filters.highpass_50hz_coefficients(rate_hz)
    b_ref, a_ref = scipy.signal.butter(2, 50.0, btype="highpass", fs=rate_hz)
    np.testing.assert_allclose(b, b_ref, rtol=1e-12)
    np.testing.assert_allclose(a, a_ref, rtol=1e-12)
