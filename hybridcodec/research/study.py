"""``hybridcodec study entropy``: the TCX paper's Tables 1-4 on held-out speech, and the bits the
range coder actually spends with each source model.

Everything is measured on the active frames of the held-out split (``hybridcodec.training.fit.
speech_spectra``), with the models of the shipped ``logistic-mixture`` parameter file (trained
on the training split by ``hybridcodec train source-model``).  Two envelope steps: the trained
Δq and the conventional one (mean SD 1 dB on the training split, ``fit.one_db_envelope_step``);
every model was trained or fitted at the step it is evaluated with.

* Table 1, differential entropy per frame: mean over frames of −Σ_k log2 f(y_k) (unquantized
  cepstrum, K = 20) and −Σ_n log2 f(w_n) (w = X / ŝ, ŝ from the cepstrum rounded with Δq).
* Table 2, envelope bits per frame: the indices round(y / Δq) range-coded with each model's
  tables at Δq (mean from the coder's output over the whole stream; std from the per-frame code
  lengths of the integer tables, which the coder matches to within a few bytes per stream).
* Table 3, spectral distortion of the quantized envelope, dB.
* Table 4, perceptual SNR: per frame 10 log10(Σ_f (X/M)² / Σ_f ((X − X̂)/M)²), X the MDCT frame,
  X̂ the decoder's MDCT frame (noise filling included) at a fixed bitrate, M(f) the codec's own
  noise-shaping curve, M = s / W(s), from the ``tcx-laplacian`` perceptual component (the same
  for every configuration) applied to the *unquantized* envelope s of X, so the weighting does
  not depend on the codec under test; averaged (in dB) over the frames.
* Table 5, actual bits at the same quantization: per bitrate, the ``tcx-laplacian`` rate loop
  chooses each frame's steps δ(f) and indices; the same indices are range-coded with every
  spectrum model's tables at the same δ(f).  For the trained Δq, the same δ(f) quantize the w
  flattened by the coarser envelope, so envelope + spectrum bits compare at equal accuracy of w.
* Table 7, the harmonic model (``dsp.harmonic_model``) at the same quantization: per bitrate,
  the spectrum bits per frame of the ``tcx-laplacian`` rate loop's indices with and without
  the table shifts, on voiced frames (lag from the encoder's pitch search on the input) and on
  all active frames (``research.harmonic``).
* Table 8, the envelope's inter-frame prediction (E2 of ``dsp.envelope``): the envelope bits
  per active frame that the speech configurations' encoders spend with it and with every frame
  intra, and the share of frames they code intra (``research.envelope_prediction``).
"""
import json
import math
import textwrap
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from hybridcodec.dsp import envelope as cepstral
from hybridcodec.dsp.entropy_models import Laplace, LogisticMixture, make_table, make_tableset
from hybridcodec.dsp.quantization import quantize
from hybridcodec.dsp.range_coder import RangeCoder, values_code_lengths

from ..components.learned_source_models import (PARAMETER_STEM, VARIANTS, GaussianMixture1D,
                                                TabulatedModel)
from ..components.source_model import _span
from ..core.config import get_config
from ..training.corpus import load_clips
from ..training.fit import speech_spectra
from ..core.frame import FrameDecoder, FrameEncoder
from .envelope_prediction import BITRATE_BPS as PREDICTION_BPS
from .envelope_prediction import CONFIGS as PREDICTION_CONFIGS, prediction_bits
from .harmonic import VOICED_CORRELATION, code_frames, harmonic_bits
from ..formats.hcb import frame_bytes
from ..parameters import find_parameter_file, load_parameters
from ..core.pipeline import Pipeline

BITRATES_BPS = (13200, 16400, 24400)
FRAMES_PER_S = 50
REFERENCE_CONFIG = "tcx-laplacian"
PSNR_CONFIGS = ("tcx-laplacian", "tcx-mixture", "tcx-mixture-1db")
PSNR_MAX_FRAMES = 3000
"""Frames (evenly spaced over the held-out frames) coded per configuration and bitrate for Table 4."""

