"""What a run actually loaded: resolved hub commits, content hashes of local files, library versions.

`model.revision: main` and a dataset without `revision` pin nothing: two runs a month apart may
train on different weights or rows. After each stage the pipeline records in run.json (`loaded`)
the commit each hub model and dataset resolved to (read from the local hub cache the loaders just
filled, so it works offline; the hub is asked only when the cache has no answer), a content hash
for each local file or folder, and the versions of the libraries that ran the stage.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from importlib import metadata
from pathlib import Path
from typing import Any

LIBRARIES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "vllm")
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_HASH_CHUNK = 1 << 20


def versions() -> dict[str, str]:
    """Installed versions of the training stack (vLLM only where installed) and of rdtui."""
    from core import __version__

    out = {"rdtui": __version__}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


# ---- content hashes -------------------------------------------------------------------------


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def _hash_cache_file() -> Path:
    from core.models.tiny import cache_root

    return cache_root() / "content-hashes.json"


def content_hash(path: str | os.PathLike[str]) -> str:
    """`sha256:<hex>` of a file, or of a folder's files (relative names and bytes, hidden files
    skipped). Cached by (path, size, mtime) of every file, so a multi-GB model folder is read once."""
    path = Path(path).resolve()
    files = _files(path)
    stamp = [
        [str(f.relative_to(path) if path.is_dir() else f.name), f.stat().st_size, f.stat().st_mtime_ns] for f in files
    ]
    cache_path = _hash_cache_file()
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    entry = cache.get(str(path))
    if isinstance(entry, dict) and entry.get("stamp") == stamp:
        return entry["hash"]
    digest = hashlib.sha256()
    for f, (name, size, _) in zip(files, stamp):
        digest.update(f"{name}\0{size}\0".encode())
        with open(f, "rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                digest.update(chunk)
    value = f"sha256:{digest.hexdigest()}"
    cache[str(path)] = {"stamp": stamp, "hash": value}
    try:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_name(f".{cache_path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache))
        os.replace(tmp, cache_path)
    except OSError:
        pass
    return value


def volume_key(local: str | os.PathLike[str], prefix: str = "models") -> str:
    """Where a local model folder (or data file) lives on a Modal Volume: named by its content
    hash, so it is uploaded once, reused by every run, and a changed folder is a new entry."""
    path = Path(local)
    digest = content_hash(path).removeprefix("sha256:")
    return f"{prefix}/{path.stem if path.is_file() else path.name}-{digest[:16]}{path.suffix if path.is_file() else ''}"


# ---- hub commits ----------------------------------------------------------------------------


def hub_commit(repo_id: str, repo_type: str, revision: str | None) -> str | None:
    """The commit `revision` (a branch, tag or commit; None = main) of a hub repo resolved to:
    from the local hub cache when it holds that ref, else from the hub; None when neither answers."""
    revision = revision or "main"
    if _COMMIT_RE.match(revision):
        return revision
    from huggingface_hub import constants

    ref = Path(constants.HF_HUB_CACHE) / f"{repo_type}s--{repo_id.replace('/', '--')}" / "refs" / revision
    try:
        commit = ref.read_text().strip()
        if _COMMIT_RE.match(commit):
            return commit
    except OSError:
        pass
    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE") == "1":
        return None
    try:
        from huggingface_hub import HfApi

        info = getattr(HfApi(), f"{repo_type}_info")(repo_id, revision=revision, timeout=10)
        return info.sha
    except Exception:  # offline, gated, deleted: the record says it could not be resolved
        return None


def model_record(model_cfg) -> dict[str, Any]:
    name = model_cfg.name
    record: dict[str, Any] = {"name": name}
    if name.startswith("builtin:"):
        from core.models.loading import model_source

        record["sha256"] = content_hash(model_source(name))
    elif Path(name).exists():
        record["sha256"] = content_hash(name)
    else:
        record.update(revision=model_cfg.revision, commit=hub_commit(name, "model", model_cfg.revision))
    return record


def dataset_record(spec) -> dict[str, Any]:
    if spec.hub is not None:
        revision = getattr(spec, "revision", None)
        return {
            "hub": spec.hub,
            "config": spec.config,
            "split": spec.split,
            "revision": revision or "main",
            "commit": hub_commit(spec.hub, "dataset", revision),
        }
    if spec.path is not None:
        path = Path(spec.path)
        return {"path": str(path), "sha256": content_hash(path) if path.exists() else None}
    # Synthetic rows are a function of the spec and of rdtui's generator (its version is recorded too).
    return {key: value for key, value in spec.model_dump().items() if value is not None}


def stage_datasets(cfg, stage: str) -> list[str]:
    if stage in ("sft", "grpo"):
        section = getattr(cfg, stage)
        return [section.dataset] if section is not None and section.dataset else []
    return list(cfg.evaluation.benchmarks)


def record_loaded(run, cfg, stage: str) -> dict[str, Any]:
    """Add this stage's model, datasets and library versions to run.json's `loaded`; never fails
    the run (a provenance record that cannot be made says so in the log)."""
    try:
        loaded = dict(run.reload().loaded or {})
        loaded["model"] = model_record(cfg.model)
        datasets = dict(loaded.get("datasets") or {})
        for name in stage_datasets(cfg, stage):
            if name in cfg.datasets:
                datasets[name] = dataset_record(cfg.datasets[name])
        loaded["datasets"] = datasets
        loaded["versions"] = {**(loaded.get("versions") or {}), stage: versions()}
        run.update(loaded=loaded)
        return loaded
    except Exception as exc:
        print(f"[rdtui] could not record what stage {stage} loaded: {type(exc).__name__}: {exc}", flush=True)
        return {}


# ---- comparing the runs of one table ---------------------------------------------------------


def fingerprint(entry: dict[str, Any] | None) -> str | None:
    """What identifies a loaded model or dataset: its commit or content hash."""
    if not entry:
        return None
    return (
        entry.get("commit")
        or entry.get("sha256")
        or (json.dumps(entry, sort_keys=True) if "synthetic" in entry else None)
    )


def revision_conflicts(loaded_by_run: dict[str, dict[str, Any]]) -> list[str]:
    """Warnings for a table whose rows loaded different revisions of one model or dataset, or ran
    on different library versions. `loaded_by_run` maps run id -> its run.json `loaded`."""
    seen: dict[tuple[str, str], dict[str, list[str]]] = {}
    for run_id, loaded in loaded_by_run.items():
        if not loaded:
            continue
        model = loaded.get("model") or {}
        items = [("model", model.get("name") or "?", model)]
        items += [("dataset", name, entry) for name, entry in (loaded.get("datasets") or {}).items()]
        for kind, name, entry in items:
            mark = fingerprint(entry)
            if mark:
                seen.setdefault((kind, name), {}).setdefault(mark, []).append(run_id)
        for stage, libs in (loaded.get("versions") or {}).items():
            for lib in ("torch", "transformers", "trl", "peft", "vllm"):
                if lib in libs:
                    seen.setdefault(("library", f"{lib} ({stage})"), {}).setdefault(libs[lib], []).append(run_id)
    warnings = []
    for (kind, name), marks in seen.items():
        if len(marks) > 1:
            parts = "; ".join(f"{_short(mark)}: {', '.join(runs)}" for mark, runs in marks.items())
            warnings.append(f"rows of this table loaded different revisions of {kind} {name}: {parts}")
    return warnings


def _short(mark: str) -> str:
    mark = mark.removeprefix("sha256:")
    return mark[:12] if re.match(r"^[0-9a-f]+$", mark) else mark


def revision_cells(loaded: dict[str, Any] | None) -> dict[str, str]:
    """Short display cells for `rdtui results --revisions`: model@commit, datasets@commit, versions."""
    if not loaded:
        return {"model@": "-", "data@": "-", "versions": "-"}
    model = loaded.get("model") or {}
    datasets = loaded.get("datasets") or {}
    libs: dict[str, str] = {}
    for stage_versions in (loaded.get("versions") or {}).values():
        for lib in ("torch", "transformers", "trl", "peft", "vllm"):
            if lib in stage_versions:
                libs.setdefault(lib, stage_versions[lib])
    return {
        "model@": _short(fingerprint(model) or "?") if model else "-",
        "data@": ", ".join(
            f"{name}@{_short(fingerprint(entry) or '?') if 'synthetic' not in entry else 'synthetic'}"
            for name, entry in datasets.items()
        )
        or "-",
        "versions": " ".join(f"{lib} {v}" for lib, v in libs.items()) or "-",
    }
