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


def test_publish_figure_saves_into_the_run_dir_and_logs_to_image_loggers(tmp_path) -> None:
    from types import SimpleNamespace

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from pytorch_lightning.loggers import TensorBoardLogger

    from zoo.loggers import publish_figure

    board = TensorBoardLogger(tmp_path, name="tb", version="")
    module = SimpleNamespace(trainer=SimpleNamespace(default_root_dir=str(tmp_path)), loggers=[board])
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = publish_figure(module, "figs/line.png", fig, key="test/line")
    assert path == tmp_path / "figs" / "line.png" and path.read_bytes()[:4] == b"\x89PNG"
    assert not plt.get_fignums(), "the figure is closed after saving"
    image = publish_figure(module, "grid.png", np.full((4, 6), 0.5), key="val/grid")
    assert image.read_bytes()[:4] == b"\x89PNG"
    board.experiment.flush()
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
