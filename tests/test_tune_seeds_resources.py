"""--seed-list and the resource checks: bad input is one line and exit 2 before Ray starts;
a good seed list becomes the sweep's seed axis."""

import argparse

import pytest

from sparsenet.tune import resources
from sparsenet.tune.cli import SweepError, add_common_args, fill_defaults

from conftest import assert_one_line, run_before_ray
from sweep_helpers import load_sweep


@pytest.mark.parametrize("args, message", [
    (["--seeds", "2", "--seed-list", "42"], "give --seeds N or --seed-list"),
    (["--seed-list", "3", "-1"], "seeds must be >= 0, got -1"),
    (["--seed-list", "42", "7", "42"], "each seed once, got 42 more than once"),
])
def test_bad_seed_lists_are_one_line(tmp_path, args, message):
    code, err = run_before_ray("imp_sparsity", "--quick", "--storage", str(tmp_path), *args)
    assert_one_line(code, err, message)
    assert not any(tmp_path.iterdir())


def test_seed_list_replaces_the_seed_axis_of_every_sweep(tmp_path, capsys):
    imp = load_sweep("imp_sparsity")
    [(sweep, args)] = imp.build(["--quick", "--seed-list", "42", "7", "--storage",
                                 str(tmp_path)])
    from sparsenet.tune.cli import validate

    configs = validate(sweep, args)
    assert sorted({c.seed for c in configs}) == [7, 42]
    assert len(configs) == 2 * 2  # two seeds x winning/random
    noise = load_sweep("noise_robustness")
    [(sweep, args)] = noise.build(["--quick", "--controls", "--seed-list", "5", "--storage",
                                   str(tmp_path), "--control-kinds", "dense"])
    configs = validate(sweep, args)
    assert [c.control.seed for c in configs] == [5]


def test_seed_list_dry_run_counts_its_trials(tmp_path, capsys):
    code, err = run_before_ray("imp_sparsity", "--quick", "--seed-list", "42", "--storage",
                               str(tmp_path), "--dry-run")
    assert code == 0, err
    assert "2 trials of imp" in capsys.readouterr().out


def parsed(*argv):
    parser = argparse.ArgumentParser()
    add_common_args(parser, default_name="x")
    args = parser.parse_args(list(argv))
    fill_defaults(args, {"seeds": 1}, {"seeds": 1})
    return args


def test_gpus_asked_for_on_a_machine_without_one_fail_fast(tmp_path):
    if resources.visible_gpus():
        pytest.skip("this machine has a GPU")
    code, err = run_before_ray("imp_sparsity", "--quick", "--storage", str(tmp_path),
                               "--gpus-per-trial", "1")
    assert_one_line(code, err, "--gpus-per-trial 1 but torch sees no GPU")
    assert not any(tmp_path.iterdir())
    # logical GPUs (--num-gpus) are the user's explicit choice and pass the check
    assert resources.local_problem(parsed("--gpus-per-trial", "0.25", "--num-gpus", "1")) is None
    assert "more than --num-gpus" in resources.local_problem(
        parsed("--gpus-per-trial", "2", "--num-gpus", "1"))


def test_more_cpus_per_trial_than_the_machine_fail_fast(tmp_path):
    code, err = run_before_ray("imp_sparsity", "--quick", "--storage", str(tmp_path),
                               "--cpus-per-trial", "512")
    assert_one_line(code, err, "--cpus-per-trial 512 is more than the")
    code, err = run_before_ray("noise_robustness", "--quick", "--controls", "--storage",
                               str(tmp_path), "--cpus-per-trial", "2", "--num-cpus", "1")
    assert_one_line(code, err, "more than the 1 CPU(s) of --num-cpus")
    assert not any(tmp_path.iterdir())


def test_a_joined_cluster_is_only_warned_about():
    args = parsed("--address", "auto", "--gpus-per-trial", "0.5")
    # no local check with --address: an autoscaling cluster may add GPU nodes
    message = resources.cluster_warning(args, {"CPU": 8.0})
    assert message.startswith("warning: ") and "--gpus-per-trial 0.5" in message
    assert "autoscaler" in message
    assert resources.cluster_warning(args, {"CPU": 8.0, "GPU": 1.0}) is None
    assert "--cpus-per-trial 4" in resources.cluster_warning(
        parsed("--cpus-per-trial", "4"), {"CPU": 2.0})


def test_sweep_error_is_raised_by_fill_defaults_for_both_seed_flags():
    parser = argparse.ArgumentParser()
    add_common_args(parser, default_name="x")
    args = parser.parse_args(["--seeds", "3", "--seed-list", "1"])
    with pytest.raises(SweepError, match="not both"):
        fill_defaults(args, {"seeds": 1}, {"seeds": 1})


@pytest.mark.parametrize("sweep_name, extra, trials", [
    ("imp_sparsity", [], "4 trials of imp"),
    ("noise_robustness", ["--controls", "--control-kinds", "dense"], "2 trials"),
    ("dendrites_pmnist", [], "4 trials of continual"),
    ("dendrites_split_cifar", [], "trials of continual"),
])
def test_every_sweep_dry_runs_with_seed_list_alone(tmp_path, capsys, sweep_name, extra,
                                                    trials):
    """How a user adds seeds: --seed-list without --seeds. The permuted sweep filled its
    defaults twice and refused it ("not both"); reverting the idempotence in
    ``fill_defaults`` fails the dendrites_pmnist case."""
    code, err = run_before_ray(sweep_name, "--quick", "--seed-list", "13", "14", "--storage",
                               str(tmp_path), "--dry-run", *extra)
    assert code == 0, err
    out = capsys.readouterr().out
    assert trials in out, out
    from sparsenet.tune.cli import validate

    plan = load_sweep(sweep_name).build(["--quick", "--seed-list", "13", "14", "--storage",
                                         str(tmp_path), *extra])
    for sweep, args in plan:
        seeds = {getattr(c, "seed", None) if getattr(c, "control", None) is None
                 else c.control.seed for c in validate(sweep, args)}
        assert seeds == {13, 14}, (sweep_name, seeds)


def test_fill_defaults_twice_keeps_the_seed_list():
    parser = argparse.ArgumentParser()
    add_common_args(parser, default_name="x")
    args = parser.parse_args(["--seed-list", "3", "4", "5"])
    fill_defaults(args, {"seeds": 1}, {"seeds": 1})
    fill_defaults(args, {"lr": 0.1}, {"lr": 0.2})
    assert args.seeds == 3 and args.seed_list == [3, 4, 5] and args.lr == 0.1
