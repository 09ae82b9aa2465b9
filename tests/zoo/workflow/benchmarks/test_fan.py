import pytest

from zoo.workflow.benchmarks import fan


def test_a_fan_network_reports_rates_memory_and_its_parameter_count() -> None:
    result = fan.throughput("FAN η=7 κ=1", "cpu", repeats=1)
    assert result["train_images_s"] > 0 and result["infer_images_s"] > 0 and result["peak_mib"] > 0
    assert result["params"] == pytest.approx(774_386)  # the trunk the FAN page reports


def test_every_named_network_builds() -> None:
    for name in fan.NETWORKS:
        assert sum(p.numel() for p in fan.build(name).parameters()) > 0


def test_the_table_has_a_row_per_network(monkeypatch: pytest.MonkeyPatch) -> None:
    published = {}
    monkeypatch.setattr(
        fan,
        "in_subprocess",
        lambda module, *args: {
            "train_images_s": 4.0,
            "infer_images_s": 20.0,
            "peak_mib": 512.0,
            "params": 7.7e5,
        },
    )
    monkeypatch.setattr(fan, "publish", lambda name, table, data: published.update(table=table, data=data))
    monkeypatch.setattr(fan.torch.cuda, "is_available", lambda: False)
    fan.main(repeats=1)
    rows = [line for line in published["table"].splitlines() if line.startswith("| cpu |")]
    assert len(rows) == len(fan.NETWORKS) == len(published["data"])
    assert rows[0] == "| cpu | FAN η=7 κ=1 | 0.77 M | 4.0 | 20.0 | 512 |"
