"""``hybridcodec study envelope``: rate, spectral distortion and frame bits of the envelopes.

On held-out frames (active speech, as the encoder sees them), for cepstral-uniform (Δq swept),
lsf-vq (stages used), lsf-softmax (rate points) and a study-only lsf-vq at lsf-softmax's
analysis, at about 20 to 60 envelope bits per frame.  The two LSF components have different
analyses (lag windows, each from its parameter file: lsf-vq 150 Hz for LSF distortion,
lsf-softmax 60 Hz for whole-frame bits); the study-only ``lsf-vq@<lag>Hz`` is trained here, by
``lsf_training.train_lsf_vq`` on the training split only (the shipped design, only the lag
window changed), so that the codebooks also compare at equal analysis.  Per point:

* envelope bits: the range coder's exact information content after ``put`` (fractional, from
  its state: 8 · normalizations + 32 − log2 range), not the byte-rounded ``tell()``;
* the lag window of the analysis;
* mean SD (dB) between the unquantized envelope of the point's own analysis and the coded
  envelope, gain included, and the share of frames with SD in 2–4 dB and above 4 dB; also the
  gain-normalized SD of the LSF literature; and the SD against one common reference for all
  points, the unquantized envelope of lsf-softmax's analysis (60 Hz), since SDs against
  different analyses are distances to different targets;
* spectrum bits at fixed spectrum quantization (``lsf_training.spectrum_bits``: w rounded with
  δ = 3.4 b, priced by the Laplacian source model) and the total frame bits.

Writes ``envelope-study.md`` (the table), ``envelope-study.json`` and ``rate-sd.png``.
"""
import json
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
from tqdm import tqdm

from hybridcodec.dsp import envelope as cepstral
from hybridcodec.dsp.range_coder import RangeCoder

from ..components.envelope import CepstralEnvelope
from ..components.lsf_envelope import DB_PER_NEPER, LsfSoftmaxEnvelope, LsfVqEnvelope, sd_db
from ..components.source_model import LaplacianSourceModel
from ..training.corpus import load_clips
from ..training.fit import speech_spectra
from ..training.lsf_training import FIXED_SPECTRUM_STEP, VQ_LAYOUT, spectrum_bits, train_lsf_vq
from ..parameters import save_parameters

MAX_FRAMES = 3000
"""Held-out frames measured (a seeded subset): each point codes every frame in Python."""
CEPSTRAL_STEP_FACTORS = (0.7, 1.0, 1.4, 2.0, 2.8, 4.0)
"""Δ / Δq of the cepstral points (Δq from the 1 dB rule)."""
VQ_STAGES = (2, 3, 4, 5, 6, 7, 8)
EQUAL_ANALYSIS_VQ_LAYOUT = VQ_LAYOUT
"""Layout of the study-only lsf-vq at lsf-softmax's analysis (the shipped one)."""


def measure_point(component, spectra: np.ndarray, scale: float, label: str,
                  reference: np.ndarray, common_reference: Optional[np.ndarray] = None,
                  lag_window_hz: Optional[float] = None) -> Dict:
    """One row: bits, SD and frame bits of ``component`` over the frames.

    ``reference``: the unquantized envelope of the component's own analysis (its SD target);
    ``common_reference``: one reference for every point (SD in ``common_sd_db``)."""
    bits, coded = np.empty(len(spectra)), np.empty_like(spectra)
    for n, x in enumerate(spectra):
        side = component.analyze(x)
        coder = RangeCoder.encoder(1024)
        component.put(coder, side)
        bits[n] = coder.tell_frac()
        coded[n] = np.log(component.synthesize(side))
    sd = sd_db(reference, coded)
    shape_sd = sd_db(reference - reference.mean(1, keepdims=True),
                     coded - coded.mean(1, keepdims=True))
    spec = spectrum_bits(spectra, coded, scale, FIXED_SPECTRUM_STEP)
    common = sd_db(reference if common_reference is None else common_reference, coded)
    return {"method": label.split(" ")[0], "point": label, "lag_window_hz": lag_window_hz,
            "envelope_bits": float(bits.mean()), "common_sd_db": float(common.mean()),
            "mean_sd_db": float(sd.mean()), "pct_2_4_db": float(100 * np.mean((sd >= 2) & (sd <= 4))),
            "pct_above_4_db": float(100 * np.mean(sd > 4)), "shape_sd_db": float(shape_sd.mean()),
            "spectrum_bits": float(spec.mean()), "total_bits": float((bits + spec).mean())}


def equal_analysis_vq(lag_window_hz: float, out_dir: Path, corpus_dir=None,
                      max_files: Optional[int] = None, progress: bool = True) -> Path:
    """Train the study-only lsf-vq at ``lag_window_hz`` on the training split (the shipped
    design otherwise) and save it in ``out_dir``; returns the file."""
    arrays = train_lsf_vq(corpus_dir, max_files=max_files, layout=EQUAL_ANALYSIS_VQ_LAYOUT,
                          lag_window_hz=lag_window_hz, progress=progress)
    return save_parameters(f"lsf-vq-at-{lag_window_hz:g}hz", arrays, Path(out_dir))


