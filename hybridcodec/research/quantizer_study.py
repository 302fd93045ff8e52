"""``hybridcodec study quantizers``: the learned quantizers of the seed papers beside their DSP
counterparts, at equal bits, on held-out speakers.

Quality table
    Every pair (learned configuration, its DSP counterpart) of :data:`PAIRS` codes the same
    held-out files at the same bitrates through ``hybridcodec evaluate`` (same container, same
    measured rate); the table gives PESQ-WB and ViSQOL of both and the difference.  A learned
    quantizer *wins* at a rate only where both metrics are higher, *loses* where both are lower;
    otherwise the metrics *split*.

    - PSQ (straight-through and pseudo-quantization-noise training) against the uniform rate loop
      of the same core (``tcx-mixture``: same envelope, weights and source of w);
    - base + residual AE layers against the core alone (``tcx-mixture-pitch``) at the same total
      rate;
    - the end-to-end AE against the same core.

Entropy control
    For the quantizers trained to a target rate by Kankanahalli's λ-adjustment (the residual
    layers and e2e-ae), the target against the rate their symbols take on held-out speech
    (``residual_rates``; ``e2e_rates``, with the λ rule alone and with the encoder's run-time
    control); the paper claims ±0.45 kbps.

SQ against VQ
    PSQ's claim (SQ ≈ VQ): the PSQ latent coded by its scalar quantizer and by a k-means VQ of
    the same latent at equal bits.
"""
from pathlib import Path

from . import e2e_rates, latent_vq, residual_rates
from ..tools.evaluate import evaluate, mean_scores, verdict
from ..tools.metrics import METRIC_LABELS
from ..training.corpus import corpus_files

BITRATES_BPS = (9600, 16400, 24400)
PAIRS = (
    ("tcx-psq-st", "tcx-mixture"),
    ("tcx-psq-noise", "tcx-mixture"),
    ("tcx-residual", "tcx-mixture-pitch"),
    ("e2e-ae", "tcx-mixture-pitch"),
)
"""(learned configuration, DSP counterpart) pairs of the quality table."""
METRICS = ("pesq", "visqol")
COLUMNS = ("pesq_wb", "visqol")


def quality_rows(means, pairs=PAIRS, bitrates_bps=BITRATES_BPS):
    """One row per pair and bitrate from ``evaluate.mean_scores`` output: both systems' scores,
    the differences and the verdict (pairs with a system missing at that rate are left out)."""
    rows = []
    for learned, counterpart in pairs:
        for bitrate in bitrates_bps:
            if (learned, bitrate) not in means or (counterpart, bitrate) not in means:
                continue
            a, b = means[learned, bitrate], means[counterpart, bitrate]
            deltas = [a[column] - b[column] for column in COLUMNS]
            rows.append({"learned": learned, "counterpart": counterpart, "bitrate_bps": bitrate,
                         "learned_kbps": a["measured_bps"] / 1000,
                         "counterpart_kbps": b["measured_bps"] / 1000,
                         **{f"learned_{c}": a[c] for c in COLUMNS},
                         **{f"counterpart_{c}": b[c] for c in COLUMNS},
                         **{f"delta_{c}": d for c, d in zip(COLUMNS, deltas)},
                         "verdict": verdict(deltas), "n_files": min(a["n_files"], b["n_files"])})
    return rows


def quality_markdown(rows) -> str:
    """The quality table: scores "PESQ-WB / ViSQOL" of both systems, Δ and verdict."""
    labels = " / ".join(METRIC_LABELS[c] for c in COLUMNS)
    lines = [f"| learned | counterpart | kbps | learned {labels} | counterpart {labels} | Δ | "
             "verdict | files |", "|---|---|---:|---|---|---|---|---:|"]
    for row in rows:
        pair = [" / ".join(f"{row[f'{side}_{c}']:.3f}" for c in COLUMNS)
                for side in ("learned", "counterpart")]
        delta = " / ".join(f"{row[f'delta_{c}']:+.3f}" for c in COLUMNS)
        lines.append(f"| {row['learned']} | {row['counterpart']} | {row['bitrate_bps'] / 1000:g} | "
                     f"{pair[0]} | {pair[1]} | {delta} | {row['verdict']} | {row['n_files']} |")
    return "\n".join(lines) + "\n"


def run_quality(out_dir: Path, corpus_dir=None, max_files=None, n_jobs=None, pairs=PAIRS,
                bitrates_bps=BITRATES_BPS, progress=True):
    """Evaluate every system of ``pairs`` on the first ``max_files`` held-out files (results in
    ``out_dir/quality``) and return :func:`quality_rows`."""
    systems = list(dict.fromkeys(name for pair in pairs for name in pair))
    files = corpus_files("heldout", corpus_dir)[:max_files]
    rows, _ = evaluate(files, Path(out_dir) / "quality", list(bitrates_bps), systems, [],
                       list(METRICS), n_jobs=n_jobs, progress=progress)
    return quality_rows(mean_scores(rows, COLUMNS), pairs, bitrates_bps)


def run_quantizer_study(out_dir: Path, corpus_dir=None, max_files=8, n_jobs=None) -> str:
    """Run every part of the study on held-out speakers; write ``out_dir/quantizers.md`` and
    return it."""
    out_dir = Path(out_dir)
    quality = quality_markdown(run_quality(out_dir, corpus_dir, max_files, n_jobs))
    residual = residual_rates.format_rate_table(
        residual_rates.residual_rate_table("heldout", max_files, BITRATES_BPS, corpus_dir))
    e2e = e2e_rates.format_rate_table(e2e_rates.e2e_rate_table("heldout", max_files, corpus_dir))
    latent = latent_vq.format_markdown(latent_vq.sq_vs_vq("heldout", corpus_dir, max_files))
    report = "\n".join([
        "# Learned quantizers against their DSP counterparts (held-out speakers)", "",
        f"## Quality at equal bits ({max_files} held-out files; Δ = learned − counterpart)", "",
        quality, "## Entropy control: target against coded rate", "",
        "### Residual layers of tcx-residual", "", residual, "", "### e2e-ae", "", e2e, "",
        "## PSQ's latent: scalar quantizer against k-means VQ at equal bits", "", latent, ""])
    (out_dir / "quantizers.md").write_text(report)
    return report
