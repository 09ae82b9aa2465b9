import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from zoo.workflow.results import (
    BEGIN,
    END,
    PAGE_HEAD,
    load_records,
    load_runs,
    render_table,
    run_results,
    update_block,
)

RECORD = """# @package _global_
paper:
  source: Table 1
  metrics:
    test/acc: {name: overall accuracy, unit: "%", higher_is_better: true, published: 91.5}
"""


def write_run(root: Path, name: str, seed: int, acc: float, debug: bool = False) -> None:
    run = root / f"{name}_{seed}_{debug}"
    run.mkdir(parents=True)
    record = {
        "experiment": name,
        "seed": seed,
        "debug": debug,
        "hardware": "CPU 2 cores (32-true)",
        "budget": "3 epochs",
        "metrics": {"test/acc": acc},
    }
    (run / "metrics.json").write_text(json.dumps(record))


@pytest.fixture
def records(tmp_path: Path) -> Path:
    exp = tmp_path / "experiment"
    exp.mkdir()
    (exp / "demo.yaml").write_text(RECORD)
    (exp / "other.yaml").write_text(
        "# @package _global_\ndefaults:\n  - demo\npaper:\n  metrics:\n    test/acc: {published: 80.0}\n"
    )
    return exp


def test_table_has_mean_std_over_seeds_next_to_published(tmp_path: Path, records: Path) -> None:
    logs = tmp_path / "logs"
    write_run(logs, "demo", 0, 0.80)
    write_run(logs, "demo", 1, 0.90)
    write_run(logs, "demo", 2, 0.10, debug=True)  # debug runs never count
    table = run_results(records, tmp_path / "no-records", logs, tmp_path / "results.md")
    demo = next(line for line in table.splitlines() if line.startswith("| demo"))
    assert "| 91.5 |" in demo and "85.00 ± 7.07" in demo and "| 2 |" in demo and "0,1" in demo
    other = next(line for line in table.splitlines() if line.startswith("| other"))
    assert "| other | overall accuracy (test/acc, %) | 80.0 | not run |" in other  # inherits name and unit
    assert (tmp_path / "results.md").read_text() == PAGE_HEAD + table


def test_a_metric_a_run_does_not_report_is_not_measured_rather_than_not_run(
    tmp_path: Path, records: Path
) -> None:
    (records / "demo.yaml").write_text(
        RECORD.replace(
            "metrics:\n",
            "metrics:\n    val/acc: {name: validation accuracy, unit: '%', published: null}\n",
            1,
        )
    )
    write_run(tmp_path / "logs", "demo", 0, 0.80)  # reports test/acc only
    table = run_results(records, tmp_path / "no-records", tmp_path / "logs", tmp_path / "results.md")
    assert "| demo | validation accuracy (val/acc, %) | — | not measured |" in table
    assert "| other | validation accuracy (val/acc, %) | — | not run |" in table


def test_unreadable_metrics_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "metrics.json").write_text("{not json")
    assert load_runs(tmp_path) == []


def test_a_generated_block_is_replaced_between_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{BEGIN}\nstale block\n{END}\noutro\n")
    update_block(readme, render_table({}, []))
    text = readme.read_text()
    assert "stale block" not in text and text.startswith("intro") and text.endswith("outro\n")
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        update_block(readme, "x")


def test_overridden_runs_are_separate_rows_and_early_stopped_seeds_share_one(
    tmp_path: Path, records: Path
) -> None:
    logs = tmp_path / "logs"
    budget = "early stopping (patience 5, ≤ 200 epochs)"
    for seed, (acc, epochs) in enumerate([(0.80, 11), (0.90, 17)]):
        write_run(logs, "demo", seed, acc)
        path = logs / f"demo_{seed}_False" / "metrics.json"
        record = json.loads(path.read_text()) | {
            "budget": budget,
            "epochs": epochs,
            "wall_time_s": 60 + seed * 20,
        }
        record["overrides"] = ["experiment=demo", f"seed={seed}", "trainer.max_epochs=200"]
        path.write_text(json.dumps(record))
    tuned = logs / "tuned"
    tuned.mkdir()
    (tuned / "metrics.json").write_text(
        json.dumps({"experiment": "demo", "seed": 0, "budget": budget, "metrics": {"test/acc": 0.10}})
    )
    (tuned / "overrides.yaml").write_text(
        "- experiment=demo\n- model.lr=0.5\n"
    )  # older record: read from file
    lines = render_table(load_records(records), load_runs(logs)).splitlines()
    default = next(line for line in lines if line.startswith("| demo |"))
    assert "85.00 ± 7.07" in default and "| 2 |" in default and "11–17 ep, 70 s" in default
    variant_row = next(line for line in lines if line.startswith("| demo `model.lr=0.5` |"))
    assert "10.00" in variant_row and "| 1 |" in variant_row


