"""Fair baselines (sparsenet.tune.search): the grid and proxy are checked before Ray,
only grid points that finished every proxy task can be chosen, and one command searches
on the validation split and runs the final seeds with each arm's chosen values."""

import json

import pandas as pd
import pytest

from sparsenet.tune.search import SearchGrid, SearchSettings, choose
from sweep_helpers import run_main


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": ()}, "at least one lr"),
    ({"lr": (1e-3, -1.0)}, "--tune-lr values must be > 0, got -1.0"),
    ({"epochs_per_task": (0,)}, "--tune-epochs values must be whole numbers >= 1, got 0"),
    ({"lr": (1e-3, 1e-3)}, "repeated values"),
])
def test_bad_grids_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        SearchGrid(**kwargs)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="--tune-tasks must be >= 1"):
        SearchSettings(grid=SearchGrid(), tasks=0)
    with pytest.raises(ValueError, match="unknown --tune-scheduler 'pbt'"):
        SearchSettings(grid=SearchGrid(), tasks=3, scheduler="pbt")


def test_choice_ignores_points_stopped_early_or_errored():
    records = [  # an early stop saw one task, so less forgetting: it must not win
        {"lr": 1e-3, "epochs_per_task": 3, "tasks_done": 1, "val_mean_accuracy": 0.99,
         "error": None},
        {"lr": 1e-4, "epochs_per_task": 3, "tasks_done": 3, "val_mean_accuracy": 0.90,
         "error": "RuntimeError"},
        {"lr": 3e-6, "epochs_per_task": 5, "tasks_done": 3, "val_mean_accuracy": 0.85,
         "error": None},
        {"lr": 5e-4, "epochs_per_task": 3, "tasks_done": 3, "val_mean_accuracy": 0.80,
         "error": None},
    ]
    assert choose(records, tasks=3) == {"lr": 3e-6, "epochs_per_task": 5,
                                        "val_mean_accuracy": 0.85}
    with pytest.raises(RuntimeError, match="no search trial finished"):
        choose(records[:1], tasks=3)


@pytest.mark.parametrize("args, message", [
    (["--tune", "--tune-lr", "0"], "--tune-lr values must be > 0, got 0.0"),
    (["--tune", "--tune-epochs", "2", "0"], "--tune-epochs values must be whole numbers"),
    (["--tune", "--tune-seed", "0"], "--tune-seed 0 is also a final seed"),
    (["--tune", "--tasks", "2", "--tune-tasks", "3"], "--tune-tasks 3 is more than"),
    (["--tune", "--tasks", "2", "3"], "--tune takes one --tasks value"),
    (["--tune", "--lr", "1e-3"], "--tune chooses lr and epochs per arm"),
    (["--tune", "--tune-val-fraction", "0"], "--tune-val-fraction must be in (0, 1)"),
    (["--tune-search-only"], "--tune-search-only goes with --tune"),
    (["--preset", "numenta", "--tasks", "7"], "preset numenta has no adn values for 7 tasks"),
    (["--preset", "paper", "--context-density", "2"], "context_density must be in (0, 1]"),
])
def test_bad_tune_or_preset_input_is_one_line_before_ray(tmp_path, args, message):
    import ray

    code, err = run_main("dendrites_pmnist", "--quick", "--storage", str(tmp_path), *args)
    assert not ray.is_initialized()
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert message in err, err
    assert not any(tmp_path.iterdir())


def test_unknown_preset_is_refused_by_the_parser(tmp_path):
    code, err = run_main("dendrites_pmnist", "--quick", "--preset", "zenke",
                         "--storage", str(tmp_path))
    assert code == 2 and "invalid choice: 'zenke'" in err


