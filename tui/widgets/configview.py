"""The Config tab: the run's resolved snapshot, each value with the layer and line that set it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from tui.widgets.styles import plain


def flatten(tree: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(tree, dict) and tree:
        out = []
        for key, value in tree.items():
            out += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    return [(prefix, tree)]


def snapshot_rows(path: Path) -> list[tuple[str, str, str]]:
    """(dotted key, value, provenance) of a run's config.yaml; raises OSError/ValueError when unreadable."""
    import yaml

    from core.config import snapshot_provenance

    text = path.read_text(encoding="utf-8")
    try:
        tree = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(tree, dict):
        raise ValueError("not a resolved config snapshot")
    notes = snapshot_provenance(path)
    return [(key, json.dumps(value, ensure_ascii=False), notes.get(key, "-")) for key, value in flatten(tree)]


def middle_cut(text: str, width: int) -> str:
    """`grpo.trainer_…_completions`: both ends of a key or a layer and its line stay readable."""
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


VALUE_MIN = 12  # a value column narrower than this says too little; the rest of the width is the value's


class ConfigPane(Vertical):
    """Every resolved value with the layer that set it. The key column stays in view when scrolling
    right and values are cut to leave room for "set by" (m10: at 80 columns provenance was off
    screen); `/` narrows the rows to keys, values or layers containing the text typed."""

    BINDINGS = [
        Binding("slash", "search", "Find"),
        Binding("escape", "close_search", "Close find", show=False),
    ]

    def __init__(self, path: Path, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.loaded = False
        self.rows: list[tuple[str, str, str]] = []
        self.status = ""
        self.query_text = ""

    def compose(self) -> ComposeResult:
        yield Static("Reading the config snapshot…", classes="pane-status", id="config-status")
        yield DataTable(id="config-table", cursor_type="row", fixed_columns=1)
        yield Input(
            id="config-search", classes="bottom-input", placeholder="show keys, values or layers containing… (esc: all)"
        )

    def on_mount(self) -> None:
        self.query_one("#config-search").display = False

    def on_show(self) -> None:
        """Read when first shown: provenance needs the config package, which is slow to import."""
        if not self.loaded:
            self.loaded = True
            self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        try:
            rows = snapshot_rows(self.path)
        except FileNotFoundError:
            self.app.call_from_thread(self._show, [], f"{self.path} is missing (the run folder may have been deleted).")
            return
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.app.call_from_thread(self._show, [], f"{self.path}: {exc}")
            return
        self.app.call_from_thread(self._show, rows, f"{len(rows)} values · {self.path}")

    def _show(self, rows: list[tuple[str, str, str]], status: str) -> None:
        self.rows, self.status = rows, status
        self._fill()

    def _fill(self) -> None:
        needle = self.query_text.lower()
        rows = [r for r in self.rows if not needle or any(needle in part.lower() for part in r)]
        status = self.status if not needle else f"{len(rows)} of {len(self.rows)} values match {self.query_text!r}"
        self.query_one("#config-status", Static).update(status)
        table = self.query_one(DataTable)
        table.clear(columns=True)
        width = self.size.width or self.app.size.width
        key_width = min(max((len(k) for k, _, _ in rows), default=3), max(16, int(width * 0.38)))
        # "set by" whole where it fits beside the key and a value of VALUE_MIN + 10 columns.
        source_width = min(
            max((len(src) for _, _, src in rows), default=6), max(16, width - key_width - VALUE_MIN - 16)
        )
        room = max(VALUE_MIN, width - key_width - source_width - 6)
        table.add_column("key", key="key")
        table.add_column("value", key="value")
        table.add_column("set by", key="source")
        for key, value, source in rows:
            table.add_row(
                plain(middle_cut(key, key_width)),
                plain(value if len(value) <= room else value[: room - 1] + "…"),
                plain(middle_cut(source, source_width)),
                key=key,
            )

    def on_resize(self) -> None:
        if self.rows:
            self._fill()

    # ---- find ----
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "close_search":
            return bool(self.query_one("#config-search").display or self.query_text)  # else esc goes back
        return True

    def action_search(self) -> None:
        box = self.query_one("#config-search", Input)
        box.value = self.query_text
        box.display = True
        box.focus()
        box.select_all()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_text = event.value.strip()
        self._fill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#config-search").display = False
        self.query_one(DataTable).focus()

    def action_close_search(self) -> None:
        box = self.query_one("#config-search", Input)
        box.display = False
        if self.query_text:
            self.query_text = ""
            box.value = ""
            self._fill()
        self.query_one(DataTable).focus()
