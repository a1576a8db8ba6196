"""The GPU check: on a machine with one NVIDIA GPU, within ~8 minutes, everything sparsenet
does on CUDA, and what a GPU epoch costs beside one CPU core. One JSON of the results.

1. Every experiment kind's CUDA path at a tiny budget, in-process (no Ray): IMP (LeNet-300-100
   with a pruning round), noise (a control network trained, then tested under noise; and
   the IMP run's tickets tested under noise), continual permuted (active-dendrites MLP, 2 tasks) and continual split (active-dendrites
   CNN, 2 tasks).
2. Packing: the IMP sweep with 4 trials and ``--gpus-per-trial 0.25`` on a real local Ray
   cluster; every row must report ``device = cuda`` and the 4 trials must overlap in time.
3. Timing: one IMP epoch (LeNet-300-100, batch 200, with its evaluation) and one width-2048
   permuted-MNIST epoch (active-dendrites MLP, one-hot context, batch 256) on the GPU and on
   one CPU core (torch.set_num_threads(1)); MNIST from --data-dir when it is there, else
   synthetic data of MNIST's shape (60,000 + 10,000 images).

Without a CUDA GPU, part 1 runs on the CPU (the plumbing) and parts 2 and 3 are skipped,
each with one line saying so; the JSON says which.

    python benchmarks/gpu_check.py --out gpu_check.json [--data-dir /root/data]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
TINY_MNIST = "synthetic:1,28,28,10,600,200"
TINY_CIFAR = "synthetic:3,32,32,4,160,80"
MNIST_SHAPE = "synthetic:1,28,28,10,60000,10000"
PACKED_TRIALS = 4


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def machine() -> dict[str, Any]:
    import ray
    import torch

    info = {"python": platform.python_version(), "torch": torch.__version__,
            "ray": ray.__version__, "cpus": os.cpu_count(), "cuda": torch.cuda.is_available()}
    if info["cuda"]:
        info.update(gpu=torch.cuda.get_device_name(0), gpus=torch.cuda.device_count(),
                    cuda_version=torch.version.cuda)
    return info


# --- 1. every kind's CUDA path ----------------------------------------------------------

def kind_configs(data_dir: str | None) -> dict[str, Any]:
    """The tiny config of each kind (the noise control trains its own network)."""
    from sparsenet.experiments.continual import ContinualConfig
    from sparsenet.experiments.imp import IMPConfig
    from sparsenet.experiments.noise import ControlConfig, NoiseConfig

    return {
        "imp": IMPConfig(dataset=TINY_MNIST, rounds=1, epochs_per_round=1),
        "noise": NoiseConfig(control=ControlConfig(kind="both", dataset=TINY_MNIST, epochs=1),
                             levels=(0.0, 0.1)),
        "continual_permuted": ContinualConfig(dataset=TINY_MNIST, stream="permuted",
                                              num_tasks=2, epochs_per_task=1),
        "continual_split": ContinualConfig(dataset=TINY_CIFAR, stream="split",
                                           model="active_dendrites_cnn", num_tasks=2,
                                           epochs_per_task=1),
    }


def tickets_config(imp_trial: Path) -> Any:
    """Noise on the tickets the tiny IMP run saved (its one pruning round: 12.5%)."""
    from sparsenet.experiments.noise import NoiseConfig

    return NoiseConfig(imp_dir=str(imp_trial), pruned_fractions=(0.125,), levels=(0.0, 0.1))


def run_kind(config: Any, device: str, data_dir: str | None, work: Path) -> dict[str, Any]:
    """The experiment run to its end on ``device``; its last row's device-relevant facts."""
    from sparsenet.experiments.registry import get_experiment
    from sparsenet.schema import experiment_kind

    import torch

    _, experiment_cls = get_experiment(config.kind)
    kwargs: dict[str, Any] = dict(data_dir=data_dir, device=device, num_threads=1)
    if experiment_kind(config.kind).artifact_dir:
        kwargs["artifact_dir"] = work
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    experiment = experiment_cls(config, **kwargs)
    start, steps, row = time.perf_counter(), 0, {}
    while not experiment.done:
        row = experiment.step()
        steps += 1
    params = next(iter(_module_parameters(experiment)), None)
    if device == "cuda":  # the evidence that the work ran there
        row = {**row, "cuda_peak_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)}
    return {"steps": steps, "seconds": round(time.perf_counter() - start, 3),
            "model_device": str(params.device) if params is not None else None,
            "last_row": {k: v for k, v in row.items()
                         if isinstance(v, (int, float, str, bool)) and len(k) < 40}}


def _module_parameters(experiment: Any):
    """The parameters of the experiment's network (whichever attribute holds it)."""
    import torch

    for value in vars(experiment).values():
        if isinstance(value, torch.nn.Module):
            return value.parameters()
    return iter(())


# --- 2. packing on a real local cluster ---------------------------------------------------

def packing(work: Path, timeout_s: float) -> dict[str, Any]:
    """The IMP sweep, 4 trials of a quarter GPU each, on a local cluster of 1 GPU."""
    storage = work / "packing"
    argv = [sys.executable, str(ROOT / "sweeps" / "imp_sparsity.py"), "--quick",
            "--seeds", str(PACKED_TRIALS), "--tickets", "winning", "--gpus-per-trial", "0.25",
            "--num-gpus", "1", "--num-cpus", str(PACKED_TRIALS), "--storage", str(storage),
            "--name", "packed"]
    env = dict(os.environ, RAY_AUTH_MODE="disabled", PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True,
                          timeout=timeout_s)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"sweep exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    spans, devices = [], set()
    for result in sorted((storage / "packed").glob("*/result.json")):
        rows = [json.loads(line) for line in result.read_text().splitlines() if line.strip()]
        devices |= {row.get("device") for row in rows}
        spans.append((rows[0]["timestamp"] - rows[0]["time_this_iter_s"], rows[-1]["timestamp"]))
    overlap = max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans) if spans else 0
    ok = len(spans) == PACKED_TRIALS and devices == {"cuda"} and overlap == PACKED_TRIALS
    return {"status": "ok" if ok else "failed", "trials": len(spans),
            "devices": sorted(str(d) for d in devices), "max_at_once": overlap,
            "wall_s": round(wall, 1), "command": " ".join(argv[1:])}