@pytest.mark.ray
def test_search_then_final_runs_record_the_choice(tmp_path):
    code, _ = run_main("dendrites_pmnist", "--quick", "--tune", "--models", "mlp",
                       "--tasks", "2", "--tune-lr", "1e-3", "3e-3", "--tune-epochs", "1",
                       "--tune-scheduler", "grid", "--hidden", "16", "16", "--seeds", "1",
                       "--num-cpus", "2", "--storage", str(tmp_path), "--name", "fair")
    assert code == 0
    exp = tmp_path / "fair"
    record = json.loads((exp / "chosen.json").read_text())
    pick = record["chosen"]["mlp"]
    assert record["search"]["split"] == "val" and record["search"]["seed"] == 1000
    assert record["final"] == {"seeds": [0], "num_tasks": 2, "split": "test"}
    trials = pd.read_csv(exp / "final" / "search_trials.csv")
    assert sorted(trials["lr"]) == [1e-3, 3e-3] and set(trials["tasks_done"]) == {2}
    best = trials.loc[trials["val_mean_accuracy"].idxmax()]
    assert trials["chosen"].sum() == 1 and best["chosen"]
    assert (best["lr"], best["epochs_per_task"]) == (pick["lr"], pick["epochs_per_task"])
    final = pd.read_csv(exp / "final" / "continual.csv")
    assert set(final["arm"]) == {"mlp"} and set(final["hp_source"]) == {"search"}
    assert set(final["lr"]) == {pick["lr"]} and set(final["seed"]) == {0}
    assert set(final["eval_split"]) == {"test"} and len(final) == 3  # R[0,0], R[1,0], R[1,1]


@pytest.mark.ray
def test_an_interrupted_search_stops_without_choosing_and_resumes(tmp_path):
    """Ctrl-C during the search must not pick from a partial grid (nor crash): it says how to
    continue, and --resume finishes the grid, then chooses and runs the final seeds."""
    from sweep_helpers import interrupt_once_reported

    argv = ["--quick", "--tune",
            "--models", "mlp", "--tasks", "2", "--tune-lr", "1e-3", "3e-3", "1e-2",
            "--tune-epochs", "1", "--tune-scheduler", "grid", "--hidden", "16", "16",
            "--seeds", "1", "--num-cpus", "1", "--max-concurrent", "1",
            "--storage", str(tmp_path), "--name", "fair"]
    code, out = interrupt_once_reported("dendrites_pmnist", argv,
                                        tmp_path / "fair" / "search" / "mlp")
    assert code == 130, out[-3000:]
    assert "was interrupted" in out and "--resume" in out and "Traceback" not in out
    assert not (tmp_path / "fair" / "chosen.json").exists()

    code, _ = run_main("dendrites_pmnist", *argv, "--resume")
    assert code == 0
    trials = pd.read_csv(tmp_path / "fair" / "search_trials.csv")
    assert sorted(trials["lr"]) == [1e-3, 3e-3, 1e-2] and set(trials["tasks_done"]) == {2}


@pytest.mark.ray
def test_search_only_records_the_choice_and_resume_runs_the_finals(tmp_path):
    """--tune-search-only stops after the search (choice recorded, no final run); the same
    command with --resume and without the flag runs the final seeds with that choice."""
    argv = ["--quick", "--tune", "--models", "mlp", "--tasks", "2", "--tune-lr", "1e-3", "3e-3",
            "--tune-epochs", "1", "--tune-scheduler", "grid", "--hidden", "16", "16",
            "--seeds", "1", "--num-cpus", "2", "--storage", str(tmp_path), "--name", "fair"]
    code, _ = run_main("dendrites_pmnist", *argv, "--tune-search-only")
    exp = tmp_path / "fair"
    assert code == 0 and not (exp / "final").exists()
    pick = json.loads((exp / "chosen.json").read_text())["chosen"]["mlp"]
    code, _ = run_main("dendrites_pmnist", *argv, "--resume")
    assert code == 0
    final = pd.read_csv(exp / "final" / "continual.csv")
    assert set(final["lr"]) == {pick["lr"]} and set(final["seed"]) == {0}


def test_tuned_final_runs_take_the_seed_list(tmp_path, capsys):
    """--seed-list names the final seeds of --tune (seeds added to an earlier tuned run);
    it used to be read as range(len(list)), silently running seeds 0..n-1 again."""
    code, err = run_main("dendrites_pmnist", "--quick", "--storage", str(tmp_path), "--tune",
                         "--seed-list", "3", "4", "--dry-run")
    assert code == 0, err
    assert "final runs (seeds 3, 4)" in capsys.readouterr().out
    code, err = run_main("dendrites_pmnist", "--quick", "--storage", str(tmp_path), "--tune",
                         "--seed-list", "3", "1000")
    assert code == 2 and "--tune-seed 1000 is also a final seed" in err, err
