"""Mirroring a run folder from a Modal Volume into the local run store, incrementally.

The remote side writes the same layout as a local run (ARCHITECTURE.md, "Contracts"). Each pass lists the
remote folder and copies:
- append-only files (`log.txt`, `*.jsonl`): only the bytes past what was copied before, written at
  their own offsets, so a pass repeated after a kill writes the same bytes again instead of
  duplicating them; a remote file that shrank, or whose bytes before the copied offset changed,
  was replaced, and is copied whole into a fresh local file (readers see a new inode and restart);
- `run.json`: parsed and replaced atomically, unless the local record is newer (see `_merge_record`);
- other files (`config.yaml`, `eval/*.json`): replaced whole when their size or mtime changed.
Checkpoints stay on the Volume (gigabytes; `modal volume get` fetches one when needed).

The Volume API reads whole files only, so re-reading a grown log costs its whole size each pass
(O(N^2) over a run). The Modal containers therefore also write each append-only file's new bytes as
numbered, immutable segments (`SegmentWriter`: `.segments/<file>/<generation>/<start offset>.seg`,
one per commit tick, the old ones merged once there are many); where segments exist the sync
fetches only those past what it has, so the transfer grows with the new bytes. A replaced file
(shorter, or its last copied bytes changed) starts a new generation, which is copied from 0.

Nothing remote is trusted (anyone with the workspace token can write the Volume): a remote name is
used only when it is a plain relative path that stays inside the run folder (no `..`, no absolute
path, no NUL, no local symlink on the way), and the remote run.json is type-checked field by field;
the fields that drive local processes (`backend`, `host`, `pid`, `pid_start`) and the run's identity
are always the local record's. What was refused is counted in `SyncResult.refused`, never raised.

What was copied is kept in `.sync-state.json` in the run folder, written atomically only after the
data it describes was fsynced, so a sync killed at any point loses nothing and repeats nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from core.errors import CorruptRun, RunNotFound
from core.store.runstore import (
    LOG_FILE,
    RUN_FILE,
    RunRecord,
    read_record,
    validate_name,
    write_json_atomic,
    write_record,
)

STATE_FILE = ".sync-state.json"
RUNS_PREFIX = "runs"
SKIPPED_DIRS = ("checkpoints/",)
SEGMENTS_DIR = ".segments"
SEGMENT_SUFFIX = ".seg"
MERGE_ABOVE_SEGMENTS = 64  # a generation with more segments gets its older ones merged (keeps listings short)
KEEP_RECENT_SEGMENTS = 16  # ...all but these newest, which a follower may still be fetching
# Bytes just before the copied offset whose digest tells an appended file from a replaced one.
TAIL_CHECK_BYTES = 256
MAX_RECORD_BYTES = 1 << 20  # a run.json is a few KB; a bigger remote one is refused unread
# Fields only this machine may set: they decide which local process `rdtui cancel` signals.
LOCAL_ONLY_FIELDS = ("id", "condition", "profile", "backend", "host", "pid", "pid_start", "created_at")


@dataclass(frozen=True)
class RemoteEntry:
    path: str  # relative to the volume's root, '/'-separated
    is_file: bool
    size: int
    mtime: int


class RemoteFolder(Protocol):
    """The part of `modal.Volume` the sync reads through (see `ModalVolumeFolder`)."""

    def listdir(self, path: str, recursive: bool = False) -> list[RemoteEntry]:
        """Entries under `path`; FileNotFoundError when it does not exist."""

    def read_file(self, path: str) -> Iterable[bytes]:
        """The file's bytes in chunks, from its start; FileNotFoundError when it does not exist."""


class ModalVolumeFolder:
    """`RemoteFolder` over a real `modal.Volume` (imported lazily by the caller)."""

    def __init__(self, volume: Any):
        self.volume = volume

    def listdir(self, path: str, recursive: bool = False) -> list[RemoteEntry]:
        from modal.exception import NotFoundError
        from modal.types import FileEntryType  # defined there; modal/volume.pyi omits the re-export

        try:
            entries = self.volume.listdir(path, recursive=recursive)
        except NotFoundError as exc:
            raise FileNotFoundError(path) from exc
        return [RemoteEntry(e.path.lstrip("/"), e.type == FileEntryType.FILE, e.size, e.mtime) for e in entries]

    def read_file(self, path: str) -> Iterator[bytes]:
        from modal.exception import NotFoundError

        try:
            yield from self.volume.read_file(path)
        except NotFoundError as exc:
            raise FileNotFoundError(path) from exc


