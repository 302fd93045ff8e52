"""Tests of the learned post-filter ``lace``: dsp.lace's filters, the NumPy inference against the
torch model, streaming, silence, concealment, the shipped weights and the command line."""
import numpy as np
import pytest
import soundfile

from hybridcodec import api, cli
from hybridcodec.components.lace import (FEATURES, N_BANDS, NO_CHOICE, PARAMETER_STEM, STEP_CAP,
                                         LacePostfilter, LaceStream, filter_coefficients,
                                         frame_features)
from hybridcodec.components.spectrum_quantizer import SpectrumReport
from hybridcodec.core.codec import Decoder
from hybridcodec.dsp import lace
from hybridcodec.dsp.pitch import (MAX_LAG, MIN_LAG, OCTAVE_TOLERANCE, cross_correlations,
                                   pitch_kernel)
from hybridcodec.dsp.postfilter import HISTORY, PITCH_WINDOW, SUBFRAME
from hybridcodec.formats.packets import LossSimulator
from hybridcodec.parameters import digest, find_parameter_file, load_parameters

FS = 16000


@pytest.fixture(scope="module")
def coded(speech):
    return api.encode(speech[:2 * FS], FS, 9600)


def decode_frames(data, one_by_one=False, postfilter="lace"):
    header, frames = api.read_frames(data)
    decoder = Decoder(header, postfilter=postfilter)
    pushes = [[frame] for frame in frames] if one_by_one else [frames]
    return np.concatenate([decoder.push(p) for p in pushes] + [decoder.finish()])


def test_constant_filters_are_a_comb_then_an_fir(rng):
    """(L1)-(L3) with the same filters in every sub-frame: plain convolutions."""
    x = rng.standard_normal(6 * SUBFRAME)
    history = rng.standard_normal(lace.COMB_HISTORY)
    lag, b, a = 57, np.array([0.1, 0.3, 0.2]), rng.standard_normal(lace.ADACONV_TAPS)
    y, c = lace.lace_filter_kernel(x, history, np.full(7, lag), np.tile(b, (7, 1)),
                                   np.tile(a, (7, 1)), np.zeros(lace.ADACONV_TAPS - 1),
                                   lace.crossfade_window())
    xe = np.concatenate((history, x))
    n = history.size + np.arange(x.size)
    comb = x + sum(b[k] * xe[n - lag + k - 1] for k in range(3))
    np.testing.assert_allclose(c, comb, atol=1e-12)
    np.testing.assert_allclose(y, np.convolve(comb, a)[:x.size], atol=1e-12)


def test_crossfade_goes_from_the_old_filters_to_the_new():
    f = lace.crossfade_window()
    assert f[0] < 1e-3 and f[-1] > 1 - 1e-3 and np.all(np.diff(f) > 0)
    np.testing.assert_allclose(f + f[::-1], 1.0, atol=1e-12)


def test_sub_frame_pitch_search_is_each_window_searched_alone(speech):
    """The numerators summed per sub-frame and added in pairs give (P1) of each whole window."""
    x = speech[FS:FS + HISTORY + 8 * SUBFRAME]
    first_end = HISTORY + SUBFRAME
    before = cross_correlations(x, HISTORY - SUBFRAME, HISTORY, MIN_LAG, MAX_LAG)
    lags, rho, power, last = lace.subframe_pitch_kernel(x, first_end, 8, SUBFRAME, before)
    np.testing.assert_array_equal(last, cross_correlations(x, x.size - SUBFRAME, x.size, MIN_LAG,
                                                           MAX_LAG))
    for s in range(8):
        end = first_end + s * SUBFRAME
        lag, rho_alone = pitch_kernel(x, end, MIN_LAG, MAX_LAG, PITCH_WINDOW, OCTAVE_TOLERANCE)
        assert lags[s] == lag
        assert rho[s] == pytest.approx(rho_alone, abs=1e-12)
        assert power[s] == pytest.approx(np.mean(x[end - SUBFRAME:end] ** 2))
    assert len(set(lags)) > 1 and rho.max() > 0.5     # voiced speech, and the lag moves


def test_untrained_outputs_give_the_identity_filter():
    outputs = np.zeros((1, 21))
    outputs[0, 0] = -50.0
    comb, kernels = filter_coefficients(outputs)
    np.testing.assert_allclose(comb, 0.0, atol=1e-20)
    np.testing.assert_allclose(kernels[0], np.eye(lace.ADACONV_TAPS)[0])


