"""Keep freed host memory in the process for reuse (glibc's malloc on Linux).

Why: glibc serves every allocation above its mmap threshold (dynamic, at most 32 MiB)
with a fresh ``mmap`` and returns it with ``munmap`` when freed. A training step that
allocates the same large tensors every step (the 64 MiB weight gradient of a dendritic
layer with a 784-wide context, say) then pays the kernel a page fault and a zeroed page
for every 4 KiB, every step: measured on this project's CPU, a 64 MiB ``torch.zeros``
costs about 100 ms that way against 5 ms from memory the process keeps. Raising the mmap
and trim thresholds makes freed blocks stay in the heap and be reused after the first few
steps: the same numbers, at a slightly higher peak (the prototype-context ADN: 1.42 GB
against 1.33 GB, and its step 30% cheaper; the plain MLP: unchanged), and memory is not
handed back to the OS between steps. On other C libraries or systems this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt parameter numbers (glibc malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Largest block kept in the heap instead of mmap'd (glibc accepts up to this on 64-bit
# builds from 2.35; older ones cap it at 32 MiB and refuse larger values: see below).
_KEEP_UP_TO = 1 << 30
_TRIM_ABOVE = (1 << 31) - 1

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Tune glibc so freed blocks up to 1 GiB are reused; True when it took effect.

    One arena for all threads too: Ray runs a trial's loop in a thread of its own, and a
    thread arena's heaps (64 MiB each) would mmap the largest blocks again. Idempotent.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        gnu_version = libc.gnu_get_libc_version  # absent on musl and others
    except (OSError, AttributeError):
        return False
    del gnu_version
    ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_UP_TO))
    ok = bool(libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_ABOVE)) and ok
    ok = bool(libc.mallopt(_M_ARENA_MAX, 1)) and ok
    _applied = ok
    return ok
