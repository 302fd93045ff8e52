"""``hybridcodec study envelope`` on a tiny corpus made of the demo clip, and on the real one."""
import json

import numpy as np
import pytest

from hybridcodec import cli
from hybridcodec.research import envelope_study
from hybridcodec.training import corpus
from hybridcodec.formats.audio import read_audio
from hybridcodec.tools.demo import DEMO_CLIP


@pytest.fixture
def tiny_corpus(tmp_path):
    """A corpus folder whose held-out split is two thirds of the demo clip, the training split
    the last third (for the study-only lsf-vq at lsf-softmax's analysis)."""
    x, rate, _ = read_audio(DEMO_CLIP)
    corpus_dir = tmp_path / corpus.CORPUS_NAME
    third = len(x) // 3
    signals = {f"demo__{name}": x[k * third:(k + 1) * third] for k, name in enumerate("abc")}
    corpus.write_corpus(corpus_dir, signals, {"train": ["demo__c"], "heldout": ["demo__a", "demo__b"]})
    return corpus_dir


def test_study_on_a_tiny_corpus(tiny_corpus, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(envelope_study, "MAX_FRAMES", 60)
    monkeypatch.setattr(envelope_study, "CEPSTRAL_STEP_FACTORS", (1.0, 4.0))
    monkeypatch.setattr(envelope_study, "VQ_STAGES", (2, 6))
    monkeypatch.setattr(envelope_study, "EQUAL_ANALYSIS_VQ_LAYOUT", (   # ~100 training frames
        (0, 16, 5), (0, 16, 4), (0, 8, 4), (8, 16, 4), (0, 6, 3), (6, 11, 3), (11, 16, 3)))
    out = tmp_path / "study"
    assert cli.main(["study", "envelope", "--corpus", str(tiny_corpus), "--out", str(out)]) == 0
    report = capsys.readouterr().out
    assert "lsf-vq stages=6" in report and "lsf-vq@60Hz stages=6" in report
    assert "lsf-softmax vs lsf-vq@60Hz at equal envelope bits (equal analysis)" in report
    rows = json.loads((out / "envelope-study.json").read_text())
    assert (out / "rate-sd.png").stat().st_size > 1000
    by_point = {r["point"]: r for r in rows}
    assert {r["method"] for r in rows} == {"cepstral-uniform", "lsf-vq", "lsf-softmax",
                                           "lsf-vq@60Hz"}
    # the table shows each component's analysis, as its parameter file has it
    lag = {r["method"]: r["lag_window_hz"] for r in rows}
    assert lag == {"cepstral-uniform": None, "lsf-vq": 150.0, "lsf-softmax": 60.0,
                   "lsf-vq@60Hz": 60.0}
    assert "| lsf-vq stages=6 | 150 |" in report and "| lsf-softmax λ=1 | 60 |" in report
    # the study-only quantizer was trained on the training split, saved beside the table
    variant = list(out.glob("lsf-vq-at-60hz-*.npz"))
    assert len(variant) == 1
    for method in ("lsf-vq", "lsf-vq@60Hz"):
        coarse, fine = by_point[f"{method} stages=2"], by_point[f"{method} stages=6"]
        assert coarse["envelope_bits"] < fine["envelope_bits"]
        assert coarse["mean_sd_db"] > fine["mean_sd_db"]
    assert by_point["cepstral-uniform Δ=4Δq"]["mean_sd_db"] > by_point["cepstral-uniform Δ=1Δq"][
        "mean_sd_db"]
    for r in rows:
        assert r["total_bits"] == pytest.approx(r["envelope_bits"] + r["spectrum_bits"])
        assert 0 <= r["pct_above_4_db"] <= 100 and np.isfinite(r["mean_sd_db"])


@pytest.mark.slow
def test_real_corpus_study_meets_the_targets(tmp_path):
    """lsf-vq as shipped (5 stages): mean SD with the gain ≤ 1 dB, < 2 % above 4 dB, ≤ 46 bits."""
    envelope_study.run_envelope_study(out_dir=tmp_path, max_frames=1500, progress=False)
    rows = json.loads((tmp_path / "envelope-study.json").read_text())
    shipped = next(r for r in rows if r["point"] == "lsf-vq stages=5")
    assert shipped["envelope_bits"] <= 46.0
    assert shipped["mean_sd_db"] <= 1.0 and shipped["pct_above_4_db"] < 2.0
