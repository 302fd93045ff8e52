"""Scalar against vector quantization of the PSQ latent at equal bits (PSQ paper sec. III-B1:
the claim that projected SQ does as well as a VQ).

For the active frames of a split (the weighted band vectors v of ``training.psq_training``),
each band's latent z_b = E_b v_b (the shipped ``psq-<realization>`` projection) is coded

* (a) SQ: q = floor(z / Δ + 1/2) (PSQ eq. 6) at the step Δ that the rate loop of
  ``tcx-psq-<realization>`` picks at a bitrate (the median over the frames of the clips); the
  bits are the ideal code lengths of q under the codec's integer tables (entropy-coded);
* (b) VQ: a split k-means VQ of the same latents divided by their band weight W̄_b (which the
  decoder has, as the SQ's models use it), scikit-learn ``KMeans`` trained on latents of the
  **train** split; fixed-rate (an index of log2(codebook size) bits per sub-vector, not
  entropy-coded).  Band b's SQ bits per frame (mean over the frames) are spent on
  ceil(bits / ``max_codebook_bits``) sub-vectors of consecutive dimensions, so the VQ spends
  the SQ's bits band by band, up to rounding (the table shows both).

Both decode through the same back-projection v̂_b = D_b ẑ_b; the distortion is the weighted SNR
of w, 10 log10(Σ v² / Σ (v − v̂)²), pooled over all frames and as the mean of the frames' SNRs
(v = w W, the domain the codec's noise is shaped in).  The pooled figure is dominated by the
loud low bands of the frames where the variable-rate SQ spends most; the per-frame mean is the
fairer comparison with a fixed-rate VQ.
"""
from typing import Dict, List, Sequence

import numpy as np

from hybridcodec.dsp import projected_quantizer as pq
from hybridcodec.dsp.spectrum_coder import STEPS_PER_OCTAVE, estimated_bits

from ..api import encode_with_reports
from ..components.psq import ProjectedScalarQuantizer
from ..training.corpus import SAMPLE_RATE_HZ, load_clips, require_frames
from ..training.psq_training import TRAIN_CLIPS, band_vectors

BITRATES_BPS = (9600, 16400, 24400)
MAX_CODEBOOK_BITS = 8
TRAIN_VECTORS = 8192
"""Training latents per codebook (a random subset of the train split's: 32 per centroid)."""
SEED = 14


def rate_loop_step_index(clips, realization: str, bitrate_bps: int) -> int:
    """Median step index the rate loop of ``tcx-psq-<realization>`` picks over the coded frames."""
    indices = [report.target_index for x in clips
               for report in encode_with_reports(x, SAMPLE_RATE_HZ, bitrate_bps,
                                                 f"tcx-psq-{realization}")[1]
               if report.coded_bins]
    return int(np.median(indices))


def sq_code(z: np.ndarray, band_weight: np.ndarray, index: int,
            quantizer: ProjectedScalarQuantizer):
    """ẑ (n, B, R) at step index ``index`` and the ideal bits (n, B) of each band, each frame
    with its Laplacians σ_d W̄_b (``components.psq``)."""
    tables = quantizer.tables
    n_frames, n_bands, rank = z.shape
    shift = np.round(STEPS_PER_OCTAVE * np.log2(band_weight)).astype(np.int64)
    bits = np.zeros((n_frames, n_bands))
    z_hat = np.zeros(z.shape)
    for n in range(n_frames):
        scale = quantizer.parameters["scale_eighths"] + np.repeat(shift[n, :, 0], rank)
        table, q = pq.quantize_latents(index, z[n].reshape(-1), scale, quantizer.rounding_offset)
        z_hat[n] = (q * pq.step_size(index)).reshape(n_bands, rank)
        for b in range(n_bands):
            band = slice(b * rank, (b + 1) * rank)
            bits[n, b] = estimated_bits(table[band], q[band], tables.bits, tables.length,
                                        tables.offset)
    return z_hat, bits


def vq_code(z: np.ndarray, z_train: np.ndarray, band_bits: float, max_bits: int,
            rng: np.random.Generator):
    """ẑ (n, R) of one band's latents (in units of W̄_b) by a split k-means VQ spending about
    ``band_bits`` per frame: k = ceil(bits / max_bits) sub-vectors of consecutive dimensions,
    round(bits / k) bits each; returns ẑ and the bits spent per frame."""
    from sklearn.cluster import KMeans

    z_hat = np.zeros(z.shape)
    n_split = max(1, int(np.ceil(band_bits / max_bits)))
    bits = min(int(round(band_bits / n_split)), max_bits)
    if bits == 0:
        return z_hat, 0
    require_frames(z_train.shape[0], 2 ** bits, f"k-means of {2 ** bits} codewords")
    for group in np.array_split(np.arange(z.shape[1]), n_split):
        sample = z_train[rng.choice(z_train.shape[0], min(TRAIN_VECTORS, z_train.shape[0]),
                                    replace=False)][:, group]
        kmeans = KMeans(2 ** bits, n_init=1, max_iter=10, random_state=SEED).fit(sample)
        z_hat[:, group] = kmeans.cluster_centers_[kmeans.predict(z[:, group])]
    return z_hat, bits * n_split


