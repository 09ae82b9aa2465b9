from pathlib import Path

from zoo.provenance import environment_record, git_state, hardware_label


def test_environment_record_has_versions_device_and_git(tmp_path: Path) -> None:
    record = environment_record(Path(__file__).parents[2], seed=0, wall_time_s=1.234)
    assert record["seed"] == 0 and record["wall_time_s"] == 1.23
    assert record["packages"]["torch"] and record["device"]["cpu_count"] >= 1
    assert record["device"]["torch_threads"] >= 1
    assert record["peak_memory"]["cpu_rss_mib"] > 0
    assert set(record["git"]) == {"commit", "dirty"}
    assert git_state(tmp_path) == {"commit": None, "dirty": None}


def test_hardware_label() -> None:
    assert hardware_label({"cpu_count": 2}, "cpu", 1, "32-true") == "CPU 2 cores (32-true)"
    assert hardware_label({"cpu_count": 16, "gpu": "H100"}, "cuda", 2, "bf16-mixed") == "2× H100 (bf16-mixed)"


def test_ignored_paths_do_not_make_the_checkout_dirty(tmp_path) -> None:
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "a.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    (tmp_path / "bench" / "a.json").write_text("{1}")
    assert git_state(tmp_path)["dirty"] is True
    assert git_state(tmp_path, ignore=("bench",))["dirty"] is False
    (tmp_path / "code.py").write_text("x = 2")
    assert git_state(tmp_path, ignore=("bench",))["dirty"] is True
