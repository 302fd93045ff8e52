"""Tests of hybridcodec.tools.metrics: segmental SNR, PESQ-WB, STOI, ViSQOL, DNSMOS, alignment."""
import numpy as np
import pytest

from hybridcodec.tools.metrics import (METRICS, VISQOL_FEATURES, AlignmentError, align, dnsmos,
                                       lag_samples, measure, pesq_wb, segmental_snr_db, stoi, visqol,
                                       visqol_features, visqol_mapper, visqol_mos)

needs_visqol = pytest.mark.skipif(METRICS["visqol"].missing() is not None,
                                  reason=str(METRICS["visqol"].missing()))
needs_dnsmos = pytest.mark.skipif(METRICS["dnsmos"].missing() is not None,
                                  reason=str(METRICS["dnsmos"].missing()))
CLIP_SAMPLES = 3 * 16000

FRAME_SAMPLES = 320


def _noise_at_frame_snr(ref, snr_db, rng):
    """White noise scaled so that every 320-sample frame has exactly ``snr_db``."""
    noise = rng.standard_normal(ref.shape[0])
    for start in range(0, ref.shape[0] - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        frame = slice(start, start + FRAME_SAMPLES)
        ratio = np.sum(ref[frame] ** 2) / np.sum(noise[frame] ** 2) / 10 ** (snr_db / 10)
        noise[frame] *= np.sqrt(ratio)
    return noise


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 20.0, 30.0])
def test_segmental_snr_of_known_per_frame_snr(rng, snr_db):
    levels = np.repeat(10 ** rng.uniform(-2, 0, 50), FRAME_SAMPLES)
    ref = levels * rng.standard_normal(levels.shape[0])
    deg = ref + _noise_at_frame_snr(ref, snr_db, rng)
    assert segmental_snr_db(ref, deg) == pytest.approx(snr_db, abs=0.5)


def test_segmental_snr_clamps(rng):
    ref = rng.standard_normal(16000)
    assert segmental_snr_db(ref, ref) == 35.0
    assert segmental_snr_db(ref, ref + 100 * rng.standard_normal(16000)) == -10.0
    assert segmental_snr_db(ref, ref, clamp_db=(-20.0, 50.0)) == 50.0


def test_segmental_snr_skips_silent_reference_frames(rng):
    ref = np.concatenate([np.zeros(3200), rng.standard_normal(3200)])
    deg = ref + _noise_at_frame_snr(ref, 12.0, rng)
    deg[:3200] = rng.standard_normal(3200)
    assert segmental_snr_db(ref, deg) == pytest.approx(12.0, abs=0.5)
    assert np.isnan(segmental_snr_db(np.zeros(3200), deg[:3200]))


def test_metrics_reject_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        segmental_snr_db(np.zeros(100), np.zeros(99))


def test_pesq_of_clean_and_noisy_speech(speech, rng):
    assert pesq_wb(speech, speech) > 4.4
    noise = rng.standard_normal(speech.shape[0]) * np.sqrt(np.mean(speech ** 2))
    assert pesq_wb(speech, speech + noise) < 2.5


def test_pesq_resamples_other_rates(speech):
    from hybridcodec.formats.audio import resample
    x48 = resample(speech, 16000, 48000)
    assert pesq_wb(x48, x48, sample_rate_hz=48000) > 4.4


def test_pesq_of_silence_is_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="no utterance"):
        assert np.isnan(pesq_wb(np.zeros(32000), np.zeros(32000)))


def test_stoi_orders_clean_above_noisy(speech, rng):
    noise = rng.standard_normal(speech.shape[0]) * 2 * np.sqrt(np.mean(speech ** 2))
    assert stoi(speech, speech, 16000) > 0.99
    assert stoi(speech, speech + noise, 16000) < 0.8


def test_measure_keys(speech):
    metrics = measure(speech, speech, 16000)
    assert set(metrics) == {"pesq_wb", "visqol", "stoi", "segmental_snr_db"}
    assert metrics["segmental_snr_db"] == 35.0
    assert metrics["visqol"] > 4.0, "the clean signal against itself is near ViSQOL's top"


def _delayed(x, lag):
    """``x`` delayed by ``lag`` samples (advanced when negative), same length, zeros fill."""
    shifted = np.concatenate([np.zeros(lag), x]) if lag >= 0 else x[-lag:]
    return np.pad(shifted, (0, max(0, x.shape[0] - shifted.shape[0])))[:x.shape[0]]


