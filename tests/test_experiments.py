"""The experiment records (conf/experiment) as configs: composed configs pinned, protocols and published values."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import REPO_ROOT, compose_run_config
from tests.test_run import EXPERIMENTS

GOLDEN = REPO_ROOT / "tests" / "data" / "composed_configs.json"


def composed_digests() -> dict[str, str]:
    """sha256 of every record's composed config, paths aside and interpolations unresolved."""
    import hashlib

    from omegaconf import OmegaConf, open_dict

    digests = {}
    for name in EXPERIMENTS:
        cfg = compose_run_config([f"experiment={name}"], Path("/nonexistent/run"))
        with open_dict(cfg):
            del cfg["paths"]
        digests[name] = hashlib.sha256(OmegaConf.to_yaml(cfg, resolve=False).encode()).hexdigest()
    return digests


def test_every_record_composes_to_the_config_it_always_had() -> None:
    """A golden check for config refactors (issue 14: paper metadata moved to conf/paper/): an intended change of
    a record rewrites tests/data/composed_configs.json in the same commit (`python -m tests.test_experiments`),
    and the commit message says which records changed and why."""
    expected = json.loads(GOLDEN.read_text())
    assert sorted(expected) == EXPERIMENTS
    changed = sorted(name for name, digest in composed_digests().items() if expected.get(name) != digest)
    assert not changed, f"composed configs changed: {changed}"


def test_link_prediction_records_score_every_method_alike_and_redraw_the_split_per_seed() -> None:
    """node2vec's protocol for every method (the paper follows it), a new hidden half per seed, connected residual."""
    names = [name for name in EXPERIMENTS if name.endswith("_linkpred")]
    assert len(names) == 12
    for name in names:
        cfg = compose_run_config([f"experiment={name}"], Path("/nonexistent/run"))
        assert cfg.model.link_score == "logistic_regression", name
        assert cfg.data.split_seed is None and cfg.data.keep_connected is True, name


def test_frpca_and_fpca_are_compared_on_the_same_patch_groups() -> None:
    """FPCA vs FRPCA must differ in the weights and step I only (issue 16.3), not in which matrices they see."""
    for noise in ("sparse", "gaussian", "mixed_gaussian", "mixed_complex"):
        fpca = compose_run_config([f"experiment=fpca_paper10_{noise}"], Path("/nonexistent/run"))
        frpca = compose_run_config([f"experiment=frpca_paper10_{noise}"], Path("/nonexistent/run"))
        assert frpca.model.grouping == fpca.model.grouping and fpca.model.grouping.mode == "patch_groups"
        assert frpca.model.weights == "constant" and fpca.model.weights == "wnnm"


def test_every_published_value_equals_the_papers_tables() -> None:
    """The records' published values against an independent transcription of the papers' tables (issue 16.13)."""
    from zoo.workflow.results import load_records

    tables = json.loads((REPO_ROOT / "tests" / "data" / "published_tables.json").read_text())
    tables.pop("_about")
    records = load_records(REPO_ROOT / "conf" / "experiment")
    checked = set()
    for name, record in records.items():
        published = {m: spec["published"] for m, spec in (record.get("metrics") or {}).items()}
        published = {m: v for m, v in published.items() if v is not None}
        if not published:
            continue  # beyond the paper (BM3D, Set12, the spatial ablation, ...)
        assert name in tables, f"{name} has published values but no row in the papers' tables"
        expected = {m: v for m, v in tables[name].items() if m != "source"}
        assert published == expected, name
        checked.add(name)
    assert checked == set(tables), set(tables) - checked


if __name__ == "__main__":  # rewrite the golden file after an intended config change, and list what changed
    old = json.loads(GOLDEN.read_text())
    new = composed_digests()
    print("changed:", sorted(name for name in new if old.get(name) != new[name]) or "none")
    GOLDEN.write_text(json.dumps(new, indent=2, sort_keys=True) + "\n")
