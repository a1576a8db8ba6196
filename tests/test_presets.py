"""Every chosen value a sweep resolves to agrees with its source as docs/fidelity.md states it
("Chosen values: where each number lives"), and the configs' defaults are the presets'.

The expected numbers come from the documentation table, never from the presets themselves:
changing a preset value (e.g. ``SPLIT_CIFAR``'s sparse_cnn ``fc_kw`` 0.1 -> 0.3, bain2022's
lr, Numenta's MLP epochs, ``PMNIST_NETWORKS``' k-winners 0.05 -> 0.1) fails
``test_sweep_resolves_the_documented_value``; dropping the
preset from a config default (e.g. ``ContinualConfig.batch_size`` back to a literal 128)
fails ``test_config_defaults_are_the_documented_values``.
"""

from __future__ import annotations

import math
import re
import shlex
from functools import lru_cache

import pytest

from sweep_helpers import ROOT, load_sweep

HEADING = "## Chosen values: where each number lives"


def documented_rows() -> list[tuple[str, str, str, str]]:
    """(command, arm, field, value) of each row of the fidelity page's chosen-values table."""
    text = (ROOT / "docs" / "fidelity.md").read_text()
    section = text[text.index(HEADING):]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("command", "---"):
            continue
        rows.append((cells[0].strip("`"), cells[1], cells[2], cells[3]))
    return rows


def parse_value(text: str):
    if text in ("True", "False"):
        return text == "True"
    try:
        numbers = [float(t) for t in text.split()]
    except ValueError:
        return text
    return numbers if len(numbers) > 1 else numbers[0]


def same(actual, expected) -> bool:
    if isinstance(expected, bool) or isinstance(expected, str):
        return actual == expected
    if isinstance(expected, list):
        return list(actual) == expected
    return isinstance(actual, (int, float)) and math.isclose(actual, expected, rel_tol=1e-12)


def as_built(point: dict) -> dict:
    """A continual point with its model fields as its run builds the network (a field left
    None there is the study's choice, ``PMNIST_NETWORKS``); other points as they are."""
    if "epochs_per_task" not in point:
        return point
    from sparsenet.experiments.continual import MODEL_FIELDS, ContinualConfig

    built = ContinualConfig.from_flat(point).model_kwargs(context_dim=1)
    return {**point, **{k: v for k, v in built.items() if k in MODEL_FIELDS}}


@lru_cache(maxsize=None)
def resolved_points(command: str) -> list[dict]:
    """Every flat config the sweep command's plan holds (its full budget, offline build)."""
    script, *argv = shlex.split(command)
    plan = load_sweep(script.removesuffix(".py")).build(argv)
    return [as_built(point) for sweep, _ in plan for point in sweep.points()]


def arm_of(point: dict) -> str:
    return point.get("model") or point.get("control_kind") or point.get("arch")


ROWS = documented_rows()


def test_the_table_covers_every_study():
    """A table that lost its rows (or its heading) would make the test below vacuous."""
    commands = {row[0].split()[0] for row in ROWS}
    assert {"imp_sparsity.py", "noise_robustness.py", "dendrites_pmnist.py",
            "dendrites_split_cifar.py", "model"} <= commands
    assert len(ROWS) >= 50


@pytest.mark.parametrize("command, arm, field, value", ROWS,
                         ids=[f"{r[0]}|{r[1]}|{r[2]}" for r in ROWS])
def test_sweep_resolves_the_documented_value(command, arm, field, value):
    expected = parse_value(value)
    if command.startswith("model "):
        from sparsenet.models.registry import model_options

        assert same(model_options(command.split()[1])[field], expected)
        return
    points = [p for p in resolved_points(command) if arm_of(p) == arm]
    assert points, f"{command}: no grid point for arm {arm}"
    for point in points:
        assert same(point[field], expected), (command, arm, field, point[field], expected)


# What --quick changes: the budget (and, without a preset, the permuted sweep's lr), nothing else.
QUICK_BUDGET = {
    "imp_sparsity.py": {"rounds", "epochs_per_round", "rate_hidden", "rate_output"},
    "dendrites_pmnist.py": {"num_tasks", "batch_size", "hidden"},
    "dendrites_split_cifar.py": {"num_tasks", "patience", "max_epochs"},
    "noise_robustness.py": {"control_epochs"},
}
QUICK_ROWS = [r for r in ROWS if not r[0].startswith("model ")
              and r[2] not in QUICK_BUDGET[r[0].split()[0]]
              and not (r[0] == "dendrites_pmnist.py" and r[2] == "lr")
              and "--preset numenta" not in r[0]]  # Numenta published no 3-task values


