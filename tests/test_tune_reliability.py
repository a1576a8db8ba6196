"""Fault tolerance of sweeps on a real local Ray cluster: a trial whose process is killed
restarts from its checkpoint and ends with the numbers of an uninterrupted run; a killed
driver continues with ``--resume`` without re-running finished trials; a diverging trial
stops with its reason while the sweep goes on."""

import argparse
import json
import math
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from ray.tune import Callback

from sparsenet.experiments.imp import IMPConfig
from sparsenet.tune.cli import Sweep, add_common_args
from sparsenet.tune.launch import run_sweep
from sparsenet.tune.trainable import ExperimentTrainable
from sweep_helpers import kill_driver_after_first_trial

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("train_loss", "val_acc", "test_acc", "round_test_acc_at_best_val",
           "round_best_test_acc", "weights_remaining")


def sweep_args(tmp_path, *extra):
    parser = argparse.ArgumentParser()
    add_common_args(parser, default_name="reliability")
    args = parser.parse_args(["--storage", str(tmp_path), *extra])
    args.seeds = 1
    return args


def imp_config(**overrides):
    values = dict(dataset="digits", rounds=1, epochs_per_round=2, rate_hidden=0.5,
                  rate_output=0.5)
    values.update(overrides)
    return IMPConfig.from_preset("bain2022", **values)


def trial_rows(exp_dir):
    """{trial folder name: result.json rows} of an experiment folder."""
    out = {}
    for path in sorted(exp_dir.glob("*/result.json")):
        out[path.parent.name] = [json.loads(line) for line in path.read_text().splitlines()
                                 if line.strip()]
    return out


def run_in_process(config, folder, monkeypatch):
    """The uninterrupted reference: the same trainable, no Ray, no interruption."""
    folder.mkdir()
    monkeypatch.chdir(folder)
    trainable = ExperimentTrainable(config={"experiment": "imp", "data_dir": None,
                                            **config.to_flat()})
    rows = [trainable.train()]
    while not rows[-1]["done"]:
        rows.append(trainable.train())
    return rows


def test_trial_restored_from_its_final_checkpoint_ends_without_running_again(tmp_path,
                                                                             monkeypatch):
    """A driver killed between a trial's last checkpoint and its 'finished' record makes
    Tune restore the trial from that checkpoint: it must end at once, not raise."""
    monkeypatch.chdir(tmp_path)
    config = {"experiment": "imp", "data_dir": None, **imp_config(rounds=0).to_flat()}
    first = ExperimentTrainable(config=config)
    rows = [first.train(), first.train()]
    assert rows[-1]["done"]
    first.save_checkpoint(str(tmp_path))
    restored = ExperimentTrainable(config=config)
    restored.load_checkpoint(str(tmp_path))
    row = restored.train()
    assert row["done"] and "test_acc" not in row and row["device"] == "cpu"


_CHECKPOINT_REGISTERED = threading.Event()  # module level: Tune pickles its callbacks


class CheckpointRegistered(Callback):
    """Sets :data:`_CHECKPOINT_REGISTERED` once the driver has registered a checkpoint."""

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info):
        _CHECKPOINT_REGISTERED.set()


@pytest.mark.ray
def test_killed_trial_restarts_from_its_checkpoint_with_the_uninterrupted_numbers(
        tmp_path, monkeypatch):
    import ray
    from ray._private import state

    from sparsenet.tune import tracking

    epochs = 20  # small batches: round 1 must outlast finding and killing the trial's process
    config = imp_config(epochs_per_round=epochs, batch_size=16)
    args = sweep_args(tmp_path / "out", "--name", "killed", "--num-cpus", "1")
    sweep = Sweep(base=config)
    box = {}
    # The driver registers round 0's checkpoint after the trial wrote it; a trial killed in
    # between would restart from scratch. Wait for the registration itself (Tune calls its
    # callbacks' on_checkpoint as it registers one), not a fixed time.
    _CHECKPOINT_REGISTERED.clear()
    monkeypatch.setattr(tracking, "tracking_callbacks", lambda args: [CheckpointRegistered()])

    def drive():
        try:
            box["results"] = run_sweep(sweep, args, argv=[])[1]
        except BaseException as err:  # noqa: BLE001 - reported by the main thread
            box["error"] = err

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    exp_dir = tmp_path / "out" / "killed"
    deadline = time.monotonic() + 240
    while not _CHECKPOINT_REGISTERED.wait(timeout=0.05):  # round 0 done, saved, registered
        assert driver.is_alive() and time.monotonic() < deadline, box
    assert list(exp_dir.glob("*/checkpoint_000000/*"))
    actors = state.actors().values()
    alive = [a for a in actors if a["State"] == "ALIVE"
             and a["ActorClassName"].endswith(("ExperimentTrainable", "ResourceTrainable"))]
    assert len(alive) == 1, [(a["ActorClassName"], a["State"]) for a in actors]
    killed = alive[0]["Pid"]
    assert killed not in (0, os.getpid())
    os.kill(killed, signal.SIGKILL)
    driver.join(timeout=240)
    assert not driver.is_alive() and "error" not in box, box
    assert not ray.is_initialized()
    results = box["results"]
    assert [r.error for r in results] == [None]

    (rows,) = trial_rows(exp_dir).values()
    pids = list(dict.fromkeys(r["pid"] for r in rows))
    assert len(pids) == 2 and pids[0] == killed  # ran, was killed, ran again
    restarted = next(r for r in rows if r["pid"] == pids[1])
    assert restarted["training_iteration"] == epochs + 1  # from round 0's checkpoint
    assert restarted["round"] == 1 and restarted["epoch"] == 1
    final = rows[-1]
    assert final["done"] and final["training_iteration"] == 2 * epochs

    reference = run_in_process(config, tmp_path / "reference", monkeypatch)[-1]
    assert reference["training_iteration"] == final["training_iteration"]
    assert {k: final[k] for k in METRICS} == {k: reference[k] for k in METRICS}


