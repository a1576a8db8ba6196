"""benchmarks/gpu_check.py on a machine without a GPU: every kind's path runs (on the CPU),
the GPU-only parts are skipped with one line each, and the JSON says so."""

import json
import os
import subprocess
import sys

from sweep_helpers import ROOT

KINDS = ("kind_imp", "kind_noise", "kind_continual_permuted", "kind_continual_split",
         "kind_noise_tickets")
GPU_ONLY = ("packing", "imp_epoch", "pmnist_epoch_width2048")


def test_gpu_check_runs_its_plumbing_on_cpu_and_skips_the_gpu_parts(tmp_path):
    """Catches: a kind whose tiny run breaks (its status would be 'failed' and the exit 1),
    a GPU part attempted without a GPU, or a skip that is silent or missing from the JSON."""
    out = tmp_path / "gpu_check.json"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(ROOT),
               RAY_AUTH_MODE="disabled")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"),
                           "--out", str(out)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["ok"] is True and report["machine"]["cuda"] is False
    checks = report["checks"]
    for name in KINDS:
        assert checks[name]["status"] == "ok" and checks[name]["device"] == "cpu", checks[name]
        assert checks[name]["steps"] >= 1
    assert checks["kind_noise_tickets"]["last_row"]["network"] == "winning@0.125"
    lines = proc.stdout.splitlines()
    for name in GPU_ONLY:
        assert checks[name]["status"] == "skipped" and "no CUDA GPU" in checks[name]["why"]
        assert sum(line.startswith(f"{name}: skipped: no CUDA GPU") for line in lines) == 1
