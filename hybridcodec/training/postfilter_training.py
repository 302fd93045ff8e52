"""``hybridcodec train postfilter``: train the ``lace`` post-filter on the codec's own output.

Data: clips of the **train** split, each encoded with ``TRAINING_CONFIG`` at
``BITRATE_GROUPS[i % 2]`` (so 6-32 kbps are all covered) and decoded with post-filter ``none``;
the decoded signal is aligned with the clip (same sample indices), and the features (N1) of
``hybridcodec.components.lace`` are recorded from the very blocks, envelopes and rate-loop
reports that the decoder hands its post-filter.  The decoded data are cached under the cache
folder, keyed by the configuration, the clips and rates, the format version and a digest of the
feature code (``example_key``).

Loop: Adam on random ``SEGMENT_SUBFRAMES``-sub-frame segments, loss (T1) + LEVEL_WEIGHT (T2) of
``learned.postfilter_net``; every ``EVAL_EVERY`` steps the model post-filters a few
**validation** clips at 9.6, 13.2 and 24.4 kbps and is scored by mean PESQ-WB + mean ViSQOL;
the best checkpoint is exported.  The validation clips are taken from each validation voice in
turn: the first few in mixed order were mostly one voice, and a checkpoint chosen on them lost
ViSQOL on held-out speakers.  Seeded: the same command gives the same weights (on one
machine and torch version).

Data tried and not kept, each trained 1600 steps and scored as above every 200 (mean over 9.6 /
13.2 / 24.4 kbps of PESQ-WB + ViSQOL, best checkpoint; these data and features: 7.161, none
6.900): 16 more features, the log power of the decoded signal in 16 bands of 500 Hz over the
160 samples up to each sub-frame's end, 7.176 (ViSQOL +0.018 / +0.014 / +0.011, PESQ-WB
within 0.005), and with the spectral flatness of 8 bands besides 7.170 — too little for a
slower decoder; every clip twice, the second time with its band above 3 kHz raised by G
uniform in −6 … 12 dB at the same power (a brighter or duller microphone), 7.151, and on the
12 validation clips raised by 12 dB 6.446 against 6.436 (none 6.248).  At format 9, four times
the clips (640, 1920 examples, 2.8 h decoded) scored 7.361 against 7.391 with these 160 (none
7.100): the data's size is not what limits lace.  Nor does an average of the weights help: an
exponential moving average (decay 0.995) of the 160-clip run, its best checkpoint chosen on the
first 12 of 24 voice-balanced validation clips, scored 7.517 on the other 12 (PESQ-WB 3.650,
ViSQOL 3.867) against 7.524 for the checkpoint as it is (none 7.223).
"""
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ..api import encode, read_frames
from ..components.lace import LaceFeatures
from ..core.codec import Decoder
from ..core.config import get_config
from ..dsp.postfilter import SUBFRAME
from ..formats.hcb import FORMAT_VERSION
from ..table_cache import default_cache_dir, source_digest
from ..tools.metrics import pesq_wb, visqol
from .corpus import SAMPLE_RATE_HZ, load_clips

TRAINING_CONFIG = "tcx-mixture-pitch"
"""The core whose decoded output lace learns to improve, the default's: the configuration
``tcx-lace`` uses it (a name, not the alias ``default``, so the data and the
weights stay those of one core when the default changes)."""

SEED = 20261313
BITRATE_GROUPS = ((6000, 13200, 24400), (9600, 16400, 32000))
VALIDATION_BPS = (9600, 13200, 24400)
TRAIN_CLIPS = 160
VALIDATION_CLIPS = 12         # 2 of each of the 6 validation voices
SEGMENT_SUBFRAMES = 100
BATCH = 12
STEPS = 3600
"""The validation score rises to about step 1500 and then wanders within ±0.02 (PESQ-WB +
ViSQOL on the 12 clips); the longer run meets a better checkpoint.  On 24 voice-balanced
validation clips, PESQ-WB / ViSQOL of the exported checkpoint at 9.6 / 13.2 / 16.4 / 24.4
kbps: 1200 steps (best at 1000) 2.873 / 3.216, 3.275 / 3.494, 3.532 / 3.677, 3.957 / 3.961;
3600 steps (best at 3000) 2.925 / 3.210, 3.333 / 3.484, 3.585 / 3.668, 3.985 / 3.959 (sum of
both over the rates 28.148 against 27.986); 3600 steps with a cosine decay of the learning
rate 28.091."""
EVAL_EVERY = 200
LEARNING_RATE = 3e-3
INPUT_HISTORY = 4 * SUBFRAME      # >= dsp.lace.COMB_HISTORY
FEATURE_SOURCES = ("hybridcodec.components.lace", "hybridcodec.components.postfilter",
                   "hybridcodec.dsp.lace", "hybridcodec.dsp.pitch", "hybridcodec.dsp.postfilter")