def _process_group_gone(pgid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True)
        if not listed.stdout.split():
            return True
        time.sleep(0.2)
    for pid in subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True,
                              text=True).stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    return False


def _trial_statuses(exp_dir):
    """Trial statuses in the newest experiment state Tune saved (what a resume reads)."""
    states = sorted(exp_dir.glob("experiment_state-*.json"))
    if not states:
        return []
    try:
        data = json.loads(states[-1].read_text())
        return [json.loads(trial)["status"] for trial, _ in data["trial_data"]]
    except (ValueError, KeyError, OSError):  # being written
        return []


@pytest.mark.ray
def test_killed_driver_resumes_without_rerunning_finished_trials(tmp_path):
    sweep = load_imp_sweep()
    storage = tmp_path / "out"
    argv = ["--quick", "--rounds", "1", "--epochs", "30", "--storage", str(storage), "--name",
            "resumed", "--num-cpus", "1", "--max-concurrent", "1"]
    exp_dir = storage / "resumed"
    pid = kill_driver_after_first_trial(argv, tmp_path, lambda: _trial_statuses(exp_dir),
                                        timeout=240, poll=0.1)
    assert _process_group_gone(pid, timeout=30)

    before = trial_rows(exp_dir)
    finished = [name for name, rows in before.items() if rows and rows[-1].get("done")]
    assert len(finished) == 1
    code = sweep.main([*argv, "--resume"])
    assert code == 0
    after = trial_rows(exp_dir)
    assert len(after) == 2
    # The finished trial was not run again: its rows are exactly those of the first run.
    assert after[finished[0]] == before[finished[0]]
    assert [r["training_iteration"] for r in after[finished[0]]] == list(range(1, 61))
    for name, rows in after.items():
        assert rows[-1]["done"] and rows[-1]["round"] == 1 and rows[-1]["epoch"] == 30
        iterations = [r["training_iteration"] for r in rows]
        assert sorted(set(iterations)) == list(range(1, 61))
    record = json.loads((exp_dir / "sparsenet_experiment.json").read_text())
    assert len(record["resumed"]) == 1
    rounds = (exp_dir / "imp_rounds.csv").read_text().splitlines()
    assert len(rounds) == 1 + 2 * 2  # header + two trials x rounds 0..1


@pytest.mark.ray
def test_diverging_trial_stops_with_its_reason_while_the_sweep_goes_on(tmp_path):
    sweep = Sweep(base=imp_config(), axes={"lr": [1.2e-3, 1e12]})
    args = sweep_args(tmp_path, "--name", "diverging", "--num-cpus", "2")
    _, results = run_sweep(sweep, args, argv=[])
    assert [r.error for r in results] == [None, None]
    rows = {r[0]["config"]["lr"]: r for r in trial_rows(tmp_path / "diverging").values()}
    diverged, healthy = rows[1e12], rows[1.2e-3]
    assert len(diverged) == 1 and diverged[0]["done"]
    assert diverged[0]["stopped_reason"] == "diverged: train_loss=nan"
    assert math.isnan(diverged[0]["train_loss"])
    assert len(healthy) == 4 and healthy[-1]["done"] and healthy[-1]["round"] == 1
    assert all("stopped_reason" not in r for r in healthy)
    assert all(math.isfinite(r["train_loss"]) for r in healthy)


def load_imp_sweep():
    from sweep_helpers import load_sweep

    return load_sweep("imp_sparsity")
