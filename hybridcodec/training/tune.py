"""Tuning the codec's hand-set constants on speaker-disjoint validation speech.

The constants that no training fits — the weighting factors γ1 and β of the perceptual model
(W(z) = A(z/γ1) / (1 − β z⁻¹), EVS sec. 5.3.3.2), the dead-zone rounding offset θ and the
noise-filling gain of the quantizer, and the envelope step scale — are chosen by coordinate
search on a combined objective: mean PESQ-WB plus mean ViSQOL (speech mode) over
:data:`TUNING_BITRATES_BPS`, on :data:`TUNING_FILES` utterances of the ``validation`` split
(whose speakers are in neither the training nor the held-out split), taken from each voice in
turn so that every voice weighs alike. Never on one metric alone: near-flat noise shaping raises
PESQ-WB by a full point while ViSQOL barely moves.

Processing steps of :func:`tune`: start from a configuration; for each constant in
:data:`SEARCH` in turn, measure every value of its grid with the others held, and keep a value
that beats the best so far by :data:`MIN_GAIN` only if it also beats it by as much on
:data:`CHECK_FILES` utterances of the ``train`` split, taken from its voices in turn: the six
validation voices alone have chosen constants that lowered both metrics on every other set of
voices (``hybridcodec/components/configurations.py``).  Repeat the sweep ``sweeps`` times.
Every measurement is a round trip of every file at every bitrate, in parallel over the cores
(joblib).
"""
import inspect
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from hybridcodec.api import decode, encode
from hybridcodec.core.config import CodecConfig, get_config, register_config
from hybridcodec.core.registry import lookup
from hybridcodec.core.geometry import SAMPLE_RATE_HZ
from hybridcodec.errors import CorpusError
from hybridcodec.training.corpus import load_clips

TUNING_BITRATES_BPS = (9600, 13200, 16400)
"""The rates where the constants matter most (at 24.4 kbps few bins are left to noise filling)."""
TUNING_FILES = 24
"""Validation utterances measured per candidate: 4 of each of the split's 6 voices."""
CHECK_FILES = 48
"""Training utterances on which a change must win too: one or more of each of 21 voices."""
MIN_GAIN = 0.02
"""How much a change must raise the objective, on each set, to be kept: gains of 0.01 are
below what 24 utterances resolve (configurations.py), and each kept change moves the decoded
output, so the learned parts trained on it would have to be retrained."""
CANDIDATE_PREFIX = "tune-"


@dataclass(frozen=True)
class Constant:
    """A tunable constant: the slot and parameter it sets, and the values searched."""
    slot: str
    parameter: str
    grid: Tuple[float, ...]


SEARCH = (
    Constant("perceptual", "gamma1", (0.1, 0.3, 0.5, 0.7, 0.92)),
    Constant("perceptual", "beta", (0.0, 0.3, 0.68)),
    Constant("spectrum_quantizer", "rounding_offset", (0.36, 0.42, 0.48)),
    Constant("spectrum_quantizer", "noise_fill_gain", (0.2, 0.35, 0.5, 0.6, 0.7, 0.9)),
    Constant("envelope", "envelope_step_scale", (1.0, 1.5, 2.0, 2.5, 3.0)),
)


def with_constant(config: CodecConfig, constant: Constant, value: float) -> CodecConfig:
    """``config`` with one constant set, named by a digest of its slots.

    Pipelines are cached by configuration name, so every candidate needs a name of its own.
    """
    spec = getattr(config, constant.slot).with_params(**{constant.parameter: value})
    candidate = config.override("", config.description, **{constant.slot: spec})
    return config.override(CANDIDATE_PREFIX + candidate.digest(), config.description,
                           **{constant.slot: spec})


def current_value(config: CodecConfig, constant: Constant):
    """The value ``config`` gives a constant: its own, else the component's default.

    Knowing the default keeps the search from measuring the starting point twice.
    """
    spec = getattr(config, constant.slot)
    if constant.parameter in spec.kwargs():
        return spec.kwargs()[constant.parameter]
    parameter = inspect.signature(lookup(constant.slot, spec.name)).parameters.get(constant.parameter)
    return None if parameter is None else parameter.default


def round_trip_scores(config: CodecConfig, x: np.ndarray, bitrate_bps: int) -> Tuple[float, float]:
    """PESQ-WB and ViSQOL of one signal coded with ``config`` at ``bitrate_bps``."""
    from hybridcodec.tools.metrics import pesq_wb, visqol

    register_config(config)
    y, _ = decode(encode(x, SAMPLE_RATE_HZ, bitrate_bps, config.name))
    return pesq_wb(x, y, SAMPLE_RATE_HZ), visqol(x, y, SAMPLE_RATE_HZ)


