"""LSF envelopes (lsf-vq, lsf-softmax): stability after quantization, bit budget, bit-exact
round trips of real speech, the geometric-mean gain convention, and torch-free decoding."""
import subprocess
import sys

import numpy as np
import pytest

from hybridcodec.dsp import lpc, mdct
from hybridcodec.dsp.filters import highpass_50hz
from hybridcodec.dsp.range_coder import RangeCoder
from hybridcodec import api
from hybridcodec.formats.audio import read_audio
from hybridcodec.formats.hcb import MIN_FRAME_BYTES
from hybridcodec.components import lsf_envelope as le
from hybridcodec.tools.demo import DEMO_CLIP
from hybridcodec.errors import ConfigError
from hybridcodec.parameters import find_parameter_file, load_parameters, save_parameters

CONFIGS = ("tcx-lsf-vq", "tcx-lsf-softmax")


@pytest.fixture(scope="module")
def speech_frames():
    """Active MDCT frames of the demo clip, as the encoder sees them."""
    x, rate, _ = read_audio(DEMO_CLIP)
    frames = mdct.analyze(highpass_50hz(x))
    level = np.mean(frames**2, axis=1)
    return frames[level > 1e-6 * level.max()][::4]


@pytest.fixture(scope="module", params=["lsf-vq", "lsf-softmax"])
def component(request):
    return le.LsfVqEnvelope() if request.param == "lsf-vq" else le.LsfSoftmaxEnvelope()


def _random_indices(component, rng):
    if isinstance(component, le.LsfVqEnvelope):
        return [int(rng.integers(len(cb))) for cb in component.codebooks]
    return [int(i) for i in rng.integers(0, component.centroids.size, le.LPC_ORDER)]


def test_quantized_lsf_are_ordered_spaced_and_minimum_phase(component, rng):
    for _ in range(200):   # arbitrary (also implausible) index combinations
        lsf = component.quantized_lsf(_random_indices(component, rng))
        assert np.all(np.diff(lsf) >= le.MIN_LSF_GAP_RAD - 1e-12)
        assert le.MIN_LSF_GAP_RAD - 1e-12 <= lsf[0] and lsf[-1] <= np.pi - le.MIN_LSF_GAP_RAD + 1e-12
        side = le.LsfSide(component.n_codes, 0, 0, tuple(_random_indices(component, rng)))
        with np.errstate(all="raise"):
            assert np.all(np.isfinite(component.synthesize(side)))


def test_decoded_speech_lsf_give_minimum_phase_predictors(component, speech_frames):
    for x in speech_frames[:40]:
        lsf = component.quantized_lsf(component.analyze(x).indices)
        a = lpc.lsf_to_lpc(lsf)
        np.testing.assert_allclose(lpc.lpc_to_lsf(a), lsf, atol=1e-9)   # raises unless stable
        assert np.max(np.abs(np.roots(a))) < 1.0
        np.testing.assert_allclose(np.exp(le.log_shape(lsf, 0.0) + le.log_tilt()),
                                   lpc.lpc_envelope(a, 1.0), rtol=1e-8)


@pytest.mark.parametrize("lag_window_hz", [60.0, 150.0])
def test_analysis_gives_ordered_lsf_even_for_silence_and_a_tone(lag_window_hz):
    tone = np.zeros(320)
    tone[40] = 1.0
    for spectrum in (np.zeros(320), tone):
        lsf = le.analyze_lpc(spectrum, lag_window_hz)
        assert lsf.shape == (16,) and np.all(np.diff(lsf) > 0) and 0 < lsf[0] and lsf[-1] < np.pi