PAPER = {
    "envelope_entropy": {"logistic mixture (M=5)": 75.1, "GMM (M=5)": 72.0},
    "spectrum_entropy": {"logistic mixture per bin (L=3)": (990, 979), "Laplacian": (1002, 993),
                         "Gaussian": (1024, 1006)},
    "envelope_bits": {"trained": (44.0, 16.2), "conventional": (63.0, 15.9)},
    "sd": {"trained": (2.0, 47.0, 0.0), "conventional": (1.0, 0.0, 0.0)},
    "psnr": {"trained": (2.44, 3.05, 5.19), "conventional": (2.30, 2.91, 4.99)},
}
"""The TCX paper's Tables 1-4 (TIMIT; its 16 and 24 kbps columns set beside our 16.4 and 24.4)."""


# ----------------------------------------------------------------------------- models

def _mixture_list(arrays, part, kind, spread):
    return [kind(w, m, s) for w, m, s in zip(arrays[f"{part}_weights"], arrays[f"{part}_means"],
                                             arrays[f"{part}_{spread}"])]


def study_models(arrays: dict, variant: str) -> dict:
    """The envelope and spectrum model families of one variant of the parameter file.

    Returns {"step": Δq, "envelope": {name: [K models]}, "spectrum": {name: (models,
    bin_model (F,))}}; mixtures are wrapped in TabulatedModel (table span, H1).
    """
    a = {name[len(variant) + 1:]: v for name, v in arrays.items() if name.startswith(variant + "_")}
    n_bins = int(arrays["n_bins"])
    edges = arrays["band_edges"]
    band_of_bin = np.repeat(np.arange(len(edges) - 1), np.diff(edges))
    tab = TabulatedModel.of
    envelope = {
        "logistic mixture (M=5)": [tab(m) for m in _mixture_list(a, "envelope", LogisticMixture, "scales")],
        "GMM (M=5)": [tab(m) for m in _mixture_list(a, "gmm_envelope", GaussianMixture1D, "sigmas")],
        "Laplacian": [Laplace(float(m), float(s)) for m, s in
                      zip(a["laplace_envelope_mu"], a["laplace_envelope_scale"])],
        "Gaussian": [tab(_gaussian(m, s)) for m, s in zip(a["gauss_envelope_mu"], a["gauss_envelope_sigma"])],
    }
    spectrum = {
        "logistic mixture per bin (L=3)": (
            [tab(m) for m in _mixture_list(a, "bin", LogisticMixture, "scales")], np.arange(n_bins)),
        "logistic mixture per band (codec)": (
            [tab(m) for m in _mixture_list(a, "band", LogisticMixture, "scales")], band_of_bin),
        "GMM per band (L=3)": (
            [tab(m) for m in _mixture_list(a, "gmm_band", GaussianMixture1D, "sigmas")], band_of_bin),
        "Laplacian": ([Laplace(0.0, float(a["laplace_spectrum_scale"]))], np.zeros(n_bins, int)),
        "Gaussian": ([tab(_gaussian(0.0, a["gauss_spectrum_sigma"]))], np.zeros(n_bins, int)),
    }
    return {"step": float(a["envelope_step"]), "envelope": envelope, "spectrum": spectrum}


def _gaussian(mu, sigma):
    from hybridcodec.dsp.entropy_models import Gaussian

    return Gaussian(float(mu), float(sigma))


def entropy_per_frame(models: list, bin_model: np.ndarray, values: np.ndarray) -> float:
    """Mean over frames of −Σ_columns log2 f(values) (differential entropy per frame, bits)."""
    total = 0.0
    for m, model in enumerate(models):
        columns = np.flatnonzero(bin_model == m)
        density = model.pdf(values[:, columns])
        total += float(-np.sum(np.log2(np.maximum(density, 1e-300))))
    return total / values.shape[0]


# ----------------------------------------------------------------------------- actual bits

def coded_bits(models: list, model_id: np.ndarray, step: np.ndarray, values: np.ndarray,
               frame: np.ndarray, n_frames: int) -> dict:
    """Range-code ``values`` (one entry per coded bin) with tables of ``models[model_id]`` at
    ``step``; the tables come from ``make_table`` with the codec's spans (``quantize_cdf``).

    Returns {"actual": bits the range coder wrote in total, "per_frame": (n_frames,) code
    lengths of the integer tables per frame}.
    """
    keys, table_of_entry = np.unique(np.stack([model_id.astype(float), step]), axis=1,
                                     return_inverse=True)
    tables = []
    for m, s in keys.T:
        model = models[int(m)]
        tables.append(make_table(model, float(s), *_span(model, float(s))))
    tableset = make_tableset(tables)
    table_of_entry = table_of_entry.ravel().astype(np.int64)
    values = values.astype(np.int64)
    per_entry = values_code_lengths(tableset.bits, tableset.length, tableset.offset,
                                    table_of_entry, values)
    coder = RangeCoder.encoder(int(per_entry.sum() / 8 * 1.1) + 4096)
    coder.encode_values(tableset, table_of_entry, values)
    if coder.overflow:
        raise AssertionError("study range coder overflow")
    return {"actual": coder.tell(), "per_frame": np.bincount(frame, per_entry, minlength=n_frames)}


