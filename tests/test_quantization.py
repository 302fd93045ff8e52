"""Tests for dsp.quantization: dead zone, subtractive dither, noise filling."""
import numpy as np
import pytest
from scipy import stats

from hybridcodec.dsp.quantization import dequantize, dither_offsets, noise_fill, quantize, random_signs

N = 320


# ----------------------------------------------------------------------------- slow references

def quantize_reference(x, step, rounding_offset, dither):
    """q = sign(v) floor(|v| + θ), v = x / step + dither, one value at a time."""
    q = np.zeros(x.size, dtype=np.int64)
    for f in range(x.size):
        v = x[f] / step[f] + dither[f]
        magnitude = int(np.floor(abs(v) + rounding_offset))
        q[f] = magnitude if v >= 0 else -magnitude
    return q


def dequantize_reference(q, step, reconstruction_offset, dither):
    """(q - dither)·δ with dither; else 0 for q = 0 and sign(q)(|q| - ρ)·δ."""
    out = np.zeros(q.size)
    for f in range(q.size):
        if dither[f] != 0.0:
            out[f] = (q[f] - dither[f]) * step[f]
        elif q[f] != 0:
            out[f] = np.sign(q[f]) * (abs(q[f]) - reconstruction_offset) * step[f]
    return out


def random_material(rng, n=N):
    x = rng.laplace(0.0, 1.0, n) * 10.0 ** rng.uniform(-2, 2, n)
    x[rng.random(n) < 0.1] = 0.0
    step = 10.0 ** rng.uniform(-2, 1, n)
    return x, step


# ----------------------------------------------------------------------------- quantize / dequantize

@pytest.mark.parametrize("use_dither", [False, True])
def test_quantize_and_dequantize_match_reference(rng, use_dither):
    for trial in range(50):
        x, step = random_material(rng)
        theta = rng.uniform(0.05, 0.5)
        rho = rng.uniform(0.0, 0.45)
        dither = dither_offsets(trial, N) if use_dither else np.zeros(N)
        q = quantize(x, step, theta, dither)
        assert q.dtype == np.int64
        np.testing.assert_array_equal(q, quantize_reference(x, step, theta, dither))
        np.testing.assert_allclose(dequantize(q, step, rho, dither),
                                   dequantize_reference(q, step, rho, dither), rtol=1e-15, atol=0)


def test_quantize_exact_values():
    step = np.ones(8)
    x = np.array([0.0, 0.49, 0.5, 1.5, -0.5, -0.51, 2.7, -2.7])
    np.testing.assert_array_equal(quantize(x, step, 0.5, np.zeros(8)), [0, 0, 1, 2, -1, -1, 3, -3])
    # θ = 0.2: the zero bin reaches 0.8, the others keep width 1.
    x = np.array([0.79, 0.8, 1.79, 1.8, -0.79, -0.8, 0.0, 5.0])
    np.testing.assert_array_equal(quantize(x, step, 0.2, np.zeros(8)), [0, 1, 1, 2, 0, -1, 0, 5])


@pytest.mark.parametrize("rho", [0.0, 0.2])
def test_dequantize_without_dither(rho):
    q = np.array([-2, -1, 0, 1, 3])
    step = np.array([0.5, 1.0, 7.0, 2.0, 0.1])
    np.testing.assert_allclose(dequantize(q, step, rho, np.zeros(5)),
                               [-(2 - rho) * 0.5, -(1 - rho), 0.0, (1 - rho) * 2.0, (3 - rho) * 0.1])


def test_rounding_error_at_most_half_a_step(rng):
    for _ in range(20):
        x, step = random_material(rng, 5000)
        zeros = np.zeros(x.size)
        x_hat = dequantize(quantize(x, step, 0.5, zeros), step, 0.0, zeros)
        assert np.all(np.abs(x - x_hat) <= step / 2 * (1 + 1e-12))


def test_dead_zone_error_bounds(rng):
    """With θ < 1/2 the zero bin has half-width (1 - θ)δ; other bins keep error ≤ δ/2 around
    the reconstruction (|q| - ρ)δ: |x| - |x̂| lies within δ/2 of (1/2 - θ + ρ)δ."""
    theta, rho = 0.3, 0.1
    x, step = random_material(rng, 20000)
    zeros = np.zeros(x.size)
    q = quantize(x, step, theta, zeros)
    assert np.all(np.abs(x[q == 0]) < (1 - theta) * step[q == 0] * (1 + 1e-12))
    assert np.all(np.abs(x[q != 0]) >= (1 - theta) * step[q != 0] * (1 - 1e-12))
    x_hat = dequantize(q, step, rho, zeros)
    nonzero = q != 0
    error = np.abs(x[nonzero]) - np.abs(x_hat[nonzero])
    shift = (0.5 - theta + rho) * step[nonzero]
    assert np.all(np.abs(error - shift) <= step[nonzero] / 2 * (1 + 1e-9))


# ----------------------------------------------------------------------------- subtractive dither

def test_dithered_error_within_half_step(rng):
    for seed in range(30):
        x, step = random_material(rng, 2000)
        d = dither_offsets(seed, x.size)
        x_hat = dequantize(quantize(x, step, 0.5, d), step, 0.3, d)
        assert np.all(np.abs(x - x_hat) <= step / 2 * (1 + 1e-12))


