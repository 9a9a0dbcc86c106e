"""`l`: pick conditions, a profile and overrides; see what differs, whether it is valid and what
it costs; `enter` launches through the backends (core.execution.launch)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, Input, Select, SelectionList, Static

from tui.config_edit import overrides_path
from tui.widgets.footer import KeysFooter


def describe_cost(cost: Any) -> str:
    for name in ("total_usd", "usd", "estimate_usd"):
        value = getattr(cost, name, None) if not isinstance(cost, dict) else cost.get(name)
        if isinstance(value, (int, float)):
            return f"about ${value:,.2f}"
    return str(cost)


USER_LAYER = "override"  # --set and .rdtui/overrides.yaml: what the user chose for this launch


def show_value(value) -> str:
    """A value as the config file writes it (true, null, 0.0001, sdpa), not as Python's repr."""
    return value if isinstance(value, str) else json.dumps(value)


def render_plan(plan) -> Group:
    """What enter will do first, then per run the user's own settings (highlighted) above the
    values the condition and profile set (m15: they were one list in repr style, the user's buried)."""
    parts: list = []
    if not plan.runs:
        parts.append(Text("Select conditions with space.", style="dim"))
    elif plan.issues:
        parts.append(Text(f"{len(plan.issues)} error(s): fix them before launching.", style="bold red"))
    else:
        parts.append(Text(f"enter launches {len(plan.runs)} run(s) on the {plan.backend} backend.", style="bold"))
    for item in plan.runs:
        if item.issues:
            parts.append(Text(f"✗ {item.condition}", style="bold red"))
            parts += [Text(f"  {issue}", style="red") for issue in item.issues]
            continue
        cfg = item.resolution.config
        stages = " → ".join(cfg.condition.stages)
        parts.append(Text(f"✓ {item.condition}: {stages} on {cfg.model.name} ({cfg.backend})", style="bold green"))
        differences = item.differences()
        mine = [d for d in differences if d[2].layer == USER_LAYER]
        theirs = [d for d in differences if d[2].layer != USER_LAYER]
        if mine:
            parts.append(Text("  your settings:", style="bold yellow"))
        for key, value, source in mine:
            line = Text(f"    {key} = {show_value(value)}", style="bold yellow")
            line.append(f"   {source.where()}", style="dim")
            parts.append(line)
        if theirs:
            parts.append(Text("  set by the condition and profile:", style="dim"))
        for key, value, source in theirs:
            line = Text(f"    {key} = {show_value(value)}")
            line.append(f"   {source.layer} {source.where()}", style="dim")
            parts.append(line)
    for run, cost in zip([r for r in plan.runs if not r.issues], plan.cost):
        parts.append(Text(f"cost {run.condition}: {describe_cost(cost)}", style="yellow"))
    return Group(*parts)


