"""The cluster files pass Ray's own cluster-config validation (the one `ray up` runs)."""

from pathlib import Path

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["cluster.yaml", "cluster-local.yaml"])
def test_cluster_yaml_is_valid_for_ray_up(name):
    config = prepare_config(yaml.safe_load((ROOT / name).read_text()))
    validate_config(config)
    assert config["head_node_type"] in config["available_node_types"]


def test_aws_cluster_has_cpu_head_and_autoscaling_gpu_workers_and_private_dashboard():
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    head = config["available_node_types"][config["head_node_type"]]
    assert head["resources"].get("GPU") == 0
    workers = [t for n, t in config["available_node_types"].items() if n != config["head_node_type"]]
    assert any(t["node_config"]["InstanceType"].startswith(("g", "p")) and t["max_workers"] > t["min_workers"]
               for t in workers)
    head_start = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head_start and "0.0.0.0" not in head_start
    assert any("pip install" in c and "-e ." in c for c in config["setup_commands"])
