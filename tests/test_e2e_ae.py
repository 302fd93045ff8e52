"""Tests of the end-to-end autoencoder configuration ``e2e-ae``: the folded-time transform, the
empty envelope, the NumPy inference against torch, the budget rule, bit-exact round trips at the
three rates, streaming, entropy control and the shipped weights."""
import numpy as np
import pytest

from hybridcodec import api
from hybridcodec.components.e2e_ae import (MAX_GAIN_OFFSET, PARAMETER_STEM, EndToEndAutoencoder,
                                          EntropyControl, RateModel)
from hybridcodec.dsp.entropy_models import quantize_cdf
from hybridcodec.core.codec import Decoder, Encoder
from hybridcodec.core.frame import FrameDecoder, FrameEncoder
from hybridcodec.core.pipeline import get_pipeline
from hybridcodec.dsp import e2e_ae, mdct
from hybridcodec.dsp.range_coder import RangeCoder
from hybridcodec.errors import ConfigError
from hybridcodec.formats.hcb import read_hcb, write_hcb
from hybridcodec.parameters import find_parameter_file, load_parameters

torch = pytest.importorskip("torch")
from hybridcodec.learned.e2e_ae import SpeechAutoencoder  # noqa: E402
from hybridcodec.training import e2e_training  # noqa: E402

RATES_BPS = (9600, 16400, 24400)
FS = 16000


@pytest.fixture(scope="module")
def coded(speech):
    """{bitrate: (bytes, encoder reports)} of 1 s of the demo clip with e2e-ae."""
    return {rate: api.encode_with_reports(speech[FS:2 * FS], FS, rate, config="e2e-ae")
            for rate in RATES_BPS}


def test_folded_time_frames_reconstruct_the_signal_perfectly(rng):
    x = rng.standard_normal(5 * mdct.HOP + 77)
    frames = mdct.analyze(x, forward=mdct.fold)
    synthesizer = mdct.MdctSynthesizer(mdct.unfold)
    y = synthesizer.push(frames)[:x.size]
    np.testing.assert_allclose(y, x, atol=1e-12)
    # the MDCT is the DCT-IV of the folded frame: folding alone is not the MDCT
    assert not np.allclose(frames, mdct.analyze(x))


def test_mdct_is_still_the_dct4_of_the_fold(rng):
    blocks = rng.standard_normal((3, mdct.BLOCK))
    np.testing.assert_array_equal(mdct.mdct(blocks), mdct._dct4(mdct.fold(blocks)))
    np.testing.assert_array_equal(mdct.imdct(blocks[:, :mdct.HOP]),
                                  mdct.unfold(mdct._dct4(blocks[:, :mdct.HOP])))


def test_empty_envelope_costs_no_bits_and_is_flat():
    envelope = get_pipeline("e2e-ae").envelope
    coder, side = envelope.encode(np.ones(320), 64, 100)
    assert coder.tell_frac() == pytest.approx(RangeCoder.encoder(64).tell_frac())
    np.testing.assert_array_equal(envelope.synthesize(side), np.ones(320))


