"""The package layering (docs/architecture.md): ``sparsenet`` imports neither ``analysis``
nor ``sweeps``; only ``sparsenet.tune`` imports ``ray``; ``analysis`` imports neither
``torch`` nor ``ray``. Checked twice: by importing every module in a fresh interpreter
(what a user's process really loads), and by reading every import statement, since an
import inside a function (the old end-of-sweep headline read ``analysis`` that way) loads
nothing until it runs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path


from sweep_helpers import ROOT

PROBE = r"""
import importlib, json, pkgutil, sys
package, skip = sys.argv[1], sys.argv[2:]
root = importlib.import_module(package)
names = [package] + [m.name for m in pkgutil.walk_packages(root.__path__, package + ".")]
for name in names:
    if not any(name == s or name.startswith(s + ".") for s in skip):
        importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def _loaded(package: str, *skip: str) -> tuple[list[str], set[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, package, *skip], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["imported"], set(out["loaded"])


def _of(packages: set[str], top: str) -> set[str]:
    return {name for name in packages if name == top or name.startswith(top + ".")}


def test_importing_every_module_keeps_the_layers():
    """Catches: a module-level ``import analysis``/``sweeps`` anywhere in sparsenet, ``import
    ray`` outside sparsenet.tune, ``import torch``/``ray`` in analysis."""
    imported, loaded = _loaded("sparsenet")
    assert "sparsenet.tune.plan" in imported and "sparsenet.tune.resume" in imported
    assert not _of(loaded, "analysis") | _of(loaded, "sweeps")
    _, loaded = _loaded("sparsenet", "sparsenet.tune")
    assert not _of(loaded, "ray"), "a sparsenet module outside sparsenet.tune loaded ray"
    imported, loaded = _loaded("analysis")
    assert "analysis.headline" in imported
    assert not _of(loaded, "torch") | _of(loaded, "ray")


def _imports(path: Path) -> set[str]:
    """Every module an ``import`` statement of the file names, at any depth (functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _violations(folder: str, rule) -> list[str]:
    return [f"{path.relative_to(ROOT)} imports {name}"
            for path in sorted((ROOT / folder).rglob("*.py"))
            for name in sorted(_imports(path)) if rule(path.relative_to(ROOT).as_posix(), name)]


def _top(name: str) -> str:
    return name.split(".")[0]


def test_no_import_statement_crosses_a_layer():
    """Catches what importing cannot see: e.g. ``from analysis.tidy import write_tidy``
    inside a function of sparsenet/tune (the old headline), ``import ray`` inside a
    function of sparsenet/experiments, ``import torch`` inside an analysis function."""
    bad = _violations("sparsenet", lambda path, name: _top(name) in ("analysis", "sweeps"))
    bad += _violations("sparsenet", lambda path, name: _top(name) == "ray"
                       and not path.startswith("sparsenet/tune/"))
    bad += _violations("analysis", lambda path, name: _top(name) in ("torch", "ray"))
    assert not bad, "; ".join(bad)


def test_no_import_circle_between_cli_and_launch():
    """The launching side imports the command-line side, never the other way round (the
    ``__getattr__`` shim that resolved launch names through cli is gone)."""
    cli = ROOT / "sparsenet" / "tune" / "cli.py"
    assert not {n for n in _imports(cli) if n.startswith("sparsenet.tune.")} - {
        "sparsenet.tune.resources", "sparsenet.tune.tracking"}
    assert "__getattr__" not in cli.read_text()