def test_numpy_inference_matches_the_torch_model(speech):
    torch = pytest.importorskip("torch")
    from hybridcodec.training.postfilter_training import TRAINING_CONFIG, decoded_example
    from hybridcodec.learned.postfilter_net import LaceNet, postfilter_signal

    clip = speech[:2 * FS]
    example = decoded_example(clip, 9600)
    net = LaceNet.from_arrays(load_parameters(find_parameter_file(PARAMETER_STEM))).double()
    with torch.no_grad():
        expected = postfilter_signal(net, *(torch.as_tensor(example[key][None]) for key in
                                            ("features", "lags", "decoded")))[0].numpy()
    y = decode_frames(api.encode(clip, FS, 9600, TRAINING_CONFIG))
    assert np.max(np.abs(y[:expected.size] - example["decoded"])) > 1e-3   # it filters
    np.testing.assert_allclose(y[:expected.size], expected, rtol=0, atol=1e-9)


def test_cached_training_examples_are_keyed_by_the_code_of_the_features(monkeypatch):
    from hybridcodec.formats.hcb import FORMAT_VERSION
    from hybridcodec.training import postfilter_training

    key = postfilter_training.example_key()
    assert f"format{FORMAT_VERSION}" in key
    monkeypatch.setattr(postfilter_training, "FEATURE_SOURCES",
                        postfilter_training.FEATURE_SOURCES[:-1])
    assert postfilter_training.example_key() != key