@pytest.mark.parametrize("command, arm, field, value", QUICK_ROWS,
                         ids=[f"{r[0]}|{r[1]}|{r[2]}" for r in QUICK_ROWS])
def test_quick_keeps_every_chosen_value_but_the_budget(command, arm, field, value):
    """``--quick`` (what ``--quick --dry-run`` validates) runs the same settings on a tiny
    budget: catches a quick default that overrides a chosen value (e.g. ``val_fraction=0``
    in imp_sparsity.py's QUICK, checked; or split CIFAR's
    batch sizes)."""
    points = [p for p in resolved_points(command + " --quick") if arm_of(p) == arm]
    assert points, f"{command} --quick: no grid point for arm {arm}"
    for point in points:
        assert same(point[field], parse_value(value)), (command, field, point[field])


def test_config_defaults_are_the_documented_values():
    """IMPConfig(), ContinualConfig() and ControlConfig() mean what they meant before the
    presets became the single source (old records and tests construct them bare)."""
    from sparsenet.experiments.continual import ContinualConfig
    from sparsenet.experiments.imp import IMPConfig
    from sparsenet.experiments.noise import ControlConfig

    documented = {(c, a, f): parse_value(v) for c, a, f, v in ROWS}
    imp = IMPConfig()
    for field in ("rounds", "epochs_per_round", "rate_hidden", "rate_output", "rate_conv",
                  "lr", "weight_decay", "batch_size", "val_fraction"):
        assert same(getattr(imp, field), documented[("imp_sparsity.py", "lenet300_100", field)])
    continual = ContinualConfig()
    for field in ("lr", "epochs_per_task", "batch_size", "num_tasks"):
        assert same(getattr(continual, field),
                    documented[("dendrites_pmnist.py", "active_dendrites_mlp", field)])
    network = continual.model_kwargs(context_dim=10)  # the bare config's ADN
    for field in ("hidden", "kw_fraction", "weight_sparsity", "num_segments"):
        assert same(network[field],
                    documented[("dendrites_pmnist.py", "active_dendrites_mlp", field)])
    assert same(continual.max_epochs,
                documented[("dendrites_split_cifar.py", "active_dendrites_cnn", "max_epochs")])
    control = ControlConfig()
    for field in ("epochs", "lr", "batch_size"):
        assert same(getattr(control, field),
                    documented[("noise_robustness.py --controls", "dense", f"control_{field}")])


def test_cifar_backbone_variant_defaults_are_the_chosen_ones():
    """The class itself (``cifar_backbone`` with a ``variant``) falls back to the same chosen
    number of segments as the registry name ``active_dendrites_cnn``."""
    from sparsenet.models.layers import DendriticLayer
    from sparsenet.models.registry import build_model

    net = build_model("cifar_backbone", (3, 32, 32), 10, variant="active_dendrites_cnn",
                      context_dim=4, seed=0)
    segments = {m.segments.num_segments for m in net.modules() if isinstance(m, DendriticLayer)}
    doc = {(c, f): parse_value(v) for c, a, f, v in ROWS if c.startswith("model ")}
    assert segments == {int(doc[("model active_dendrites_cnn", "num_segments")])}


def test_no_chosen_number_is_restated_in_the_sweeps():
    """The split-CIFAR and permuted-MNIST sweeps read their paper values from the presets:
    a literal copy of a chosen setting (``lr=1e-3``, ``batch_size=128``, ``lr=5e-4``)
    coming back into a sweep fails here."""
    for script, literals in {
        "dendrites_split_cifar.py": ("batch_size=128", "batch_size=64", "fc_kw=0.3",
                                     "patience=30", "max_epochs=1000"),
        "dendrites_pmnist.py": ("lr=5e-4", "batch_size=256", "kw_fraction=0.05",
                                "weight_sparsity=0.5", "num_segments=10"),
        "noise_robustness.py": ("epochs=35",),
    }.items():
        source = (ROOT / "sweeps" / script).read_text()
        restated = [lit for lit in literals if re.search(re.escape(lit) + r"\b", source)]
        assert not restated, f"{script} restates {restated}"
