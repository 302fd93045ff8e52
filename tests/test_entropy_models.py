"""Tests for dsp.entropy_models: quantize_cdf, the discretized models and table building."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from hybridcodec.dsp.entropy_models import (CodingTable, Gaussian, Laplace, LogisticMixture,
                                            bin_probabilities, differential_entropy_bits, make_table,
                                            make_tableset, quantize_cdf, value_range)

MODELS = [
    Laplace(0.3, 1.5),
    Gaussian(-0.7, 2.0),
    LogisticMixture(np.array([0.2, 0.5, 0.3]), np.array([-3.0, 0.0, 4.0]),
                    np.array([0.5, 1.0, 2.0])),
]


def kl_bits(p, cdf):
    """Kullback-Leibler divergence D(p || q) in bits, q the table's probabilities."""
    q = np.diff(cdf) / cdf[-1]
    mask = p > 0
    return float(np.sum(p[mask] * np.log2(p[mask] / q[mask])))


# ----------------------------------------------------------------------------- quantize_cdf

@pytest.mark.parametrize("precision_bits", [6, 8, 11])
@pytest.mark.parametrize("min_freq", [1, 3])
def test_quantize_cdf_properties(rng, precision_bits, min_freq):
    for _ in range(20):
        n = int(rng.integers(2, min(64, 2 ** precision_bits // min_freq + 1)))
        pdf = rng.dirichlet(np.full(n, 0.3))
        pdf[rng.random(n) < 0.2] = 0.0
        pdf /= pdf.sum() or 1.0
        cdf = quantize_cdf(pdf, precision_bits, min_freq)
        freq = np.diff(cdf)
        assert cdf.dtype == np.int64 and cdf.shape == (n + 1,)
        assert cdf[0] == 0 and cdf[-1] == 2 ** precision_bits
        assert freq.min() >= min_freq
        slack = 0.05 * n / 2 ** precision_bits  # measured worst case: 0.025 n / 2**precision_bits
        assert kl_bits(pdf, cdf) <= kl_bits(pdf, optimal_cdf(pdf, precision_bits, min_freq)) + slack


def optimal_cdf(pdf, precision_bits, min_freq):
    """The integer table of least coding cost, by greedy marginal gains (exact for concave cost)."""
    freq = np.full(pdf.size, min_freq, dtype=np.int64)
    for _ in range(2 ** precision_bits - freq.sum()):
        freq[np.argmax(pdf * np.log2((freq + 1) / freq))] += 1
    return np.concatenate(([0], np.cumsum(freq)))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1e6), min_size=1, max_size=200), st.integers(8, 15))
def test_quantize_cdf_any_weights(weights, precision_bits):
    cdf = quantize_cdf(np.array(weights), precision_bits)
    assert cdf[-1] == 2 ** precision_bits and np.all(np.diff(cdf) >= 1)


def test_quantize_cdf_is_deterministic_and_scale_free(rng):
    pdf = rng.random(50)
    cdf = quantize_cdf(pdf)
    np.testing.assert_array_equal(cdf, quantize_cdf(pdf.copy()))
    np.testing.assert_array_equal(cdf, quantize_cdf(pdf * 4.0))


def test_quantize_cdf_zero_pdf_is_uniform():
    np.testing.assert_array_equal(quantize_cdf(np.zeros(4), 4), [0, 4, 8, 12, 16])
    assert np.ptp(np.diff(quantize_cdf(np.zeros(3), 15))) <= 1


@pytest.mark.parametrize("pdf, kwargs, message", [
    ([0.5, np.nan], {}, "finite"),
    ([0.5, np.inf], {}, "finite"),
    ([0.5, -0.1], {}, ">= 0"),
    ([], {}, "non-empty"),
    ([[0.5, 0.5]], {}, "1-D"),
    (np.ones(300), {"precision_bits": 8}, "do not fit"),
    (np.ones(100), {"precision_bits": 8, "min_freq": 3}, "do not fit"),
    ([1.0, 1.0], {"precision_bits": 16}, "precision_bits"),
    ([1.0, 1.0], {"min_freq": 0}, "min_freq"),
])
def test_quantize_cdf_rejects_bad_input(pdf, kwargs, message):
    with pytest.raises(ValueError, match=message):
        quantize_cdf(np.array(pdf, dtype=np.float64), **kwargs)


# ----------------------------------------------------------------------------- models

def test_model_cdfs_match_scipy():
    x = np.linspace(-15.0, 15.0, 301)
    np.testing.assert_allclose(MODELS[0].cdf(x), stats.laplace.cdf(x, 0.3, 1.5), atol=1e-14)
    np.testing.assert_allclose(MODELS[1].cdf(x), stats.norm.cdf(x, -0.7, 2.0), atol=1e-14)
    mix = MODELS[2]
    expected = sum(w * stats.logistic.cdf(x, m, s)
                   for w, m, s in zip(mix.weights, mix.means, mix.scales))
    np.testing.assert_allclose(mix.cdf(x), expected, atol=1e-14)


@pytest.mark.parametrize("model", MODELS)
def test_pdf_is_derivative_of_cdf(model):
    x = np.linspace(-12.0, 12.0, 97)
    h = 1e-5
    derivative = (model.cdf(x + h) - model.cdf(x - h)) / (2 * h)
    np.testing.assert_allclose(derivative, model.pdf(x), atol=1e-8)
    np.testing.assert_allclose(model.cdf(np.array([-1e6, 1e6])), [0.0, 1.0], atol=1e-300)


