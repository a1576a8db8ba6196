"""sparsenet.host_memory: freed large blocks are reused instead of re-faulted from the OS."""

import platform
import subprocess
import sys

import pytest

_PROBE = """
import resource, sys, torch
if sys.argv[1] == "keep":
    from sparsenet.host_memory import keep_freed_memory
    assert keep_freed_memory() and keep_freed_memory()  # applied, and idempotent
# The weight gradient of a dendritic layer with a 784-wide context (2048 units x 10
# segments): a 64 MiB outer product, allocated and freed every training step.
g, context = torch.randn(20480, 1), torch.randn(1, 784)
for _ in range(16):  # warm up: the heap grows to its steady state (default: never)
    g @ context
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    g @ context
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="tunes glibc's malloc only")
def test_large_blocks_are_reused_without_page_faults():
    """Five 64 MiB gradients fault ~80k pages by default and almost none once freed
    memory is kept. Catches keep_freed_memory() not calling mallopt, or passing the wrong
    parameter number (the mmap threshold would stay at 32 MiB)."""
    default, kept = _faults("default"), _faults("keep")
    assert default > 20_000  # the cost being removed: each allocation maps fresh pages
    assert kept < default / 20
