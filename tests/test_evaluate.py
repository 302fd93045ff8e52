"""Tests of hybridcodec.tools.evaluate and the ``hybridcodec evaluate`` command."""
import csv
import dataclasses

import numpy as np
import pytest

from hybridcodec import cli
from hybridcodec.formats.audio import resample, write_audio
from hybridcodec.tools import evaluate as ev
from hybridcodec.tools import peers

CLIP_S = 1.0
BITRATE_BPS = 16400
FAST_METRICS = ["pesq", "stoi"]
INSTALLED_PEERS = [name for name, peer in peers.PEERS.items() if peer.missing() is None]


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory, speech):
    """Two 1-s clips: a 16 kHz WAV and, in a subfolder, a 22.05 kHz FLAC; and a text file."""
    folder = tmp_path_factory.mktemp("audio")
    n = int(CLIP_S * 16000)
    write_audio(folder / "a.wav", speech[n:2 * n], 16000)
    (folder / "sub").mkdir()
    write_audio(folder / "sub" / "b.flac", resample(speech[3 * n:4 * n], 16000, 22050), 22050)
    (folder / "notes.txt").write_text("not audio")
    return folder


def _evaluate(audio_dir, out_dir, peer_names, **kwargs):
    """Run the evaluation of ``default`` and ``peer_names`` at 16.4 kbps, quietly."""
    files = ev.find_audio_files(audio_dir)
    return ev.evaluate(files, out_dir, [BITRATE_BPS], ["default"], peer_names, FAST_METRICS,
                       root=audio_dir, n_jobs=1, progress=False, log=lambda line: None, **kwargs)


@pytest.fixture(scope="module")
def evaluated(audio_dir, tmp_path_factory):
    """(rows, output folder) of one evaluation of ``default`` and the installed peers."""
    out_dir = tmp_path_factory.mktemp("evaluated")
    rows, _ = _evaluate(audio_dir, out_dir, INSTALLED_PEERS)
    return rows, out_dir


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_find_audio_files_is_recursive_and_sorted(audio_dir):
    assert [p.relative_to(audio_dir).as_posix() for p in ev.find_audio_files(audio_dir)] == [
        "a.wav", "sub/b.flac"]
    assert len(ev.find_audio_files(audio_dir, max_files=1)) == 1


def test_find_audio_files_says_when_there_is_none(tmp_path):
    with pytest.raises(ev.HybridCodecError, match="no audio file under"):
        ev.find_audio_files(tmp_path)


def test_results_have_a_row_per_system_and_file(evaluated):
    rows, tmp_path = evaluated
    table = _read_csv(tmp_path / "results.csv")
    assert list(table[0])[:7] == ["system", "bitrate_bps", "operating_bps", "file", "duration_s",
                                  "measured_bps", "lag_samples"]
    assert {"pesq_wb", "visqol", "stoi"} <= set(table[0])
    assert sorted((r["system"], r["file"]) for r in table) == sorted(
        (system, name) for system in ["default"] + INSTALLED_PEERS for name in ("a.wav", "sub/b.flac"))
    for row in table:
        assert float(row["duration_s"]) == pytest.approx(CLIP_S, abs=1e-3)
        assert 0.95 * int(row["operating_bps"]) < float(row["measured_bps"]) < 1.07 * BITRATE_BPS
        assert float(row["pesq_wb"]) > 2.0 and float(row["stoi"]) > 0.8
        assert row["visqol"] == ""  # not asked for
    assert len(rows) == len(table)
    assert (tmp_path / "rate_quality.png").stat().st_size > 0


def test_summary_has_a_line_per_system_and_marks_other_rates(evaluated):
    _, tmp_path = evaluated
    summary = (tmp_path / "summary.md").read_text()
    assert "| system | requested kbps | runs at kbps | measured kbps | PESQ-WB | STOI | files |" in summary
    assert "| default | 16.4 | 16.4 |" in summary
    if "amr-wb" in INSTALLED_PEERS:
        assert "| amr-wb | 16.4 | 15.85* |" in summary
    if INSTALLED_PEERS:     # this codec first, against each peer, each file its own voice
        paired = summary.split("Paired differences")[1]
        assert all(f"| 16.4 | default | {peer} | " in paired for peer in INSTALLED_PEERS)


def test_a_missing_peer_is_skipped_with_its_reason(audio_dir, tmp_path, monkeypatch):
    missing = dataclasses.replace(peers.PEERS["lc3"], missing=lambda: "elc3 not found (test)")
    monkeypatch.setitem(peers.PEERS, "lc3", missing)
    logged = []
    rows, notes = ev.evaluate(ev.find_audio_files(audio_dir), tmp_path, [BITRATE_BPS], ["default"],
                              ["lc3"], FAST_METRICS, n_jobs=1, progress=False, log=logged.append)
    assert logged == ["lc3 skipped: elc3 not found (test)"] == notes
    assert {row["system"] for row in rows} == {"default"}
    assert "- lc3 skipped: elc3 not found (test)" in (tmp_path / "summary.md").read_text()


