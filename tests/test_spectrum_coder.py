"""Tests for dsp.spectrum_coder: the rate loop and its decoder, with the default model's tables."""
import math
from types import SimpleNamespace

import numpy as np
import pytest

from hybridcodec.dsp import range_coder as rc
from hybridcodec.dsp import spectrum_coder as sc
from hybridcodec.dsp.quantization import dequantize, dither_offsets
from hybridcodec.core.pipeline import get_pipeline

N_BINS = 320
RESERVE_BITS = sc.TARGET_BITS + sc.NOISE_LEVEL_BITS + 8
"""What the frame leaves for the spectrum at least (hybridcodec.core.frame.SPECTRUM_RESERVE_BITS)."""

QUANTIZERS = {
    # name: (rounding θ, reconstruction ρ, dither, noise-fill first bin, noise-fill gain, λ of RD1)
    "rounding": (0.5, 0.0, False, 8, 1.0, 0.0),
    "dead-zone": (0.35, 0.15, False, 4, 0.7, 0.0),
    "dither": (0.5, 0.0, True, 8, 1.0, 0.0),
    "rate-distortion": (0.36, 0.0, False, 8, 0.7, 0.116),
}


@pytest.fixture(scope="module")
def model():
    source_model = get_pipeline("default").source_model
    tables = source_model.spectrum_tables
    return SimpleNamespace(
        log2_scale=source_model.spectrum_log2_scale, h1=source_model.spectrum_h1,
        table_base=source_model.spectrum_table_base, hr=source_model.relative_bits(),
        cdf=tables.cdf, length=tables.length, offset=tables.offset, bits=tables.bits,
        scale=2.0 ** source_model.spectrum_log2_scale)


# ----------------------------------------------------------------------------- helpers

def random_frame(rng, model):
    """A random frame: flattened spectrum w, perceptual log2 weights, budget in bits, and whether
    w follows the model (Laplacian at the model's scale within ±5 dB, as flattening gives)."""
    kind = rng.integers(10)
    on_model = kind >= 5
    level = 10.0 ** (rng.uniform(-0.25, 0.25) if on_model else rng.uniform(-1.5, 1.5))
    w = rng.laplace(0.0, model.scale) * level
    if kind == 0:
        w[:] = 0.0
    elif kind in (1, 2):   # huge outliers (a tone in near-silence: |w| up to ~1e6)
        n = rng.integers(1, 6)
        outliers = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(1, 6, n)
        w[rng.integers(0, N_BINS, n)] = outliers * model.scale[0]
    elif kind == 3:        # sparse
        w[rng.random(N_BINS) < 0.8] = 0.0
    smooth = np.convolve(rng.normal(0.0, rng.uniform(0.0, 4.0), N_BINS + 20), np.ones(21) / 21, "valid")
    log2_weights = smooth - smooth.mean()
    return w, log2_weights, int(rng.integers(60, 1301)), on_model


def write_prefix(rng, state, buf, budget):
    """Use part of the frame first with a few raw fields, as the envelope does; returns them."""
    fields = []
    for _ in range(rng.integers(0, 8)):
        width = int(rng.integers(1, 17))
        if rc.rc_tell(state) + width + 8 + RESERVE_BITS > budget:
            break
        value = int(rng.integers(0, 1 << width))
        rc.rc_encode_bits(state, buf, value, width)
        fields.append((value, width))
    return fields


def encode(model, w, relative_bits, budget, quantizer, dither, rng=None):
    theta, _, _, first_bin, gain, rd_lambda = quantizer
    capacity = 2 * budget // 8 + 64
    state, buf = rc.encoder_state(capacity), np.zeros(capacity, dtype=np.uint8)
    fields = write_prefix(rng, state, buf, budget) if rng is not None else []
    index, nf_index, q, step = sc.encode_spectrum(
        state, buf, w, relative_bits, budget, model.log2_scale, model.h1, model.table_base,
        np.zeros(w.shape[0], dtype=np.int64), model.cdf, model.length, model.offset, model.bits, theta, dither, first_bin, gain,
        rd_lambda)
    return SimpleNamespace(index=index, nf_index=nf_index, q=q, step=step, fields=fields,
                           tell=rc.rc_tell(state), range=state[1], flags=rc.rc_flags(state),
                           data=buf[:rc.rc_finish(state, buf)].copy())


