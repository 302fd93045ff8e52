"""``hybridcodec train residual``: train the residual layers (``cmrl``) on the core's residuals.

Data: clips of the **train** split coded by the core (``ResidualLayers().core``) at the base
rates of the layered configuration at 9.6 / 16.4 / 24.4 kbps (``BASE_BPS``); for every frame the
encoder's own decode of its base payload gives the normalized residual r of
``dsp.residual_ae`` (R1), exactly as the layered encoder forms it.  Cached under the cache folder.

Loop (CMRL sec. 3.3: greedy, then fine-tuning together):

1. for each layer in turn, on the residual the layers below leave (in hard quantization):
   ``PRETRAIN_STEPS`` without quantization (Kankanahalli's stage 1), centers set to quantiles of
   the latents (for k-means), then ``LAYER_STEPS`` with (Q1), loss MSE + λ H and the entropy
   control steering the hard symbols' H of (Q2) to ``TARGET_BITS`` ± ``TOLERANCE_BITS``;
2. ``JOINT_STEPS`` on all layers at once: Σ_i MSE after layer i + Σ_i λ_i H_i (every prefix of
   layers is a decodable stream, so each one's error counts).

Export: per-latent tables from the hard symbols' counts on the training residuals (+½ each), and
the latents of each layer ordered by how much the validation MSE grows when that latent alone
takes its most probable symbol (the encoder's fitting rule replaces the last ones first).
Seeded, one thread, fixed data order: the same command gives the same file.
"""
import time
from typing import Dict, List

import numpy as np

from ..components.residual import ResidualLayers
from ..core.codec import Encoder, normalized_residual
from ..core.config import get_config
from ..core.frame import FrameDecoder, FrameEncoder
from ..formats.hcb import FORMAT_VERSION
from .corpus import cached_training_array, load_clips

SEED = 20261414
BASE_BPS = (6400, 10000, 18000)
TRAIN_CLIPS = 120
VALIDATION_CLIPS = 6
N_LAYERS = 2
TARGET_BITS = 60.0
"""Entropy target of a layer per frame (hard symbols): its 64 bits less about the coder's flush;
the frames that would still overrun are fitted by the encoder (``components.residual``)."""
TOLERANCE_BITS = 1.0
ENTROPY_STEP = 2e-5
BATCH = 256
PRETRAIN_STEPS = 400
LAYER_STEPS = 1600
JOINT_STEPS = 1200
LEARNING_RATE = 1e-3
JOINT_LEARNING_RATE = 3e-4
CACHE_VERSION = "residual-v1"


class _RecordingFrameEncoder(FrameEncoder):
    """The core's frame encoder that also keeps each frame's normalized residual (R1)."""

    def __init__(self, pipeline):
        super().__init__(pipeline)
        self.decoder = FrameDecoder(pipeline)
        self.rows: List[np.ndarray] = []

    def encode_payload(self, spectrum, frame_index, budget_bytes, pitch=None):
        payload = super().encode_payload(spectrum, frame_index, budget_bytes, pitch)
        r = normalized_residual(self.decoder, spectrum, payload, frame_index)
        if r is not None:
            self.rows.append(r.astype(np.float32))
        return payload


def clip_residuals(clip: np.ndarray, base_bps: int) -> np.ndarray:
    """Normalized residuals (frames, F) of the core coding ``clip`` at ``base_bps``."""
    encoder = Encoder(base_bps, ResidualLayers().core, keep_reports=False)
    recorder = encoder.frame_encoder = _RecordingFrameEncoder(encoder.pipeline)
    header = encoder.header(clip.shape[0])
    encoder.push(clip)
    encoder.finish(header)
    return np.stack(recorder.rows)


def residual_examples(split: str, max_files: int, corpus=None) -> np.ndarray:
    """Residuals of ``max_files`` clips of ``split`` at every base rate (cached), float32."""
    def build():
        clips = load_clips(split, corpus, max_files=max_files)
        return np.concatenate([clip_residuals(c, bps) for bps in BASE_BPS for c in clips])

    core = get_config(ResidualLayers().core).digest()   # a changed core makes other residuals,
    name = (f"{CACHE_VERSION}/{core}-format{FORMAT_VERSION}-"  # and so does a changed encoder
            f"{split}-{max_files}-{'-'.join(map(str, BASE_BPS))}")
    return cached_training_array(name, build, corpus)


