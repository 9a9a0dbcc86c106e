"""`rdtui push RUN --to HUB_ID [--private] [--card-only]`: a run's trained model (or LoRA adapter)
to the Hugging Face hub, with a model card holding its config snapshot and evaluation table.

The upload goes through `hub_api()` (huggingface_hub's HfApi, which reads HF_TOKEN or the login
cache); the model folder is never modified: the card is written into a staging folder of links.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import RdtuiError, UsageError
from core.paths import default_runs_dir
from core.store.runstore import RunStore

if TYPE_CHECKING:
    from core.config.schema import ResolvedConfig

CARD = "README.md"


def hub_api():
    """The hub client (the seam tests replace)."""
    from huggingface_hub import HfApi

    return HfApi()


def _valid_repo_id(repo_id: str) -> bool:
    parts = repo_id.split("/")
    return len(parts) == 2 and all(parts) and not any(p in (".", "..") for p in parts) and " " not in repo_id


def main(args) -> int:
    if not _valid_repo_id(args.to):
        raise UsageError(f"--to {args.to!r}: expected a hub repo id like your-name/qwen3-1.7b-re-distill")
    run = RunStore(default_runs_dir(args.runs_dir)).get(args.run)
    cfg = run.config()
    from core.evaluation.modelref import run_final_checkpoint

    try:
        model_dir = run_final_checkpoint(cfg.condition, run)
    except RdtuiError as exc:
        raise UsageError(str(exc)) from None
    if model_dir is None:
        raise UsageError(
            f"run {run.id} ({cfg.condition.name}) trains nothing: its model is {cfg.model.name}, "
            f"already on the hub or on disk"
        )
    card = model_card(run, cfg, model_dir)
    if args.card_only:
        print(card)
        return 0
    with tempfile.TemporaryDirectory(prefix="rdtui-push-") as staging:
        folder = stage_folder(model_dir, card, Path(staging))
        try:
            api = hub_api()
            url = api.create_repo(args.to, private=args.private or None, exist_ok=True)
            info = api.upload_folder(
                repo_id=args.to, folder_path=str(folder), commit_message=f"rdtui push {run.id} ({cfg.condition.name})"
            )
        except Exception as exc:  # HTTP errors, no token, offline: one line, nothing half-said
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise RdtuiError(f"could not push {run.id} to {args.to}: {reason}") from None
    pushed = {"to": args.to, "url": str(getattr(info, "commit_url", None) or url), "model": str(model_dir)}
    run.update(extra_items={"pushed": [*run.reload().extra.get("pushed", []), pushed]})
    print(f"pushed {run.id} ({'adapter' if is_adapter(model_dir) else 'model'}) to {pushed['url']}")
    return 0


def is_adapter(model_dir: Path) -> bool:
    return (model_dir / "adapter_config.json").exists()


def stage_folder(model_dir: Path, card: str, staging: Path) -> Path:
    """The files to upload: the model folder's files (linked, not copied, where the filesystem
    allows) and the card. A README.md in the model folder is replaced by the card."""
    folder = staging / model_dir.name
    folder.mkdir(parents=True)
    for path in sorted(model_dir.rglob("*")):
        if not path.is_file() or path.name == CARD or any(p.startswith(".") for p in path.relative_to(model_dir).parts):
            continue
        target = folder / path.relative_to(model_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
    (folder / CARD).write_text(card, encoding="utf-8")
    return folder


def _yaml_list(name: str, values: list[str]) -> list[str]:
    return [f"{name}:"] + [f"- {json.dumps(v)}" for v in values] if values else []


def model_card(run, cfg: ResolvedConfig, model_dir: Path) -> str:
    """A hub model card: metadata the hub indexes, what the run trained, its evaluation table, the
    library versions and data revisions it loaded, and its whole config snapshot."""
    from core.reporting.results import collect_results, read_summaries, render_results

    adapter = is_adapter(model_dir)
    base = cfg.model.name
    hub_base = not base.startswith("builtin:") and not Path(base).exists()
    stages = [s for s in cfg.condition.stages if s in ("sft", "grpo")]
    datasets = [getattr(cfg, s).dataset for s in stages if getattr(cfg, s) is not None and getattr(cfg, s).dataset]
    hub_datasets = [hub for d in datasets if d in cfg.datasets and (hub := cfg.datasets[d].hub)]
    front = [
        "---",
        *(["base_model: " + json.dumps(base)] if hub_base else []),
        f"library_name: {'peft' if adapter else 'transformers'}",
        *_yaml_list("tags", ["rdtui", "trl", *stages, cfg.condition.name]),
        *_yaml_list("datasets", hub_datasets),
        "---",
        "",
    ]
    record = run.reload()
    rows = []
    if read_summaries(run):
        rows = [row for row in collect_results(RunStore(run.dir.parent), None, runs=[run.id]) if row.run_id == run.id]
    table = render_results(rows, "md") if rows else "_No evaluation results in this run._"
    loaded = record.loaded or {}
    versions: dict[str, Any] = next(iter((loaded.get("versions") or {}).values()), {})
    body = [
        f"# {cfg.study.name}: {cfg.condition.name}",
        "",
        cfg.condition.description or "",
        "",
        f"Trained with rdtui, run `{run.id}`: stages {' -> '.join(cfg.condition.stages)} "
        f"from `{base}`{' (revision ' + cfg.model.revision + ')' if hub_base else ''}; "
        f"this repository holds the {'LoRA adapter' if adapter else 'full model'} of its last training stage.",
        "",
        "## Evaluation",
        "",
        table,
        "",
    ]
    if loaded:
        body += [
            "## What the run loaded",
            "",
            "```json",
            json.dumps(
                {"model": loaded.get("model"), "datasets": loaded.get("datasets"), "versions": versions}, indent=2
            ),
            "```",
            "",
        ]
    body += [
        "## Config",
        "",
        "The run's resolved config; each value notes the layer and line that set it.",
        "",
        "```yaml",
        run.config_path.read_text(encoding="utf-8").rstrip(),
        "```",
        "",
    ]
    return "\n".join(front + body)
