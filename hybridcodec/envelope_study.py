"""``hybridcodec study envelope``: rate, spectral distortion and frame bits of three envelopes.

On held-out frames (active speech, as the encoder sees them), for cepstral-uniform (Δq swept),
lsf-vq (stages used) and lsf-softmax (rate points), at about 20 to 60 envelope bits per frame:

* envelope bits: the range coder's exact information content after ``put`` (fractional, from
  its state: 8 · normalizations + 32 − log2 range), not the byte-rounded ``tell()``;
* mean SD (dB) between the unquantized and the coded envelope, gain included, and the share of
  frames with SD in 2–4 dB and above 4 dB; also the gain-normalized SD of the LSF literature;
* spectrum bits at fixed spectrum quantization (``lsf_training.spectrum_bits``: w rounded with
  δ = 3.4 b, priced by the Laplacian source model) and the total frame bits.

Writes ``envelope-study.md`` (the table), ``envelope-study.json`` and ``rate-sd.png``.
"""
import json
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
from tqdm import tqdm

from dsp import envelope as cepstral
from dsp.range_coder import RangeCoder

from .components.envelope import CepstralEnvelope
from .components.lsf_envelope import DB_PER_NEPER, LsfSoftmaxEnvelope, LsfVqEnvelope, sd_db
from .components.source_model import LaplacianSourceModel
from .corpus import load_clips
from .fit import speech_spectra
from .lsf_training import FIXED_SPECTRUM_STEP, spectrum_bits

MAX_FRAMES = 3000
"""Held-out frames measured (a seeded subset): each point codes every frame in Python."""
CEPSTRAL_STEP_FACTORS = (0.7, 1.0, 1.4, 2.0, 2.8, 4.0)
"""Δ / Δq of the cepstral points (Δq from the 1 dB rule)."""
VQ_STAGES = (2, 3, 4, 5, 6, 7, 8)
_RANGE_INDEX, _NORM_INDEX = 1, 5   # dsp.range_coder state layout: range, normalizations


def exact_bits(coder: RangeCoder) -> float:
    """Information content written so far: 8 · normalizations + 32 − log2(range), in bits."""
    return 8.0 * float(coder.state[_NORM_INDEX]) + 32.0 - np.log2(float(coder.state[_RANGE_INDEX]))


def measure_point(component, spectra: np.ndarray, scale: float, label: str,
                  reference: np.ndarray) -> Dict:
    """One row: bits, SD and frame bits of ``component`` over the frames."""
    bits, coded = np.empty(len(spectra)), np.empty_like(spectra)
    for n, x in enumerate(spectra):
        side = component.analyze(x)
        coder = RangeCoder.encoder(1024)
        component.put(coder, side)
        bits[n] = exact_bits(coder)
        coded[n] = np.log(component.synthesize(side))
    sd = sd_db(reference, coded)
    shape_sd = sd_db(reference - reference.mean(1, keepdims=True),
                     coded - coded.mean(1, keepdims=True))
    spec = spectrum_bits(spectra, coded, scale, FIXED_SPECTRUM_STEP)
    return {"method": label.split(" ")[0], "point": label, "envelope_bits": float(bits.mean()),
            "mean_sd_db": float(sd.mean()), "pct_2_4_db": float(100 * np.mean((sd >= 2) & (sd <= 4))),
            "pct_above_4_db": float(100 * np.mean(sd > 4)), "shape_sd_db": float(shape_sd.mean()),
            "spectrum_bits": float(spec.mean()), "total_bits": float((bits + spec).mean())}


def study_points(spectra: np.ndarray, progress: bool = True) -> List[Dict]:
    """Every point of the three envelopes on ``spectra`` (n, 320)."""
    model = LaplacianSourceModel()
    scale = model.spectrum_models()[0].scale
    rows = []
    y = cepstral.cepstrum(spectra)
    reference = np.log(cepstral.envelope_from_cepstrum(y, spectra.shape[1]))
    points = [("cepstral-uniform", f, None) for f in CEPSTRAL_STEP_FACTORS]
    points += [("lsf-vq", s, None) for s in VQ_STAGES]
    n_softmax = LsfSoftmaxEnvelope().arrays["lambdas"].size
    points += [("lsf-softmax", p, None) for p in range(n_softmax)]
    references = {}
    for method, value, _ in tqdm(points, desc="envelope study", disable=not progress):
        if method == "cepstral-uniform":
            component = CepstralEnvelope(model, envelope_step=value * model.envelope_step)
            label, ref = f"cepstral-uniform Δ={value:g}Δq", reference
        elif method == "lsf-vq":
            component, label = LsfVqEnvelope(n_stages=value), f"lsf-vq stages={value}"
        else:
            component = LsfSoftmaxEnvelope(rate_point=value)
            label = f"lsf-softmax λ={component.arrays['lambdas'][value]:g}"
        if method != "cepstral-uniform":
            if method not in references:
                references[method] = np.stack([component.unquantized_log_envelope(x)
                                               for x in spectra])
            ref = references[method]
        rows.append(measure_point(component, spectra, scale, label, ref))
    return rows


