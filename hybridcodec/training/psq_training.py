"""``hybridcodec train psq``: train the projections and latent models of ``spectrum_quantizer:
psq`` in both realizations of PSQ sec. III-A (straight-through, pseudo-quantization noise).

Data: the active frames of the first ``max_files`` clips of the **train** split, run through
``DATA_CONFIG``'s frame encoder at ``DATA_BPS``; the flattened spectrum w and the log2 weights
that its spectrum quantizer receives are recorded, and the weighted band vectors
v = w W (``components.psq.weighting``) cached under the cache folder.

Loop: projections start from the identity (``identity_start``), scales from the data; Adam on
random batches of frames, each frame at a step Δ drawn log-uniformly from ``STEP_RANGE`` (the
steps the rate loop picks at 9.6–32 kbps), loss ``learned.psq.ProjectedScalarQuantizer.loss``;
every ``EVAL_EVERY`` steps the loss of the hard quantizer on **validation** frames at
``VALIDATION_STEPS`` picks the checkpoint exported.  Seeded and single-threaded: the same
command gives the same parameter files (on one machine and torch version).
"""
import math
import time
from typing import Dict

import numpy as np

from ..components.psq import frame_weights
from ..core.config import get_config
from ..core.frame import FrameEncoder
from ..core.pipeline import Pipeline
from ..dsp import mdct
from ..dsp.filters import highpass_50hz
from ..dsp.spectrum_coder import STEPS_PER_OCTAVE
from ..formats.hcb import frame_bytes
from .corpus import cached_training_array, load_clips
from .fit import is_active

DATA_CONFIG = "tcx-mixture"
"""The core whose envelope and weights PSQ replaces the uniform quantizer of."""
DATA_BPS = 16400
N_BANDS = 16
BAND_WIDTH = 20
TRAIN_CLIPS = 300
VALIDATION_CLIPS = 6
SEED = 20261414
STEPS = 3000
BATCH = 256
LEARNING_RATE = 3e-4
EVAL_EVERY = 250
STEP_RANGE = (1.0, 2.0 ** 8)
"""Δ sampled log-uniformly in this range (the rate loop's steps at 9.6–32 kbps)."""
VALIDATION_STEPS = tuple(2.0 ** np.arange(1.0, 8.0))


class _Recorder:
    """Stands in for a frame encoder's spectrum encoder and keeps what it is given."""

    def __init__(self, quantizer):
        self.quantizer = quantizer
        self.rows = []

    def encode(self, coder, w, log2_weights, budget_bits, frame_index, harmonic_lag=0.0):
        w_weights, band_log2 = frame_weights(log2_weights, N_BANDS)
        self.rows.append(np.concatenate((w * w_weights, band_log2)))
        return self.quantizer.encode(coder, w, log2_weights, budget_bits, frame_index,
                                     harmonic_lag)


def weighted_spectra(clips, config: str = DATA_CONFIG, bitrate_bps: int = DATA_BPS) -> np.ndarray:
    """v = w W (n, F) of the active frames of ``clips`` as ``config``'s encoder codes them, each
    row followed by its log2 W̄_b (N_BANDS,) (``components.psq.frame_weights``)."""
    encoder = FrameEncoder(Pipeline(get_config(config)))
    encoder.spectrum_encoder = recorder = _Recorder(encoder.spectrum_encoder)
    for x in clips:
        frames = mdct.analyze(highpass_50hz(x))
        for t in np.flatnonzero(is_active(frames)):
            encoder.encode_frame(frames[t], int(t), frame_bytes(bitrate_bps))
    return np.array(recorder.rows)


def band_vectors(split: str, max_files: int, corpus=None):
    """Weighted band vectors v (n, N_BANDS, BAND_WIDTH) of ``split`` and their band weights
    W̄_b (n, N_BANDS, 1); cached."""
    rows = cached_training_array(f"psq-frames-v2-{DATA_CONFIG}-{DATA_BPS}-{split}-{max_files}",
                                 lambda: weighted_spectra(load_clips(split, corpus, max_files)),
                                 corpus)
    v, band_log2 = np.split(rows, [N_BANDS * BAND_WIDTH], axis=1)
    return v.reshape(-1, N_BANDS, BAND_WIDTH), 2.0 ** band_log2[:, :, None]


def identity_start(v: np.ndarray, band_weight: np.ndarray):
    """The start of training: E_b = D_b = I (latent dimension R = L) and σ the mean |v| / W̄_b.

    The bins of a band are sparse (harmonics): a rotation spreads each latent's error over the
    band.  The KLT start (eigenvectors of the band covariance) scored below the identity on 3
    validation clips at 9.6 / 16.4 kbps (PESQ-WB / ViSQOL 1.79 / 2.61 and 2.58 / 3.07 against
    1.97 / 2.56 and 2.72 / 3.11, fill gain 0.4).
    """
    basis = np.tile(np.eye(BAND_WIDTH), (N_BANDS, 1, 1))
    return basis, np.abs(v / band_weight).mean(axis=0)


def validation_loss(model, v, band_weight, torch) -> float:
    """Mean loss of the codec's quantizer (hard rounding) over VALIDATION_STEPS."""
    with torch.no_grad():
        return float(np.mean([model.loss(v, band_weight, torch.tensor(step), "st").item()
                              for step in VALIDATION_STEPS]))


def train_realization(train, validation, realization: str, steps: int = STEPS,
                      log=print) -> Dict[str, np.ndarray]:
    """Train one realization from :func:`identity_start` on the (band vectors v, band weights
    W̄_b) of ``train`` (``band_vectors``); return the exported arrays of the checkpoint with
    the lowest :func:`validation_loss` on ``validation`` (the start if ``steps`` <
    EVAL_EVERY)."""
    import torch

    from ..learned.psq import ProjectedScalarQuantizer

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    rng = np.random.default_rng(SEED)
    model = ProjectedScalarQuantizer(*identity_start(*train))
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    data, weights = (torch.as_tensor(a, dtype=torch.float32) for a in train)
    held = [torch.as_tensor(a, dtype=torch.float32) for a in validation]
    log(f"{realization} start: validation {validation_loss(model, *held, torch):.5f}")
    best = (np.inf, 0, None)
    log_lo, log_hi = (math.log(s) for s in STEP_RANGE)
    for step in range(1, steps + 1):
        rows = torch.as_tensor(rng.integers(0, data.shape[0], BATCH))
        delta = torch.as_tensor(np.exp(rng.uniform(log_lo, log_hi, (BATCH, 1, 1))),
                                dtype=torch.float32)
        loss = model.loss(data[rows], weights[rows], delta, realization)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % EVAL_EVERY == 0:
            score = validation_loss(model, *held, torch)
            log(f"{realization} step {step}: loss {loss.item():.4f}, validation {score:.5f}")
            if score < best[0]:
                best = (score, step, model.export(STEPS_PER_OCTAVE))
    log(f"{realization}: best validation loss {best[0]:.5f} at step {best[1]}")
    return best[2] or model.export(STEPS_PER_OCTAVE)


def train_psq(corpus=None, max_files: int = TRAIN_CLIPS, steps: int = STEPS,
              log=print) -> Dict[str, Dict[str, np.ndarray]]:
    """Arrays of both realizations, {"st": ..., "noise": ...} (module docstring)."""
    start = time.monotonic()
    train = band_vectors("train", max_files, corpus)
    validation = band_vectors("validation", VALIDATION_CLIPS, corpus)
    log(f"{train[0].shape[0]} training frames; data {time.monotonic() - start:.0f} s")
    return {realization: train_realization(train, validation, realization, steps, log)
            for realization in ("st", "noise")}
