"""The quantizer study's table logic: verdicts by both metrics, pairs at equal rates."""
import pytest

from hybridcodec.research.quantizer_study import quality_markdown, quality_rows
from hybridcodec.tools.evaluate import verdict


@pytest.mark.parametrize("deltas, expected", [((0.1, 0.02), "wins"), ((-0.1, -0.3), "loses"),
                                              ((0.2, -0.01), "split"), ((0.0, 0.1), "split")])
def test_verdict_needs_both_metrics(deltas, expected):
    assert verdict(deltas) == expected


def _mean(pesq, visqol, kbps=16.4, n_files=3):
    return {"pesq_wb": pesq, "visqol": visqol, "measured_bps": kbps * 1000, "n_files": n_files,
            "operating_bps": kbps * 1000}


def test_quality_rows_compare_each_pair_at_the_same_rate():
    means = {("a", 16400): _mean(3.0, 3.5), ("b", 16400): _mean(2.5, 3.6, n_files=2),
             ("a", 24400): _mean(3.9, 4.2), ("b", 24400): _mean(3.5, 4.0)}
    rows = quality_rows(means, pairs=(("a", "b"),), bitrates_bps=(9600, 16400, 24400))
    assert [row["bitrate_bps"] for row in rows] == [16400, 24400]   # 9.6: neither ran
    assert rows[0]["delta_pesq_wb"] == pytest.approx(0.5)
    assert rows[0]["delta_visqol"] == pytest.approx(-0.1)
    assert [row["verdict"] for row in rows] == ["split", "wins"]
    assert rows[0]["n_files"] == 2
    table = quality_markdown(rows)
    assert "| a | b | 16.4 | 3.000 / 3.500 | 2.500 / 3.600 | +0.500 / -0.100 | split | 2 |" in table
