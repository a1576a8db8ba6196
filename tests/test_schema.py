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


def test_every_kind_has_a_config_an_experiment_and_a_tidy_builder():
    import pytest

    from analysis.tidy import TIDY_BUILDERS, _build
    from sparsenet.experiments.registry import EXPERIMENTS, get_experiment

    # one declaration (schema.EXPERIMENTS); the other tables are derived from or keyed by it
    assert EXPERIMENTS is schema.EXPERIMENTS
    assert schema.KINDS == tuple(schema.TIDY_FILES) == tuple(EXPERIMENTS)
    assert set(TIDY_BUILDERS) == set(schema.KINDS)
    from analysis.report import SECTIONS

    # a report section is optional per kind; the three of the paper have one
    assert {"imp", "noise", "continual"} <= set(SECTIONS) <= set(schema.KINDS)
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


def test_a_declared_kind_without_a_tidy_builder_is_named(monkeypatch):
    import pytest

    import analysis.tidy as tidy

    probe = schema.ExperimentKind("probe", "sparsenet.experiments.probe", "ProbeConfig",
                                  "ProbeExperiment", tidy=(("probe", "probe.csv"),))
    monkeypatch.setitem(schema.EXPERIMENTS, "probe", probe)
    with pytest.raises(ValueError, match=r"no tidy builder for experiment kind 'probe'"):
        tidy._build("probe", None, [], None)
    with pytest.raises(ValueError, match="unknown experiment kind 'bogus'"):
        tidy.tidy_builder("bogus")
    monkeypatch.setitem(tidy.TIDY_BUILDERS, "probe", None)  # undone after the test
    built = tidy.tidy_builder("probe")(lambda history, columns, sweep: {"probe": history})
    assert tidy._build("probe", "rows", [], None) == {"probe": "rows"}
    assert tidy.TIDY_BUILDERS["probe"] is built


def test_sweep_takes_its_kind_from_the_base_config():
    import pytest

    from sparsenet.experiments.imp import IMPConfig
    from sparsenet.tune.cli import Sweep

    assert Sweep(base=IMPConfig(), axes={"seed": [0, 1]}).kind == "imp"
    with pytest.raises(ValueError, match="'continual' but its base is a 'imp'"):
        Sweep(kind="continual", base=IMPConfig())
    with pytest.raises(ValueError, match="unknown experiment kind"):
        Sweep(base={"lr": 1.0})
