"""End-to-end checks of ``run.py``: every experiment, resume, test/predict, sweeps, launchers, loggers, errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import REPO_ROOT, TINY_SHAPES, compose_run_config, flip_tensor_bytes, run_cli
from zoo.workflow.pipeline import run

EXPERIMENTS = sorted(p.stem for p in (REPO_ROOT / "conf" / "experiment").glob("*.yaml"))


def modelnet_fixture_overrides(data_dir: Path, tmp_path: Path) -> list[str]:
    """Point ModelNet40 experiments at the shared OFF fixtures (2 classes), small batches, private cache."""
    return [
        f"data.root={data_dir}/pointclouds/modelnet_off",
        f"data.cache_dir={tmp_path / 'cache'}",
        "data.download=false",
        "data.batch_size=2",
        "data.val_fraction=0",  # 1 mesh per class: keep both for training (batch 2: BatchNorm needs > 1)
    ]


def graph_overrides(name: str, tmp_path: Path) -> list[str]:
    """Graph experiments read the real graphs; one short walk per vertex keeps a smoke run to seconds."""
    extra = [f"data.cache_dir={tmp_path / 'cache'}"]
    if name.startswith("learn_"):
        extra += ["data.samples.num_walks=1", "data.samples.walk_length=2"]
    if name.startswith(("deepwalk_", "node2vec_")):
        extra += ["data.samples.num_walks=1", "data.samples.walk_length=5"]
    if name.startswith("danmf_"):  # a solver: fast_dev_run does not shorten it
        extra += ["model.pretrain_iterations=1", "model.iterations=1"]
    return extra


DENOISERS = ("bm3d_", "fpca_", "frpca_", "rpca_", "mogrpca_")
FONT_GANS = ("safont_", "zi2zi_")


def skip_without_fonts(*fonts: str) -> None:
    """Fonts are system packages, like data: without them (a fresh machine before `make install-fonts`) skip."""
    from datamodules.fonts import resolve_font
    from zoo.errors import UserError

    for font in fonts:
        try:
            resolve_font(font)
        except UserError as err:
            pytest.skip(f"{err} (`make install-fonts` installs the experiments' fonts; .ci/run does)")


def denoising_overrides(name: str) -> list[str]:
    """Solvers ignore fast_dev_run's step limit: 48-pixel crops and two iterations keep a smoke run short."""
    extra = ["data.size=48", "data.batch_size=16"]  # one batch holds every paper10 image
    if not name.startswith("bm3d_"):  # BM3D has no iteration count
        extra.append("model.max_iter=2")
    if name.startswith(("fpca_", "frpca_")):  # configs with patch-group settings
        extra.append("model.grouping.window=15")
    return extra


ULTRASOUND = ("_ddti", "_udtn_eval")


def ultrasound_overrides(name: str, data_dir: Path, tmp_path: Path) -> list[str]:
    """The real DDTI / UD-TN files, one preprocessed cache per test session, two-image batches (BatchNorm)."""
    extra = [
        f"data.root={data_dir}/ultrasound",
        f"data.cache_dir={tmp_path.parent / 'ultrasound-cache'}",
        "data.batch_size=2",
    ]
    if not name.startswith("layout_"):
        extra.append("model.cam_figures=2")
    if name.startswith(("vgg19_", "resnet", "densenet40_")):
        extra.append("model.net.weights=random")
    return extra


LOOP_CLOSURE = ("seqdlf_", "cnn_global_", "seqslam_")


def loopclosure_overrides(name: str, data_dir: Path, tmp_path: Path) -> list[str]:
    """The real sequences, thinned to ~50 frames that still hold revisits (Lip6: every 20th frame; Corridor:
    every 5th, whose 111-frame offset stays on the grid), 64-px frames in one batch (fast_dev_run tests one batch),
    an 8-word codebook and a short exclusion window."""
    return [
        f"data.root={data_dir}/loopclosure",
        f"data.cache_dir={tmp_path.parent / 'loopclosure-cache'}",
        f"data.subsample={20 if name.endswith('_lip6outdoor') else 5}",
        "data.image_size=64",
        "data.batch_size=64",
        "model.words=8",
        "model.position_words=2",
        "model.kmeans_max_iter=10",
        "model.exclusion_frames=5",
        "model.match_figures=2",
    ]


