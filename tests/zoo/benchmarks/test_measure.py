import json
from pathlib import Path

from zoo.benchmarks.measure import publish


def test_publish_writes_the_table_and_its_numbers_side_by_side(tmp_path: Path, capsys) -> None:
    output = tmp_path / "bench" / "demo.md"
    publish(output, "| a |\n|---|\n| 1 |\n", {"rate": 1.5})
    assert output.read_text() == "| a |\n|---|\n| 1 |\n"
    assert json.loads(output.with_suffix(".json").read_text()) == {"rate": 1.5}
    assert f"written to {output}" in capsys.readouterr().out
