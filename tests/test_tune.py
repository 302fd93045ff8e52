"""Tests of the constant search (hybridcodec train constants) with a stand-in objective."""
import pytest

from hybridcodec.core.config import get_config
from hybridcodec.training import tune


def test_with_constant_sets_one_parameter_and_keeps_the_rest():
    base = get_config("tcx-laplacian")
    gamma1 = tune.SEARCH[0]
    candidate = tune.with_constant(base, gamma1, 0.5)
    assert tune.current_value(candidate, gamma1) == 0.5
    assert candidate.perceptual.kwargs()["beta"] == base.perceptual.kwargs()["beta"]
    assert candidate.spectrum_quantizer == base.spectrum_quantizer


def test_current_value_falls_back_to_the_components_default():
    from hybridcodec.core.config import CodecConfig

    scale = next(c for c in tune.SEARCH if c.parameter == "envelope_step_scale")
    assert tune.current_value(CodecConfig("plain", ""), scale) == 1.0
    assert tune.current_value(get_config("tcx-laplacian"), scale) == 1.5


def stand_in_objective(monkeypatch, check_best=(0.7, 0.3), scale=1.0):
    """An objective with its maximum at γ1 = 0.7, β = 0.3 on the validation signals and at
    ``check_best`` on the training signals, indifferent to the rest, its slopes times
    ``scale``; returns the (γ1, β) of each configuration measured on the validation signals."""
    calls = []

    def objective(config, signals, *args, **kwargs):
        params = config.perceptual.kwargs()
        gamma1, beta = check_best if signals == ["train"] else (0.7, 0.3)
        if signals == ["validation"]:
            calls.append(params)
        value = -scale * (abs(params["gamma1"] - gamma1) + abs(params["beta"] - beta))
        return {"pesq_wb": value, "visqol": 0.0, "objective": value}
    monkeypatch.setattr(tune, "objective", objective)
    monkeypatch.setattr(tune, "validation_signals", lambda *args: ["validation"])
    monkeypatch.setattr(tune, "check_signals", lambda *args: ["train"])
    return calls


def test_coordinate_search_finds_the_best_values(monkeypatch):
    calls = stand_in_objective(monkeypatch)
    best, rows = tune.tune("tcx-laplacian", progress=False)
    assert best.perceptual.kwargs()["gamma1"] == 0.7 and best.perceptual.kwargs()["beta"] == 0.3
    assert rows[0]["constant"] == "start"
    assert len(rows) == len(calls)
    table = tune.format_rows(rows, best)
    assert "perceptual.gamma1 = 0.7" in table and "perceptual.beta = 0.3" in table


def test_a_change_the_training_voices_reject_is_not_kept(monkeypatch):
    """tcx-laplacian starts at γ1 = 0.1, β = 0: where the training voices prefer those, no
    value that wins on the validation voices alone is kept, and the table shows both sums."""
    stand_in_objective(monkeypatch, check_best=(0.1, 0.0))
    best, rows = tune.tune("tcx-laplacian", progress=False)
    assert best.perceptual.kwargs() == get_config("tcx-laplacian").perceptual.kwargs()
    winners = [r for r in rows[1:] if "check" in r]
    assert rows[0]["check"] == 0.0 and winners and all(r["check"] < 0 for r in winners)
    assert [r["value"] for r in rows if r["constant"] == "perceptual.gamma1"] == [0.3, 0.5, 0.7, 0.92]
    table = tune.format_rows(rows, best)
    assert "perceptual.gamma1 = 0.1" in table and f"| {winners[0]['check']:.3f} |" in table


def test_candidates_are_coded_with_their_own_constants(speech):
    """Pipelines are cached by name: each candidate must have its own, or all code alike."""
    from hybridcodec.api import encode
    from hybridcodec.core.config import register_config

    base = get_config("tcx-laplacian")
    flat, shaped = (tune.with_constant(base, tune.SEARCH[0], value) for value in (0.1, 0.92))
    assert flat.name != shaped.name and len(flat.name) <= 19
    assert tune.with_constant(base, tune.SEARCH[0], 0.1).name == flat.name
    x = speech[:16000]
    streams = [encode(x, 16000, 13200, register_config(c).name) for c in (flat, shaped)]
    assert streams[0] != streams[1]


def test_validation_signals_are_long_enough_and_voice_balanced(tmp_path, monkeypatch):
    """Each validation voice in turn, so that one voice with many files does not decide alone."""
    from hybridcodec.training import corpus

    durations_s = {"a1": 4.0, "a2": 5.0, "short": 1.0, "a3": 4.0, "b1": 3.5}
    speakers = {"a1": "a", "a2": "a", "short": "b", "a3": "a", "b1": "b"}
    monkeypatch.setattr(corpus, "clip_durations_s", lambda split, folder: {
        tmp_path / f"{name}.wav": seconds for name, seconds in durations_s.items()})
    monkeypatch.setattr(corpus, "resolve_corpus", lambda folder: tmp_path)
    monkeypatch.setattr(corpus, "read_manifest",
                        lambda _: {"files": {name: {"speaker": s} for name, s in speakers.items()}})
    monkeypatch.setattr(corpus, "read_audio", lambda path: (path.stem, 16000))
    assert tune.validation_signals(max_files=3) == ["a1", "b1", "a2"]


def test_a_gain_below_the_margin_is_not_kept(monkeypatch):
    """With slopes of 1/100, the best value gains 0.006 < MIN_GAIN on the validation voices:
    nothing is kept, and the training voices are never loaded or measured."""
    stand_in_objective(monkeypatch, scale=0.01)
    monkeypatch.setattr(tune, "check_signals", lambda *args: pytest.fail("training voices loaded"))
    best, rows = tune.tune("tcx-laplacian", progress=False)
    assert best.perceptual.kwargs() == get_config("tcx-laplacian").perceptual.kwargs()
    assert max(r["objective"] for r in rows) - rows[0]["objective"] < tune.MIN_GAIN
    assert not any("check" in r for r in rows)


def test_a_corpus_without_long_utterances_is_refused_clearly(monkeypatch):
    """A folder of short clips: a CorpusError that says why, not a failure inside the metrics."""
    from hybridcodec.errors import CorpusError

    monkeypatch.setattr(tune, "load_clips", lambda *args, **kwargs: [])
    with pytest.raises(CorpusError, match="no validation utterance of at least 3 s in clips"):
        tune.validation_signals("clips")
    with pytest.raises(CorpusError, match="no train utterance"):
        tune.check_signals()