@pytest.mark.parametrize("lag", [-37, -1, 0, 3, 94])
def test_align_recovers_a_known_delay(speech, lag):
    x = speech[:CLIP_SAMPLES]
    aligned, found = align(x, _delayed(x, lag), 16000, expected_lag_samples=lag)
    assert found == lag
    inner = slice(200, -200)
    np.testing.assert_array_equal(aligned[inner], x[inner])


def test_align_rejects_an_unexpected_delay(speech):
    x = speech[:CLIP_SAMPLES]
    with pytest.raises(AlignmentError, match="lags the input by 40 samples.*0 expected"):
        align(x, _delayed(x, 40), 16000)


def test_align_accepts_a_lag_within_the_tolerance_and_keeps_the_length(speech):
    x = speech[:CLIP_SAMPLES]
    aligned, found = align(x, _delayed(x, 3)[:-100], 16000)
    assert found == 3 and aligned.shape == x.shape


def test_lag_samples_searches_only_within_the_bound(speech, rng):
    x = speech[:CLIP_SAMPLES]
    assert lag_samples(x, _delayed(x, 500), 1000) == 500
    assert abs(lag_samples(x, _delayed(x, 500), 100)) <= 100


@needs_visqol
def test_visqol_orders_clean_above_noisy_and_resamples(speech, rng):
    x = speech[:CLIP_SAMPLES]
    noisy = x + 0.05 * rng.standard_normal(x.shape[0])
    clean_score, noisy_score = visqol(x, x, 16000), visqol(x, noisy, 16000)
    assert clean_score > 4.0 and noisy_score < clean_score - 1.0
    x8 = x[::2]
    assert visqol(x8, x8, 8000) > 4.0


@needs_visqol
def test_visqol_features_map_back_to_their_score_and_swap_one_group_at_a_time(speech, rng):
    x = speech[:CLIP_SAMPLES]
    noise = rng.standard_normal(x.shape[0])
    slight, strong = (visqol_features(x, x + level * noise, 16000) for level in (0.0005, 0.002))
    assert slight.moslqo == pytest.approx(visqol(x, x + 0.0005 * noise, 16000))
    assert strong.moslqo < slight.moslqo - 1.0
    assert visqol_mos(slight) == pytest.approx(slight.moslqo, abs=1e-6)
    assert visqol_mos(slight.swapped(strong, VISQOL_FEATURES)) == pytest.approx(strong.moslqo,
                                                                                abs=1e-6)
    energy_only = slight.swapped(strong, ("fvdegenergy",))
    assert energy_only.fvdegenergy is strong.fvdegenergy and energy_only.fvnsim is slight.fvnsim
    assert all(getattr(slight, name).shape == (21,) for name in VISQOL_FEATURES)


@needs_visqol
def test_visqol_mapper_is_the_lattice_one_when_ai_edge_litert_imports():
    pytest.importorskip("ai_edge_litert", reason="ai-edge-litert is not installed")
    assert visqol_mapper() == "lattice"


def test_metrics_table_names_each_column():
    assert {name: metric.column for name, metric in METRICS.items()} == {
        "pesq": "pesq_wb", "visqol": "visqol", "stoi": "stoi", "dnsmos": "dnsmos_ovrl"}


@needs_dnsmos
def test_dnsmos_rates_the_output_alone_and_orders_clean_above_noisy(speech, rng):
    x = speech[:CLIP_SAMPLES]
    noisy = x + 0.05 * rng.standard_normal(x.shape[0])
    clean_score = dnsmos(x, x, 16000)
    assert 1.0 <= clean_score <= 5.0
    assert dnsmos(x, noisy, 16000) < clean_score - 0.25     # white noise 9 dB below the speech
    assert dnsmos(noisy, x, 16000) == clean_score          # non-intrusive: the reference is unused


def test_dnsmos_missing_names_the_extra(monkeypatch):
    from hybridcodec.tools import metrics

    monkeypatch.setattr(metrics.importlib.util, "find_spec", lambda name: None)
    assert metrics._dnsmos_missing() == (
        "speechmos, librosa, onnxruntime, requests not installed (pip install hybridcodec[dnsmos])")
