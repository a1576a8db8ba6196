"""Honest --resume (sparsenet.tune.resume): the flags given now are compared with the ones the
experiment record holds; what a resume could not apply is refused in one line, before Ray."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from sparsenet.schema import EXPERIMENT_FILE
from sparsenet.tune.cli import SweepError
from sparsenet.tune.resume import check_resume
from sweep_helpers import load_sweep, run_main

# A command in flight on this project's machine, started with the code before this check.
IN_FLIGHT = ["--dataset", "mnist", "--data-dir", "/root/data", "--seed-list", "3", "4", "5",
             "6", "--tickets", "winning", "--rounds", "28", "--num-cpus", "2",
             "--name", "imp_mnist_s3_6"]


@pytest.fixture
def imp():
    return load_sweep("imp_sparsity")


def _record(folder, argv, kind="imp"):
    """The record exactly as the code before this check wrote it (no new fields)."""
    folder.mkdir(parents=True)
    (folder / EXPERIMENT_FILE).write_text(json.dumps(
        {"kind": kind, "sweep": "imp_sparsity.py", "argv": argv, "trials": 4,
         "axes": {"seed": [3, 4, 5, 6], "ticket": ["winning"]},
         "started": "2026-12-07T10:00:00"}, indent=2))


def _in_flight(imp, tmp_path):
    argv = [*IN_FLIGHT, "--storage", str(tmp_path)]
    _record(tmp_path / "imp_mnist_s3_6", argv)
    return argv


def _check(imp, argv):
    check_resume(imp.build([*argv, "--resume"]), imp.build)


def test_the_in_flight_command_resumes_with_driver_flags_changed(imp, tmp_path):
    """Catches: a check that refuses the same command (an in-flight run could not go on), or
    one that refuses flags the driver applies itself (--verbose, --num-cpus, --address)."""
    argv = _in_flight(imp, tmp_path)
    _check(imp, argv)
    _check(imp, [*argv, "--verbose", "--num-cpus", "1", "--address", "auto"])


def test_a_changed_setting_is_refused_naming_each_flag_recorded_to_given(imp, tmp_path):
    """Catches: a resume that ignores a changed flag (``--epochs 1`` after a run with the
    preset's epochs), and a message that names only the first of several."""
    argv = _in_flight(imp, tmp_path)
    with pytest.raises(SweepError) as err:
        _check(imp, [*argv, "--epochs", "1", "--rounds", "5"])
    message = str(err.value)
    assert "\n" not in message
    assert "--epochs (unset) → 1" in message and "--rounds 28 → 5" in message
    assert "imp_mnist_s3_6" in message
    with pytest.raises(SweepError, match="--tickets winning → winning random"):
        _check(imp, [*argv, "--tickets", "winning", "random"])  # the last --tickets counts


def test_flags_tune_restores_from_the_first_run_are_refused_even_with_the_same_grid(imp,
                                                                                    tmp_path):
    """Catches: treating --max-concurrent / --cpus-per-trial / --data-dir as free: Tune
    restores the first run's settings and trials, so the given value would not apply."""
    argv = _in_flight(imp, tmp_path)
    with pytest.raises(SweepError, match="--max-concurrent 0 → 1"):
        _check(imp, [*argv, "--max-concurrent", "1"])
    with pytest.raises(SweepError, match="--cpus-per-trial 1.0 → 2.0"):
        _check(imp, [*argv, "--cpus-per-trial", "2"])
    with pytest.raises(SweepError, match="--data-dir /root/data → "):
        _check(imp, [*argv, "--data-dir", str(tmp_path)])


def test_other_flags_building_the_same_grid_are_accepted(imp, tmp_path):
    """Catches: comparing the flags alone (``--seeds 2`` builds the grid of ``--seed-list 0
    1``; the preset's own rounds given explicitly change nothing)."""
    _record(tmp_path / "imp_sparsity", ["--seed-list", "0", "1", "--storage", str(tmp_path)])
    check_resume(imp.build(["--seeds", "2", "--rounds", "35", "--storage", str(tmp_path),
                            "--resume"]), imp.build)
    with pytest.raises(SweepError, match="--seeds 2 → 3"):
        check_resume(imp.build(["--seeds", "3", "--storage", str(tmp_path), "--resume"]),
                     imp.build)


def test_same_flags_but_another_grid_names_the_config_fields(imp, tmp_path):
    """The code changed between the runs (same flags, other grid): the fields are named."""
    argv = _in_flight(imp, tmp_path)
    plan = imp.build([*argv, "--resume"])
    sweep = plan[0][0]
    sweep.base = dataclasses.replace(sweep.base, epochs_per_round=2)
    with pytest.raises(SweepError, match=r"grid differs .*epochs_per_round \d+ → 2"):
        check_resume(plan, imp.build)


def test_a_record_the_sweep_can_no_longer_parse_resumes_and_says_so(imp, tmp_path, capsys):
    _record(tmp_path / "imp_sparsity", ["--flag-from-another-age", "--storage", str(tmp_path)])
    check_resume(imp.build(["--storage", str(tmp_path), "--resume"]), imp.build)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("warning: --resume imp_sparsity")
    assert "no longer parse" in err and "recorded settings apply" in err


def test_a_plan_checks_each_of_its_experiments(tmp_path):
    """Split CIFAR with its task-id baselines: the second folder is compared as well."""
    split = load_sweep("dendrites_split_cifar")
    argv = ["--quick", "--task-id-baselines", "--storage", str(tmp_path), "--name", "sc"]
    for name in ("sc", "sc_task_id"):
        _record(tmp_path / name, argv, kind="continual")
    check_resume(split.build([*argv, "--resume"]), split.build)
    with pytest.raises(SweepError, match=r"--resume sc: .*--tasks 2 → 3"):
        check_resume(split.build([*argv, "--resume", "--tasks", "3"]), split.build)
    (tmp_path / "sc" / EXPERIMENT_FILE).unlink()  # now only the baselines' record is there
    with pytest.raises(SweepError, match=r"--resume sc_task_id: .*--tasks 2 → 3"):
        check_resume(split.build([*argv, "--resume", "--tasks", "3"]), split.build)


TINY = ["--quick", "--epochs", "1", "--rounds", "1", "--tickets", "winning", "--num-cpus", "1"]


@pytest.mark.ray
def test_resume_with_a_changed_flag_exits_2_before_ray_and_the_same_flags_continue(tmp_path):
    """The real command: ``--resume --epochs 2`` after ``--epochs 1`` exits 2 with one line
    and leaves the record untouched (Ray never started: the record is written once it
    runs); the same flags plus --verbose resume. Catches: sweep_main not calling the check."""
    args = [*TINY, "--storage", str(tmp_path), "--name", "imp"]
    code, err = run_main("imp_sparsity", *args)
    assert code == 0, err[-3000:]
    record = (tmp_path / "imp" / EXPERIMENT_FILE).read_text()

    start = time.monotonic()
    code, err = run_main("imp_sparsity", *args, "--resume", "--epochs", "2")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: --resume imp: ") and "--epochs 1 → 2" in err
    assert (tmp_path / "imp" / EXPERIMENT_FILE).read_text() == record
    assert time.monotonic() - start < 30

    code, err = run_main("imp_sparsity", *args, "--resume", "--verbose")
    assert code == 0, err[-3000:]
    assert json.loads((tmp_path / "imp" / EXPERIMENT_FILE).read_text())["resumed"]


def test_a_tuned_run_compares_its_arms_and_search(tmp_path, capsys):
    """``--tune``: the search grid is part of what a resume cannot change (a finished arm's
    search is kept); --tune-search-only may be dropped (the documented second step).
    Catches: a tuned resume that ignores a changed --tune-lr."""
    from sparsenet.tune.resume import check_tuned_resume, write_tuned_record

    pm = load_sweep("dendrites_pmnist")
    argv = ["--quick", "--tune", "--tune-lr", "1e-3", "2e-3", "--tune-epochs", "1",
            "--storage", str(tmp_path), "--name", "tuned"]
    exp_dir = tmp_path / "tuned"
    exp_dir.mkdir()
    check_tuned_resume(exp_dir, pm.build_tuned(argv), pm.build_tuned)  # no record yet
    assert "no record of its flags" in capsys.readouterr().err
    write_tuned_record(exp_dir, [*argv, "--tune-search-only"])
    check_tuned_resume(exp_dir, pm.build_tuned([*argv, "--resume"]), pm.build_tuned)
    changed = [a if a != "2e-3" else "5e-3" for a in argv]
    with pytest.raises(SweepError, match="--tune-lr 0.001 0.002 → 0.001 0.005"):
        check_tuned_resume(exp_dir, pm.build_tuned([*changed, "--resume"]), pm.build_tuned)


def test_tuned_main_refuses_a_changed_search_before_ray(tmp_path):
    """The command (``--dry-run`` stops before Ray): catches tuned_main not checking."""
    from sparsenet.tune.resume import write_tuned_record

    argv = ["--quick", "--tune", "--tune-lr", "1e-3", "--storage", str(tmp_path),
            "--name", "tuned"]
    (tmp_path / "tuned" / "search").mkdir(parents=True)
    write_tuned_record(tmp_path / "tuned", argv)
    assert run_main("dendrites_pmnist", *argv, "--resume", "--dry-run")[0] == 0
    code, err = run_main("dendrites_pmnist", *argv, "--resume", "--dry-run", "--tune-seed", "7")
    assert code == 2 and "--tune-seed 1000 → 7" in err and len(err.strip().splitlines()) == 1
