"""The rdtui dashboard: runs, run detail, config editor, launch and results screens.

Everything shown is read from the run store by one poller thread (`tui.feeds.poller`); the app applies
what it read on one timer tick. Heavy libraries are never imported here: config validation and
launching import `core.config` / `core.execution.launch` inside worker threads when first needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen

from core.store.runstore import RunStore
from tui.feeds.poller import Poller
from tui.startup import resume_collection
from tui.userstate import load_settings, save_crash, save_settings

TICK_SECONDS = 0.5
FIRST_PAINT_AT_LATEST_S = 1.0


class FeedsWoke(Message):
    """A feed has its first data: posted from the poller's thread, so the feeds are applied in the
    app's own task (a callback scheduled from that thread ran outside the app's context, and the
    screen timers it started then failed when the app closed)."""


class RdtuiApp(App):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses (tests) live elsewhere
    TITLE = "rdtui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("question_mark", "help", "Keys"),
        # Binding the palette to any key stops Textual adding its ctrl+p: both are bound here (m1).
        Binding("ctrl+p", "command_palette", "Commands", show=False, priority=True),
        Binding("colon", "command_palette", "Commands", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, runs_dir: str | Path, config_path: str | Path, *, poll_seconds: float = 1.0) -> None:
        super().__init__()
        self.store = RunStore(runs_dir)
        self.config_path = Path(config_path)
        self.poller = Poller(lambda: self.post_message(FeedsWoke()), interval=poll_seconds)
        self.crash_file: Path | None = None
        self.settings = load_settings()  # per-user view settings (tui.userstate)

    def config_hint(self) -> str:
        """Which config file the app uses and how to choose another (m16)."""
        return (
            f"The app reads {self.config_path.resolve()}; start rdtui in the study's folder, "
            "or pass --config FILE (or set RDTUI_CONFIG)."
        )

    def save_settings(self) -> None:
        save_settings(self.settings)

    def _handle_exception(self, error: Exception) -> None:
        """Any crash: the traceback goes to a file of its own too, named after exit (see entry)."""
        if self.crash_file is None:
            self.crash_file = save_crash(error)
        super()._handle_exception(error)

    def get_default_screen(self) -> Screen:
        """The runs list is the bottom screen: no blank default screen is built and painted first."""
        from tui.screens.runs import RunsScreen

        return RunsScreen()

    def on_mount(self) -> None:
        # Polled from the first paint on: the runs screen has read what it shows first itself. The
        # timer starts it all the same if that paint never comes (a screen pushed over the runs
        # list at once, on a loaded machine).
        self.call_after_refresh(self._after_first_paint)
        self.set_timer(FIRST_PAINT_AT_LATEST_S, self._after_first_paint)
        self.set_interval(TICK_SECONDS, self.flush_feeds)

    def _after_first_paint(self) -> None:
        self.poller.start()  # both idempotent
        resume_collection()

    def on_unmount(self) -> None:
        self.poller.stop()

    def on_feeds_woke(self, _: FeedsWoke) -> None:
        self.flush_feeds()  # now rather than at the next tick

    def flush_feeds(self) -> None:
        for feed in self.poller.feeds:
            try:
                feed.flush(self._feed_error)
            except NoMatches:
                # Its screen is being taken down (its widgets are gone, its feeds not yet
                # removed): there is nothing left to show the data in.
                continue

    def _feed_error(self, message: str) -> None:
        self.notify(message, title="Could not read the run store", severity="error", markup=False)

    # ---- navigation ----
    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()

    def runs_screen(self):
        from tui.screens.runs import RunsScreen

        return next((s for s in self.screen_stack if isinstance(s, RunsScreen)), None)

    def show_run_in_list(self, run_id: str) -> None:
        """The cursor of the runs list on this run, as soon as the run is listed (M1)."""
        screen = self.runs_screen()
        if screen is not None:
            screen.select_when_shown(run_id)

    def open_launch(self, conditions: list[str] | None = None) -> None:
        from tui.screens.launch import LaunchScreen

        self.push_screen(LaunchScreen(conditions or []))

    def open_config_editor(self) -> None:
        from tui.screens.config_editor import ConfigEditorScreen

        self.push_screen(ConfigEditorScreen())

    def open_results(self) -> None:
        from tui.screens.results import ResultsScreen

        self.push_screen(ResultsScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette lists every key of the current screen (not the generic cursor keys of
        Textual's widgets), opening a run by name, and the screens to go to."""
        from tui.screens.help import binding_origin

        yield SystemCommand("Open run…", "pick a run by id, condition or status", self.open_run_picker)
        seen = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if (
                not binding.description
                or binding.action in seen
                or binding.action == "command_palette"
                or binding_origin(active.node, binding.action, screen) == 2
            ):
                continue
            seen.add(binding.action)
            yield SystemCommand(
                binding.description,
                f"key: {binding.key_display or key}",
                partial(self._run_binding, binding.action, active.node),
            )
        yield SystemCommand("Launch conditions", "pick conditions, profile and overrides", self.open_launch)
        if not any(b.binding.action == "config" for b in screen.active_bindings.values()):
            yield SystemCommand("Config editor", "edit the layered config with provenance", self.open_config_editor)
        yield SystemCommand("Results", "the pass@k table across conditions", self.open_results)
        yield SystemCommand("Theme", "change the colours", self.action_change_theme)

    def open_run_picker(self) -> None:
        """A second palette listing every run in the store, newest first."""
        screen = self.runs_screen()
        if screen is None:
            return
        rows = sorted(screen.rows.values(), key=lambda row: -row.record.created_at)
        self.search_commands(
            [
                (f"{row.record.id}  {row.record.condition} · {row.status}", partial(self.open_run, row.record.id))
                for row in rows
            ],
            placeholder="Open run…",
        )

    def open_run(self, run_id: str) -> None:
        """The run's screen, on top of the runs list (whatever was open before is closed)."""
        from tui.screens.run_detail import RunDetailScreen

        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(RunDetailScreen([run_id]))

    def _run_binding(self, action: str, node) -> None:
        self.call_later(self.run_action, action, node)