def experiment_overrides(name: str, data_dir: Path, tmp_path: Path) -> list[str]:
    if "modelnet40" in name:
        extra = modelnet_fixture_overrides(data_dir, tmp_path)
    elif name.startswith("pyramnet"):
        extra = []
    elif name.startswith(DENOISERS):
        extra = denoising_overrides(name)
    elif name == "siamfc_pairs_training":
        extra = ["data.batch_size=2", "data.val_pairs=2"]
    elif name.startswith(("siamfc_", "opencv_")):
        extra = ["data.max_frames=3"]  # the real shared sequences, three frames each
        if name.startswith("siamfc_") and "effnetlite0" not in name:
            extra.append("model.backbone.weights=random")  # torchvision's ImageNet weights need a download
    elif name.endswith(ULTRASOUND):
        extra = ultrasound_overrides(name, data_dir, tmp_path)
    elif name.startswith(LOOP_CLOSURE):
        extra = loopclosure_overrides(name, data_dir, tmp_path)
    elif name.startswith(FONT_GANS):
        # one glyph cache per test session (keyed and written atomically, so sharing is safe): rendering the
        # 3,755 characters of two fonts takes ~20 s
        extra = [f"data.cache_dir={tmp_path.parent / 'font-cache'}", "data.batch_size=2", "data.val_size=2"]
    else:
        extra = graph_overrides(name, tmp_path)
    return [f"experiment={name}", *extra]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_and_instantiates(name: str, shared_data_dir: Path, tmp_path: Path) -> None:
    from hydra.utils import instantiate

    cfg = compose_run_config(experiment_overrides(name, shared_data_dir, tmp_path), tmp_path)
    assert cfg.name == name
    assert cfg.paper.metrics, "every experiment record lists its metrics"
    for metric in cfg.paper.metrics.values():
        assert "published" in metric  # null where the paper has no number; never a measured value
    instantiate(cfg.model)
    instantiate(cfg.data)
    instantiate(cfg.trainer)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_fast_dev_run(name: str, shared_data_dir: Path, tmp_path: Path) -> None:
    cfg = compose_run_config([*experiment_overrides(name, shared_data_dir, tmp_path), "debug=fdr"], tmp_path)
    if name.startswith(FONT_GANS):
        skip_without_fonts(cfg.data.source, cfg.data.target)
    if name == "fan_udtn_eval":  # test only: without a trained FAN it must say what to pass
        from zoo.errors import UserError

        with pytest.raises(UserError, match="ckpt_path"):
            run(cfg)
        return
    run(cfg)
    record = read_json(tmp_path / "metrics.json")
    assert record["debug"] is True and record["experiment"] == name
    units = {key: spec.get("unit", "") for key, spec in cfg.paper.metrics.items()}
    for metric in record["published"]:  # every metric the record reports was measured, in its unit's range
        ranges = {
            "dB": (0.0, 100.0),
            "0-255": (0.0, 255.0),
            "frames/s": (0.0, 1e6),
            "nats": (0.0, 1e3),
            "steps": (0.0, 1e3),
            "parameters": (0.0, 1e9),
        }
        low, high = ranges.get(units[metric], (-1.0, 1.0))
        if metric.endswith("rre"):  # a relative error: > 1 only means worse than returning zeros
            low, high = 0.0, 10.0
        assert low <= record["metrics"][metric] <= high, metric


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (REPO_ROOT / "conf" / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "override",
    [f"hardware={o}" for o in group_options("hardware")]
    + [f"debug={o}" for o in group_options("debug")]
    + [f"logger={o}" for o in group_options("logger")]
    + [f"data={o}" for o in group_options("data")]
    + [f"hparams_search={o}" for o in group_options("hparams_search")]
    + ["hydra/launcher=joblib", "hydra/launcher=submitit_local", "hydra/launcher=submitit_slurm"],
)
def test_every_config_option_composes(override: str, tmp_path: Path) -> None:
    cfg = compose_run_config([override], tmp_path)
    assert cfg.trainer._target_ == "pytorch_lightning.Trainer"


