import json
from pathlib import Path

from zoo.workflow.benchmarks.measure import BEGIN, END, publish, render_benchmarks


def test_publish_records_the_table_its_numbers_and_where_it_ran(tmp_path: Path, capsys) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\n{BEGIN}\nold\n{END}\ntail\n")
    path = publish("demo", "| a |\n|---|\n| 1 |\n", {"rate": 1.5}, bench_dir=tmp_path / "bench", page=page)
    record = json.loads(path.read_text())
    assert record["table"] == "| a |\n|---|\n| 1 |\n" and record["data"] == {"rate": 1.5}
    assert {"git", "device", "packages"} <= set(record["environment"])
    text = page.read_text()
    assert "old" not in text and "### demo" in text and "| 1 |" in text and text.endswith(f"{END}\ntail\n")
    assert f"written to {path}" in capsys.readouterr().out


def test_the_committed_benchmark_page_is_what_the_committed_records_give() -> None:
    root = Path(__file__).resolve().parents[4]
    page = root / "docs" / "benchmarks.md"
    block = page.read_text().split(BEGIN, 1)[1].split(END, 1)[0]
    assert block == "\n" + render_benchmarks(root / "results" / "bench"), (
        "run `make bench` (or publish) and commit"
    )