def test_numpy_inference_matches_the_torch_model(rng):
    torch.manual_seed(3)
    model = SpeechAutoencoder(channels=6, n_centers=8)
    for parameter in model.parameters():        # PReLU slopes off their 0.25 start too
        parameter.data += 0.1 * torch.randn_like(parameter)
    params = model.export()
    x = rng.standard_normal((2, 320))
    with torch.no_grad():
        z = model.encoder(torch.tensor(x, dtype=torch.float32)).double().numpy()
        y = model.decoder(torch.tensor(z, dtype=torch.float32)).double().numpy()
    for i in range(2):
        np.testing.assert_allclose(e2e_ae.encode(params, x[i]), z[i], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(e2e_ae.decode(params, z[i]), y[i], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("rate", RATES_BPS)
def test_round_trip_keeps_the_budget_and_decodes_bit_exactly(speech, coded, rate):
    data, reports = coded[rate]
    reference = api.encode(speech[FS:2 * FS], FS, rate, config="tcx-laplacian")
    assert len(data) == len(reference)          # the file size of every configuration
    header, frames = read_hcb(data)
    assert all(r.bits["padding"] >= 0 for r in reports)
    assert all(len(f) == rate // 400 for f in frames[:-2])
    # full frames take the model of their rate or, when it does not fit uncut, a lower one
    quantizer = get_pipeline("e2e-ae").spectrum_quantizer
    used = [r.target_index for r in reports[:-2]]
    assert max(used) == RATES_BPS.index(rate) and min(used) >= 0
    decoder = Decoder(header)
    decoder.push(frames)
    assert [r.final_state for r in decoder.reports] == [r.final_state for r in reports]
    assert quantizer.models[RATES_BPS.index(rate)].rate_bps == rate


def test_decoder_gives_the_encoders_reconstruction(speech):
    pipeline = get_pipeline("e2e-ae")
    quantizer = pipeline.spectrum_quantizer
    frames = mdct.analyze(speech[FS:FS + 8 * 320], forward=mdct.fold)
    encoder, decoder = FrameEncoder(pipeline), FrameDecoder(pipeline)
    control = EntropyControl()                    # the stream's, followed alongside
    for t, frame in enumerate(frames):
        payload, _ = encoder.encode_frame(frame, t, 41)
        index, gain_index, symbols = quantizer.choose(RangeCoder.encoder(64), frame, 328,
                                                      control)
        np.testing.assert_array_equal(decoder.decode_frame(payload, t),
                                      quantizer.frame(quantizer.models[index], symbols,
                                                      gain_index))


def test_gain_normalization_makes_the_code_independent_of_the_level(speech):
    quantizer = EndToEndAutoencoder()
    frame = mdct.analyze(speech[FS:FS + 4 * 320], forward=mdct.fold)[2]
    index, gain_index, symbols = quantizer.choose(RangeCoder.encoder(64), frame, 328)
    # 2× louder is 4 steps of 0.25 octave up the gain grid, the same latent, 2× the output
    louder = quantizer.choose(RangeCoder.encoder(64), 2.0 * frame, 328)
    assert louder[:2] == (index, gain_index + 4)
    np.testing.assert_array_equal(louder[2], symbols)
    model = quantizer.models[index]
    np.testing.assert_allclose(quantizer.frame(model, symbols, gain_index + 4),
                               2.0 * quantizer.frame(model, symbols, gain_index), rtol=1e-12)
    # the quantized gain lies within half a step (0.75 dB) of the frame's RMS
    rms = np.sqrt(np.mean(frame ** 2))
    assert abs(np.log2(e2e_ae.gain(gain_index) / rms)) <= e2e_ae.GAIN_STEP_LOG2 / 2


def test_a_frame_below_the_gain_grid_is_silent_and_costs_one_symbol():
    quantizer = EndToEndAutoencoder()
    w = np.full(320, 2.0 ** (e2e_ae.GAIN_FLOOR_LOG2 - 1.0))
    coder = RangeCoder.encoder(64)
    report = quantizer.encode(coder, w, np.zeros(320), 328, 0)
    assert report.target_index == -1           # only the index 0 (p = 1/3001): no gain, no latent
    assert coder.tell_frac() - RangeCoder.encoder(64).tell_frac() < np.log2(3001.0) + 0.01
    decoded, read = quantizer.decode(RangeCoder.decoder(coder.finish()), np.zeros(320), 328, 0)
    assert read == report and not decoded.any()


def test_frame_reports_count_no_side_fields_the_autoencoder_does_not_write(coded):
    for rate in RATES_BPS:
        for report in coded[rate][1]:
            assert set(report.bits) == {"envelope", "spectrum", "padding"}
            assert sum(report.bits.values()) == report.budget_bits


def test_streaming_in_odd_chunks_equals_whole_signal(speech, coded):
    x = speech[FS:2 * FS]
    encoder = Encoder(16400, config="e2e-ae")
    frames = []
    for start in range(0, x.size, 777):
        frames += encoder.push(x[start:start + 777])
    header = encoder.header(x.size, FS)
    frames += encoder.finish(header)
    assert write_hcb(header, frames) == coded[16400][0]
    whole = api.decode(coded[16400][0])[0]
    decoder = Decoder(header)
    pieces = [decoder.push(frames[i:i + 3]) for i in range(0, len(frames), 3)]
    streamed = np.concatenate(pieces + [decoder.finish()])[:whole.size]
    np.testing.assert_array_equal(streamed, whole)


@pytest.mark.parametrize("budget_bits", [64, 120, 150])
def test_a_costly_frame_is_cut_to_fit_any_budget(rng, budget_bits):
    quantizer = EndToEndAutoencoder()
    w = 0.5 * rng.standard_normal(320)           # white noise: no structure the latent knows
    coder = RangeCoder.encoder(256)
    report = quantizer.encode(coder, w, np.zeros(320), budget_bits, 0)
    assert coder.tell() <= budget_bits
    model = quantizer.models[report.target_index]
    full = model.cost_bits[quantizer.symbols(model, w, e2e_ae.gain_index(w))].sum()
    assert full > budget_bits                     # the rule had to act
    decoded, read = quantizer.decode(RangeCoder.decoder(coder.finish()), np.zeros(320),
                                     budget_bits, 0)
    assert read == report and np.all(np.isfinite(decoded))


def test_a_frame_over_its_budget_takes_the_fitted_model_that_decodes_closest(speech):
    quantizer = EndToEndAutoencoder()
    frames = mdct.analyze(speech[FS:2 * FS], forward=mdct.fold)
    checked = 0
    for w in frames:
        g = e2e_ae.gain_index(w)
        top = quantizer.models[1]
        if g < 0 or top.cost_bits[quantizer.symbols(top, w, g)].sum() < 328 - 8:
            continue                              # fits the 16.4 kbps budget uncut
        index, gain_index, symbols = quantizer.choose(RangeCoder.encoder(64), w, 328)
        errors = []
        for m in range(2):                        # each model cut to fit, decoded
            coded, fitted = quantizer.fit(RangeCoder.encoder(64), m, g,
                                          quantizer.symbols(quantizer.models[m], w, g), 328)
            assert coded
            errors.append(np.sum((w - quantizer.frame(quantizer.models[m], fitted, g)) ** 2))
        assert index == int(np.argmin(errors)) and gain_index == g
        checked += 1
    assert checked >= 2


def test_bitrates_between_and_above_the_models_round_trip(speech):
    x = speech[FS:FS + FS // 4]
    for rate in (12000, 20000, 32000):
        data, reports = api.encode_with_reports(x, FS, rate, config="e2e-ae")
        y = api.decode(data)[0]
        assert y.shape == x.shape and np.all(np.isfinite(y))
        assert all(r.bits["padding"] >= 0 for r in reports)


def test_a_bitrate_below_the_lowest_model_is_refused_not_coded_as_silence(speech):
    # at 8 kbps not even the all-mode latent fits a frame: every frame would be silent
    quantizer = EndToEndAutoencoder()
    w = mdct.analyze(speech[FS:FS + 4 * 320], forward=mdct.fold)[2]
    assert quantizer.choose(RangeCoder.encoder(64), w, 8000 // 50)[0] is None
    with pytest.raises(ConfigError, match="'e2e-ae' codes at 9600 bps or more"):
        Encoder(8000, config="e2e-ae")
    assert Encoder(9600, config="e2e-ae").bitrate_bps == 9600


def test_lambda_rule_moves_toward_the_target_region():
    rule = e2e_training.adjust_lambda
    assert rule(0.5, 10000.0, 9000.0, 0.025) == pytest.approx(0.525)
    assert rule(0.5, 8000.0, 9000.0, 0.025) == pytest.approx(0.475)
    assert rule(0.5, 9400.0, 9000.0, 0.025) == 0.5          # inside ± 0.45 kbps
    assert rule(0.01, 1000.0, 9000.0, 0.025) == 0.0


def test_entropy_control_lowers_the_entropy_toward_a_low_target(speech):
    frames = mdct.analyze(speech[:2 * FS], forward=mdct.fold)
    settings = e2e_training.tiny_settings(steps=20, adjust_every=4, tau_change=0.5)
    trainer = e2e_training.Trainer(frames, settings)
    pretrained = trainer.pretrain()
    _, low = trainer.train_rate(pretrained, 500.0)
    _, high = trainer.train_rate(pretrained, 40000.0)
    assert low[-1][2] > low[0][2] and high[-1][2] == 0.0       # λ up for low, down for high
    assert low[-1][1] < low[0][1] - 300.0                       # the estimated rate fell
    assert low[-1][1] < high[-1][1]


def _uniform_model(target_bps: float) -> RateModel:
    """A model whose 32 symbols cost 5 bits each (only its table and target are used)."""
    return RateModel(16400, target_bps, {}, quantize_cdf(np.full(32, 1 / 32)))


def test_run_time_control_raises_the_offset_while_frames_are_cheap_and_does_not_wind_up():
    model, control = _uniform_model(10 * 50 * 5.0), EntropyControl()   # target: 10 symbols
    offsets = []
    for _ in range(60):                            # frames at half the target
        control.update(model, np.zeros(5, dtype=np.int64))
        offsets.append(control.offset())
    assert offsets == sorted(offsets) and offsets[0] == 0 and offsets[-1] == MAX_GAIN_OFFSET
    for _ in range(3):                             # then at twice the target: down at once
        control.update(model, np.zeros(20, dtype=np.int64))
    assert control.offset() < MAX_GAIN_OFFSET
    # the coded gain is k steps below the frame's, on the grid
    assert control.coded_gain_index(40) == 40 - control.offset()
    assert control.coded_gain_index(0) == 0


def test_run_time_control_brings_the_rate_to_the_target_where_training_alone_misses(speech):
    from hybridcodec.research.e2e_rates import uncut_bps

    quantizer = EndToEndAutoencoder()
    gains = [(w, e2e_ae.gain_index(w)) for w in mdct.analyze(speech, forward=mdct.fold)]
    clips_gains = [[(w, g) for w, g in gains if g >= 0]]
    top = quantizer.models[-1]
    # this clip's latent is cheaper than the training speech's at 24.4 kbps
    assert uncut_bps(quantizer, top, clips_gains, controlled=False) < top.target_bps - 450
    for model in quantizer.models:
        controlled = uncut_bps(quantizer, model, clips_gains, controlled=True)
        assert abs(controlled - model.target_bps) <= 450


def test_tiny_training_is_deterministic(speech):
    frames = mdct.analyze(speech[:2 * FS], forward=mdct.fold)
    settings = e2e_training.tiny_settings()
    first = e2e_training.train_models(frames, (9600,), settings)
    second = e2e_training.train_models(frames, (9600,), settings)
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_shipped_weights_hold_every_rate():
    path = find_parameter_file(PARAMETER_STEM)
    arrays = load_parameters(path)
    assert list(arrays["rates_bps"]) == list(RATES_BPS)


def test_header_records_the_weights_digest(coded):
    header, _ = read_hcb(coded[9600][0])
    path = find_parameter_file(PARAMETER_STEM)
    assert path.stem.rsplit("-", 1)[-1] in [d.hex() for d in header.parameter_digests]


def test_rate_table_counts_full_frames_within_their_budget(tmp_path, speech):
    from hybridcodec.research.e2e_rates import e2e_rate_table, format_rate_table

    soundfile = pytest.importorskip("soundfile")
    soundfile.write(tmp_path / "a.wav", speech[FS:FS + FS + FS // 2], FS)
    rows = e2e_rate_table("heldout", 1, corpus=tmp_path)
    assert [r["rate_kbps"] for r in rows] == [9.6, 16.4, 24.4]
    for r in rows:
        assert 0 < r["written_kbps"] <= r["rate_kbps"]
        assert r["within_0.45"] == (abs(r["uncut_kbps"] - r["target_kbps"]) <= 0.45)
    # the criterion on this clip (out of corpus): the 9.6 kbps model lands on its target
    assert rows[0]["within_0.45"]
    assert format_rate_table(rows).count("\n") == 4
