"""Tests of dsp.perceptual: robustness, expected shapes, the kernel against a slow reference, and
the low-band emphasis (W1) as tcx-dsp uses it."""
import numpy as np
import pytest

from hybridcodec.core.config import get_config
from hybridcodec.core.frame import FrameEncoder
from hybridcodec.core.pipeline import Pipeline
from hybridcodec.dsp import lpc, perceptual
from hybridcodec.dsp.filters import highpass_50hz
from hybridcodec.dsp.mdct import mdct

OMEGA = np.pi * (np.arange(320) + 0.5) / 320


def formant_envelope(rng=None):
    """Two resonances (500 Hz and 2 kHz at 16 kHz) over a falling tilt, optionally jittered."""
    poles = [radius * np.exp(sign * 2j * np.pi * hz / 16000)
             for radius, hz in ((0.97, 500), (0.9, 2000)) for sign in (1, -1)]
    a = np.poly(poles + [0.7]).real
    envelope = lpc.lpc_envelope(a, 1.0)
    if rng is not None:
        envelope *= np.exp(rng.normal(0, 0.1, 320))
    return envelope


def reference_masking_curve(envelope, gamma1=0.92, beta=0.68):
    """Steps 1-5 of dsp.perceptual with the public, FFT-based dsp.lpc functions."""
    emphasis = np.abs(1 - beta * np.exp(-1j * OMEGA))
    power = (envelope / envelope.max() * emphasis) ** 2
    a, error = lpc.lpc_from_power_spectrum(power, 16, bandwidth_hz=60.0, white_noise_factor=1.0001)
    weighted = lpc.bandwidth_expand(a, gamma1)
    return lpc.lpc_envelope(weighted, envelope.max() * np.sqrt(error)) / emphasis


DEGENERATE = {
    "constant": np.ones(320),
    "tiny": np.full(320, 1e-12),
    "huge": np.full(320, 1e300),
    "dynamic_range": np.logspace(-150, 150, 320),
    "spike": np.where(np.arange(320) == 40, 1e8, 1e-8),
    "alternating": np.where(np.arange(320) % 2, 1e-6, 1.0),
}


@pytest.mark.parametrize("name", sorted(DEGENERATE))
def test_weights_finite_positive_for_degenerate_envelopes(name):
    envelope = DEGENERATE[name]
    weights = perceptual.perceptual_weights(envelope)
    masking = perceptual.masking_curve(envelope)
    assert weights.shape == masking.shape == (320,)
    assert np.all(np.isfinite(weights)) and np.all(weights > 0)
    assert np.all(np.isfinite(masking)) and np.all(masking > 0)
    assert abs(np.mean(np.log2(weights))) < 1e-9


def test_weights_finite_positive_for_random_envelopes(rng):
    for _ in range(50):
        envelope = np.exp(rng.normal(0, 3, 320))
        weights = perceptual.perceptual_weights(envelope)
        assert np.all(np.isfinite(weights)) and np.all(weights > 0)
        assert abs(np.mean(np.log2(weights))) < 1e-12


def test_flat_envelope_gives_flat_weights_without_weighting():
    weights = perceptual.perceptual_weights(np.full(320, 3.0), gamma1=1.0)
    assert np.max(np.abs(np.log2(weights))) < 0.02


def test_flat_envelope_keeps_only_the_gamma1_tilt():
    """With gamma1 < 1 a flat envelope is fitted by A(z) ~ 1 / (1 - beta z^-1), so W is the small
    residual tilt |1 - beta e^{-jw}| / |1 - gamma1 beta e^{-jw}| (about +-0.23 bits)."""
    weights = perceptual.perceptual_weights(np.full(320, 3.0))
    tilt = np.abs(1 - 0.68 * np.exp(-1j * OMEGA)) / np.abs(1 - 0.92 * 0.68 * np.exp(-1j * OMEGA))
    expected = np.log2(tilt) - np.mean(np.log2(tilt))
    np.testing.assert_allclose(np.log2(weights), expected, rtol=0, atol=0.01)
    assert np.max(np.abs(np.log2(weights))) < 0.25


def test_peak_gets_more_bits_than_valley():
    envelope = formant_envelope()
    log_weights = np.log2(perceptual.perceptual_weights(envelope))
    peak = np.argmin(np.abs(OMEGA - 2 * np.pi * 500 / 16000))
    valley = np.argmin(np.abs(OMEGA - 2 * np.pi * 1200 / 16000))
    assert log_weights[peak] > log_weights[valley] + 1.0


