"""A stand-in for `modal.Volume` backed by a local folder, with the methods the sync reads through.

It streams files in small chunks (as the real Volume streams blocks) so the sync's offset
arithmetic across chunk edges is exercised.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.backends.sync import RemoteEntry

CHUNK = 7


class FolderVolume:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.reads: list[str] = []
        self.bytes_read = 0  # what a real Volume would have transferred
        self.listings = 0
        self.uploaded: list[str] = []  # remote paths put by batch_upload
        self.bytes_uploaded = 0

    def listdir(self, path: str, recursive: bool = False) -> list[RemoteEntry]:
        self.listings += 1
        base = self.root / path
        if not base.exists():
            raise FileNotFoundError(path)
        paths = base.rglob("*") if recursive else base.iterdir()
        out = []
        for p in sorted(paths):
            st = p.stat()
            out.append(RemoteEntry(p.relative_to(self.root).as_posix(), p.is_file(), st.st_size, int(st.st_mtime_ns)))
        return out

    def read_file(self, path: str) -> Iterator[bytes]:
        self.reads.append(path)
        target = self.root / path
        if not target.is_file():
            raise FileNotFoundError(path)
        data = target.read_bytes()
        self.bytes_read += len(data)  # the Volume API has no ranges: a read transfers the whole file
        for i in range(0, len(data), CHUNK):
            yield data[i : i + CHUNK]

    @contextmanager
    def batch_upload(self, force: bool = False) -> Iterator[Upload]:
        """As `modal.Volume.batch_upload`: files are put when the block ends without an error; an
        existing file is refused (FileExistsError) unless `force`."""
        batch = Upload()
        yield batch
        for source, remote in batch.files:
            target = self.root / remote.lstrip("/")
            if target.exists() and not force:
                raise FileExistsError(remote)
            data = source.read() if hasattr(source, "read") else Path(source).read_bytes()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            self.uploaded.append(remote)
            self.bytes_uploaded += len(data)


class Upload:
    """What `FolderVolume.batch_upload` yields: the `put_file` of modal's upload context."""

    def __init__(self):
        self.files: list[tuple[object, str]] = []

    def put_file(self, local_file, remote_path: str, mode: int | None = None) -> None:
        self.files.append((local_file, str(remote_path)))


def append(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class HostileVolume:
    """A Volume listing whatever names and bytes an attacker with the workspace token could put there.

    `files` maps a listed path (any string at all) to its bytes; `read_file` serves them as listed.
    """

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.reads: list[str] = []

    def listdir(self, path: str, recursive: bool = False) -> list[RemoteEntry]:
        return [RemoteEntry(name, True, len(data), 1) for name, data in self.files.items()]

    def read_file(self, path: str) -> Iterator[bytes]:
        self.reads.append(path)
        if path not in self.files:
            raise FileNotFoundError(path)
        yield self.files[path]


class StandInCall:
    """A `modal.FunctionCall` as the backend and driver use it: `get(timeout=...)` returns `result`
    or raises `outcome` (an instance of a real modal exception class); `cancel()` is recorded."""

    def __init__(self, object_id: str, result=None, outcome: BaseException | None = None, events: list | None = None):
        self.object_id = object_id
        self.result = result
        self.outcome = outcome
        self.events = events if events is not None else []

    def get(self, timeout: float | None = None):
        self.events.append(("get", self.object_id, timeout))
        if self.outcome is not None:
            raise self.outcome
        return self.result

    def cancel(self, terminate_containers: bool = False) -> None:
        self.events.append(("cancel", self.object_id))


class ModalShapedVolume(FolderVolume):
    """The real `modal.Volume` client's shapes over a folder: `listdir` returns modal's FileEntry and
    raises its NotFoundError; `read_file` raises the builtin FileNotFoundError, as modal 1.6 does."""

    def listdir(self, path: str, recursive: bool = False):
        from modal.exception import NotFoundError
        from modal.volume import FileEntry, FileEntryType

        try:
            entries = super().listdir(path, recursive)
        except FileNotFoundError:
            raise NotFoundError(f"No such file or directory: {path}") from None
        return [
            FileEntry(e.path, FileEntryType.FILE if e.is_file else FileEntryType.DIRECTORY, e.mtime // 10**9, e.size)
            for e in entries
        ]


def launched_modal_run(root: Path, config: Path, call_id: str = "fc-1"):
    """A `grpo_only` Modal run as `rdtui run --profile modal` leaves it (driver `call_id`, launch 1) in
    `root/runs`, and its folder as the driver wrote it on a Volume at `root/volume` (status running).
    Returns (run, remote run folder)."""
    from core.config import load_study, resolve_full, snapshot_text
    from core.store.runstore import RunStore, write_record

    run = RunStore(root / "runs").create(
        "grpo_only", "modal", "modal", snapshot_text(resolve_full(load_study(config), "grpo_only", "modal"))
    )
    run.update(modal_call_id=call_id, extra={"launch": 1})
    remote_dir = root / "volume" / "runs" / run.id
    remote_dir.mkdir(parents=True)
    (remote_dir / "config.yaml").write_text(run.config_path.read_text())
    record = run.reload()
    record.status = "running"
    write_record(remote_dir, record)
    return run, remote_dir
