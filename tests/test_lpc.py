"""Tests of dsp.lpc against slow NumPy/SciPy references."""
import numpy as np
import pytest
import scipy.linalg

from hybridcodec.dsp import lpc


def step_up(reflection):
    """A(z) from reflection coefficients by the step-up recursion (slow reference)."""
    a = np.array([1.0])
    for k in reflection:
        a = np.concatenate([a, [0.0]])
        a = a + k * a[::-1]
    return a


def random_stable(rng, order, largest=0.95):
    return step_up(rng.uniform(-largest, largest, order))


def random_autocorrelation(rng, order, n=400):
    x = np.convolve(rng.standard_normal(n), rng.standard_normal(8))
    return lpc.autocorrelation(x, order)


def test_autocorrelation_matches_numpy(rng):
    x = rng.standard_normal(640)
    expected = np.correlate(x, x, "full")[x.size - 1:x.size + 16]
    np.testing.assert_allclose(lpc.autocorrelation(x, 16), expected, rtol=1e-12, atol=1e-12)


def test_lag_window_amr_wb_values():
    w = lpc.lag_window(16, 60.0, 12800)
    assert w[0] == 1.0
    np.testing.assert_allclose(w[1], np.exp(-0.5 * (2 * np.pi * 60 / 12800) ** 2), rtol=1e-15)
    assert np.all(np.diff(w) < 0)


def test_white_noise_correction():
    r = np.array([2.0, 1.0, 0.5])
    np.testing.assert_array_equal(lpc.white_noise_correction(r), [2.0002, 1.0, 0.5])
    np.testing.assert_array_equal(r, [2.0, 1.0, 0.5])     # input untouched


@pytest.mark.parametrize("order", [1, 2, 10, 16, 24])
def test_levinson_matches_solve_toeplitz(rng, order):
    for _ in range(20):
        r = random_autocorrelation(rng, order)
        a, k, error = lpc.levinson_durbin(r, order)
        assert a[0] == 1.0 and a.shape == (order + 1,) and k.shape == (order,)
        expected = scipy.linalg.solve_toeplitz(r[:order], -r[1:order + 1])
        np.testing.assert_allclose(a[1:], expected, rtol=1e-8, atol=1e-10)
        assert np.all(np.abs(k) < 1)
        np.testing.assert_allclose(error, r[0] + a[1:] @ r[1:order + 1], rtol=1e-10)
        np.testing.assert_allclose(step_up(k), a, rtol=0, atol=1e-12)


def test_levinson_stops_on_singular_input():
    r = np.cos(0.3 * np.arange(17))           # one sinusoid: singular beyond order 2
    a, k, error = lpc.levinson_durbin(r, 16)
    assert np.all(np.abs(k) < 1) and np.all(np.isfinite(a)) and error >= 0
    assert np.all(np.abs(np.roots(a)) < 1 + 1e-9)


def test_autocorrelation_from_power_spectrum_matches_cos_sum(rng):
    power = rng.uniform(0, 2, 320)
    omega = np.pi * (np.arange(320) + 0.5) / 320
    expected = [np.mean(power * np.cos(m * omega)) for m in range(17)]
    np.testing.assert_allclose(lpc.autocorrelation_from_power_spectrum(power, 16), expected,
                               rtol=0, atol=1e-14)


def test_lpc_from_power_spectrum_recovers_all_pole_model(rng):
    a = random_stable(rng, 10, largest=0.8)
    power = lpc.lpc_envelope(a, 1.0) ** 2
    fitted, error = lpc.lpc_from_power_spectrum(power, 10, bandwidth_hz=0.0, white_noise_factor=1.0)
    np.testing.assert_allclose(fitted, a, atol=1e-3)
    np.testing.assert_allclose(error, 1.0, rtol=1e-2)


@pytest.mark.parametrize("order", [10, 16])
def test_lsf_round_trip_and_ordering(rng, order):
    for _ in range(300):
        a = random_stable(rng, order)
        lsf = lpc.lpc_to_lsf(a)
        assert lsf.shape == (order,)
        assert np.all(np.diff(lsf) > 0) and 0 < lsf[0] and lsf[-1] < np.pi
        np.testing.assert_allclose(lpc.lsf_to_lpc(lsf), a, rtol=0, atol=1e-9)


def test_lsf_roots_match_numpy_roots(rng):
    for _ in range(50):
        a = random_stable(rng, 16)
        extended = np.concatenate([a, [0.0]])
        angles = []
        for f in (extended + extended[::-1], extended - extended[::-1]):
            angle = np.angle(np.roots(f))
            angles.append(angle[(angle > 1e-6) & (angle < np.pi - 1e-6)])
        expected = np.sort(np.concatenate(angles))
        np.testing.assert_allclose(lpc.lpc_to_lsf(a), expected, rtol=0, atol=1e-7)


def test_lsf_grid_refined_for_close_roots():
    lsf = np.linspace(0.2, 2.9, 16)
    lsf[5:8] = 0.983, 0.9835, 0.984        # in one cell, [0.9817, 0.9879), of the 512-point grid
    a = lpc.lsf_to_lpc(lsf)
    assert lpc._lsf_kernel(a, 512, 512).size == 0          # the coarse grid alone misses two roots
    np.testing.assert_allclose(lpc.lpc_to_lsf(a), lsf, rtol=0, atol=1e-9)