def remote_run_path(run_id: str) -> str:
    return f"{RUNS_PREFIX}/{run_id}"


def is_append_only(relpath: str) -> bool:
    return relpath == LOG_FILE or relpath.endswith(".jsonl")


@dataclass
class SyncResult:
    bytes_copied: int = 0
    files_replaced: int = 0
    record_updated: bool = False
    remote_missing: bool = False
    remote_status: str | None = None
    refused: list[str] = field(default_factory=list)  # "remote path: why", for each entry not mirrored


class SyncState:
    """Per-file progress of the mirror, saved atomically next to the run's files."""

    def __init__(self, path: Path):
        self.path = path
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        files = data.get("files") if isinstance(data, dict) else None
        # A damaged state file only costs a full copy: each entry must be an object to be used.
        self.files: dict[str, dict[str, Any]] = {k: v for k, v in (files or {}).items() if isinstance(v, dict)}

    def save(self) -> None:
        write_json_atomic(self.path, {"files": self.files})


def sync_run(remote: RemoteFolder, run_id: str, local_dir: Path) -> SyncResult:
    """One pass over one run; safe to repeat, to interrupt and to run again after a kill."""
    result = SyncResult()
    prefix = remote_run_path(run_id)
    try:
        entries = remote.listdir(prefix, recursive=True)
    except FileNotFoundError:
        result.remote_missing = True
        return result
    local_dir.mkdir(parents=True, exist_ok=True)
    state = SyncState(local_dir / STATE_FILE)
    record_entry = None
    files: list[tuple[RemoteEntry, str]] = []
    segments: dict[str, list[Segment]] = {}
    for entry in entries:
        if entry.path.rstrip("/") == prefix:
            continue
        relpath, why = contained_relpath(entry.path, prefix)
        if relpath is None:
            result.refused.append(f"{entry.path!r}: {why}")
            continue
        if not entry.is_file:
            continue
        if relpath.startswith(SEGMENTS_DIR + "/"):
            segment, why = parse_segment(entry, relpath)
            if segment is None:
                result.refused.append(f"{entry.path!r}: {why}")
            elif not local_target_inside(local_dir, segment.relpath):
                result.refused.append(f"{entry.path!r}: the local path leaves the run folder (a symlink on the way)")
            else:
                segments.setdefault(segment.relpath, []).append(segment)
            continue
        if not _wanted(relpath):
            continue
        if not local_target_inside(local_dir, relpath):
            result.refused.append(f"{entry.path!r}: the local path leaves the run folder (a symlink on the way)")
            continue
        files.append((entry, relpath))
    for relpath, found in segments.items():
        result.bytes_copied += _sync_segments(remote, relpath, found, local_dir, state)
    for entry, relpath in files:
        if relpath in segments:
            continue  # mirrored from its segments above
        if relpath == RUN_FILE:
            record_entry = entry if _changed(entry, state.files.get(RUN_FILE)) else None
        elif is_append_only(relpath):
            result.bytes_copied += _sync_append_only(remote, entry, relpath, local_dir, state)
        elif _changed(entry, state.files.get(relpath)):
            _replace_whole(local_dir / relpath, remote.read_file(entry.path))
            state.files[relpath] = {"size": entry.size, "mtime": entry.mtime}
            state.save()
            result.files_replaced += 1
    # run.json last: a reader that sees the final status finds every file it describes already here.
    if record_entry is not None:
        result.record_updated, result.remote_status = _sync_record(
            remote, record_entry, run_id, local_dir, result.refused
        )
        if result.remote_status is not None:  # read whole and used: unchanged, it is not read again
            state.files[RUN_FILE] = {"size": record_entry.size, "mtime": record_entry.mtime}
            state.save()
    return result


def contained_relpath(path: str, prefix: str) -> tuple[str | None, str]:
    """The path relative to the run folder `prefix`, or (None, why) when it is not plainly inside it."""
    if not isinstance(path, str) or "\0" in path:
        return None, "NUL in the name"
    if path.startswith("/"):
        return None, "absolute path"
    if not path.startswith(prefix + "/"):
        return None, "outside the run folder"
    relpath = path[len(prefix) + 1 :]
    parts = relpath.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\\" in relpath:
        return None, "not a plain relative path ('..', '.', '//' or '\\')"
    return relpath, ""


