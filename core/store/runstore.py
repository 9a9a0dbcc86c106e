"""The run store: one folder per run, `run.json` replaced atomically, append-only JSONL beside it.

Layout and statuses are a contract (ARCHITECTURE.md, "Contracts"): the app, the command line, the
trainers and the Modal sync loop all read and write runs through this module.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import json
import math
import os
import re
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import CorruptRun, InvalidRunId, InvalidTransition, RunNotFound, StoreUnwritable, UnknownRun

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
# Statuses read off a run rather than written to it: a dead process, an unreadable record.
DERIVED_STATUSES = ("lost", "corrupt")
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
# Where a status may go next. A finished run may be queued again (resume, or a new evaluation).
TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"queued", "running", "cancelled", "failed"}),
    "running": frozenset({"running", "succeeded", "failed", "cancelled"}),
    "succeeded": frozenset({"succeeded", "queued"}),
    "failed": frozenset({"failed", "queued", "running"}),
    "cancelled": frozenset({"cancelled", "queued", "running"}),
}
_FIRST_START = object()  # Run.start: keep the run's first start time, read inside the lock
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# The run folder's layout: every reader and writer takes these names from here.
RUN_FILE = "run.json"
CONFIG_FILE = "config.yaml"  # the resolved config snapshot, with provenance comments
LOG_FILE = "log.txt"
# metrics.jsonl holds training steps only: {"t", "stage": sft|grpo, "step", <TRL's metric names>}; evaluation
# progress {"t", "benchmark", "step": problems done, "total", "rate", "eta_s", "accuracy"} has its own file, so
# nothing that draws training curves ever meets eta_s or total.
METRICS_FILE = "metrics.jsonl"
EVAL_PROGRESS_FILE = "eval_progress.jsonl"
SAMPLES_FILE = "samples.jsonl"
SYSTEM_FILE = "system.jsonl"  # CPU/RAM/GPU samples of the live worker
EVAL_DIR = "eval"  # eval/<benchmark>.jsonl journals and eval/<benchmark>.json summaries
CHECKPOINTS_DIR = "checkpoints"  # <stage>/checkpoint-N, <stage>-final, sft-merged
TRAINING_STAGES = ("sft", "grpo")
MERGED_SFT = "sft-merged"  # the SFT adapter merged into the base (grpo.after_sft: merge)


def validate_name(name: str, what: str = "run id") -> str:
    """Names from users become folder names: no separators, no `..`, nothing hidden."""
    if not _NAME_RE.match(name) or ".." in name:
        raise InvalidRunId(f"invalid {what} {name!r}: use letters, digits, '-', '_' and '.', no '..' or '/'")
    return name


def process_start_ticks(pid: int) -> int | None:
    """The kernel's start time of a process, to tell it apart from a later process reusing its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def process_alive(pid: int, start_ticks: int | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if start_ticks is None:
        return True
    current = process_start_ticks(pid)
    return current is None or current == start_ticks


@dataclass
class RunRecord:
    id: str
    condition: str
    profile: str
    backend: str
    status: str = "queued"
    stage: str | None = None
    description: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    host: str | None = None
    pid: int | None = None
    pid_start: int | None = None
    modal_call_id: str | None = None
    error: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    loaded: dict[str, Any] = field(default_factory=dict)  # commits, hashes, versions (core/provenance.py)
    extra: dict[str, Any] = field(default_factory=dict)
    # Not part of run.json (to_dict and from_dict leave it out): where `effective_status` looks for a
    # queued run's owner; set by `read_record`.
    _dir: Path | str | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any) -> RunRecord:
        """A record from run.json's data; CorruptRun (with the reason) when its shape is wrong, so
        one bad file is one `corrupt` row and never a traceback further on."""
        problem = _shape_problem(data)
        if problem:
            raise CorruptRun(f"{RUN_FILE}: {problem}")
        return cls._from_checked(data)

    @classmethod
    def _from_checked(cls, data: dict[str, Any]) -> RunRecord:
        names = _INIT_FIELDS
        known = {k: v for k, v in data.items() if k in names and k != "extra"}
        extra = dict(data.get("extra") or {})
        if len(known) + ("extra" in data) != len(data):  # keys of a later version: kept in extra
            extra.update({k: v for k, v in data.items() if k not in names})
        return cls(**known, extra=extra)

    @classmethod
    def corrupt(cls, run_dir: Path, reason: str) -> RunRecord:
        """The row shown for a run folder whose run.json cannot be used."""
        try:
            created = run_dir.stat().st_mtime
        except OSError:
            created = 0.0
        return cls(
            id=run_dir.name, condition="?", profile="?", backend="?", status="corrupt", created_at=created, error=reason
        )

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        del data["_dir"]
        for key in ("loaded", "extra"):
            if not data[key]:
                del data[key]
        return data

    @property
    def effective_status(self) -> str:
        """`lost` for a local run (of this host) marked running whose process is gone, or marked
        queued with no live queue owning it (read from run.json by `read_record`)."""
        if self.backend != "local" or self.host != socket.gethostname():
            return self.status
        if self.status == "running" and self.pid is not None and not process_alive(self.pid, self.pid_start):
            return "lost"
        if self.status == "queued" and self._dir is not None and is_owned(self._dir) is False:
            return "lost"
        return self.status