def test_lsf_of_trivial_predictor():
    lsf = lpc.lpc_to_lsf(np.concatenate([[1.0], np.zeros(16)]))
    np.testing.assert_allclose(lsf, np.pi * np.arange(1, 17) / 17, atol=1e-14)


def test_lsf_to_lpc_matches_numpy_poly(rng):
    lsf = np.sort(rng.uniform(0.05, 3.1, 16))
    f1 = np.polymul(np.poly(np.exp(1j * np.concatenate([lsf[0::2], -lsf[0::2]]))).real, [1, 1])
    f2 = np.polymul(np.poly(np.exp(1j * np.concatenate([lsf[1::2], -lsf[1::2]]))).real, [1, -1])
    np.testing.assert_allclose(lpc.lsf_to_lpc(lsf), 0.5 * (f1 + f2)[:17], rtol=0, atol=1e-12)


def test_lpc_to_lsf_rejects_unstable_filter():
    with pytest.raises(ValueError, match="minimum phase"):
        lpc.lpc_to_lsf(np.poly([1.2, 0.5]))


@pytest.mark.parametrize("gap", [0.0, 0.01, 0.1])
def test_stabilize_lsf_enforces_gap(rng, gap):
    lsf = rng.uniform(-0.1, 3.3, 16)
    lsf[5] = lsf[4]
    out = lpc.stabilize_lsf(lsf, gap)
    assert np.all(np.diff(out) >= gap - 1e-12)
    assert out[0] >= gap and out[-1] <= np.pi - gap


def test_stabilize_lsf_keeps_valid_lsf(rng):
    lsf = lpc.lpc_to_lsf(random_stable(rng, 16, largest=0.7))
    gap = 0.5 * np.min(np.diff(np.concatenate([[0], lsf, [np.pi]])))
    np.testing.assert_array_equal(lpc.stabilize_lsf(lsf, gap), lsf)


def test_stabilize_lsf_matches_slow_reference(rng):
    lsf, gap = rng.uniform(0, np.pi, 16), 0.05
    expected = np.sort(lsf)
    for i in range(16):
        expected[i] = max(expected[i], (expected[i - 1] if i else 0.0) + gap)
    for i in reversed(range(16)):
        expected[i] = min(expected[i], (expected[i + 1] if i < 15 else np.pi) - gap)
    np.testing.assert_array_equal(lpc.stabilize_lsf(lsf, gap), expected)


def test_lpc_envelope_matches_polynomial(rng):
    a = random_stable(rng, 16)
    omega = np.pi * (np.arange(320) + 0.5) / 320
    response = np.polyval(a[::-1], np.exp(-1j * omega))     # sum a_i e^{-j omega i}
    np.testing.assert_allclose(lpc.lpc_envelope(a, 2.5), 2.5 / np.abs(response), rtol=1e-10)


def test_lpc_envelope_batches(rng):
    a = np.stack([random_stable(rng, 10) for _ in range(3)])
    gains = np.array([1.0, 2.0, 3.0])
    batch = lpc.lpc_envelope(a, gains, n_bins=64)
    assert batch.shape == (3, 64)
    np.testing.assert_allclose(batch[2], lpc.lpc_envelope(a[2], 3.0, n_bins=64), rtol=1e-14)


def test_bandwidth_expand(rng):
    a = random_stable(rng, 16)
    expanded = lpc.bandwidth_expand(a, 0.9)
    np.testing.assert_allclose(expanded, a * 0.9 ** np.arange(17), rtol=1e-15)
    assert np.max(np.abs(np.roots(expanded))) <= 0.9 * np.max(np.abs(np.roots(a))) + 1e-9


def test_bad_arguments():
    with pytest.raises(ValueError, match="r\\[0\\]"):
        lpc.levinson_durbin(np.zeros(17), 16)
    with pytest.raises(ValueError, match="order 16 needs 17"):
        lpc.levinson_durbin(np.ones(10), 16)
    with pytest.raises(ValueError, match="even"):
        lpc.lpc_to_lsf(np.array([1.0, 0.1, 0.2, 0.1]))
    with pytest.raises(ValueError, match="non-negative"):
        lpc.autocorrelation_from_power_spectrum(-np.ones(320), 16)
    with pytest.raises(ValueError, match="min_gap_rad"):
        lpc.stabilize_lsf(np.ones(16), 0.2)
    with pytest.raises(ValueError, match="gamma"):
        lpc.bandwidth_expand(np.ones(3), 1.5)
    with pytest.raises(ValueError, match="finite"):
        lpc.autocorrelation(np.array([1.0, np.nan, 2.0]), 1)


@pytest.mark.parametrize("order", [1, 2, 8, 16])
def test_step_down_recovers_the_reflection_coefficients_of_step_up(rng, order):
    reflection = rng.uniform(-0.95, 0.95, order)
    np.testing.assert_allclose(lpc.reflection_kernel(step_up(reflection)), reflection,
                               rtol=1e-9, atol=1e-12)


def test_step_down_inverts_levinson_durbin(rng):
    a, k, _ = lpc.levinson_durbin(random_autocorrelation(rng, 10), 10)
    np.testing.assert_allclose(lpc.reflection_kernel(a), k, rtol=1e-9, atol=1e-12)
