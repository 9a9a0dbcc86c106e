"""The evaluation journal: resumable, whole lines only, one writer, and never mixed across settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.evaluation.journal import Journal, JournalError, ProblemResult, read_journal

SETTINGS = {
    "benchmark": "synth_test",
    "samples": 2,
    "temperature": 0.7,
    "max_new_tokens": 64,
    "model": {"base": "builtin:tiny-qwen3", "checkpoint": None},
}


def result(pid: str, prompt_hash: str = "h") -> ProblemResult:
    return ProblemResult(
        id=pid,
        prompt_hash=prompt_hash,
        gold="7",
        completions=["\\boxed{7}", "8"],
        extracted=["7", None],
        correct=[True, False],
        rules=["boxed", None],
        tokens=[5, 1],
        finish_reasons=["stop", "stop"],
    )


def test_finished_problems_are_kept_and_skipped_on_reopen(tmp_path: Path) -> None:
    path = tmp_path / "eval" / "synth_test.jsonl"
    with Journal(path, SETTINGS) as journal:
        journal.append([result("0"), result("1")])
    with Journal(path, SETTINGS) as journal:
        assert set(journal.done) == {"0", "1"}
        journal.append([result("1"), result("2")])  # "1" is already there: not written again
    header, results = read_journal(path)
    assert header["settings"] == SETTINGS
    assert [r.id for r in results] == ["0", "1", "2"]
    assert len(path.read_text().splitlines()) == 4


def test_a_torn_last_line_is_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "synth_test.jsonl"
    with Journal(path, SETTINGS) as journal:
        journal.append([result("0")])
    with open(path, "ab") as fh:  # what a kill in the middle of a write leaves behind
        fh.write(b'{"id":"1","prompt_hash":"h","gold":"7","compl')
    with Journal(path, SETTINGS) as journal:
        assert set(journal.done) == {"0"}
        journal.append([result("1")])
    lines = path.read_text().splitlines()
    assert [json.loads(line).get("id") for line in lines] == [None, "0", "1"]


def test_other_generation_settings_are_refused_with_what_changed(tmp_path: Path) -> None:
    path = tmp_path / "synth_test.jsonl"
    with Journal(path, SETTINGS) as journal:
        journal.append([result("0")])
    before = path.read_bytes()
    with pytest.raises(JournalError) as err:
        Journal(path, {**SETTINGS, "temperature": 1.0, "samples": 4}).open()
    message = str(err.value)
    assert "other generation settings" in message
    assert "temperature 0.7 -> 1.0" in message and "samples 2 -> 4" in message
    assert "\n" not in message
    assert path.read_bytes() == before


def test_a_changed_prompt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "synth_test.jsonl"
    with Journal(path, SETTINGS) as journal:
        journal.append([result("0", prompt_hash="old")])
    with Journal(path, SETTINGS) as journal:
        journal.check_prompts({"0": "old", "1": "x"})
        with pytest.raises(JournalError, match="problem 0 was evaluated with a different prompt"):
            journal.check_prompts({"0": "new"})


def test_only_one_process_writes_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "synth_test.jsonl"
    with Journal(path, SETTINGS):
        with pytest.raises(JournalError, match="another evaluation is writing"):
            Journal(path, SETTINGS).open()
    with Journal(path, SETTINGS):  # the lock went with the first writer
        pass


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "synth_test.jsonl"
    path.write_text('{"id": "0"}\n')
    with pytest.raises(JournalError, match="not an rdtui evaluation journal"):
        Journal(path, SETTINGS).open()