def envelope_bits(models: list, indices: np.ndarray, step: float) -> dict:
    """Bits of the envelope indices (n, K) coded with the K models at step Δq."""
    n, k = indices.shape
    return coded_bits(models, np.tile(np.arange(k), n), np.full(n * k, step), indices.ravel(),
                      np.repeat(np.arange(n), k), n)


def reference_quantization(spectra: np.ndarray, bitrate_bps: int) -> tuple:
    """Steps δ(f) (F,) per frame (inf: bin not coded) that the ``tcx-laplacian`` frame encoder
    chooses at ``bitrate_bps`` (its reports), and its rounding offset θ."""
    p = Pipeline(get_config(REFERENCE_CONFIG))
    encoder = FrameEncoder(p)
    steps = np.empty_like(spectra)
    for i, x in enumerate(spectra):
        steps[i] = encoder.encode_frame(x, i, frame_bytes(bitrate_bps))[1].steps
    return steps, p.spectrum_quantizer.rounding_offset


def spectrum_bits(families: dict, w: np.ndarray, steps: np.ndarray, rounding_offset: float) -> dict:
    """Bits per frame of w quantized with ``steps`` (inf: not coded), for each model family."""
    frame, bins = np.nonzero(np.isfinite(steps))
    step = steps[frame, bins]
    values = quantize(np.ascontiguousarray(w[frame, bins]), np.ascontiguousarray(step),
                      rounding_offset, np.zeros(step.size))
    return {name: coded_bits(models, bin_model[bins], step, values, frame, w.shape[0])
            for name, (models, bin_model) in families.items()}


# ----------------------------------------------------------------------------- perceptual SNR

def perceptual_snr_db(spectra: np.ndarray, config: str, bitrate_bps: int,
                      weighting: Pipeline) -> float:
    """Mean over frames of the perceptual SNR (module docstring) of ``config`` at a bitrate."""
    p = Pipeline(get_config(config))
    encoder, decoder = FrameEncoder(p), FrameDecoder(p)
    budget_bytes = frame_bytes(bitrate_bps)
    snr = []
    for i, x in enumerate(spectra):
        payload, _ = encoder.encode_frame(x, i, budget_bytes)
        x_hat = decoder.decode_frame(payload, i)
        s = cepstral.envelope_from_cepstrum(cepstral.cepstrum(x), x.shape[0])
        masking = s / weighting.perceptual.weights(s)
        snr.append(10.0 * math.log10(np.sum((x / masking) ** 2) / np.sum(((x - x_hat) / masking) ** 2)))
    return float(np.mean(snr))


# ----------------------------------------------------------------------------- the study

