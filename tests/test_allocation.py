"""Tests for dsp.allocation.allocate_bits: B(f, η) of TCX eq. 11-12 with iterative zeroing."""
import math

import numpy as np
import pytest

from hybridcodec.dsp.allocation import allocate_bits

N_BINS = 320
EPS = np.finfo(float).eps


# ----------------------------------------------------------------------------- slow references

def paper_allocation(relative_bits, target_bits):
    """TCX sec. 5 in plain Python: η = mean correction over the remaining bins; set the negative
    B(f, η) to zero, leave them out and repeat until none is negative."""
    relative = [float(r) for r in relative_bits]
    bits = [0.0] * len(relative)
    if target_bits <= 0.0:
        return np.array(bits)
    remaining = list(range(len(relative)))
    while remaining:
        eta = (target_bits - math.fsum(relative[f] for f in remaining)) / len(remaining)
        negative = [f for f in remaining if relative[f] + eta < 0.0]
        if not negative:
            for f in remaining:
                bits[f] = relative[f] + eta
            break
        remaining = [f for f in remaining if f not in set(negative)]
    return np.array(bits)


def water_filling(relative_bits, target_bits):
    """The same allocation found another way: B(f) = max(0, Hr(f) + η) with η the level at which
    the sum reaches the target, searched over the bins sorted by decreasing B(f, 0)."""
    if target_bits <= 0.0:
        return np.zeros_like(relative_bits)
    order = np.sort(relative_bits)[::-1]
    eta = None
    for k in range(1, order.size + 1):
        level = (target_bits - math.fsum(order[:k])) / k
        if order[k - 1] + level < 0.0:
            break
        eta = level
    return np.maximum(relative_bits + eta, 0.0)


def cancellation_floor(relative_bits):
    """Worst-case rounding error of the running sum Σ B(f, 0) that η is computed from (n·u·Σ|x|
    for recursive summation, doubled).  Below it a target cannot be met relatively: a target of
    1e-300 bits and B(f, 0) of order 1 cannot be told apart in float64."""
    return 2.0 * EPS * relative_bits.size * max(1.0, float(np.sum(np.abs(relative_bits))))


def random_case(rng):
    """Random B(f, 0) of 320 bins (various shapes) and a target: 0, negative, tiny, usual or huge."""
    kind = rng.integers(6)
    if kind == 0:
        relative = rng.normal(0.0, rng.uniform(0.01, 10.0), N_BINS)
    elif kind == 1:
        relative = rng.laplace(rng.uniform(-5, 5), rng.uniform(0.1, 5.0), N_BINS)
    elif kind == 2:   # a smooth tilt, like log2 W(f) of a voiced frame
        tilt = np.linspace(rng.uniform(-8, 8), rng.uniform(-8, 8), N_BINS)
        relative = tilt + rng.normal(0, 0.3, N_BINS)
    elif kind == 3:   # outliers
        relative = rng.normal(0.0, 1.0, N_BINS)
        relative[rng.integers(0, N_BINS, 5)] = rng.choice([-1, 1], 5) * 10.0 ** rng.uniform(2, 6, 5)
    elif kind == 4:   # ties
        relative = rng.integers(-3, 4, N_BINS).astype(float)
    else:
        relative = np.full(N_BINS, rng.normal(0.0, 3.0))
    which = rng.integers(6)
    target = [0.0, -rng.uniform(0, 100), 10.0 ** rng.uniform(-12, -3), rng.uniform(0, 2000),
              rng.uniform(0, 50), 10.0 ** rng.uniform(6, 12)][which]
    return relative, float(target)


# ----------------------------------------------------------------------------- properties

def test_never_negative_and_sums_to_target(rng):
    for _ in range(1000):
        relative, target = random_case(rng)
        bits = allocate_bits(relative, target)
        assert bits.shape == (N_BINS,)
        assert np.all(bits >= 0.0)
        if target <= 0.0:
            np.testing.assert_array_equal(bits, 0.0)
        else:
            assert abs(bits.sum() - target) <= 1e-9 * target + cancellation_floor(relative), target


def test_equals_paper_procedure_and_water_filling(rng):
    for _ in range(300):
        relative, target = random_case(rng)
        bits = allocate_bits(relative, target)
        tolerance = 1e-9 * max(target, 0.0) + cancellation_floor(relative)
        np.testing.assert_allclose(bits, paper_allocation(relative, target), rtol=1e-9,
                                   atol=tolerance)
        np.testing.assert_allclose(bits, water_filling(relative, target), rtol=1e-9,
                                   atol=tolerance)


def test_small_worked_example():
    # B(f, 0) = 3, 1, -4, T = 2: η = (2 - 0)/3 → bin 2 negative; η = (2 - 4)/2 = -1 → 2, 0, 0.
    np.testing.assert_allclose(allocate_bits(np.array([3.0, 1.0, -4.0]), 2.0), [2.0, 0.0, 0.0])
    # T = 10: η = 10/3 → bin 2 negative; η = (10 - 4)/2 = 3 → 6, 4, 0.
    np.testing.assert_allclose(allocate_bits(np.array([3.0, 1.0, -4.0]), 10.0), [6.0, 4.0, 0.0])
    # T = 20: η = 20/3, all positive.
    np.testing.assert_allclose(allocate_bits(np.array([3.0, 1.0, -4.0]), 20.0),
                               [3.0 + 20 / 3, 1.0 + 20 / 3, -4.0 + 20 / 3])


@pytest.mark.parametrize("target", [1e5, 1e9, 1e14])
def test_huge_target_zeroes_nothing(rng, target):
    relative = rng.normal(0.0, 5.0, N_BINS)
    relative[:3] = [-300.0, 250.0, 0.0]
    bits = allocate_bits(relative, target)
    assert np.all(bits > 0.0)
    expected = relative + (target - relative.sum()) / N_BINS
    np.testing.assert_allclose(bits, expected, rtol=1e-12)


def test_active_bins_keep_their_differences(rng):
    """Zeroing removes the bins with the lowest B(f, 0); the others keep their differences,
    B(f) - B(g) = B(f, 0) - B(g, 0)."""
    for _ in range(100):
        relative, target = random_case(rng)
        bits = allocate_bits(relative, target)
        active = bits > 0.0
        if target <= 0.0 or not active.any():
            continue
        assert relative[active].min() >= relative[~active].max(initial=-np.inf)
        eta = bits[active] - relative[active]
        np.testing.assert_allclose(eta, eta[0], atol=cancellation_floor(relative) + 1e-9 * target)


def test_raising_the_target_never_lowers_a_bin(rng):
    for _ in range(200):
        relative, _ = random_case(rng)
        targets = np.sort(np.concatenate([[0.0], rng.uniform(0, 3000, 12),
                                          10.0 ** rng.uniform(-3, 7, 6)]))
        bits = np.array([allocate_bits(relative, t) for t in targets])
        drops = np.diff(bits, axis=0)
        assert drops.min() >= -cancellation_floor(relative)
        # The number of coded bins never shrinks either.
        assert np.all(np.diff((bits > 0).sum(axis=1)) >= 0)


def test_input_not_modified(rng):
    relative = rng.normal(0.0, 3.0, N_BINS)
    copy = relative.copy()
    allocate_bits(relative, 100.0)
    np.testing.assert_array_equal(relative, copy)
