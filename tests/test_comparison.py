"""Paired comparison of two systems over voices (hybridcodec.tools.comparison)."""
import pytest

from hybridcodec.tools import comparison


def _rows(differences, system="a", reference="b", column="pesq_wb"):
    """Results rows of two systems on one file per voice, A − B = ``differences``."""
    return [{"system": name, "bitrate_bps": 9600, "file": f"f{i}", "speaker": f"v{i}",
             column: 3.0 + (d if name == system else 0.0)}
            for i, d in enumerate(differences) for name in (system, reference)]


def _ordering(differences):
    return comparison.ordering(comparison.paired_differences(_rows(differences), "pesq_wb")[9600, "a", "b"])


def test_a_pair_is_ordered_only_where_the_voices_agree():
    assert _ordering([0.30, 0.25, 0.35, 0.28]) == (pytest.approx(0.295), 1)
    assert _ordering([-0.2, -0.3, -0.25, -0.22])[1] == -1
    assert _ordering([0.6, -0.3, 0.4, -0.5])[1] == 0, "voices disagree: within noise"
    assert _ordering([0.1])[1] == 0, "one voice tells nothing"


def test_each_voice_weighs_the_same_however_many_files_it_has():
    rows = _rows([1.0, 0.0])
    rows += [{**row, "file": f"g{i}"} for i in range(8) for row in _rows([1.0])]   # v0: 9 files
    differences = comparison.paired_differences(rows, "pesq_wb")[9600, "a", "b"]
    assert sorted(differences) == [0.0, 1.0]


def test_voice_differences_name_each_voice():
    rows = _rows([0.5, -0.25])
    rows += [{**row, "file": "g0", "pesq_wb": row["pesq_wb"] + (0.5 if row["system"] == "a" else 0)}
             for row in _rows([0.5])]   # v0's second file: A − B = 1.0
    assert comparison.voice_differences(rows, "pesq_wb")[9600, "a", "b"] == {
        "v0": pytest.approx(0.75), "v1": pytest.approx(-0.25)}


def test_the_interval_follows_students_t():
    mean, low, high = comparison.interval([0.1, 0.3])
    assert mean == pytest.approx(0.2)
    assert high - mean == pytest.approx(12.706 * 0.1, rel=1e-3)   # t(1), std 0.1414 / sqrt 2
    assert comparison.interval([0.2, 0.2])[1:] == (0.2, 0.2)


def test_comparison_table_puts_this_codecs_configuration_first_and_needs_both_metrics():
    pesq = _rows([-0.4, -0.5, -0.45], system="opus", reference="tcx")
    visqol = _rows([-0.2, -0.1, -0.15], system="opus", reference="tcx", column="visqol")
    rows = [{**p, "visqol": v["visqol"]} for p, v in zip(pesq, visqol)]
    table = "\n".join(comparison.comparison_markdown(rows, {"tcx"}, ["pesq_wb", "visqol", "stoi"]))
    assert "| 9.6 | tcx | opus | +0.450 [" in table and "| ahead | 3 |" in table
    rows = [{**row, "visqol": 3.0 + (0.1 if row["system"] == "opus" else 0.0)} for row in pesq]
    table = "\n".join(comparison.comparison_markdown(rows, {"tcx"}, ["pesq_wb", "visqol"]))
    assert "| split | 3 |" in table, "PESQ-WB ahead, ViSQOL behind"
    assert "| needs both metrics | 3 |" in "\n".join(comparison.comparison_markdown(rows, {"tcx"}, ["pesq_wb"]))
    assert comparison.comparison_markdown(rows, {"tcx"}, ["stoi"]) == []


def test_a_users_folder_is_compared_over_its_files():
    rows = [{**row, "speaker": ""} for row in _rows([0.3, 0.2], system="tcx", reference="opus")]
    table = "\n".join(comparison.comparison_markdown(rows, {"tcx"}, ["pesq_wb"]))
    assert "interval over the files" in table and "| verdict | files |" in table
    one = "\n".join(comparison.comparison_markdown(rows[:2], {"tcx"}, ["pesq_wb"]))
    assert "| 9.6 | tcx | opus | +0.300 [–] | needs both metrics | 1 |" in one
