"""Tests of the codec end to end: hybridcodec.api, hybridcodec.core.codec and hybridcodec.core.frame.

Real speech throughout (the bundled demo clip, or slices of it): fixed-rate budgets per frame
and per file, length preservation at every input rate, determinism, encoder/decoder range-coder
agreement (opus ``test_opus_encode.c``), streaming = whole-file, and quality rising with rate.
"""
import numpy as np
import pytest

from hybridcodec.dsp.filters import highpass_50hz
from hybridcodec import api
from hybridcodec.formats.audio import resample
from hybridcodec.core.codec import Decoder, Encoder
from hybridcodec.core.config import get_config
from hybridcodec.core.frame import FrameDecoder, FrameEncoder
from hybridcodec.core.pipeline import get_pipeline
from hybridcodec.formats.hcb import (FILE_SLACK_BYTES, MIN_FRAME_BYTES, frame_budgets, read_hcb,
                                     write_hcb)
from hybridcodec.errors import AudioInputError, ConfigError
from hybridcodec.tools.metrics import segmental_snr_db

BITRATES_BPS = (9600, 13200, 16400, 24400)
FRAME_S = 0.020


@pytest.fixture(scope="module")
def coded(speech):
    """{bitrate: (bytes, encoder reports, decoded signal)} of the whole demo clip."""
    result = {}
    for bitrate in BITRATES_BPS:
        data, reports = api.encode_with_reports(speech, 16000, bitrate)
        result[bitrate] = (data, reports, api.decode(data)[0])
    return result


def _speech_slice(speech, n, sample_rate_hz=16000, start_s=1.0):
    """``n`` samples of the demo clip from ``start_s`` on, resampled to ``sample_rate_hz``."""
    x = resample(speech, 16000, sample_rate_hz) if sample_rate_hz != 16000 else speech
    start = int(start_s * sample_rate_hz)
    return x[start:start + n]


def _file_bound_bytes(bitrate_bps, n_samples, sample_rate_hz):
    return bitrate_bps * n_samples / sample_rate_hz / 8 + FILE_SLACK_BYTES


# --- fixed rate --------------------------------------------------------------------------------

