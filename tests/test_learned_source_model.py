"""Tests of the learned source models: training (learned/), the shipped parameter file, the
registered components (logistic-mixture and the baselines) and the tcx-mixture configuration."""

import numpy as np
import pytest

from hybridcodec.dsp.entropy_models import make_table
from hybridcodec.dsp.range_coder import RangeCoder
from hybridcodec import api

from hybridcodec.core.codec import Decoder
from hybridcodec.components.learned_source_models import (
                                                          PARAMETER_STEM, GaussianMixtureSourceModel, GaussianSourceModel, LogisticMixtureSourceModel,
                                                          TabulatedModel)
from hybridcodec.components.source_model import LaplacianSourceModel, _span
from hybridcodec.core.config import get_config
from hybridcodec.formats.hcb import read_hcb
from hybridcodec.errors import ConfigError
from hybridcodec.training.fit import speech_spectra
from hybridcodec.parameters import digest, find_parameter_file, load_parameters
from hybridcodec.core.pipeline import get_pipeline

SOURCE_MODELS = {
    "laplacian": LaplacianSourceModel,
    "gaussian": GaussianSourceModel,
    "gmm": GaussianMixtureSourceModel,
    "logistic-mixture": LogisticMixtureSourceModel,
    "logistic-mixture-1db": lambda: LogisticMixtureSourceModel(variant="conventional"),
}


@pytest.fixture(scope="module")
def source_models():
    return {name: factory() for name, factory in SOURCE_MODELS.items()}


# --- training -----------------------------------------------------------------------------------

