"""Tests for dsp.harmonic_model and its use by the uniform quantizer (table shift per bin from
the pitch lag: same steps and indices, fewer bits on a harmonic frame)."""
import numpy as np
import pytest

from hybridcodec.core.config import ComponentSpec, get_config
from hybridcodec.core.frame import FrameDecoder, FrameEncoder
from hybridcodec.core.pipeline import Pipeline
from hybridcodec.dsp import harmonic_model, mdct
from hybridcodec.dsp import spectrum_coder as sc
from hybridcodec.dsp.range_coder import RangeCoder
from hybridcodec.research.harmonic import frame_pitch

N_BINS = 320
PITCH_HZ = 200.0
LAG = 16000.0 / PITCH_HZ        # 80 samples: harmonics every 8 bins
WRONG_LAG = 113.0               # 141.6 Hz: its harmonics fall in the valleys of PITCH_HZ
BUDGET_BITS = 8 * 33            # a 13.2 kbps frame


def quantizer(harmonic: bool):
    base = get_config("tcx-laplacian")
    spec = base.spectrum_quantizer.with_params(harmonic_model=harmonic)
    return Pipeline(base.override("test-harmonic", "", spectrum_quantizer=spec)).spectrum_quantizer


@pytest.fixture(scope="module")
def quantizers():
    return quantizer(False), quantizer(True)


@pytest.fixture
def harmonic_frame(rng):
    """Flattened spectrum w of a 200 Hz voiced frame (20 harmonics, random phases, 1/h
    amplitude flattened away, a little noise), rms 4 below 4 kHz (peaks several times the
    model's scale); zero perceptual weights."""
    n = np.arange(4000)
    x = sum(np.cos(2 * np.pi * PITCH_HZ * h * n / 16000 + rng.uniform(0, 2 * np.pi))
            for h in range(1, 21))
    x = x + 0.03 * rng.standard_normal(n.size)
    w = mdct.analyze(x)[5]
    return 4.0 * w / np.sqrt(np.mean(w[:160] ** 2)), np.zeros(N_BINS)


def shifts_reference(n_bins, lag, band_edges, shift_by_distance):
    """(H1)-(H4) of dsp.harmonic_model in plain NumPy."""
    centre = np.arange(n_bins) + 0.5
    spacing = 640.0 / lag
    distance = np.abs(centre - np.maximum(1.0, np.round(centre / spacing)) * spacing)
    column = np.minimum(np.floor(2 * distance).astype(int), shift_by_distance.shape[1] - 1)
    band = np.searchsorted(band_edges, np.arange(n_bins), side="right") - 1
    inside = np.arange(n_bins) < band_edges[-1]
    shift = np.zeros(n_bins, dtype=np.int64)
    shift[inside] = shift_by_distance[band[inside], column[inside]]
    return shift


@pytest.mark.parametrize("lag", [32.0, 57.3, LAG, 160.0, 288.0])
def test_table_shifts_match_reference(lag, rng):
    edges = np.array([0, 17, 90, 250])
    table = rng.integers(-12, 13, size=(3, 5))
    np.testing.assert_array_equal(harmonic_model.table_shifts(N_BINS, lag, edges, table),
                                  shifts_reference(N_BINS, lag, edges, table))
    np.testing.assert_array_equal(
        harmonic_model.table_shifts(N_BINS, lag),
        shifts_reference(N_BINS, lag, harmonic_model.BAND_EDGES, harmonic_model.SHIFT_BY_DISTANCE))


def test_peak_and_valley_bins_of_200_hz():
    """Harmonics every 8 bins, on the edges of bins 7 | 8, 15 | 16, ...: distances 1/2, 3/2,
    7/2 bins (classes 1, 3, 7) from the harmonic; one band from bin 0 to 40."""
    edges, k = np.array([0, 40]), np.arange(10).reshape(1, 10)
    shift = harmonic_model.table_shifts(N_BINS, LAG, edges, k)
    for bins, distance_class in (((7, 8, 15, 16), 1), ((6, 9, 14, 17), 3), ((11, 12, 19, 20), 7)):
        assert all(shift[f] == distance_class for f in bins)
    assert not shift[40:].any()
    assert not harmonic_model.table_shifts(N_BINS, 0.0).any()


def test_shift_tables_clips_to_the_column_range():
    table_base = np.array([0, 0, 0, sc.N_RATIOS], dtype=np.int64)
    table = np.array([-1, 0, sc.N_RATIOS - 2, sc.N_RATIOS + 5], dtype=np.int64)
    shifted = sc.shift_tables(table, table_base, np.array([3, 4, -5, 2], dtype=np.int64))
    np.testing.assert_array_equal(shifted, [-1, 0, sc.N_RATIOS - 1, sc.N_RATIOS + 3])