def run_entropy_study(corpus_dir=None, out_dir: Path = Path("entropy-study"),
                      max_files: Optional[int] = None, bitrates_bps=None,
                      psnr_max_frames: Optional[int] = None, progress: bool = True) -> str:
    """Run the study on the held-out split; write ``entropy_study.md``, ``.json`` and ``.png``
    to ``out_dir`` and return the markdown.  ``bitrates_bps`` defaults to BITRATES_BPS and
    ``psnr_max_frames`` to PSNR_MAX_FRAMES."""
    from tqdm import tqdm

    bitrates_bps = tuple(bitrates_bps or BITRATES_BPS)
    psnr_max_frames = psnr_max_frames or PSNR_MAX_FRAMES

    clips = load_clips("heldout", corpus_dir, max_files=max_files)
    spectra = speech_spectra(clips)
    arrays = load_parameters(find_parameter_file(PARAMETER_STEM))
    y = cepstral.cepstrum(spectra)
    unquantized = cepstral.envelope_from_cepstrum(y, spectra.shape[1])
    steps_by_rate = {rate: reference_quantization(spectra, rate) for rate in
                     tqdm(bitrates_bps, desc="reference quantization", disable=not progress)}
    results: Dict = {"n_frames": int(spectra.shape[0]), "variants": {}}
    for variant in VARIANTS:
        models = study_models(arrays, variant)
        step = models["step"]
        indices = cepstral.quantize_cepstrum(y, step)
        envelope = cepstral.quantized_envelope(y, step, spectra.shape[1])
        w = cepstral.flatten(spectra, envelope)
        sd = cepstral.spectral_distortion_db(unquantized, envelope)
        r = {"step": step,
             "sd": [float(sd.mean()), float(np.mean((sd >= 2) & (sd <= 4)) * 100),
                    float(np.mean(sd > 4) * 100)],
             "envelope_entropy": {n: entropy_per_frame(m, np.arange(len(m)), y)
                                  for n, m in models["envelope"].items()},
             "spectrum_entropy": {n: entropy_per_frame(m, b, w)
                                  for n, (m, b) in models["spectrum"].items()},
             "envelope_bits": {}, "spectrum_bits": {}}
        for name, family in models["envelope"].items():
            bits = envelope_bits(family, indices, step)
            r["envelope_bits"][name] = [bits["actual"] / len(spectra), float(bits["per_frame"].std())]
        for rate in tqdm(bitrates_bps, desc=f"{variant} Δq: coding", disable=not progress):
            steps, theta = steps_by_rate[rate]
            coded = spectrum_bits(models["spectrum"], w, steps, theta)
            r["spectrum_bits"][str(rate)] = {n: b["actual"] / len(spectra) for n, b in coded.items()}
        results["variants"][variant] = r
    weighting = Pipeline(get_config(REFERENCE_CONFIG))
    every = max(1, math.ceil(len(spectra) / psnr_max_frames))
    results["psnr"] = {config: {str(rate): perceptual_snr_db(spectra[::every], config, rate, weighting)
                                for rate in bitrates_bps}
                       for config in tqdm(PSNR_CONFIGS, desc="perceptual SNR", disable=not progress)}
    results["psnr_frames"] = int(len(spectra[::every]))
    results["harmonic"] = {str(rate): harmonic_bits(code_frames(clips, REFERENCE_CONFIG, rate))
                           for rate in tqdm(bitrates_bps, desc="harmonic model", disable=not progress)}
    results["prediction"] = {config: prediction_bits(clips, config) for config in
                             tqdm(PREDICTION_CONFIGS, desc="envelope prediction", disable=not progress)}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "entropy_study.json").write_text(json.dumps(results, indent=1) + "\n")
    text = markdown_report(results, bitrates_bps)
    (out_dir / "entropy_study.md").write_text(text + "\n")
    plot(results, bitrates_bps, out_dir / "entropy_study.png")
    return text


# ----------------------------------------------------------------------------- report

def _kbps(bits_per_frame: float) -> float:
    return bits_per_frame * FRAMES_PER_S / 1000.0


