"""The Eval tab: pass@k, maj@k and intervals per benchmark, and the per-problem journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from core.store.runstore import CONFIG_FILE
from tui.feeds.eval import EvalBatch
from tui.feeds.scores import pass_at_1, score
from tui.widgets.styles import plain


def _pct(value: Any) -> str:
    value = score(value)
    if value is None:
        return "-"
    return f"{value * 100:.1f}" if value <= 1 else f"{value:.1f}"


def _at_k(summary: dict, name: str) -> str:
    values = summary.get(name)
    if isinstance(values, dict):
        return " ".join(f"@{k}:{_pct(v)}" for k, v in values.items())
    return _pct(values)


def running_pass1(records: list[dict]) -> float | None:
    """pass@1 so far from the journal: each problem's share of correct samples, averaged (m9)."""
    shares = []
    for record in records:
        verdicts = [v for v in _verdicts(record) if isinstance(v, bool)]
        if verdicts:
            shares.append(sum(verdicts) / len(verdicts))
    return sum(shares) / len(shares) if shares else None


def summary_cells(bench: str, summary: dict | None, journal: list[dict]) -> tuple:
    if summary is None:
        return (bench, f"{len(journal)} done (running)", _pct(running_pass1(journal)), "-", "-", "-")
    journal_count = len(journal)
    done, total = summary.get("n_problems"), summary.get("benchmark_size")
    progress = f"{done}/{total}" if done is not None and total else str(done if done is not None else journal_count)
    if summary.get("complete") is False:
        progress += " partial"
    ci = summary.get("ci95")
    interval = f"[{_pct(ci[0])}, {_pct(ci[1])}]" if isinstance(ci, list) and len(ci) == 2 else "-"
    return (bench, progress, _pct(pass_at_1(summary)), _at_k(summary, "pass@k"), _at_k(summary, "maj@k"), interval)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _verdicts(record: dict) -> list:
    verdicts = record.get("correct")
    return verdicts if isinstance(verdicts, list) else [verdicts]


def verdict_text(record: dict) -> Text:
    verdicts = [v for v in _verdicts(record) if isinstance(v, bool)]
    if not verdicts:
        return Text("?")
    right = sum(verdicts)
    style = "green" if right == len(verdicts) else ("yellow" if right else "red")
    mark = "✓" if right else "✗"
    return Text(f"{mark} {right}/{len(verdicts)}" if len(verdicts) > 1 else mark, style=style)


def problem_question(run_dir: Path, bench: str, record: dict) -> str:
    """The question of a journal's problem, from the benchmark the run's config names (the journal
    keeps the problem's index and gold, not its text). Raises with the reason when it cannot be
    read or the benchmark no longer holds that problem (its gold differs)."""
    from core.config import load_snapshot
    from core.evaluation.benchmarks import load_benchmark

    rows = load_benchmark(load_snapshot(run_dir / CONFIG_FILE), bench).rows
    index = int(str(record.get("id")))
    if not 0 <= index < len(rows) or rows[index].answer != record.get("gold"):
        raise ValueError(f"{bench} no longer holds this problem (the benchmark changed since)")
    return next((m["content"] for m in reversed(rows[index].prompt) if m.get("role") == "user"), "")


def problem_detail(record: dict, question: str | None = None, why_not: str | None = None) -> Group:
    parts: list = [Text(f"problem {record.get('id', '?')}", style="bold")]
    if question:
        parts.append(Text(question, style="dim"))
    elif why_not:
        parts.append(Text(f"(question not shown: {why_not})", style="dim italic"))
    parts.append(Text(f"gold: {record.get('gold')}", style="green"))
    completions = record.get("completions")
    if not isinstance(completions, list):
        completions = [record.get("completion", "")]
    extracted = record.get("extracted") if isinstance(record.get("extracted"), list) else [record.get("extracted")]
    verdicts = _verdicts(record)
    rules = record.get("rules") if isinstance(record.get("rules"), list) else []
    for n, completion in enumerate(completions):
        verdict = verdicts[n] if n < len(verdicts) else None
        answer = extracted[n] if n < len(extracted) else None
        mark = "✓" if verdict is True else "✗"
        rule = f" ({rules[n]})" if n < len(rules) and rules[n] else ""
        parts.append(Text(f"\n── sample {n + 1}: {mark} extracted {answer!r}{rule}", style="bold"))
        parts.append(Text(str(completion)))
    return Group(*parts)