class LaunchScreen(Screen):
    HELP_TITLE = "Launch"
    HELP_TEXT = (
        "space selects conditions; overrides are KEY=VALUE pairs separated by spaces "
        "(sft.learning_rate=1e-4 grpo.max_steps=20). The plan on the right shows every value "
        "that differs from the defaults and who set it."
    )
    BINDINGS = [
        Binding("enter", "launch", "Launch", priority=True),
        Binding("escape", "app.back", "Back"),
    ]

    def __init__(self, conditions: list[str]) -> None:
        super().__init__()
        self.initial = conditions
        self.study = None
        self.plan = None
        self.plan_choices: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(f" Launch conditions · {self.app.config_path.resolve()}"), classes="screen-title")
        with Horizontal(id="launch-body"):
            with Vertical(id="launch-left"):
                yield SelectionList[str](id="launch-conditions")
                yield Select([], prompt="profile", id="launch-profile")
                yield Input(placeholder="overrides: key=value …", id="launch-overrides")
                yield Checkbox("use .rdtui/overrides.yaml", value=True, id="launch-use-overrides")
            with VerticalScroll(id="launch-plan"):
                yield Static("Reading the config…", id="launch-plan-text")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#launch-use-overrides").display = overrides_path(self.app.config_path).exists()
        self.load_study()

    @work(thread=True)
    def load_study(self) -> None:
        from core.config import load_study
        from core.errors import ConfigError

        try:
            study = load_study(self.app.config_path)
        except ConfigError as exc:
            message = Text("\n".join(exc.errors), style="red")
            if not self.app.config_path.exists():
                message.append(f"\n\n{self.app.config_hint()}", style="yellow")
            self.app.call_from_thread(self._show, message)
            return
        self.app.call_from_thread(self._fill, study)

    def _fill(self, study) -> None:
        self.study = study
        conditions = self.query_one("#launch-conditions", SelectionList)
        conditions.add_options([(name, name, name in self.initial) for name in study.conditions])
        if study.conditions:
            conditions.highlighted = 0
        profile = self.query_one("#launch-profile", Select)
        with profile.prevent(Select.Changed):
            profile.set_options([(p, p) for p in study.profiles])
            if study.profiles:
                profile.value = study.profiles[0]
        conditions.focus()
        self.replan()

    def _show(self, renderable) -> None:
        self.query_one("#launch-plan-text", Static).update(renderable)

    def on_selection_list_selected_changed(self, event) -> None:
        self.replan()

    def on_select_changed(self, event) -> None:
        self.replan()

    def on_checkbox_changed(self, event) -> None:
        self.replan()

    def on_input_changed(self, event) -> None:
        self.replan()

    def _choices(self) -> tuple[tuple[str, ...], str | None, tuple[str, ...], str | None]:
        conditions = tuple(self.query_one("#launch-conditions", SelectionList).selected)
        profile = self.query_one("#launch-profile", Select).value
        profile = None if profile is Select.BLANK else str(profile)
        try:
            overrides = tuple(shlex.split(self.query_one("#launch-overrides", Input).value))
        except ValueError:
            overrides = ()
        path = overrides_path(self.app.config_path)
        use_file = path.exists() and self.query_one("#launch-use-overrides", Checkbox).value
        return conditions, profile, overrides, str(path) if use_file else None

    def replan(self) -> None:
        choices = self._choices()
        if self.study is not None and choices[1] is not None:
            self._plan(choices)

    @work(thread=True, exclusive=True, group="plan")
    def _plan(self, choices: tuple) -> None:
        try:
            from core.execution.launch import plan_launch
        except ImportError as exc:
            self.app.call_from_thread(self._show, Text(f"Launching is unavailable: {exc}", style="red"))
            return
        try:
            conditions, profile, overrides, overrides_file = choices
            plan = plan_launch(self.study, list(conditions), profile, list(overrides), overrides_file)
        except Exception as exc:
            self.app.call_from_thread(self._show, Text(f"Cannot plan: {exc}", style="red"))
            return
        self.app.call_from_thread(self._planned, plan, choices)

    def _planned(self, plan, choices: tuple) -> None:
        self.plan, self.plan_choices = plan, choices
        self._show(render_plan(plan))

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "launch":
            return not self.query_one("#launch-profile", Select).expanded  # enter picks a profile there
        return True

    def action_launch(self) -> None:
        plan = self.plan
        if plan is None or self.plan_choices != self._choices():
            self.notify("The plan is still being checked; press enter again in a moment.", severity="warning")
            return
        if not plan.runs:
            self.notify("Select at least one condition (space).", severity="warning")
            return
        if plan.issues:
            self.notify(f"The plan has {len(plan.issues)} error(s); see the right-hand side.", severity="error")
            return
        if plan.backend != "local":
            from tui.screens.dialogs import ConfirmScreen

            costs = "\n".join(f"{r.condition}: {describe_cost(c)}" for r, c in zip(plan.runs, plan.cost))
            self.app.push_screen(
                ConfirmScreen(f"Launch {len(plan.runs)} run(s) on {plan.backend}?", costs, default=True),
                lambda yes: yes and self.do_launch(plan),
            )
            return
        self.do_launch(plan)

    @work(thread=True, exclusive=True, group="launch")
    def do_launch(self, plan) -> None:
        from core.execution.launch import launch

        try:
            runs = launch(plan, self.app.store)
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.app.call_from_thread(self.notify, f"Launch failed: {message}", severity="error", markup=False)
            return
        self.app.poller.poke()
        self.app.call_from_thread(self._launched, [run.id for run in runs])

    def _launched(self, run_ids: list[str]) -> None:
        self.notify(f"Launched {', '.join(run_ids)}", markup=False)
        if self.app.screen is self:
            self.app.pop_screen()
        if run_ids:
            self.app.show_run_in_list(run_ids[0])