_INIT_FIELDS = frozenset(f.name for f in dataclasses.fields(RunRecord) if f.init)
_TEXT_FIELDS = ("id", "condition", "profile", "backend")
_OPTIONAL_TEXT = ("stage", "description", "host", "modal_call_id", "error")
_OPTIONAL_TIMES = ("started_at", "finished_at")
_PROGRESS_NUMBERS = ("step", "total", "eta_s", "rate")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _shape_problem(data: Any) -> str | None:
    """Why run.json's data cannot be a record (None when it can)."""
    if not isinstance(data, dict):
        return f"holds {type(data).__name__}, not an object"
    for key in _TEXT_FIELDS:
        if not isinstance(data.get(key), str) or not data[key]:
            return f"{key} must be a non-empty string"
    if data.get("status", "queued") not in STATUSES:
        return f"unknown status {data.get('status')!r}"
    if not _is_number(data.get("created_at", 0.0)):
        return "created_at must be a number"
    for key in _OPTIONAL_TIMES:
        if data.get(key) is not None and not _is_number(data[key]):
            return f"{key} must be a number"
    for key, least in (("pid", 1), ("pid_start", 0)):
        value = data.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
            return f"{key} must be an integer >= {least}"
    for key in _OPTIONAL_TEXT:
        if data.get(key) is not None and not isinstance(data[key], str):
            return f"{key} must be a string"
    for key in ("progress", "loaded", "extra"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"{key} must be an object"
    progress = data.get("progress") or {}
    for key in _PROGRESS_NUMBERS:
        if progress.get(key) is not None and not _is_number(progress[key]):
            return f"progress.{key} must be a number"
    if progress.get("stage") is not None and not isinstance(progress["stage"], str):
        return "progress.stage must be a string"
    stages_done = (data.get("extra") or {}).get("stages_done")
    if stages_done is not None and not (isinstance(stages_done, list) and all(isinstance(s, str) for s in stages_done)):
        return "extra.stages_done must be a list of stage names"
    return None


class Run:
    def __init__(self, path: Path, record: RunRecord | None = None):
        self.dir = path
        self._record = record

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def record(self) -> RunRecord:
        if self._record is None:
            self._record = read_record(self.dir)
        return self._record

    def reload(self) -> RunRecord:
        self._record = read_record(self.dir)
        return self._record

    metrics_path = property(lambda self: self.dir / METRICS_FILE)
    eval_progress_path = property(lambda self: self.dir / EVAL_PROGRESS_FILE)
    samples_path = property(lambda self: self.dir / SAMPLES_FILE)
    system_path = property(lambda self: self.dir / SYSTEM_FILE)
    log_path = property(lambda self: self.dir / LOG_FILE)
    config_path = property(lambda self: self.dir / CONFIG_FILE)
    eval_dir = property(lambda self: self.dir / EVAL_DIR)
    checkpoints_dir = property(lambda self: self.dir / CHECKPOINTS_DIR)
    merged_sft_dir = property(lambda self: self.dir / CHECKPOINTS_DIR / MERGED_SFT)

    def stage_checkpoints_dir(self, stage: str) -> Path:
        """Where a training stage's trainer writes `checkpoint-N` folders."""
        return self.checkpoints_dir / stage

    def final_model_dir(self, stage: str) -> Path:
        """A training stage's finished model or adapter (published whole, by one rename)."""
        return self.checkpoints_dir / f"{stage}-final"

    def config(self):
        from core.config import load_snapshot

        return load_snapshot(self.config_path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with store_errors(self.dir.parent):
            fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def update(self, extra_items: dict[str, Any] | None = None, **fields: Any) -> RunRecord:
        """Change fields of run.json under a lock, replacing the file atomically. `extra_items` are
        merged into `extra` inside the lock, so writers of different keys never lose each other's."""
        return self._change(fields, extra_items)

    def _change(
        self, fields: dict[str, Any], extra_items: dict[str, Any] | None = None, *, keep_an_end: bool = False
    ) -> RunRecord:
        with self._locked(), store_errors(self.dir.parent):
            record = read_record(self.dir)
            if keep_an_end and record.status in FINISHED:
                self._record = record
                return record
            if extra_items:
                fields["extra"] = {**record.extra, **fields.get("extra", {}), **extra_items}
            if fields.get("started_at") is _FIRST_START:
                fields["started_at"] = record.started_at or time.time()
            new_status = fields.get("status")
            if new_status is not None:
                if new_status not in STATUSES:
                    raise InvalidTransition(f"unknown status {new_status!r}")
                if new_status not in TRANSITIONS[record.status]:
                    raise InvalidTransition(f"run {record.id}: cannot go from {record.status} to {new_status}")
            for key, value in fields.items():
                if not hasattr(record, key):
                    raise AttributeError(f"run.json has no field {key!r}")
                setattr(record, key, value)
            write_record(self.dir, record)
        self._record = record
        return record

    # The status transitions, named. Production code changes a run's status only through these, so what
    # each transition clears and records lives here; `update(status=...)` checks TRANSITIONS either way.
    def start(self, extra_items: dict[str, Any] | None = None, **fields: Any) -> RunRecord:
        """running: a previous end (error, finish time) is cleared; the first start time is kept."""
        fields.update(status="running", started_at=_FIRST_START, error=None, finished_at=None)
        return self._change(fields, extra_items)

    def finish(self, status: str, error: str | None = None, **fields: Any) -> RunRecord:
        """An end (succeeded, failed or cancelled) and when it came. A run that has ended already keeps
        the first word: `rdtui cancel` recording a cancel is not overwritten by the worker's failure."""
        if status not in FINISHED:
            raise InvalidTransition(f"run {self.id}: {status!r} is not an end (one of {sorted(FINISHED)})")
        if error is not None:
            fields["error"] = error
        fields.update(status=status, finished_at=time.time())
        return self._change(fields, keep_an_end=True)

    def requeue(self, **fields: Any) -> RunRecord:
        """queued again (a resume, a new evaluation): the previous end is cleared."""
        return self.update(status="queued", error=None, finished_at=None, **fields)


OWNER_FILE = ".owner"


def try_own(run_dir: Path) -> int | None:
    """Take the run's owner lock: a file descriptor to keep open for as long as this process (or
    the queue it hands the descriptor to) owns the run; None when a live process owns it already.
    The kernel drops the lock when its last holder dies, so a dead owner never blocks a resume."""
    with store_errors(run_dir.parent):
        fd = os.open(run_dir / OWNER_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    for _ in range(10):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            time.sleep(0.05)  # a reader's brief shared probe (is_owned) is not an owner
    os.close(fd)
    return None


def is_owned(run_dir: Path | str) -> bool | None:
    """Whether a live process holds the run's owner lock (a brief shared probe, no waiting); None
    for a run no queue ever took (just created, or made by another version)."""
    try:
        fd = os.open(f"{run_dir}/{OWNER_FILE}", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def read_record(run_dir: Path | str) -> RunRecord:
    """run.json as a record: RunNotFound when there is none, CorruptRun (a kind of RunNotFound)
    when it is unreadable or of the wrong shape. Paths as strings are read without making Path
    objects (a thousand runs are read when the app starts)."""
    try:
        data = json.loads(_read_bytes(f"{run_dir}/{RUN_FILE}"))
    except FileNotFoundError:
        path = Path(run_dir)
        raise RunNotFound(f"run {path.name!r} not found in {path.parent}") from None
    except (ValueError, OSError, RecursionError) as exc:
        raise CorruptRun(f"{Path(run_dir) / RUN_FILE}: unreadable run record ({_one_line(exc)})") from None
    problem = _shape_problem(data)
    if problem:
        raise CorruptRun(f"{Path(run_dir) / RUN_FILE}: {problem}")
    record = RunRecord._from_checked(data)  # checked once, just above (a quarter of reading 1,000 runs)
    record._dir = run_dir  # not a field: where `effective_status` looks for a queued run's owner
    return record


def _read_bytes(path: str) -> bytes:
    """A small file's bytes through the os module: half the time of open() and its buffered reader
    objects, which showed when the app reads a thousand run.json files before its first paint."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _one_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def write_atomic(path: Path, data: str | bytes, *, mode: int | None = None) -> None:
    """Replace `path` in one rename: readers see the old file or the new one, never half of either, and
    on any failure (a full disk) no temporary file is left. `mode` sets the new file's permissions."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def write_record(run_dir: Path, record: RunRecord) -> None:
    try:
        write_json_atomic(run_dir / RUN_FILE, record.to_dict())
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        _overwrite_in_place(run_dir / RUN_FILE, record.to_dict())


def _overwrite_in_place(path: Path, data: Any) -> None:
    """Last resort on a full disk: rewrite run.json inside the blocks it already has (a record is far
    smaller than a block), so a run that dies of a full disk can still say `failed`. Readers may
    see it torn for an instant: they read that as `corrupt`, never as a wrong status."""
    text = (json.dumps(data, indent=2) + "\n").encode()
    fd = os.open(path, os.O_WRONLY)
    try:
        if len(text) > os.fstat(fd).st_blocks * 512:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        os.pwrite(fd, text, 0)
        os.ftruncate(fd, len(text))
        os.fsync(fd)
    finally:
        os.close(fd)


def new_run_id(condition: str, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    return f"{condition}-{stamp}-{secrets.token_hex(2)}"


class RunStore:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def create(
        self, condition: str, profile: str, backend: str, config_snapshot: str, description: str | None = None
    ) -> Run:
        """Create a run folder fully populated, then publish it with one rename.

        Readers never see a half-made run, and two processes that pick the same id cannot both
        win: renaming onto an existing non-empty folder fails, and the loser draws a new id.
        """
        validate_name(condition, "condition")
        with store_errors(self.root):
            self.root.mkdir(parents=True, exist_ok=True)
            staging = self.root / f".creating-{os.getpid()}-{secrets.token_hex(6)}"
            staging.mkdir()
        try:
            now = time.time()
            record = RunRecord(
                id="",
                condition=condition,
                profile=profile,
                backend=backend,
                description=description,
                created_at=now,
                host=socket.gethostname(),
            )
            (staging / "config.yaml").write_text(config_snapshot)
            (staging / LOG_FILE).touch()
            for _ in range(100):
                record.id = new_run_id(condition, now)
                write_record(staging, record)
                target = self.root / record.id
                try:
                    os.rename(staging, target)
                except OSError:
                    if not target.exists():
                        raise
                    continue
                return Run(target, record)
            raise RuntimeError("could not find a free run id after 100 tries")
        except OSError as exc:
            _remove_tree(staging)
            raise StoreUnwritable(f"cannot write the run store {self.root}: {exc.strerror or exc}") from None
        except BaseException:
            _remove_tree(staging)
            raise

    def check_writable(self) -> None:
        """Fail in one line, before any slow work, when runs cannot be created here."""
        with store_errors(self.root):
            self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / f".probe-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            with store_errors(self.root), open(probe, "wb") as fh:
                fh.write(b"\0" * 4096)  # a few blocks: a full disk says so here, not mid-run
                fh.flush()
                os.fsync(fh.fileno())
        finally:
            try:
                probe.unlink()
            except OSError:
                pass

    def get(self, run_id: str) -> Run:
        """A run by id, or by a prefix that names exactly one run."""
        validate_name(run_id)
        path = self.root / run_id
        if (path / RUN_FILE).exists():
            return Run(path)
        matches = [p for p in self._run_dirs() if p.name.startswith(run_id)]
        if len(matches) == 1:
            return Run(matches[0])
        if len(matches) > 1:
            names = ", ".join(sorted(p.name for p in matches)[:5])
            raise UnknownRun(f"run {run_id!r} is ambiguous: {names}")
        raise UnknownRun(f"run {run_id!r} not found in {self.root}")

    def _run_dirs(self) -> list[Path]:
        try:
            entries = os.scandir(self.root)
        except FileNotFoundError:
            return []
        except NotADirectoryError:
            raise StoreUnwritable(
                f"the run store {self.root} is not a folder (see --runs-dir or RDTUI_RUNS)", exit_status=2
            ) from None
        except OSError as exc:
            raise StoreUnwritable(f"cannot read the run store {self.root}: {exc.strerror or exc}") from None
        with entries:
            return [Path(e.path) for e in entries if not e.name.startswith(".") and _is_dir(e)]

    def list(self, condition: str | None = None, status: str | None = None) -> list[Run]:
        """Runs oldest first. A folder whose run.json is unreadable or of the wrong shape is one
        `corrupt` run (its error says why); folders without a run.json are skipped."""
        runs = []
        for path in self._run_dirs():
            try:
                record = read_record(path)
            except CorruptRun as exc:
                record = RunRecord.corrupt(path, str(exc))
            except RunNotFound:
                continue
            if condition is not None and record.condition != condition:
                continue
            if status is not None and record.effective_status != status:
                continue
            runs.append(Run(path, record))
        runs.sort(key=lambda r: (r.record.created_at, r.id))
        return runs


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


@contextmanager
def store_errors(root: Path) -> Iterator[None]:
    """OS errors while writing the store itself (a file in its place, read-only, full) as one line."""
    try:
        yield
    except (FileExistsError, NotADirectoryError):
        raise StoreUnwritable(
            f"the run store {root} is not a folder (see --runs-dir or RDTUI_RUNS)", exit_status=2
        ) from None
    except OSError as exc:
        raise StoreUnwritable(f"cannot write the run store {root}: {exc.strerror or exc}") from None


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
