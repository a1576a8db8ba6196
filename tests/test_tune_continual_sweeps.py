"""The continual-learning sweeps end to end on a real local Ray cluster, and their checks."""

import pandas as pd
import pytest

from sweep_helpers import run_main


@pytest.mark.parametrize("name, args, message", [
    ("dendrites_pmnist", ["--models", "resnet"], "invalid choice"),
    ("dendrites_pmnist", ["--tasks", "0"], "num_tasks must be >= 1"),
    ("dendrites_pmnist", ["--dataset", "nope"], "unknown dataset"),
    ("dendrites_split_cifar", ["--tasks", "3"], "do not split evenly into 3 tasks"),
    ("dendrites_split_cifar", ["--dataset", "cifar100", "--data-dir", "/nonexistent"],
     "offline alternatives"),
])
def test_bad_input_fails_with_one_line_before_ray(tmp_path, name, args, message):
    code, err = run_main(name, "--quick", "--storage", str(tmp_path), *args)
    assert code == 2
    assert message in err
    assert not any(tmp_path.iterdir())


@pytest.mark.ray
def test_pmnist_quick_sweep_fills_the_accuracy_matrix(tmp_path):
    code, _ = run_main("dendrites_pmnist", "--quick", "--tasks", "2", "--storage", str(tmp_path),
                       "--name", "pm", "--num-cpus", "2")
    assert code == 0
    matrix = pd.read_csv(tmp_path / "pm" / "continual.csv")
    assert set(matrix["model"]) == {"mlp", "active_dendrites_mlp"}
    assert set(matrix[matrix["model"] == "active_dendrites_mlp"]["context"]) == {"onehot"}
    assert set(matrix[matrix["model"] == "mlp"]["context"]) == {"none"}
    for _, trial in matrix.groupby("trial_id"):  # R[t, i] for i <= t: 1 + 2 rows
        assert sorted(zip(trial["task_trained"], trial["task_evaluated"])) == [(0, 0), (1, 0), (1, 1)]
    assert matrix["accuracy"].max() > 0.5


@pytest.mark.ray
def test_split_cifar_quick_sweep_runs_all_variants_and_task_id_baselines(tmp_path):
    code, _ = run_main("dendrites_split_cifar", "--quick", "--epochs", "1", "--task-id-baselines",
                       "--dataset", "synthetic:3,32,32,4,160,80", "--no-augment",
                       "--storage", str(tmp_path), "--name", "sc", "--num-cpus", "2")
    assert code == 0
    main = pd.read_csv(tmp_path / "sc" / "continual.csv")
    assert set(main["model"]) == {"cnn", "sparse_cnn", "active_dendrites_cnn"}
    # each model ran with the settings the paper chose for it
    batch = main.groupby("model")["batch_size"].first().to_dict()
    assert batch == {"cnn": 64, "sparse_cnn": 32, "active_dendrites_cnn": 128}
    baselines = pd.read_csv(tmp_path / "sc_task_id" / "continual.csv")
    assert set(baselines["model"]) == {"cnn", "sparse_cnn"}
    assert set(baselines["context"]) == {"onehot"} and baselines["context_input"].all()