"""The modules that compute the features (N1) and lags of an example."""


class _Recorder:
    """Stands in the decoder's post-filter place: records blocks and features, changes nothing."""

    def __init__(self, bitrate_bps: int):
        self.features = LaceFeatures(bitrate_bps)
        self.blocks: List[np.ndarray] = []
        self.rows: List[np.ndarray] = []
        self.lags: List[np.ndarray] = []

    def push(self, samples, envelope, coded_lag=0, choice=None):
        features, lags = self.features.push(samples, envelope, choice)
        self.blocks.append(samples)
        self.rows.append(features)
        self.lags.append(lags)
        return samples


def decoded_example(clip: np.ndarray, bitrate_bps: int, config: str = TRAINING_CONFIG) -> Dict:
    """The clip coded at ``bitrate_bps`` and decoded without post-filter, with its features,
    cut to whole sub-frames: {'clean', 'decoded' (S L,), 'features' (S, F), 'lags' (S,)}."""
    header, frames = read_frames(encode(clip, SAMPLE_RATE_HZ, bitrate_bps, config))
    decoder = Decoder(header, keep_reports=False, postfilter="none")
    recorder = decoder.postfilter = _Recorder(bitrate_bps)
    decoder.push(frames)
    decoder.finish()
    steps = min(clip.size, sum(b.size for b in recorder.blocks)) // SUBFRAME
    return {"clean": clip[:steps * SUBFRAME],
            "decoded": np.concatenate(recorder.blocks)[:steps * SUBFRAME],
            "features": np.concatenate(recorder.rows)[:steps],
            "lags": np.concatenate(recorder.lags)[:steps]}


def example_key() -> str:
    """What cached examples depend on besides the configuration and the clips: the format
    version (the decoded signal) and the source of the features (N1), so that a change of how
    a feature is computed cannot reuse the examples of another, as a key of the feature count
    alone did."""
    return f"format{FORMAT_VERSION}-features{source_digest(FEATURE_SOURCES)}"


def examples(split: str, max_files: int, bitrate_groups, corpus=None,
             cache_dir: Optional[Path] = None, voice_balanced: bool = False) -> List[Dict]:
    """``decoded_example`` of the first ``max_files`` clips of ``split`` (voices in turn when
    ``voice_balanced``), clip i at every rate of ``bitrate_groups[i % len(bitrate_groups)]``;
    cached as one .npz per (split, settings)."""
    rates = "-".join("_".join(map(str, group)) for group in bitrate_groups)
    order = "-balanced" if voice_balanced else ""
    path = (Path(cache_dir or default_cache_dir())
            / f"lace-examples-{TRAINING_CONFIG}-{get_config(TRAINING_CONFIG).digest()}-{split}-"
              f"{max_files}{order}-{rates}-{example_key()}.npz")
    if path.exists():
        with np.load(path) as data:
            ends = np.cumsum(data["steps"])[:-1]
            columns = {key: np.split(data[key], ends * (SUBFRAME if key in ("clean", "decoded")
                                                        else 1))
                       for key in ("clean", "decoded", "features", "lags")}
        return [dict(zip(columns, row)) for row in zip(*columns.values())]
    out = []
    for i, clip in enumerate(load_clips(split, corpus, max_files, voice_balanced=voice_balanced)):
        out.extend(decoded_example(clip, rate) for rate in bitrate_groups[i % len(bitrate_groups)])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, steps=[e["lags"].size for e in out],
             **{key: np.concatenate([e[key] for e in out])
                for key in ("clean", "decoded", "features", "lags")})
    return out