@pytest.mark.parametrize("option", ["cpu", "ddp_sim"] + [f"debug={d}" for d in group_options("debug")])
def test_cpu_trainers_instantiate(option: str, tmp_path: Path) -> None:
    from hydra.utils import instantiate

    override = option if option.startswith("debug=") else f"hardware={option}"
    instantiate(compose_run_config([override], tmp_path).trainer)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_gpu_hardware_without_a_gpu_is_a_clear_error(tmp_path: Path) -> None:
    out = run_cli([*TINY_SHAPES, "hardware=gpu_bf16", "debug=limit"], tmp_path)  # (fdr forces the CPU)
    assert_clear_error(out, "Error:", "hardware=cpu")


def test_resampled_source_from_run_py(shared_data_dir: Path, tmp_path: Path) -> None:
    root = shared_data_dir / "pointclouds" / "modelnet40_normal_resampled"
    overrides = [
        "experiment=pyramnet_modelnet40",
        "data=modelnet40_resampled",
        f"data.root={root}",
        f"data.cache_dir={tmp_path / 'cache'}",
        "data.batch_size=2",
        "data.val_fraction=0",
        "debug=fdr",
    ]
    run(compose_run_config(overrides, tmp_path))
    assert 0.0 <= read_json(tmp_path / "metrics.json")["metrics"]["test/acc"] <= 1.0


