import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from PIL import Image

from tests.conftest import REPO_ROOT, compose_run_config
from zoo.workflow.sweep_plot import SensitivityPlot, collect, load_sensitivity_sweeps


def fake_sweep(root: Path) -> None:
    for job, (alpha, auc) in enumerate([(0.2, 0.90), (0.2, 0.92), (0.6, 0.80), (0.6, 0.84)]):
        folder = root / f"{job}_learn"
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps({"metrics": {"test/auc": auc}}))
        (folder / "config.yaml").write_text(OmegaConf.to_yaml({"data": {"samples": {"alpha": alpha}}}))


def test_collect_groups_jobs_by_parameter_value(tmp_path: Path) -> None:
    fake_sweep(tmp_path)
    table = collect(tmp_path, "data.samples.alpha", ["test/auc", "test/ap"])
    assert table[0.2]["test/auc"] == [0.90, 0.92] and table[0.6]["test/auc"] == [0.80, 0.84]
    assert not table[0.2]["test/ap"]


def test_plot_and_csv_are_written_at_the_end_of_the_multirun(tmp_path: Path) -> None:
    fake_sweep(tmp_path)
    callback = SensitivityPlot(param="data.samples.alpha", metrics=["test/auc"], name="alpha")
    callback.on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}}))
    assert Image.open(tmp_path / "sensitivity_alpha.png").size[0] > 100
    lines = (tmp_path / "sensitivity_alpha.csv").read_text().splitlines()
    assert lines[1] == "0.2,0.91,2" and lines[2] == "0.6,0.82,2"


@pytest.mark.parametrize("sweep", sorted(load_sensitivity_sweeps(REPO_ROOT / "conf" / "hparams_search")))
def test_every_swept_value_is_the_value_the_plot_reads(sweep: str, tmp_path: Path) -> None:
    """The plot reads ``param`` from each job's config: every job of the named sweep must set it to its own value
    (e.g. LEARN's dim sweep overrides ``model.layers`` while the plot reads ``model.layers[2]``)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    search_dir = REPO_ROOT / "conf" / "hparams_search"
    spec = load_sensitivity_sweeps(search_dir)[sweep]
    swept = OmegaConf.load(search_dir / f"{sweep}.yaml").hydra.sweeper.params
    assert tuple(swept) == spec["swept"] and len(swept) == 1
    key, values = next(iter(swept.items()))
    seen = []
    for value in OverridesParser.create().parse_override(f"{key}={values}").sweep_string_iterator():
        cfg = compose_run_config([f"hparams_search={sweep}", f"{key}={value}"], tmp_path)
        seen.append(OmegaConf.select(cfg, spec["param"]))
        assert str(seen[-1]) in value
    assert len(seen) >= 4 and len(set(seen)) == len(seen)