def local_target_inside(local_dir: Path, relpath: str) -> bool:
    """Whether writing `local_dir/relpath` stays in `local_dir`: no existing symlink on the way."""
    current = local_dir
    for part in relpath.split("/"):
        current = current / part
        if current.is_symlink():
            return False
    root = os.path.realpath(local_dir)
    return os.path.realpath(local_dir / relpath).startswith(root + os.sep)


@dataclass(frozen=True)
class Segment:
    relpath: str  # the file it belongs to, relative to the run folder
    generation: int
    start: int
    entry: RemoteEntry


def segment_path(relpath: str, generation: int, start: int) -> str:
    return f"{SEGMENTS_DIR}/{relpath}/{generation}/{start:015d}{SEGMENT_SUFFIX}"


def parse_segment(entry: RemoteEntry, relpath: str) -> tuple[Segment | None, str]:
    parts = relpath.split("/")
    if len(parts) < 4 or not parts[-1].endswith(SEGMENT_SUFFIX):
        return None, "not a segment name"
    generation, start = parts[-2], parts[-1][: -len(SEGMENT_SUFFIX)]
    if not (generation.isdigit() and start.isdigit() and len(start) <= 18 and len(generation) <= 9):
        return None, "not a segment name"
    target = "/".join(parts[1:-2])
    if not is_append_only(target) or not _wanted(target):
        return None, "segments of a file that is not append-only"
    return Segment(target, int(generation), int(start), entry), ""


def _sync_segments(remote: RemoteFolder, relpath: str, found: list[Segment], local_dir: Path, state: SyncState) -> int:
    """Copy the bytes of `relpath` past what is here from its newest generation's segments."""
    generation = max(s.generation for s in found)
    ordered = sorted((s for s in found if s.generation == generation), key=lambda s: s.start)
    seen = state.files.get(relpath) or {}
    local = local_dir / relpath
    local_size = local.stat().st_size if local.exists() else 0
    offset = int(seen.get("offset", 0)) if isinstance(seen.get("offset", 0), int) else 0
    if seen.get("generation") != generation and not ("generation" not in seen and generation == 0):
        offset = 0  # a new generation: the remote file was replaced (a copy made whole-file goes on)
    offset = min(offset, local_size)
    copied = 0
    for segment in ordered:
        end = segment.start + segment.entry.size
        if end <= offset:
            continue
        if segment.start > offset:
            break  # the segment between is not listed yet (or being merged): next pass
        try:
            data = _read_from(remote.read_file(segment.entry.path), offset - segment.start)
        except FileNotFoundError:
            break  # merged away since the listing: next pass
        if offset == 0:
            _replace_whole(local, [data])
        else:
            _write_at(local, offset, data)
        offset += len(data)
        copied += len(data)
        state.files[relpath] = {"offset": offset, "generation": generation}
        state.save()
    if copied == 0 and relpath not in state.files and offset == 0:
        state.files[relpath] = {"offset": 0, "generation": generation}
    return copied


