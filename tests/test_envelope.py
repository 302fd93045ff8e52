"""Tests for dsp.envelope: the cepstral envelope of the TCX paper (sec. 3, eq. 1-2)."""
import numpy as np
import pytest
import scipy.fft

from hybridcodec.dsp import envelope as env

N_BINS = 320


def smooth_spectrum(rng, y, n_bins, signs=True):
    """A spectrum X whose log-magnitude is exactly Dᵀy (random signs), so that D log|X| = y."""
    d = env.dct_matrix(y.shape[-1], n_bins)
    magnitude = np.exp(y @ d)
    if not signs:
        return magnitude
    return magnitude * rng.choice([-1.0, 1.0], size=magnitude.shape)


# ----------------------------------------------------------------------------- D (eq. 1)

@pytest.mark.parametrize("n_cepstra, n_bins", [(1, 8), (20, 64), (20, 320), (40, 320), (7, 33)])
def test_dct_matrix_is_orthonormal_dct2(n_cepstra, n_bins):
    d = env.dct_matrix(n_cepstra, n_bins)
    assert d.shape == (n_cepstra, n_bins)
    np.testing.assert_allclose(d @ d.T, np.eye(n_cepstra), atol=1e-12)
    # Row k of D is the DCT-II (orthonormal) of the unit vectors: scipy gives column n for e_n.
    reference = scipy.fft.dct(np.eye(n_bins), type=2, norm="ortho", axis=0)[:n_cepstra]
    np.testing.assert_allclose(d, reference, atol=1e-12)


def test_dct_matrix_is_read_only():
    d = env.dct_matrix(20, N_BINS)
    with pytest.raises(ValueError):
        d[0, 0] = 1.0


def test_cepstrum_matches_scipy_dct_of_log_magnitude(rng):
    x = rng.standard_normal((5, N_BINS))
    y = env.cepstrum(x, 20)
    reference = scipy.fft.dct(np.log(np.abs(x)), type=2, norm="ortho", axis=-1)[:, :20]
    np.testing.assert_allclose(y, reference, atol=1e-10)


# ----------------------------------------------------------------------------- the fit (E1)

def test_fit_at_mix_one_is_eq_1_and_a_constant_magnitude_gives_its_log(rng):
    x = rng.standard_normal((2, N_BINS))
    np.testing.assert_array_equal(env.fit_log_spectrum(x, 3, 1.0), np.log(np.abs(x)))
    constant = 0.3 * rng.choice([-1.0, 1.0], N_BINS)
    np.testing.assert_allclose(env.fit_log_spectrum(constant, 3, 0.5), np.log(0.3), atol=1e-12)


def test_fit_is_the_mix_of_log_magnitude_and_the_log_of_the_local_power(rng):
    x = rng.standard_normal(N_BINS)
    f, h, mix = 100, 3, 0.4
    local_power = np.mean(x[f - h:f + h + 1] ** 2)
    expected = mix * np.log(abs(x[f])) + (1 - mix) * 0.5 * np.log(local_power)
    assert env.fit_log_spectrum(x, h, mix)[f] == pytest.approx(expected, rel=1e-12)
    edge = np.mean(np.concatenate(([x[0]] * h, x[:h + 1])) ** 2)     # end bin repeated
    assert env.fit_log_spectrum(x, h, mix)[0] == pytest.approx(
        mix * np.log(abs(x[0])) + (1 - mix) * 0.5 * np.log(edge), rel=1e-12)


def test_fit_lifts_the_envelope_under_partials_more_than_over_noise(rng):
    """Partials every 4 bins 40 dB above the valleys: eq. 1's envelope lies ~24 dB below their
    power; (E1) lifts it by ~12 dB there, by under 3 dB over white noise of any level."""
    comb = np.where(np.arange(N_BINS) % 4 == 0, 1.0, 0.01) * rng.choice([-1.0, 1.0], N_BINS)
    noise = rng.standard_normal((200, N_BINS))

    def level_db(x, *fit):      # the envelope's mean log level: y_0 / sqrt(N), in dB
        return 20 / np.log(10) * np.mean(env.cepstrum(x, 20, *fit)[..., 0]) / np.sqrt(N_BINS)

    def lift_db(x):
        return level_db(x, 3, 0.5) - level_db(x)

    assert lift_db(comb) > 10.0
    assert 0.0 < lift_db(noise) < 3.0
    assert lift_db(comb) - lift_db(noise) > 8.0


