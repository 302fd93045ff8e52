"""Per-frame cost of each DSP block on speech, on one core: one markdown table.

The input is the bundled clip ``hybridcodec/data/demo_speech_nl.flac`` (16 kHz) looped to 60 s.
Each block runs over every 20 ms frame of it in turn, as the codec calls it (the speech-dependent
blocks such as the rate loop see real envelopes, weights and budgets); the figure is the best of
REPEATS passes of the mean time per frame, after a warm-up pass (Numba compilation excluded).
The range-coder throughput and the other rows of ``benchmarks/bench_range_coder.py`` and
``benchmarks/bench_transforms.py`` come from their own ``bench()``, imported by path when present.

Run: ``python benchmarks/dsp_speed.py`` (under two minutes).
"""
import os

# One core and one thread, set before NumPy and Numba are imported so that they apply.
for _variable in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_variable] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {0})

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from hybridcodec.dsp import envelope, lpc, mdct  # noqa: E402
from hybridcodec.dsp import range_coder as rc  # noqa: E402
from hybridcodec.dsp import spectrum_coder as sc  # noqa: E402
from hybridcodec.dsp.allocation import allocate_bits  # noqa: E402
from hybridcodec.dsp.perceptual import perceptual_weights  # noqa: E402
from hybridcodec import api  # noqa: E402
from hybridcodec.core.frame import SPECTRUM_RESERVE_BITS  # noqa: E402
from hybridcodec.core.geometry import FRAME_DURATION_MS, SAMPLE_RATE_HZ  # noqa: E402
from hybridcodec.core.pipeline import get_pipeline  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "hybridcodec" / "data" / "demo_speech_nl.flac"
SIGNAL_SECONDS = 60.0
BITRATE_BPS = 16400
BUDGET_BITS = BITRATE_BPS * FRAME_DURATION_MS // 1000 // 8 * 8     # 41 bytes per 20 ms frame
LPC_ORDER = 16
REPEATS = 3
MEASURED_HERE = ("analyze (60 s", "synthesize (60 s", "MDCT + IMDCT", "levinson_durbin", "lpc_to_lsf",
                 "perceptual_weights")
"""Rows of bench_transforms.bench() that this script measures on speech itself (left out)."""


