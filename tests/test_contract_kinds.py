"""Every experiment kind end to end without Ray: a few steps on ``digits``, then its rows
go through analysis's tidy builder for that kind (what a sweep's result.json feeds it)."""

import pandas as pd
import pytest

from analysis.tidy import _build
from sparsenet.experiments.common import Experiment
from sparsenet.experiments.continual import ContinualConfig
from sparsenet.experiments.imp import IMPConfig
from sparsenet.experiments.noise import ControlConfig, NoiseConfig
from sparsenet.experiments.registry import get_experiment
from sparsenet.schema import EXPERIMENTS, KINDS, acc_key


def run_kind(config, **kwargs):
    """All steps of a tiny run, as Tune would record them (config keys, then the row)."""
    _, experiment_cls = get_experiment(config.kind)
    exp = experiment_cls(config, device="cpu", **kwargs)
    assert isinstance(exp, Experiment)
    flat = config.to_flat()
    # as analysis.loading reads params.json: list-valued config becomes a (hashable) tuple
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in flat.items()}
    rows = []
    while not exp.done:
        rows.append({"trial_id": "t0", **params, **exp.step()})
    frames = _build(config.kind, pd.DataFrame(rows), list(flat), None)
    assert sorted(frames) == sorted(EXPERIMENTS[config.kind].tidy_frames)
    return rows, frames


@pytest.fixture(scope="module")
def imp_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("imp_trial")
    config = IMPConfig(dataset="digits", rounds=1, epochs_per_round=1, batch_size=64,
                       rate_hidden=0.5, rate_output=0.5)
    return folder, run_kind(config, artifact_dir=folder)


def test_imp_rows_become_one_tidy_row_per_round(imp_run):
    _, (rows, frames) = imp_run
    tidy = frames["imp"]
    assert len(rows) == 2 and list(tidy["round"]) == [0, 1]
    assert tidy["weights_remaining"].iloc[1] == pytest.approx(0.5, abs=0.01)
    assert (tidy["arch"] == "lenet300_100").all() and tidy["test_acc"].between(0, 1).all()


def test_noise_tickets_and_control_rows_become_tidy_cells(imp_run):
    folder, _ = imp_run
    tickets = NoiseConfig(imp_dir=str(folder), pruned_fractions=(0.5,), levels=(0.0, 0.2),
                          noise_types=("zero",))
    rows, frames = run_kind(tickets)
    assert [r["network"] for r in rows] == ["dense", "winning@0.50"]
    assert len(frames["noise"]) == 4 and len(frames["noise_scores"]) == 2
    control = NoiseConfig(control=ControlConfig(kind="both", dataset="digits", epochs=1,
                                                hidden=(32,), batch_size=64),
                          levels=(0.0,), noise_types=("zero",))
    rows, frames = run_kind(control)
    cell = frames["noise"].iloc[0]
    assert cell["network"] == "control:both" and cell["accuracy"] == rows[-1][acc_key("zero", 0)]


def test_continual_rows_become_the_accuracy_matrix():
    config = ContinualConfig(dataset="digits", stream="split", num_tasks=2,
                             model="active_dendrites_mlp", hidden=(32,), epochs_per_task=1,
                             batch_size=64)
    rows, frames = run_kind(config)
    matrix = frames["continual"]
    assert len(rows) == 2
    assert sorted(zip(matrix["task_trained"], matrix["task_evaluated"])) == [(0, 0), (1, 0),
                                                                              (1, 1)]
    assert matrix["accuracy"].between(0, 1).all()


def test_the_contract_covers_every_kind():
    assert set(KINDS) == {"imp", "noise", "continual"}
