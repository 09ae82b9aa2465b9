import pytest

from zoo.workflow.benchmarks import seqdlf


def test_lite0_reports_every_rate_and_the_record_code_length() -> None:
    result = seqdlf.rates("EfficientNet-Lite0, ImageNet", "cpu", repeats=1, database=50)
    for key in ("extract_fps", "vlad_fps", "st_vlad_fps", "query_ms", "peak_mib"):
        assert result[key] > 0
    assert result["code_length"] == seqdlf.WORDS * result["dim"]  # VLAD is q · d long
    assert result["database_mib"] == pytest.approx(50 * result["code_length"] * 4 / 2**20)


def test_the_table_has_a_row_per_backbone(monkeypatch: pytest.MonkeyPatch) -> None:
    row = {
        "extract_fps": 30.0, "vlad_fps": 100.0, "st_vlad_fps": 50.0, "query_ms": 12.5, "code_length": 98304.0,
        "database_mib": 3750.0, "grid": 49.0, "dim": 192.0, "peak_mib": 900.0,
    }  # fmt: skip
    published = {}
    monkeypatch.setattr(seqdlf, "in_subprocess", lambda module, *args: row)
    monkeypatch.setattr(seqdlf, "publish", lambda name, table, data: published.update(table=table, data=data))
    monkeypatch.setattr(seqdlf.torch.cuda, "is_available", lambda: False)
    seqdlf.main(repeats=1, database=10)
    rows = [line for line in published["table"].splitlines() if line.startswith("| cpu |")]
    assert len(rows) == len(seqdlf.BACKBONES) == len(published["data"])
    assert rows[0].endswith("| 49 × 192 | 30.0 | 100.0 | 50.0 | 98,304 | 12.5 (3,750) | 900 |")