def test_multirun_over_an_experiment_glob(shared_data_dir: Path, tmp_path: Path) -> None:
    # ++: Hydra checks sweep overrides against the default experiment, whose data config lacks these keys
    fixtures = [f"++{o}" for o in modelnet_fixture_overrides(shared_data_dir, tmp_path)]
    args = ["-m", "experiment=glob(pyramnet_k*)", *fixtures, "debug=fdr", "trainer.enable_progress_bar=false"]
    out = run_cli(args, tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    names = sorted(
        read_json(p)["experiment"] for p in (tmp_path / "logs" / "multiruns").rglob("metrics.json")
    )
    assert names == ["pyramnet_k20_modelnet40", "pyramnet_k30_modelnet40"]


@pytest.fixture(scope="module")
def tiny_fit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny full fit (3 epochs) shared by the record, test and predict checks."""
    out = tmp_path_factory.mktemp("fit")
    run(compose_run_config([*TINY_SHAPES, "trainer.max_epochs=3"], out))
    return out


def test_fit_writes_the_run_record(tiny_fit: Path) -> None:
    record = read_json(tiny_fit / "metrics.json")
    assert record["experiment"] == "pyramnet_shapes" and record["seed"] == 0 and record["debug"] is False
    assert record["budget"] == "3 epochs" and record["epochs"] == 3 and record["hardware"].startswith("CPU")
    assert {"test/acc", "test/macc", "val/acc_best"} <= set(record["metrics"])
    assert record["published"] == {"test/acc": None, "test/macc": None, "val/acc_best": None}
    assert Path(record["checkpoint"]).is_file() and "best_epoch" in record["checkpoint"]
    env = read_json(tiny_fit / "environment.json")
    assert env["seed"] == 0 and env["packages"]["pytorch-lightning"] and env["wall_time_s"] > 0
    config = yaml.safe_load((tiny_fit / "config.yaml").read_text())
    assert config["paths"]["output_dir"] == str(tiny_fit)  # resolved, not ${hydra:...}
    assert (tiny_fit / "csv" / "metrics.csv").is_file()


def test_test_task_reproduces_the_fit_metrics(tiny_fit: Path, tmp_path: Path) -> None:
    fit = read_json(tiny_fit / "metrics.json")
    run(compose_run_config([*TINY_SHAPES, "task=test", f"ckpt_path={fit['checkpoint']}"], tmp_path))
    tested = read_json(tmp_path / "metrics.json")
    assert tested["metrics"]["test/acc"] == pytest.approx(fit["metrics"]["test/acc"])
    assert tested["budget"] == "test only"


def test_predict_task_writes_one_row_per_test_sample(tiny_fit: Path, tmp_path: Path) -> None:
    ckpt = read_json(tiny_fit / "metrics.json")["checkpoint"]
    run(compose_run_config([*TINY_SHAPES, "task=predict", f"ckpt_path={ckpt}"], tmp_path))
    lines = (tmp_path / "predictions.csv").read_text().splitlines()
    assert lines[0].split(",") == ["pred", "confidence", "index", "target", "pred_name", "target_name"]
    assert len(lines) == 1 + 8 * 4  # 8 classes × 4 test shapes


def test_resume_from_a_mid_run_checkpoint_reproduces_the_uninterrupted_run(tmp_path: Path) -> None:
    """Stop after 2 of 3 epochs, resume into the same run dir (so best-checkpoint tracking continues)."""
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    run(compose_run_config([*TINY_SHAPES, "trainer.max_epochs=3"], straight))
    run(compose_run_config([*TINY_SHAPES, "trainer.max_epochs=2"], interrupted))
    last = interrupted / "checkpoints" / "last.ckpt"
    run(compose_run_config([*TINY_SHAPES, "trainer.max_epochs=3", f"ckpt_path={last}"], interrupted))
    a, b = read_json(straight / "metrics.json"), read_json(interrupted / "metrics.json")
    assert Path(a["checkpoint"]).name == Path(b["checkpoint"]).name
    for key in ("train/loss", "val/loss", "val/acc", "val/acc_best", "test/acc", "test/loss"):
        assert b["metrics"][key] == pytest.approx(a["metrics"][key], rel=1e-5, abs=1e-6), key
    weights_a = torch.load(straight / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    weights_b = torch.load(interrupted / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    for key, value in weights_a.items():
        torch.testing.assert_close(weights_b[key], value, msg=key)


def test_cli_run_prints_where_results_are(tmp_path: Path) -> None:
    out = run_cli([*TINY_SHAPES, "trainer.max_epochs=1", "seed=7"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = list((tmp_path / "logs" / "pyramnet_shapes" / "runs").iterdir())
    assert len(runs) == 1 and str(runs[0]) in out.stdout + out.stderr
    assert read_json(runs[0] / "metrics.json")["seed"] == 7
    assert "seed=7" in (runs[0] / "overrides.yaml").read_text()


def test_multirun_two_jobs(tmp_path: Path) -> None:
    out = run_cli(["-m", *TINY_SHAPES, "debug=fdr", "seed=0,1"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    records = sorted((tmp_path / "logs" / "multiruns").glob("*/*/metrics.json"))
    assert [read_json(r)["seed"] for r in records] == [0, 1]


def test_optuna_sweep_survives_a_failed_trial(tmp_path: Path) -> None:
    # lr = -1 is refused before the fit: that trial must be recorded as failed while the study completes.
    args = [
        "-m",
        *TINY_SHAPES,
        "hparams_search=pyramnet_optuna",
        "debug=limit",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.sampler.n_startup_trials=3",
        "model.optimizer.lr=choice(0.003,-1.0)",
        "data.batch_size=choice(16)",
        "model.net.dropout=choice(0.35)",
    ]
    out = run_cli(args, tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    results = yaml.safe_load(
        next((tmp_path / "logs" / "multiruns").glob("*/optimization_results.yaml")).read_text()
    )
    assert results["best_params"]["model.optimizer.lr"] == 0.003
    assert "the optimiser's lr must be a finite number >= 0, got -1.0" in out.stdout + out.stderr


def test_submitit_local_launcher_runs_a_job(tmp_path: Path) -> None:
    out = run_cli(
        ["-m", *TINY_SHAPES, "debug=fdr", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"],
        tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(list((tmp_path / "logs" / "multiruns").glob("*/0_pyramnet_shapes/metrics.json"))) == 1


def test_ddp_sim_trains_with_two_cpu_processes(tmp_path: Path) -> None:
    out = run_cli([*TINY_SHAPES, "hardware=ddp_sim", "trainer.max_epochs=1"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    record = read_json(next((tmp_path / "logs").rglob("metrics.json")))
    env = read_json(next((tmp_path / "logs").rglob("environment.json")))
    assert env["world_size"] == 2 and 0.0 <= record["metrics"]["test/acc"] <= 1.0


def test_many_loggers_write_csv_tensorboard_and_offline_wandb(tmp_path: Path) -> None:
    out = run_cli([*TINY_SHAPES, "logger=many", "debug=limit"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    run_dir = next((tmp_path / "logs").rglob("metrics.json")).parent
    assert (run_dir / "csv" / "metrics.csv").is_file()
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    wandb_runs = list(run_dir.glob("wandb/offline-run-*"))
    assert len(wandb_runs) == 1 and list(wandb_runs[0].glob("run-*.wandb"))


def test_wandb_gets_the_final_metrics_published_values_and_code_version(
    shared_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wandb

    import zoo.workflow.pipeline

    monkeypatch.setattr(
        zoo.workflow.pipeline, "_finish_wandb", lambda: None
    )  # keep the run open to inspect it
    try:
        overrides = experiment_overrides("pyramnet_k20_modelnet40", shared_data_dir, tmp_path)
        run(compose_run_config([*overrides, "logger=wandb", "debug=limit", "trainer.max_epochs=1"], tmp_path))
        summary, config = dict(wandb.run.summary), dict(wandb.run.config)
    finally:
        wandb.finish()
    record = read_json(tmp_path / "metrics.json")
    assert summary["final/test/acc"] == pytest.approx(record["metrics"]["test/acc"])
    # published in the metric's own scale (a fraction for "%" metrics), next to the measured fraction
    assert summary["published/test/acc"] == pytest.approx(0.886) and "published/test/macc" not in summary
    assert record["published"]["test/acc"] == pytest.approx(0.886) and record["metrics"]["test/acc"] <= 1.0
    assert set(config["git"]) == {"commit", "dirty"} and config["name"] == "pyramnet_k20_modelnet40"


def test_results_task_renders_the_table(tiny_fit: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "a").mkdir(parents=True)
    (logs / "a" / "metrics.json").write_text((tiny_fit / "metrics.json").read_text())
    out = run_cli(
        ["task=results", f"results.output={tmp_path / 'results.md'}"],
        tmp_path,
        ZOO_RESULTS_DIR=str(tmp_path / "no-records"),  # the session's records include tiny_fit's own
    )
    assert out.returncode == 0, out.stderr[-3000:]
    table = (tmp_path / "results.md").read_text()
    # the tiny run shrinks the data and model on the command line: a variant row named by those overrides
    row = next(
        line for line in table.splitlines() if line.startswith("| pyramnet_shapes `") and "| overall" in line
    )
    assert "data.num_points=64" in row and "| 1 |" in row and "3 epochs" in row
    assert "| pyramnet_modelnet40 | overall accuracy (test/acc, %) | 91.5 | not run |" in table


# ---- bad input: one paragraph naming the problem and the fix, no traceback ----------------------------------


def assert_clear_error(out, *fragments: str) -> None:
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "Traceback" not in text, text[-3000:]
    for fragment in fragments:
        assert fragment in text, text[-3000:]


def test_unknown_experiment(tmp_path: Path) -> None:
    assert_clear_error(
        run_cli(["experiment=nope"], tmp_path), "Could not find 'experiment/nope'", "pyramnet_modelnet40"
    )


def test_unknown_key(tmp_path: Path) -> None:
    assert_clear_error(run_cli(["model.net.nope=1"], tmp_path), "Could not override 'model.net.nope'")


def test_missing_dataset(tmp_path: Path) -> None:
    out = run_cli(
        [
            "experiment=pyramnet_modelnet40",
            f"data.root={tmp_path / 'absent'}",
            "data.download=false",
            "debug=fdr",
        ],
        tmp_path,
    )
    assert_clear_error(out, "Error:", str(tmp_path / "absent"), "Fix:")


def test_corrupt_mesh_names_the_file(tmp_path: Path) -> None:
    for split, body in (
        ("train", "OFF\n3 1 0\n0 0 0\n1 0 0\nbanana 1 0\n3 0 1 2\n"),
        ("test", "OFF\n1 0 0\n"),
    ):
        folder = tmp_path / "root" / "ModelNet40" / "desk" / split
        folder.mkdir(parents=True)
        (folder / f"desk_000{1 if split == 'train' else 2}.off").write_text(body)
    out = run_cli(
        [
            "experiment=pyramnet_modelnet40",
            f"data.root={tmp_path / 'root'}",
            "data.download=false",
            "data.batch_size=1",
            "debug=fdr",
        ],
        tmp_path,
    )
    assert_clear_error(out, "Error:", "desk_0001.off")
    assert not list((tmp_path / "cache").rglob("*.pt")), "no partial cache may survive"


@pytest.mark.parametrize("batch_size", ["0", "100000"])
def test_impossible_batch_size(batch_size: str, tmp_path: Path) -> None:
    out = run_cli([*TINY_SHAPES, f"data.batch_size={batch_size}", "debug=fdr"], tmp_path)
    assert_clear_error(out, "Error:", "batch_size")


def test_missing_checkpoint(tmp_path: Path) -> None:
    out = run_cli([*TINY_SHAPES, "task=test", f"ckpt_path={tmp_path / 'none.ckpt'}"], tmp_path)
    assert_clear_error(out, "Error:", "none.ckpt", "does not exist")


def test_ddp_under_multirun_fails_fast(tmp_path: Path) -> None:
    out = run_cli(["-m", *TINY_SHAPES, "hardware=ddp", "seed=0,1"], tmp_path)
    assert_clear_error(out, "ddp_spawn")
    assert not list((tmp_path / "logs").rglob("metrics.json"))


@pytest.mark.slow
def test_embedded_default_demo(tmp_path: Path) -> None:
    """`python run.py` with no arguments: the offline demo, about two minutes on 2 CPU cores."""
    out = run_cli([], tmp_path, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    record = read_json(next((tmp_path / "logs" / "pyramnet_shapes").rglob("metrics.json")))
    assert record["metrics"]["test/acc"] > 0.5, "the demo should learn the synthetic shapes"
    assert os.path.basename(os.path.dirname(record["checkpoint"])) == "checkpoints"


# ---- hardening (issue 13): hostile configs, unsafe or missing checkpoints, runs that must not be overwritten --


def test_a_hostile_hydra_callback_never_runs(tmp_path: Path) -> None:
    """Hydra builds hydra.callbacks before the task function starts: run.py's preflight must refuse it first."""
    hub, marker = tmp_path / "hub", tmp_path / "hub_ran"
    hub.mkdir()
    (hub / "hubconf.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef model():\n    return 1\n")
    evil = f"+hydra.callbacks.evil={{_target_: torch.hub.load, repo_or_dir: '{hub}', model: model, source: local}}"
    assert_clear_error(run_cli([*TINY_SHAPES, evil, "debug=fdr"], tmp_path), "Error:", "hydra.callbacks.evil")
    assert not marker.exists() and not (tmp_path / "logs").exists()


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (["seed=1.5"], "seed must be an integer"),
        (["seed=-1"], "seed must be an integer"),
        (["seed=4294967296"], "seed must be an integer"),
        (["trainer.max_epochs=abc"], "trainer.max_epochs must be an integer"),
        (["trainer.max_epochs=-3"], "trainer.max_epochs must be an integer"),
        (["+trainer.max_epoch=3"], "did you mean trainer.max_epochs"),
        (["model.optimizer.lr=-1"], "model.optimizer.lr"),
        (["model.optimizer.lr=abc"], "model.optimizer.lr"),
        (["data.batch_size=1", "trainer.max_epochs=1"], "BatchNorm"),
        (["ckpt_path=last"], "holds none"),
        (["ckpt_path=best", "task=test"], "holds none"),
    ],
)
def test_bad_values_get_a_paragraph(overrides: list[str], fragment: str, tmp_path: Path) -> None:
    """In process (each value's check raises a UserError naming it, and leaves no run record); how run.py prints
    such an error as a paragraph is checked once per kind of check in ``test_bad_values_print_a_paragraph``."""
    from zoo.errors import UserError

    with pytest.raises(UserError) as refused:
        run(compose_run_config([*TINY_SHAPES, *overrides], tmp_path / "run"))
    assert fragment in str(refused.value) and "Fix:" in str(refused.value)
    assert not list(tmp_path.rglob("metrics.json")), "no run record for a refused run"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (["seed=1.5"], "seed must be an integer"),
        (["+trainer.max_epoch=3"], "did you mean trainer.max_epochs"),
        (["data.batch_size=1", "trainer.max_epochs=1"], "BatchNorm"),
    ],
)
def test_bad_values_print_a_paragraph(overrides: list[str], fragment: str, tmp_path: Path) -> None:
    out = run_cli([*TINY_SHAPES, *overrides], tmp_path)
    assert_clear_error(out, "Error:", "Fix:", fragment)
    assert not list((tmp_path / "logs").rglob("metrics.json")), "no run record for a refused run"


