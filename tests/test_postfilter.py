"""Tests of dsp.postfilter (pitch and formant post-filter) and the ``postfilter`` slot.

Effects: the formant filter deepens the valleys of a synthetic vowel at equal energy, the pitch
filter raises the harmonic-to-noise ratio of a noisy harmonic tone; kernels against slow
references; streaming equals whole-signal; the decode-time choice reads the same bits.
"""
import numpy as np
import pytest
import scipy.signal

from hybridcodec import api
from hybridcodec.core.codec import Decoder
from hybridcodec.dsp import postfilter as pf
from hybridcodec.errors import ConfigError
from hybridcodec.components.postfilter import subframe_weights

FS = 16000
F0_LAG = 80                                  # 200 Hz: exactly 80 samples
FORMANTS_HZ = ((700, 80), (1200, 90), (2600, 120))


def vowel_predictor():
    """A(z) with a pole pair per formant (frequency, bandwidth in Hz)."""
    a = np.array([1.0])
    for f, bw in FORMANTS_HZ:
        radius = np.exp(-np.pi * bw / FS)
        a = np.convolve(a, [1.0, -2 * radius * np.cos(2 * np.pi * f / FS), radius ** 2])
    return a


def pulse_train(seconds=1.0, lag=F0_LAG):
    x = np.zeros(int(seconds * FS))
    x[::lag] = 1.0
    return x


