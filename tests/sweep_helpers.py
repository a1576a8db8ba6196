"""Run the scripts in sweeps/ in-process, as a user would from the command line."""

import contextlib
import importlib.util
import io
from pathlib import Path

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