def speech(seconds=SIGNAL_SECONDS):
    """The demo clip, looped and cut to ``seconds`` (16 kHz mono float)."""
    x, rate = soundfile.read(CLIP, dtype="float64", always_2d=True)
    if rate != SAMPLE_RATE_HZ:
        raise ValueError(f"{CLIP.name} is at {rate} Hz, expected {SAMPLE_RATE_HZ}")
    x = x.mean(axis=1)
    n = int(seconds * SAMPLE_RATE_HZ)
    return np.tile(x, -(-n // x.size))[:n]


def best_seconds(function, repeats=REPEATS):
    """Best wall time of ``function()`` over ``repeats`` calls, after one warm-up call."""
    function()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def per_frame_us(function, items):
    """Mean µs per call of ``function(item)`` over all ``items`` (best of REPEATS passes)."""
    def run():
        for item in items:
            function(item)
    return 1e6 * best_seconds(run) / len(items)


def frame_material(x):
    """Everything the per-frame blocks take, computed once for every frame of ``x``."""
    p = get_pipeline("default")
    model, tables = p.source_model, p.source_model.spectrum_tables
    step = p.envelope.envelope_step
    spectra = mdct.analyze(x)
    indices = [envelope.quantize_cepstrum(envelope.cepstrum(s), step) for s in spectra]
    envelopes = [envelope.envelope_from_cepstrum(envelope.dequantize_cepstrum(i, step), mdct.HOP)
                 for i in indices]
    relative_bits = [np.log2(perceptual_weights(e)) + model.relative_bits() for e in envelopes]
    flattened = [envelope.flatten(s, e) for s, e in zip(spectra, envelopes)]
    # The envelope's real bits come first in each frame, as in the codec.
    capacity = 2 * BUDGET_BITS // 8 + 64
    prefixes = [p.envelope.encode(s, capacity, BUDGET_BITS - SPECTRUM_RESERVE_BITS)[0]
                for s in spectra]
    arrays = (model.spectrum_log2_scale, model.spectrum_h1, model.spectrum_table_base,
              tables.cdf, tables.length, tables.offset)
    return spectra, step, indices, envelopes, relative_bits, flattened, prefixes, arrays, tables.bits


def codec_block_rows(x):
    """(block, µs per frame) of the blocks of one frame, on every frame of the speech."""
    (spectra, step, indices, envelopes, relative_bits, flattened, prefixes, arrays,
     bits) = frame_material(x)
    zeros = np.zeros(mdct.HOP)
    frames = list(range(len(spectra)))
    quantizer = get_pipeline("default").spectrum_quantizer   # the default's θ, ρ and noise fill
    theta, rho = quantizer.rounding_offset, quantizer.reconstruction_offset
    nf_first_bin, nf_gain = quantizer.noise_fill_first_bin, quantizer.noise_fill_gain

    def encode(t):
        state, buf = prefixes[t].state.copy(), prefixes[t].buf.copy()
        result = sc.encode_spectrum(state, buf, flattened[t], relative_bits[t], BUDGET_BITS,
                                    *arrays, bits, theta, zeros, nf_first_bin, nf_gain,
                                    quantizer.rd_lambda)
        return result, state, buf

    streams, targets = [], []
    for t in frames:
        (index, _, _, _), state, buf = encode(t)
        targets.append(sc.target_bits(index, BUDGET_BITS))
        streams.append(buf[:rc.rc_finish(state, buf)].copy())
    envelope_bits = [prefixes[t].tell() for t in frames]
    decoder_states = []
    for t in frames:
        state = rc.decoder_state(streams[t], streams[t].size)
        coder = rc.RangeCoder(state, streams[t], False)
        get_pipeline("default").envelope.get(coder)
        assert coder.tell() == envelope_bits[t]
        decoder_states.append(state)

    def decode(t):
        sc.decode_spectrum(decoder_states[t].copy(), streams[t], relative_bits[t], BUDGET_BITS,
                           *arrays, rho, theta, zeros, nf_first_bin, t)

    windowed = [np.hanning(mdct.BLOCK) * x[t * mdct.HOP:t * mdct.HOP + mdct.BLOCK]
                for t in range(len(spectra) - 2)]
    autocorrelations = [lpc.autocorrelation(w, LPC_ORDER) for w in windowed if np.any(w)]
    predictors = [lpc.levinson_durbin(r, LPC_ORDER)[0] for r in autocorrelations]
    return [
        ("cepstrum + quantization (K = 20)",
         per_frame_us(lambda t: envelope.quantize_cepstrum(envelope.cepstrum(spectra[t]), step),
                      frames)),
        ("envelope synthesis (dequantize, exp Dᵀŷ)",
         per_frame_us(lambda t: envelope.envelope_from_cepstrum(
             envelope.dequantize_cepstrum(indices[t], step), mdct.HOP), frames)),
        ("perceptual_weights (320 bins)",
         per_frame_us(lambda t: perceptual_weights(envelopes[t]), frames)),
        ("allocate_bits (320 bins)",
         per_frame_us(lambda t: allocate_bits(relative_bits[t], targets[t]), frames)),
        (f"rate loop encode_spectrum ({BUDGET_BITS}-bit frames)", per_frame_us(encode, frames)),
        ("decode_spectrum (incl. noise fill)", per_frame_us(decode, frames)),
        ("LPC levinson_durbin (order 16)",
         per_frame_us(lambda r: lpc.levinson_durbin(r, LPC_ORDER), autocorrelations)),
        ("LPC lpc_to_lsf (order 16)", per_frame_us(lpc.lpc_to_lsf, predictors)),
    ]


def mdct_rows(x):
    """Whole-signal MDCT analysis and synthesis: µs per frame, and MDCT + IMDCT ×RT."""
    n_frames = mdct.num_frames(x.size)
    spectra = mdct.analyze(x)
    analyze_s = best_seconds(lambda: mdct.analyze(x))
    synthesize_s = best_seconds(lambda: mdct.synthesize(spectra, x.size))
    return [("MDCT analysis (whole signal)", 1e6 * analyze_s / n_frames, "µs/frame"),
            ("IMDCT synthesis + overlap-add (whole signal)", 1e6 * synthesize_s / n_frames, "µs/frame"),
            ("MDCT + IMDCT, 60 s", SIGNAL_SECONDS / (analyze_s + synthesize_s), "× real time")]


def codec_rows(x):
    """Whole codec: api.encode + api.decode at BITRATE_BPS, ×RT (and µs per frame)."""
    api.decode(api.encode(x[:SAMPLE_RATE_HZ], SAMPLE_RATE_HZ, BITRATE_BPS))
    encode_s = best_seconds(lambda: api.encode(x, SAMPLE_RATE_HZ, BITRATE_BPS), 2)
    data = api.encode(x, SAMPLE_RATE_HZ, BITRATE_BPS)
    decode_s = best_seconds(lambda: api.decode(data), 2)
    n_frames = mdct.num_frames(x.size)
    return [(f"whole codec api.encode ({BITRATE_BPS / 1000:g} kbit/s)", 1e6 * encode_s / n_frames,
             "µs/frame"),
            ("whole codec api.decode", 1e6 * decode_s / n_frames, "µs/frame"),
            (f"whole codec encode + decode, 60 s at {BITRATE_BPS / 1000:g} kbit/s",
             SIGNAL_SECONDS / (encode_s + decode_s), "× real time")]


def borrowed_rows(file_name, keep=lambda name: True):
    """Rows of another benchmark's ``bench()``, imported by path; a note if it is missing."""
    path = ROOT / "benchmarks" / file_name
    if not path.exists():
        return [(f"{file_name}: not present", float("nan"), "")]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    unit_names = {"us": "µs/frame", "x": "× real time", "Msymbols/s": "M symbols/s"}
    return [(f"{name} [{file_name}]", value, unit_names.get(unit, unit))
            for name, value, unit in module.bench() if keep(name)]


def markdown_table(rows):
    """One markdown table of (block, value, unit) rows."""
    lines = ["| block (16 kHz speech, 20 ms frames, 1 core) | value | unit |", "|---|---:|---|"]
    for name, value, unit in rows:
        if not np.isfinite(value):
            lines.append(f"| {name} | — | |")
        else:
            lines.append(f"| {name} | {value:.{1 if abs(value) >= 10 else 2}f} | {unit} |")
    return "\n".join(lines)


def main():
    start = time.perf_counter()
    x = speech()
    rows = mdct_rows(x)
    rows += [(name, value, "µs/frame") for name, value in codec_block_rows(x)]
    rows += borrowed_rows("bench_range_coder.py", keep=lambda name: "range coder" in name)
    rows += borrowed_rows("bench_transforms.py", keep=lambda name: not any(
        measured in name for measured in MEASURED_HERE))
    rows += codec_rows(x)
    print(f"{CLIP.name} looped to {SIGNAL_SECONDS:g} s ({mdct.num_frames(x.size)} frames); "
          f"CPU affinity {sorted(os.sched_getaffinity(0))}; rows marked [file] come from that "
          f"file's bench() on its own input (random noise or synthetic symbols)\n")
    print(markdown_table(rows))
    print(f"\n(benchmark ran in {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    main()