def test_a_peer_without_a_rate_at_or_below_the_request_is_left_out():
    jobs, notes = ev.plan_jobs(["x.wav"], None, [9600, 16400], [], ["lc3"])
    if "lc3" in INSTALLED_PEERS:
        assert [(job.bitrate_bps, job.operating_bps) for job in jobs] == [(16400, 16000)]
        assert notes == ["lc3 skipped at 9.6 kbps: it has no rate at or below it"]


def test_a_file_too_short_for_the_metrics_is_skipped_with_a_reason(audio_dir, tmp_path, speech):
    write_audio(tmp_path / "short.wav", speech[16000:16000 + 8000], 16000)
    logged = []
    rows, _ = ev.evaluate(ev.find_audio_files(tmp_path), tmp_path / "out", [BITRATE_BPS], ["default"],
                          [], ["stoi"], n_jobs=1, progress=False, log=logged.append)
    assert rows == [] and logged == ["short.wav skipped: 0.50 s, shorter than the 1 s the metrics need"]


def test_a_silent_file_is_skipped_with_a_reason(tmp_path):
    write_audio(tmp_path / "quiet.wav", np.zeros(32000), 16000)
    job = ev.plan_jobs([tmp_path / "quiet.wav"], tmp_path, [BITRATE_BPS], ["default"], [])[0][0]
    assert ev.run_job(job, [])["skipped"] == ("quiet.wav, default at 16.4 kbps: quiet.wav is "
                                              "silent (below -70 dBFS): the metrics need speech "
                                              "to compare")


def test_an_output_that_does_not_align_is_skipped_with_a_reason(audio_dir, monkeypatch):
    def early_roundtrip(x, sample_rate_hz, bitrate_bps):
        return np.pad(x[100:], (0, 100)), {"payload_bitrate_bps": float(bitrate_bps)}

    early = dataclasses.replace(peers.PEERS["opus"], missing=lambda: None, roundtrip=early_roundtrip)
    monkeypatch.setitem(peers.PEERS, "opus", early)
    job = ev.plan_jobs([audio_dir / "a.wav"], audio_dir, [BITRATE_BPS], [], ["opus"])[0][0]
    assert "a.wav, opus at 16.4 kbps: output lags the input by -100 samples" in ev.run_job(job, [])["skipped"]


@pytest.mark.skipif(not INSTALLED_PEERS, reason="no peer codec installed")
def test_a_dask_local_cluster_gives_the_same_csv(audio_dir, tmp_path):
    distributed = pytest.importorskip("dask.distributed", reason="dask.distributed is not installed")
    _evaluate(audio_dir, tmp_path / "local", INSTALLED_PEERS[:1])
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        _evaluate(audio_dir, tmp_path / "dask", INSTALLED_PEERS[:1], scheduler=cluster.scheduler_address)
    local, dask = ((tmp_path / name / "results.csv").read_text() for name in ("local", "dask"))
    assert local == dask and local.count("\n") == 1 + 2 * 2


def test_cli_evaluate_writes_the_outputs(audio_dir, tmp_path, capsys):
    out = tmp_path / "out"
    status = cli.main(["evaluate", str(audio_dir), "--bitrates", "16.4k", "--configs", "default",
                       "--peers", "", "--metrics", "stoi", "--out", str(out), "--jobs", "1",
                       "--max-files", "1"])
    assert status == 0
    assert "| default | 16.4 | 16.4 |" in capsys.readouterr().out
    assert len(_read_csv(out / "results.csv")) == 1


def test_cli_evaluate_without_a_folder_takes_each_voice_of_a_split_in_turn(tmp_path, monkeypatch):
    from hybridcodec.training import corpus

    splits = {"heldout": [tmp_path / f"{name}.wav" for name in ("a1", "a2", "a3", "b1")],
              "out-of-corpus": [tmp_path / "c1.wav"]}
    monkeypatch.setattr(corpus, "clip_durations_s",
                        lambda split, corpus_dir=None: dict.fromkeys(splits[split], 5.0))
    monkeypatch.setattr(corpus, "file_speakers",
                        lambda paths, corpus_dir=None: {path: path.stem[0] for path in paths})
    a1, a2, a3, b1 = splits["heldout"]
    assert cli._evaluation_files(None, None) == (None, [a1, b1, a2, a3])
    assert cli._evaluation_files(None, 2) == (None, [a1, b1]), "one of each voice first"
    assert cli._evaluation_files(None, None, "out-of-corpus") == (None, splits["out-of-corpus"])


