"""``hybridcodec train psq``: train the projections and latent models of ``spectrum_quantizer:
psq`` in both realizations of PSQ sec. III-A (straight-through, pseudo-quantization noise).

Data: the active frames of the first ``max_files`` clips of the **train** split, run through
``DATA_CONFIG``'s frame encoder at ``DATA_BPS``; the flattened spectrum w and the log2 weights
that its spectrum quantizer receives are recorded, and the weighted band vectors
v = w W (``components.psq.weighting``) cached under the cache folder.

Loop: projections initialized from the KLT of each band (eigenvectors of the band covariance),
scales from the KLT latents; Adam on random batches of frames, each frame at a step Δ drawn
log-uniformly from ``STEP_RANGE`` (the steps the rate loop picks at 9.6–32 kbps), loss
``learned.psq.ProjectedScalarQuantizer.loss``.  Seeded and single-threaded: the same command
gives the same parameter files (on one machine and torch version).
"""
import math
import time
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from ..components.psq import weighting
from ..core.config import get_config
from ..core.frame import FrameEncoder
from ..core.pipeline import Pipeline
from ..dsp import mdct
from ..dsp.filters import highpass_50hz
from ..dsp.spectrum_coder import STEPS_PER_OCTAVE
from ..formats.hcb import frame_bytes
from ..table_cache import default_cache_dir
from .corpus import load_clips
from .fit import is_active

DATA_CONFIG = "tcx-mixture"
"""The core whose envelope and weights PSQ replaces the uniform quantizer of."""
DATA_BPS = 16400
N_BANDS = 16
BAND_WIDTH = 20
RANK = 20
"""Latent dimension per band (≤ BAND_WIDTH)."""
TRAIN_CLIPS = 300
SEED = 20261414
STEPS = 3000
BATCH = 256
LEARNING_RATE = 1e-3
STEP_RANGE = (1.0, 2.0 ** 8)
"""Δ sampled log-uniformly in this range (the rate loop's steps at 9.6–32 kbps)."""


class _Recorder:
    """Stands in for the pipeline's spectrum quantizer and keeps what it is given."""

    def __init__(self, quantizer):
        self.quantizer = quantizer
        self.rows = []

    def encode(self, coder, w, log2_weights, budget_bits, frame_index, harmonic_lag=0.0):
        self.rows.append(w * weighting(log2_weights))
        return self.quantizer.encode(coder, w, log2_weights, budget_bits, frame_index,
                                     harmonic_lag)


def weighted_spectra(clips, config: str = DATA_CONFIG, bitrate_bps: int = DATA_BPS) -> np.ndarray:
    """v = w W (n, F) of the active frames of ``clips`` as ``config``'s encoder codes them."""
    pipeline = Pipeline(get_config(config))
    pipeline.spectrum_quantizer = recorder = _Recorder(pipeline.spectrum_quantizer)
    encoder = FrameEncoder(pipeline)
    for x in clips:
        frames = mdct.analyze(highpass_50hz(x))
        for t in np.flatnonzero(is_active(frames)):
            encoder.encode_frame(frames[t], int(t), frame_bytes(bitrate_bps))
    return np.array(recorder.rows)


def band_vectors(split: str, max_files: int, corpus=None,
                 cache_dir: Optional[Path] = None) -> np.ndarray:
    """Weighted band vectors (n, N_BANDS, BAND_WIDTH) of ``split``, cached as .npz."""
    path = (Path(cache_dir or default_cache_dir())
            / f"psq-frames-{DATA_CONFIG}-{DATA_BPS}-{split}-{max_files}.npz")
    if not path.exists():
        v = weighted_spectra(load_clips(split, corpus, max_files))
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, v=v)
    with np.load(path) as data:
        return data["v"].reshape(-1, N_BANDS, BAND_WIDTH)


def klt(v: np.ndarray):
    """Per band the RANK leading eigenvectors (B, L, R) of the band covariance, and the mean
    |z| of the projections on them (B, R)."""
    covariance = np.einsum("nbl,nbk->blk", v, v) / v.shape[0]
    values, vectors = np.linalg.eigh(covariance)
    basis = np.ascontiguousarray(vectors[:, :, ::-1][:, :, :RANK])
    scale = np.abs(np.einsum("nbl,blr->nbr", v, basis)).mean(axis=0)
    return basis, scale


def train_realization(v: np.ndarray, realization: str, steps: int = STEPS,
                      log=print) -> Dict[str, np.ndarray]:
    """Train one realization from the KLT start and return its exported arrays."""
    import torch

    from ..learned.psq import ProjectedScalarQuantizer

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    rng = np.random.default_rng(SEED)
    model = ProjectedScalarQuantizer(*klt(v))
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    data = torch.as_tensor(v, dtype=torch.float32)
    log_lo, log_hi = (math.log(s) for s in STEP_RANGE)
    for step in range(1, steps + 1):
        rows = torch.as_tensor(rng.integers(0, v.shape[0], BATCH))
        delta = torch.as_tensor(np.exp(rng.uniform(log_lo, log_hi, (BATCH, 1, 1))),
                                dtype=torch.float32)
        loss = model.loss(data[rows], delta, realization)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 500 == 0:
            log(f"{realization} step {step}: loss {loss.item():.4f}")
    return model.export(STEPS_PER_OCTAVE)


def train_psq(corpus=None, max_files: int = TRAIN_CLIPS, steps: int = STEPS,
              log=print) -> Dict[str, Dict[str, np.ndarray]]:
    """Arrays of both realizations, {"st": ..., "noise": ...} (module docstring)."""
    start = time.monotonic()
    v = band_vectors("train", max_files, corpus)
    log(f"{v.shape[0]} training frames; data {time.monotonic() - start:.0f} s")
    return {realization: train_realization(v, realization, steps, log)
            for realization in ("st", "noise")}