@pytest.mark.parametrize("bitrate_bps", BITRATES_BPS)
def test_every_frame_budget_fits_bitrate_times_20ms(coded, bitrate_bps):
    data, _, _ = coded[bitrate_bps]
    header, frames = read_hcb(data)
    budgets = frame_budgets(header)
    assert len(frames) == len(budgets) == header.n_frames
    assert [len(f) for f in frames] == budgets.tolist()
    assert np.all(8 * budgets <= bitrate_bps * FRAME_S)
    # every frame but the squeezed tail gets the full floor(bitrate × 20 ms / 8) bytes
    assert np.all(budgets[:-2] == bitrate_bps * 320 // (8 * 16000))


@pytest.mark.parametrize("bitrate_bps", BITRATES_BPS)
def test_reported_bits_fit_each_frame_budget(coded, bitrate_bps):
    data, reports, _ = coded[bitrate_bps]
    budgets = frame_budgets(read_hcb(data)[0])
    assert len(reports) == len(budgets)
    for report, budget in zip(reports, budgets):
        assert report.budget_bits == 8 * budget <= bitrate_bps * FRAME_S
        used = sum(bits for name, bits in report.bits.items() if name != "padding")
        assert 0 < used <= report.budget_bits, report
        assert report.bits["padding"] >= 0


def test_a_frame_below_the_minimum_is_all_padding_on_both_sides(speech):
    pipeline = get_pipeline("default")
    spectrum = np.fft.rfft(speech[16000:16640])[:320].real
    payload, encoded = FrameEncoder(pipeline).encode_frame(spectrum, 7, MIN_FRAME_BYTES - 1)
    decoder = FrameDecoder(pipeline)
    assert not decoder.decode_frame(payload, 7).any()
    for report in (encoded, decoder.last_report):
        assert report.bits == {"padding": 8 * len(payload)} == {"padding": 8 * MIN_FRAME_BYTES - 8}


def test_a_report_asked_for_later_is_the_frames_own(speech):
    """Reports are made on demand from what the frame left: asked for after the next frame was
    coded, a frame's report is the one asked for at once, and the encoder's alone measures the
    envelope's distortion (the decoder has no original)."""
    pipeline = get_pipeline("default")
    frames = [np.fft.rfft(speech[i:i + 640])[:320].real for i in range(16000, 17920, 640)]
    eager = FrameEncoder(pipeline)
    at_once = [eager.encode_frame(frame, t, 41)[1] for t, frame in enumerate(frames)]
    lazy, decoder, later = FrameEncoder(pipeline), FrameDecoder(pipeline), []
    for t, frame in enumerate(frames):
        payload = lazy.encode_payload(frame, t, 41)
        decoder.decode_frame(payload, t)
        later.append((lazy.last_report, decoder.last_report))
    for ours, (encoded, decoded) in zip(at_once, later):
        assert encoded == ours and 0.0 < encoded.envelope_sd_db < 20.0
        assert decoded.bits == encoded.bits and np.isnan(decoded.envelope_sd_db)


@pytest.mark.parametrize("bitrate_bps", BITRATES_BPS)
def test_bits_by_field_sum_to_the_budget(coded, bitrate_bps):
    data, reports, _ = coded[bitrate_bps]
    for report in reports:
        # the default configuration has a pitch filter and TNS: their fields in every frame
        assert set(report.bits) == {"envelope", "pitch", "tns", "target+noise_level", "spectrum",
                                    "padding"}
        assert all(bits >= 0 for bits in report.bits.values()), report
        assert sum(report.bits.values()) == report.budget_bits
    # the spectrum gets most of a full frame's bits, the envelope a sensible share
    spectrum = np.mean([r.bits["spectrum"] for r in reports[:-2]])
    envelope = np.mean([r.bits["envelope"] for r in reports[:-2]])
    assert spectrum > envelope > 20


@pytest.mark.parametrize("bitrate_bps", BITRATES_BPS + (6000, 64000))
def test_whole_file_fits_bitrate_times_duration(speech, bitrate_bps):
    data = api.encode(speech, 16000, bitrate_bps)
    assert len(data) <= _file_bound_bytes(bitrate_bps, speech.shape[0], 16000)
    # ... and the codec does not waste the budget: at most the slack and a partial frame under it
    assert len(data) >= _file_bound_bytes(bitrate_bps, speech.shape[0], 16000) - 2 * 64 - 160


@pytest.mark.parametrize("sample_rate_hz, n_samples", [
    (16000, 160), (16000, 161), (16000, 319), (16000, 320), (16000, 321), (16000, 479),
    (16000, 1000), (16000, 4801), (16000, 16001), (8000, 81), (8000, 4003),
    (44100, 443), (44100, 44101), (48000, 997), (22050, 12345)])
@pytest.mark.parametrize("bitrate_bps", [6000, 9600, 16400, 64000])
def test_file_bound_and_length_at_awkward_lengths(speech, sample_rate_hz, n_samples, bitrate_bps):
    x = _speech_slice(speech, n_samples, sample_rate_hz)
    data = api.encode(x, sample_rate_hz, bitrate_bps)
    assert len(data) <= _file_bound_bytes(bitrate_bps, n_samples, sample_rate_hz)
    budgets = frame_budgets(read_hcb(data)[0])
    assert np.all(8 * budgets <= bitrate_bps * FRAME_S)
    y, rate_hz = api.decode(data)
    assert rate_hz == sample_rate_hz and y.shape == (n_samples,)
    assert np.all(np.isfinite(y))


# --- lengths and rates -------------------------------------------------------------------------

@pytest.mark.parametrize("sample_rate_hz", [8000, 16000, 44100, 48000])
def test_decoded_length_and_quality_at_input_rates(speech, sample_rate_hz):
    x = _speech_slice(speech, 2 * sample_rate_hz + 7, sample_rate_hz)
    y, rate_hz = api.decode(api.encode(x, sample_rate_hz, 16400))
    assert rate_hz == sample_rate_hz
    assert y.shape == x.shape
    frame = int(FRAME_S * sample_rate_hz)
    assert segmental_snr_db(x, y, frame) > 3.0


@pytest.mark.parametrize("n_samples", [160, 161, 321, 1000])
def test_decoded_length_of_short_signals(speech, n_samples):
    x = _speech_slice(speech, n_samples)
    y, _ = api.decode(api.encode(x, 16000, 16400))
    assert y.shape == (n_samples,)
    assert np.all(np.isfinite(y))


def test_decode_to_another_rate(speech):
    x = _speech_slice(speech, 16000)
    data = api.encode(x, 16000, 16400)
    y, rate_hz = api.decode(data, 48000)
    assert rate_hz == 48000 and y.shape == (48000,)


@pytest.mark.parametrize("n_samples, sample_rate_hz", [(1, 16000), (159, 16000), (79, 8000),
                                                       (400, 44100)])
def test_signals_shorter_than_10ms_are_rejected(speech, n_samples, sample_rate_hz):
    x = _speech_slice(speech, n_samples, sample_rate_hz)
    with pytest.raises(AudioInputError, match="too short"):
        api.encode(x, sample_rate_hz, 16400)


@pytest.mark.parametrize("shape", [(16000,), (400,), (16000, 2)])
def test_all_zero_signals_decode_to_zeros(shape):
    y, _ = api.decode(api.encode(np.zeros(shape), 16000, 16400))
    assert y.shape == shape[:1] and not np.any(y)


def test_quiet_but_not_silent_signal_is_coded(speech):
    x = 1e-4 * _speech_slice(speech, 8000)
    y, _ = api.decode(api.encode(x, 16000, 16400))
    assert y.shape == x.shape and np.all(np.isfinite(y))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_samples_are_rejected(speech, bad):
    x = _speech_slice(speech, 4000).copy()
    x[1234] = bad
    with pytest.raises(AudioInputError, match="NaN or infinite"):
        api.encode(x, 16000, 16400)


@pytest.mark.parametrize("bitrate_bps", [0, 5999, 64001, 10**9])
def test_bitrate_out_of_range_is_rejected(speech, bitrate_bps):
    with pytest.raises(ConfigError, match="6000-64000"):
        api.encode(_speech_slice(speech, 4000), 16000, bitrate_bps)


# --- determinism and encoder/decoder agreement ---------------------------------------------------

def test_decoding_twice_gives_identical_samples(coded):
    data, _, first = coded[16400]
    second, _ = api.decode(data)
    np.testing.assert_array_equal(first, second)


def test_encoding_twice_gives_identical_bytes(speech, coded):
    data, _, _ = coded[13200]
    assert api.encode(speech, 16000, 13200) == data


@pytest.mark.parametrize("bitrate_bps", BITRATES_BPS)
def test_encoder_and_decoder_end_in_the_same_range_coder_state(coded, bitrate_bps):
    data, encoder_reports, _ = coded[bitrate_bps]
    header, frames = read_hcb(data)
    decoder = Decoder(header)
    decoder.push(frames)
    assert len(decoder.reports) == len(encoder_reports) == len(frames)
    for ours, theirs in zip(encoder_reports, decoder.reports):
        assert ours.frame_index == theirs.frame_index
        assert ours.final_state == theirs.final_state, ours.frame_index
        # what decides how bits are read came out the same on both sides
        assert ours.bits == theirs.bits
        assert (ours.target_index, ours.noise_level_index, ours.envelope_shift) == \
               (theirs.target_index, theirs.noise_level_index, theirs.envelope_shift)
        assert (ours.coded_bins, ours.nonzero_bins) == (theirs.coded_bins, theirs.nonzero_bins)
        np.testing.assert_array_equal(ours.steps, theirs.steps)
        assert np.count_nonzero(np.isfinite(ours.steps)) == ours.coded_bins
    # the final states are not trivially equal: coded frames end in different states
    assert len({r.final_state for r in encoder_reports}) > len(encoder_reports) // 2


def test_frame_reports_read_back_from_the_file(coded):
    data, encoder_reports, _ = coded[24400]
    read_back = api.frame_reports(data)
    assert [r.final_state for r in read_back] == [r.final_state for r in encoder_reports]
    assert [r.target_index for r in read_back] == [r.target_index for r in encoder_reports]


# --- quality -----------------------------------------------------------------------------------

def test_segmental_snr_rises_with_bitrate(speech, coded):
    snr_db = [segmental_snr_db(speech, coded[b][2]) for b in BITRATES_BPS]
    assert all(lo < hi for lo, hi in zip(snr_db, snr_db[1:])), snr_db
    assert snr_db[0] > 1.0, snr_db


def test_decoded_speech_is_time_aligned(speech, coded):
    # against the 50 Hz high-passed input: the high-pass's own phase lead is not codec delay
    reference = highpass_50hz(speech)
    y = coded[24400][2]
    lags = np.arange(-40, 41)
    xc = [np.dot(reference[100:-100], np.roll(y, -lag)[100:-100]) for lag in lags]
    assert lags[int(np.argmax(xc))] == 0


# --- streaming ---------------------------------------------------------------------------------

def _random_chunks(rng, n, max_chunk):
    """Chunk boundaries covering range(n), with sizes 1 … max_chunk."""
    bounds = [0]
    while bounds[-1] < n:
        bounds.append(min(n, bounds[-1] + int(rng.integers(1, max_chunk + 1))))
    return list(zip(bounds[:-1], bounds[1:]))


@pytest.mark.parametrize("bitrate_bps, max_chunk", [(9600, 50), (16400, 700), (24400, 3000)])
def test_chunked_streaming_encode_equals_whole_file_encode(rng, speech, coded, bitrate_bps,
                                                           max_chunk):
    x = speech[:40000] if max_chunk < 100 else speech
    encoder = Encoder(bitrate_bps)
    frames = []
    for start, stop in _random_chunks(rng, x.shape[0], max_chunk):
        frames += encoder.push(x[start:stop])
        # a frame is out as soon as its last needed sample is in (20 ms hop, no look-ahead wait)
        assert len(frames) == stop // 320
    header = encoder.header(x.shape[0], 16000)
    frames += encoder.finish(header)
    expected = coded[bitrate_bps][0] if x is speech else api.encode(x, 16000, bitrate_bps)
    assert write_hcb(header, frames) == expected


def test_empty_pushes_change_nothing(speech):
    x = speech[16000:24000]
    encoder = Encoder(16400)
    frames = encoder.push(np.zeros(0))
    for start in range(0, x.shape[0], 1000):
        frames += encoder.push(x[start:start + 1000]) + encoder.push(x[:0])
    header = encoder.header(x.shape[0], 16000)
    frames += encoder.finish(header)
    assert write_hcb(header, frames) == api.encode(x, 16000, 16400)
    decoder = Decoder(header)
    assert decoder.push([]).shape == (0,)
    out = np.concatenate([decoder.push(frames), decoder.push([]), decoder.finish()])
    np.testing.assert_array_equal(out[:x.shape[0]], api.decode(write_hcb(header, frames))[0])


@pytest.mark.parametrize("max_chunk", [1, 7, 40])
def test_streaming_decode_in_chunks_equals_whole_decode(rng, speech, coded, max_chunk):
    data, _, whole = coded[16400]
    header, frames = read_hcb(data)
    decoder = Decoder(header)
    pieces = [decoder.push(frames[start:stop])
              for start, stop in _random_chunks(rng, len(frames), max_chunk)]
    streamed = np.concatenate(pieces + [decoder.finish()])[:header.n_codec_samples]
    np.testing.assert_array_equal(streamed, whole)
    assert streamed.shape == speech.shape


@pytest.mark.parametrize("lookahead", [False, True])
def test_streaming_decoder_output_is_causal(coded, lookahead):
    data, _, whole = coded[16400]
    header, frames = read_hcb(data)
    decoder = Decoder(header, lookahead=lookahead)
    out = np.concatenate([decoder.push(frames[:10]), decoder.push(frames[10:20])])
    # after frame t the samples up to 320 t + 160 are final: 20 frames give 19 × 320 + 160,
    # one frame less when the decoder holds one back for lookahead
    assert out.shape == ((18 if lookahead else 19) * 320 + 160,)
    np.testing.assert_array_equal(out, whole[:out.shape[0]])


# --- configurations ----------------------------------------------------------------------------

def test_default_alias_names_the_real_configuration_in_the_header(coded):
    header = api.read_header(coded[16400][0])
    assert header.config_name == get_config("default").name != "default"


@pytest.mark.parametrize("config", ["tcx-flat-weighting", "tcx-dither"])
def test_swapping_a_component_by_configuration(speech, coded, config):
    x = speech
    data, reports = api.encode_with_reports(x, 16000, 16400, config)
    assert api.read_header(data).config_name == config
    assert data != coded[16400][0]
    assert len(data) <= _file_bound_bytes(16400, x.shape[0], 16000)
    y, _ = api.decode(data)
    assert y.shape == x.shape
    assert segmental_snr_db(x, y) > 1.0
    decoded_reports = api.frame_reports(data)
    assert [r.final_state for r in decoded_reports] == [r.final_state for r in reports]
    assert all(sum(r.bits.values()) == r.budget_bits for r in reports)


def test_unknown_configuration_is_rejected(speech):
    with pytest.raises(ConfigError, match="tcx-laplacian"):
        api.encode(_speech_slice(speech, 4000), 16000, 16400, "no-such-config")
