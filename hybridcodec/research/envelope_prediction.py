"""The envelope's inter-frame prediction (E2 of ``dsp.envelope``): the bits it saves, as the
encoder spends them (Table 8 of ``hybridcodec study entropy``).

Each clip is coded whole, frame after frame, by a speech configuration's frame encoder, once as
it is and once with ``prediction=None`` (every frame intra).  The envelope field's bits
(``FrameReport.bits["envelope"]``: the intra flag with the shift, and the indices) are
averaged over the active frames (``training.fit.is_active``), and the active frames the encoder
coded intra are counted: those where the prediction from frame t − 1 would have cost more
bits, plus one frame in every ``core.frame.INTRA_PERIOD``.  The pitch field is left off: it
does not change the envelope's bits.
"""
from typing import Dict, List

import numpy as np

from hybridcodec.dsp import mdct
from hybridcodec.dsp.filters import highpass_50hz

from ..core.config import get_config
from ..core.frame import FrameEncoder
from ..core.pipeline import Pipeline
from ..formats.hcb import frame_bytes
from ..training.fit import is_active

CONFIGS = ("tcx-dsp", "tcx-mixture-pitch")
"""The speech configurations, whose envelopes are predicted (``SPEECH_ENVELOPE_PREDICTION``)."""
BITRATE_BPS = 13200
"""One bitrate: the envelope's coding does not depend on it while the frame has room for it."""


def _spent(pipeline: Pipeline, clips: List[np.ndarray], bitrate_bps: int):
    """Envelope bits and 'coded intra' of every active frame of ``clips``, each clip a stream."""
    bits, intra = [], []
    for x in clips:
        encoder = FrameEncoder(pipeline)
        frames = mdct.analyze(highpass_50hz(x))
        for t, (frame, active) in enumerate(zip(frames, is_active(frames))):
            _, report = encoder.encode_frame(frame, t, frame_bytes(bitrate_bps))
            if active:
                bits.append(report.bits["envelope"])
                side = encoder.envelope_history.before(t + 1)    # frame t's, kept for t + 1
                intra.append(not side.predicted)
    return np.array(bits), np.array(intra)


def prediction_bits(clips: List[np.ndarray], config: str,
                    bitrate_bps: int = BITRATE_BPS) -> Dict:
    """Mean envelope bits per active frame with the prediction and without (every frame intra),
    and the share of active frames coded intra with it."""
    predicted = get_config(config)
    intra_only = predicted.override(f"{config}-intra", "", envelope=predicted.envelope.with_params(
        prediction=None))
    with_bits, intra = _spent(Pipeline(predicted), clips, bitrate_bps)
    without_bits, _ = _spent(Pipeline(intra_only), clips, bitrate_bps)
    return {"frames": int(len(with_bits)), "intra_only": float(without_bits.mean()),
            "predicted": float(with_bits.mean()), "intra_share": float(intra.mean())}
