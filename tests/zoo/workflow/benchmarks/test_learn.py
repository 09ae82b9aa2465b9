from pathlib import Path

import pytest

from zoo.workflow.benchmarks import learn


def test_learn_benchmark_skips_with_a_message_when_blogcatalog_is_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    learn.main()
    out = capsys.readouterr().out
    assert "LEARN benchmark skipped" in out and "blogcatalog.mat" in out