def test_put_get_round_trip_and_gain_convention(component, speech_frames):
    for x in speech_frames[:40]:
        coder, side = component.encode(x, 256, 400)
        assert side.dropped == 0
        decoded = component.get(RangeCoder.decoder(coder.finish()))
        assert decoded == side
        log_envelope = np.log(component.synthesize(decoded))
        mean_log_x = np.mean(np.log(np.maximum(np.abs(x), 1e-6)))
        half_step = 0.5 * component.gain.step_db / le.DB_PER_NEPER
        assert abs(np.mean(log_envelope) - mean_log_x) <= half_step + 1e-9


def test_each_component_has_its_own_analysis_from_its_parameter_file():
    """lsf-vq (designed for LSF distortion) analyses at 150 Hz, lsf-softmax (whole-frame bits)
    at 60 Hz; each reads it from its own parameter file, as its training wrote it."""
    from hybridcodec.training import lsf_training

    expected = {"lsf-vq": lsf_training.LSF_VQ_LAG_WINDOW_HZ, "lsf-softmax": 60.0}
    for stem, component in (("lsf-vq", le.LsfVqEnvelope()),
                            ("lsf-softmax", le.LsfSoftmaxEnvelope())):
        stored = load_parameters(find_parameter_file(stem))["lag_window_hz"]
        assert component.lag_window_hz == float(stored) == expected[stem]
    assert lsf_training.LSF_VQ_LAG_WINDOW_HZ == 150.0


def _with_lag_window(component, lag_window_hz, directory):
    """A copy of the component whose parameter file differs only in its lag window."""
    stem = "lsf-vq" if isinstance(component, le.LsfVqEnvelope) else "lsf-softmax"
    arrays = dict(component.arrays, lag_window_hz=np.array(lag_window_hz))
    return type(component)(parameters=str(save_parameters(stem, arrays, directory)))


def test_analysis_comes_from_the_parameter_file_and_round_trips_bit_exactly(
        component, speech_frames, tmp_path):
    other_lag = 60.0 if component.lag_window_hz != 60.0 else 150.0
    other = _with_lag_window(component, other_lag, tmp_path)
    assert other.lag_window_hz == other_lag
    changed = 0
    for x in speech_frames[:30]:
        for coder_side in (component, other):
            side = coder_side.analyze(x)
            # the indices are those of the analysis at the file's lag window
            assert list(side.indices) == coder_side._search(
                le.analyze_lpc(x, coder_side.lag_window_hz))
            coder, side = coder_side.encode(x, 256, 400)
            fresh = type(coder_side)(parameters=str(coder_side.parameter_files[0]))
            decoded = fresh.get(RangeCoder.decoder(coder.finish()))
            assert decoded == side
            assert np.array_equal(fresh.synthesize(decoded), coder_side.synthesize(side))
        changed += component.analyze(x).indices != other.analyze(x).indices
    assert changed > 15   # the stored lag window really is the analysis used


def test_a_parameter_file_without_its_analysis_is_refused(tmp_path):
    vq = le.LsfVqEnvelope()
    arrays = {k: v for k, v in vq.arrays.items() if k != "lag_window_hz"}
    path = save_parameters("lsf-vq", arrays, tmp_path)
    with pytest.raises(ConfigError, match="lag_window_hz"):
        le.LsfVqEnvelope(parameters=str(path))


def test_gain_is_predicted_from_the_decoded_lsf_and_decodes_in_a_fresh_component(
        component, speech_frames):
    fresh = type(component)()
    predictions = []
    for x in speech_frames[:20]:
        coder, side = component.encode(x, 256, 400)
        decoded = fresh.get(RangeCoder.decoder(coder.finish()))
        lsf = fresh.quantized_lsf(decoded.indices)
        predictions.append(fresh.gain.predict(lsf))
        expected = fresh.gain.dequantize(decoded.gain_index, predictions[-1]) + \
            le.log_shape(lsf, fresh.correction)
        assert np.array_equal(np.log(fresh.synthesize(decoded)),
                              np.log(le.envelope_from_log(expected)))
        assert np.array_equal(fresh.synthesize(decoded), component.synthesize(side))
    assert np.ptp(predictions) > 0   # the predictor is trained, not a constant


