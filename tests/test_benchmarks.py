"""The benchmark scripts still start: each one's ``--help`` exits 0, so its imports resolve.

The benchmarks are run by hand (they take minutes and print tables), so nothing else notices
when a refactoring removes a module one of them imports.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARK_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
BENCHMARKS = sorted(BENCHMARK_DIR.glob("*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.name)
def test_benchmark_script_starts(script):
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                            text=True, timeout=120, cwd=script.parent)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage" in result.stdout.lower()


def _load(name):
    """A benchmark script as a module (the benchmarks folder is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, BENCHMARK_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ranking_tells_a_reversed_verdict_from_a_split_one():
    ranking = _load("ranking")
    first = {(9600, "a", "b"): "wins", (9600, "a", "c"): "wins", (9600, "b", "c"): "split"}
    second = {(9600, "a", "b"): "loses", (9600, "a", "c"): "wins", (9600, "b", "c"): "loses"}
    table = ranking.ranking_table(first, second, ("heldout", "ooc"))
    assert "| 9.6 | a | b | wins | loses | reversed |" in table
    assert "| 9.6 | b | c | split | loses | no |" in table
    assert "1 of 3 pairs agree, 1 reversed" in table and "1 differ where one run's metrics split" in table


def test_significance_table_counts_reversed_orderings():
    ranking = _load("ranking")
    first = {(9600, "a", "b", "pesq_wb"): (0.3, 1), (9600, "a", "b", "visqol"): (0.1, 0)}
    second = {(9600, "a", "b", "pesq_wb"): (-0.2, -1), (9600, "a", "b", "visqol"): (0.2, 1)}
    table = ranking.significance_table(first, second, ("heldout", "ooc"))
    assert "| 9.6 | a | b | PESQ-WB | +0.300 ahead | -0.200 behind | reversed |" in table
    assert "| 9.6 | a | b | ViSQOL | +0.100 within noise | +0.200 ahead | – |" in table
    assert "Of 2 orderings (pair, rate and metric), both runs resolve 1: 0 agree and 1 reversed" in table


def test_voice_table_turns_each_pair_towards_the_system_and_counts_the_voices():
    voices = _load("voices")
    rows = [{"system": system, "bitrate_bps": 9600, "file": f"f{i}", "speaker": f"v{i}",
             "pesq_wb": 3.0 + d_pesq * (system == "opus"), "visqol": 4.0 + d_visqol * (system == "opus")}
            for i, (d_pesq, d_visqol) in enumerate(((-0.5, -0.25), (0.25, 0.5), (0.5, -0.25)))
            for system in ("default", "opus")]
    table = voices.voice_table(rows, "default", "opus")   # "default" < "opus": stored A − B as is
    assert "| v0 | +0.50 / +0.25 |" in table and "| v1 | -0.25 / -0.50 |" in table
    assert "| ahead / behind / split | 1 / 1 / 1 |" in table
    turned = voices.voice_table(rows, "opus", "default")
    assert "| v0 | -0.50 / -0.25 |" in turned and "| ahead / behind / split | 1 / 1 / 1 |" in turned


def test_refit_table_puts_each_side_in_its_column():
    refit = _load("refit_gain")
    means = {("before", 9600): {"pesq_wb": 2.0, "visqol": 3.0, "n_voices": 7},
             ("after", 9600): {"pesq_wb": 2.5, "visqol": 3.25, "n_voices": 7}}
    assert refit.table(means, [9600], "n_voices").splitlines()[-1] == \
        "| 9.6 | 2.000 | 2.500 | +0.500 | 3.000 | 3.250 | +0.250 | 7 |"


def _speed(*args, cwd):
    return subprocess.run([sys.executable, str(BENCHMARK_DIR / "speed.py"), *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_speed_refuses_a_baseline_folder_without_hybridcodec(tmp_path):
    result = _speed("--baseline", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "no hybridcodec package in that folder" in result.stderr


def test_speed_worker_times_encode_and_decode(tmp_path):
    """The process that ``--baseline`` runs per installation prints its encode and decode
    seconds of half a second of noise: positive, and under 10 s (20 × slower than real time
    would mean something hangs)."""
    import numpy as np

    np.save(tmp_path / "x.npy", 0.1 * np.random.default_rng(0).standard_normal(8000))
    result = _speed("--time-api", str(tmp_path / "x.npy"), "--repeats", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    encode_s, decode_s = map(float, result.stdout.split())
    assert 0.0 < encode_s < 10.0 and 0.0 < decode_s < 10.0


def test_visqol_attribution_levels_and_table():
    attribution = _load("visqol_attribution")
    rng = np.random.default_rng(1)
    x = rng.standard_normal(16000)
    levels = attribution.band_levels_db(x, 0.5 * x)
    assert all(value == pytest.approx(-6.02, abs=0.01) for value in levels.values())
    swaps = {f"swap_{group}": 0.01 * i for i, group in enumerate(attribution.SWAPS)}
    means = {("tcx-dsp", 9600): {"visqol": 3.0, **swaps, "n_voices": 8},
             ("amr-wb", 9600): {"visqol": 3.25}}
    table = attribution.attribution_table(means, [9600], "tcx-dsp", "amr-wb")
    assert table.splitlines()[-1] == \
        "| 9.6 | 3.000 | 3.250 | +0.250 | +0.000 | +0.010 | +0.020 | +0.030 | +0.040 | 8 |"
    assert "+ amr-wb's fvdegenergy" in table.splitlines()[0]


def test_visqol_attribution_similarity_table_gives_each_system_its_own_row():
    attribution = _load("visqol_attribution")
    means = {("tcx-dsp", 9600): {"fvnsim": 0.87, "fvnsim10": 0.7, "fstdnsim": 0.195},
             ("amr-wb", 9600): {"fvnsim": 0.84, "fvnsim10": 0.656, "fstdnsim": 0.219}}
    lines = attribution.similarity_table(means, [9600], "tcx-dsp", "amr-wb").splitlines()
    assert lines[0] == "| kbps | system | fvnsim | fvnsim10 | fstdnsim |"
    assert lines[2:] == ["| 9.6 | tcx-dsp | 0.870 | 0.700 | 0.195 |",
                         "| 9.6 | amr-wb | 0.840 | 0.656 | 0.219 |"]


def test_bandwidth_check_tilt_raises_the_top_band_at_the_same_power():
    from scipy.signal import welch

    tilt = _load("bandwidth_check").tilt
    x = np.random.default_rng(3).standard_normal(16000 * 4)

    def top_over_low_db(signal):
        f, p = welch(signal, 16000, nperseg=1024)
        return 10 * np.log10(p[f >= 5000].sum() / p[f < 1000].sum())

    for gain_db in (12.0, -6.0):
        y = tilt(x, gain_db)
        assert abs(top_over_low_db(y) - top_over_low_db(x) - gain_db) < 1.0
        assert np.isclose(np.mean(y * y), np.mean(x * x))
    assert np.allclose(tilt(x, 0.0), x)