def heldout_spectra(corpus_dir=None, max_files: Optional[int] = None,
                    max_frames: int = MAX_FRAMES, seed: int = 0) -> np.ndarray:
    """Active MDCT frames of the held-out split, a seeded subset."""
    spectra = speech_spectra(load_clips("heldout", corpus_dir, max_files=max_files))
    if spectra.shape[0] > max_frames:
        keep = np.random.default_rng(seed).choice(spectra.shape[0], max_frames, replace=False)
        spectra = spectra[np.sort(keep)]
    return spectra


def format_table(rows: List[Dict]) -> str:
    """The study's rows as a markdown table."""
    head = ("| point | envelope bits | mean SD dB | SD 2-4 dB % | SD > 4 dB % | shape SD dB | "
            "spectrum bits | total bits |\n|---|---|---|---|---|---|---|---|")
    lines = [head] + [
        f"| {r['point']} | {r['envelope_bits']:.1f} | {r['mean_sd_db']:.2f} | "
        f"{r['pct_2_4_db']:.1f} | {r['pct_above_4_db']:.1f} | {r['shape_sd_db']:.2f} | "
        f"{r['spectrum_bits']:.1f} | {r['total_bits']:.1f} |" for r in rows]
    return "\n".join(lines)


def at_equal_envelope_bits(rows: List[Dict], method: str, reference: str) -> List[str]:
    """Total bits of ``method`` minus those of ``reference`` at equal envelope bits (interpolated
    on the reference's curve, where the two overlap)."""
    ref = sorted((r["envelope_bits"], r["total_bits"]) for r in rows if r["method"] == reference)
    lines = []
    for r in rows:
        if r["method"] == method and ref[0][0] <= r["envelope_bits"] <= ref[-1][0]:
            other = np.interp(r["envelope_bits"], *zip(*ref))
            lines.append(f"{r['point']}: {r['envelope_bits']:.1f} envelope bits, total "
                         f"{r['total_bits']:.1f} vs {reference} {other:.1f} "
                         f"({r['total_bits'] - other:+.1f} bits)")
    return lines


def plot(rows: List[Dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for method in dict.fromkeys(r["method"] for r in rows):
        pts = sorted((r["envelope_bits"], r["mean_sd_db"], r["total_bits"])
                     for r in rows if r["method"] == method)
        bits, sd, total = zip(*pts)
        ax1.plot(bits, sd, "o-", label=method)
        ax2.plot(bits, total, "o-", label=method)
    ax1.axhline(1.0, color="gray", lw=0.5)
    ax1.set(xlabel="envelope bits / frame", ylabel="mean SD (dB)", title="rate - SD (held-out)")
    ax2.set(xlabel="envelope bits / frame", ylabel="envelope + spectrum bits / frame",
            title=f"frame bits at fixed spectrum step δ = {FIXED_SPECTRUM_STEP:g} b")
    ax1.legend()
    ax1.grid(alpha=0.3)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_envelope_study(corpus_dir=None, out_dir: Path = Path("envelope-study"),
                       max_files: Optional[int] = None, max_frames: int = MAX_FRAMES,
                       spectra: Optional[np.ndarray] = None, progress: bool = True) -> str:
    """Run the study, write the table, JSON and plot into ``out_dir``, return the report."""
    if spectra is None:
        spectra = heldout_spectra(corpus_dir, max_files, max_frames)
    rows = study_points(spectra, progress)
    comparison = at_equal_envelope_bits(rows, "lsf-softmax", "lsf-vq")
    report = (f"{len(spectra)} held-out frames; SD in dB with the gain "
              f"(shape SD: gain-normalized, {DB_PER_NEPER:.3f} dB/neper)\n\n"
              + format_table(rows) + "\n\nlsf-softmax vs lsf-vq at equal envelope bits:\n"
              + ("\n".join(comparison) or "(no overlap)"))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "envelope-study.md").write_text(report + "\n")
    (out_dir / "envelope-study.json").write_text(json.dumps(rows, indent=1))
    plot(rows, out_dir / "rate-sd.png")
    return report