def decode(model, enc, relative_bits, budget, quantizer, dither, seed):
    theta, rho, _, first_bin, _, _ = quantizer
    state = rc.decoder_state(enc.data, enc.data.size)
    fields = [(rc.rc_decode_bits(state, enc.data, width), width) for _, width in enc.fields]
    w_hat, q, index, nf_index, step = sc.decode_spectrum(
        state, enc.data, relative_bits, budget, model.log2_scale, model.h1, model.table_base,
        np.zeros(relative_bits.shape[0], dtype=np.int64), model.cdf, model.length, model.offset, rho, theta, dither, first_bin, seed)
    return SimpleNamespace(w_hat=w_hat, q=q, index=index, nf_index=nf_index, step=step,
                           fields=fields,
                           tell=rc.rc_tell(state), range=state[1], flags=rc.rc_flags(state))


def check_reconstruction(enc, dec, quantizer, dither):
    """ŵ is dequantize(q) on every coded bin; zeros only become ±min(level, zero bin) noise."""
    theta, rho, _, first_bin, _, _ = quantizer
    coded = np.isfinite(enc.step)
    assert np.all(enc.q[~coded] == 0)
    coded_dither = np.where(coded, dither, 0.0)
    expected = dequantize(enc.q, enc.step, rho, coded_dither)
    low = np.arange(N_BINS) < first_bin
    exact = (expected != 0.0) | low
    np.testing.assert_array_equal(dec.w_hat[exact & coded], expected[exact & coded])
    np.testing.assert_array_equal(dec.w_hat[~coded & low], 0.0)
    filled = (~exact | ~coded) & ~low
    level = sc.noise_level(enc.nf_index)
    halfwidth = np.where(coded, enc.step * (1.0 - theta), np.inf)
    np.testing.assert_allclose(np.abs(dec.w_hat[filled]), np.minimum(level, halfwidth[filled]),
                               rtol=1e-15)


# ----------------------------------------------------------------------------- round trip

@pytest.mark.parametrize("name", list(QUANTIZERS))
def test_rate_loop_round_trip(rng, model, name):
    quantizer = QUANTIZERS[name]
    slack = []
    for frame in range(1000):
        w, log2_weights, budget, on_model = random_frame(rng, model)
        relative_bits = log2_weights + model.hr
        dither = dither_offsets(frame, N_BINS) if quantizer[2] else np.zeros(N_BINS)
        enc = encode(model, w, relative_bits, budget, quantizer, dither, rng)
        assert enc.tell <= budget
        assert enc.flags == 0
        assert 8 * enc.data.size == enc.tell
        dec = decode(model, enc, relative_bits, budget, quantizer, dither, frame)
        assert dec.flags == 0
        assert dec.fields == enc.fields
        assert (dec.index, dec.nf_index) == (enc.index, enc.nf_index)
        np.testing.assert_array_equal(dec.step, enc.step)
        np.testing.assert_array_equal(dec.q, enc.q)
        check_reconstruction(enc, dec, quantizer, dither)
        assert (dec.tell, dec.range) == (enc.tell, enc.range)
        if not np.any(w):
            assert enc.nf_index == 0 and not np.any(enc.q)
            # Silence stays silent; with subtractive dither ŵ = -dither·δ, inside the zero bin.
            assert np.all(np.abs(dec.w_hat) <= np.where(np.isfinite(enc.step), enc.step / 2, 0.0))
        elif on_model and enc.index < sc.MAX_TARGET_INDEX:
            slack.append(budget - enc.tell)
        if budget - enc.tell >= 8 and enc.index < sc.MAX_TARGET_INDEX:
            assert overruns(model, w, relative_bits, budget, quantizer, dither, enc)
    # On frames that follow the model the loop fills the frame up to the byte granularity;
    # off-model frames can leave more, as the next index already costs many bits.
    assert np.median(slack) < 8
    assert np.percentile(slack, 90) <= 40


