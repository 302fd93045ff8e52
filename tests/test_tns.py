"""Tests of temporal noise shaping: dsp.tns against slow references, the 'lpc' tns component,
and its effect in the codec (a click keeps its temporal envelope)."""
import numpy as np
import pytest
import scipy.signal

from hybridcodec import api
from hybridcodec.components.tns import LpcTns
from hybridcodec.core.codec import Decoder, Encoder
from hybridcodec.dsp import tns
from hybridcodec.dsp.range_coder import RangeCoder
from hybridcodec.formats.hcb import read_hcb, write_hcb
from test_lpc import step_up

FS = 16000
CLICK_TIMES_S = (0.2137, 0.4071, 0.6113, 0.8029, 1.0142, 1.2088)


def click_spectrum(rng, position=37.3):
    """A flattened spectrum of a click: a cosine across frequency (the MDCT of an impulse) with
    a little noise, so it is predictable across frequency."""
    n = np.arange(320)
    return np.cos(np.pi * (n + 0.5) * position / 320) + 0.1 * rng.standard_normal(320)


def clicks_in_noise(rng, seconds=1.4):
    """Low noise (-60 dBFS) with decaying 1 ms bursts at CLICK_TIMES_S."""
    x = 1e-3 * rng.standard_normal(int(seconds * FS))
    for t in CLICK_TIMES_S:
        start = int(t * FS)
        x[start:start + 16] += 0.5 * np.exp(-np.arange(16) / 4) * rng.choice([-1, 1], 16)
    return x


# --- dsp.tns -----------------------------------------------------------------------------------

def test_autocorrelation_matches_a_numpy_reference(rng):
    w = rng.standard_normal(320)
    bounds = tns.SUBDIVISIONS
    expected = np.zeros(tns.MAX_ORDER + 1)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        x = w[start:stop]
        expected += np.correlate(x, x, "full")[x.size - 1:x.size + tns.MAX_ORDER] / np.dot(x, x)
    expected *= np.exp(-0.5 * (0.02 * np.pi * np.arange(tns.MAX_ORDER + 1)) ** 2)
    got = tns.autocorrelation_kernel(w, bounds, tns.LAG_WINDOW)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert got[0] == 3.0


def test_autocorrelation_of_a_silent_subdivision_is_an_impulse(rng):
    w = rng.standard_normal(320)
    w[122:220] = 0.0                   # the second sub-division
    np.testing.assert_array_equal(tns.autocorrelation_kernel(w, tns.SUBDIVISIONS, tns.LAG_WINDOW),
                                  [3.0] + [0.0] * tns.MAX_ORDER)


@pytest.mark.parametrize("order", [1, 4, 8])
@pytest.mark.parametrize("inverse", [False, True])
def test_lattice_filters_equal_the_direct_form_filters(rng, order, inverse):
    """(T5) is the FIR A(z) and (T6) the all-pole 1 / A(z), A(z) by the step-up recursion."""
    k_hat = np.sin(tns.QUANTIZER_STEP * rng.integers(-6, 7, order))
    w = rng.standard_normal(320)
    start = int(tns.SUBDIVISIONS[0])
    a = step_up(k_hat)
    expected = w.copy()
    if inverse:
        expected[start:] = scipy.signal.lfilter([1.0], a, w[start:])
        got = tns.lattice_synthesis_kernel(w, k_hat, start)
    else:
        expected[start:] = scipy.signal.lfilter(a, [1.0], w[start:])
        got = tns.lattice_analysis_kernel(w, k_hat, start)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_synthesis_inverts_analysis_with_the_quantized_coefficients(seed):
    rng = np.random.default_rng(seed)
    w = click_spectrum(rng, position=rng.uniform(5, 300))
    residual, data = tns.analyze(w)
    assert data.order > 0
    assert not np.allclose(residual, w)
    np.testing.assert_allclose(tns.synthesize(residual, data), w, rtol=0, atol=1e-10)


def test_quantizer_is_the_arcsine_quantizer_of_17_levels():
    reflection = np.sin(np.pi / 17 * np.array([-8.4, -2.6, 0.3, 1.49, 7.6]))
    assert tns.quantize(reflection).indices == (-8, -3, 0, 1, 8)
    np.testing.assert_allclose(tns.TnsData((-8, 1)).reflection(),
                               [-np.sin(8 * np.pi / 17), np.sin(np.pi / 17)], rtol=1e-15)


def test_quantizer_drops_trailing_zeros():
    assert tns.quantize(np.array([0.5, 0.3, 0.01, 0.02])).order == 2
    assert tns.quantize(np.full(8, 0.01)).order == 0


@pytest.mark.parametrize("seed", range(4))
def test_stationary_frames_leave_tns_off(seed):
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(320)
    sine_frame = np.zeros(320)
    sine_frame[40 + 10 * seed] = 8.0              # one strong partial over a noise floor
    sine_frame += 0.05 * rng.standard_normal(320)
    for w in (noise, sine_frame):
        residual, data = tns.analyze(w)
        assert data.order == 0
        assert residual is w


