"""Formatters on rows in the real datasets' schemas and on the real GSM8K/MATH-500 files; the registry."""

from __future__ import annotations

import collections
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.config import load_study, resolve
from core.config.schema import DatasetSpec
from core.data import formatters, synthetic
from core.data.registry import build_grpo_dataset, build_sft_dataset, load_dataset_rows
from core.errors import RdtuiError
from core.paths import BUILTIN_DATA_DIR

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = BUILTIN_DATA_DIR


def test_orca_math_row_is_answer_only_with_its_final_answer_boxed():
    row = {
        "question": "Jungkook has 6 apples and eats 2. How many are left?",
        "answer": "Jungkook has 6 - 2 = 4 apples left.",
    }
    out = formatters.orca_math(row)
    assert out.prompt[-1]["role"] == "user" and out.prompt[-1]["content"].startswith("Jungkook has 6 apples")
    assert out.prompt[-1]["content"].endswith(formatters.INSTRUCTION)
    # One answer protocol: the final answer is boxed where it stands, as in every other training target.
    assert out.completion == "Jungkook has 6 - 2 = \\boxed{4} apples left." and "<think>" not in out.completion
    assert out.answer == "4"
    boxed = formatters.orca_math({**row, "answer": "So 1,200 - 200 = \\boxed{1000}."})
    assert boxed.completion == "So 1,200 - 200 = \\boxed{1000}." and boxed.answer == "1000"
    assert formatters.orca_math({**row, "answer": "They are all left."}) is None  # no final answer: dropped


def test_rows_without_a_final_answer_are_dropped_and_counted(tmp_path, capsys):
    path = tmp_path / "orca.jsonl"
    path.write_text(
        json.dumps({"question": "q1", "answer": "It is 5."})
        + "\n"
        + json.dumps({"question": "q2", "answer": "None of them."})
        + "\n"
    )
    rows = load_dataset_rows(DatasetSpec(path=str(path), formatter="orca_math"), "sft", name="orca_math")
    assert [r.answer for r in rows] == ["5"]
    assert "datasets.orca_math: 1 rows dropped by the orca_math formatter" in capsys.readouterr().out


def test_s1k_row_puts_the_r1_trajectory_in_a_think_block():
    row = {
        "question": "Compute 1+1.",
        "solution": "2",
        "cot_type": "math",
        "deepseek_thinking_trajectory": "Okay, 1+1 is 2.\n",
        "deepseek_attempt": "The sum is $\\boxed{2}$.",
        "gemini_thinking_trajectory": "ignored",
        "gemini_attempt": "ignored",
    }
    out = formatters.s1k(row)
    assert out.completion == "<think>\nOkay, 1+1 is 2.\n</think>\n\nThe sum is $\\boxed{2}$."
    assert out.answer == "2"


def test_openr1_keeps_the_first_math_verified_generation_and_drops_unverified_rows():
    row = {
        "problem": "Find x if x+1=3.",
        "solution": "x=2",
        "answer": "2",
        "uuid": "u1",
        "generations": [
            "<think>\nwrong\n</think>\n\\boxed{3}",
            "<think>\nfirst good\n</think>\n\\boxed{2}",
            "<think>\nsecond good\n</think>\n\\boxed{2}",
        ],
        "correctness_math_verify": [False, True, True],
        "is_reasoning_complete": [True, True, True],
    }
    out = formatters.openr1(row)
    assert "first good" in out.completion and out.answer == "2"
    assert formatters.openr1({**row, "correctness_math_verify": [False, False, False]}) is None


def test_openr1_skips_verified_generations_that_were_cut_off():
    row = {
        "problem": "Find x.",
        "answer": "2",
        "correctness_math_verify": [True, True, True],
        "generations": [
            "<think>\nso x = \\boxed{2}? Wait, let me re-check and",
            "<think>\nstopped early\n</think>\n\\boxed{2}",
            "<think>\nshort\n</think>\nx=\\boxed{2}",
        ],
        "is_reasoning_complete": [False, True, True],
        "finish_reasons": ["length", "length", "stop"],
    }
    assert "short" in formatters.openr1(row).completion
    assert formatters.openr1({**row, "finish_reasons": ["length"] * 3}) is None


def test_gsm8k_row_gold_and_completion():
    row = {"question": "Q?", "answer": "Tickets cost 2*600=<<2*600=1200>>1200.\n#### 1,200"}
    out = formatters.gsm8k(row)
    assert out.answer == "1200"
    assert out.completion == "Tickets cost 2*600=1200.\nThe answer is \\boxed{1200}."