def study_points(spectra: np.ndarray, progress: bool = True,
                 equal_analysis_vq: Optional[Path] = None) -> List[Dict]:
    """Every point of the envelopes on ``spectra`` (n, 320); with ``equal_analysis_vq`` (a
    parameter file) also the points of that study-only lsf-vq."""
    model = LaplacianSourceModel()
    scale = model.spectrum_models()[0].scale
    rows = []
    y = cepstral.cepstrum(spectra)
    cepstral_reference = np.log(cepstral.envelope_from_cepstrum(y, spectra.shape[1]))
    softmax = LsfSoftmaxEnvelope()
    common_reference = np.stack([softmax.unquantized_log_envelope(x) for x in spectra])
    points = [("cepstral-uniform", f) for f in CEPSTRAL_STEP_FACTORS]
    points += [("lsf-vq", s) for s in VQ_STAGES]
    points += [("lsf-softmax", p) for p in range(softmax.arrays["lambdas"].size)]
    if equal_analysis_vq is not None:
        points += [("lsf-vq-study", s) for s in VQ_STAGES]
    references = {}
    for method, value in tqdm(points, desc="envelope study", disable=not progress):
        if method == "cepstral-uniform":
            component = CepstralEnvelope(model, envelope_step=value * model.envelope_step)
            label, lag = f"cepstral-uniform Δ={value:g}Δq", None
        elif method == "lsf-vq":
            component, label = LsfVqEnvelope(n_stages=value), f"lsf-vq stages={value}"
        elif method == "lsf-vq-study":
            component = LsfVqEnvelope(n_stages=value, parameters=str(equal_analysis_vq))
            label = f"lsf-vq@{component.lag_window_hz:g}Hz stages={value}"
        else:
            component = LsfSoftmaxEnvelope(rate_point=value)
            label = f"lsf-softmax λ={component.arrays['lambdas'][value]:g}"
        if method == "cepstral-uniform":
            reference = cepstral_reference
        else:
            lag = component.lag_window_hz
            if method not in references:
                references[method] = np.stack([component.unquantized_log_envelope(x)
                                               for x in spectra])
            reference = references[method]
        rows.append(measure_point(component, spectra, scale, label, reference,
                                  common_reference, lag))
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
    head = ("| point | lag window Hz | envelope bits | mean SD dB | SD 2-4 dB % | SD > 4 dB % | "
            "shape SD dB | common-ref SD dB | spectrum bits | total bits |\n"
            "|---|---|---|---|---|---|---|---|---|---|")
    lines = [head] + [
        f"| {r['point']} | {'-' if r['lag_window_hz'] is None else format(r['lag_window_hz'], 'g')}"
        f" | {r['envelope_bits']:.1f} | {r['mean_sd_db']:.2f} | "
        f"{r['pct_2_4_db']:.1f} | {r['pct_above_4_db']:.1f} | {r['shape_sd_db']:.2f} | "
        f"{r['common_sd_db']:.2f} | {r['spectrum_bits']:.1f} | {r['total_bits']:.1f} |"
        for r in rows]
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
                       spectra: Optional[np.ndarray] = None, progress: bool = True,
                       equal_analysis: bool = True) -> str:
    """Run the study, write the table, JSON and plot into ``out_dir``, return the report.

    With ``equal_analysis`` a study-only lsf-vq at lsf-softmax's lag window is first trained on
    the training split (a couple of minutes) and saved in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if spectra is None:
        spectra = heldout_spectra(corpus_dir, max_files, max_frames)
    vq, softmax = LsfVqEnvelope(), LsfSoftmaxEnvelope()
    variant = None
    if equal_analysis:
        variant = equal_analysis_vq(softmax.lag_window_hz, out_dir, corpus_dir, max_files,
                                    progress)
    rows = study_points(spectra, progress, variant)
    methods = {r["method"] for r in rows}
    study_vq = next((m for m in methods if m.startswith("lsf-vq@")), None)
    comparisons = [("lsf-softmax", "lsf-vq", "as shipped, different analyses")]
    if study_vq:
        comparisons += [("lsf-softmax", study_vq, "equal analysis"),
                        ("lsf-vq", study_vq, "lsf-vq's analysis against lsf-softmax's")]
    sections = []
    for method, reference, what in comparisons:
        lines = at_equal_envelope_bits(rows, method, reference)
        sections.append(f"{method} vs {reference} at equal envelope bits ({what}):\n"
                        + ("\n".join(lines) or "(no overlap)"))
    gap = sd_db(np.stack([vq.unquantized_log_envelope(x) for x in spectra]),
                np.stack([softmax.unquantized_log_envelope(x) for x in spectra]))
    analyses = (f"Analyses (lag window, from each parameter file): lsf-vq "
                f"{vq.lag_window_hz:g} Hz (designed for LSF distortion), lsf-softmax "
                f"{softmax.lag_window_hz:g} Hz (for whole-frame bits)"
                + (f", {study_vq} study-only (trained here on the training split)"
                   if study_vq else "")
                + f".  Mean SD, each point against the unquantized envelope of its own analysis; "
                f"the {vq.lag_window_hz:g} Hz and {softmax.lag_window_hz:g} Hz unquantized "
                f"envelopes differ by {gap.mean():.2f} dB mean SD.  Common-ref SD: against "
                f"the unquantized envelope of lsf-softmax's analysis for every point.")
    report = (f"{len(spectra)} held-out frames; SD in dB with the gain "
              f"(shape SD: gain-normalized, {DB_PER_NEPER:.3f} dB/neper)\n{analyses}\n\n"
              + format_table(rows) + "\n\n" + "\n\n".join(sections))
    (out_dir / "envelope-study.md").write_text(report + "\n")
    (out_dir / "envelope-study.json").write_text(json.dumps(rows, indent=1))
    plot(rows, out_dir / "rate-sd.png")
    return report
