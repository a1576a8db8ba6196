"""Every sweep checks its arguments and configs before Ray starts and exits 2 with one clear
line: unknown dataset or network, rates outside their range, an unwritable results folder,
a dataset missing offline, a ``--resume`` of a folder that is not an experiment, an
existing experiment that would be overwritten. (The IMP sweep's own cases are in
test_tune_imp_sweep.py; pmnist's model / task-count cases in test_tune_continual_sweeps.py.)"""

import pytest

from conftest import assert_one_line, run_before_ray
from sweep_helpers import ROOT

# Each sweep with the arguments that make it do something on its --quick budget, and the
# experiment folder that would be written under --storage.
SWEEPS = {
    "imp_sparsity": (["--quick"], "imp_sparsity"),
    "noise_robustness": (["--quick", "--controls"], "noise_robustness_controls"),
    "dendrites_pmnist": (["--quick"], "dendrites_pmnist"),
    "dendrites_split_cifar": (["--quick"], "dendrites_split_cifar"),
}
PRESENT = [name for name in SWEEPS if (ROOT / "sweeps" / f"{name}.py").exists()]


def run(name, storage, *args):
    """A sweep's main() in-process with its --quick arguments; Ray must not start."""
    base, _ = SWEEPS[name]
    return run_before_ray(name, *base, "--storage", str(storage), *args)


@pytest.mark.parametrize("name, args, message", [
    ("noise_robustness", ["--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    ("noise_robustness", ["--control-weight-sparsity", "1.5"], "must be in [0, 1), got 1.5"),
    ("noise_robustness", ["--control-kw", "0"], "kw_fraction must be in (0, 1], got 0.0"),
    ("noise_robustness", ["--levels", "0", "1.5"], "levels must be in [0, 1], got 1.5"),
    ("noise_robustness", ["--pruned", "1.2"], "pruned fractions must be in (0, 1), got 1.2"),
    ("noise_robustness", ["--control-hidden", "0"], "hidden sizes must be positive"),
    ("dendrites_pmnist", ["--lr", "-1"], "lr must be > 0"),
    ("dendrites_pmnist", ["--segments", "0"], "num_segments must be >= 1"),
    ("dendrites_pmnist", ["--hidden", "0"], "hidden must be positive"),
])
def test_bad_values_are_one_line_before_ray(tmp_path, name, args, message):
    code, err = run(name, tmp_path, *args)
    assert_one_line(code, err, message)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name, args", [
    ("noise_robustness", ["--control-kinds", "resnet"]),
    ("dendrites_pmnist", ["--models", "resnet"]),
])
def test_unknown_network_is_refused_by_the_parser(tmp_path, name, args):
    code, err = run(name, tmp_path, *args)
    assert code == 2 and "invalid choice: 'resnet'" in err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name", PRESENT)
def test_unwritable_results_folder(tmp_path, name):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = run(name, blocker / "sub")
    assert_one_line(code, err, "is not writable")


@pytest.mark.parametrize("name", PRESENT)
def test_dataset_missing_offline(tmp_path, monkeypatch, name):
    import sparsenet.data.sources as sources

    monkeypatch.setattr(sources, "reachable", lambda *a, **k: False)  # no network
    dataset = "cifar10" if name == "dendrites_split_cifar" else "mnist"
    code, err = run(name, tmp_path / "out", "--dataset", dataset, "--data-dir",
                    str(tmp_path / "empty"))
    assert_one_line(code, err, "offline alternatives")
    assert f"'{dataset}' is unavailable" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("name", PRESENT)
def test_resume_needs_an_experiment_and_results_are_never_overwritten(tmp_path, name):
    folder = tmp_path / SWEEPS[name][1]
    code, err = run(name, tmp_path, "--resume")  # nothing there
    assert_one_line(code, err, "is not a sparsenet experiment to resume")
    folder.mkdir()
    (folder / "precious.csv").write_text("keep me")
    code, err = run(name, tmp_path, "--resume")  # something, but not an experiment
    assert_one_line(code, err, "is not a sparsenet experiment to resume")
    code, err = run(name, tmp_path)  # a new run would write into it
    assert_one_line(code, err, "already holds results; pass --resume")
    assert [p.name for p in folder.iterdir()] == ["precious.csv"]
    assert (folder / "precious.csv").read_text() == "keep me"


def _closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address, message", [
    (None, "no Ray cluster answers there"),  # a dead head: Ray would retry for minutes
    ("headnode", "is not HOST:PORT"),
])
def test_an_address_no_cluster_answers_is_one_line_in_seconds(tmp_path, address, message):
    import time

    address = address or f"127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    code, err = run("dendrites_split_cifar", tmp_path, "--address", address)
    assert_one_line(code, err, message)
    assert time.monotonic() - start < 60
    assert not any(tmp_path.iterdir())  # no experiment folder that would then want --resume