def test_cross_validation_folds_are_replicates_of_one_row(tmp_path: Path, records: Path) -> None:
    logs = tmp_path / "logs"
    for fold, acc in enumerate([0.70, 0.80, 0.90]):
        write_run(logs, "demo", fold, acc)
        path = logs / f"demo_{fold}_False" / "metrics.json"
        overrides = ["experiment=demo", f"data.fold={fold}", "model.scheduler.step_size=3"]
        path.write_text(json.dumps(json.loads(path.read_text()) | {"seed": 0, "overrides": overrides}))
    lines = render_table(load_records(records), load_runs(logs)).splitlines()
    (row,) = [line for line in lines if line.startswith("| demo")]
    # the method-changing override still names the row; the folds do not split it
    assert row.startswith("| demo `model.scheduler.step_size=3` |")
    assert "80.00 ± 10.00" in row and "| 3 |" in row and "| 0/f0,0/f1,0/f2 |" in row


def test_small_values_keep_four_decimals() -> None:
    from zoo.workflow.results import format_measured

    assert format_measured([0.0470, 0.0480], 1.0) == "0.0475 ± 0.0007"
    assert format_measured([0.40, 0.42], 1.0) == "0.41 ± 0.01"
    assert format_measured([0.9412, 0.9530], 1.0, digits=4) == "0.9471 ± 0.0083"


SWEEP = """# @package _global_
hydra:
  sweeper:
    params:
      model.layers: "[8,16],[8,128]"
  callbacks:
    sensitivity_plot:
      param: model.layers[1]
      metrics: [test/acc]
      name: dim
"""


def write_sweep_job(
    root: Path, search: str, dim: int, seed: int, acc: float, extra: tuple[str, ...] = ()
) -> None:
    job = root / f"{search}_{dim}_{seed}_{len(extra)}"
    job.mkdir(parents=True)
    overrides = [
        f"model.layers=[8,{dim}]",
        f"hparams_search={search}",
        f"seed={seed}",
        "trainer.max_epochs=2",
        *extra,
    ]
    record = {"experiment": "demo", "seed": seed, "hardware": "CPU", "budget": "2 epochs", "epochs": 2}
    record |= {"wall_time_s": 30, "overrides": overrides, "metrics": {"test/acc": acc}}
    (job / "metrics.json").write_text(json.dumps(record))
    (job / "config.yaml").write_text(OmegaConf.to_yaml({"model": {"layers": [8, dim]}}))


def test_sweep_jobs_leave_the_main_table_for_a_sensitivity_table(tmp_path: Path, records: Path) -> None:
    searches = tmp_path / "hparams_search"
    searches.mkdir()
    (searches / "demo_dim.yaml").write_text(SWEEP)
    (searches / "demo_optuna.yaml").write_text("# @package _global_\nhydra:\n  sweeper:\n    n_trials: 3\n")
    logs = tmp_path / "logs"
    write_run(logs, "demo", 0, 0.80)
    for seed, acc in enumerate([0.70, 0.72]):
        write_sweep_job(logs, "demo_dim", 128, seed, acc)
    write_sweep_job(logs, "demo_dim", 16, 0, 0.50)
    write_sweep_job(logs, "demo_dim", 16, 0, 0.90, extra=("model.lr=0.1",))
    write_sweep_job(logs, "demo_optuna", 16, 0, 0.10)  # a tuning trial: in neither table
    table = run_results(records, tmp_path / "no-records", logs, tmp_path / "results.md", search_dir=searches)
    main, sensitivity = table.split("**Sensitivity sweeps**")
    demo_rows = [line for line in main.splitlines() if line.startswith("| demo")]
    assert len(demo_rows) == 1 and "| 80.00 | 1 | 0 |" in demo_rows[0]  # sweep jobs and trials stay out
    rows = [line for line in sensitivity.splitlines() if line.startswith("| demo_dim")]
    assert len(rows) == 3 and not any("demo_optuna" in line for line in sensitivity.splitlines())
    default_16, default_128, lr = rows[0], rows[1], rows[2]
    assert "model.layers[1] = 16" in default_16 and "overall accuracy 0.5000 |" in default_16  # 16 before 128
    assert "model.layers[1] = 128" in default_128 and "0.7100 ± 0.0141" in default_128
    assert "| 2 | 0,1 |" in default_128
    assert "`demo` model.lr=0.1" in lr and "0.9000" in lr and "2 ep, 30 s" in lr