def test_real_gsm8k_test_file_formats_every_row():
    rows = [json.loads(line) for line in (BENCHMARKS / "gsm8k_test.jsonl").open()]
    formatted = [formatters.gsm8k(r) for r in rows]
    assert len(formatted) == 1319
    assert formatted[0].answer == "18"
    assert all(f.answer.lstrip("-").replace(".", "").isdigit() for f in formatted)
    assert not any("<<" in f.completion or "####" in f.completion for f in formatted)


def test_real_math500_file_keeps_the_answer_column():
    rows = [json.loads(line) for line in (BENCHMARKS / "math500_test.jsonl").open()]
    formatted = [formatters.math500(r) for r in rows]
    assert len(formatted) == 500
    assert [f.answer for f in formatted] == [r["answer"].strip() for r in rows]
    assert formatted[0].answer == "\\left( 3, \\frac{\\pi}{2} \\right)"


def _spec(**fields) -> DatasetSpec:
    return DatasetSpec(**fields)


def test_local_jsonl_and_parquet_give_the_same_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [json.loads(line) for line, _ in zip((BENCHMARKS / "gsm8k_test.jsonl").open(), range(20))]
    parquet = tmp_path / "gsm8k.parquet"
    pq.write_table(pa.Table.from_pylist(records), parquet)
    from_jsonl = load_dataset_rows(
        _spec(path=str(BENCHMARKS / "gsm8k_test.jsonl"), formatter="gsm8k", limit=20), "eval", name="gsm8k_test"
    )
    from_parquet = load_dataset_rows(_spec(path=str(parquet), formatter="gsm8k"), "eval", name="gsm8k_test")
    assert from_jsonl == from_parquet and len(from_jsonl) == 20


def test_missing_local_file_names_the_config_key(tmp_path):
    with pytest.raises(RdtuiError, match=r"datasets\.s1k\.path: file not found: .*nope\.jsonl"):
        load_dataset_rows(_spec(path=str(tmp_path / "nope.jsonl"), formatter="s1k"), "sft", name="s1k")


@pytest.mark.parametrize(
    "name, content, message",
    [
        (
            "rows.jsonl",
            b'{"question": "1+1?", "answer": "#### 2"}\n\xff\xfe{"x": 1}\n',
            r"rows\.jsonl:2: not UTF-8 text",
        ),
        (
            "rows.jsonl",
            b'{"question": "1+1?", "answer": "#### 2"}\n{"question": \n',
            r"rows\.jsonl:2: not a JSON object",
        ),
        ("rows.jsonl", b"[" * 100_000 + b"\n", r"rows\.jsonl:1: (JSON nested too deeply|not a JSON object)"),
        ("rows.jsonl", b'"just a string"\n', r"rows\.jsonl:1: expected a JSON object per line"),
        ("rows.parquet", b"PAR1 not really", r"datasets\.mine\.path: .*rows\.parquet: not a readable Parquet file"),
    ],
)
def test_a_damaged_local_file_is_one_line_naming_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RdtuiError, match=message):
        load_dataset_rows(_spec(path=str(path), formatter="gsm8k"), "eval", name="mine")


def test_wrong_schema_names_the_missing_column(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"prompt": "x"}) + "\n")
    with pytest.raises(RdtuiError, match="no 'answer' column, which the gsm8k formatter needs"):
        load_dataset_rows(_spec(path=str(path), formatter="gsm8k"), "eval", name="mine")