def overruns(model, w, relative_bits, budget, quantizer, dither, enc):
    """Whether the frame coded at the next target index after the one the rate loop chose
    would overrun ``budget``: the loop keeps a whole byte unused only then."""
    theta, _, _, first_bin, gain, rd_lambda = quantizer
    capacity = 2 * budget // 8 + 64
    state, buf = rc.encoder_state(capacity), np.zeros(capacity, dtype=np.uint8)
    for value, width in enc.fields:
        rc.rc_encode_bits(state, buf, value, width)
    table, _, q = sc.quantize_at(enc.index + 1, w, relative_bits, budget, model.log2_scale,
                                 model.h1, model.table_base, np.zeros(N_BINS, dtype=np.int64),
                                 theta, dither, model.bits, model.length, model.offset, rd_lambda)
    nf_index = sc.noise_level_index(w, q, first_bin, gain)
    sc._write_frame_spectrum(state, buf, enc.index + 1, nf_index, table, q, model.cdf,
                             model.length, model.offset)
    return rc.rc_tell(state) > budget


def test_more_budget_never_lowers_the_mean_target_index(rng, model):
    """The index is relative to the budget (target = index × budget / 192), so its mean flattens out
    at large budgets, where fewer frames saturate at 255: allow it a drift of one index there.
    The target in bits must grow."""
    frames = [random_frame(rng, model)[:2] for _ in range(150)]
    quantizer = QUANTIZERS["rounding"]
    budgets = [60, 100, 160, 250, 400, 600, 850, 1100, 1300]
    mean_index, mean_target = [], []
    for budget in budgets:
        indices = [encode(model, w, lw + model.hr, budget, quantizer, np.zeros(N_BINS)).index
                   for w, lw in frames]
        mean_index.append(np.mean(indices))
        mean_target.append(np.mean([sc.target_bits(i, budget) for i in indices]))
    assert np.all(np.diff(mean_index) >= -1.0), mean_index
    assert mean_index[-1] > mean_index[0] + 20
    assert np.all(np.diff(mean_target) > 0), mean_target


def test_index_zero_codes_no_bin(rng, model):
    """With no room at all the loop ends at index 0: 11 bits, no bin coded, no bin set."""
    w = rng.laplace(0.0, model.scale) * 100.0
    enc = encode(model, w, model.hr, 20, QUANTIZERS["rounding"], np.zeros(N_BINS))
    assert enc.index == 0
    assert not np.any(np.isfinite(enc.step)) and not np.any(enc.q)


def test_giant_values_are_coded_as_returned(rng, model):
    w = rng.laplace(0.0, model.scale)
    w[5] = 1e10
    enc = encode(model, w, model.hr, 1000, QUANTIZERS["rounding"], np.zeros(N_BINS))
    assert enc.flags == 0
    dec = decode(model, enc, model.hr, 1000, QUANTIZERS["rounding"], np.zeros(N_BINS), 0)
    check_reconstruction(enc, dec, QUANTIZERS["rounding"], np.zeros(N_BINS))


def rd_cost(model, w, table, step, q, rd_lambda):
    """J of (RD1) summed over the coded bins, by brute force: squared error in steps plus λ bits."""
    coded = table >= 0
    bits = rc.values_code_lengths(model.bits, model.length, model.offset, table[coded], q[coded])
    return np.sum((w[coded] / step[coded] - q[coded]) ** 2) + rd_lambda * bits.sum()


