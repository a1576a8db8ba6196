"""--tracking: Ray Tune's MLflow callback on a real tiny sweep, logged to MLflow's local file
store; a tracker whose package is missing is one line before Ray starts."""

import importlib.util
import sys

import pytest

from sweep_helpers import load_sweep, run_main


@pytest.mark.parametrize("tracker", ["mlflow", "wandb"])
def test_missing_tracker_package_is_one_line(tmp_path, monkeypatch, tracker):
    """Both branches run whatever is installed (the test extra brings mlflow-skinny): the
    package is made missing as Python sees it, ``sys.modules[name] = None``, which makes
    ``importlib.util.find_spec`` answer None and ``import`` fail."""
    monkeypatch.setitem(sys.modules, tracker, None)
    assert importlib.util.find_spec(tracker) is None
    code, err = run_main("imp_sparsity", "--quick", "--storage", str(tmp_path),
                         "--tracking", tracker)
    assert code == 2 and err.strip().splitlines() == [
        f"error: --tracking {tracker} needs the {tracker} package: "
        f"pip install 'sparsenet[{tracker}]'"]
    assert not any(tmp_path.iterdir())


def test_unknown_tracker_is_refused_by_the_parser(tmp_path):
    code, err = run_main("imp_sparsity", "--quick", "--storage", str(tmp_path),
                         "--tracking", "neptune")
    assert code == 2 and "invalid choice: 'neptune'" in err


@pytest.mark.ray
def test_mlflow_tracking_logs_every_trial_to_a_local_file_store(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow >= 3 asks for the opt-in
    uri = (tmp_path / "mlruns").as_uri()
    code = load_sweep("imp_sparsity").main([
        "--quick", "--rounds", "1", "--epochs", "2", "--storage", str(tmp_path / "results"),
        "--name", "tracked", "--num-cpus", "2", "--tracking", "mlflow", "--tracking-uri", uri])
    assert code == 0
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tracked")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 2  # winning and random
    assert sorted(r.data.params["ticket"] for r in runs) == ["random", "winning"]
    for run in runs:
        history = client.get_metric_history(run.info.run_id, "test_acc")
        assert len(history) == 4  # rounds 0..1 x 2 epochs, one point per step()
        assert 0.1 < history[-1].value <= 1.0
        assert run.info.status == "FINISHED"