@pytest.mark.parametrize("index", [120, 170, 220])
def test_harmonic_frame_costs_fewer_bits_at_the_same_quantization(quantizers, harmonic_frame,
                                                                  index):
    off, on = quantizers
    w, log2_weights = harmonic_frame
    model = off.source_model
    arrays = (w, log2_weights + off.hr, BUDGET_BITS, model.spectrum_log2_scale, model.spectrum_h1,
              model.spectrum_table_base)
    dead_zone = (model.spectrum_tables.bits, model.spectrum_tables.length,
                 model.spectrum_tables.offset, 0.0)     # the tables, and λ = 0: no (RD1)
    plain = sc.quantize_at(index, *arrays, on.table_shift(N_BINS, 0.0), off.rounding_offset,
                           np.zeros(N_BINS), *dead_zone)
    shifted = sc.quantize_at(index, *arrays, on.table_shift(N_BINS, LAG), off.rounding_offset,
                             np.zeros(N_BINS), *dead_zone)
    np.testing.assert_array_equal(plain[1], shifted[1])     # steps
    np.testing.assert_array_equal(plain[2], shifted[2])     # indices q
    bits = []
    for table, _, q in (plain, shifted):
        coder = RangeCoder.encoder()
        coded = table >= 0
        coder.encode_values(off.tables, table[coded], q[coded])
        bits.append(coder.tell())
    assert bits[1] < 0.95 * bits[0]


def round_trip(quantizer, w, log2_weights, encoder_lag, decoder_lag):
    encoder = RangeCoder.encoder(4 * BUDGET_BITS)
    report = quantizer.encode(encoder, w, log2_weights, BUDGET_BITS, 3, encoder_lag)
    payload = encoder.finish()
    w_hat, decoded = quantizer.decode(RangeCoder.decoder(payload), log2_weights, BUDGET_BITS, 3,
                                      decoder_lag)
    return payload, report, w_hat, decoded


@pytest.mark.parametrize("lag", [LAG, WRONG_LAG, 32.0, 288.0, 0.0])
def test_decoder_rebuilds_the_encoders_quantization(quantizers, harmonic_frame, lag):
    on = quantizers[1]
    w, log2_weights = harmonic_frame
    payload, report, w_hat, decoded = round_trip(on, w, log2_weights, lag, lag)
    assert len(payload) * 8 <= BUDGET_BITS
    assert (decoded.target_index, decoded.noise_level_index) == (report.target_index,
                                                                 report.noise_level_index)
    np.testing.assert_array_equal(decoded.steps, report.steps)
    _, q = on.quantization(w, log2_weights, BUDGET_BITS, 3, report.target_index)
    nonzero = q != 0
    np.testing.assert_array_equal(w_hat[nonzero], q[nonzero] * report.steps[nonzero])


def test_the_right_lag_buys_a_finer_quantization(quantizers, harmonic_frame):
    off, on = quantizers
    w, log2_weights = harmonic_frame
    plain = round_trip(off, w, log2_weights, LAG, LAG)[1]
    right = round_trip(on, w, log2_weights, LAG, LAG)[1]
    assert right.target_index > plain.target_index


def test_decoder_with_another_lag_reads_other_values(quantizers, harmonic_frame):
    w, log2_weights = harmonic_frame
    _, _, w_hat, _ = round_trip(quantizers[1], w, log2_weights, LAG, LAG)
    _, _, w_wrong, _ = round_trip(quantizers[1], w, log2_weights, LAG, WRONG_LAG)
    assert not np.array_equal(w_hat, w_wrong)


def test_lag_zero_is_byte_identical_to_the_model_off(quantizers, harmonic_frame):
    off, on = quantizers
    w, log2_weights = harmonic_frame
    assert round_trip(on, w, log2_weights, 0.0, 0.0)[0] == round_trip(off, w, log2_weights, LAG,
                                                                       LAG)[0]


def test_configuration_with_harmonic_model_codes_frames_like_the_base(rng):
    """ComponentSpec.of("uniform", ..., harmonic_model=True) builds; with the pitch filter
    'none' (lag 0) its frames are those of the base configuration."""
    base = get_config("tcx-laplacian")
    spec = ComponentSpec.of("uniform", rounding_offset=0.36, reconstruction_offset=0.0,
                            noise_filling=True, noise_fill_gain=0.7, harmonic_model=True)
    assert spec == base.spectrum_quantizer.with_params(harmonic_model=True)
    harmonic = Pipeline(base.override("test-harmonic", "", spectrum_quantizer=spec))
    assert harmonic.spectrum_quantizer.harmonic_model
    x = mdct.analyze(rng.standard_normal(3200))[4]
    payload, _ = FrameEncoder(harmonic).encode_frame(x, 4, 33)
    assert payload == FrameEncoder(Pipeline(base)).encode_frame(x, 4, 33)[0]
    np.testing.assert_array_equal(FrameDecoder(harmonic).decode_frame(payload, 4),
                                  FrameDecoder(Pipeline(base)).decode_frame(payload, 4))


def test_frame_pitch_finds_the_lag_and_survives_tiny_signals(rng):
    n = np.arange(16000)
    x = sum(np.cos(2 * np.pi * PITCH_HZ * h * n / 16000) / h for h in range(1, 6))
    lags, rho = frame_pitch(x)
    np.testing.assert_array_equal(lags[2:-2], LAG)
    assert np.all(rho[2:-2] > 0.99)
    # squares of 1e-160 are subnormal: their sums multiply to zero (no division by it)
    lags, rho = frame_pitch(1e-160 * rng.standard_normal(3200))
    assert np.all(rho == 0.0)
