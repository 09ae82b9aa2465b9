from zoo.workflow.benchmarks import safont


def test_training_rate_measures_a_real_gan_step() -> None:
    result = safont.training_rate("f512", "efficient", "cpu", batch=2, steps=1)
    assert result["images_per_s"] > 0 and result["peak_memory_mib"] > 0
