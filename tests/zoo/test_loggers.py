import csv
from pathlib import Path

from zoo.loggers import CSVLogger


def test_a_second_writer_appends_to_an_existing_metrics_file(tmp_path: Path) -> None:
    first = CSVLogger(tmp_path, name="csv", version="")
    first.log_metrics({"train/loss": 1.0}, step=0)
    first.save()
    second = CSVLogger(tmp_path, name="csv", version="")  # e.g. a resumed run or rank 0 after ddp_spawn
    second.log_metrics({"test/acc": 0.5}, step=1)
    second.save()
    rows = list(csv.DictReader(open(tmp_path / "csv" / "metrics.csv")))
    assert [r["train/loss"] for r in rows] == ["1.0", ""] and [r["test/acc"] for r in rows] == ["", "0.5"]
