"""A sweep joined to a running cluster with ``--address`` runs trials on every node: a real
two-node Ray cluster on this machine (two raylets of one CPU each)."""

import json
import shutil
import tempfile

import pytest

from sweep_helpers import load_sweep


@pytest.fixture
def two_node_cluster(monkeypatch):
    """Head + one worker node, 1 CPU each. Ray writes the address of a cluster it starts
    this way to TMP/ray/ray_current_cluster, where a plain ``ray.init()`` of any other
    process on the machine would find and join it: a private temp dir keeps it to us."""
    from ray.cluster_utils import Cluster

    temp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths have a limit
    monkeypatch.setenv("RAY_TMPDIR", temp)
    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 1, "include_dashboard": False})
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        if cluster is not None:
            cluster.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.ray
def test_sweep_with_address_runs_trials_on_both_nodes_and_stores_every_result(
        tmp_path, two_node_cluster):
    import ray

    node_ids = {node.node_id for node in two_node_cluster.list_all_nodes()}
    assert len(node_ids) == 2
    sweep = load_sweep("imp_sparsity")
    code = sweep.main(["--quick", "--rounds", "1", "--epochs", "3", "--seeds", "2",
                       "--storage", str(tmp_path), "--name", "multi",
                       "--address", two_node_cluster.address])
    assert code == 0
    assert not ray.is_initialized()  # the driver left; the cluster is still the fixture's
    exp = tmp_path / "multi"
    trials = sorted(p for p in exp.iterdir() if (p / "params.json").exists())
    assert len(trials) == 4  # 2 seeds x winning/random
    ran_on = set()
    for trial in trials:
        rows = [json.loads(line) for line in (trial / "result.json").read_text().splitlines()]
        assert len(rows) == 6 and rows[-1]["done"]  # rounds 0..1 x 3 epochs
        ran_on.update(r["node_id"] for r in rows)
        # the tickets a trial wrote in its working dir on its node reached the storage path
        assert sorted(p.name for p in (trial / "tickets").iterdir()) == ["round_00.pt",
                                                                         "round_01.pt"]
    assert ran_on == node_ids
    rounds = (exp / "imp_rounds.csv").read_text().splitlines()
    assert len(rounds) == 1 + 4 * 2