def test_dithered_error_has_zero_mean_and_no_correlation_with_x(rng):
    """E[x - x̂ | x] = 0 for every x: test on fixed values over many dither draws, and overall."""
    step = 1.0
    values = np.linspace(-2.3, 2.3, 23)            # includes values inside the zero bin
    n_draws = 4000
    x = np.tile(values, n_draws)
    d = np.concatenate([dither_offsets(seed, values.size) for seed in range(n_draws)])
    steps = np.full(x.size, step)
    error = x - dequantize(quantize(x, steps, 0.5, d), steps, 0.0, d)
    per_value_mean = error.reshape(n_draws, values.size).mean(axis=0)
    sigma = step / np.sqrt(12.0 * n_draws)
    assert np.all(np.abs(per_value_mean) < 5 * sigma)
    assert np.std(error) == pytest.approx(step / np.sqrt(12.0), rel=0.03)
    assert abs(np.corrcoef(x, error)[0, 1]) < 5 / np.sqrt(x.size)
    # Without dither the error of the same values is a deterministic function of x, strongly
    # correlated with it inside the zero bin (error = x): the check above could fail.
    plain = x - dequantize(quantize(x, steps, 0.5, np.zeros(x.size)), steps, 0.0, np.zeros(x.size))
    inside = np.abs(x) < 0.5
    assert np.corrcoef(x[inside], plain[inside])[0, 1] > 0.99


# ----------------------------------------------------------------------------- generators

@pytest.mark.parametrize("seed", [0, 1, 12345, 2**31 - 1, 2**40 + 3])
def test_dither_offsets_uniform_and_reproducible(seed):
    d = dither_offsets(seed, 20000)
    np.testing.assert_array_equal(d, dither_offsets(seed, 20000))
    np.testing.assert_array_equal(d[:100], dither_offsets(seed, 100))
    assert np.all(d >= -0.5) and np.all(d < 0.5)
    assert stats.kstest(d, stats.uniform(loc=-0.5, scale=1.0).cdf).pvalue > 1e-3
    assert not np.array_equal(d, dither_offsets(seed + 1, 20000))


def test_dither_offsets_differ_between_seeds_and_are_uniform_across_them():
    """The codec seeds with the frame index: the offset of one bin across frames must be uniform
    too, and frames must not share offsets."""
    first = np.array([dither_offsets(seed, 8) for seed in range(4000)])
    assert np.unique(first, axis=0).shape[0] == first.shape[0]
    for f in (0, 7):
        assert stats.kstest(first[:, f], stats.uniform(loc=-0.5, scale=1.0).cdf).pvalue > 1e-3
    # Consecutive frames: no linear dependence between their offset vectors.
    a = np.array([dither_offsets(seed, N) for seed in range(200)])
    r = np.array([np.corrcoef(a[i], a[i + 1])[0, 1] for i in range(199)])
    assert abs(r.mean()) < 5 / np.sqrt(N * 199)
    # Nor a fixed shift per bin from one frame to the next (an LCG started from an affine
    # function of the seed gives exactly that: the difference mod 1 would be constant).
    shift = np.mod(a[1:] - a[:-1], 1.0)
    assert np.all(shift.std(axis=0) > 0.2)


def test_random_signs_of_consecutive_seeds_are_independent():
    signs = np.array([random_signs(seed, N) for seed in range(400)])
    agreement = np.mean(signs[1:] == signs[:-1], axis=0)          # per bin, over seeds
    assert np.all(np.abs(agreement - 0.5) < 5 * 0.5 / np.sqrt(399))


def test_random_signs_balanced_and_reproducible():
    s = random_signs(7, 100000)
    assert set(np.unique(s)) == {-1.0, 1.0}
    np.testing.assert_array_equal(s, random_signs(7, 100000))
    assert abs(s.mean()) < 5 / np.sqrt(s.size)
    # No runs structure: neighbours are uncorrelated.
    assert abs(np.mean(s[1:] * s[:-1])) < 5 / np.sqrt(s.size)
    assert not np.array_equal(s[:N], random_signs(8, N))
    # Across seeds (frames), each bin is balanced as well.
    per_frame = np.array([random_signs(seed, 16) for seed in range(4000)])
    assert np.all(np.abs(per_frame.mean(axis=0)) < 5 / np.sqrt(4000))


# ----------------------------------------------------------------------------- noise filling

@pytest.mark.parametrize("first_bin", [0, 8, 200, N, N + 10])
def test_noise_fill_touches_only_zero_bins_from_first_bin(rng, first_bin):
    for trial in range(20):
        w_hat = rng.normal(0.0, 1.0, N)
        w_hat[rng.random(N) < 0.6] = 0.0
        halfwidth = 10.0 ** rng.uniform(-2, 1, N)
        halfwidth[rng.random(N) < 0.1] = np.inf       # bins not coded at all
        level = rng.uniform(0.0, 3.0)
        original = w_hat.copy()
        out = noise_fill(w_hat, halfwidth, level, trial, first_bin)
        np.testing.assert_array_equal(w_hat, original)            # input untouched
        bins = np.arange(N)
        kept = (original != 0.0) | (bins < first_bin)
        np.testing.assert_array_equal(out[kept], original[kept])
        filled = ~kept
        assert np.all(np.abs(out[filled]) <= halfwidth[filled])
        np.testing.assert_array_equal(np.abs(out[filled]), np.minimum(level, halfwidth[filled]))
        signs = random_signs(trial, N)
        np.testing.assert_array_equal(out[filled], signs[filled] * np.minimum(level, halfwidth[filled]))


def test_noise_fill_level_zero_leaves_zeros():
    w_hat = np.zeros(N)
    out = noise_fill(w_hat, np.ones(N), 0.0, 3, 0)
    np.testing.assert_array_equal(np.abs(out), 0.0)
