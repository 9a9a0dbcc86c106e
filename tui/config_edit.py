"""Editing the layered config from the app: the overrides layer file or `config.yaml` itself.

Edits are made on a round-trip YAML document (ruamel.yaml), so comments, key order and layout of
the file survive. A candidate text is validated by the same code as `rdtui config check`, handed to it as
text that stands for the file (nothing is written until the user saves).
"""

from __future__ import annotations

import difflib
import io
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.paths import display_path
from core.store.runstore import write_atomic as store_write_atomic

OVERRIDES_DIR = ".rdtui"
OVERRIDES_NAME = "overrides.yaml"


def overrides_path(config_path: Path) -> Path:
    """The app's override layer lives beside config.yaml, in a folder git is told to ignore."""
    return config_path.parent / OVERRIDES_DIR / OVERRIDES_NAME


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(
        type(None), lambda rep, _value: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


def _flow(value: Any) -> Any:
    """Lists and small mappings written inline, as the study file writes them."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, list):
        seq = CommentedSeq(_flow(v) for v in value)
        seq.fa.set_flow_style()
        return seq
    if isinstance(value, dict):
        mapping = CommentedMap((k, _flow(v)) for k, v in value.items())
        mapping.fa.set_flow_style()
        return mapping
    return value


def set_value(text: str, path: list[str], value: Any) -> str:
    """`text` with the value at `path` replaced (or added), everything else left as it was.

    A scalar replacing a scalar is edited on its own line; anything else goes through ruamel's
    round trip, which can re-flow other lines (a flow mapping written over two lines)."""
    from ruamel.yaml.comments import CommentedMap

    yaml = _yaml()
    doc = yaml.load(text) if text.strip() else None
    if doc is None:
        doc = CommentedMap()
    node = doc
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = CommentedMap()
        node = node[key]
    in_place = _replace_scalar_in_line(text, node, path[-1], value, yaml)
    if in_place is not None:
        return in_place
    node[path[-1]] = _flow(value)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def remove_value(text: str, path: list[str]) -> str:
    """`text` without the value at `path` (and without the groups that leaves empty)."""
    yaml = _yaml()
    doc = yaml.load(text) if text.strip() else None
    nodes = [doc]
    for key in path[:-1]:
        node = nodes[-1]
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return text
        nodes.append(node[key])
    if not isinstance(nodes[-1], dict) or path[-1] not in nodes[-1]:
        return text
    del nodes[-1][path[-1]]
    for depth in range(len(path) - 1, 0, -1):
        if not nodes[depth]:
            del nodes[depth - 1][path[depth - 1]]
    if not doc:
        return ""
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _quoted_end(body: str) -> int | None:
    """Where the quoted scalar at the start of `body` ends (None when it goes on to another line)."""
    quote, i = body[0], 1
    while i < len(body):
        if quote == '"' and body[i] == "\\":
            i += 2
            continue
        if body[i] == quote:
            if quote == "'" and body[i + 1 : i + 2] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    return None


def _replace_scalar_in_line(text: str, node: Any, key: str, value: Any, yaml) -> str | None:
    """The text with one block-style `key: scalar` line's value swapped (its comment kept), or None."""
    if not (key in node and _is_scalar(node[key]) and _is_scalar(value) and hasattr(node, "lc")):
        return None
    try:
        line_no, col = node.lc.value(key)
    except (KeyError, TypeError):
        return None
    lines = text.splitlines(keepends=True)
    if line_no >= len(lines):
        return None
    line = lines[line_no]
    out = io.StringIO()
    yaml.dump({"k": value}, out)
    rendered = out.getvalue()
    if not rendered.startswith("k: ") or rendered.count("\n") != 1:
        return None  # a value that needs more than one line
    body = line[col:].rstrip("\n")
    if body.startswith(("'", '"')):
        end = _quoted_end(body)  # a quoted value may hold a '#'
        if end is None or (body[end:].strip() and not body[end:].lstrip().startswith("#")):
            return None
        old = body[:end]
    else:
        comment = re.search(r"\s+#", body)
        old = body[: comment.start()] if comment else body
    if not old.strip() or old.strip().startswith(("{", "[", "|", ">", "&", "*", "!")):
        return None
    lines[line_no] = line[:col] + rendered[3:-1] + body[len(old) :] + line[len(line.rstrip("\n")) :]
    return "".join(lines)


def unified_diff(before: str, after: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"{name} (on disk)",
            tofile=f"{name} (edited)",
        )
    )


def ignore_overrides_dir(path: Path) -> None:
    """A file going into a `.rdtui` folder (overrides, exports) makes git ignore that folder."""
    for folder in (path.parent, *path.parent.parents):
        if folder.name == OVERRIDES_DIR:
            folder.mkdir(parents=True, exist_ok=True)
            if not (folder / ".gitignore").exists():
                (folder / ".gitignore").write_text("# rdtui's local override layer and exports: never committed\n*\n")
            return


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore_overrides_dir(path)
    store_write_atomic(path, text, mode=_mode_for(path))  # keep the file's own mode (m4)


def _mode_for(path: Path) -> int:
    """The mode `path` has now, or what a new file gets under the user's umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@dataclass
class Checked:
    """The outcome of validating a candidate: messages as `rdtui config check` prints them, and the
    explained leaves of the chosen condition and profile: (key, value, layer, where, key in its file)."""

    issues: list[str] = field(default_factory=list)
    leaves: list[tuple[str, Any, str, str, str]] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)


def check(
    config_path: Path,
    condition: str | None,
    profile: str | None,
    *,
    config_text: str | None = None,
    overrides_text: str | None = None,
) -> Checked:
    """Validate the study (and the override layer) with optional edited texts standing in for the files.

    Every condition under every profile is resolved, as `rdtui config check` does; the leaves
    returned are those of `condition` under `profile` (the first of each when not given).
    """
    from core.config import load_study, resolve_full
    from core.errors import ConfigError

    over = overrides_path(config_path)
    over_file = display_path(over) if overrides_text is not None or over.exists() else None
    out = Checked()
    try:
        study = load_study(config_path, text=config_text)
    except ConfigError as exc:
        out.issues = exc.errors
        return out
    out.conditions, out.profiles = study.conditions, study.profiles
    condition = condition if condition in study.conditions else (study.conditions or [None])[0]
    profile = profile if profile in study.profiles else (study.profiles or [None])[0]
    issues: list = []
    for cond in study.conditions:
        for prof in study.profiles:
            try:
                resolution = resolve_full(study, cond, prof, overrides_file=over_file, overrides_text=overrides_text)
            except ConfigError as exc:
                issues.extend(exc.issues)
                continue
            if (cond, prof) == (condition, profile):
                out.leaves = [(key, value, src.layer, src.where(), src.key) for key, value, src in resolution.explain()]
    out.issues = ConfigError(issues).errors if issues else []
    return out