def train_residual(corpus=None, max_files: int = TRAIN_CLIPS, steps_scale: float = 1.0,
                   log=print) -> Dict[str, np.ndarray]:
    """Train and return the exported float64 arrays (module docstring)."""
    import torch

    from ..learned.residual_ae import EntropyControl, ResidualAE

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    rng = np.random.default_rng(SEED)
    start = time.monotonic()
    train = torch.as_tensor(residual_examples("train", max_files, corpus))
    validation = torch.as_tensor(residual_examples("validation", VALIDATION_CLIPS, corpus))
    log(f"{train.shape[0]} training frames, {validation.shape[0]} validation frames; data "
        f"{time.monotonic() - start:.0f} s")
    nets: List[ResidualAE] = []
    controls: List[EntropyControl] = []
    for i in range(N_LAYERS):
        net, control = ResidualAE(n_bins=train.shape[1]), EntropyControl(
            TARGET_BITS, TOLERANCE_BITS, ENTROPY_STEP)
        target = _residual_after(nets, train)
        _pretrain(net, target, rng, int(PRETRAIN_STEPS * steps_scale), torch)
        nets.append(net)
        controls.append(control)
        _train(nets[i:], controls[i:], target, rng, int(LAYER_STEPS * steps_scale), torch, log,
               f"layer {i + 1}")
    _train(nets, controls, train, rng, int(JOINT_STEPS * steps_scale), torch, log, "joint",
           JOINT_LEARNING_RATE)
    _report(nets, validation, torch, log)
    log(f"{time.monotonic() - start:.0f} s")
    return export(nets, train, validation)


def _residual_after(nets, r):
    """What the layers ``nets`` (hard quantization) leave of ``r``."""
    import torch

    with torch.no_grad():
        for net in nets:
            r = r - net(r)[0]
    return r


def _pretrain(net, r, rng, steps, torch) -> None:
    """Stage 1 without quantization, then the centers at quantiles of the latents."""
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    net.quantize = False
    for _ in range(steps):
        batch = r[rng.integers(r.shape[0], size=BATCH)]
        loss = torch.mean((net(batch)[0] - batch) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.quantize = True
    with torch.no_grad():
        z = net.latents(r[rng.integers(r.shape[0], size=8 * BATCH)]).flatten()
        levels = net.centers.shape[0]
        net.centers.copy_(torch.quantile(z, (torch.arange(levels) + 0.5) / levels))


def _train(nets, controls, r, rng, steps, torch, log, what: str,
           learning_rate: float = LEARNING_RATE) -> None:
    """Adam on Σ_i MSE after layer i + Σ_i λ_i H_i, with the entropy control of each layer."""
    from ..learned.residual_ae import entropy_bits, hard_entropy_bits

    optimizer = torch.optim.Adam([p for n in nets for p in n.parameters()], lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, steps))
    for step in range(1, steps + 1):
        residual = r[rng.integers(r.shape[0], size=BATCH)]
        loss, entropies = 0.0, []
        for net, control in zip(nets, controls):
            y, a = net(residual)
            residual = residual - y
            entropies.append(hard_entropy_bits(a))
            loss = loss + torch.mean(residual ** 2) + control.weight * entropy_bits(a)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        for control, entropy in zip(controls, entropies):
            control.update(entropy)
        if step % 400 == 0 or step == steps:
            log(f"{what} step {step}: loss {float(loss.detach()):.4f} H "
                + " ".join(f"{h:.1f}" for h in entropies) + " λ "
                + " ".join(f"{c.weight:.2e}" for c in controls))


def _report(nets, r, torch, log) -> None:
    """Validation MSE after each layer (hard quantization)."""
    with torch.no_grad():
        mse = [float(torch.mean(r ** 2))]
        for net in nets:
            r = r - net(r)[0]
            mse.append(float(torch.mean(r ** 2)))
    log("validation MSE after 0, 1, … layers: " + " ".join(f"{m:.4f}" for m in mse))


def export(nets, train, validation) -> Dict[str, np.ndarray]:
    """Arrays of ``residual-<digest>.npz``: ``n_layers`` and ``layer<i>_<name>``."""
    import torch

    arrays = {"n_layers": np.array(len(nets))}
    with torch.no_grad():
        for i, net in enumerate(nets):
            symbols = net.symbols(train).numpy()
            levels = net.centers.shape[0]
            counts = np.stack([np.bincount(s, minlength=levels) for s in symbols.T]) + 0.5
            pmf = counts / counts.sum(axis=1, keepdims=True)
            order = _importance_order(net, validation, np.argmax(pmf, axis=1), torch)
            arrays.update({f"layer{i}_{k}": v for k, v in net.export(pmf, order).items()})
            train, validation = train - net(train)[0], validation - net(validation)[0]
    return arrays


def _importance_order(net, r, most_probable, torch) -> np.ndarray:
    """Latents by decreasing MSE growth when each alone takes its most probable symbol."""
    symbols = net.symbols(r)
    growth = []
    for j in range(symbols.shape[1]):
        replaced = symbols.clone()
        replaced[:, j] = int(most_probable[j])
        y = net.decode(net.centers[replaced])
        growth.append(float(torch.mean((r - y) ** 2)))
    return np.argsort(-np.array(growth), kind="stable")