def test_model_parameters_are_checked():
    with pytest.raises(ValueError, match="scale"):
        Laplace(0.0, 0.0)
    with pytest.raises(ValueError, match="sigma"):
        Gaussian(0.0, -1.0)
    with pytest.raises(ValueError, match="sum to 1"):
        LogisticMixture(np.array([0.5, 0.6]), np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="one length"):
        LogisticMixture(np.array([1.0]), np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="scales"):
        LogisticMixture(np.array([1.0]), np.zeros(1), np.zeros(1))


def test_differential_entropy():
    assert differential_entropy_bits(Laplace(0.0, 2.0)) == pytest.approx(math.log2(4 * math.e))
    gaussian_bits = stats.norm(1.0, 3.0).entropy() / math.log(2)
    assert differential_entropy_bits(Gaussian(1.0, 3.0)) == pytest.approx(gaussian_bits)
    single = LogisticMixture(np.array([1.0]), np.array([0.5]), np.array([0.7]))
    logistic_bits = (math.log(0.7) + 2.0) / math.log(2)  # ln(s) + 2 nats
    assert differential_entropy_bits(single) == pytest.approx(logistic_bits, abs=1e-6)
    mix = MODELS[2]
    reference, _ = integrate.quad(lambda x: -mix.pdf(np.array(x)) * math.log2(mix.pdf(np.array(x))),
                                  -60.0, 80.0, points=[-3.0, 0.0, 4.0], limit=200)
    assert differential_entropy_bits(mix) == pytest.approx(reference, abs=1e-6)


# ----------------------------------------------------------------------------- tables

@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("step", [0.1, 1.0, 5.0])
def test_bin_probabilities_sum_to_one(model, step):
    pdf = bin_probabilities(model, step, -7, 9)
    assert pdf.shape == (18,) and np.all(pdf >= 0.0)
    assert pdf.sum() == pytest.approx(1.0, abs=1e-12)
    c_lo, c_hi = model.cdf(np.array([-7.5 * step, 9.5 * step]))
    expected_escape = c_lo + 1.0 - c_hi
    assert pdf[-1] == pytest.approx(expected_escape, abs=1e-15)


def test_bins_are_centred_on_multiples_of_step():
    model = Gaussian(0.0, 1.0)
    pdf = bin_probabilities(model, 0.5, -2, 2)
    assert pdf[2] == pytest.approx(stats.norm.cdf(0.25) - stats.norm.cdf(-0.25))
    np.testing.assert_allclose(pdf[:2], pdf[3:5][::-1], rtol=1e-12)


@pytest.mark.parametrize("scale, step", [(1.0, 0.05), (3.0, 0.1), (0.5, 0.02)])
def test_laplace_table_entropy_at_fine_steps(scale, step):
    """Bin entropy (escape as one symbol) and the integer table's cost are both near h - log2 Δ."""
    table = make_table(Laplace(0.0, scale), step)
    hi = table.offset + table.n_symbols - 2
    pdf = bin_probabilities(Laplace(0.0, scale), step, table.offset, hi)
    expected = math.log2(2 * math.e * scale) - math.log2(step)
    assert -np.sum(pdf * np.log2(pdf)) == pytest.approx(expected, abs=2e-3)
    assert np.sum(pdf * table.bits()) == pytest.approx(expected, abs=5e-3)


@pytest.mark.parametrize("model", MODELS)
def test_make_table_automatic_range(model):
    lo, hi = value_range(model, 0.5, 1e-3)
    table = make_table(model, 0.5, tail_mass=1e-3)
    assert table.offset == lo and table.n_symbols == hi - lo + 2
    escape = bin_probabilities(model, 0.5, lo, hi)[-1]
    assert 2e-4 < escape < 1.5e-3
    assert table.cdf[-1] == 2 ** 15


def test_make_table_explicit_range_and_errors():
    table = make_table(Laplace(0.0, 1.0), 1.0, -3, 3, precision_bits=12, min_freq=2)
    assert table.offset == -3 and table.n_symbols == 8 and table.cdf[-1] == 4096
    assert np.diff(table.cdf).min() >= 2
    with pytest.raises(ValueError, match="lo must be <= hi"):
        make_table(Laplace(0.0, 1.0), 1.0, 3, -3)
    with pytest.raises(ValueError, match="step"):
        make_table(Laplace(0.0, 1.0), 0.0, -3, 3)
    with pytest.raises(ValueError, match="do not fit"):
        make_table(Laplace(0.0, 100.0), 0.001, precision_bits=15)


def test_make_tableset_pads_and_matches_tables(rng):
    tables = [make_table(Laplace(0.0, s), 1.0, -int(4 * s), int(4 * s)) for s in (0.5, 2.0, 6.0)]
    tables.append(CodingTable(quantize_cdf(rng.random(3), 10), 100))
    ts = make_tableset(tables)
    max_len = max(t.n_symbols for t in tables)
    assert ts.cdf.shape == (4, max_len + 1) and ts.bits.shape == (4, max_len)
    for i, table in enumerate(tables):
        n = table.n_symbols
        assert ts.length[i] == n and ts.offset[i] == table.offset
        np.testing.assert_array_equal(ts.cdf[i, :n + 1], table.cdf)
        assert np.all(ts.cdf[i, n + 1:] == table.cdf[-1])
        np.testing.assert_allclose(ts.bits[i, :n], -np.log2(np.diff(table.cdf) / table.cdf[-1]))
        assert np.all(np.isinf(ts.bits[i, n:]))
    with pytest.raises(ValueError, match="at least one"):
        make_tableset([])