@pytest.mark.parametrize("args, message", [
    (["--peers", "g729"], "unknown peer 'g729'; available: opus, amr-wb, lc3"),
    (["--metrics", "mos"], "unknown metric 'mos'; available: pesq, visqol, stoi, dnsmos"),
    (["--configs", "nope"], "unknown configuration 'nope'; available: default, "),
    (["--bitrates", "3k"], "bitrate 3000 bps is out of range"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--max-files", "0"], "--max-files must be at least 1"),
    (["--configs", "", "--peers", ""], "nothing to evaluate"),
])
def test_cli_evaluate_bad_arguments_are_one_error_line(audio_dir, tmp_path, capsys, args, message):
    assert cli.main(["evaluate", str(audio_dir), "--out", str(tmp_path), *args]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_cli_evaluate_errors_on_a_missing_folder_and_existing_results(tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path / "none"), "--out", str(tmp_path)]) == cli.EXIT_USAGE
    (tmp_path / "results.csv").write_text("")
    assert cli.main(["evaluate", str(tmp_path), "--out", str(tmp_path)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: {tmp_path / 'none'} is not a folder",
                   f"error: {tmp_path / 'results.csv'} exists; pass --force to overwrite it"]


def _row(system, speaker, pesq, visqol, file="f.wav", bitrate=BITRATE_BPS):
    return {"system": system, "bitrate_bps": bitrate, "operating_bps": bitrate, "file": file,
            "duration_s": 1.0, "measured_bps": float(bitrate), "lag_samples": 0, "speaker": speaker,
            "pesq_wb": pesq, "visqol": visqol}


def test_voice_balanced_means_weigh_each_voice_the_same():
    rows = [_row("default", "big", 1.0, 2.0, f"{i}.wav") for i in range(3)]
    rows.append(_row("default", "small", 3.0, 4.0))
    balanced = ev.voice_balanced_scores(rows, ["pesq_wb", "visqol"])[("default", BITRATE_BPS)]
    assert balanced == {"n_voices": 2, "pesq_wb": 2.0, "visqol": 3.0}
    over_files = ev.mean_scores(rows, ["pesq_wb", "visqol"])[("default", BITRATE_BPS)]
    assert over_files["pesq_wb"] == 1.5 and over_files["n_files"] == 4


def test_pairwise_verdicts_need_both_metrics():
    means = {("opus", 9600): {"pesq_wb": 3.0, "visqol": 3.0},
             ("default", 9600): {"pesq_wb": 2.5, "visqol": 3.2},
             ("amr-wb", 9600): {"pesq_wb": 3.1, "visqol": 3.5}}
    assert ev.pairwise_verdicts(means, ["pesq_wb", "visqol"]) == {
        (9600, "amr-wb", "default"): "wins", (9600, "amr-wb", "opus"): "wins",
        (9600, "default", "opus"): "split"}


def test_results_csv_reads_back_as_written(tmp_path):
    rows = [_row("default", "v", 2.5, float("nan")), _row("opus", "", 3.25, 3.5)]
    ev.write_results_csv(rows, tmp_path / "results.csv")
    back = ev.read_results_csv(tmp_path / "results.csv")
    assert [(r["system"], r["speaker"], r["bitrate_bps"], r["pesq_wb"]) for r in back] == [
        ("default", "v", BITRATE_BPS, 2.5), ("opus", "", BITRATE_BPS, 3.25)]
    assert np.isnan(back[0]["visqol"]) and back[1]["visqol"] == 3.5


def test_speakers_go_into_the_rows_and_the_summary_balances_them(audio_dir, tmp_path, evaluated):
    files = ev.find_audio_files(audio_dir)
    rows, _ = _evaluate(audio_dir, tmp_path, [], speakers={files[0]: "v1", files[1]: "v2"})
    assert {(row["file"], row["speaker"]) for row in rows} == {("a.wav", "v1"), ("sub/b.flac", "v2")}
    assert [row["speaker"] for row in _read_csv(tmp_path / "results.csv")] == ["v1", "v2"]
    summary = (tmp_path / "summary.md").read_text()
    assert "Voice-balanced means" in summary and "| default | 16.4 | " in summary.split("Voice")[1]
    assert "Voice-balanced" not in (evaluated[1] / "summary.md").read_text()   # no speakers


def test_file_speakers_come_from_the_manifest(tmp_path, monkeypatch):
    from hybridcodec.training import corpus

    monkeypatch.setattr(corpus, "resolve_corpus", lambda folder: folder)
    monkeypatch.setattr(corpus, "read_manifest", lambda _: {"files": {"a": {"speaker": "lang:nl"}}})
    paths = [tmp_path / "wav" / "a.wav", tmp_path / "wav" / "z.wav"]
    assert corpus.file_speakers(paths, tmp_path) == {paths[0]: "lang:nl", paths[1]: ""}
