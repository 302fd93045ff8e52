"""Tests of dsp.pitch: the pitch search (P1) and the comb kernel (P2-P5) against the equations."""
import numpy as np
import pytest
import scipy.signal

from hybridcodec.dsp import pitch

WINDOW = 160
HISTORY = WINDOW + pitch.MAX_LAG + 1


def pulse_train(lag, n=1600):
    x = np.zeros(n)
    x[::lag] = 1.0
    return x


@pytest.mark.parametrize("lag", [40, 80, 123, 250])
def test_pitch_estimate_finds_the_period_not_an_octave(lag):
    x = scipy.signal.lfilter([1.0], [1.0, -1.6, 0.81], pulse_train(lag))
    found, rho = pitch.pitch_kernel(x, x.size, pitch.MIN_LAG, pitch.MAX_LAG, WINDOW,
                                    pitch.OCTAVE_TOLERANCE)
    assert found == lag and rho > 0.99


def test_correlations_match_the_definition(rng):
    x = rng.standard_normal(HISTORY)
    rho = pitch._correlations(x, x.size, pitch.MIN_LAG, pitch.MAX_LAG, WINDOW)
    now = x[-WINDOW:]
    for lag in (pitch.MIN_LAG, 77, pitch.MAX_LAG):
        past = x[x.size - WINDOW - lag:x.size - lag]
        assert rho[lag] == pytest.approx(now @ past / np.sqrt((now @ now) * (past @ past)),
                                         rel=1e-9)


def test_correlations_stay_correct_where_an_onset_follows_near_silence(rng):
    """The window ends on an onset after near-silence (a high-passed digital silence): the
    running sum of x[n-T]^2 first holds the onset and then drops it, and its rounding errors
    alone would give rho beyond 1 (a training clip made the encoder write a gain index of 17
    into a 3-bit field)."""
    x = 1e-12 * rng.standard_normal(HISTORY)
    x[-40:] = 0.1 * rng.standard_normal(40)
    rho = pitch._correlations(x, x.size, pitch.MIN_LAG, pitch.MAX_LAG, WINDOW)
    now = x[-WINDOW:]
    for lag in range(pitch.MIN_LAG, pitch.MAX_LAG + 1):
        past = x[x.size - WINDOW - lag:x.size - lag]
        assert rho[lag] == pytest.approx(now @ past / np.sqrt((now @ now) * (past @ past)),
                                         rel=1e-6, abs=1e-12), lag
    assert np.all(np.abs(rho) <= 1.0 + 1e-12)


def test_cross_correlations_add_in_the_order_of_n(rng):
    """The vectorized sums give the very floats of one loop per lag (n in order), so the
    encoder's decisions do not depend on how the loop is arranged."""
    x = rng.standard_normal(HISTORY + 40)
    start, end = x.size - WINDOW - 7, x.size - 7
    xy = pitch.cross_correlations(x, start, end, pitch.MIN_LAG, pitch.MAX_LAG)
    for lag in range(pitch.MIN_LAG, pitch.MAX_LAG + 1):
        total = 0.0
        for n in range(start, end):
            total += x[n] * x[n - lag]
        assert xy[lag] == total, lag
    assert not np.any(xy[:pitch.MIN_LAG])


def _reference(x, history, offset, fade_length, old, new, recursive):
    """(P3) or (P4) with (P5), sample by sample."""
    v, out = list(history), []
    for n, value in enumerate(x):
        i = offset + n
        fade = np.sin(np.pi * (i + 0.5) / (2 * fade_length)) ** 2 if i < fade_length else 1.0
        terms = [g * sum(pitch.COMB_TAPS[k] * v[len(v) - lag + 1 - k] for k in range(3))
                 for lag, g in (old, new)]
        c = (1 - fade) * terms[0] + fade * terms[1]
        out.append(value + c if recursive else value - c)
        v.append(out[-1] if recursive else value)
    return np.array(out)


@pytest.mark.parametrize("recursive", [True, False])
@pytest.mark.parametrize("offset, fade_length", [(0, 80), (50, 160), (200, 160)])
def test_comb_kernel_matches_the_equation(rng, recursive, offset, fade_length):
    x, history = rng.standard_normal(100), rng.standard_normal(pitch.MAX_LAG + 2)
    got = pitch.comb_kernel(x, history, offset, fade_length, 60, 0.3, 75, 0.6, pitch.COMB_TAPS,
                            recursive)
    np.testing.assert_allclose(got, _reference(x, history, offset, fade_length, (60, 0.3),
                                               (75, 0.6), recursive), rtol=1e-12, atol=1e-14)


def test_iir_comb_inverts_the_fir_comb_across_a_fade(rng):
    x = rng.standard_normal(pitch.MAX_LAG + 2 + 400)
    head, body = x[:pitch.MAX_LAG + 2], x[pitch.MAX_LAG + 2:]
    pre = pitch.comb_kernel(body, head, 0, 160, 100, 0.7, 57, 0.5, pitch.COMB_TAPS, False)
    assert np.std(pre - body) > 0.1
    post = pitch.comb_kernel(pre, head, 0, 160, 100, 0.7, 57, 0.5, pitch.COMB_TAPS, True)
    np.testing.assert_allclose(post, body, atol=1e-12)