def test_training_on_a_small_subset_lowers_the_heldout_cost(speech):
    torch = pytest.importorskip("torch")
    from hybridcodec.learned.source_model import TrainingSettings, evaluate, initial_net, train

    spectra = speech_spectra([speech])
    train_frames, heldout = spectra[: 2 * len(spectra) // 3], spectra[2 * len(spectra) // 3:]
    settings = TrainingSettings(epochs=60, batch_frames=100, learning_rate=0.03)
    before = evaluate(initial_net(train_frames, 1.6), heldout)
    net = train(train_frames, 1.6, settings, progress=False)
    after = evaluate(net, heldout)
    assert after["cost"] < before["cost"] - 5.0, (before, after)
    assert after["band_spectrum"] < before["band_spectrum"]
    assert net.envelope_step != pytest.approx(1.6, abs=1e-3)  # Δq is trained
    assert torch.get_num_threads() >= 1


def test_fixed_step_training_keeps_the_step(speech):
    pytest.importorskip("torch")
    from hybridcodec.learned.source_model import TrainingSettings, train

    spectra = speech_spectra([speech])[:200]
    net = train(spectra, 2.0, TrainingSettings(epochs=2, batch_frames=100, train_step=False),
                progress=False)
    assert net.envelope_step == pytest.approx(2.0, rel=1e-6)


def test_exported_mixtures_are_valid_distributions(speech):
    pytest.importorskip("torch")
    from hybridcodec.learned.export import export_net
    from hybridcodec.learned.source_model import initial_net

    arrays = export_net(initial_net(speech_spectra([speech]), 1.6), "trained", 1.6)
    for part, shape in (("envelope", (20, 5)), ("bin", (320, 3)), ("band", (20, 3))):
        weights = arrays[f"trained_{part}_weights"]
        assert weights.shape == shape and weights.dtype == np.float64
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
        assert np.all(arrays[f"trained_{part}_scales"] > 0)


# --- shipped parameters -------------------------------------------------------------------------

def test_shipped_parameters_hold_both_envelope_steps():
    path = find_parameter_file(PARAMETER_STEM)
    arrays = load_parameters(path)
    assert arrays["trained_envelope_step"] > arrays["conventional_envelope_step"] > 0


def test_tcx_mixture_decodes_bit_exactly(speech):
    x = speech[16000:16000 * 4]
    data, reports = api.encode_with_reports(x, 16000, 16400, config="tcx-mixture")
    header, frames = read_hcb(data)
    assert header.config_name == "tcx-mixture"
    assert digest(find_parameter_file(PARAMETER_STEM)) in header.parameter_digests
    decoder = Decoder(header)
    y1 = decoder.push(frames)
    assert [r.final_state for r in decoder.reports] == [r.final_state for r in reports]
    y2 = Decoder(header).push(frames)
    np.testing.assert_array_equal(y1, y2)
    assert api.encode(x, 16000, 16400, config="tcx-mixture") == data


def test_tcx_mixture_uses_the_trained_step():
    pipeline = get_pipeline("tcx-mixture")
    trained = load_parameters(find_parameter_file(PARAMETER_STEM))["trained_envelope_step"]
    assert pipeline.envelope.envelope_step == float(trained)
    assert get_config("tcx-mixture").source_model.name == "logistic-mixture"


def test_unknown_variant_is_refused():
    with pytest.raises(ConfigError, match="trained, conventional"):
        LogisticMixtureSourceModel(variant="optimal")


# --- tables -------------------------------------------------------------------------------------

def _tablesets(model):
    return [model.envelope_tables(model.envelope_step), model.spectrum_tables]


@pytest.mark.parametrize("name", sorted(SOURCE_MODELS))
def test_every_symbol_of_every_table_is_codable(source_models, name):
    for tables in _tablesets(source_models[name]):
        for t in range(tables.n_tables):
            n = tables.length[t]
            freqs = np.diff(tables.cdf[t, :n + 1])
            assert tables.cdf[t, 0] == 0 and tables.cdf[t, n] == 1 << 15
            assert np.all(freqs >= 1), (name, t)
            assert np.all(np.isfinite(tables.bits[t, :n]))


@pytest.mark.parametrize("name", sorted(SOURCE_MODELS))
def test_values_round_trip_through_the_tables_including_escapes(source_models, name, rng):
    model = source_models[name]
    for tables in _tablesets(model):
        rows = rng.integers(0, tables.n_tables, 400)
        centre = tables.offset[rows] + tables.length[rows] // 2
        spread = tables.length[rows]
        values = centre + rng.integers(-1, 2, 400) * rng.integers(0, 2 * spread + 1)
        encoder = RangeCoder.encoder(1 << 16)
        encoder.encode_values(tables, rows, values)
        decoded = RangeCoder.decoder(encoder.finish()).decode_values(tables, rows)
        np.testing.assert_array_equal(decoded, values)


@pytest.mark.parametrize("name", ["gaussian", "gmm", "logistic-mixture"])
def test_tables_come_from_make_table(source_models, name):
    """Spot check: a spectrum table equals make_table of its model at its step (quantize_cdf)."""
    model = source_models[name]
    tables = model.spectrum_tables
    m = len(model.spectrum_models()) - 1
    from hybridcodec.dsp.spectrum_coder import N_RATIOS, step_ratios

    r = 40
    bin_model = model.spectrum_models()[m]
    step = step_ratios()[r] * bin_model.scale
    expected = make_table(bin_model, step, *_span(bin_model, step))
    row = m * N_RATIOS + r
    assert tables.offset[row] == expected.offset
    np.testing.assert_array_equal(tables.cdf[row, :expected.cdf.size], expected.cdf)


def test_mixture_scale_is_laplacian_equivalent(source_models):
    """The step grid sits where a Laplacian of the same entropy puts it: H1 = log2(2 e scale)."""
    model = source_models["logistic-mixture"]
    for m in model.spectrum_models():
        assert isinstance(m, TabulatedModel)
        assert m.h1 == pytest.approx(np.log2(2 * np.e * m.scale))
        assert m.support[0] < m.mu < m.support[1]
        assert m.cdf(np.array(m.support[0])) == pytest.approx(0.5 * np.exp(-12), rel=1e-2)
    np.testing.assert_allclose(model.spectrum_h1,
                               np.log2(2 * np.e) + model.spectrum_log2_scale, atol=1e-9)


def test_band_models_cover_every_bin(source_models):
    model = source_models["logistic-mixture"]
    assert model.spectrum_bin_model.shape == (320,)
    assert np.all(np.diff(model.spectrum_bin_model) >= 0)
    assert model.spectrum_bin_model[-1] == len(model.spectrum_models()) - 1


def test_laplacian_span_unchanged():
    """The Laplacian keeps its mean ± 12 scales span (golden values)."""
    from hybridcodec.dsp.entropy_models import Laplace

    assert _span(Laplace(0.0, 1.8), 0.5) == (-44, 44)
    assert _span(Laplace(-148.07, 19.99), 1.6) == (-243, 58)
    assert _span(Laplace(0.0, 1.8), 0.001) == (-512, 512)


# --- the corpus ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_train_command_reproduces_the_shipped_file(tmp_path, assert_same_parameters):
    pytest.importorskip("torch")
    from hybridcodec.cli import main

    assert main(["train", "source-model", "--out", str(tmp_path)]) == 0
    assert_same_parameters(find_parameter_file(PARAMETER_STEM, tmp_path),
                           find_parameter_file(PARAMETER_STEM))