def markdown_report(results: dict, bitrates_bps) -> str:
    """The study's tables in markdown, the paper's numbers beside ours."""
    t, c = results["variants"]["trained"], results["variants"]["conventional"]
    lines = [f"Held-out active frames: {results['n_frames']}. Trained Δq = {t['step']:.3f}, "
             f"conventional (1 dB) Δq = {c['step']:.3f} (cepstral units).", "",
             "**Table 1. Differential entropy per frame (bits).**", "",
             "| part | model | trained Δq | 1 dB Δq | paper, optimal Δq | paper, conventional Δq |",
             "|---|---|---:|---:|---:|---:|"]
    for name in t["envelope_entropy"]:
        paper = PAPER["envelope_entropy"].get(name)
        paper_text = f"{paper:.1f}" if paper else "–"
        lines.append(f"| envelope | {name} | {t['envelope_entropy'][name]:.1f} | "
                     f"{c['envelope_entropy'][name]:.1f} | {paper_text} | {paper_text} |")
    for name in t["spectrum_entropy"]:
        paper = PAPER["spectrum_entropy"].get(name, ("–", "–"))
        lines.append(f"| flattened spectrum | {name} | {t['spectrum_entropy'][name]:.1f} | "
                     f"{c['spectrum_entropy'][name]:.1f} | {paper[0]} | {paper[1]} |")
    lines += ["", "**Table 2. Envelope bits per frame, range coder (mean ± std).**", "",
              "| model | trained Δq | 1 dB Δq |", "|---|---:|---:|"]
    for name in t["envelope_bits"]:
        lines.append(f"| {name} | {t['envelope_bits'][name][0]:.1f} ± {t['envelope_bits'][name][1]:.1f} | "
                     f"{c['envelope_bits'][name][0]:.1f} ± {c['envelope_bits'][name][1]:.1f} |")
    p = PAPER["envelope_bits"]
    lines.append(f"| paper (logistic mixture) | {p['trained'][0]} ± {p['trained'][1]} | "
                 f"{p['conventional'][0]} ± {p['conventional'][1]} |")
    lines += ["", "**Table 3. Spectral distortion of the quantized envelope.**", "",
              "| Δq | mean SD (dB) | in 2–4 dB | above 4 dB | paper: mean, 2–4, >4 |",
              "|---|---:|---:|---:|---|"]
    for label, v, key in (("trained", t, "trained"), ("1 dB", c, "conventional")):
        ps = PAPER["sd"][key]
        lines.append(f"| {label} ({v['step']:.3f}) | {v['sd'][0]:.2f} | {v['sd'][1]:.1f} % | "
                     f"{v['sd'][2]:.1f} % | {ps[0]} dB, {ps[1]:.0f} %, {ps[2]:.0f} % |")
    lines += ["", f"**Table 4. Mean perceptual SNR (dB), {results['psnr_frames']} held-out frames.**", "",
              "| configuration | " + " | ".join(f"{r / 1000:.1f} kbps" for r in bitrates_bps) + " |",
              "|---|" + "---:|" * len(bitrates_bps)]
    for config, row in results["psnr"].items():
        lines.append(f"| {config} | " + " | ".join(f"{row[str(r)]:.2f}" for r in bitrates_bps) + " |")
    for key, label in (("trained", "paper, optimal Δq (13.2/16/24)"),
                       ("conventional", "paper, conventional Δq")):
        lines.append(f"| {label} | " + " | ".join(f"{v:.2f}" for v in PAPER["psnr"][key]) + " |")
    lines += ["", "**Table 5. Actual bits per frame at the same quantization (range coder; "
              "steps and dead zone of the tcx-laplacian rate loop).** Spectrum at the 1 dB Δq; "
              "saved = Laplacian − model.", "",
              "| model | " + " | ".join(f"{r / 1000:.1f} kbps: bits (saved, kbps saved)"
                                       for r in bitrates_bps) + " |",
              "|---|" + "---:|" * len(bitrates_bps)]
    for name in c["spectrum_bits"][str(bitrates_bps[0])]:
        cells = []
        for r in bitrates_bps:
            row = c["spectrum_bits"][str(r)]
            saved = row["Laplacian"] - row[name]
            cells.append(f"{row[name]:.1f} ({saved:+.1f}, {_kbps(saved):+.3f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "**Table 6. Envelope + spectrum bits per frame, trained Δq against 1 dB Δq "
              "(same steps δ(f) for w).**", "",
              "| model (envelope / spectrum) | bitrate | trained Δq | 1 dB Δq | saved (bits, kbps) |",
              "|---|---|---:|---:|---:|"]
    for label, env, spec in (("logistic / logistic per band (codec)", "logistic mixture (M=5)",
                              "logistic mixture per band (codec)"),
                             ("logistic / logistic per bin", "logistic mixture (M=5)",
                              "logistic mixture per bin (L=3)"),
                             ("Laplacian / Laplacian", "Laplacian", "Laplacian")):
        for r in bitrates_bps:
            tt = t["envelope_bits"][env][0] + t["spectrum_bits"][str(r)][spec]
            cc = c["envelope_bits"][env][0] + c["spectrum_bits"][str(r)][spec]
            lines.append(f"| {label} | {r / 1000:.1f} | {tt:.1f} | {cc:.1f} | "
                         f"{cc - tt:+.1f}, {_kbps(cc - tt):+.3f} |")
    return "\n".join(lines + harmonic_table(results["harmonic"], bitrates_bps)
                     + prediction_table(results["prediction"]))


