"""``--gpus-per-trial 0.25`` packs four trials on one GPU. Tested with a logical GPU on a
CPU machine: Ray's accounting must show four trials holding it at once (and never a fifth,
which the CPUs would allow), and every trial must say it ran on the CPU, since torch sees
no CUDA device here. The CUDA path itself needs a GPU machine."""

import json
import threading
import time

import pytest
import torch

from sweep_helpers import load_sweep


@pytest.mark.ray
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fallback of a logical GPU")
def test_quarter_gpu_per_trial_runs_four_trials_per_gpu_on_the_cpu_here(tmp_path):
    import ray

    samples = []  # (available GPU, available CPU, live trial actors) while the sweep runs
    stop = threading.Event()

    def watch():
        from ray._private import state

        while not stop.is_set():
            if ray.is_initialized():
                try:
                    free = ray.available_resources()
                    live = sum(1 for a in state.actors().values() if a["State"] == "ALIVE"
                               and a["ActorClassName"].endswith("ResourceTrainable"))
                    samples.append((free.get("GPU", 0.0), free.get("CPU", 0.0), live))
                except Exception:  # noqa: BLE001 - Ray starting or shutting down
                    pass
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        code = load_sweep("imp_sparsity").main([
            "--quick", "--rounds", "1", "--epochs", "3", "--seeds", "5", "--tickets", "winning",
            "--storage", str(tmp_path), "--name", "packed", "--num-cpus", "2", "--num-gpus", "1",
            "--gpus-per-trial", "0.25", "--cpus-per-trial", "0.25"])
    finally:
        stop.set()
        watcher.join()
    assert code == 0
    assert samples
    # Four trials held a quarter of the GPU each at once; a fifth never joined them, though
    # the CPUs (2 x 4 quarters) would have let it.
    assert min(gpu for gpu, _, _ in samples) == pytest.approx(0.0)
    assert min(cpu for _, cpu, _ in samples) >= 1.0 - 1e-6
    # (actors still being created on a busy machine are not ALIVE yet: at most four, never five)
    assert 1 <= max(live for _, _, live in samples) <= 4
    rows = [json.loads(line) for path in (tmp_path / "packed").glob("*/result.json")
            for line in path.read_text().splitlines()]
    assert len(rows) == 5 * 6 and sum(r["done"] for r in rows) == 5
    assert {r["device"] for r in rows} == {"cpu"}
