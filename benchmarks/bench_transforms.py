"""Speed of the dsp blocks: microseconds per 20 ms frame, and MDCT + IMDCT real-time factor.

Each figure is the best of five repeats of the mean over many calls, after a warm-up call (Numba
compilation excluded). Run: ``python -m benchmarks.bench_transforms``.
"""
import argparse
import time

import numpy as np

from hybridcodec.dsp import filters, lpc, mdct, perceptual

SIGNAL_SECONDS = 60.0
REPEATS = 5


def _best_seconds(function, calls):
    """Best over REPEATS of the mean wall time of ``calls`` calls, after one warm-up call."""
    function()
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def _per_frame_rows(rng):
    """(name, function) pairs, each processing one 20 ms frame."""
    hop = rng.standard_normal(mdct.HOP)
    block = rng.standard_normal(mdct.BLOCK)
    coeffs = mdct.mdct(block)
    r = lpc.autocorrelation(rng.standard_normal(mdct.BLOCK) * np.hanning(mdct.BLOCK), 16)
    a, _, _ = lpc.levinson_durbin(r, 16)
    lsf = lpc.lpc_to_lsf(a)
    envelope = lpc.lpc_envelope(a, 1.0)
    analyzer, synthesizer = mdct.MdctAnalyzer(), mdct.MdctSynthesizer()
    highpass = filters.HighPass50Hz()
    return [
        ("mdct (1 frame)", lambda: mdct.mdct(block)),
        ("imdct (1 frame)", lambda: mdct.imdct(coeffs)),
        ("MdctAnalyzer.push (320 samples)", lambda: analyzer.push(hop)),
        ("MdctSynthesizer.push (1 frame)", lambda: synthesizer.push(coeffs[None])),
        ("HighPass50Hz.push (320 samples)", lambda: highpass.push(hop)),
        ("pre_emphasis (320 samples)", lambda: filters.pre_emphasis(hop)),
        ("de_emphasis (320 samples)", lambda: filters.de_emphasis(hop)),
        ("autocorrelation (640 samples, order 16)", lambda: lpc.autocorrelation(block, 16)),
        ("levinson_durbin (order 16)", lambda: lpc.levinson_durbin(r, 16)),
        ("lpc_from_power_spectrum (320 bins, order 16)",
         lambda: lpc.lpc_from_power_spectrum(envelope ** 2, 16)),
        ("lpc_to_lsf (order 16)", lambda: lpc.lpc_to_lsf(a)),
        ("lsf_to_lpc (order 16)", lambda: lpc.lsf_to_lpc(lsf)),
        ("stabilize_lsf (order 16)", lambda: lpc.stabilize_lsf(lsf, 0.02)),
        ("lpc_envelope (320 bins)", lambda: lpc.lpc_envelope(a, 1.0)),
        ("bandwidth_expand (order 16)", lambda: lpc.bandwidth_expand(a, 0.92)),
        ("masking_curve (320 bins)", lambda: perceptual.masking_curve(envelope)),
        ("perceptual_weights (320 bins)", lambda: perceptual.perceptual_weights(envelope)),
    ]


def _whole_signal_rows(rng):
    """Whole-signal analyze/synthesize of SIGNAL_SECONDS of noise: per frame, real-time factor."""
    x = rng.standard_normal(int(SIGNAL_SECONDS * mdct.SAMPLE_RATE_HZ))
    frames = mdct.num_frames(x.size)
    coeffs = mdct.analyze(x)
    analyze_s = _best_seconds(lambda: mdct.analyze(x), 1)
    synthesize_s = _best_seconds(lambda: mdct.synthesize(coeffs, x.size), 1)
    return [
        ("analyze (60 s signal), per frame", 1e6 * analyze_s / frames, "us"),
        ("synthesize (60 s signal), per frame", 1e6 * synthesize_s / frames, "us"),
        ("MDCT + IMDCT real-time factor (60 s)", SIGNAL_SECONDS / (analyze_s + synthesize_s), "x"),
    ]


def bench():
    """Measure the dsp blocks.

    Returns
    -------
    list of (str, float, str)
        (name, value, unit) rows: microseconds per 20 ms frame, and the real-time factor.
    """
    rng = np.random.default_rng(0)
    rows = [(name, 1e6 * _best_seconds(function, 2000), "us")
            for name, function in _per_frame_rows(rng)]
    return rows + _whole_signal_rows(rng)


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    for name, value, unit in bench():
        print(f"{name:48s} {value:10.1f} {unit}")
