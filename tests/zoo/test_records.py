"""Committable run records: written once per finished run, read back by `make results` on any clone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, TINY_SHAPES, compose_run_config
from zoo.records import load_records, record_id
from zoo.workflow.pipeline import run
from zoo.workflow.results import BEGIN, END, PAGE_HEAD, all_runs, paper_tables, render_tables
from zoo.workflow.results import load_records as load_experiment_records
from zoo.workflow.sweep_plot import load_sensitivity_sweeps
from zoo.workflow.tables import load_comparisons


def test_a_finished_run_leaves_one_auditable_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "records"
    monkeypatch.setenv("ZOO_RESULTS_DIR", str(results))
    run_dir = tmp_path / "logs" / "pyramnet_shapes" / "runs" / "r1"
    monkeypatch.setenv("ZOO_LOG_DIR", str(tmp_path / "logs"))
    run(compose_run_config([*TINY_SHAPES, "trainer.max_epochs=1", "seed=5"], run_dir))
    (path,) = list(results.rglob("*.json"))
    assert path == results / "pyramnet_shapes" / "pyramnet_shapes+runs+r1.json"
    record = json.loads(path.read_text())
    assert (
        record["seed"] == 5 and record["budget"] == "1 epochs" and record["experiment"] == "pyramnet_shapes"
    )
    assert set(record["environment"]) == {"git", "packages", "device", "python", "platform"}
    assert record["environment"]["git"].keys() == {"commit", "dirty"}
    assert record["config"]["seed"] == 5 and "test/acc" in record["metrics"] and "checkpoint" not in record
    assert "seed=5" in record["overrides"] and record["wall_time_s"] > 0
    assert path.stat().st_size < 20_000, "a record stays small: no checkpoints, no images"
    assert str(tmp_path) not in path.read_text() and "paths" not in record["config"], "no machine paths"
    assert record["config"]["callbacks"]["model_checkpoint"]["dirpath"] == "${paths.output_dir}/checkpoints"


def test_debug_runs_leave_no_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOO_RESULTS_DIR", str(tmp_path / "records"))
    run(compose_run_config([*TINY_SHAPES, "debug=fdr"], tmp_path / "run"))
    assert not (tmp_path / "records").exists()


def test_a_run_in_both_records_and_logs_counts_once(tmp_path: Path) -> None:
    logs, records = tmp_path / "logs", tmp_path / "records"
    (logs / "x" / "runs" / "a").mkdir(parents=True)
    body = {"experiment": "x", "metrics": {"m": 1.0}, "seed": 0}
    (logs / "x" / "runs" / "a" / "metrics.json").write_text(json.dumps(body))
    (records / "x").mkdir(parents=True)
    (records / "x" / "x+runs+a.json").write_text(json.dumps({**body, "run_id": "x+runs+a"}))
    assert record_id(logs / "x" / "runs" / "a", logs) == "x+runs+a"
    assert len(all_runs(records, logs)) == 1 and len(load_records(records)) == 1


def test_the_committed_tables_are_what_the_committed_records_give(tmp_path: Path) -> None:
    """What a fresh clone's `make results` does (no logs/): it must reproduce the committed tables byte for byte."""
    records = load_experiment_records(REPO_ROOT / "conf" / "experiment")
    runs = all_runs(REPO_ROOT / "results" / "runs", tmp_path / "no-logs")
    sweeps = load_sensitivity_sweeps(REPO_ROOT / "conf" / "hparams_search")
    table = render_tables(records, runs, sweeps)
    assert (REPO_ROOT / "docs" / "results.md").read_text() == PAGE_HEAD + table, (
        "run `make results` and commit"
    )
    comparisons = load_comparisons(REPO_ROOT / "conf" / "comparisons")
    pages = paper_tables(records, runs, sweeps, comparisons)
    assert set(pages) == {"pyramnet", "learn", "fpca", "safont", "siamfc_online", "fan", "seqdlf"}
    for paper_id, paper_table in pages.items():
        page = REPO_ROOT / "docs" / "papers" / f"{paper_id}.md"
        assert block(page) == "\n" + paper_table, f"{page}: run `make results` and commit"


def block(page: Path) -> str:
    return page.read_text().split(BEGIN, 1)[1].split(END, 1)[0]
