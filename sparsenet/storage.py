"""Results storage that is either a local folder or any URI pyarrow serves (s3://, gs://...).

Ray Tune writes trials, checkpoints and artifacts (the IMP tickets) through a pyarrow
filesystem; the few files sparsenet writes itself (the experiment record, the tidy CSVs)
and reads itself (another experiment's tickets) go through the same filesystem here, so
a sweep behaves the same on a laptop folder, an NFS mount or an object store.
Nothing here imports torch or ray.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyarrow.fs as pafs

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(path: str | Path) -> bool:
    """True for ``scheme://...`` other than ``file://`` (a local path in disguise)."""
    text = str(path)
    return bool(_URI.match(text)) and not text.startswith("file://")


class StorageError(ValueError):
    """A storage URI that cannot be served; the message is one line."""


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


@dataclass(frozen=True)
class Location:
    """A folder (or file) on a filesystem: ``fs`` + ``path`` (no scheme), shown as ``uri``."""

    fs: pafs.FileSystem
    path: str
    uri: str

    def child(self, *parts: str) -> "Location":
        suffix = "/".join(p.strip("/") for p in parts)
        return Location(self.fs, f"{self.path.rstrip('/')}/{suffix}",
                        f"{self.uri.rstrip('/')}/{suffix}")

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    def exists(self) -> bool:
        return self.fs.get_file_info(self.path).type != pafs.FileType.NotFound

    def is_file(self) -> bool:
        return self.fs.get_file_info(self.path).type == pafs.FileType.File

    def listing(self, recursive: bool = False) -> list[pafs.FileInfo]:
        selector = pafs.FileSelector(self.path, allow_not_found=True, recursive=recursive)
        return self.fs.get_file_info(selector)

    def read_text(self) -> str:
        with self.fs.open_input_stream(self.path) as stream:
            return stream.read().decode()

    def write_text(self, text: str) -> None:
        with self.fs.open_output_stream(self.path) as stream:
            stream.write(text.encode())

    def delete(self) -> None:
        self.fs.delete_file(self.path)

    def upload(self, local_file: str | Path) -> None:
        """Copy one local file to this location."""
        pafs.copy_files(str(local_file), self.path,
                        source_filesystem=pafs.LocalFileSystem(), destination_filesystem=self.fs)

    def download(self, local_dir: str | Path,
                 keep: Callable[[str], bool] = lambda relative: True) -> Path:
        """Mirror the files under this folder for which ``keep(relative path)`` into
        ``local_dir``; returns it."""
        local_dir = Path(local_dir)
        local_dir.mkdir(parents=True, exist_ok=True)
        root = self.path.rstrip("/") + "/"
        for info in self.listing(recursive=True):
            if info.type != pafs.FileType.File:
                continue
            relative = info.path[len(root):] if info.path.startswith(root) else info.base_name
            if not keep(relative):
                continue
            target = local_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            pafs.copy_files(info.path, str(target), source_filesystem=self.fs,
                            destination_filesystem=pafs.LocalFileSystem())
        return local_dir


def location(storage: str | Path) -> Location:
    """``storage`` (a local path or a URI) as a :class:`Location`; :class:`StorageError` if
    pyarrow cannot serve its scheme (checked without touching the network)."""
    text = str(storage)
    if not is_uri(text):
        local = Path(text.removeprefix("file://")).expanduser().resolve()
        return Location(pafs.LocalFileSystem(), str(local), str(local))
    try:
        fs, path = pafs.FileSystem.from_uri(text)
    except Exception as err:  # noqa: BLE001 - ArrowInvalid, ArrowNotImplementedError, ...
        scheme = text.split("://", 1)[0]
        raise StorageError(f"storage {text!r}: the {scheme}:// scheme cannot be served here "
                           f"({_one_line(err)}); use a local folder or an s3://, gs:// or "
                           f"other URI that pyarrow.fs supports") from None
    base = text.split("?", 1)[0].rstrip("/")
    return Location(fs, path.rstrip("/"), base)


def check_writable(root: Location) -> None:
    """Write and delete a probe file under ``root``; :class:`StorageError` (one line) if not."""
    import os

    probe = root.child(f".sparsenet-write-test-{os.getpid()}")
    try:
        if isinstance(root.fs, pafs.LocalFileSystem):
            Path(root.path).mkdir(parents=True, exist_ok=True)
        probe.write_text("ok")
        probe.delete()
    except OSError as err:
        detail = getattr(err, "strerror", None) or _one_line(err)
        raise StorageError(f"results folder {root.uri} is not writable: {detail}") from None
