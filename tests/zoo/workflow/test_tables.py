"""Item-by-item comparison tables: one row per item of a metric family, the best cell bold, wins counted."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO_ROOT
from zoo.workflow.tables import comparison_table, load_comparisons, variant


def _run(experiment: str, seed: int, metrics: dict[str, float], *overrides: str) -> dict:
    return {"experiment": experiment, "seed": seed, "metrics": metrics, "overrides": [*overrides]}


SPEC = {
    "title": "set, sparse noise",
    "item": "image",
    "metric_prefix": "test/psnr_",
    "exclude": ["noisy"],
    "columns": [
        {"label": "A", "experiment": "a_sparse"},
        {"label": "A, true σ", "experiment": "a_sparse", "variant": "model.noise_level=oracle"},
        {"label": "B", "experiment": "b_sparse"},
        {"label": "C", "experiment": "c_sparse"},
    ],
}


def test_cells_are_means_over_seeds_of_their_own_variant_and_the_best_is_bold() -> None:
    runs = [
        _run("a_sparse", 0, {"test/psnr_lena": 30.0, "test/psnr_boat": 28.0, "test/psnr_noisy": 9.0}),
        _run("a_sparse", 1, {"test/psnr": 30.0, "test/psnr_lena": 31.0, "test/psnr_boat": 28.0}),
        _run("a_sparse", 0, {"test/psnr_lena": 40.0, "test/psnr_boat": 20.0}, "model.noise_level=oracle"),
        _run("b_sparse", 0, {"test/psnr_lena": 29.0, "test/psnr_boat": 29.5}),
    ]
    table = comparison_table(SPEC, runs)
    lines = table.strip().splitlines()
    assert "seeds 0,1" in lines[0]
    assert "| lena | 30.50 | **40.00** | 29.00 | not run |" in lines
    assert "| boat | 28.00 | 20.00 | **29.50** | not run |" in lines
    assert lines[-1] == "| best on (items) | 0 | 1 | 1 |  |" and "noisy" not in table
    assert comparison_table(SPEC, [_run("z", 0, {"test/psnr_lena": 1.0})]) == ""


def test_a_variant_is_the_method_changing_overrides_only() -> None:
    assert variant(_run("a", 0, {}, "seed=3", "trainer.max_epochs=2", "model.noise_level=oracle")) == (
        "model.noise_level=oracle"
    )


def test_a_file_of_another_run_is_named_by_its_run_folder_not_the_machine_path() -> None:
    weights = "model.backbone.weights=/tmp/x/logs/train/runs/2026-12-05_02-41-51_203e18/net.pt"
    assert variant(_run("a", 0, {}, weights)) == "model.backbone.weights=…/2026-12-05_02-41-51_203e18/net.pt"


def test_over_expands_one_table_per_value(tmp_path: Path) -> None:
    (tmp_path / "paper.yaml").write_text(
        "- title: 'x {noise}'\n  over: {noise: [a, b]}\n  metric_prefix: m_\n"
        "  columns: [{label: M, experiment: 'm_{noise}'}]\n"
    )
    tables = load_comparisons(tmp_path)["paper"]
    assert [t["title"] for t in tables] == ["x a", "x b"]
    assert [t["columns"][0]["experiment"] for t in tables] == ["m_a", "m_b"]
    assert "over" not in tables[0]
    committed = load_comparisons(REPO_ROOT / "conf" / "comparisons")
    assert len(committed["fpca"]) == 8
