"""Config editor ergonomics (M4): the cursor stays on the edited key, / finds keys, the edit line
names its key and scope, one override can be dropped, and the scope is chosen explicitly."""

from __future__ import annotations

from textual.widgets import Input, Tree

from tests.test_tui_app import app_for, edit_leaf, leaf
from tests.test_tui_support import study_copy, wait_for
from tui.config_edit import remove_value


def cursor_key(screen) -> str | None:
    node = screen.query_one(Tree).cursor_node
    return node.data[0] if node is not None and isinstance(node.data, tuple) else None


async def test_the_cursor_stays_on_the_edited_key_found_with_slash(runs_dir, tmp_path):
    config = study_copy(tmp_path)
    app = app_for(runs_dir, config)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        screen = app.screen
        await wait_for(pilot, lambda: screen.checked.leaves, what="the resolved tree")
        await pilot.press("slash", *"grpo.temp")
        await wait_for(pilot, lambda: cursor_key(screen) == "grpo.temperature", what="the search to land")
        await pilot.press("enter", "enter")  # close the search, edit the key under the cursor
        box = screen.query_one("#editor-edit", Input)
        await wait_for(pilot, lambda: box.has_focus)
        label = str(screen.query_one("#editor-edit-key").render())
        assert label.startswith("grpo.temperature") and "overrides.yaml (every condition)" in label
        tree = screen.query_one(Tree)
        assert tree.cursor_line - tree.scroll_offset.y in range(tree.size.height)  # the row is not hidden
        box.value = "0.9"
        await pilot.press("enter")
        await wait_for(pilot, lambda: leaf(screen, "grpo.temperature")[1] == 0.9, what="the edit applied")
        await pilot.pause(0.3)
        assert cursor_key(screen) == "grpo.temperature"
        await pilot.press("down")
        assert cursor_key(screen) != "grpo.temperature" and cursor_key(screen) is not None


async def test_one_override_is_dropped_and_the_scope_is_chosen(runs_dir, tmp_path):
    config = study_copy(tmp_path)
    app = app_for(runs_dir, config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        screen = app.screen
        await wait_for(pilot, lambda: screen.checked.leaves)
        await edit_leaf(pilot, screen, "grpo.temperature", "0.8")
        await edit_leaf(pilot, screen, "sft.learning_rate", "1e-4")
        await wait_for(
            pilot,
            lambda: (
                leaf(screen, "grpo.temperature")[2] == "override" and leaf(screen, "sft.learning_rate")[2] == "override"
            ),
        )
        await pilot.pause(0.3)
        assert cursor_key(screen) == "sft.learning_rate"
        await pilot.press("x")  # drop this one override only
        await wait_for(pilot, lambda: leaf(screen, "sft.learning_rate")[2] != "override", what="the drop")
        assert leaf(screen, "grpo.temperature")[2] == "override"
        await pilot.press("t", "t")  # scope: config.yaml, the chosen condition only
        assert "condition" in str(screen.query_one("#editor-title").render())
        condition = screen.condition
        await edit_leaf(pilot, screen, "lora.r", "8")
        await wait_for(pilot, lambda: leaf(screen, "lora.r")[1] == 8, what="the condition-scoped edit")
        assert f"  {condition}:" in screen.pending["config"]
        assert leaf(screen, "lora.r")[2] == f"conditions.{condition}"


def test_remove_value_drops_the_key_and_empty_groups():
    text = "grpo:\n  temperature: 0.8   # hot\nsft:\n  learning_rate: 1.0e-4\n"
    assert remove_value(text, ["grpo", "temperature"]) == "sft:\n  learning_rate: 1.0e-4\n"
    assert remove_value(text, ["grpo", "nothing"]) == text
    assert remove_value("a: 1\n", ["a"]) == ""


def test_an_edited_text_is_checked_as_the_real_file_without_writing_anything(tmp_path):
    from tui.config_edit import check, overrides_path

    config = study_copy(tmp_path)
    before = sorted(p.name for p in config.parent.rglob("*"))
    text = config.read_text().replace("learning_rate: 2.0e-4", "learning_rate: fast", 1)
    assert text != config.read_text()
    out = check(config, None, None, config_text=text, overrides_text="sft:\n  max_steps: -3\n")
    where = str(config.resolve())
    assert any(m.startswith(where + ":") and "learning_rate" in m for m in out.issues), out.issues
    over = str(overrides_path(config).resolve())
    assert any(m.startswith(over + ":2:") and "max_steps" in m for m in out.issues), out.issues
    assert sorted(p.name for p in config.parent.rglob("*")) == before  # no scratch copy, no overrides file