class SegmentWriter:
    """The remote side of segments: call `write_new()` before each Volume commit.

    For each append-only file of the run folder it writes the bytes added since the last call as a
    new segment (temporary name, then rename: a reader sees whole segments only). It learns where
    it left off from the segments on disk, so a new container (preemption, the next stage) goes on.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.known: dict[str, tuple[int, int, str]] = {}  # relpath -> (generation, end, digest of bytes before end)

    def write_new(self) -> int:
        written = 0
        for path in sorted(self.run_dir.rglob("*")):
            relpath = path.relative_to(self.run_dir).as_posix()
            if (
                path.is_file()
                and not path.is_symlink()
                and is_append_only(relpath)
                and _wanted(relpath)
                and not relpath.startswith(SEGMENTS_DIR + "/")
            ):
                written += self._write_file(path, relpath)
        return written

    def _write_file(self, path: Path, relpath: str) -> int:
        generation, end, digest = self.known.get(relpath) or self._scan(relpath, path)
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, end - TAIL_CHECK_BYTES))
            before = fh.read(end - max(0, end - TAIL_CHECK_BYTES))
            if size < end or _digest(before) != digest:
                generation, end = generation + 1, 0  # replaced or truncated: start a new generation
                fh.seek(0)
            data = fh.read()
        if not data:
            self.known[relpath] = (generation, end, _digest(before if end else b""))
            return 0
        folder = self.run_dir / SEGMENTS_DIR / relpath / str(generation)
        folder.mkdir(parents=True, exist_ok=True)
        _replace_whole(folder / f"{end:015d}{SEGMENT_SUFFIX}", [data])
        end += len(data)
        self.known[relpath] = (generation, end, _digest(_last_bytes(path, end)))
        self._merge_old(folder)
        return len(data)

    def _scan(self, relpath: str, path: Path) -> tuple[int, int, str]:
        """Where the segments on disk leave off (generation 0 at offset 0 when there are none yet)."""
        base = self.run_dir / SEGMENTS_DIR / relpath
        generations = sorted(int(p.name) for p in base.iterdir() if p.name.isdigit()) if base.is_dir() else []
        if not generations:
            return 0, 0, _digest(b"")
        folder = base / str(generations[-1])
        tail, end = b"", None
        # The digest compares the file with what the segments hold, not with the file itself: a file
        # replaced while no container watched it must still start a new generation.
        for segment in sorted(folder.glob(f"*{SEGMENT_SUFFIX}"), reverse=True):
            data = segment.read_bytes()
            end = int(segment.name[: -len(SEGMENT_SUFFIX)]) + len(data) if end is None else end
            tail = data + tail
            if len(tail) >= TAIL_CHECK_BYTES:
                break
        end = end or 0
        return generations[-1], end, _digest(tail[-TAIL_CHECK_BYTES:] if end else b"")

    def _merge_old(self, folder: Path) -> None:
        names = sorted(folder.glob(f"*{SEGMENT_SUFFIX}"))
        if len(names) <= MERGE_ABOVE_SEGMENTS:
            return
        old = names[:-KEEP_RECENT_SEGMENTS]
        _replace_whole(old[0], [p.read_bytes() for p in old])  # the merged bytes start where the first did
        for path in old[1:]:
            path.unlink()


def _last_bytes(path: Path, end: int) -> bytes:
    try:
        return _read_tail(path, max(0, end - TAIL_CHECK_BYTES), end)
    except OSError:
        return b""


def _wanted(relpath: str) -> bool:
    name = relpath.rsplit("/", 1)[-1]
    return not name.startswith(".") and not relpath.startswith(SKIPPED_DIRS)


def _changed(entry: RemoteEntry, seen: dict[str, Any] | None) -> bool:
    return seen is None or seen.get("size") != entry.size or seen.get("mtime") != entry.mtime


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _sync_append_only(remote: RemoteFolder, entry: RemoteEntry, relpath: str, local_dir: Path, state: SyncState) -> int:
    seen = state.files.get(relpath) or {}
    offset = int(seen.get("offset", 0))
    local = local_dir / relpath
    local_size = local.stat().st_size if local.exists() else -1
    if offset and local_size < offset:
        offset = 0  # the local copy lost bytes (deleted or truncated by hand): copy it again
    if offset and entry.size == offset and entry.mtime == seen.get("mtime"):
        return 0
    if entry.size < offset:
        offset = 0  # truncated or replaced by a shorter file
    data = _read_from(remote.read_file(entry.path), max(0, offset - TAIL_CHECK_BYTES))
    if offset:
        tail_len = min(offset, TAIL_CHECK_BYTES)
        if _digest(data[:tail_len]) != seen.get("tail"):
            offset = 0  # the bytes already copied changed: the file was replaced
            data = _read_from(remote.read_file(entry.path), 0)
        else:
            data = data[tail_len:]
    if offset == 0:
        _replace_whole(local, [data])
    else:
        _write_at(local, offset, data)
    end = offset + len(data)
    tail_start = max(0, end - TAIL_CHECK_BYTES)
    tail = data[tail_start - offset :] if tail_start >= offset else _read_tail(local, tail_start, end)
    state.files[relpath] = {"offset": end, "mtime": entry.mtime, "tail": _digest(tail)}
    state.save()
    return len(data)


def _read_from(chunks: Iterable[bytes], start: int) -> bytes:
    """The stream's bytes from `start` on (the Volume API reads whole files; we keep only the new part)."""
    out = bytearray()
    pos = 0
    for chunk in chunks:
        end = pos + len(chunk)
        if end > start:
            out += chunk[max(0, start - pos) :]
        pos = end
    return bytes(out)


