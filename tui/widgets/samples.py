"""The Samples tab: sampled completions with their rewards, the `<think>` block folded or shown.

GRPO rows carry `group`/`group_size` (core/training/telemetry.py): a group, every completion of one
prompt at one step, is shown together, a header with its spread and one line per completion; `enter`
opens the highlighted one in full. Rows without a group (SFT, files written before groups) are listed
one by one as they always were.
"""

from __future__ import annotations

import math
from collections import Counter

from rich.console import Group
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from core.grading.markers import THINK_CLOSE
from tui.think import split_think
from tui.widgets.styles import plain

MAX_SAMPLES = 2000
THINK_STYLE = "italic magenta"
ANSWER_STYLE = "bold"
ANSWER_CHARS = 80  # of an answer on its completion's line

GroupKey = tuple[str, str, int]  # (stage, step, group): one prompt's completions at one step


def _number(value) -> str:
    if value is None:
        return "-"  # as the group's table shows a missing reward
    return f"{value:.3g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _finite(value) -> float | None:
    """A number read from the store, or None (missing, text, bool, NaN, infinite)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _signed(value) -> str:
    number = _finite(value)
    return "-" if number is None else f"{number:+.2f}"


def _flat(text, limit: int) -> str:
    return " ".join(str(text).split())[:limit]


def group_key(record: dict) -> GroupKey | None:
    group, size = record.get("group"), record.get("group_size")
    if isinstance(group, bool) or not isinstance(group, int) or isinstance(size, bool) or not isinstance(size, int):
        return None
    return (str(record.get("stage", "")), str(record.get("step", "?")), group) if size > 0 else None


def _line(text: str, style: str = "") -> Text:
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def render_sample(sample: dict, folded: bool) -> Group:
    rewards = sample.get("rewards") if isinstance(sample.get("rewards"), dict) else {}
    head = Text(f"step {sample.get('step', '?')}", style="bold")
    if sample.get("stage"):
        head.append(f" · {sample['stage']}")
    parts: list = [head]
    if rewards:  # a line of its own, never wrapped (m17: "format" and its value split over two lines)
        parts.append(_line("rewards: " + " · ".join(f"{k} {_number(v)}" for k, v in rewards.items())))
    if group_key(sample) is not None:
        tokens = sample.get("tokens")
        parts.append(
            _line(
                f"reward {_number(sample.get('reward'))} · advantage {_signed(sample.get('advantage'))}"
                + (f" · {tokens} tokens" if _finite(tokens) is not None else "")
            )
        )
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


def group_header(rows: list[dict], position: int, count: int) -> list[Text]:
    """The lines above a group's completions: where it is, its prompt, gold and spread. Each stays on
    one line (cut with an ellipsis) at any width."""
    first = rows[0]
    size = first.get("group_size")
    where = f"group {position}/{count} · step {first.get('step', '?')}"
    if first.get("stage"):
        where += f" · {first['stage']}"
    if isinstance(size, int) and len(rows) != size:
        where += f" · {len(rows)} of {size} completions"
    lines = [_line(f"{where} · prompt: {_flat(first.get('prompt', ''), 400)}", "bold")]
    totals = [t for t in (_finite(r.get("reward")) for r in rows) if t is not None]
    mean, std = _finite(first.get("group_mean")), _finite(first.get("group_std"))
    if mean is None and totals:
        mean = sum(totals) / len(totals)
    spread = [f"gold {_flat(first['answer'], 40)}"] if first.get("answer") is not None else []
    spread.append(f"mean {_number(mean) if mean is not None else '-'} std {_number(std) if std is not None else '-'}")
    spread.append(f"{sum(t > 0 for t in totals)}/{len(rows)} scored >0")
    tied_value, tied = Counter(round(t, 6) for t in totals).most_common(1)[0] if totals else (None, 0)
    if tied > 1:
        spread.append(f"{tied}/{len(rows)} tied at {_number(tied_value)}")
    lines.append(_line(" · ".join(spread)))
    if len(rows) > 1 and len(totals) == len(rows) and tied == len(rows):
        lines.append(
            _line("every reward equal (std 0): advantages are all 0, this group teaches nothing", "bold yellow")
        )
    return lines


def completion_cells(row: dict, names: list[str], number: int) -> tuple:
    """One completion as a compact line: total, each function's reward, advantage, length, answer."""
    rewards = row.get("rewards") if isinstance(row.get("rewards"), dict) else {}
    advantage = _finite(row.get("advantage"))
    tokens = _finite(row.get("tokens"))
    completion = split_think(str(row.get("completion", "")))
    if completion.think is not None and not completion.closed:
        answer = "▸ <think> never closed (cut off)"
    else:
        answer = ("▸ " if completion.think is not None else "") + (
            _flat(completion.answer, ANSWER_CHARS) or "(no answer)"
        )
    style = "" if not advantage else ("green" if advantage > 0 else "red")
    return (
        plain(str(number)),
        plain(_number(row.get("reward")) if row.get("reward") is not None else "-"),
        *(plain(_number(rewards[n]) if rewards.get(n) is not None else "-") for n in names),
        Text(_signed(advantage), style=style, no_wrap=True, end=""),
        plain(str(int(tokens)) if tokens is not None else "-"),
        plain(answer),
    )