def test_an_unusable_cache_dir_is_named(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    out = run_cli([*TINY_SHAPES, "debug=fdr"], tmp_path, ZOO_CACHE_DIR=str(tmp_path / "a_file"))
    assert_clear_error(out, "Error:", "ZOO_CACHE_DIR", "is a file")


def test_a_finished_run_is_never_overwritten_unless_asked(tmp_path: Path) -> None:
    run_dir = tmp_path / "the_run"
    first = run_cli([*TINY_SHAPES, "trainer.max_epochs=1", f"hydra.run.dir={run_dir}"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    record, log_rows = (run_dir / "metrics.json").read_text(), (run_dir / "csv" / "metrics.csv").read_text()
    again = run_cli([*TINY_SHAPES, "trainer.max_epochs=1", "seed=3", f"hydra.run.dir={run_dir}"], tmp_path)
    assert_clear_error(again, "already holds a run", "overwrite=true")
    assert (run_dir / "metrics.json").read_text() == record
    resumed = run_cli(
        [*TINY_SHAPES, "trainer.max_epochs=2", "ckpt_path=last", f"hydra.run.dir={run_dir}"], tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert read_json(run_dir / "metrics.json")["epochs"] == 2
    replaced = run_cli(
        [*TINY_SHAPES, "trainer.max_epochs=1", "seed=3", "overwrite=true", f"hydra.run.dir={run_dir}"],
        tmp_path,
    )
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    assert read_json(run_dir / "metrics.json")["seed"] == 3
    rows = (run_dir / "csv" / "metrics.csv").read_text().splitlines()
    assert len(rows) == len(log_rows.splitlines()), "the replaced run's log rows are gone, not mixed in"


def test_a_damaged_checkpoint_is_refused_for_test(tiny_fit: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.ckpt"
    flip_tensor_bytes(Path(read_json(tiny_fit / "metrics.json")["checkpoint"]), damaged)
    out = run_cli([*TINY_SHAPES, "task=test", f"ckpt_path={damaged}"], tmp_path)
    assert_clear_error(out, "Error:", "damaged.ckpt", "CRC")


def test_a_sweep_whose_every_trial_failed_says_so(tmp_path: Path) -> None:
    args = [
        "-m",
        *TINY_SHAPES,
        "hparams_search=pyramnet_optuna",
        "debug=limit",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.sampler.n_startup_trials=2",
        "model.optimizer.lr=choice(-1.0)",
        "data.batch_size=choice(16)",
        "model.net.dropout=choice(0.35)",
    ]
    out = run_cli(args, tmp_path)
    assert_clear_error(out, "every trial of the sweep failed", "Fix:")
    outcome = yaml.safe_load(
        next((tmp_path / "logs" / "multiruns").glob("*/optimization_results.yaml")).read_text()
    )
    assert outcome["best_params"] is None and outcome["completed_trials"] == 0


def test_run_records_get_the_users_normal_permissions(tiny_fit: Path) -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    for name in ("metrics.json", "environment.json", "config.yaml"):
        assert (tiny_fit / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


@pytest.mark.parametrize("method", ["learn", "sdne", "line", "deepwalk"])
def test_a_graph_checkpoint_loads_without_a_datamodule(
    method: str, shared_data_dir: Path, tmp_path: Path
) -> None:
    """The data hook's point: the model is rebuilt from the checkpoint alone (sizes and adjacency travel in it)."""
    import importlib

    name = f"{method}_cora_clustering"
    overrides = [*experiment_overrides(name, shared_data_dir, tmp_path), "trainer.max_epochs=1"]
    overrides += ["trainer.enable_progress_bar=false", "model.tsne=false"]
    run(compose_run_config(overrides, tmp_path))
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    cfg = compose_run_config(overrides, tmp_path / "again")
    module_path, class_name = cfg.model._target_.rsplit(".", 1)
    cls = getattr(importlib.import_module(module_path), class_name)
    loaded = cls.load_from_checkpoint(ckpt, weights_only=True)
    assert loaded.data_description["rowptr"].numel() == 2708 + 1  # Cora's vertices, from the checkpoint
    z = loaded.embed()
    assert z.shape[0] == 2708 and torch.isfinite(z).all()
    saved = torch.load(ckpt, weights_only=True)["state_dict"]
    for key, value in loaded.state_dict().items():
        torch.testing.assert_close(value, saved[key], msg=key)


def test_learn_runs_on_a_users_own_weighted_graph_from_the_command_line(tmp_path: Path) -> None:
    """The README's own-data path: an edge list with names and weights, a labels file, LEARN's record."""
    from tests.datamodules.graphs.test_edgelist import write_planted_graph

    edges, labels = write_planted_graph(tmp_path)
    overrides = [
        "experiment=learn_cora_clustering",
        "data.dataset=edgelist",
        f"data.edges_file={edges}",
        f"data.labels_file={labels}",
        f"data.cache_dir={tmp_path / 'cache'}",
        "data.samples.num_walks=10",
        "data.samples.walk_length=4",
        "model.layers=[64,16]",
        "model.tsne=false",
        "trainer.max_epochs=3",
        "trainer.enable_progress_bar=false",
    ]
    run(compose_run_config(overrides, tmp_path))
    record = read_json(tmp_path / "metrics.json")
    assert 0.0 <= record["metrics"]["test/nmi"] <= 1.0 and record["metrics"]["train/loss"] >= 0.0
    assert record["epochs"] == 3


def test_fan_trained_on_ddti_is_evaluated_on_the_udtn_sample(shared_data_dir: Path, tmp_path: Path) -> None:
    """fan_udtn_eval's documented path: a FAN fitted on DDTI (a few batches here), then task=test on UD-TN."""
    fit_dir = tmp_path / "fit"
    fit = [*experiment_overrides("fan_ddti_eta56_kappa2", shared_data_dir, tmp_path), "debug=limit"]
    run(compose_run_config([*fit, "trainer.max_epochs=1"], fit_dir))
    checkpoint = read_json(fit_dir / "metrics.json")["checkpoint"]
    assert checkpoint and Path(checkpoint).is_file()
    evaluation = tmp_path / "udtn"
    overrides = [*experiment_overrides("fan_udtn_eval", shared_data_dir, tmp_path), f"ckpt_path={checkpoint}"]
    run(compose_run_config(overrides, evaluation))
    record = read_json(evaluation / "metrics.json")
    assert record["experiment"] == "fan_udtn_eval" and 0.0 <= record["metrics"]["test/acc"] <= 1.0
    assert "test/pointing_game" not in record["metrics"]  # UD-TN has no masks
    assert (evaluation / "cam_overlays.png").is_file()
