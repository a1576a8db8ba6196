"""The result-file contract: one definition both sides use, and analysis stays torch-free."""

import subprocess
import sys

import pytest

import analysis.keys as keys
import sparsenet.experiments.noise as noise
import sparsenet.schema as schema


@pytest.mark.slow
def test_analysis_imports_neither_torch_nor_ray():
    code = ("import sys, analysis, analysis.report, analysis.tidy, analysis.claims, "
            "analysis.figures, analysis.__main__; "
            "bad = sorted(m for m in ('torch', 'ray') if m in sys.modules); "
            "print(','.join(bad)); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, f"analysis imported {out.stdout.strip()} {out.stderr[-500:]}"


def test_one_definition_of_every_contract_name():
    for name in ("EXPERIMENT_FILE", "KINDS", "TIDY_FILES", "DENSE", "CONTROL_PREFIX",
                 "parse_noise_key", "network_kind", "is_control"):
        assert getattr(keys, name) is getattr(schema, name)
    for name in ("acc_key", "correct_key", "score_key", "DENSE", "CONTROL_PREFIX",
                 "control_network_name", "ticket_network_name"):
        assert getattr(noise, name) is getattr(schema, name)


def test_key_builders_round_trip_through_the_parser():
    assert schema.parse_noise_key(schema.acc_key("set_2sigma", 0.1)) == ("acc", "set_2sigma", 0.1)
    assert schema.parse_noise_key(schema.correct_key("zero", 0)) == ("correct", "zero", 0.0)
    assert schema.parse_noise_key(schema.score_key("zero")) is None
    assert schema.parse_noise_key("acc/zero/x") is None
    assert schema.ticket_network_name("winning", 0.7) == "winning@0.70"
    assert schema.network_kind(schema.ticket_network_name("random", 0.967)) == "random"
    assert schema.network_kind(schema.control_network_name("both")) == "control:both"
    assert schema.ticket_file(3) == "tickets/round_03.pt"


def test_every_kind_has_a_config_an_experiment_and_an_analysis():
    import pytest

    from analysis.kinds.registry import ANALYSES
    from analysis.tidy import _build
    from sparsenet.experiments.registry import EXPERIMENTS, get_experiment

    # one declaration (schema.EXPERIMENTS); the other tables are derived from or keyed by it
    assert EXPERIMENTS is schema.EXPERIMENTS
    assert schema.KINDS == tuple(schema.TIDY_FILES) == tuple(EXPERIMENTS) == tuple(ANALYSES)
    # a report section, headline and claims are optional per kind; the paper's three have all
    for kind, entry in ANALYSES.items():
        assert entry.kind == kind
        assert None not in (entry.tidy, entry.section, entry.headline, entry.claims), kind
    assert set(schema.BOUNDARY_KEYS) == {schema.ROUND_END, schema.TASK_END}
    for kind, entry in schema.EXPERIMENTS.items():
        config_cls, experiment_cls = get_experiment(kind)
        assert config_cls.kind == kind == entry.kind
        for method in ("step", "state_dict", "load_state_dict"):
            assert callable(getattr(experiment_cls, method))
        assert all(f.endswith(".csv") for f in entry.tidy_files)
    with pytest.raises(ValueError, match="unknown experiment kind 'bogus'; "
                                         "known: imp, noise, continual"):
        _build("bogus", None, [], None)
    with pytest.raises(ValueError, match="unknown experiment kind"):
        get_experiment("bogus")


def test_a_declared_kind_without_an_analysis_module_is_named(monkeypatch):
    """Adding a kind to the schema without ``analysis/kinds/<kind>.py`` fails with the file
    to add, at import (``check_registry``) and wherever the kind is looked up."""
    import pytest

    from analysis.kinds import registry
    from analysis.kinds.base import KindAnalysis
    from analysis.tidy import _build

    probe = schema.ExperimentKind("probe", "sparsenet.experiments.probe", "ProbeConfig",
                                  "ProbeExperiment", tidy=(("probe", "probe.csv"),))
    monkeypatch.setitem(schema.EXPERIMENTS, "probe", probe)
    found = [(f"analysis.kinds.{kind}", entry) for kind, entry in registry.ANALYSES.items()]
    missing = r"experiment kind 'probe' \(sparsenet.schema.EXPERIMENTS\) has no analysis " \
              r"module: add analysis/kinds/probe.py"
    with pytest.raises(ValueError, match=missing):
        registry.check_registry(found, [*schema.KINDS, "probe"])
    with pytest.raises(ValueError, match=missing):
        _build("probe", None, [], None)
    with pytest.raises(ValueError, match="unknown experiment kind 'bogus'"):
        KindAnalysis("bogus", tidy=lambda history, columns, sweep: {})
    built = KindAnalysis("probe", tidy=lambda history, columns, sweep: {"probe": history})
    monkeypatch.setitem(registry.ANALYSES, "probe", built)  # undone after the test
    assert _build("probe", "rows", [], None) == {"probe": "rows"}


def test_a_kind_registered_twice_or_undeclared_is_refused():
    import pytest

    from analysis.kinds import registry

    found = [(f"analysis.kinds.{kind}", entry) for kind, entry in registry.ANALYSES.items()]
    assert list(registry.check_registry(found, schema.KINDS)) == list(schema.KINDS)
    twice = [*found, ("analysis.kinds.imp2", registry.ANALYSES["imp"])]
    with pytest.raises(ValueError, match="experiment kind 'imp' is registered twice, by "
                                         "analysis.kinds.imp and analysis.kinds.imp2"):
        registry.check_registry(twice, schema.KINDS)
    with pytest.raises(ValueError, match="undeclared experiment kind.*continual"):
        registry.check_registry(found, ["imp", "noise"])


def test_sweep_takes_its_kind_from_the_base_config():
    import pytest

    from sparsenet.experiments.imp import IMPConfig
    from sparsenet.tune.cli import Sweep

    assert Sweep(base=IMPConfig(), axes={"seed": [0, 1]}).kind == "imp"
    with pytest.raises(ValueError, match="'continual' but its base is a 'imp'"):
        Sweep(kind="continual", base=IMPConfig())
    with pytest.raises(ValueError, match="unknown experiment kind"):
        Sweep(base={"lr": 1.0})