def test_unreachable_hub_dataset_is_one_clear_line(tmp_path):
    code = textwrap.dedent("""
        from core.config.schema import DatasetSpec
        from core.data.registry import load_dataset_rows
        from core.errors import RdtuiError
        try:
            load_dataset_rows(DatasetSpec(hub="openai/gsm8k", config="main", split="train", formatter="gsm8k"),
                              "grpo", name="gsm8k_train")
        except RdtuiError as exc:
            print("ERROR:", exc)
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    lines = [x for x in out.stdout.splitlines() if x.startswith("ERROR:")]
    assert len(lines) == 1, out.stdout + out.stderr
    assert "openai/gsm8k" in lines[0] and "datasets.gsm8k_train.path" in lines[0]


def test_synthetic_rows_are_seeded_and_test_problems_are_held_out():
    a = synthetic.records("s1k", 100, seed=2, slip_rate=0.7)
    assert a == synthetic.records("s1k", 100, seed=2, slip_rate=0.7)
    assert a != synthetic.records("s1k", 100, seed=3, slip_rate=0.7)
    test = synthetic.problems("test", 400, seed=5, tag="gsm8k")
    assert len(set(test)) == 400 and {len(p.ops) for p in test} == {1, 2, 3, 4}
    assert sum(len(p.ops) > 1 for p in test) > 300  # the test is about multi-step chains
    test_questions = {p.question for p in test}
    for schema in synthetic.SCHEMAS:
        train = {p.question for p in synthetic.problems("train", 2000, seed=1, tag=schema)}
        assert not train & test_questions


def test_no_answer_dominates_the_synthetic_task():
    # Every operation permutes the digits, so a constant answer scores about 10%, not more.
    answers = collections.Counter(p.answer for p in synthetic.problems("test", 400, seed=5, tag="gsm8k"))
    assert set(answers) == set(range(10)) and max(answers.values()) < 0.15 * 400
    assert all(
        sorted(synthetic.apply(op, x, d) % 10 for x in range(10)) == list(range(10))
        for op, operands in synthetic.OPERANDS.items()
        for d in operands
    )


def test_synthetic_rows_run_through_the_real_formatters():
    orca = [formatters.orca_math(r) for r in synthetic.records("orca_math", 50, seed=1)]
    assert all(r.completion == f"The answer is \\boxed{{{r.answer}}}." for r in orca)  # answer only, boxed
    gsm = [formatters.gsm8k(r) for r in synthetic.records("gsm8k", 50, seed=4, split="test")]
    assert all(_final(r) == r.answer for r in gsm)
    s1k = [formatters.s1k(r) for r in synthetic.records("s1k", 50, seed=2, slip_rate=0.7)]
    assert all(r.completion.startswith("<think>\n") and "\n</think>\n\n" in r.completion for r in s1k)


def _final(row) -> str:
    return formatters.last_boxed(row.completion)


def test_the_raw_teacher_slips_systematically_and_verification_filters_it():
    problem = synthetic.Problem(7, (("*", 3), ("+", 4)))  # 7*3=21 -> 1, 1+4=5
    assert problem.answer == 5
    slipped, final = synthetic.solve(problem, random.Random(0), slip_rate=1.0)
    assert slipped == ["7*3=2", "2+4=6"] and final == 6  # the tens digit, carried forward
    raw = [formatters.s1k(r) for r in synthetic.records("s1k", 1000, seed=2, slip_rate=0.7)]
    wrong = sum(_final(r) != r.answer for r in raw) / len(raw)
    assert 0.25 < wrong < 0.6
    records = synthetic.records("openr1", 1000, seed=3, slip_rate=0.7)
    verified = [r for r in (formatters.openr1(rec) for rec in records) if r is not None]
    assert 0.6 * len(records) < len(verified) < len(records)
    assert all(_final(r) == r.answer for r in verified)


@pytest.fixture(scope="module")
def local_cfg():
    return resolve(load_study(REPO / "config.yaml"), "sft_then_grpo", "local")


def test_build_datasets_from_the_local_profile(local_cfg):
    sft = build_sft_dataset(local_cfg.datasets, "s1k", enable_thinking=local_cfg.model.enable_thinking)
    assert len(sft) == local_cfg.datasets["s1k"].size
    verified = build_sft_dataset(local_cfg.datasets, "openr1_verified", enable_thinking=True)
    assert len(verified) == local_cfg.datasets["openr1_verified"].limit
    first = sft[0]
    assert first["prompt"][-1]["role"] == "user"
    assert first["completion"][0]["role"] == "assistant" and first["completion"][0]["content"].startswith("<think>")
    assert first["chat_template_kwargs"] == {"enable_thinking": True}
    grpo = build_grpo_dataset(local_cfg.datasets, "gsm8k_train")
    assert set(grpo.column_names) == {"prompt", "answer"} and grpo[0]["answer"].isdigit()
    gsm8k = load_dataset_rows(local_cfg.datasets["gsm8k_test"], "eval", name="gsm8k_test")
    assert len(gsm8k) == local_cfg.datasets["gsm8k_test"].limit and gsm8k[0].answer == "18"


def test_unknown_dataset_name_is_a_clear_error(local_cfg):
    with pytest.raises(RdtuiError, match="datasets.nope: no such dataset"):
        build_sft_dataset(local_cfg.datasets, "nope", enable_thinking=True)
