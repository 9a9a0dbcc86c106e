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


class ConfigEditorScreen(Screen):
    HELP_TITLE = "Config editor"
    HELP_TEXT = ("Pick a condition and profile; the tree shows every resolved value and who set it. "
                 "enter edits a value (typed as YAML: 1e-4, true, [a, b], null). Edits are checked "
                 "against every condition and profile at once. t switches between writing the "
                 "override layer (.rdtui/overrides.yaml, not committed) and editing config.yaml in place, "
                 "keeping its comments.")
    BINDINGS = [
        Binding("ctrl+s", "save", "Save (shows diff)"),
        Binding("d", "diff", "Diff"),
        Binding("t", "toggle_target", "Write to: overrides/config.yaml"),
        Binding("u", "undo", "Discard edits"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.condition: str | None = None
        self.profile: str | None = None
        self.target = "overrides"
        self.texts: dict[str, str] = {}          # target -> text on disk
        self.pending: dict[str, str] = {}        # target -> edited text, not saved yet
        self.checked = Checked()
        self.editing: tuple[str, Any, str, str, str] | None = None
        self._choices: dict[str, list[str]] = {}

    @property
    def config_path(self) -> Path:
        return self.app.config_path

    def target_path(self, target: str | None = None) -> Path:
        target = target or self.target
        return self.config_path if target == "config" else overrides_path(self.config_path)

    def compose(self) -> ComposeResult:
        yield Static(id="editor-title", classes="screen-title")
        with Horizontal(id="editor-choices"):
            yield Select([], prompt="condition", id="editor-condition", allow_blank=True)
            yield Select([], prompt="profile", id="editor-profile", allow_blank=True)
        yield Tree("config", id="editor-tree")
        yield Static("Reading the config…", id="editor-messages", markup=False)
        yield Input(id="editor-edit")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#editor-edit").display = False
        tree = self.query_one(Tree)
        tree.show_root = False
        tree.focus()
        for target in ("config", "overrides"):
            path = self.target_path(target)
            try:
                self.texts[target] = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                self.texts[target] = ""
            except (OSError, UnicodeDecodeError) as exc:
                self.texts[target] = ""
                self.notify(f"{path}: cannot read ({exc})", severity="error", markup=False)
        self._title()
        self.revalidate()

    def _title(self) -> None:
        where = display_path(self.target_path())
        edits = " · unsaved edits" if self.pending else ""
        self.query_one("#editor-title", Static).update(Text(f" Config · edits go to {where}{edits}"))

    # ---- validation ----
    @work(thread=True, exclusive=True, group="validate")
    def revalidate(self) -> None:
        try:
            result = check(self.config_path, self.condition, self.profile,
                           config_text=self.pending.get("config"), overrides_text=self.pending.get("overrides"))
        except Exception as exc:     # the check itself failed: say so instead of crashing the app
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
            messages.update("\n".join(result.issues[:5]) + (f"\n… {count - 5} more" if count > 5 else "")
                            + f"\n{count} error{'s' if count != 1 else ''}")
        else:
            messages.add_class("ok")
            state = "edits not saved yet (ctrl+s)" if self.pending else "as saved"
            messages.update(f"OK: {len(result.conditions)} conditions x {len(result.profiles)} profiles valid, {state}")
        if result.leaves:
            self._fill_tree(result.leaves)

    def _fill_choices(self, result: Checked) -> None:
        for select_id, names, current in (("#editor-condition", result.conditions, self.condition),
                                          ("#editor-profile", result.profiles, self.profile)):
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
                    groups[group] = parent.add(parts[depth - 1], data=group,
                                               expand=group in expanded or (not expanded and depth == 1))
                parent = groups[group]
            parent.add_leaf(leaf_label(key, value, layer, where), data=leaf)
        if cursor is not None:
            for node in _walk(tree.root):
                if node.data == cursor or (isinstance(node.data, tuple) and isinstance(cursor, tuple)
                                           and node.data[0] == cursor[0]):
                    tree.move_cursor(node)
                    break

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
        if self.target == "config" and layer == "override":
            self.notify(f"{key} is set by the override layer; press t to edit that instead.", severity="warning")
            return
        self.editing = data
        box = self.query_one("#editor-edit", Input)
        box.value = json.dumps(value, ensure_ascii=False)
        box.placeholder = f"{key} (YAML value; enter applies, esc cancels)"
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.editing is None:
            return
        from core.config.source import parse_value

        key, _old, _layer, _where, file_key = self.editing
        value = parse_value(event.value)
        target_text = self.pending.get(self.target, self.texts[self.target])
        # config.yaml: change the value where its layer sets it; the override layer mirrors the resolved tree
        path = file_key.split(".") if self.target == "config" else key.split(".")
        try:
            self.pending[self.target] = set_value(target_text, path, value)
        except Exception as exc:
            self.notify(f"{display_path(self.target_path())}: cannot edit ({exc})", severity="error", markup=False)
            return
        self._close_edit()
        self._title()
        self.revalidate()

    def _close_edit(self) -> None:
        self.editing = None
        box = self.query_one("#editor-edit", Input)
        box.display = False
        self.query_one(Tree).focus()

    def action_back(self) -> None:
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
        self.target = "config" if self.target == "overrides" else "overrides"
        self._title()

    def action_undo(self) -> None:
        self.pending.clear()
        self._title()
        self.revalidate()

    def _diff_text(self) -> str:
        return "".join(unified_diff(self.texts[t], text, display_path(self.target_path(t)))
                       for t, text in self.pending.items())

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
        question = "Save these edits?" + (f" The config has {issues} error(s); runs will refuse to launch." if issues else "")
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
