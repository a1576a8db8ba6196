"""dendrites_split_cifar's reference flags: per-model configs, and one line + exit 2 when bad."""

import pytest

from sweep_helpers import load_sweep, run_main

SYNTH = ["--quick", "--dataset", "synthetic:3,32,32,4,160,80"]


def configs(*argv):
    sweep = load_sweep("dendrites_split_cifar")
    return [c for s, _ in sweep.build([*SYNTH, *argv]) for c in s.configs()]


def test_defaults_reach_the_sparse_models_only():
    cfgs = configs("--task-id-baselines")
    assert len(cfgs) == 5
    for c in cfgs:
        assert c.label_remap == "correct"
        if c.model == "cnn":
            assert c.fc_init is None and c.mask_layout is None
        else:
            assert (c.fc_init, c.mask_layout) == ("density", "fan_in")


def test_paper_flags_reach_every_config():
    cfgs = configs("--label-remap", "paper", "--fc-init", "paper", "--mask-layout", "layer",
                   "--task-id-baselines")
    assert {c.label_remap for c in cfgs} == {"paper"}
    sparse = [c for c in cfgs if c.model != "cnn"]
    assert len(sparse) == 3 and {(c.fc_init, c.mask_layout) for c in sparse} == {("paper", "layer")}


@pytest.mark.parametrize("args, message", [
    (["--label-remap", "buggy"], "unknown label_remap 'buggy'"),
    (["--fc-init", "xavier"], "unknown fc_init 'xavier'"),
    (["--mask-layout", "rows"], "unknown mask_layout 'rows'"),
])
def test_bad_values_fail_with_one_line_before_ray(tmp_path, args, message):
    code, err = run_main("dendrites_split_cifar", *SYNTH, "--storage", str(tmp_path), *args)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]
    assert not any(tmp_path.iterdir())


def test_ray_resolves_the_derived_values_as_the_sweep_does():
    """What Tune's variant generator makes of the param space is what Sweep.configs() says,
    and it resolves the derived values without falling back to the deprecated spec call."""
    import logging

    from ray.tune.search.variant_generator import generate_variants

    from sparsenet.tune.launch import _param_space

    sweep = load_sweep("dendrites_split_cifar")
    plans = [plan for plan, _ in sweep.build([*SYNTH, "--task-id-baselines", "--fc-init",
                                              "paper"])]
    expected = sorted((c.model, c.context, c.fc_init) for p in plans for c in p.configs())
    warnings: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    ray_sampling = logging.getLogger("ray.tune.search.sample")  # Ray's loggers do not propagate
    ray_sampling.addHandler(handler)
    try:
        resolved = [cfg for p in plans for _, cfg in generate_variants(_param_space(p, None))]
    finally:
        ray_sampling.removeHandler(handler)
    assert sorted((r["model"], r["context"], r["fc_init"]) for r in resolved) == expected
    assert not [w for w in warnings if "deprecated" in w]
