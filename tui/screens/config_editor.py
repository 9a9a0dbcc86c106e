"""The layered config as a tree: each value with the layer and line that set it, edited in place.

Edits go to the override layer (`.rdtui/overrides.yaml` beside config.yaml) or, with `t`, into
config.yaml itself where the value is set. Every edit is validated at once with the messages of
`rdtui config check`; `ctrl+s` shows the diff against the file and saves after confirmation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, Select, Static, Tree

from tui.config_edit import (
    Checked,
    check,
    display_path,
    overrides_path,
    remove_value,
    set_value,
    unified_diff,
    write_atomic,
)
from tui.widgets.footer import KeysFooter

LAYER_STYLES = {"override": "bold yellow", "defaults": "dim", "datasets": "dim", "study": "dim", "selection": "dim"}


def leaf_label(key: str, value: Any, layer: str, where: str) -> Text:
    label = Text(key.rsplit(".", 1)[-1], style="bold")
    label.append(" = ")
    label.append(json.dumps(value, ensure_ascii=False))
    style = LAYER_STYLES.get(layer, "cyan" if layer.startswith("profiles.") else "green")
    label.append(f"   {layer} {where}", style=style)
    return label


class ConfigTree(Tree):
    """The tree keeps its cursor row in view when it shrinks (the edit line opens under it)."""

    def on_resize(self) -> None:
        if self.cursor_line >= 0:
            self.call_after_refresh(self.scroll_to_line, self.cursor_line, False)


class ConfigEditorScreen(Screen):
    HELP_TITLE = "Config editor"
    HELP_TEXT = (
        "Pick a condition and profile; the tree shows every resolved value and who set it. "
        "enter edits a value (typed as YAML: 1e-4, true, [a, b], null); / finds a key (n: next). "
        "Edits are checked against every condition and profile at once. t chooses the scope "
        "of an edit: the override layer (.rdtui/overrides.yaml, not committed: every condition), "
        "config.yaml where the value is set, or config.yaml for the chosen condition only; "
        "config.yaml keeps its comments. x drops one override."
    )
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "save", "Save (shows diff)"),
        Binding("slash", "search", "Find key"),
        Binding("n", "next_match", "Next match", show=False),
        Binding("t", "toggle_target", "Scope"),
        Binding("x", "revert", "Drop override"),
        Binding("d", "diff", "Diff"),
        Binding("u", "undo", "Discard edits"),
    ]
    # Where an edit goes (t cycles): the file, and which conditions it applies to.
    TARGETS = {
        "overrides": "every condition",
        "config": "where the value is set",
        "condition": "the chosen condition only",
    }

    def __init__(self) -> None:
        super().__init__()
        self.condition: str | None = None
        self.profile: str | None = None
        self.target = "overrides"  # a key of TARGETS
        self.texts: dict[str, str] = {}  # file ("config" or "overrides") -> text on disk
        self.pending: dict[str, str] = {}  # file -> edited text, not saved yet
        self.search_text = ""
        self.checked = Checked()
        self.editing: tuple[str, Any, str, str, str] | None = None
        self._choices: dict[str, list[str]] = {}

    @property
    def config_path(self) -> Path:
        return self.app.config_path

    @staticmethod
    def file_of(target: str) -> str:
        return "overrides" if target == "overrides" else "config"

    def target_path(self, target: str | None = None) -> Path:
        target = target or self.target
        return overrides_path(self.config_path) if target == "overrides" else self.config_path

    def compose(self) -> ComposeResult:
        yield Static(id="editor-title", classes="screen-title")
        with Horizontal(id="editor-choices"):
            yield Select([], prompt="condition", id="editor-condition", allow_blank=True)
            yield Select([], prompt="profile", id="editor-profile", allow_blank=True)
        yield ConfigTree("config", id="editor-tree")
        yield Static("Reading the config…", id="editor-messages", markup=False)
        yield Static(id="editor-edit-key", markup=False)
        yield Input(id="editor-edit")
        yield Input(id="editor-search", placeholder="find a key (enter: stay there, n: next match, esc: close)")
        yield KeysFooter()

    def on_mount(self) -> None:
        for box in ("#editor-edit", "#editor-edit-key", "#editor-search"):
            self.query_one(box).display = False
        tree = self.query_one(Tree)
        tree.show_root = False
        tree.focus()
        for target in ("config", "overrides"):
            path = self.target_path(target)
            try:
                self.texts[target] = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                self.texts[target] = ""
                if target == "config":
                    self.notify(f"{path} not found. {self.app.config_hint()}", severity="error", markup=False)
            except (OSError, UnicodeDecodeError) as exc:
                self.texts[target] = ""
                self.notify(f"{path}: cannot read ({exc})", severity="error", markup=False)
        self._title()
        self.revalidate()

    def _scope(self) -> str:
        scope = self.TARGETS[self.target]
        if self.target == "condition":
            scope = f"condition {self.condition} only"
        return f"{display_path(self.target_path())} ({scope})"

    def _title(self) -> None:
        edits = " · unsaved edits" if self.pending else ""
        self.query_one("#editor-title", Static).update(Text(f" Config · edits go to {self._scope()}{edits}"))

    # ---- validation ----
    @work(thread=True, exclusive=True, group="validate")
    def revalidate(self) -> None:
        try:
            result = check(
                self.config_path,
                self.condition,
                self.profile,
                config_text=self.pending.get("config"),
                overrides_text=self.pending.get("overrides"),
            )
        except Exception as exc:  # the check itself failed: say so instead of crashing the app
            result = Checked(issues=[f"cannot check the config: {type(exc).__name__}: {exc}"])
        self.app.call_from_thread(self._show_checked, result)

    def _show_checked(self, result: Checked) -> None:
        self.checked = result
        self._fill_choices(result)
        messages = self.query_one("#editor-messages", Static)
        messages.remove_class("ok", "bad")
        if result.issues:
            messages.add_class("bad")
            count = len(result.issues)
            messages.update(
                "\n".join(result.issues[:5])
                + (f"\n… {count - 5} more" if count > 5 else "")
                + f"\n{count} error{'s' if count != 1 else ''}"
            )
        else:
            messages.add_class("ok")
            state = "edits not saved yet (ctrl+s)" if self.pending else "as saved"
            messages.update(f"OK: {len(result.conditions)} conditions x {len(result.profiles)} profiles valid, {state}")
        if result.leaves:
            self._fill_tree(result.leaves)

    def _fill_choices(self, result: Checked) -> None:
        for select_id, names, current in (
            ("#editor-condition", result.conditions, self.condition),
            ("#editor-profile", result.profiles, self.profile),
        ):
            select = self.query_one(select_id, Select)
            options = [(n, n) for n in names]
            if self._choices.get(select_id) != names:
                self._choices[select_id] = names
                with select.prevent(Select.Changed):
                    select.set_options(options)
                    if names:
                        select.value = current if current in names else names[0]
        if self.condition is None and result.conditions:
            self.condition = result.conditions[0]
        if self.profile is None and result.profiles:
            self.profile = result.profiles[0]

    def _fill_tree(self, leaves: list[tuple[str, Any, str, str, str]]) -> None:
        tree = self.query_one(Tree)
        expanded = {str(node.data) for node in _walk(tree.root) if node.is_expanded and node.data}
        cursor = tree.cursor_node.data if tree.cursor_node else None
        tree.clear()
        groups: dict[str, Any] = {}
        for leaf in leaves:
            key, value, layer, where, _file_key = leaf
            parts = key.split(".")
            parent = tree.root
            for depth in range(1, len(parts)):
                group = ".".join(parts[:depth])
                if group not in groups:
                    groups[group] = parent.add(
                        parts[depth - 1], data=group, expand=group in expanded or (not expanded and depth == 1)
                    )
                parent = groups[group]
            parent.add_leaf(leaf_label(key, value, layer, where), data=leaf)
        if cursor is not None:
            key = cursor[0] if isinstance(cursor, tuple) else cursor
            # after the refresh: the new nodes have no line numbers before it (M4: the cursor
            # used to land on the top of the tree after every edit)
            self.call_after_refresh(self._move_to_key, key)

    def _move_to_key(self, key: str) -> bool:
        """The tree's cursor on the leaf (or group) `key`, its groups expanded, scrolled into view."""
        tree = self.query_one(Tree)
        for node in _walk(tree.root):
            data = node.data
            if (data[0] if isinstance(data, tuple) else data) == key:
                parent = node.parent
                while parent is not None:
                    parent.expand()
                    parent = parent.parent
                self.call_after_refresh(self._cursor_to, node)
                return True
        return False

    def _cursor_to(self, node) -> None:
        tree = self.query_one(Tree)
        tree.move_cursor(node)
        tree.scroll_to_node(node, animate=False)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value is Select.BLANK:
            return
        if event.select.id == "editor-condition":
            self.condition = str(event.value)
        else:
            self.profile = str(event.value)
        self.revalidate()

    # ---- editing ----
    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        data = event.node.data
        if not isinstance(data, tuple):
            return
        key, value, layer, _where, _file_key = data
        if layer == "selection":
            self.notify(f"{key} is chosen above, not set in a file.", severity="warning")
            return
        if self.target != "overrides" and layer == "override":
            self.notify(f"{key} is set by the override layer; press t to edit that instead.", severity="warning")
            return
        self.editing = data
        label = self.query_one("#editor-edit-key", Static)
        label.update(f"{key} = ? (YAML; enter applies, esc cancels) → {self._scope()}")
        label.display = True
        box = self.query_one("#editor-edit", Input)
        box.value = json.dumps(value, ensure_ascii=False)
        box.placeholder = f"{key} (YAML value; enter applies, esc cancels)"
        box.display = True
        box.focus()
        self.call_after_refresh(self._cursor_to, event.node)  # the edited row stays in view

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "editor-search":
            self._close_search()
            return
        if self.editing is None:
            return
        from core.config.source import parse_value

        key, _old, _layer, _where, file_key = self.editing
        value = parse_value(event.value)
        file = self.file_of(self.target)
        target_text = self.pending.get(file, self.texts[file])
        # config.yaml: change the value where its layer sets it, or under the chosen condition;
        # the override layer mirrors the resolved tree
        if self.target == "config":
            path = file_key.split(".")
        elif self.target == "condition":
            path = ["conditions", str(self.condition), *key.split(".")]
        else:
            path = key.split(".")
        try:
            self.pending[file] = set_value(target_text, path, value)
        except Exception as exc:
            self.notify(f"{display_path(self.target_path())}: cannot edit ({exc})", severity="error", markup=False)
            return
        self._close_edit()
        self._title()
        self.revalidate()

    def _close_edit(self) -> None:
        self.editing = None
        self.query_one("#editor-edit", Input).display = False
        self.query_one("#editor-edit-key").display = False
        self.query_one(Tree).focus()

    # ---- finding a key ----
    def action_search(self) -> None:
        box = self.query_one("#editor-search", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "editor-search":
            self.search_text = event.value.strip().lower()
            self._find(0)

    def action_next_match(self) -> None:
        self._find(1)

    def _find(self, skip: int) -> None:
        """The cursor on the first key containing the search text (after the current one with skip)."""
        if not self.search_text:
            return
        keys = [leaf[0] for leaf in self.checked.leaves if self.search_text in leaf[0].lower()]
        if not keys:
            self.query_one("#editor-search", Input).border_subtitle = "no match"
            return
        tree = self.query_one(Tree)
        current = tree.cursor_node.data[0] if tree.cursor_node and isinstance(tree.cursor_node.data, tuple) else None
        index = (keys.index(current) + skip) % len(keys) if current in keys else 0
        self.query_one("#editor-search", Input).border_subtitle = f"{index + 1}/{len(keys)}"
        self._move_to_key(keys[index])

    def _close_search(self) -> None:
        self.query_one("#editor-search", Input).display = False
        self.query_one(Tree).focus()

    # ---- one override dropped ----
    def action_revert(self) -> None:
        tree = self.query_one(Tree)
        data = tree.cursor_node.data if tree.cursor_node else None
        if not isinstance(data, tuple) or data[2] != "override":
            self.notify("Only a value set by the override layer can be dropped (x).", severity="warning")
            return
        text = self.pending.get("overrides", self.texts["overrides"])
        try:
            self.pending["overrides"] = remove_value(text, data[0].split("."))
        except Exception as exc:
            self.notify(f"cannot drop {data[0]}: {exc}", severity="error", markup=False)
            return
        self.notify(f"Dropped the override of {data[0]} (ctrl+s saves).", markup=False)
        self._title()
        self.revalidate()

    def action_back(self) -> None:
        if self.query_one("#editor-search").display:
            self._close_search()
            return
        if self.editing is not None:
            self._close_edit()
            return
        if self.pending:
            from tui.screens.dialogs import ConfirmScreen

            def answered(yes: bool | None) -> None:
                if yes:
                    self.app.pop_screen()

            self.app.push_screen(ConfirmScreen("Leave without saving your edits?"), answered)
            return
        self.app.pop_screen()

    def action_toggle_target(self) -> None:
        targets = list(self.TARGETS)
        self.target = targets[(targets.index(self.target) + 1) % len(targets)]
        self._title()
        self.notify(f"Edits go to {self._scope()}.", markup=False)

    def action_undo(self) -> None:
        self.pending.clear()
        self._title()
        self.revalidate()

    def _diff_text(self) -> str:
        return "".join(
            unified_diff(self.texts[t], text, display_path(self.target_path(t))) for t, text in self.pending.items()
        )

    def action_diff(self) -> None:
        from tui.screens.dialogs import TextScreen

        diff = self._diff_text()
        self.app.push_screen(TextScreen("Unsaved edits", Text(diff) if diff else Text("No edits.")))

    def action_save(self) -> None:
        if not self.pending:
            self.notify("Nothing to save.")
            return
        from tui.screens.dialogs import ConfirmScreen

        issues = len(self.checked.issues)
        question = "Save these edits?" + (
            f" The config has {issues} error(s); runs will refuse to launch." if issues else ""
        )
        self.app.push_screen(ConfirmScreen(question, Text(self._diff_text()), default=not issues), self._save_answered)

    def _save_answered(self, yes: bool | None) -> None:
        if not yes:
            return
        for target, text in list(self.pending.items()):
            path = self.target_path(target)
            try:
                write_atomic(path, text)
            except OSError as exc:
                self.notify(f"{path}: cannot write ({exc})", severity="error", markup=False)
                return
            self.texts[target] = text
            del self.pending[target]
            self.notify(f"Saved {display_path(path)}.", markup=False)
        self._title()
        self.revalidate()


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)
