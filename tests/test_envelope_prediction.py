"""Inter-frame prediction of the cepstral envelope (E2): the fit, the component and the frame
coders' history, with lost and re-decoded frames."""
import numpy as np
import pytest

from hybridcodec import api
from hybridcodec.api import encode_with_reports
from hybridcodec.cli import main
from hybridcodec.components.envelope import CepstralEnvelope
from hybridcodec.core.codec import Decoder
from hybridcodec.core.config import register_config
from hybridcodec.core.frame import INTRA_PERIOD, EnvelopeHistory, FrameDecoder, FrameEncoder
from hybridcodec.core.pipeline import get_pipeline
from hybridcodec.dsp import envelope as cepstral
from hybridcodec.dsp import mdct
from hybridcodec.parameters import find_parameter_file
from hybridcodec.training import corpus
from hybridcodec.training.fit import active_runs

SPEECH_CONFIG = "tcx-dsp"


def ar1_sequences(rng, mean, gain, scale, n_sequences=40, length=200):
    """Runs of y(t) = μ + c(t), c(t) = a c(t−1) + Laplace(0, b)."""
    sequences = []
    for _ in range(n_sequences):
        c = np.zeros((length, len(mean)))
        for t in range(1, length):
            c[t] = gain * c[t - 1] + rng.laplace(0.0, scale)
        sequences.append(mean + c)
    return sequences


def test_fit_recovers_the_mean_gain_and_residual_scale_of_an_ar1_process(rng):
    mean, gain = np.array([5.0, -1.0, 0.0]), np.array([0.9, 0.5, 0.0])
    scale = np.array([1.0, 2.0, 0.5])
    fitted = cepstral.fit_cepstrum_prediction(ar1_sequences(rng, mean, gain, scale))
    np.testing.assert_allclose(fitted["gain"], gain, atol=0.03)
    np.testing.assert_allclose(fitted["residual_scale"], scale, rtol=0.05)
    np.testing.assert_allclose(fitted["mean"], mean, atol=0.5)


def test_prediction_pulls_the_previous_cepstrum_towards_the_mean_by_the_gains():
    mean, gain = np.array([1.0, 2.0]), np.array([0.5, 0.9])
    np.testing.assert_allclose(cepstral.predicted_cepstrum(np.array([3.0, 0.0]), mean, gain),
                               [2.0, 0.2])


def test_quantization_around_a_prediction_errs_at_most_half_a_step(rng):
    y, prediction = rng.normal(0.0, 10.0, (100, 20)), rng.normal(0.0, 10.0, (100, 20))
    indices = cepstral.quantize_cepstrum(y, 0.7, prediction)
    y_hat = cepstral.dequantize_cepstrum(indices, 0.7, prediction)
    assert np.max(np.abs(y_hat - y)) <= 0.35 + 1e-12


def test_active_runs_split_a_clip_at_its_silent_frames(rng):
    frames = rng.normal(0.0, 0.1, (12, 320))
    frames[[0, 4, 5, 11]] = 0.0
    assert [len(run) for run in active_runs(frames)] == [3, 5]


def test_prediction_saves_a_quarter_of_the_envelope_bits_on_speech(speech):
    """On the demo clip the speech configuration's predicted envelope costs at most three
    quarters of the same envelope coded frame by frame (about 30 against 45 bits at 9.6 kbps)."""
    def mean_envelope_bits(config):
        _, reports = encode_with_reports(speech, 16000, 9600, config)
        return np.mean([r.bits["envelope"] for r in reports if "envelope" in r.bits])
    config = get_pipeline(SPEECH_CONFIG).config
    alone = config.override("test-dsp-intra", "",
                            envelope=config.envelope.with_params(prediction=None))
    register_config(alone)
    assert mean_envelope_bits(config.name) < 0.75 * mean_envelope_bits(alone.name)


def coded_frames(speech, intra_period):
    """Payloads of 100 speech frames at 16.4 kbps and the encoder's envelope sides."""
    encoder = FrameEncoder(get_pipeline(SPEECH_CONFIG), intra_period)
    payloads, sides = [], []
    for t, frame in enumerate(mdct.analyze(speech)[40:140]):
        payloads.append(encoder.encode_frame(frame, t, 41)[0])
        sides.append(encoder.envelope_history.before(t + 1))
    return payloads, sides


