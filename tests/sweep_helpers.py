"""Run the scripts in sweeps/ in-process, as a user would from the command line."""

import contextlib
import importlib.util
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parents[1]


def load_sweep(name: str):
    """Import ``sweeps/<name>.py`` as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "sweeps" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(name: str, *args: str) -> tuple[int, str]:
    """``main(args)`` of a sweep; returns its exit code and what it wrote to stderr
    (argparse's own rejections exit through SystemExit: its code is returned too)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = load_sweep(name).main(list(args))
        except SystemExit as exc:
            code = exc.code
    return code, err.getvalue()


def kill_driver_after_first_trial(argv: list[str], cwd: Path,
                                  statuses: Callable[[], Iterable[str]], *,
                                  timeout: float, poll: float = 0.5) -> int:
    """Run sweeps/imp_sparsity.py in its own process group and SIGKILL the group (driver and
    the Ray cluster it started) once one trial has finished and the other runs: a driver
    killed mid-sweep. Returns the killed driver's pid; its output is in cwd/first_run.log."""
    # Tune snapshots its experiment state every 10 s or more by default; once a second here
    # so that the test need not wait long for the first trial to be recorded as finished.
    env = dict(os.environ, RAY_AUTH_MODE="disabled", TUNE_GLOBAL_CHECKPOINT_S="1")
    log_path = cwd / "first_run.log"
    with log_path.open("w") as log:
        driver = subprocess.Popen([sys.executable, str(ROOT / "sweeps" / "imp_sparsity.py"),
                                   *argv], cwd=cwd, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while sorted(statuses()) != ["RUNNING", "TERMINATED"]:
                assert driver.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "the first trial did not finish in time"
                time.sleep(poll)
        finally:
            if driver.poll() is None:
                os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    return driver.pid


def interrupt_once_reported(script: str, args: list[str], results: Path, *,
                            timeout: float = 240) -> tuple[int, str]:
    """Run ``sweeps/<script>.py args`` in its own process group, send it SIGINT (Ctrl-C) once
    a trial under ``results`` has written a result, and return (exit code, its output)."""
    env = dict(os.environ, RAY_AUTH_MODE="disabled", TUNE_GLOBAL_CHECKPOINT_S="1")
    driver = subprocess.Popen([sys.executable, str(ROOT / "sweeps" / f"{script}.py"), *args],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not any(p.stat().st_size for p in results.glob("*/result.json")):
            assert driver.poll() is None, driver.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "no trial reported in time"
            time.sleep(0.5)
        driver.send_signal(signal.SIGINT)
        out, _ = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    return driver.returncode, out