def test_a_click_turns_tns_on_with_a_high_prediction_gain(rng):
    reflection, gain = tns.analysis_kernel(click_spectrum(rng), tns.SUBDIVISIONS,
                                           tns.LAG_WINDOW, tns.GAIN_THRESHOLD)
    assert gain > 4.0
    assert np.count_nonzero(reflection) > 0


def _field_bits(data):
    coder = RangeCoder.encoder(64)
    coder.encode_bits(5, 3)
    before = coder.tell_frac()
    tns.put_data(coder, data)
    spent = coder.tell_frac() - before
    decoder = RangeCoder.decoder(coder.finish())
    decoder.decode_bits(3)
    return spent, tns.get_data(decoder)


def test_the_off_field_costs_one_bit():
    spent, read = _field_bits(tns.TnsData())
    assert read == tns.TnsData()
    assert spent == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("seed", range(20))
def test_field_round_trips_within_max_bits_even_for_unlikely_coefficients(seed):
    rng = np.random.default_rng(seed)
    # reflection coefficients near +-1 take the rarest indices (10 bits each in LC3's tables)
    data = tns.quantize(rng.choice([-0.999, 0.999, 0.3], tns.MAX_ORDER))
    spent, read = _field_bits(data)
    assert read == data
    assert spent <= LpcTns.max_bits
    assert spent == pytest.approx(tns.field_bits(data.indices), abs=tns.CODER_ROUNDING_BITS)


def test_component_put_get_synthesize_is_the_identity_before_quantization(rng):
    component = LpcTns()
    w = click_spectrum(rng)
    coder = RangeCoder.encoder(64)
    residual, data = component.put(coder, w)
    read = component.get(RangeCoder.decoder(coder.finish()))
    assert read == data and read.order > 0
    np.testing.assert_allclose(component.synthesize(residual, read), w, atol=1e-10)


def test_bad_order_is_refused():
    with pytest.raises(ValueError, match="max_order"):
        LpcTns(max_order=9)


# --- in the codec ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clicks():
    return clicks_in_noise(np.random.default_rng(7))


def _pre_echo_db(y):
    """Energy of y 5-15 ms before each click, dB."""
    return np.array([10 * np.log10(np.sum(y[int((t - 0.015) * FS):int((t - 0.005) * FS)] ** 2))
                     for t in CLICK_TIMES_S])


@pytest.mark.parametrize("bitrate_bps", [9600, 16400])
def test_tns_reduces_the_pre_echo_of_clicks(clicks, bitrate_bps):
    without = api.decode(api.encode(clicks, FS, bitrate_bps, "tcx-laplacian"))[0]
    data, reports = api.encode_with_reports(clicks, FS, bitrate_bps, "tcx-tns")
    with_tns = api.decode(data)[0]
    assert np.mean(_pre_echo_db(without) - _pre_echo_db(with_tns)) >= 3.0
    assert np.all(_pre_echo_db(with_tns) < _pre_echo_db(without))
    # the click itself is still there: energy in the 10 ms after it within 6 dB of tcx-laplacian
    after = [slice(int(t * FS), int((t + 0.010) * FS)) for t in CLICK_TIMES_S]
    assert np.sum([np.sum(with_tns[s] ** 2) for s in after]) > \
        0.25 * np.sum([np.sum(without[s] ** 2) for s in after])
    # the click frames carry a TNS field in the report, and no frame exceeds max_bits
    tns_bits = [r.bits.get("tns", 0) for r in reports]
    assert sum(b > 0 for b in tns_bits) >= len(CLICK_TIMES_S)
    assert max(tns_bits) <= LpcTns.max_bits + 8      # tell() counts whole bytes


def test_encoder_and_decoder_agree_with_tns(clicks, speech):
    x = np.concatenate([speech[16000:40000], clicks])
    data, encoder_reports = api.encode_with_reports(x, FS, 13200, "tcx-tns")
    header, frames = read_hcb(data)
    decoder = Decoder(header)
    decoder.push(frames)
    assert any(r.bits.get("tns", 0) > 8 for r in encoder_reports)
    for ours, theirs in zip(encoder_reports, decoder.reports):
        assert ours.final_state == theirs.final_state, ours.frame_index
        assert ours.bits == theirs.bits


def test_chunked_streaming_with_tns_equals_whole_signal(rng, clicks):
    encoder = Encoder(16400, "tcx-tns")
    frames = []
    start = 0
    while start < clicks.size:
        stop = min(clicks.size, start + int(rng.integers(1, 900)))
        frames += encoder.push(clicks[start:stop])
        start = stop
    header = encoder.header(clicks.size, FS)
    frames += encoder.finish(header)
    data = write_hcb(header, frames)
    assert data == api.encode(clicks, FS, 16400, "tcx-tns")
    decoder = Decoder(header)
    streamed = np.concatenate([decoder.push(frames[i:i + 3]) for i in range(0, len(frames), 3)]
                              + [decoder.finish()])[:clicks.size]
    np.testing.assert_array_equal(streamed, api.decode(data)[0])
