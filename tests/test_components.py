"""The built-in components as the configurations combine them."""
import numpy as np
import pytest

from hybridcodec.api import encode_with_reports
from hybridcodec.components.envelope import CepstralEnvelope
from hybridcodec.components.source_model import fit_laplacians
from hybridcodec.core.pipeline import get_pipeline
from hybridcodec.dsp import envelope as cepstral
from hybridcodec.dsp import mdct
from hybridcodec.parameters import find_parameter_file, load_parameters


def mean_envelope_bits(speech, config):
    _, reports = encode_with_reports(speech[:32000], 16000, 16400, config)
    return np.mean([report.bits["envelope"] for report in reports])


def test_a_coarser_envelope_step_saves_log2_of_the_scale_per_coefficient(speech):
    """Laplacian tables at step sΔq cost ~log2(s) bits less per coefficient (K = 20) than at Δq;
    tables built for the wrong step would save far less."""
    scale = get_pipeline("tcx-laplacian").envelope.envelope_step / \
        get_pipeline("tcx-1db-envelope").envelope.envelope_step
    saved = mean_envelope_bits(speech, "tcx-1db-envelope") - mean_envelope_bits(speech, "tcx-laplacian")
    assert 0.6 * 20 * np.log2(scale) < saved < 1.4 * 20 * np.log2(scale)


def test_envelope_step_scale_scales_the_source_models_step():
    fine = get_pipeline("tcx-1db-envelope").envelope
    coarse = get_pipeline("tcx-laplacian").envelope
    assert coarse.envelope_step == pytest.approx(1.5 * fine.envelope_step)
    assert not np.array_equal(coarse.tables.cdf, fine.tables.cdf)


def test_fits_flatten_as_the_cepstral_envelope_component_does(speech):
    """dsp.envelope.flatten_by_quantized_envelope, which the fits and studies use, gives the w
    that the codec's ``cepstral`` envelope leaves at shift 0."""
    component = get_pipeline("tcx-laplacian").envelope
    frames = mdct.analyze(speech[:16000])[10:20]
    w = cepstral.flatten_by_quantized_envelope(frames, component.envelope_step)
    for frame, w_frame in zip(frames, w):
        s_hat = component.synthesize(component.analyze(frame, shift=0))
        np.testing.assert_allclose(cepstral.flatten(frame, s_hat), w_frame, rtol=1e-12)


def test_the_envelope_fit_is_the_encoders_choice_and_lifts_voiced_frames(speech):
    """(E1) changes the cepstra the encoder sends, never how the decoder reads them: an envelope
    component with eq. 1's fit rebuilds the same ŝ from (E1)'s side info.  On speech frames (E1)'s
    envelope lies higher than eq. 1's in every frame, by about 3 dB on average (2.4 dB over white
    noise, 12 dB under a comb of partials: tests/test_envelope.py)."""
    e1 = get_pipeline("tcx-dsp").envelope
    eq1 = CepstralEnvelope(get_pipeline("tcx-dsp").source_model, envelope_step_scale=1.5)
    assert e1.envelope_step == eq1.envelope_step and e1.fit != eq1.fit
    lifts = []
    for frame in mdct.analyze(speech[:32000])[20:80]:
        side = e1.analyze(frame)
        np.testing.assert_array_equal(eq1.synthesize(side), e1.synthesize(side))
        plain = eq1.synthesize(eq1.analyze(frame))
        lifts.append(np.mean(np.log(e1.synthesize(side)) - np.log(plain)))
    lifts_db = 20 / np.log(10) * np.array(lifts)
    assert np.all(lifts_db > 0.0) and 0.5 < np.mean(lifts_db) < 6.0


def test_fit_laplacians_recovers_laplacians_and_names_the_shipped_arrays(rng):
    y = rng.laplace([1.0, -2.0], [0.5, 3.0], (40000, 2))
    w = rng.laplace(0.0, 0.7, (4000, 10))
    fitted = fit_laplacians(y, w)
    np.testing.assert_allclose(fitted["envelope_mu"], [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(fitted["envelope_scale"], [0.5, 3.0], rtol=0.03)
    assert fitted["spectrum_scale"] == pytest.approx(0.7, rel=0.03)
    shipped = load_parameters(find_parameter_file("laplacian"))
    assert set(fitted) <= set(shipped)