def weighted_snr_db(v: np.ndarray, v_hat: np.ndarray) -> tuple:
    """Weighted SNR in dB over all frames, and the mean over frames of each frame's."""
    signal, noise = np.sum(v ** 2, axis=(1, 2)), np.sum((v - v_hat) ** 2, axis=(1, 2))
    return (float(10.0 * np.log10(signal.sum() / noise.sum())),
            float(np.mean(10.0 * np.log10(signal / noise))))


def _back_project(z_hat: np.ndarray, decoder: np.ndarray) -> np.ndarray:
    return np.einsum("nbr,blr->nbl", z_hat.reshape(z_hat.shape[0], decoder.shape[0], -1),
                     decoder)


def sq_vs_vq(split: str = "heldout", corpus_dir=None, max_files: int = 8,
             realizations: Sequence[str] = ("st",),
             bitrates_bps: Sequence[int] = BITRATES_BPS,
             max_codebook_bits: int = MAX_CODEBOOK_BITS) -> List[Dict]:
    """One row per (realization, bitrate): step index, SQ and VQ bits per frame and weighted
    SNR in dB (module docstring)."""
    clips = load_clips(split, corpus_dir, max_files)
    v, band_weight = band_vectors(split, max_files, corpus_dir)
    v_train, train_weight = band_vectors("train", TRAIN_CLIPS, corpus_dir)
    rows = []
    for realization in realizations:
        quantizer = ProjectedScalarQuantizer(realization)
        encoder, decoder = (quantizer.parameters[k] for k in ("encoder", "decoder"))
        z = np.einsum("nbl,brl->nbr", v, encoder)
        z_train = np.einsum("nbl,brl->nbr", v_train, encoder) / train_weight
        for bitrate in bitrates_bps:
            index = rate_loop_step_index(clips, realization, bitrate)
            sq_hat, bits = sq_code(z, band_weight, index, quantizer)
            bits = bits.mean(axis=0)
            rng = np.random.default_rng(SEED)
            vq_hat, vq_bits = np.zeros(z.shape), 0
            for b in range(z.shape[1]):
                vq_hat[:, b], spent = vq_code(z[:, b] / band_weight[:, b], z_train[:, b],
                                              bits[b], max_codebook_bits, rng)
                vq_hat[:, b] *= band_weight[:, b]
                vq_bits += spent
            sq_snr = weighted_snr_db(v, _back_project(sq_hat, decoder))
            vq_snr = weighted_snr_db(v, _back_project(vq_hat, decoder))
            rows.append({"realization": realization, "bitrate_bps": bitrate,
                         "step_index": index, "step": pq.step_size(index),
                         "sq_bits": float(bits.sum()), "vq_bits": float(vq_bits),
                         "sq_snr_db": sq_snr[0], "sq_frame_snr_db": sq_snr[1],
                         "vq_snr_db": vq_snr[0], "vq_frame_snr_db": vq_snr[1],
                         "frames": int(v.shape[0])})
    return rows


def format_markdown(rows: List[Dict]) -> str:
    """The rows of :func:`sq_vs_vq` as a markdown table."""
    lines = ["| PSQ | kbps | Δ | SQ bits/frame | SQ SNR dB (all / per frame) | VQ bits/frame "
             "| VQ SNR dB (all / per frame) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['realization']} | {r['bitrate_bps'] / 1000:.1f} | {r['step']:.2f} | "
                     f"{r['sq_bits']:.0f} | {r['sq_snr_db']:.2f} / {r['sq_frame_snr_db']:.2f} | "
                     f"{r['vq_bits']:.0f} | {r['vq_snr_db']:.2f} / {r['vq_frame_snr_db']:.2f} |")
    frames = rows[0]["frames"] if rows else 0
    return "\n".join(lines) + (
        f"\n\n{frames} frames, one step Δ for all (the median the rate loop picks at the "
        "bitrate); SQ entropy-coded (ideal code lengths of the codec's tables, so its bits go "
        "where the frame needs them), VQ fixed-rate split k-means (the same bits in every "
        "frame); weighted SNR pooled over all frames, and the mean of the frames' SNRs.\n")