def _read_tail(path: Path, start: int, end: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(start)
        return fh.read(end - start)


def _write_at(path: Path, offset: int, data: bytes) -> None:
    """Write `data` at `offset` and cut anything past it (bytes left by a pass that was killed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        pos = offset
        while view:
            written = os.pwrite(fd, view, pos)
            view, pos = view[written:], pos + written
        if os.fstat(fd).st_size > pos:
            os.ftruncate(fd, pos)
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_whole(path: Path, chunks: Iterable[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sync_record(
    remote: RemoteFolder, entry: RemoteEntry, run_id: str, local_dir: Path, refused: list[str]
) -> tuple[bool, str | None]:
    if entry.size > MAX_RECORD_BYTES:
        refused.append(f"{entry.path!r}: run.json of {entry.size} bytes (at most {MAX_RECORD_BYTES})")
        return False, None
    try:
        data = json.loads(_read_from(remote.read_file(entry.path), 0))
    except ValueError:
        return False, None  # caught mid-write on the remote side: the next pass reads it whole
    try:
        remote_record = validate_remote_record(data, run_id)
    except UntrustedRecord as exc:
        refused.append(f"{entry.path!r}: {exc}")
        return False, None
    try:
        local_record = read_record(local_dir)
    except RunNotFound:
        local_record = None
    except Exception:  # a local record of the wrong shape: the checked remote one replaces it
        local_record = None
    _keep_local_fields(remote_record, local_record)
    merged = _merge_record(local_record, remote_record)
    if merged is None:
        return False, remote_record.status
    if local_record is not None and merged.to_dict() == local_record.to_dict():
        return False, remote_record.status
    write_record(local_dir, merged)
    return True, remote_record.status


def launch_number(record: RunRecord) -> int:
    launch = record.extra.get("launch", 0)
    return launch if isinstance(launch, int) and not isinstance(launch, bool) else 0


class UntrustedRecord(ValueError):
    """A remote run.json that does not have the shape of a run record."""


def validate_remote_record(data: Any, run_id: str) -> RunRecord:
    """A RunRecord from remote JSON, or UntrustedRecord: run.json's schema (the store's own check),
    plus what only a sync must ask: that it describes this run and a launch number we can compare."""
    if isinstance(data, dict) and data.get("id") != run_id:
        raise UntrustedRecord(f"run.json names run {data.get('id')!r}, not {run_id!r}")
    try:
        record = RunRecord.from_dict(data)
    except (CorruptRun, TypeError) as exc:
        raise UntrustedRecord(str(exc)) from None
    launch = record.extra.get("launch", 0)
    if isinstance(launch, bool) or not isinstance(launch, int):
        raise UntrustedRecord("extra.launch is not an integer")
    return record


def _keep_local_fields(remote: RunRecord, local: RunRecord | None) -> None:
    """Identity and process fields come from this machine, never from the Volume."""
    if local is not None:
        for name in LOCAL_ONLY_FIELDS:
            setattr(remote, name, getattr(local, name))
    else:  # a run first seen on the Volume (launched from another machine): no local process is its
        remote.backend, remote.host, remote.pid, remote.pid_start = "modal", None, None, None


def _merge_record(local: RunRecord | None, remote: RunRecord) -> RunRecord | None:
    """The record to keep locally, or None to keep the local one as it is.

    The remote record wins, except while it describes an older launch than the local one (a resume
    was sent and its container has not started yet) and after a local cancel of the same launch.
    """
    if local is None:
        return remote
    if launch_number(remote) < launch_number(local):
        return None
    # A local cancel stands for its launch: the stopped containers may record `running` (not yet
    # stopped) or `failed` (the stage call was cancelled under the driver's feet) after it.
    if local.status == "cancelled" and remote.status != "cancelled" and launch_number(remote) == launch_number(local):
        return None
    if remote.modal_call_id is None:
        remote.modal_call_id = local.modal_call_id
    return remote


def discover_runs(remote: RemoteFolder, runs_root: Path) -> tuple[list[str], list[str]]:
    """Mirror the runs on the Volume that this store does not know (launched from another machine
    or another store). Returns (new run ids, refusals); a folder whose run.json is missing or
    refused leaves nothing behind here."""
    import shutil

    from core.errors import InvalidRunId

    found: list[str] = []
    refused: list[str] = []
    try:
        entries = remote.listdir(RUNS_PREFIX, recursive=False)
    except FileNotFoundError:
        return found, refused
    for entry in entries:
        name = entry.path.rstrip("/").rsplit("/", 1)[-1]
        if entry.is_file or entry.path.rstrip("/") != f"{RUNS_PREFIX}/{name}":
            continue
        try:
            validate_name(name)
        except InvalidRunId:
            refused.append(f"{entry.path!r}: not a run id")
            continue
        local_dir = runs_root / name
        if local_dir.exists():
            continue
        result = sync_run(remote, name, local_dir)
        refused += result.refused
        if (local_dir / RUN_FILE).exists():
            found.append(name)
        else:
            shutil.rmtree(local_dir, ignore_errors=True)
    return found, refused
