"""Merging config layers leaf by leaf, keeping each leaf's provenance.

The study file has `defaults`, `conditions.<name>` (with an `inherit:` chain) and
`profiles.<name>`; user overrides come last. Layers are applied lowest first onto a flat table
from dotted path to `Leaf`; a mapping merges key by key, anything else replaces what was there.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config.source import YamlDocument, load_yaml_file, parse_value, parse_yaml_text
from core.errors import ConfigError, ConfigIssue

Path_ = tuple[str, ...]

TOP_LEVEL = ("study", "defaults", "datasets", "conditions", "profiles")
# Values replaced whole by a higher layer instead of merged key by key: a condition that lists
# its reward weights means exactly those rewards, and a profile's dataset entry replaces the study's.
ATOMIC_PATHS = {("grpo", "reward_weights")}
ATOMIC_PARENTS = {("datasets",)}
CONDITION_META = {"description": ("condition", "description"), "stages": ("condition", "stages")}
PROFILE_META = {"description": ("profile", "description")}


def _is_atomic(path: Path_) -> bool:
    return path in ATOMIC_PATHS or path[:-1] in ATOMIC_PARENTS


@dataclass(frozen=True)
class Provenance:
    layer: str  # defaults | conditions.<name> | profiles.<name> | override | selection
    file: str | None
    line: int | None
    key: str  # where the value sits in its file, dotted (conditions.re_distill.sft.dataset)

    def where(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or "-"


@dataclass
class Leaf:
    value: Any
    source: Provenance


@dataclass
class Study:
    """A parsed study file: the raw document plus where it lives."""

    doc: YamlDocument
    path: Path

    @property
    def data(self) -> dict[str, Any]:
        return self.doc.data if isinstance(self.doc.data, dict) else {}

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        return value if isinstance(value, dict) else {}

    @property
    def conditions(self) -> list[str]:
        return list(self.section("conditions"))

    @property
    def profiles(self) -> list[str]:
        return list(self.section("profiles"))

    def line(self, *path: str) -> int | None:
        return self.doc.lines.get(tuple(path))

    def issue(self, path: Path_, message: str) -> ConfigIssue:
        """An issue at the nearest line of `path` that the file has."""
        for n in range(len(path), 0, -1):
            line = self.doc.lines.get(path[:n])
            if line:
                return ConfigIssue(self.doc.file, line, ".".join(path), message)
        return ConfigIssue(self.doc.file, None, ".".join(path), message)


@dataclass
class Layered:
    """The flat table of resolved leaves, plus the source of each mapping node (for error lines)."""

    leaves: dict[Path_, Leaf] = field(default_factory=dict)
    nodes: dict[Path_, Provenance] = field(default_factory=dict)

    def set_leaf(self, path: Path_, value: Any, source: Provenance) -> None:
        self._drop_under(path)
        n = len(path)
        for key in [k for k in self.nodes if len(k) > n and k[:n] == path]:
            del self.nodes[key]
        for n in range(1, len(path)):
            self.leaves.pop(path[:n], None)
        self.leaves[path] = Leaf(value, source)

    def _drop_under(self, path: Path_) -> None:
        n = len(path)
        for key in [k for k in self.leaves if len(k) > n and k[:n] == path]:
            del self.leaves[key]

    def apply(
        self,
        data: dict[str, Any],
        doc: YamlDocument | None,
        layer: str,
        src_prefix: Path_,
        dst_prefix: Path_ = (),
        renames: Mapping[str, Path_] | None = None,
    ) -> None:
        for key, value in data.items():
            src = src_prefix + (key,)
            dst = renames[key] if renames and key in renames else dst_prefix + (key,)
            source = Provenance(layer, doc.file if doc else None, doc.lines.get(src) if doc else None, ".".join(src))
            if _is_atomic(dst):
                self.set_leaf(dst, copy.deepcopy(value), source)
                # Keep the lines of the entry's own keys, so errors inside it point at the right line.
                for sub in value if isinstance(value, dict) else ():
                    self.nodes[dst + (sub,)] = Provenance(
                        layer, source.file, doc.lines.get(src + (sub,)) if doc else None, f"{source.key}.{sub}"
                    )
            elif isinstance(value, dict) and value:
                if dst in self.leaves:
                    del self.leaves[dst]
                # The first layer that opened a section keeps it: a missing key is reported there.
                self.nodes.setdefault(dst, source)
                self.apply(value, doc, layer, src, dst)
            else:
                self.set_leaf(dst, copy.deepcopy(value), source)

    def apply_override(self, path: Path_, value: Any, source: Provenance) -> None:
        """A dotted override; inside an atomic value it edits one key of it."""
        for n in range(1, len(path)):
            head = path[:n]
            if _is_atomic(head):
                leaf = self.leaves.get(head)
                current = copy.deepcopy(leaf.value) if leaf and isinstance(leaf.value, dict) else {}
                target = current
                for part in path[n:-1]:
                    target = target.setdefault(part, {})
                target[path[-1]] = value
                self.set_leaf(head, current, source)
                return
        if isinstance(value, dict) and value and not _is_atomic(path):
            self.nodes[path] = source
            for key, sub in value.items():
                self.apply_override(path + (key,), sub, source)
        else:
            self.set_leaf(path, value, source)

    def tree(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for path, leaf in self.leaves.items():
            target = out
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = leaf.value
        return out

    def source_of(self, path: Path_) -> Provenance | None:
        """Provenance of a path, or of the nearest enclosing leaf or mapping that has one, or else
        of a leaf below it (an unknown section that only `--set a.b=1` created)."""
        for n in range(len(path), 0, -1):
            head = path[:n]
            if head in self.leaves:
                return self.leaves[head].source
            if head in self.nodes:
                return self.nodes[head]
        n = len(path)
        return next((leaf.source for key, leaf in self.leaves.items() if key[:n] == path), None)


def inherit_chain(study: Study, condition: str) -> list[str]:
    """The condition and its ancestors, root first; cycles and unknown parents are errors."""
    conditions = study.section("conditions")
    chain: list[str] = []
    name: str | None = condition
    while name is not None:
        if name in chain:
            cycle = " -> ".join(chain[chain.index(name) :] + [name])
            raise ConfigError([study.issue(("conditions", chain[-1], "inherit"), f"inherit cycle: {cycle}")])
        if name not in conditions:
            if not chain:
                raise ConfigError(
                    [
                        ConfigIssue(
                            study.doc.file,
                            study.line("conditions"),
                            "conditions",
                            f"unknown condition {name!r}{did_you_mean(name, conditions)}",
                        )
                    ]
                )
            raise ConfigError(
                [
                    study.issue(
                        ("conditions", chain[-1], "inherit"),
                        f"inherits unknown condition {name!r}{did_you_mean(name, conditions)}",
                    )
                ]
            )
        chain.append(name)
        body = conditions[name] if isinstance(conditions[name], dict) else {}
        parent = body.get("inherit")
        if parent is not None and not isinstance(parent, str):
            raise ConfigError([study.issue(("conditions", name, "inherit"), "must be a condition name")])
        name = parent
    return list(reversed(chain))


def did_you_mean(name: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def layer_study(study: Study, condition: str, profile: str) -> Layered:
    """defaults < condition chain < profile, without user overrides."""
    from core.errors import InvalidRunId
    from core.store.runstore import validate_name

    try:
        validate_name(condition, "condition name")  # it names the run's folder
    except InvalidRunId as exc:
        raise ConfigError([study.issue(("conditions", condition), str(exc))]) from None
    layered = Layered()
    selection = Provenance("selection", None, None, "")
    layered.set_leaf(("condition", "name"), condition, selection)
    layered.set_leaf(("profile", "name"), profile, selection)
    study_section = study.section("study")
    layered.apply(study_section, study.doc, "study", ("study",), ("study",))
    layered.apply(study.section("defaults"), study.doc, "defaults", ("defaults",))
    layered.apply(study.section("datasets"), study.doc, "datasets", ("datasets",), ("datasets",))
    conditions = study.section("conditions")
    for name in inherit_chain(study, condition):
        body = {k: v for k, v in (conditions.get(name) or {}).items() if k != "inherit"}
        layered.apply(body, study.doc, f"conditions.{name}", ("conditions", name), renames=CONDITION_META)
    profiles = study.section("profiles")
    if profile not in profiles:
        raise ConfigError(
            [
                ConfigIssue(
                    study.doc.file,
                    study.line("profiles"),
                    "profiles",
                    f"unknown profile {profile!r}{did_you_mean(profile, profiles)}",
                )
            ]
        )
    body = profiles.get(profile) or {}
    if not isinstance(body, dict):
        raise ConfigError([study.issue(("profiles", profile), "must be a mapping")])
    layered.apply(body, study.doc, f"profiles.{profile}", ("profiles", profile), renames=PROFILE_META)
    return layered


# Set by what is launched (the condition argument, --profile), never by an override: a snapshot
# saying `condition.name: x` of a run of another condition would mislead every reader.
SELECTION_KEYS = {("condition", "name"), ("profile", "name"), ("condition",), ("profile",)}


def parse_set(item: str) -> tuple[Path_, Any]:
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(
            [ConfigIssue("--set", None, key or item, "expected KEY=VALUE with a dotted key, e.g. grpo.temperature=0.9")]
        )
    path = tuple(key.split("."))
    _refuse_selection(path, ConfigIssue("--set", None, key, ""))
    return path, parse_value(raw)


def _refuse_selection(path: Path_, where: ConfigIssue) -> None:
    if path in SELECTION_KEYS:
        raise ConfigError(
            [
                ConfigIssue(
                    where.file,
                    where.line,
                    where.key,
                    "cannot be overridden: name the condition to run and use --profile",
                )
            ]
        )


def apply_overrides(
    layered: Layered,
    sets: list[str],
    overrides_file: str | os.PathLike[str] | None,
    overrides_text: str | None = None,
) -> None:
    if overrides_file is not None:
        if overrides_text is not None:
            doc = parse_yaml_text(overrides_text, str(overrides_file))
        else:
            doc = load_yaml_file(overrides_file)
        if doc.data is not None and not isinstance(doc.data, dict):
            raise ConfigError([ConfigIssue(doc.file, 1, "", "an overrides file must be a mapping")])
        for key, value in (doc.data or {}).items():
            source = Provenance("override", doc.file, doc.lines.get((key,)), key)
            _apply_doc_override(layered, (key,), value, doc, source)
    for item in sets:
        path, value = parse_set(item)
        layered.apply_override(path, value, Provenance("override", "--set", None, ".".join(path)))


def _apply_doc_override(layered: Layered, path: Path_, value: Any, doc: YamlDocument, source: Provenance) -> None:
    _refuse_selection(path, ConfigIssue(doc.file, doc.lines.get(path), ".".join(path), ""))
    if isinstance(value, dict) and value and not _is_atomic(path):
        layered.nodes[path] = source
        for key, sub in value.items():
            sub_path = path + (key,)
            _apply_doc_override(
                layered,
                sub_path,
                sub,
                doc,
                Provenance("override", doc.file, doc.lines.get(sub_path), ".".join(sub_path)),
            )
    else:
        layered.apply_override(path, value, source)