class EvalPane(Vertical):
    def __init__(self, run_dir: Path, **kwargs) -> None:
        super().__init__(**kwargs)
        self.run_dir = run_dir
        self.summaries: dict[str, dict] = {}
        self.journals: dict[str, list[dict]] = {}
        self.bench: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("Reading the evaluation…", classes="pane-status", id="eval-status")
        yield DataTable(id="eval-summary", cursor_type="row")
        yield DataTable(id="eval-journal", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one("#eval-summary", DataTable).add_columns(
            "benchmark", "done", "pass@1", "pass@k", "maj@k", "95% CI"
        )
        self.query_one("#eval-journal", DataTable).add_columns("#", "id", "verdict", "extracted", "gold")

    def apply(self, batch: EvalBatch) -> None:
        self.summaries.update(batch.summaries)
        for bench, lines in batch.journals.items():
            lines.records = [r for r in lines.records if r.get("type") != "header"]  # settings, not a problem
            if lines.reset:
                self.journals[bench] = []
            self.journals.setdefault(bench, []).extend(lines.records)
        table = self.query_one("#eval-summary", DataTable)
        for bench in sorted(set(self.summaries) | set(self.journals)):
            cells = summary_cells(bench, self.summaries.get(bench), self.journals.get(bench, []))
            if bench in table.rows:
                for column, value in zip(table.columns, cells):
                    table.update_cell(bench, column, value)
            else:
                table.add_row(*cells, key=bench)
        status = self.query_one("#eval-status", Static)
        if table.row_count:
            status.update(" · ".join(batch.errors) or "enter on a problem shows its completions")
        else:
            status.update("No evaluation yet: `rdtui eval RUN` or the eval stage writes eval/<benchmark>.json.")
        if self.bench is None and table.row_count:
            self.show_journal(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        elif self.bench in batch.journals:
            self.show_journal(self.bench, new=batch.journals[self.bench])

    def show_journal(self, bench: str, new=None) -> None:
        journal = self.query_one("#eval-journal", DataTable)
        records = self.journals.get(bench, [])
        if bench != self.bench or new is None or new.reset:
            self.bench = bench
            journal.clear()
            start, rows = 0, records
        else:
            start, rows = len(records) - len(new.records), new.records
        for n, record in enumerate(rows, start):
            journal.add_row(
                str(n + 1),
                plain(str(record.get("id", ""))),
                verdict_text(record),
                plain(str(_first(record.get("extracted")))[:30]),
                plain(str(record.get("gold"))[:30]),
                key=str(n),
            )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "eval-summary" and event.row_key.value != self.bench:
            event.stop()
            self.show_journal(event.row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """enter on a problem of the journal shows its completions, verdicts and gold."""
        if event.data_table.id != "eval-journal":
            return
        event.stop()
        index = event.cursor_row
        self.open_problem(self.bench or "", index, self.journals.get(self.bench or "", [])[index])

    @work(thread=True, exclusive=True, group="problem")
    def open_problem(self, bench: str, index: int, record: dict) -> None:
        """The problem with its question (m9), read off the benchmark in a worker: the config and
        the benchmark file take a moment to load."""
        from tui.screens.dialogs import TextScreen

        question, why_not = None, None
        try:
            question = problem_question(self.run_dir, bench, record)
        except Exception as exc:  # noqa: BLE001 - the completions are shown whatever the benchmark's state
            why_not = (str(exc).splitlines() or [type(exc).__name__])[0]
        detail = problem_detail(record, question, why_not)
        self.app.call_from_thread(self.app.push_screen, TextScreen(f"{bench}: problem {index + 1}", detail))