# ----------------------------------------------------------------------------- exact recovery

@pytest.mark.parametrize("n_cepstra", [1, 5, 20])
def test_cepstrum_recovers_smooth_log_spectrum_exactly(rng, n_cepstra):
    y = rng.normal(0.0, 2.0, (50, n_cepstra))
    x = smooth_spectrum(rng, y, N_BINS)
    np.testing.assert_allclose(env.cepstrum(x, n_cepstra), y, atol=1e-11)
    # With that cepstrum the envelope is |X| itself (nothing is lost to smoothing).
    np.testing.assert_allclose(env.envelope_from_cepstrum(y, N_BINS), np.abs(x), rtol=1e-11)
    # And the recovered cepstrum, fed back, rebuilds |X| too.
    np.testing.assert_allclose(env.envelope_from_cepstrum(env.cepstrum(x, n_cepstra), N_BINS),
                               np.abs(x), rtol=1e-10)


def test_cepstrum_ignores_signs_and_is_batched(rng):
    x = rng.standard_normal((3, 4, N_BINS))
    y = env.cepstrum(x)
    assert y.shape == (3, 4, env.N_CEPSTRA)
    np.testing.assert_array_equal(y, env.cepstrum(np.abs(x)))
    np.testing.assert_allclose(y[1, 2], env.cepstrum(x[1, 2]), atol=1e-12)


def test_flattened_spectrum_has_zero_low_cepstrum(rng):
    """w = X / exp(DᵀD log|X|): the first K cepstral coefficients of w vanish (projection)."""
    x = rng.laplace(0.0, 1.0, (20, N_BINS)) * np.linspace(3.0, 0.1, N_BINS)
    envelope = env.envelope_from_cepstrum(env.cepstrum(x), N_BINS)
    w = env.flatten(x, envelope)
    np.testing.assert_allclose(env.cepstrum(w), 0.0, atol=1e-10)


# ----------------------------------------------------------------------------- eq. 2

@pytest.mark.parametrize("step", [0.05, 0.2303, 1.0, 3.7])
def test_quantization_error_at_most_half_a_step(rng, step):
    y = rng.normal(0.0, 10.0, (2000, env.N_CEPSTRA))
    indices = env.quantize_cepstrum(y, step)
    assert indices.dtype == np.int64
    y_hat = env.dequantize_cepstrum(indices, step)
    assert np.all(np.abs(y - y_hat) <= step / 2 * (1 + 1e-12))
    # The reconstruction lies on the grid and re-quantizes to the same indices.
    np.testing.assert_array_equal(env.quantize_cepstrum(y_hat, step), indices)
    np.testing.assert_allclose(y_hat / step, indices, atol=1e-9)


def test_dequantize_is_step_times_index():
    indices = np.array([-3, -1, 0, 2, 40])
    np.testing.assert_array_equal(env.dequantize_cepstrum(indices, 0.25),
                                  [-0.75, -0.25, 0.0, 0.5, 10.0])


# ----------------------------------------------------------------------------- spectral distortion

def test_sd_is_zero_for_identical_envelopes(rng):
    s = np.exp(rng.normal(0.0, 3.0, (10, N_BINS)))
    np.testing.assert_array_equal(env.spectral_distortion_db(s, s), np.zeros(10))


