"""Resource checks a sweep makes before its trials are queued.

Ray queues a trial that asks for more than a cluster has and waits for it for ever: on a
local cluster (no ``--address``) nothing will ever add a GPU or a CPU, so asking for more
is refused before Ray starts; a cluster joined with ``--address`` may autoscale, so there
a shortfall is only worth a warning.
"""

from __future__ import annotations

import argparse
import os
import socket
from typing import Mapping


def visible_gpus() -> int:
    """CUDA devices torch sees on this machine (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def local_problem(args: argparse.Namespace, *, cpus: int | None = None,
                  gpus: int | None = None) -> str | None:
    """Why the local cluster ``args`` would start cannot run one trial (None if it can)."""
    cpus = args.num_cpus if args.num_cpus is not None else (cpus or os.cpu_count() or 1)
    where = "--num-cpus" if args.num_cpus is not None else "this machine"
    if args.cpus_per_trial > cpus:
        return (f"--cpus-per-trial {args.cpus_per_trial:g} is more than the {cpus} CPU(s) of "
                f"{where}: no trial could start")
    if args.gpus_per_trial > 0:
        if args.num_gpus is not None:
            if args.gpus_per_trial > args.num_gpus:
                return (f"--gpus-per-trial {args.gpus_per_trial:g} is more than --num-gpus "
                        f"{args.num_gpus:g}: no trial could start")
            return None
        seen = visible_gpus() if gpus is None else gpus
        if seen == 0:
            return (f"--gpus-per-trial {args.gpus_per_trial:g} but torch sees no GPU on this "
                    f"machine: use --gpus-per-trial 0, --address of a cluster with GPUs, or "
                    f"--num-gpus N for logical GPUs")
        if args.gpus_per_trial > seen:
            return (f"--gpus-per-trial {args.gpus_per_trial:g} is more than the {seen} GPU(s) "
                    f"torch sees on this machine: no trial could start")
    return None


def address_problem(address: str, *, timeout: float = 3.0) -> str | None:
    """Why the cluster at ``--address`` cannot be joined (None if its port answers).

    Ray itself retries a wrong or dead address for minutes before failing; a TCP connect to
    the head's port tells in seconds. 'auto' is left to Ray (it fails fast when no cluster
    runs on this machine)."""
    if address == "auto":
        return None
    host_port = address.split("://", 1)[-1]
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        return (f"--address {address!r} is not HOST:PORT (or ray://HOST:PORT, or 'auto'): "
                f"the head node prints it after `ray start --head`")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        return (f"--address {address}: no Ray cluster answers there ({err.strerror or err}); "
                f"is `ray start --head` running on {host}?")
    return None


def cluster_warning(args: argparse.Namespace, resources: Mapping[str, float]) -> str | None:
    """A joined cluster's shortfall right now (it may autoscale: a warning, not an error)."""
    short = []
    for flag, key, wanted in (("--cpus-per-trial", "CPU", args.cpus_per_trial),
                              ("--gpus-per-trial", "GPU", args.gpus_per_trial)):
        have = float(resources.get(key, 0.0))
        if wanted > 0 and wanted > have:
            short.append(f"{flag} {wanted:g} but the cluster has {have:g} {key} now")
    if not short:
        return None
    return ("warning: " + "; ".join(short) + ": trials stay pending until the autoscaler adds "
            "nodes that have them")