def decoded_sides(payloads, lost=()):
    """Each frame's decoded envelope side, None where lost or not decodable (orphan)."""
    decoder, sides = FrameDecoder(get_pipeline(SPEECH_CONFIG)), []
    for t, payload in enumerate(payloads):
        if t in lost:
            sides.append(None)
            continue
        decoder.decode_frame(payload, t)
        assert decoder.last_orphan == (not decoder.last_valid)
        sides.append(decoder.envelope_history.before(t + 1) if decoder.last_valid else None)
    return sides


def test_predicted_envelopes_decode_bit_exactly_and_a_loss_is_concealed_until_an_intra_frame(
        speech):
    """Most frames are predicted; the decoder rebuilds the encoder's ŷ exactly.  After a lost
    frame it cannot decode the predicted frames that follow (orphans), and from the next intra
    frame (at the latest the forced one, frame 50) it decodes exactly again."""
    envelope = get_pipeline(SPEECH_CONFIG).envelope
    payloads, sides = coded_frames(speech, INTRA_PERIOD)
    assert sides[0].predicted is False and sides[INTRA_PERIOD].predicted is False
    assert sum(side.predicted for side in sides) > 0.8 * len(sides)
    for side, decoded in zip(sides, decoded_sides(payloads)):
        np.testing.assert_array_equal(envelope.dequantize(decoded), envelope.dequantize(side))
    after_loss = decoded_sides(payloads, lost={10})
    first_intra = next(t for t in range(11, len(sides)) if not sides[t].predicted)
    assert first_intra <= INTRA_PERIOD
    assert all(side is None for side in after_loss[10:first_intra])
    for side, decoded in zip(sides[first_intra:], after_loss[first_intra:]):
        np.testing.assert_array_equal(envelope.dequantize(decoded), envelope.dequantize(side))


def test_a_packet_streams_envelopes_are_all_intra_so_a_loss_takes_only_its_frame(speech):
    payloads, sides = coded_frames(speech, 1)
    assert not any(side.predicted for side in sides)
    after_loss = decoded_sides(payloads, lost={10})
    assert after_loss[10] is None and all(side is not None for side in after_loss[11:])


def test_a_loss_in_a_file_is_concealed_up_to_the_next_intra_frame_and_is_not_damage(speech):
    coded = api.encode(speech, 16000, 16400, SPEECH_CONFIG)
    header, frames = api.read_frames(coded)
    decoder = Decoder(header)
    decoder.push([None if t == 20 else frame for t, frame in enumerate(frames)])
    decoder.finish()
    assert decoder.damaged == []
    assert decoder.concealed[0] == 20 and len(decoder.concealed) > 1
    assert decoder.concealed == list(range(20, 20 + len(decoder.concealed)))
    assert decoder.concealed[-1] < INTRA_PERIOD


def test_history_gives_frame_t_minus_1_also_when_frame_t_is_decoded_again():
    history = EnvelopeHistory()
    history.record(0, "a")
    history.record(1, "b")
    assert history.before(1) == "a" and history.before(2) == "b"
    history.record(1, "b again")
    assert history.before(1) == "a" and history.before(2) == "b again"
    assert history.before(0) is None and history.before(3) is None


def test_without_prediction_the_side_does_not_depend_on_the_frame_before(speech):
    component = CepstralEnvelope(get_pipeline(SPEECH_CONFIG).source_model)
    frames = mdct.analyze(speech)[40:42]
    first = component.encode(frames[0], 64, 400)[1]
    alone, after_first = (component.encode(frames[1], 64, 400, previous)[1]
                          for previous in (None, first))
    np.testing.assert_array_equal(alone.indices, after_first.indices)
    assert not after_first.predicted


@pytest.mark.parametrize("config", ["tcx-dsp", "default"])
def test_the_speech_configurations_predict_their_envelope(config):
    assert get_pipeline(config).envelope.predictor is not None


def test_the_train_command_reproduces_the_shipped_file(tmp_path, assert_same_parameters):
    corpus_dir = corpus.default_corpus_dir()
    if not (corpus_dir / corpus.MANIFEST_FILE).is_file():
        pytest.skip(f"the corpus is not fetched at {corpus_dir} (run 'hybridcodec corpus fetch')")
    assert main(["train", "envelope-prediction", "--out", str(tmp_path)]) == 0
    assert_same_parameters(find_parameter_file("envelope-prediction", tmp_path),
                           find_parameter_file("envelope-prediction"))
