"""Any dataset by config: a new trace set and an AIME-style benchmark, described only in config
(local files in hub-like schemas), train and evaluate offline; mapping mistakes are config errors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from core.config import ConfigError, load_study, resolve
from core.data.registry import load_dataset_rows
from core.errors import RdtuiError
from tests.conftest import CONFIG, rdtui
from tests.test_tracking import launch


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


# NuminaMath-CoT / DeepScaleR-like rows: problem, solution with a boxed answer, a source to filter on.
TRACE_ROWS = [
    {
        "problem": f"What is {a} + {b}?",
        "solution": f"We add: {a} + {b} = {a + b}. So the answer is \\boxed{{{a + b}}}.",
        "source": "amc_aime" if a % 2 else "synthetic_math",
    }
    for a in range(1, 21)
    for b in (2, 3)
]
# AIME-style benchmark: integer answers in their own column, upper-case column names.
AIME_ROWS = [{"ID": f"2024-I-{i}", "Problem": f"Compute {i} * 3.", "Answer": i * 3} for i in range(1, 9)]


def spec(cfg_set: str):
    return resolve(load_study(CONFIG), "sft_traces", "local", [cfg_set]).datasets


def test_columns_formatter_maps_a_hub_like_schema_and_filters_rows(tmp_path):
    path = write_jsonl(tmp_path / "numina.jsonl", TRACE_ROWS)
    datasets = spec(
        f"datasets.numina={{path: {path}, formatter: columns, "
        f"columns: {{question: problem, answer: solution}}, where: {{source: amc_aime}}}}"
    )
    rows = load_dataset_rows(datasets["numina"], "sft", name="numina")
    assert len(rows) == 20  # only the amc_aime rows
    first = rows[0]
    assert first.prompt == [{"role": "user", "content": "What is 1 + 2?\nPut the final answer in \\boxed{}."}]
    assert first.completion.endswith("\\boxed{3}.") and first.answer == "3"


def test_trace_and_gold_columns_build_a_think_block(tmp_path):
    rows = [{"q": "What is 2 + 2?", "reasoning": "2 + 2 = 4.", "final": "The sum is 4.", "gold": "#### 4"}]
    path = write_jsonl(tmp_path / "traces.jsonl", rows)
    datasets = spec(
        f"datasets.t={{path: {path}, formatter: columns, "
        f"columns: {{question: q, trace: reasoning, answer: final, gold: gold}}}}"
    )
    [row] = load_dataset_rows(datasets["t"], "sft", name="t")
    assert row.completion == "<think>\n2 + 2 = 4.\n</think>\n\nThe sum is 4.\nThe answer is \\boxed{4}."
    assert row.answer == "4"


def test_trl_messages_and_sharegpt_conversations(tmp_path):
    rows = [
        {
            "conversations": [
                {"from": "human", "value": "What is 5 - 1?"},
                {"from": "gpt", "value": "5 - 1 = 4.</think>\n\nSo \\boxed{4}."},
            ],
            "system": "You are careful.",
        }
    ]
    path = write_jsonl(tmp_path / "stratos.jsonl", rows)
    datasets = spec(
        f"datasets.s={{path: {path}, formatter: messages, columns: {{messages: conversations, system: system}}}}"
    )
    [row] = load_dataset_rows(datasets["s"], "sft", name="s")
    assert row.prompt == [
        {"role": "system", "content": "You are careful."},
        {"role": "user", "content": "What is 5 - 1?"},
    ]
    assert row.completion.startswith("<think>\n5 - 1 = 4.</think>") and row.answer == "4"


def test_trl_prompt_completion_format(tmp_path):
    rows = [
        {
            "prompt": [{"role": "user", "content": "What is 3 * 3?"}],
            "completion": [{"role": "assistant", "content": "3 * 3 = 9, \\boxed{9}"}],
        },
        {"prompt": "What is 1 + 1?", "completion": "no final answer here"},
    ]
    path = write_jsonl(tmp_path / "pc.jsonl", rows)
    datasets = spec(f"datasets.pc={{path: {path}, formatter: prompt_completion, instruction: true}}")
    rows_out = load_dataset_rows(datasets["pc"], "sft", name="pc")
    assert len(rows_out) == 1  # no gold answer: dropped and counted
    assert rows_out[0].prompt[0]["content"].endswith("\\boxed{}.") and rows_out[0].answer == "9"


def test_a_missing_column_names_the_dataset_and_the_columns_it_has(tmp_path):
    path = write_jsonl(tmp_path / "aime.jsonl", AIME_ROWS)
    datasets = spec(f"datasets.aime={{path: {path}, formatter: columns, columns: {{question: problem, gold: Answer}}}}")
    with pytest.raises(RdtuiError, match=r"datasets\.aime: row 0 of .* has no 'problem' column.*Answer, ID, Problem"):
        load_dataset_rows(datasets["aime"], "eval", name="aime")


def test_mapping_mistakes_are_config_errors_at_their_line(tmp_path):
    overrides = tmp_path / "data.yaml"
    overrides.write_text(
        textwrap.dedent("""\
        datasets:
          aime:
            path: aime.jsonl
            formatter: columns
            columns: {question: Problem, glod: Answer}
          numina:
            path: numina.jsonl
            formatter: math500
            where: {source: amc_aime}
    """)
    )
    with pytest.raises(ConfigError) as info:
        resolve(load_study(CONFIG), "sft_traces", "local", overrides_file=overrides)
    messages = {issue.key: issue.message for issue in info.value.issues}
    assert "did you mean 'gold'" in messages["datasets.aime.columns.glod"]
    assert messages["datasets.numina.where"].startswith("only for formatter columns, messages, prompt_completion")
    result = rdtui("config", "show", "sft_traces", "--overrides", str(overrides))
    assert result.returncode == 2 and "data.yaml:2: datasets.aime.columns.glod" in result.stderr


@pytest.mark.slow  # a real SFT + evaluation run of the tiny model (about 30 s on 2 busy cores)
def test_a_dataset_and_a_benchmark_described_only_in_config_train_and_evaluate_offline(tmp_path):
    traces = write_jsonl(tmp_path / "numina.jsonl", TRACE_ROWS)
    aime = write_jsonl(tmp_path / "aime.jsonl", AIME_ROWS)
    run = launch(
        tmp_path / "runs",
        "sft_traces",
        f"datasets.numina={{path: {traces}, formatter: columns, columns: {{question: problem, answer: solution}}}}",
        f"datasets.aime={{path: {aime}, formatter: columns, columns: {{question: Problem, gold: Answer}}}}",
        "sft.dataset=numina",
        "sft.max_steps=2",
        "sft.sample_every=0",
        "sft.max_length=96",
        "sft.per_device_train_batch_size=4",
        "evaluation.benchmarks=[aime]",
        "evaluation.max_new_tokens=16",
    )
    summary = json.loads((run.eval_dir / "aime.json").read_text())
    assert summary["n_problems"] == len(AIME_ROWS) and 0 <= summary["accuracy"] <= 1
    journal = [json.loads(line) for line in (run.eval_dir / "aime.jsonl").read_text().splitlines()[1:]]
    assert sorted(r["gold"] for r in journal if "gold" in r) == sorted(str(r["Answer"]) for r in AIME_ROWS)
    loaded = run.reload().loaded
    assert loaded["datasets"]["numina"]["sha256"].startswith("sha256:")