def _batch(train, rng, torch):
    """BATCH random segments: features and lags of the SEGMENT_SUBFRAMES sub-frames and the one
    before, decoded input with INPUT_HISTORY samples of history, clean target."""
    rows = []
    for _ in range(BATCH):
        e = train[rng.integers(len(train))]
        s0 = int(rng.integers(1, e["lags"].size - SEGMENT_SUBFRAMES + 1))
        start, end = s0 * SUBFRAME, (s0 + SEGMENT_SUBFRAMES) * SUBFRAME
        x = np.concatenate((np.zeros(max(0, INPUT_HISTORY - start)),
                            e["decoded"][max(0, start - INPUT_HISTORY):end]))
        rows.append((e["features"][s0 - 1:s0 + SEGMENT_SUBFRAMES],
                     e["lags"][s0 - 1:s0 + SEGMENT_SUBFRAMES], x, e["clean"][start:end]))
    return [torch.as_tensor(np.stack(column)) if column[0].dtype.kind == "i"
            else torch.as_tensor(np.stack(column), dtype=torch.float32) for column in zip(*rows)]


def _score(net, validation, torch, postfilter_signal) -> tuple:
    """(mean PESQ-WB + mean ViSQOL, PESQ-WB, ViSQOL) of the post-filtered validation examples
    (net None: unfiltered)."""
    pesq, quality = [], []
    for e in validation:
        y = e["decoded"]
        if net is not None:
            with torch.no_grad():
                features, decoded = (torch.as_tensor(e[key][None], dtype=torch.float32)
                                     for key in ("features", "decoded"))
                y = postfilter_signal(net, features, torch.as_tensor(e["lags"][None]),
                                      decoded)[0].double().numpy()
        pesq.append(pesq_wb(e["clean"], y))
        quality.append(visqol(e["clean"], y, SAMPLE_RATE_HZ))
    pesq, quality = float(np.nanmean(pesq)), float(np.mean(quality))
    return pesq + quality, pesq, quality


def train_postfilter(corpus=None, max_files: int = TRAIN_CLIPS, steps: int = STEPS,
                     log=print) -> Dict[str, np.ndarray]:
    """Train and return the exported float64 arrays of the best checkpoint (module docstring)."""
    import torch

    from ..learned.postfilter_net import LaceNet, lace_filters, postfilter_signal, spectral_loss

    torch.manual_seed(SEED)
    torch.set_num_threads(1)     # small tensors: one thread is faster, and the same on any machine
    rng = np.random.default_rng(SEED)
    start = time.monotonic()
    train = examples("train", max_files, BITRATE_GROUPS, corpus)
    validation = examples("validation", VALIDATION_CLIPS, (VALIDATION_BPS,), corpus,
                          voice_balanced=True)
    features = np.concatenate([e["features"] for e in train])
    log(f"{len(train)} training examples, {features.shape[0] * SUBFRAME / SAMPLE_RATE_HZ:.0f} s; "
        f"data {time.monotonic() - start:.0f} s")
    net = LaceNet(features.mean(axis=0), features.std(axis=0) + 1e-3)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    best = _score(None, validation, torch, postfilter_signal)
    log(f"none: PESQ-WB {best[1]:.3f} ViSQOL {best[2]:.3f}")
    best_arrays = net.export()
    for step in range(1, steps + 1):
        feats, lags, x, clean = _batch(train, rng, torch)
        comb, kernels = net(feats)
        enhanced = lace_filters(x, lags, comb, kernels)
        loss = spectral_loss(clean[:, SUBFRAME:], enhanced[:, SUBFRAME:])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        if step % EVAL_EVERY == 0:
            score = _score(net, validation, torch, postfilter_signal)
            log(f"step {step}: loss {loss.item():.4f} PESQ-WB {score[1]:.3f} ViSQOL {score[2]:.3f}"
                f" ({time.monotonic() - start:.0f} s)")
            if score[0] > best[0]:
                best, best_arrays = score, net.export()
    log(f"best: PESQ-WB {best[1]:.3f} ViSQOL {best[2]:.3f}")
    return best_arrays