def test_training_loss_is_zero_for_the_clean_signal_and_counts_a_gain_error_in_db(rng):
    """(T1) of y = 2x is 1 per resolution and (T2) is 20 log10 2 = 6.02 dB in every band of white
    noise (all far above the 60 dB floor), weighted by LEVEL_WEIGHT."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("librosa")
    from hybridcodec.learned.postfilter_net import LEVEL_WEIGHT, STFT_SIZES, spectral_loss

    x = torch.as_tensor(rng.standard_normal((2, 8000)))
    assert float(spectral_loss(x, x)) == pytest.approx(0.0, abs=1e-9)
    expected = len(STFT_SIZES) + LEVEL_WEIGHT * 20.0 * np.log10(2.0)
    assert float(spectral_loss(x, 2.0 * x)) == pytest.approx(expected, abs=1e-3)


def test_decoder_streams_frame_by_frame(coded):
    np.testing.assert_array_equal(decode_frames(coded, one_by_one=True), decode_frames(coded))


def test_blocks_give_the_same_as_one_call(speech):
    """Without envelopes the features do not depend on the block sizes: any chunking of whole
    sub-frames gives what one call gives (the state carries over; matrix products of other
    shapes may round differently, hence the tolerance)."""
    x = speech[FS:FS + 40 * SUBFRAME]
    whole = LacePostfilter().stream(13200).push(x, None)
    stream = LacePostfilter().stream(13200)
    cuts = np.cumsum([2, 4, 1, 7, 4, 4, 9, 13]) * SUBFRAME
    pieces = [stream.push(piece, None) for piece in np.split(x, cuts[:-1])]
    assert np.max(np.abs(whole - x)) > 1e-3
    np.testing.assert_allclose(np.concatenate(pieces), whole, rtol=0, atol=1e-12)


def test_output_is_finite_same_length_and_close_in_level(coded):
    plain, filtered = decode_frames(coded, postfilter="none"), decode_frames(coded)
    assert filtered.shape == plain.shape and np.all(np.isfinite(filtered))
    assert not np.allclose(filtered, plain)
    assert abs(10 * np.log10(np.sum(filtered ** 2) / np.sum(plain ** 2))) < 3.0


def test_silence_stays_silent():
    stream = LacePostfilter().stream(9600)
    envelope = np.full(320, 1e-3)
    for size in (160, 320, 320, 320):
        assert np.array_equal(stream.push(np.zeros(size), envelope), np.zeros(size))


def test_frame_features_cap_the_steps_and_count_bins_not_coded_as_the_cap():
    """q of (N1): the band mean of log min(δ, STEP_CAP), inf (not coded) counting as the cap."""
    envelope = np.exp(np.repeat(np.arange(N_BANDS, dtype=float), 20))
    nothing = SpectrumReport(0, 0, 0, 0, np.full(320, np.inf))
    np.testing.assert_allclose(frame_features(envelope, nothing),
                               np.concatenate((np.arange(N_BANDS), NO_CHOICE)))
    steps = np.repeat(2.0 ** np.arange(N_BANDS), 20)
    steps[-20:-10] = np.inf
    q = frame_features(envelope, SpectrumReport(150, 3, 300, 40, steps))[N_BANDS:]
    expected = np.minimum(np.arange(N_BANDS) * np.log(2.0), np.log(STEP_CAP))
    np.testing.assert_allclose(q, np.concatenate((expected, (150, 3))))


def test_each_block_comes_with_the_rate_loop_choice_of_its_frame(speech):
    """Under lookahead the post-filter gets frame t's block with frame t's report (the steps of
    the decoder's report t), and None with the envelope of a lost frame (in a packet stream,
    where a loss takes only its own frame)."""
    header, frames = api.read_frames(api.encode_packets(speech[:2 * FS], FS, 9600))
    decoder = Decoder(header, postfilter="none")
    handed = []

    class Recorder:
        def push(self, samples, envelope, coded_lag=0, choice=None):
            handed.append((envelope, choice))
            return samples

    decoder.postfilter = Recorder()
    frames = list(frames)
    frames[5] = None
    decoder.push(frames)
    decoder.finish()
    assert len(handed) == len(frames)
    assert handed[5] == (None, None)
    for t, (envelope, choice) in enumerate(handed):
        if t != 5:
            np.testing.assert_array_equal(choice.steps, decoder.reports[t].steps)
    assert not np.array_equal(handed[3][1].steps, handed[4][1].steps)


def test_concealed_frames_are_filtered_too(coded):
    y, _ = api.decode(coded, loss=LossSimulator(0.2, seed=3), postfilter="lace")
    plain, _ = api.decode(coded, loss=LossSimulator(0.2, seed=3), postfilter="none")
    assert y.shape == plain.shape and np.all(np.isfinite(y)) and not np.allclose(y, plain)
    first = LaceStream(LacePostfilter().network, 9600).push(plain[:160], None)   # lost first
    assert np.all(np.isfinite(first))


def test_strength_falls_with_the_bitrate(speech):
    from hybridcodec.components.postfilter import rate_strength

    assert rate_strength(9600, 16400, 32000, 0.25) == 1.0
    assert rate_strength(40000, 16400, 32000, 0.25) == 0.25
    assert rate_strength(24200, 16400, 32000, 0.0) == pytest.approx(0.5)
    x = speech[FS:FS + 20 * SUBFRAME]
    assert np.array_equal(LacePostfilter(high_rate_strength=0.0).stream(48000).push(x, None), x)
    weak = LacePostfilter().stream(40000).push(x, None) - x
    full = LacePostfilter().stream(24400).push(x, None) - x
    assert 0.0 < np.sum(weak ** 2) < np.sum(full ** 2)


def test_a_block_that_is_not_whole_sub_frames_is_left_alone(rng):
    x = rng.standard_normal(100)
    assert np.array_equal(LacePostfilter().stream(9600).push(x, None), x)


def test_shipped_weights_load_and_their_digest_is_in_the_header():
    path = find_parameter_file(PARAMETER_STEM)
    arrays = load_parameters(path)
    assert arrays["gru_w_hh"].shape[1] <= 48 and arrays["feature_mean"].size == FEATURES
    assert LacePostfilter().parameter_digests() == (digest(path),)


def test_cli_decodes_with_lace(tmp_path, capsys, hcb):
    plain, filtered = tmp_path / "plain.wav", tmp_path / "lace.wav"
    assert cli.main(["decode", str(hcb), str(plain), "--postfilter", "none"]) == 0
    assert cli.main(["decode", str(hcb), str(filtered), "--postfilter", "lace"]) == 0
    x, y = soundfile.read(str(plain))[0], soundfile.read(str(filtered))[0]
    assert x.shape == y.shape and not np.array_equal(x, y)


def test_configuration_with_lace_records_its_digest_and_uses_it(speech):
    data = api.encode(speech[:FS], FS, 9600, config="tcx-lace")
    assert digest(find_parameter_file(PARAMETER_STEM)) in api.read_header(data).parameter_digests
    with_lace, plain = api.decode(data)[0], api.decode(data, postfilter="none")[0]
    np.testing.assert_array_equal(with_lace, api.decode(data, postfilter="lace")[0])
    assert not np.allclose(with_lace, plain)