def harmonic_db(x, lo_hz, hi_hz, pick):
    """``pick`` (max or min) of the harmonics' levels in [lo_hz, hi_hz]; whole periods of x."""
    f0 = FS / F0_LAG
    levels = np.abs(np.fft.rfft(x)[np.arange(x.size // 2 + 1) % (x.size * f0 / FS) == 0])
    f = f0 * np.arange(levels.size)
    return 20 * np.log10(pick(levels[(f >= lo_hz) & (f <= hi_hz)]))


def harmonic_to_noise_db(x, f0=FS / F0_LAG, top_hz=3000):
    """Power within ±20 Hz of the harmonics against the rest, below ``top_hz``."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    f = np.fft.rfftfreq(x.size, 1 / FS)
    near = np.abs(f - f0 * np.round(f / f0)) <= 20
    band = (f > 100) & (f < top_hz)
    return 10 * np.log10(spectrum[near & band].sum() / spectrum[~near & band].sum())


def run(x, a, **kwargs):
    return pf.postfilter(x, np.tile(a, (x.size // pf.SUBFRAME, 1)), **kwargs)


# --- effects ------------------------------------------------------------------------------------

def test_formant_filter_deepens_valleys_at_equal_energy():
    a = vowel_predictor()
    x = scipy.signal.lfilter([1.0], a, pulse_train())
    y = run(x, a, pitch_gain=0.0)
    half = x.size // 2                               # the gain control has settled
    depth = [harmonic_db(s[half:], 1100, 1300, np.max) - harmonic_db(s[half:], 1600, 2200, np.min)
             for s in (x, y)]
    assert depth[1] > depth[0] + 3.0
    assert abs(10 * np.log10(np.sum(y[half:] ** 2) / np.sum(x[half:] ** 2))) < 0.5


def test_pitch_filter_raises_harmonic_to_noise_ratio(rng):
    tone = sum(np.cos(2 * np.pi * k * np.arange(FS) * FS / F0_LAG / FS) / k for k in range(1, 15))
    noise = rng.standard_normal(FS) * np.std(tone) / np.sqrt(10)
    x = 0.1 * (tone + noise)                                       # 10 dB SNR
    flat = np.array([1.0, 0.0])
    y = run(x, flat, gamma_num=0.7, gamma_den=0.7, pitch_gain=0.5)
    half = FS // 2
    assert harmonic_to_noise_db(y[half:]) > harmonic_to_noise_db(x[half:]) + 2.0


def test_neutral_settings_leave_the_signal_alone(rng):
    x = rng.standard_normal(8 * pf.SUBFRAME)
    np.testing.assert_allclose(run(x, vowel_predictor(), pitch_gain=0.0, gamma_num=0.7,
                                   gamma_den=0.7, gamma_tilt=0.0), x, atol=1e-12)


# --- kernels against slow references -------------------------------------------------------------

def test_pole_zero_kernel_matches_lfilter_across_calls(rng):
    x = rng.standard_normal(400)
    num, den = pf.formant_filter(vowel_predictor())
    xs, ys = np.zeros(num.size - 1), np.zeros(den.size - 1)
    y = np.concatenate([pf.pole_zero_kernel(part, num, den, xs, ys) for part in np.split(x, 5)])
    np.testing.assert_allclose(y, scipy.signal.lfilter(num, den, x), rtol=1e-9, atol=1e-12)


def test_tilt_compensation_takes_back_the_low_pass_tilt():
    num, den = pf.formant_filter(vowel_predictor())
    plain, _ = pf.formant_filter(vowel_predictor(), gamma_tilt=0.0)
    _, h = scipy.signal.freqz(num, den, [500, 6000], fs=FS)
    _, h0 = scipy.signal.freqz(plain, den, [500, 6000], fs=FS)
    assert abs(np.diff(np.log(np.abs(h)))) < abs(np.diff(np.log(np.abs(h0))))


# --- streaming ------------------------------------------------------------------------------------

def test_streaming_equals_whole_signal(rng):
    x = rng.standard_normal(40 * pf.SUBFRAME)
    predictors = np.tile(vowel_predictor(), (40, 1)) * (0.98 ** np.arange(7))
    whole = pf.postfilter(x, predictors)
    stream = pf.PostFilter(6)
    cuts = [0, 1, 5, 6, 20, 33, 40]
    parts = [stream.push(x[pf.SUBFRAME * i:pf.SUBFRAME * j], predictors[i:j])
             for i, j in zip(cuts[:-1], cuts[1:])]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_push_needs_whole_subframes():
    with pytest.raises(ValueError, match="80 samples per predictor"):
        pf.PostFilter(2).push(np.zeros(100), np.ones((1, 3)))


def test_subframe_weights_follow_the_window_overlap():
    np.testing.assert_allclose(subframe_weights(4), [0.25, 0.75, 1.0, 1.0])
    np.testing.assert_allclose(subframe_weights(2), [1.0, 1.0])


# --- the decoder's choice ------------------------------------------------------------------------

def test_a_coded_lag_is_refined_within_its_radius_only():
    x = 0.1 * pulse_train(0.2)
    searched, near, far = (pf.PostFilter(2) for _ in range(3))
    for lag_filter, coded_lag in ((searched, 0), (near, F0_LAG + 5), (far, 2 * F0_LAG + 20)):
        lag_filter.push(x, None, coded_lag)
    assert searched.lag == near.lag == F0_LAG
    assert abs(far.lag - (2 * F0_LAG + 20)) <= pf.LAG_RADIUS, "the search stays near the coded lag"


def test_the_decoder_hands_the_coded_lags_to_the_post_filter(speech, monkeypatch):
    from hybridcodec.components import postfilter as component

    def lags_seen(config):
        seen = []
        monkeypatch.setattr(component.NoPostfilter, "push",
                            lambda self, x, envelope, coded_lag=0, choice=None:
                            seen.append(coded_lag) or x)
        api.decode(api.encode(speech[:FS], FS, 13200, config))
        return seen

    with_pitch = lags_seen("tcx-mixture-pitch")         # the pre-filter codes a lag when voiced
    assert 0 in with_pitch and any(with_pitch)
    assert all(pf.MIN_LAG <= lag <= pf.MAX_LAG for lag in with_pitch if lag)
    assert not any(lags_seen("tcx-laplacian")), "no pitch tool: no coded lag"


@pytest.fixture(scope="module")
def coded(speech):
    return api.encode(speech[:FS], FS, 13200)


def decode_frames(data, postfilter, one_by_one=False):
    header, frames = api.read_frames(data)
    decoder = Decoder(header, postfilter=postfilter)
    pushes = [[frame] for frame in frames] if one_by_one else [frames]
    y = np.concatenate([decoder.push(p) for p in pushes] + [decoder.finish()])
    return y, decoder.reports


def test_decode_time_choice_reads_the_same_bits(coded):
    plain, plain_reports = decode_frames(coded, "none")
    filtered, reports = decode_frames(coded, "classical")
    assert [r.final_state for r in reports] == [r.final_state for r in plain_reports]
    assert [r.bits for r in reports] == [r.bits for r in plain_reports]
    assert filtered.shape == plain.shape and not np.array_equal(filtered, plain)
    # the default's own choice, lace, unless the decoder is told otherwise
    np.testing.assert_array_equal(decode_frames(coded, "lace")[0], decode_frames(coded, None)[0])


def test_decoder_postfilter_streams_frame_by_frame(coded):
    np.testing.assert_array_equal(decode_frames(coded, "classical", one_by_one=True)[0],
                                  decode_frames(coded, "classical")[0])


def test_decode_time_postfilter_is_made_once_and_streams_keep_their_own_state(coded):
    """Weights are read once per pipeline, not per decoder; two decoders pushed in turn give
    what each gives alone."""
    header, frames = api.read_frames(coded)
    first, second = (Decoder(header, postfilter="lace") for _ in range(2))
    assert first.pipeline.component("postfilter", "lace") is \
        second.pipeline.component("postfilter", "lace")
    assert first.postfilter is not second.postfilter
    outputs = ([], [])
    for frame in frames:
        for decoder, output in zip((first, second), outputs):
            output.append(decoder.push([frame]))
    for decoder, output in zip((first, second), outputs):
        np.testing.assert_array_equal(np.concatenate(output + [decoder.finish()]),
                                      decode_frames(coded, "lace")[0])


def test_unknown_postfilter_lists_the_choices(coded):
    with pytest.raises(ConfigError, match="available: classical, lace, none"):
        Decoder(api.read_header(coded), postfilter="shiny")


def test_without_predictors_only_the_pitch_filter_runs(rng):
    x = rng.standard_normal(10 * pf.SUBFRAME)
    neutral = np.tile([1.0, 0.0], (10, 1))
    np.testing.assert_allclose(pf.postfilter(x, neutral, gamma_num=0.9, gamma_den=0.9),
                               pf.PostFilter(1).push(x, None), atol=1e-12)


def test_classical_at_zero_strength_is_no_filter():
    from hybridcodec.components.postfilter import ClassicalPostfilter, NoPostfilter

    assert isinstance(ClassicalPostfilter().stream(32000), NoPostfilter)
    assert not isinstance(ClassicalPostfilter().stream(9600), NoPostfilter)


def test_formant_part_follows_the_decoded_envelopes(coded):
    from hybridcodec.components.postfilter import ClassicalPostfilter

    header, frames = api.read_frames(coded)
    outputs = []
    for formant_strength in (0.0, 1.0):
        decoder = Decoder(header)
        decoder.postfilter = ClassicalPostfilter(formant_strength=formant_strength).stream(9600)
        outputs.append(np.concatenate([decoder.push([f]) for f in frames] + [decoder.finish()]))
    pitch_only, both = outputs
    assert both.shape == pitch_only.shape and np.all(np.isfinite(both))
    assert not np.allclose(both, pitch_only)
    assert abs(np.log10(np.sum(both ** 2) / np.sum(pitch_only ** 2))) < 0.05   # gain control