def harmonic_table(harmonic: dict, bitrates_bps) -> list:
    """Table 7: spectrum bits per frame without and with the harmonic model."""
    lines = ["", "**Table 7. Harmonic model: spectrum bits per frame at the same quantization "
             "(tcx-laplacian steps and indices; lag from the encoder's pitch search, voiced: "
             f"normalized correlation ≥ {VOICED_CORRELATION}).**", "",
             "| bitrate | voiced frames | voiced: off → on (saved) | all frames: off → on (saved, kbps) |",
             "|---|---:|---:|---:|"]
    for r in bitrates_bps:
        h = harmonic[str(r)]
        (v_off, v_on), (a_off, a_on) = h["voiced"], h["all"]
        lines.append(f"| {r / 1000:.1f} kbps | {h['voiced_frames']} / {h['frames']} | "
                     f"{v_off:.1f} → {v_on:.1f} ({v_off - v_on:+.1f}) | {a_off:.1f} → {a_on:.1f} "
                     f"({a_off - a_on:+.1f}, {_kbps(a_off - a_on):+.3f}) |")
    return lines


def prediction_table(results: Dict) -> list:
    """Table 8 in markdown, from ``{config: prediction_bits(...)}``."""
    lines = ["", f"**Table 8. Envelope prediction (E2): envelope bits per active frame as the "
             f"encoder spends them ({PREDICTION_BPS / 1000:.1f} kbps; flag, shift and indices).**",
             "", "| configuration | frames | every frame intra | predicted or intra (E2) | "
             "saved (bits, kbps) | coded intra |", "|---|---:|---:|---:|---:|---:|"]
    for config, r in results.items():
        saved = r["intra_only"] - r["predicted"]
        lines.append(f"| {config} | {r['frames']} | {r['intra_only']:.1f} | {r['predicted']:.1f} | "
                     f"{saved:+.1f}, {_kbps(saved):+.3f} | {100 * r['intra_share']:.1f} % |")
    return lines


def plot(results: dict, bitrates_bps, path: Path) -> None:
    """Spectrum bits saved against the Laplacian, total bits by Δq, and perceptual SNR."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t, c = results["variants"]["trained"], results["variants"]["conventional"]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    names = [n for n in c["spectrum_bits"][str(bitrates_bps[0])] if n != "Laplacian"]
    width = 0.8 / len(bitrates_bps)
    for i, r in enumerate(bitrates_bps):
        row = c["spectrum_bits"][str(r)]
        axes[0].bar(np.arange(len(names)) + i * width, [row["Laplacian"] - row[n] for n in names],
                    width, label=f"{r / 1000:.1f} kbps")
    axes[0].set_xticks(np.arange(len(names)) + 0.4 - width / 2, [textwrap.fill(n, 14) for n in names],
                       fontsize=7)
    axes[0].set(ylabel="spectrum bits/frame saved vs Laplacian", title="Same quantization, 1 dB Δq")
    axes[0].axhline(0, color="k", lw=0.5)
    axes[0].legend(fontsize=8)
    env, spec = "logistic mixture (M=5)", "logistic mixture per band (codec)"
    for i, (label, v) in enumerate((("trained Δq", t), ("1 dB Δq", c))):
        env_bits = v["envelope_bits"][env][0]
        spec_bits = [v["spectrum_bits"][str(r)][spec] for r in bitrates_bps]
        x = np.arange(len(bitrates_bps)) + 0.4 * i
        axes[1].bar(x, [env_bits] * len(x), 0.4, color=f"C{i}", alpha=0.5)
        axes[1].bar(x, spec_bits, 0.4, bottom=env_bits, color=f"C{i}", label=label)
    axes[1].set_xticks(np.arange(len(bitrates_bps)) + 0.2, [f"{r / 1000:.1f}" for r in bitrates_bps])
    axes[1].set(xlabel="reference bitrate (kbps)", ylabel="bits/frame (light: envelope)",
                title="Logistic mixtures: envelope + spectrum")
    axes[1].legend(fontsize=8)
    for config, row in results["psnr"].items():
        axes[2].plot([r / 1000 for r in bitrates_bps], [row[str(r)] for r in bitrates_bps],
                     marker="o", label=config)
    axes[2].set(xlabel="bitrate (kbps)", ylabel="mean perceptual SNR (dB)", title="Perceptual SNR")
    axes[2].grid(True, alpha=0.3)
    axes[2].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