def test_envelope_fits_a_small_frame_limit(component, speech_frames):
    sizes = []
    for max_bits in (8, 16, 24, 32):
        for x in speech_frames[:10]:
            coder, side = component.encode(x, 64, max_bits)
            sizes.append(side.count)
            assert coder.tell() <= max_bits or side.count == 0
            decoded = component.get(RangeCoder.decoder(coder.finish()))
            assert decoded == side
            assert np.all(np.isfinite(component.synthesize(decoded)))
    assert min(sizes) < component.n_codes   # the limits did force stages to be dropped


def test_quantization_keeps_the_envelope_close(component, speech_frames):
    sd = [component.spectral_distortion_db(x, component.analyze(x)) for x in speech_frames[:60]]
    assert np.mean(sd) < 2.5


def test_m_best_search_beats_greedy_on_speech(speech_frames):
    vq = le.LsfVqEnvelope()
    errors = {1: [], 8: []}
    for x in speech_frames[:60]:
        lsf = le.analyze_lpc(x, vq.lag_window_hz)
        weights = le.inverse_spacing_weights(lsf)
        for m in errors:
            indices = le.m_best_search(lsf - vq.mean, weights, vq.dims, vq.codebooks, m)
            errors[m].append(float(((lsf - vq._lsf(indices))**2) @ weights))
    assert np.mean(errors[8]) < 0.97 * np.mean(errors[1])


@pytest.mark.parametrize("config", CONFIGS)
def test_codec_round_trip_is_bit_exact(config):
    x, rate, _ = read_audio(DEMO_CLIP)
    x = x[:int(2.0 * rate)]
    data, reports = api.encode_with_reports(x, rate, 16400, config)
    decoded = api.frame_reports(data)
    assert [r.final_state for r in decoded] == [r.final_state for r in reports]
    assert [r.bits for r in decoded] == [r.bits for r in reports]
    y1, _ = api.decode(data)
    y2, _ = api.decode(data)
    assert np.array_equal(y1, y2)
    assert api.encode(x, rate, 16400, config) == data
    n = min(len(x), len(y1))
    snr = 10 * np.log10(np.sum(x[:n]**2) / np.sum((x[:n] - y1[:n])**2))
    assert snr > 3.0
    for report in reports:
        if report.budget_bits >= 8 * MIN_FRAME_BYTES:     # a coded frame, not a squeezed tail
            assert report.bits["envelope"] <= report.budget_bits - 19


def test_configurations_swap_only_the_envelope():
    from hybridcodec.core.config import get_config

    base = get_config("tcx-laplacian")
    for name in CONFIGS:
        config = get_config(name)
        assert config.envelope.name in ("lsf-vq", "lsf-softmax")
        assert {s: getattr(config, s) for s in config.slots() if s != "envelope"} == \
               {s: getattr(base, s) for s in base.slots() if s != "envelope"}


def test_decoding_needs_no_torch(tmp_path):
    x, rate, _ = read_audio(DEMO_CLIP)
    data = api.encode(x[:rate], rate, 13200, "tcx-lsf-softmax")
    path = tmp_path / "a.hcb"
    path.write_bytes(data)
    code = ("import sys\nfrom hybridcodec import api\n"
            f"y, _ = api.decode(open({str(path)!r}, 'rb').read())\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\nprint(len(y))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_lsf_vq_training_refuses_fewer_frames_than_codewords(rng):
    """k-means of the largest stage needs a frame per codeword; fewer is refused clearly."""
    from hybridcodec.errors import CorpusError
    from hybridcodec.training.lsf_training import VQ_LAYOUT, train_stages

    k_max = max(1 << bits for _, _, bits in VQ_LAYOUT)
    with pytest.raises(CorpusError, match=f"at least {k_max} frames of 20 ms.* gave 146"):
        train_stages(rng.standard_normal((146, le.LPC_ORDER)), progress=False)
