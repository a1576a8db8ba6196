"""Loading experiment folders and building the tidy frames from result.json rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.loading import (ERROR, FINISHED, UNFINISHED, NotAnExperiment, load_experiment,
                              load_experiments)
from analysis.kinds.noise import noise_scores, tidy_noise
from analysis.tidy import tidy_frames, write_tidy
from test_analysis_fakes import (LEVELS, NOISE_EVALUATIONS, TOTAL, fake_continual, fake_imp,
                                 fake_noise, write_experiment, write_trial)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_analysis_never_imports_torch_or_ray():
    code = ("import pkgutil, importlib, sys, analysis\n"
            "for m in pkgutil.walk_packages(analysis.__path__, 'analysis.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad = [m for m in ('torch', 'ray') if m in sys.modules]\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_loader_finds_every_trial_and_marks_failed_ones(tmp_path):
    res = load_experiment(fake_imp(tmp_path))
    assert len(res.trials) == 8
    assert res.trials["status"].value_counts().to_dict() == {FINISHED: 6, ERROR: 1, UNFINISHED: 1}
    errored = res.trials[res.trials["status"] == ERROR].iloc[0]
    assert errored["error"] == "RuntimeError: CUDA out of memory"
    assert errored["seed"] == 3 and errored["ticket"] == "winning"
    # their completed steps are kept, marked with the status
    assert set(res.history["status"]) == {FINISHED, ERROR, UNFINISHED}
    assert (res.history["status"] == ERROR).sum() == 4  # 2 rounds x 2 epochs
    assert "config" not in res.history  # Tune's copy of the config is dropped
    assert {"seed", "ticket", "arch", "rounds"} <= set(res.config_columns)
    assert res.kinds == ["imp"]


def test_not_an_experiment_is_a_clear_error(tmp_path):
    with pytest.raises(NotAnExperiment, match="not a sparsenet experiment folder"):
        load_experiment(tmp_path)
    fake_imp(tmp_path, name="lenet")
    with pytest.raises(NotAnExperiment, match="it holds experiments: lenet"):
        load_experiment(tmp_path)
    with pytest.raises(NotAnExperiment, match="is not a folder"):
        load_experiment(tmp_path / "missing")
    odd = write_experiment(tmp_path, "odd", "imp", "x.py")
    (odd / "sparsenet_experiment.json").write_text(json.dumps({"kind": "gan"}))
    with pytest.raises(NotAnExperiment, match="unknown kind 'gan'; known: imp, noise, continual"):
        load_experiment(odd)


def test_restored_trial_keeps_latest_rows_and_counts_as_finished(tmp_path):
    """Tune re-reports iterations after a restore and appends to error.txt on each failure."""
    exp = write_experiment(tmp_path, "n", "noise", "noise_robustness.py")
    write_trial(exp, 0, {"seed": 0}, [{"network": "dense", "acc/zero/0": 0.5, "total": 10}] * 2)
    trial = [p for p in exp.iterdir() if p.is_dir()][0]
    lines = (trial / "result.json").read_text().splitlines()
    rerun = json.loads(lines[1])
    rerun["acc/zero/0"] = 0.7
    # iteration 2 was logged, the trial crashed, was restored and logged iteration 2 again,
    # and a half-written line follows (a sweep still writing)
    (trial / "result.json").write_text("\n".join([*lines, json.dumps(rerun), '{"trunc']) + "\n")
    (trial / "error.txt").write_text("Failure # 1 (occurred at x)\nboom\n")
    res = load_experiment(exp)
    assert res.trials["status"].tolist() == [FINISHED]
    assert res.trials["failures"].tolist() == [1]
    assert res.history["training_iteration"].tolist() == [1, 2]
    assert res.history["acc/zero/0"].tolist() == [0.5, 0.7]
    # not done yet: errored if nothing was reported after the failure, else running again
    (trial / "result.json").write_text("\n".join(lines[:1]) + "\n")
    os.utime(trial / "result.json", (1000, 1000))
    os.utime(trial / "error.txt", (2000, 2000))
    assert load_experiment(exp).trials["status"].tolist() == [ERROR]
    os.utime(trial / "result.json", (3000, 3000))
    assert load_experiment(exp).trials["status"].tolist() == [UNFINISHED]


def test_tidy_noise_from_flat_and_nested_keys(tmp_path):
    exp = write_experiment(tmp_path, "n", "noise", "noise_robustness.py")
    write_trial(exp, 0, {"seed": 0}, [
        {"network": "dense", "weights_remaining": 1.0, "total": 100,
         "acc/set_2sigma/0.1": 0.9, "acc/set_2sigma/0": 0.95},
        {"network": "winning@0.70", "weights_remaining": 0.3, "total": 100,
         "acc": {"set_2sigma": {"0.1": 0.8, "0": 0.97}}},
    ])
    res = load_experiment(exp)
    noise = tidy_noise(res.history, res.config_columns)
    assert len(noise) == 4
    row = noise[(noise["network"] == "winning@0.70") & (noise["level"] == 0.1)].iloc[0]
    assert row["accuracy"] == 0.8 and row["correct"] == 80 and row["total"] == 100
    scores = noise_scores(noise).set_index("network")["score"]
    assert scores["dense"] == 185 and scores["winning@0.70"] == 177


def test_tidy_frames_of_every_kind(tmp_path):
    res = load_experiments([fake_imp(tmp_path), fake_noise(tmp_path, seeds=2),
                            fake_continual(tmp_path, "pm", "permuted", seeds=1, num_tasks=3)])
    frames = tidy_frames(res)
    imp = frames["imp"]
    # one row per completed round: 6 finished x 7 rounds + errored 2 + unfinished 3
    assert len(imp) == 6 * 7 + 2 + 3
    assert {"exp_name", "trial_id", "status", "seed", "ticket", "round", "weights_remaining",
            "compression", "round_test_acc_at_best_val"} <= set(imp.columns)
    noise = frames["noise"]
    assert len(noise) == 2 * NOISE_EVALUATIONS * 2 * len(LEVELS)
    assert noise["total"].eq(TOTAL).all()
    assert set(noise["seed"]) == {0, 1}  # tickets-mode trials report it only in their rows
    scores = frames["noise_scores"]
    assert len(scores) == 2 * NOISE_EVALUATIONS * 2
    dense = scores[(scores["network"] == "dense") & (scores["noise"] == "zero")]
    assert len(dense) == 4  # each tickets trial evaluates its own dense round 0
    cont = frames["continual"]
    assert len(cont) == 2 * (1 + 2 + 3)  # two models, lower triangle of 3 tasks
    assert set(cont["stream"]) == {"permuted"}
    assert {"model", "context", "si", "num_tasks", "seed", "task_trained", "task_evaluated",
            "accuracy"} <= set(cont.columns)


def test_write_tidy_and_read_back_without_trial_folders(tmp_path):
    exp = fake_continual(tmp_path, "split", "split", seeds=2, num_tasks=3)
    written = write_tidy(exp)
    assert [p.name for p in written] == ["continual.csv"]
    built = tidy_frames(load_experiment(exp))["continual"]
    for folder in [p for p in exp.iterdir() if p.is_dir()]:  # only the CSV is left
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    from_csv = tidy_frames(load_experiment(exp))["continual"]
    cols = ["trial_id", "model", "seed", "task_trained", "task_evaluated", "accuracy"]
    pd.testing.assert_frame_equal(built[cols].reset_index(drop=True),
                                  from_csv[cols].reset_index(drop=True), check_dtype=False)
    assert set(from_csv["status"]) == {"finished"}  # as recorded when the CSV was written
