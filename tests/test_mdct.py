"""Tests of dsp.mdct: window, transform against the direct formula, TDAC, streaming == whole."""
import numpy as np
import pytest

from hybridcodec.dsp import mdct

LENGTHS = [1, 2, 159, 160, 161, 319, 320, 321, 479, 480, 481, 640, 1000, 16001, 32000]


def direct_mdct_matrix():
    """sqrt(2/N) cos(pi/N (n + 1/2 + N/2)(k + 1/2)), (640, 320), phases reduced in integers."""
    n, k = np.arange(mdct.BLOCK), np.arange(mdct.HOP)
    phase = np.outer(2 * n + 1 + mdct.HOP, 2 * k + 1) % (8 * mdct.HOP)
    return np.sqrt(2.0 / mdct.HOP) * np.cos(2.0 * np.pi * phase / (8 * mdct.HOP))


def test_window_shape_and_princen_bradley():
    w = mdct.window()
    assert w.shape == (640,)
    assert np.all(w[:80] == 0) and np.all(w[560:] == 0)
    assert np.all(w[240:400] == 1)
    assert np.all(np.diff(w[80:240]) > 0)
    np.testing.assert_array_equal(w, w[::-1])
    np.testing.assert_allclose(w[:320] ** 2 + w[320:] ** 2, 1.0, rtol=0, atol=1e-15)


def test_constants():
    assert (mdct.SAMPLE_RATE_HZ, mdct.HOP, mdct.BLOCK, mdct.OVERLAP, mdct.DELAY_SAMPLES) == (
        16000, 320, 640, 160, 160)


def test_mdct_matches_direct_formula(rng):
    blocks = rng.standard_normal((5, 640))
    expected = (blocks * mdct.window()) @ direct_mdct_matrix()
    np.testing.assert_allclose(mdct.mdct(blocks), expected, rtol=0, atol=1e-13)


def test_imdct_matches_direct_formula(rng):
    coeffs = rng.standard_normal((5, 320))
    expected = mdct.window() * (coeffs @ direct_mdct_matrix().T)
    np.testing.assert_allclose(mdct.imdct(coeffs), expected, rtol=0, atol=1e-13)


def test_leading_axes(rng):
    blocks = rng.standard_normal((2, 3, 640))
    coeffs = mdct.mdct(blocks)
    assert coeffs.shape == (2, 3, 320)
    np.testing.assert_array_equal(coeffs[1, 2], mdct.mdct(blocks[1, 2]))
    assert mdct.imdct(coeffs).shape == (2, 3, 640)


def test_zero_window_samples_are_not_read(rng):
    blocks = rng.standard_normal((2, 640))
    poisoned = blocks.copy()
    poisoned[:, :80] = np.nan
    poisoned[:, 560:] = np.inf
    np.testing.assert_array_equal(mdct.mdct(poisoned), mdct.mdct(blocks))


@pytest.mark.parametrize("count", [2, 3, 7, 64, 301])
def test_batch_equals_single_frames_bit_for_bit(rng, count):
    blocks = rng.standard_normal((count, 640))
    coeffs = mdct.mdct(blocks)
    assert np.array_equal(coeffs, np.stack([mdct.mdct(b) for b in blocks]))
    assert np.array_equal(mdct.imdct(coeffs), np.stack([mdct.imdct(c) for c in coeffs]))


@pytest.mark.parametrize("n", [0, *LENGTHS])
def test_num_frames(n):
    expected = 0 if n == 0 else (1 if n <= 160 else int(np.ceil((n - 160) / 320)) + 1)
    assert mdct.num_frames(n) == expected
    if n:
        assert 320 * (expected - 1) + 160 >= n                       # all samples final
        assert expected == 1 or 320 * (expected - 2) + 160 < n       # and no frame too many


