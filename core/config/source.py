"""Reading YAML while remembering where every key came from.

PyYAML's composer gives nodes with their line numbers; we turn a document into plain Python
values plus a table from key path to line, which is what provenance and error messages need.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError, ConfigIssue

Path_ = tuple[str, ...]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that also reads `2e-4` as a float (YAML 1.2), as researchers write learning rates."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


# Bounds on what a config may cost to read: a study file is kilobytes, and a hostile one (an alias
# "billion laughs", `--overrides /dev/zero`) must fail in well under a second with one line.
MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000  # scalars, lists and mappings after expanding aliases
# Tags the resolver gives plain YAML by itself; anything else was written as a tag (`!foo`, `!!python/...`).
PLAIN_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge")
}


@dataclass
class YamlDocument:
    data: Any
    lines: dict[Path_, int]  # key path -> 1-based line of the key (or of the item)
    file: str


def parse_yaml_text(text: str, file: str) -> YamlDocument:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError([ConfigIssue(file, line, "", f"YAML syntax error: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(file, None, "", f"YAML error: {exc}")]) from None
    except RecursionError:
        raise ConfigError([ConfigIssue(file, None, "", "YAML nested too deeply")]) from None
    if node is not None:
        _check_bounds(node, file)
    lines: dict[Path_, int] = {}
    issues: list[ConfigIssue] = []
    try:
        data = _build(node, (), lines, issues, file) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            [ConfigIssue(file, mark.line + 1 if mark else None, "", f"YAML error: {exc.problem or exc}")]
        ) from None
    if issues:
        raise ConfigError(issues)
    return YamlDocument(data, lines, file)


def _check_bounds(root: yaml.Node, file: str) -> None:
    """Refuse tags and alias expansions past MAX_NODES, walking the node graph as `_build` will
    (an alias is expanded each time it is used), but stopping at the first excess."""
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ConfigError(
                [
                    ConfigIssue(
                        file, None, "", f"more than {MAX_NODES:,} values once aliases are expanded (an alias bomb?)"
                    )
                ]
            )
        if node.tag not in PLAIN_TAGS:
            raise ConfigError(
                [
                    ConfigIssue(
                        file,
                        node.start_mark.line + 1,
                        "",
                        f"YAML tags are not allowed (got {node.tag!r}); write a plain value",
                    )
                ]
            )
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def load_yaml_file(path: str | os.PathLike[str], display: str | None = None) -> YamlDocument:
    path = Path(path)
    display = display or str(path)
    try:
        # Opening a FIFO would block: look before opening (O_NONBLOCK covers a swap in between).
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ConfigError([ConfigIssue(display, None, "", "not a regular file")])
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ConfigError([ConfigIssue(display, None, "", "not a regular file")])
            data = fh.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ConfigError(
                [
                    ConfigIssue(
                        display, None, "", f"larger than {MAX_BYTES // (1024 * 1024)} MB; a config is a few kilobytes"
                    )
                ]
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(display, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(display, None, "", f"cannot read: {exc}")]) from None
    return parse_yaml_text(text, display)


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], issues: list[ConfigIssue], file: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if not isinstance(key, str) or key_node.tag == "tag:yaml.org,2002:merge":
                issues.append(ConfigIssue(file, line, ".".join(path), "keys must be plain names"))
                continue
            if key in out:
                issues.append(
                    ConfigIssue(file, line, ".".join(path + (key,)), "duplicate key (the later one would silently win)")
                )
                continue
            lines[path + (key,)] = line
            out[key] = _build(value_node, path + (key,), lines, issues, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        # Lists are leaves: a layer replaces a list whole, it never merges items.
        return [_plain(item) for item in node.value]
    return _plain(node)


def _plain(node: yaml.Node) -> Any:
    return yaml.constructor.SafeConstructor().construct_document(node)


def parse_value(text: str) -> Any:
    """A `--set` value, typed as YAML would type it (`0.9` -> float, `[a, b]` -> list, `null`)."""
    try:
        return yaml.load(text, Loader=_Loader) if text.strip() else ""
    except yaml.YAMLError:
        return text
