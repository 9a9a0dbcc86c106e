"""The Config tab: the run's resolved snapshot, each value with the layer and line that set it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

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


class ConfigPane(Vertical):
    def __init__(self, path: Path, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static("Reading the config snapshot…", classes="pane-status", id="config-status")
        yield DataTable(id="config-table", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("key", "value", "set by")

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
        self.query_one("#config-status", Static).update(status)
        table = self.query_one(DataTable)
        table.clear()
        for key, value, source in rows:
            table.add_row(plain(key), plain(value if len(value) <= 60 else value[:59] + "…"), plain(source), key=key)