# --- 3. timing ---------------------------------------------------------------------------

def timing_dataset(data_dir: str | None) -> str:
    """MNIST where it can be read without a download, else synthetic data of its shape."""
    from sparsenet.data import DatasetUnavailable, load_dataset

    try:
        load_dataset("mnist", data_dir, download=False)
        return "mnist"
    except (DatasetUnavailable, OSError, ValueError):
        return MNIST_SHAPE


def epoch_seconds(config: Any, device: str, data_dir: str | None) -> float:
    """One epoch as the experiment runs it, after one warm-up epoch (allocations, kernels)."""
    import torch

    from sparsenet.experiments.registry import get_experiment

    torch.set_num_threads(1)
    _, experiment_cls = get_experiment(config.kind)
    kwargs: dict[str, Any] = dict(data_dir=data_dir, device=device, num_threads=1)
    experiment = experiment_cls(config, **kwargs)
    experiment.step()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    experiment.step()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def timing_configs(dataset: str) -> dict[str, Any]:
    from sparsenet.experiments.continual import ContinualConfig
    from sparsenet.experiments.imp import IMPConfig

    return {
        "imp_epoch": IMPConfig.from_preset("bain2022", dataset=dataset, rounds=0,
                                           epochs_per_round=3),
        "pmnist_epoch_width2048": ContinualConfig(dataset=dataset, stream="permuted",
                                                  model="active_dendrites_mlp", num_tasks=2,
                                                  epochs_per_task=3),
    }


# --- the run -----------------------------------------------------------------------------

class Check:
    """Collects the results, prints one line per check, rewrites the JSON after each."""

    def __init__(self, out: Path, budget_s: float):
        self.out, self.deadline = out, time.monotonic() + budget_s
        self.report: dict[str, Any] = {"machine": machine(), "checks": {}}
        self.write()

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def skip(self, name: str, why: str) -> None:
        self.report["checks"][name] = {"status": "skipped", "why": why}
        print(f"{name}: skipped: {why}", flush=True)
        self.write()

    def run(self, name: str, fn: Callable[[], dict[str, Any]], need_s: float = 0.0) -> None:
        if self.left() < need_s:
            self.skip(name, f"budget: {self.left():.0f} s left, needs ~{need_s:.0f} s")
            return
        start = time.perf_counter()
        try:
            result = {"status": "ok", **fn()}
        except Exception as err:  # noqa: BLE001 - a failed check is a result, the rest go on
            result = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                      "where": traceback.format_exc(limit=-2).strip().splitlines()[-3:]}
        result["check_s"] = round(time.perf_counter() - start, 2)
        self.report["checks"][name] = result
        print(f"{name}: {result['status']} ({result['check_s']} s)"
              + (f": {result['error']}" if "error" in result else ""), flush=True)
        self.write()

    def write(self) -> None:
        checks = self.report["checks"].values()
        self.report["ok"] = not any(c["status"] == "failed" for c in checks)
        self.out.write_text(json.dumps(self.report, indent=2, default=str))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu_check.json", help="the JSON written")
    parser.add_argument("--data-dir", default=os.environ.get("SPARSENET_DATA"),
                        help="where MNIST is looked for (no download)")
    parser.add_argument("--budget-s", type=float, default=450,
                        help="a check that would not fit in what is left is skipped")
    args = parser.parse_args(argv)
    check = Check(Path(args.out), args.budget_s)
    gpu = cuda_available()
    device = "cuda" if gpu else "cpu"
    no_gpu = "no CUDA GPU visible to torch (torch.cuda.is_available() is False)"
    with tempfile.TemporaryDirectory(prefix="sparsenet-gpu-check-") as tmp:
        work = Path(tmp)
        for name, config in kind_configs(args.data_dir).items():
            check.run(f"kind_{name}", lambda c=config, n=name: {
                "device": device, **run_kind(c, device, args.data_dir, work / n)})
        check.run("kind_noise_tickets", lambda: {  # the IMP run's tickets under noise
            "device": device, **run_kind(tickets_config(work / "imp"), device, args.data_dir,
                                         work / "noise_tickets")})
        if not gpu:
            print(f"(the kinds above ran on the CPU: their CUDA paths were not run: {no_gpu})")
            for name in ("packing", "imp_epoch", "pmnist_epoch_width2048"):
                check.skip(name, no_gpu)
            return 0 if check.report["ok"] else 1
        check.run("packing", lambda: packing(work, max(60.0, check.left() - 150)), need_s=90)
        dataset = timing_dataset(args.data_dir)
        for name, config in timing_configs(dataset).items():
            def timed(c=config):
                gpu_s = epoch_seconds(c, "cuda", args.data_dir)
                cpu_s = epoch_seconds(c, "cpu", args.data_dir)
                return {"dataset": dataset, "gpu_s": round(gpu_s, 3),
                        "cpu_1_thread_s": round(cpu_s, 3), "gpu_speedup": round(cpu_s / gpu_s, 1)}
            check.run(name, timed, need_s=60)
    return 0 if check.report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
