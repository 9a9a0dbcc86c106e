"""One run (and any runs overlaid on its curves): Curves, Log, Samples, Eval and Config tabs."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane

from core.store.runstore import CONFIG_FILE, EVAL_DIR, LOG_FILE, METRICS_FILE, SAMPLES_FILE, Run, RunRecord
from core.store.runview import run_summary
from core.training.sysmetrics import (
    SYSTEM_FILE,  # light: the file's name and its writer only
)
from tui.feeds.eval import EvalFeed
from tui.feeds.lines import JsonlFeed, LinesBatch
from tui.feeds.log import LogFeed
from tui.feeds.metrics import MetricsBatch, MetricsFeed
from tui.feeds.poller import Feed
from tui.feeds.records import RecordBatch, RecordFeed, read_run_record
from tui.logsource import LogChunk
from tui.widgets.compare import ComparePane
from tui.widgets.configview import ConfigPane
from tui.widgets.curves import CurvesPane
from tui.widgets.evalview import EvalPane
from tui.widgets.footer import KeysFooter
from tui.widgets.logpane import LogPane
from tui.widgets.samples import SamplesPane
from tui.widgets.styles import STATUS_STYLES

TABS = ["curves", "log", "samples", "eval", "config", "system", "compare"]


def system_header(curves) -> str:
    """The latest machine reading, for the header: `CPU 45% · RAM 12.3 GB · GPU0 98% 40.1 GB 300 W`."""

    def last(name: str) -> float | None:
        series = curves.metrics.get(name)
        stats = series.stats() if series is not None else None
        return stats[0] if stats else None

    parts = []
    if (cpu := last("cpu_percent")) is not None:
        parts.append(f"CPU {cpu:.0f}%")
    if (ram := last("ram_used_gb")) is not None:
        parts.append(f"RAM {ram:.1f} GB")
    gpu = 0
    while f"gpu{gpu}_util" in curves.metrics or f"gpu{gpu}_mem_gb" in curves.metrics:
        values = [
            (last(f"gpu{gpu}_util"), "{:.0f}%"),
            (last(f"gpu{gpu}_mem_gb"), "{:.1f} GB"),
            (last(f"gpu{gpu}_power_w"), "{:.0f} W"),
        ]
        parts.append(f"GPU{gpu} " + " ".join(fmt.format(v) for v, fmt in values if v is not None))
        gpu += 1
    return " · ".join(parts)


def run_label(record: RunRecord | None, run_id: str) -> str:
    if record is None:
        return run_id
    return f"{record.condition} {run_id.removeprefix(record.condition + '-')[-4:]}"


class RunDetailScreen(Screen):
    HELP_TITLE = "Run"
    HELP_TEXT = (
        "Tabs: 1 Curves, 2 Log, 3 Samples, 4 Eval, 5 Config, 6 System, 7 Compare when several runs are selected "
        "([ and ] step through them). "
        "Runs selected on the home screen are overlaid on the curves; the other tabs show the first. "
        "System: CPU, RAM and each GPU's utilisation, memory and power, as the worker sampled them "
        "(the latest reading is in the header). "
        "Compare: p writes the runs' curves (the metrics and smoothing of the Curves tab) as a figure "
        "(.png, .svg or .pdf, as rdtui plot curves; needs matplotlib)."
    )
    BINDINGS = [
        Binding("1", "tab(0)", "Curves", show=False),
        Binding("2", "tab(1)", "Log", show=False),
        Binding("3", "tab(2)", "Samples", show=False),
        Binding("4", "tab(3)", "Eval", show=False),
        Binding("5", "tab(4)", "Config", show=False),
        Binding("6", "tab(5)", "System", show=False),
        Binding("7", "tab(6)", "Compare", show=False),
        Binding("left_square_bracket", "step_tab(-1)", "Previous tab"),
        Binding("right_square_bracket", "step_tab(1)", "Next tab"),
        Binding("escape", "app.back", "Back"),
    ]

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__()
        self.run_ids = run_ids
        self.run_id = run_ids[0]
        self.feeds: list[Feed] = []
        self.chosen_tab: str | None = None  # the tab last chosen with a key
        self.closed = False  # unmounted: follows nothing more
        self.record: RunRecord | None = None
        self.status: str | None = None
        self.deleted = False
        self.built = {"curves", "log", "system"}  # tabs whose pane exists (see _build_pane)

    def compose(self) -> ComposeResult:
        root = self.app.store.root
        labels = {}
        for run_id in self.run_ids:
            labels[run_id] = run_label(read_run_record(root / run_id), run_id)
        yield Static(Text(f" {self.run_id}"), id="detail-status")
        with TabbedContent(id="detail-tabs"):
            with TabPane("1 Curves", id="curves"):
                yield CurvesPane(labels, id="curves-pane")
            with TabPane("2 Log", id="log"):
                yield LogPane(self._request_older, id="log-pane")
            yield TabPane("3 Samples", id="samples")
            yield TabPane("4 Eval", id="eval")
            yield TabPane("5 Config", id="config")
            with TabPane("6 System", id="system"):
                yield CurvesPane({self.run_id: labels[self.run_id]}, id="system-pane")
            if len(self.run_ids) > 1:  # several runs selected: configs, evals and samples side by side
                yield TabPane("7 Compare", id="compare")
        self.labels = labels
        yield KeysFooter()

    def on_mount(self) -> None:
        root = self.app.store.root
        run_dir = root / self.run_id
        poller = self.app.poller
        self.log_feed = LogFeed(run_dir / LOG_FILE, self._apply_log)
        self.feeds = [poller.add(RecordFeed(run_dir, self._apply_record)), poller.add(self.log_feed)]
        # Metrics files can hold 100,000 points: they are read once the screen is painted (read
        # during the mount, they held the interpreter and the first paint waited for them).
        self.call_after_refresh(self._follow_metrics)
        self.set_interval(1.0, self._tick_clock)
        # The tab showing now: a tab key typed while the screen mounted has already chosen it (m18).
        self._focus_pane(self._active_tab() or "curves")
        self.call_after_refresh(self._keep_chosen_tab)

    async def _keep_chosen_tab(self) -> None:
        """A tab key sent in one burst with the enter that opened the run is handled while the tabs
        are still mounting, and their own first activation (the first tab) undid it (m18)."""
        if self.chosen_tab is not None and self._active_tab() != self.chosen_tab:
            await self.action_tab(TABS.index(self.chosen_tab))

    def _follow_metrics(self) -> None:
        if self.closed or not self.is_attached:
            return  # closed before its first paint: nothing to follow
        root, poller = self.app.store.root, self.app.poller
        self.feeds += [
            *(
                poller.add(MetricsFeed(run_id, root / run_id / METRICS_FILE, self._apply_metrics))
                for run_id in self.run_ids
            ),
            poller.add(MetricsFeed(self.run_id, root / self.run_id / SYSTEM_FILE, self._apply_system)),
        ]

    def on_unmount(self) -> None:
        self.closed = True
        for feed in self.feeds:
            self.app.poller.remove(feed)

    # ---- data ----
    def _apply_record(self, batch: RecordBatch) -> None:
        if batch.deleted:
            if not self.deleted:
                self.deleted = True
                self.notify(
                    f"The folder of run {self.run_id} was deleted; what was read stays on screen.",
                    severity="error",
                    timeout=10,
                    markup=False,
                )
        else:
            self.deleted = False
            self.record, self.status = batch.record, batch.status
        self._show_status()

    def _tick_clock(self) -> None:
        if self.status == "running":
            self._show_status()  # elapsed time moves on between record changes

    def _show_status(self) -> None:
        line = Text(f" {self.run_id}", style="bold")
        if self.deleted:
            line.append("  run folder deleted: nothing more will arrive", style="bold red")
        elif self.record is not None:
            record = self.record
            summary = run_summary(Run(self.app.store.root / self.run_id, record))
            line.append(f"  {record.condition} · {record.profile}/{record.backend} · ")
            line.append(self.status or record.status, style=STATUS_STYLES.get(self.status or "", ""))
            line.append(
                f" · stage {summary['stage'] or '-'} · step {summary['progress']}"
                f" · elapsed {summary['elapsed']} · ETA {summary['eta']}"
            )
            if len(self.run_ids) > 1:
                line.append(f" · overlaid with {len(self.run_ids) - 1} run(s)")
            system = system_header(self.query_one("#system-pane", CurvesPane).curves[self.run_id])
            if system:
                line.append(f"\n {system}", style="dim" if self.status != "running" else "")
            if record.error:
                line.append(f"\n error: {record.error.splitlines()[0]}", style="red")
        self.query_one("#detail-status", Static).update(line)

    def _apply_system(self, batch: MetricsBatch) -> None:
        pane = self.query_one("#system-pane", CurvesPane)
        if batch.curves is not None:
            pane.replace(batch.run_id, batch.curves)
        else:
            pane.add(batch.run_id, batch.records, batch.bad_lines)
        self._show_status()
        if self._active_tab() == "system":
            pane.redraw()

    def _apply_metrics(self, batch: MetricsBatch) -> None:
        pane = self.query_one("#curves-pane", CurvesPane)
        if batch.curves is not None:
            pane.replace(batch.run_id, batch.curves)
        else:
            pane.add(batch.run_id, batch.records, batch.bad_lines)
        if self._active_tab() == "curves":
            pane.redraw()

    def on_curves_pane_corrupt_lines(self, event: CurvesPane.CorruptLines) -> None:
        source = SYSTEM_FILE if event.pane.id == "system-pane" else METRICS_FILE
        self.notify(
            f"Skipped a corrupt line in {source} (not valid JSON or without a step).",
            severity="warning",
            markup=False,
        )

    def _apply_log(self, chunk: LogChunk) -> None:
        pane = self.query_one(LogPane)
        for older in self.log_feed.take_older():
            pane.apply_older(older)
        pane.apply(chunk)

    def _request_older(self) -> None:
        if self.log_feed.source.has_older:
            self.log_feed.request_older()
            self.app.poller.poke()

    def _apply_samples(self, batch: LinesBatch) -> None:
        if batch.bad_lines:
            self.notify(f"Skipped {batch.bad_lines} corrupt line(s) in samples.jsonl.", severity="warning")
        self.query_one(SamplesPane).add(batch.records, batch.reset)

    def on_compare_pane_plot_requested(self, event: ComparePane.PlotRequested) -> None:
        """The compared runs' curves as a figure (rdtui plot curves): the metrics chosen on the
        Curves tab, with its smoothing."""
        from tui.figures import plot_to_chosen_file
        from tui.screens.results import default_export

        curves = self.query_one("#curves-pane", CurvesPane)
        plot_to_chosen_file(
            self.app,
            "curves",
            event.run_ids,
            default_export(self.app.config_path, "curves.png"),
            metrics=list(curves.chosen) or None,
            smooth=curves.smoothing,
        )

    # ---- tabs ----
    def _active_tab(self) -> str:
        return self.query_one(TabbedContent).active

    async def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id in ("curves", "system"):
            self.query_one(f"#{event.pane.id}-pane", CurvesPane).redraw()
        await self._build_pane(event.pane.id)

    @property
    def tabs(self) -> list[str]:
        return TABS if len(self.run_ids) > 1 else TABS[:-1]

    async def action_tab(self, index: int) -> None:
        if index >= len(self.tabs):
            return
        self.chosen_tab = TABS[index]
        self.query_one(TabbedContent).active = TABS[index]
        await self._build_pane(TABS[index])
        self._focus_pane(TABS[index])

    async def _build_pane(self, tab: str) -> None:
        """Samples, Eval and Config are built, and their files followed, when first shown: opening
        a run costs the Curves and Log tabs only."""
        if tab in self.built:
            return
        self.built.add(tab)
        run_dir = self.app.store.root / self.run_id
        feed: Feed | None = None
        if tab == "samples":
            pane = SamplesPane(id="samples-pane")
            feed = JsonlFeed(run_dir / SAMPLES_FILE, self._apply_samples)
        elif tab == "eval":
            pane = EvalPane(run_dir, id="eval-pane")
            feed = EvalFeed(run_dir / EVAL_DIR, pane.apply)
        elif tab == "compare":
            root = self.app.store.root
            pane = ComparePane(
                [root / r for r in self.run_ids], [self.labels[r] for r in self.run_ids], id="compare-pane"
            )
        else:
            pane = ConfigPane(run_dir / CONFIG_FILE, id="config-pane")
        await self.query_one(f"TabPane#{tab}", TabPane).mount(pane)
        if feed is not None:
            self.feeds.append(self.app.poller.add(feed))

    async def action_step_tab(self, step: int) -> None:
        await self.action_tab((self.tabs.index(self._active_tab()) + step) % len(self.tabs))

    def _focus_pane(self, tab: str) -> None:
        targets = {
            "curves": "#curves-pane #curve-plots",
            "log": "#log-view",
            "samples": "#samples-list",
            "eval": "#eval-summary",
            "config": "#config-table",
            "system": "#system-pane #curve-plots",
            "compare": "#compare-pane",
        }
        self.query_one(targets[tab]).focus()