class SamplesPane(Vertical):
    DEFAULT_CSS = """
    SamplesPane #samples-main { height: 1fr; }
    SamplesPane #group-head { height: auto; padding: 0 1; display: none; }
    SamplesPane #group-list { height: auto; max-height: 60%; display: none; overflow-x: hidden; }
    SamplesPane.-group #samples-main { layout: vertical; }
    SamplesPane.-group #samples-list { display: none; }
    SamplesPane.-group #group-head, SamplesPane.-group #group-list { display: block; }
    SamplesPane.-group.-zoom #group-head, SamplesPane.-group.-zoom #group-list { display: none; }
    """
    BINDINGS = [
        Binding("t", "fold", "Fold/unfold <think>"),
        Binding("n", "step_group(1)", "Next group"),
        Binding("p", "step_group(-1)", "Previous group"),
        Binding("n", "step(1)", "Next sample"),
        Binding("p", "step(-1)", "Previous sample"),
        Binding("escape", "zoom(False)", "Back to the group"),
        Binding("enter", "zoom(False)", "Back to the group", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.samples: list[dict] = []  # every row read, in file order (the newest MAX_SAMPLES)
        self.flat: list[dict] = []  # rows without a group, listed one by one
        self.groups: dict[GroupKey, list[dict]] = {}
        self.pages: list[GroupKey | None] = []  # None: the flat list (first when there is one), then each group
        self.page: int | None = None
        self.folded = True
        self.zoomed = False
        self._shown: tuple[GroupKey, int] | None = None  # the group (and its size) in the completions table

    def compose(self) -> ComposeResult:
        yield Static(id="group-head")
        with Horizontal(id="samples-main"):
            yield DataTable(id="samples-list", cursor_type="row")
            yield DataTable(id="group-list", cursor_type="row")
            with VerticalScroll(id="sample-body"):
                yield Static("No samples yet: the trainer writes some every `sample_every` steps.", id="sample-text")

    def on_mount(self) -> None:
        self.query_one("#samples-list", DataTable).add_columns("step", "reward", "prompt")

    # ---- data ----
    def add(self, records: list[dict], reset: bool) -> None:
        if reset:
            self.samples.clear()
            self._index([], rebuild=True)
        at_end = self.page is None or self.page >= len(self.pages) - 1
        had_groups = bool(self.groups)
        self.samples.extend(records)
        if len(self.samples) > MAX_SAMPLES:
            self.samples = self.samples[-MAX_SAMPLES:]
            self._index(self.samples, rebuild=True)
        else:
            self._index(records, rebuild=False)
        if at_end and self.pages:
            self.page = len(self.pages) - 1
        if bool(self.groups) != had_groups:
            self.refresh_bindings()  # n/p now step through groups (or samples again after a reset)
        self._show_page()

    def _index(self, records: list[dict], rebuild: bool) -> None:
        table = self.query_one("#samples-list", DataTable)
        follow = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        if rebuild:
            self.flat, self.groups, self.pages, self.page, self._shown = [], {}, [], None, None
            table.clear()
        for record in records:
            key = group_key(record)
            if key is None:
                if not self.flat:
                    self.pages.insert(0, None)
                    self.page = None if self.page is None else self.page + 1
                table.add_row(*self._cells(record), key=str(len(self.flat)))
                self.flat.append(record)
            else:
                if key not in self.groups:
                    self.groups[key] = []
                    self.pages.append(key)
                self.groups[key].append(record)
        if follow and table.row_count:
            table.move_cursor(row=table.row_count - 1)

    @staticmethod
    def _cells(record: dict) -> tuple:
        rewards = record.get("rewards") if isinstance(record.get("rewards"), dict) else {}
        total = sum(v for v in rewards.values() if isinstance(v, (int, float)))
        prompt = " ".join(str(record.get("prompt", "")).split())[:60]
        return (plain(str(record.get("step", "?"))), plain(f"{total:.3g}" if rewards else "-"), plain(prompt))

    # ---- showing ----
    @property
    def current_group(self) -> GroupKey | None:
        return self.pages[self.page] if self.page is not None and self.pages else None

    def _show_page(self) -> None:
        key = self.current_group
        grouped = key is not None
        had_focus = self.screen.focused is not None and self in self.screen.focused.ancestors_with_self
        self.set_class(grouped, "-group")
        if not grouped:
            self._set_zoom(False)
            self.show(self.query_one("#samples-list", DataTable).cursor_row)
        else:
            assert key is not None
            rows = self.groups[key]
            if self._shown != (key, len(rows)):
                self._fill_group(key, rows, keep_cursor=self._shown is not None and self._shown[0] == key)
            self._show_completion()
        if had_focus and not self.zoomed:
            self.focus()

    def _fill_group(self, key: GroupKey, rows: list[dict], keep_cursor: bool) -> None:
        table = self.query_one("#group-list", DataTable)
        cursor = table.cursor_row if keep_cursor else 0
        names: list[str] = []
        for row in rows:
            rewards = row.get("rewards") if isinstance(row.get("rewards"), dict) else {}
            names += [str(n) for n in rewards if str(n) not in names]
        table.clear(columns=True)
        table.add_columns("#", "reward", *names, "adv", "tok", "answer")
        for n, row in enumerate(rows, 1):
            table.add_row(*completion_cells(row, names, n))
        table.move_cursor(row=min(cursor, len(rows) - 1))
        position = self.pages.index(key) + 1 - (1 if self.flat else 0)
        header = group_header(rows, position, len(self.groups))
        self.query_one("#group-head", Static).update(Group(*header))
        self._shown = (key, len(rows))

    def _show_completion(self) -> None:
        key = self.current_group
        if key is None:
            return
        rows = self.groups[key]
        index = min(max(self.query_one("#group-list", DataTable).cursor_row, 0), len(rows) - 1)
        self.query_one("#sample-text", Static).update(render_sample(rows[index], self.folded))

    def show(self, index: int) -> None:
        """The flat list's sample at `index`, in full."""
        if not self.flat:
            return
        index = min(max(index, 0), len(self.flat) - 1)
        self.query_one("#sample-text", Static).update(render_sample(self.flat[index], self.folded))

    def focus(self, scroll_visible: bool = True) -> SamplesPane:
        """Focus goes to what the keys act on: the group's completions, or the flat list."""
        target = "#sample-body" if self.zoomed else ("#group-list" if self.current_group else "#samples-list")
        self.query_one(target).focus(scroll_visible)
        return self

    def _set_zoom(self, zoomed: bool) -> None:
        if zoomed != self.zoomed:
            self.zoomed = zoomed
            self.set_class(zoomed, "-zoom")
            self.refresh_bindings()

    # ---- events and keys ----
    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The run screen focuses the list on its tab key: in a group, the keys belong to its completions."""
        if event.widget.id == "samples-list" and self.current_group is not None:
            self.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.data_table.id == "group-list":
            self._show_completion()
        elif self.current_group is None:
            self.show(event.cursor_row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "group-list":  # enter: the completion in full, the pane to itself
            self._set_zoom(True)
            self.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "zoom":  # escape and enter fall through to the screen unless a completion is open
            return self.zoomed
        if action in ("step_group", "step"):  # n/p step through groups when the run has any, else samples
            return bool(self.groups) == (action == "step_group")
        return True

    def action_zoom(self, zoomed: bool) -> None:
        self._set_zoom(zoomed)
        self.focus()

    def action_fold(self) -> None:
        self.folded = not self.folded
        if self.current_group is None:
            self.show(self.query_one("#samples-list", DataTable).cursor_row)
        else:
            self._show_completion()

    def action_step_group(self, direction: int) -> None:
        """The next or previous group (the list of samples without a group counts as one)."""
        if self.page is not None:
            self.page = min(max(self.page + direction, 0), len(self.pages) - 1)
            self._set_zoom(False)
            self._show_page()

    def action_step(self, direction: int) -> None:
        table = self.query_one("#samples-list", DataTable)
        if table.row_count:
            table.move_cursor(row=min(max(table.cursor_row + direction, 0), table.row_count - 1))
