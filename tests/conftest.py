"""Test-wide settings and the helpers several test modules share.

Settings: one torch thread (CI has 2 cores), Ray without token auth. Markers (registered in
pyproject.toml): ``ray`` starts a real local Ray cluster; ``slow`` trains networks for more
than a moment or starts Ray. Every ``ray`` test is ``slow`` too (added here, so a Ray test
cannot be forgotten): ``pytest -m "not slow"`` is the inner loop, plain ``pytest`` runs all.

Helpers are plain functions; a test module imports them with ``from conftest import ...``
(pytest puts tests/ on sys.path). Running the scripts in sweeps/ lives in sweep_helpers.py.
"""

import os

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

import pytest  # noqa: E402
import torch  # noqa: E402

from sweep_helpers import run_main  # noqa: E402

torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    """Every test that starts Ray is slow."""
    for item in items:
        if item.get_closest_marker("ray") is not None and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)


def run_to_end(exp) -> list[dict]:
    """Every ``step()`` of an experiment (IMP, noise, continual) until it is done: its rows."""
    rows = []
    while not exp.done:
        rows.append(exp.step())
    return rows


def run_before_ray(name: str, *args: str) -> tuple[int, str]:
    """A sweep's ``main(args)`` in-process that must not start Ray: (exit code, stderr)."""
    import ray

    code, err = run_main(name, *args)
    assert not ray.is_initialized()
    return code, err


def assert_one_line(code: int, err: str, message: str) -> None:
    """Bad user input: exit 2 and one line on stderr, ``error: ...`` naming ``message``."""
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and message in err, err