def test_rate_distortion_choice_minimizes_its_cost(rng, model):
    """At the same target index, (RD1)'s indices cost less J than the dead zone's and than
    rounding's, spend fewer bits than rounding's, and each bin's is the best of all |m| ≤ 4."""
    rd_lambda = QUANTIZERS["rate-distortion"][5]
    for _ in range(50):
        w, log2_weights, budget, _ = random_frame(rng, model)
        args = (60, w, log2_weights + model.hr, budget, model.log2_scale, model.h1,
                model.table_base, np.zeros(N_BINS, dtype=np.int64))
        tables = (model.bits, model.length, model.offset)
        table, step, q_rd = sc.quantize_at(*args, 0.36, np.zeros(N_BINS), *tables, rd_lambda)
        q_dead_zone, q_rounding = (sc.quantize_at(*args, theta, np.zeros(N_BINS), *tables, 0.0)[2]
                                   for theta in (0.36, 0.5))
        for q in (q_dead_zone, q_rounding):
            assert rd_cost(model, w, table, step, q_rd, rd_lambda) <= \
                rd_cost(model, w, table, step, q, rd_lambda) + 1e-9
        assert sc.estimated_bits(table, q_rd, *tables) <= sc.estimated_bits(table, q_rounding,
                                                                            *tables)
        for f in np.flatnonzero((table >= 0) & (np.abs(w / step) < 4.5)):
            costs = [rd_cost(model, w[f:f + 1], table[f:f + 1], step[f:f + 1],
                             np.array([np.sign(w[f]) * m], dtype=np.int64), rd_lambda)
                     for m in range(5)]
            assert rd_cost(model, w[f:f + 1], table[f:f + 1], step[f:f + 1], q_rd[f:f + 1],
                           rd_lambda) <= min(costs) + 1e-9


# ----------------------------------------------------------------------------- bin_steps

def bin_steps_reference(bits, log2_scale, h1, table_base):
    """δ(f) = 2^(H1 - B) snapped to 2^(log2 scale + r/8), r = floor(8 (H1 - log2 scale - B) + g_f),
    g_f = frac((f + 1)·0.618…); uncoded (table -1, δ = inf) for B = 0 or r above RATIO_MAX."""
    table, step = [], []
    for f, b in enumerate(bits):
        grid_offset = math.fmod((f + 1) * sc.GOLDEN_RATIO_CONJUGATE, 1.0)
        r = math.floor(8 * (h1[f] - log2_scale[f] - b) + grid_offset)
        if b <= 0 or r > sc.RATIO_MAX:
            table.append(-1)
            step.append(math.inf)
            continue
        r = max(r, sc.RATIO_MIN)
        table.append(int(table_base[f]) + r - sc.RATIO_MIN)
        step.append(2.0 ** (log2_scale[f] + r / 8))
    return np.array(table), np.array(step)


def test_bin_steps_matches_reference(rng):
    for _ in range(50):
        bits = np.maximum(rng.normal(2.0, 4.0, N_BINS), 0.0)
        bits[rng.random(N_BINS) < 0.05] = rng.uniform(20, 60)
        log2_scale = rng.uniform(-3, 3, N_BINS)
        h1 = log2_scale + rng.uniform(1.0, 2.0, N_BINS)
        table_base = rng.integers(0, 5, N_BINS) * sc.N_RATIOS
        table, step = sc.bin_steps(bits, log2_scale, h1, table_base)
        ref_table, ref_step = bin_steps_reference(bits, log2_scale, h1, table_base)
        np.testing.assert_array_equal(table, ref_table)
        np.testing.assert_array_equal(np.isinf(step), np.isinf(ref_step))
        np.testing.assert_allclose(step, ref_step, rtol=1e-15)   # Numba's pow may differ by 1 ulp
        # Within 1/8 octave of the ideal step, where not limited by the grid's ends.
        inner = (table >= 0) & (table - table_base > 0)
        log2_error = np.log2(step[inner]) - (h1[inner] - bits[inner])
        assert np.all(np.abs(log2_error) < 1.0 / sc.STEPS_PER_OCTAVE + 1e-12)
        # The table's column is the step's ratio to the model's scale.
        np.testing.assert_allclose(step[table >= 0],
                                   sc.step_ratios()[(table - table_base)[table >= 0]]
                                   * 2.0 ** log2_scale[table >= 0], rtol=1e-14)