@pytest.mark.parametrize("n", LENGTHS)
def test_perfect_reconstruction(rng, n):
    x = rng.standard_normal(n)
    coeffs = mdct.analyze(x)
    assert coeffs.shape == (mdct.num_frames(n), 320)
    y = mdct.synthesize(coeffs, n)
    assert y.shape == (n,)
    assert np.linalg.norm(y - x) <= 1e-10 * np.linalg.norm(x)


def test_frame_t_sees_its_block(rng):
    x = rng.standard_normal(2000)
    padded = np.concatenate([np.zeros(240), x, np.zeros(1000)])
    for t in range(mdct.num_frames(x.size)):
        block = padded[320 * t:320 * t + 640]          # x[320 t - 240 : 320 t + 400]
        np.testing.assert_array_equal(mdct.analyze(x)[t], mdct.mdct(block))


def test_orthogonality_energy(rng):
    x = rng.standard_normal(16000)
    np.testing.assert_allclose(np.sum(mdct.analyze(x) ** 2), np.sum(x ** 2), rtol=1e-12)


def random_chunks(rng, total, largest):
    """Split range(total) into random chunk sizes, empty chunks included."""
    bounds, start = [], 0
    while start < total:
        start = min(total, start + int(rng.integers(0, largest)))
        bounds.append(start)
    return bounds


@pytest.mark.parametrize("n", [0, 1, 159, 160, 161, 319, 320, 321, 1000, 4567, 16001])
@pytest.mark.parametrize("largest", [2, 333, 1500])
def test_streaming_analysis_equals_whole(rng, n, largest):
    x = rng.standard_normal(n)
    analyzer = mdct.MdctAnalyzer()
    frames, previous, count = [], 0, 0
    for stop in random_chunks(rng, n, largest):
        frames.append(analyzer.push(x[previous:stop]))
        count += len(frames[-1])
        assert count == stop // 320                     # frame t once sample 320 t + 319 is in
        previous = stop
    frames.append(analyzer.flush())
    assert np.array_equal(np.concatenate(frames), mdct.analyze(x))


@pytest.mark.parametrize("n", [1, 159, 160, 161, 319, 320, 321, 1000, 4567, 16001])
@pytest.mark.parametrize("largest", [2, 4, 30])
def test_streaming_synthesis_equals_whole(rng, n, largest):
    coeffs = rng.standard_normal((mdct.num_frames(n), 320))
    synthesizer = mdct.MdctSynthesizer()
    out, previous, count = [], 0, 0
    for stop in random_chunks(rng, len(coeffs), largest):
        out.append(synthesizer.push(coeffs[previous:stop]))
        count += len(out[-1])
        assert count == max(0, 320 * (stop - 1) + 160)  # final up to 320 t + 160 after frame t
        previous = stop
    out.append(synthesizer.flush(n))
    assert np.array_equal(np.concatenate(out)[:n], mdct.synthesize(coeffs, n))


def test_streaming_round_trip(rng):
    x = rng.standard_normal(5000)
    analyzer, synthesizer = mdct.MdctAnalyzer(), mdct.MdctSynthesizer()
    out = [synthesizer.push(analyzer.push(chunk)) for chunk in np.split(x, [7, 700, 3333])]
    out.append(synthesizer.push(analyzer.flush()))
    out.append(synthesizer.flush(x.size))
    np.testing.assert_allclose(np.concatenate(out)[:x.size], x, rtol=0, atol=1e-12)


def test_bad_arguments():
    with pytest.raises(ValueError, match="640"):
        mdct.mdct(np.zeros(639))
    with pytest.raises(ValueError, match="320"):
        mdct.imdct(np.zeros((2, 321)))
    with pytest.raises(ValueError, match="one-dimensional"):
        mdct.analyze(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="frames are needed"):
        mdct.synthesize(np.zeros((1, 320)), 161)
    with pytest.raises(ValueError, match=">= 0"):
        mdct.num_frames(-1)
    synthesizer = mdct.MdctSynthesizer()
    synthesizer.push(np.zeros((1, 320)))
    with pytest.raises(ValueError, match="frames are needed"):
        synthesizer.flush(161)