def objective(config: CodecConfig, signals: List[np.ndarray], bitrates_bps=TUNING_BITRATES_BPS,
              n_jobs: int = -1) -> Dict[str, float]:
    """Mean PESQ-WB, mean ViSQOL and their sum over every signal and bitrate."""
    scores = Parallel(n_jobs=n_jobs)(delayed(round_trip_scores)(config, x, rate)
                                     for x in signals for rate in bitrates_bps)
    pesq, visqol = np.mean(scores, axis=0)
    return {"pesq_wb": float(pesq), "visqol": float(visqol), "objective": float(pesq + visqol)}


def validation_signals(corpus_dir=None, max_files: int = TUNING_FILES,
                       min_duration_s: float = 3.0):
    """``max_files`` validation utterances of at least ``min_duration_s``, voice-balanced.

    The utterances are taken from each validation voice in turn
    (:func:`~hybridcodec.training.corpus.voice_balanced_order`), so that one voice with many
    files does not decide the constants for all.
    """
    return _utterances("validation", corpus_dir, max_files, min_duration_s)


def check_signals(corpus_dir=None, max_files: int = CHECK_FILES, min_duration_s: float = 3.0):
    """``max_files`` training utterances of at least ``min_duration_s``, voice-balanced: the
    second set of voices on which :func:`tune` confirms a change.  (A folder of the user's own
    recordings serves as every split, so there it is the validation speech again.)"""
    return _utterances("train", corpus_dir, max_files, min_duration_s)


def _utterances(split, corpus_dir, max_files, min_duration_s):
    """:func:`load_clips`, voice-balanced; a split with no utterance that long is refused."""
    clips = load_clips(split, corpus_dir, max_files, min_duration_s, voice_balanced=True)
    if not clips:
        raise CorpusError(f"no {split} utterance of at least {min_duration_s:g} s in "
                          f"{corpus_dir or 'the corpus'} to tune on: PESQ-WB and ViSQOL need "
                          "whole sentences")
    return clips


def tune(config_name: str = "default", corpus_dir=None, max_files: int = TUNING_FILES,
         sweeps: int = 1, only=None, progress: bool = True):
    """Coordinate search of the constants of :data:`SEARCH` (see the module docstring).

    ``only`` (a list of parameter names, e.g. ``["noise_fill_gain"]``) limits the search to
    those constants.

    Returns
    -------
    best : CodecConfig
        The configuration with the chosen constants.
    rows : list of dict
        Every measurement: ``constant``, ``value``, ``pesq_wb``, ``visqol``, ``objective``,
        and ``check``, the objective on the training voices, where the candidate won on the
        validation voices (and for the value it was compared with).
    """
    signals, check = validation_signals(corpus_dir, max_files), None
    best = get_config(config_name)
    rows = [{"constant": "start", "value": "", **objective(best, signals)}]
    best_row = rows[0]
    search = [c for c in SEARCH if only is None or c.parameter in only]
    steps = [(constant, value) for _ in range(sweeps) for constant in search for value in constant.grid]
    for constant, value in tqdm(steps, desc="tuning", disable=not progress):
        if value == current_value(best, constant):
            continue
        candidate = with_constant(best, constant, value)
        row = {"constant": f"{constant.slot}.{constant.parameter}", "value": value,
               **objective(candidate, signals)}
        rows.append(row)
        if row["objective"] >= best_row["objective"] + MIN_GAIN:
            if "check" not in best_row:      # the first winner: load the training voices
                check = check_signals(corpus_dir)
                best_row["check"] = objective(best, check)["objective"]
            row["check"] = objective(candidate, check)["objective"]
            if row["check"] >= best_row["check"] + MIN_GAIN:
                best, best_row = candidate, row
    return best, rows


def format_rows(rows, best: CodecConfig) -> str:
    """A Markdown table of the search and the chosen constants; a candidate that won on the
    validation voices shows its sum on the training voices too (``check``)."""
    lines = ["| constant | value | PESQ-WB | ViSQOL | sum | sum, training voices |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['constant']} | {r['value']} | {r['pesq_wb']:.3f} | {r['visqol']:.3f} | "
              f"{r['objective']:.3f} | {format(r['check'], '.3f') if 'check' in r else '–'} |"
              for r in rows]
    chosen = ", ".join(f"{c.slot}.{c.parameter} = {current_value(best, c)}" for c in SEARCH)
    return "\n".join(lines + ["", f"chosen: {chosen}"])