def test_bin_steps_finer_with_more_bits(rng):
    log2_scale = np.zeros(N_BINS)
    h1 = np.full(N_BINS, 1.9)
    base = np.zeros(N_BINS, dtype=np.int64)
    previous = np.full(N_BINS, np.inf)
    for b in np.linspace(0.0, 12.0, 49):
        _, step = sc.bin_steps(np.full(N_BINS, b), log2_scale, h1, base)
        assert np.all(step <= previous)
        previous = step


# ----------------------------------------------------------------------------- tables

def test_target_bits_monotone():
    indices = np.arange(1 << sc.TARGET_BITS)
    for budget in (60, 328, 1300):
        values = np.array([sc.target_bits(i, budget) for i in indices])
        assert values[0] == 0.0
        assert np.all(np.diff(values) > 0)
        assert sc.target_bits(sc.TARGET_DIVISIONS, budget) == pytest.approx(budget)
    for i in (1, 100, 255):
        assert sc.target_bits(i, 61) > sc.target_bits(i, 60)


def test_noise_levels_monotone_3_db_apart():
    levels = np.array([sc.noise_level(i) for i in range(1 << sc.NOISE_LEVEL_BITS)])
    assert levels[0] == 0.0
    assert np.all(np.diff(levels) > 0)
    np.testing.assert_allclose(levels[2:] / levels[1:-1], np.sqrt(2.0), rtol=1e-14)
    assert levels[-1] == pytest.approx(sc.NOISE_LEVEL_MAX)


@pytest.mark.parametrize("gain", [1.0, 0.7])
def test_noise_level_index_round_trip(rng, gain):
    for i in range(1, 1 << sc.NOISE_LEVEL_BITS):
        w = rng.choice([-1.0, 1.0], N_BINS) * sc.noise_level(i) / gain
        q = np.zeros(N_BINS, dtype=np.int64)
        q[:4] = 1                               # below first_bin: not counted
        w[:4] = 1e3
        assert sc.noise_level_index(w, q, 4, gain) == i
    assert sc.noise_level_index(np.zeros(N_BINS), np.zeros(N_BINS, dtype=np.int64), 0, 1.0) == 0


def test_rate_distortion_choice_through_the_codec(speech, monkeypatch):
    """A configuration with (RD1) codes other indices than the dead zone into files of the same
    size (the rate loop fills each frame either way), and the decoder, which does not read λ,
    decodes them."""
    from hybridcodec.api import decode, encode_with_reports
    from hybridcodec.core import config as config_module

    base = config_module.get_config("tcx-dsp")
    rd = base.override("tcx-dsp-rd-test", "", spectrum_quantizer=(
        base.spectrum_quantizer.with_params(rd_lambda=0.116)))
    monkeypatch.setitem(config_module._CONFIGS, rd.name, rd)   # for this test only
    coded = {}
    for config in (base, rd):
        data, reports = encode_with_reports(speech, 16000, 9600, config.name)
        y, _ = decode(data)
        assert y.shape == speech.shape and np.all(np.isfinite(y))
        coded[config.name] = (len(data), [r.nonzero_bins for r in reports], y)
    assert coded[rd.name][0] == coded[base.name][0]
    assert coded[rd.name][1] != coded[base.name][1]
    assert not np.array_equal(coded[rd.name][2], coded[base.name][2])
