"""The Samples tab: sampled completions with their rewards, the `<think>` block folded or shown."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from core.grading.markers import THINK_CLOSE
from tui.think import split_think
from tui.widgets.styles import plain

MAX_SAMPLES = 2000
THINK_STYLE = "italic magenta"
ANSWER_STYLE = "bold"


def _number(value) -> str:
    return f"{value:.3g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def render_sample(sample: dict, folded: bool) -> Group:
    rewards = sample.get("rewards") if isinstance(sample.get("rewards"), dict) else {}
    head = Text(f"step {sample.get('step', '?')}", style="bold")
    if sample.get("stage"):
        head.append(f" · {sample['stage']}")
    parts: list = [head]
    if rewards:  # a line of its own, never wrapped (m17: "format" and its value split over two lines)
        line = "rewards: " + " · ".join(f"{k} {_number(v)}" for k, v in rewards.items())
        parts.append(Text(line, no_wrap=True, overflow="ellipsis"))
    prompt = str(sample.get("prompt", ""))
    if prompt:
        parts += [Text("prompt", style="underline dim"), Text(prompt, style="dim")]
    completion = split_think(str(sample.get("completion", "")))
    parts.append(Text("completion", style="underline dim"))
    if completion.think is not None:
        size = f"{len(completion.think):,} chars, {completion.think.count(chr(10)) + 1} lines"
        if folded:
            parts.append(Text(f"▸ <think> {size} (t unfolds)", style=THINK_STYLE))
        else:
            parts += [Text(f"▾ <think> {size} (t folds)", style=THINK_STYLE), Text(completion.think, style=THINK_STYLE)]
        if completion.closed:
            parts.append(Text(THINK_CLOSE, style=THINK_STYLE))
        else:
            parts.append(Text("the reasoning never closed: the completion was cut off (scores 0)", style="bold yellow"))
    parts.append(Text(completion.answer or "(no answer after the reasoning)", style=ANSWER_STYLE))
    if sample.get("answer") is not None:
        parts.append(Text(f"gold: {sample['answer']}", style="green"))
    return Group(*parts)


class SamplesPane(Horizontal):
    BINDINGS = [
        Binding("t", "fold", "Fold/unfold <think>"),
        Binding("n", "step(1)", "Next sample"),
        Binding("p", "step(-1)", "Previous sample"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.samples: list[dict] = []
        self.folded = True

    def compose(self) -> ComposeResult:
        yield DataTable(id="samples-list", cursor_type="row")
        with VerticalScroll(id="sample-body"):
            yield Static("No samples yet: the trainer writes some every `sample_every` steps.", id="sample-text")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("step", "reward", "prompt")

    def add(self, records: list[dict], reset: bool) -> None:
        table = self.query_one(DataTable)
        if reset:
            self.samples.clear()
            table.clear()
        follow = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        self.samples.extend(records)
        new = records
        if len(self.samples) > MAX_SAMPLES:
            self.samples = new = self.samples[-MAX_SAMPLES:]
            table.clear()
        start = len(self.samples) - len(new)
        for n, record in enumerate(new, start):
            table.add_row(*self._cells(record), key=str(n))
        if follow and table.row_count:
            table.move_cursor(row=table.row_count - 1)
        self.show(table.cursor_row)

    @staticmethod
    def _cells(record: dict) -> tuple:
        rewards = record.get("rewards") if isinstance(record.get("rewards"), dict) else {}
        total = sum(v for v in rewards.values() if isinstance(v, (int, float)))
        prompt = " ".join(str(record.get("prompt", "")).split())[:60]
        return (plain(str(record.get("step", "?"))), plain(f"{total:.3g}" if rewards else "-"), plain(prompt))

    def show(self, index: int) -> None:
        text = self.query_one("#sample-text", Static)
        if not self.samples:
            return
        index = min(max(index, 0), len(self.samples) - 1)
        text.update(render_sample(self.samples[index], self.folded))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.show(event.cursor_row)

    def action_fold(self) -> None:
        self.folded = not self.folded
        self.show(self.query_one(DataTable).cursor_row)

    def action_step(self, direction: int) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.move_cursor(row=min(max(table.cursor_row + direction, 0), table.row_count - 1))
