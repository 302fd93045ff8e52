"""Tests of hybridcodec.research.study (``hybridcodec study entropy``) on a tiny corpus made of slices of
the demo clip; the real held-out run is marked slow."""
import json

import numpy as np
import pytest

from hybridcodec.research import study
from hybridcodec.training import corpus
from hybridcodec.formats.audio import demo_clip_path, read_audio
from hybridcodec.cli import main


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    """A corpus folder (wav/, split.json, corpus.json) of three 2 s held-out clips and one train clip."""
    root = tmp_path_factory.mktemp("corpus")
    x = read_audio(demo_clip_path())[0]
    signals = {f"demo__part-{i}": x[i * 28000:i * 28000 + 32000] for i in range(4)}
    names = list(signals)
    corpus.write_corpus(root, signals, {"train": names[:1], "heldout": names[1:]})
    return root


@pytest.fixture(scope="module")
def study_result(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    text = study.run_entropy_study(tiny_corpus, out, bitrates_bps=(13200, 24400),
                                   psnr_max_frames=40, progress=False)
    return text, json.loads((out / "entropy_study.json").read_text()), out


def test_study_writes_markdown_json_and_plot(study_result):
    text, results, out = study_result
    assert (out / "entropy_study.md").read_text().strip() == text.strip()
    png = (out / "entropy_study.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    for table in range(1, 9):
        assert f"**Table {table}." in text
    assert "| paper (logistic mixture) | 44.0 ± 16.2 | 63.0 ± 15.9 |" in text


def test_study_numbers_are_consistent(study_result):
    _, results, _ = study_result
    trained, conventional = results["variants"]["trained"], results["variants"]["conventional"]
    assert trained["step"] > conventional["step"]
    # a coarser envelope step spends fewer envelope bits and distorts the envelope more
    for name, (bits, std) in trained["envelope_bits"].items():
        assert 0 < bits < conventional["envelope_bits"][name][0], name
        assert std > 0
    assert trained["sd"][0] > conventional["sd"][0] > 0
    assert 0 <= trained["sd"][1] <= 100 and 0 <= trained["sd"][2] <= 100
    # more bits at a higher bitrate's (finer) quantization, for every model
    for name, low in conventional["spectrum_bits"]["13200"].items():
        assert conventional["spectrum_bits"]["24400"][name] > low > 0, name
    for config, row in results["psnr"].items():
        assert row["24400"] > row["13200"], config
        assert all(np.isfinite(v) for v in row.values())
    for rate, row in results["harmonic"].items():   # the demo clip is voiced speech
        assert 0 < row["voiced_frames"] <= row["frames"], rate
        assert row["voiced"][1] < row["voiced"][0], rate
        assert row["all"][0] - row["all"][1] <= row["voiced"][0] - row["voiced"][1], rate
    for config, row in results["prediction"].items():   # (E2) saves a fifth of the envelope bits
        assert 0 < row["predicted"] < 0.8 * row["intra_only"], config
        assert 0 < row["intra_share"] < 0.5, config


def test_actual_bits_match_the_table_code_lengths(tiny_corpus):
    """The range coder's output is within a few bytes of the ideal code lengths of its tables."""
    from hybridcodec.dsp.entropy_models import Laplace

    models = [Laplace(0.0, 1.0), Laplace(0.5, 3.0)]
    rng = np.random.default_rng(1)
    values = np.round(rng.laplace(0.0, 2.0, 5000)).astype(np.int64)
    frame = np.repeat(np.arange(50), 100)
    bits = study.coded_bits(models, np.arange(5000) % 2, np.full(5000, 0.5), values, frame, 50)
    assert bits["per_frame"].shape == (50,)
    assert abs(bits["actual"] - bits["per_frame"].sum()) < 32


def test_cli_study_entropy(tiny_corpus, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(study, "BITRATES_BPS", (13200,))
    monkeypatch.setattr(study, "PSNR_MAX_FRAMES", 10)
    monkeypatch.setattr(study, "PSNR_CONFIGS", ("tcx-laplacian",))
    out = tmp_path / "study"
    assert main(["study", "entropy", "--corpus", str(tiny_corpus), "--out", str(out)]) == 0
    assert "**Table 4." in capsys.readouterr().out
    assert (out / "entropy_study.png").is_file()


def test_cli_study_without_corpus_is_a_user_error(tmp_path, capsys):
    assert main(["study", "entropy", "--corpus", str(tmp_path / "none"), "--out",
                 str(tmp_path / "o")]) == 2
    assert "corpus" in capsys.readouterr().err


@pytest.mark.slow
def test_mixture_spends_fewer_actual_bits_on_heldout_speech(tmp_path):
    study.run_entropy_study(None, tmp_path, max_files=40, psnr_max_frames=200, progress=False)
    results = json.loads((tmp_path / "entropy_study.json").read_text())
    conventional = results["variants"]["conventional"]
    for rate, row in conventional["spectrum_bits"].items():
        assert row["logistic mixture per band (codec)"] < row["Laplacian"], rate