@pytest.mark.parametrize("factor", [0.01, 0.5, 1.0 / 3.0, 2.0, 10.0, 1.122])
def test_sd_of_constant_factor(rng, factor):
    s = np.exp(rng.normal(0.0, 3.0, (4, N_BINS)))
    expected = abs(20.0 * np.log10(factor))
    np.testing.assert_allclose(env.spectral_distortion_db(s, factor * s), expected, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(env.spectral_distortion_db(factor * s, s), expected, rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("n_cepstra, n_bins, step", [(20, 320, 0.2303), (20, 320, 0.5),
                                                     (10, 160, 1.0), (30, 320, 0.1)])
def test_mean_sd_of_quantization_matches_analytic(rng, n_cepstra, n_bins, step):
    """Uniform noise of variance Δq²/12 on K orthonormal rows: mean-square log error K Δq²/(12 N),
    so SD ≈ 20/ln(10) · Δq · sqrt(K / (12 N)) (Jensen lowers the mean by well under 1 %)."""
    n_frames = 3000
    y = rng.normal(0.0, 1.5, (n_frames, n_cepstra))
    y_hat = env.dequantize_cepstrum(env.quantize_cepstrum(y, step), step)
    sd = env.spectral_distortion_db(env.envelope_from_cepstrum(y, n_bins),
                                    env.envelope_from_cepstrum(y_hat, n_bins))
    analytic = 20.0 / np.log(10.0) * step * np.sqrt(n_cepstra / (12.0 * n_bins))
    assert abs(sd.mean() / analytic - 1.0) < 0.10
    # Per frame, SD is exactly the rms of Dᵀ(y - ŷ) in dB (Parseval over the orthonormal rows).
    np.testing.assert_allclose(sd, env.cepstral_distortion_db(y, y_hat, n_bins), rtol=1e-9)


# ----------------------------------------------------------------------------- silence and clipping

def test_silence_gives_finite_values():
    x = np.zeros(N_BINS)
    y = env.cepstrum(x)
    assert np.all(np.isfinite(y))
    # log|X| = log(floor) everywhere: only the DC coefficient is nonzero.
    assert y[0] == pytest.approx(np.sqrt(N_BINS) * np.log(env.MAGNITUDE_FLOOR), rel=1e-12)
    np.testing.assert_allclose(y[1:], 0.0, atol=1e-9)
    indices = env.quantize_cepstrum(y, 0.2303)
    s_hat = env.envelope_from_cepstrum(env.dequantize_cepstrum(indices, 0.2303), N_BINS)
    assert np.all(np.isfinite(s_hat)) and np.all(s_hat > 0)
    w = env.flatten(x, s_hat)
    np.testing.assert_array_equal(w, 0.0)
    np.testing.assert_array_equal(env.unflatten(w, s_hat), 0.0)
    sd = env.spectral_distortion_db(env.envelope_from_cepstrum(y, N_BINS), s_hat)
    assert np.isfinite(sd) and sd < 1.0


@pytest.mark.parametrize("scale", [1e6, -1e6, 1e300])
def test_damaged_cepstrum_gives_finite_positive_envelope(scale):
    y = np.full(env.N_CEPSTRA, scale)
    s = env.envelope_from_cepstrum(y, N_BINS)
    assert np.all(np.isfinite(s)) and np.all(s > 0)
    low, high = env.LOG_ENVELOPE_RANGE
    assert np.all(np.log(s) >= low - 1e-9) and np.all(np.log(s) <= high + 1e-9)


# ----------------------------------------------------------------------------- flatten / unflatten

def test_flatten_unflatten_round_trip(rng):
    x = rng.laplace(0.0, 1.0, (8, N_BINS))
    s_hat = env.quantized_envelope(env.cepstrum(x), 0.2303, N_BINS)
    w = env.flatten(x, s_hat)
    np.testing.assert_allclose(w * s_hat, x, rtol=1e-14)
    np.testing.assert_allclose(env.unflatten(w, s_hat), x, rtol=1e-14)
    np.testing.assert_allclose(env.flatten(env.unflatten(w, s_hat), s_hat), w, rtol=1e-14)


@pytest.mark.parametrize("step", [0.2303, 1.6])
def test_flatten_by_quantized_envelope_is_the_chain_of_eq_2(rng, step):
    """cepstrum → round with Δq → ŷ → ŝ → X / ŝ, batched over frames exactly as frame by frame."""
    x = rng.laplace(0.0, 1.0, (6, N_BINS)) * np.linspace(3.0, 0.1, N_BINS)
    indices = env.quantize_cepstrum(env.cepstrum(x), step)
    s_hat = env.envelope_from_cepstrum(env.dequantize_cepstrum(indices, step), N_BINS)
    np.testing.assert_array_equal(env.quantized_envelope(env.cepstrum(x), step, N_BINS), s_hat)
    w = env.flatten_by_quantized_envelope(x, step)
    np.testing.assert_array_equal(w, env.flatten(x, s_hat))
    for frame, w_frame in zip(x, w):
        np.testing.assert_allclose(env.flatten_by_quantized_envelope(frame, step), w_frame,
                                   rtol=1e-12)
