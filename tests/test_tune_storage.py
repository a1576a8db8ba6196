"""Object storage end to end against a real S3-compatible server (moto's standalone server,
started here on 127.0.0.1): a sweep into s3://, killed, resumed, reported; the noise sweep
reading its tickets from there; and the storage URIs that are refused before Ray starts."""

import csv
import io
import json
import logging
import os
import subprocess
import sys
import time

import pytest

from conftest import assert_one_line
from sweep_helpers import ROOT, kill_driver_after_first_trial, load_sweep, run_main

BUCKET = "sparsenet-test"


@pytest.fixture
def s3(monkeypatch):
    """A local S3 server with one bucket; the AWS variables point every client (pyarrow in
    the driver and in Ray's workers, boto3) at it."""
    # skipped here, not for the module: the refusals before Ray need no server
    moto_server = pytest.importorskip("moto.server",
                                      reason="moto[server] (the test extra) is needed")
    import boto3

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {"AWS_ENDPOINT_URL": f"http://{host}:{port}",
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    yield f"s3://{BUCKET}"
    server.stop()


def s3_text(uri):
    from sparsenet.storage import location

    return location(uri).read_text()


def s3_files(uri):
    from sparsenet.storage import location

    root = location(uri)
    prefix = root.path + "/"
    return sorted(i.path[len(prefix):] for i in root.listing(recursive=True)
                  if i.type.name == "File")


def test_unsupported_scheme_is_one_line_before_ray(tmp_path):
    import ray

    code, err = run_main("imp_sparsity", "--quick", "--storage", "nosuch://bucket/results")
    assert_one_line(code, err, "the nosuch:// scheme cannot be served here")
    assert not ray.is_initialized()
    assert not (tmp_path / "nosuch:").exists() and not os.path.exists("nosuch:")


def test_s3_resume_and_overwrite_checks(s3):
    from sparsenet.storage import location

    code, err = run_main("imp_sparsity", "--quick", "--storage", f"{s3}/r", "--resume")
    assert_one_line(code, err, "is not a sparsenet experiment to resume")
    location(f"{s3}/r/imp_sparsity/precious.csv").write_text("keep me")
    code, err = run_main("imp_sparsity", "--quick", "--storage", f"{s3}/r")
    assert_one_line(code, err, "already holds results; pass --resume")
    assert s3_files(f"{s3}/r/imp_sparsity") == ["precious.csv"]
    code, err = run_main("noise_robustness", "--imp-results", f"{s3}/r/imp_sparsity",
                         "--storage", f"{s3}/r")
    assert_one_line(code, err, "--imp-results: no IMP tickets under")


def test_remote_mirror_drops_what_the_bucket_no_longer_holds(s3):
    """The local mirror of an s3:// folder lives on between processes (one folder per URI):
    a trial folder removed from the bucket must leave it too, or a later report reads the
    old trial as a second one of the same seed (the bug behind the S3 resume test's
    'seed 0 is given twice'; mutation: skipping _drop_stale makes this fail)."""
    from analysis import loading
    from sparsenet.storage import location

    exp = f"{s3}/mirror/exp"
    for trial in ("T_a", "T_b"):
        location(f"{exp}/{trial}/result.json").write_text('{"done": true}\n')
        location(f"{exp}/{trial}/checkpoint_000000/model.pt").write_text("weights")
    local = loading.local_copy(exp)
    assert sorted(p.name for p in local.iterdir()) == ["T_a", "T_b"]
    assert not (local / "T_a" / "checkpoint_000000").exists()  # only what analysis reads
    root = location(exp)
    root.fs.delete_dir(f"{root.path}/T_a")
    loading._mirrors.clear()  # a new process: the mirror folder is the same
    assert loading.local_copy(exp) == local
    assert sorted(p.name for p in local.iterdir()) == ["T_b"]


def _statuses(exp_uri):
    """Trial statuses in the newest experiment state Tune synced to the bucket."""
    from sparsenet.storage import location

    try:
        states = [f for f in s3_files(exp_uri) if f.startswith("experiment_state-")]
        if not states:
            return []
        data = json.loads(location(f"{exp_uri}/{sorted(states)[-1]}").read_text())
        return [json.loads(trial)["status"] for trial, _ in data["trial_data"]]
    except (ValueError, KeyError, OSError):
        return []


def _rows(exp_uri):
    out = {}
    for path in s3_files(exp_uri):
        if path.endswith("/result.json"):
            out[path.split("/")[0]] = [json.loads(line) for line in
                                       s3_text(f"{exp_uri}/{path}").splitlines() if line.strip()]
    return out


@pytest.mark.ray
def test_sweep_into_s3_killed_resumed_reported_and_read_by_the_noise_sweep(s3, tmp_path):
    storage = f"{s3}/results"
    exp_uri = f"{storage}/imp"
    argv = ["--quick", "--rounds", "1", "--epochs", "30", "--storage", storage, "--name", "imp",
            "--num-cpus", "1", "--max-concurrent", "1"]
    kill_driver_after_first_trial(argv, tmp_path, lambda: _statuses(exp_uri), timeout=480)
    time.sleep(2)  # the killed cluster's processes go
    assert not (tmp_path / "s3:").exists()  # nothing written to a local folder named 's3:'
    before = _rows(exp_uri)
    finished = [name for name, rows in before.items() if rows and rows[-1].get("done")]
    assert len(finished) == 1

    assert load_sweep("imp_sparsity").main([*argv, "--resume"]) == 0
    after = _rows(exp_uri)
    assert len(after) == 2 and after[finished[0]] == before[finished[0]]  # not run again
    for rows in after.values():
        assert rows[-1]["done"] and rows[-1]["round"] == 1 and rows[-1]["epoch"] == 30
    files = s3_files(exp_uri)
    assert sum(f.endswith("/tickets/round_01.pt") for f in files) == 2  # artifacts in the bucket
    assert "imp_rounds.csv" in files  # the tidy CSV, uploaded
    assert len(s3_text(f"{exp_uri}/imp_rounds.csv").splitlines()) == 1 + 2 * 2
    assert len(json.loads(s3_text(f"{exp_uri}/sparsenet_experiment.json"))["resumed"]) == 1

    report = subprocess.run([sys.executable, "-m", "analysis", "report", exp_uri, "--out",
                             str(tmp_path / "report")], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    text = (tmp_path / "report" / "report.md").read_text()
    assert "## Lottery tickets" in text and "| 50.0% | 2.0x |" in text

    code = load_sweep("noise_robustness").main([
        "--imp-results", exp_uri, "--quick", "--levels", "0", "0.5", "--noise-types", "zero",
        "--storage", storage, "--name", "noise", "--num-cpus", "2"])
    assert code == 0
    noise = list(csv.DictReader(io.StringIO(s3_text(f"{storage}/noise/noise.csv"))))
    networks = {row["network"] for row in noise}  # (quoted config tuples hold commas)
    assert {"dense", "winning@0.70"} <= networks
    # each trial read its tickets from the bucket: one per IMP trial (winning and random)
    assert len(_rows(f"{storage}/noise")) == 2