def test_masking_curve_follows_envelope_more_smoothly(rng):
    envelope = formant_envelope(rng)
    log_envelope = np.log(envelope)
    log_masking = np.log(perceptual.masking_curve(envelope))
    assert np.corrcoef(log_envelope, log_masking)[0, 1] > 0.9
    assert np.ptp(log_masking) < np.ptp(log_envelope)
    assert np.sum(np.abs(np.diff(log_masking))) < 0.5 * np.sum(np.abs(np.diff(log_envelope)))


def test_smaller_gamma1_smooths_more():
    envelope = formant_envelope()
    spreads = [np.ptp(np.log(perceptual.masking_curve(envelope, gamma1=g)))
               for g in (1.0, 0.92, 0.8)]
    assert spreads[0] > spreads[1] > spreads[2]


def test_masking_curve_with_gamma1_one_approximates_envelope():
    """Within 50 dB of the peak; below, the -40 dB white-noise correction floors the fit."""
    envelope = formant_envelope()
    masking = perceptual.masking_curve(envelope, gamma1=1.0)
    strong = envelope > 10 ** (-50 / 20) * envelope.max()
    assert np.max(np.abs(np.log2(masking / envelope)[strong])) < 0.25
    assert np.all(masking[~strong] > envelope[~strong])


@pytest.mark.parametrize("gamma1", [1.0, 0.92])
def test_kernel_matches_slow_reference(rng, gamma1):
    for envelope in (formant_envelope(rng), np.exp(rng.normal(0, 2, 320)), DEGENERATE["spike"]):
        np.testing.assert_allclose(perceptual.masking_curve(envelope, gamma1=gamma1),
                                   reference_masking_curve(envelope, gamma1=gamma1), rtol=1e-9)


def test_deterministic_and_scale_invariant(rng):
    envelope = formant_envelope(rng)
    first = perceptual.perceptual_weights(envelope)
    assert np.array_equal(first, perceptual.perceptual_weights(envelope.copy()))
    np.testing.assert_allclose(perceptual.perceptual_weights(1e-9 * envelope), first, rtol=1e-12)
    np.testing.assert_allclose(perceptual.masking_curve(1e-9 * envelope),
                               1e-9 * perceptual.masking_curve(envelope), rtol=1e-12)


def test_bad_arguments():
    with pytest.raises(ValueError, match="shape"):
        perceptual.perceptual_weights(np.ones(319))
    with pytest.raises(ValueError, match="positive"):
        perceptual.perceptual_weights(np.zeros(320))
    with pytest.raises(ValueError, match="positive"):
        perceptual.masking_curve(np.full(320, np.inf))
    with pytest.raises(ValueError, match="gamma1"):
        perceptual.masking_curve(np.ones(320), gamma1=0.0)



# ---------------------------------------------------------------------- low-band emphasis (W1)

def test_low_band_emphasis_is_a_ramp_of_b_bits_over_n_bins():
    e = perceptual.low_band_emphasis(1.5, 128)
    assert abs(np.mean(e)) < 1e-12
    assert e[0] - e[128] == pytest.approx(1.5)                   # b bits more at bin 0 than at N
    np.testing.assert_allclose(np.diff(e[:129]), -1.5 / 128, rtol=1e-9)
    assert np.ptp(e[128:]) == 0.0
    assert not np.any(perceptual.low_band_emphasis(0.0, 128))


def speech_frames(speech, n=40):
    """MDCT frames 20 … 20 + n of the high-passed speech."""
    blocks = np.lib.stride_tricks.sliding_window_view(highpass_50hz(speech), 640)[::320]
    return mdct(blocks[20:20 + n])


def test_low_band_emphasis_refines_the_low_band(speech):
    """tcx-dsp codes the bins below N with finer steps δ(f) than without (W1), the rest coarser."""
    with_w1 = get_config("tcx-dsp")
    without = with_w1.override("tcx-dsp-no-w1", "", perceptual=with_w1.perceptual.with_params(
        low_band_bits=0.0))
    log_steps = []
    for config in (with_w1, without):
        encoder = FrameEncoder(Pipeline(config))
        reports = [encoder.encode_frame(x, i, 41)[1] for i, x in enumerate(speech_frames(speech))]
        log_steps.append(np.log2(np.stack([r.steps for r in reports])))
    coded = np.isfinite(log_steps[0]) & np.isfinite(log_steps[1])

    def mean_refinement(bins):
        """Mean of log2 δ without (W1) − log2 δ with it over the bins both code."""
        both = coded[:, bins]
        return np.mean(log_steps[1][:, bins][both] - log_steps[0][:, bins][both])

    assert mean_refinement(slice(0, 64)) > 0.2
    assert mean_refinement(slice(160, 320)) < -0.2
