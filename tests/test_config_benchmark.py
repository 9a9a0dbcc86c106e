"""A benchmark beyond GSM8K/MATH-500 by config only (AIME-style: `problem`/`answer` columns, integer
answers), graded like the built-in ones; the README's dataset snippets are configs `rdtui config check`
accepts, and their mappings read rows in the schemas of the hub sets they name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from core.config import load_study, resolve
from core.data import synthetic
from core.data.registry import load_dataset_rows
from core.evaluation.benchmarks import load_benchmark
from core.grading.grader import grade
from tests.conftest import CONFIG, REPO, rdtui
from tests.test_mapped_dataset import write_jsonl
from tests.test_tracking import launch

README = REPO / "README.md"
SECTION = "### Any dataset by config"


def readme_snippets() -> list[dict]:
    """The YAML blocks of the README's dataset section, parsed."""
    text = README.read_text()
    start = text.index(SECTION)
    end = text.find("\n#", start + len(SECTION))
    section = text[start : end if end > 0 else None]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) >= 2, "the README shows a reasoning-trace set and an AIME-style benchmark"
    return [yaml.safe_load(block) for block in blocks]


def merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def study_with(tmp_path: Path, snippet: dict) -> Path:
    """config.yaml with a README snippet pasted in, as a user would."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(merged(yaml.safe_load(CONFIG.read_text()), snippet), sort_keys=False))
    return path


def snippet_with(key: str) -> dict:
    return next(s for s in readme_snippets() if key in s.get("datasets", {}))


def local_copy(snippet: dict, name: str, path: Path) -> dict:
    """The snippet's dataset entry with its hub set replaced by a local file in the same schema."""
    entry = {k: v for k, v in snippet["datasets"][name].items() if k not in ("hub", "config", "revision")}
    return {**snippet, "datasets": {name: {**entry, "path": str(path)}}}


@pytest.mark.parametrize("index", [0, 1])
def test_each_readme_dataset_snippet_passes_config_check(tmp_path, index):
    path = study_with(tmp_path, readme_snippets()[index])
    result = rdtui("config", "check", str(path))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_the_readme_trace_set_reads_rows_in_mixture_of_thoughts_schema(tmp_path):
    # open-r1/Mixture-of-Thoughts (config math): `messages` of R1 replies with <think>, num_tokens, source.
    rows = [
        {
            "messages": [
                {"role": "user", "content": "What is 6 * 7? Put the final answer in \\boxed{}."},
                {
                    "role": "assistant",
                    "content": "<think>\n6 * 7 = 42. Let me check: 7 * 6 = 42.\n</think>\n\n\\boxed{42}",
                },
            ],
            "num_tokens": 31,
            "source": "open-r1/OpenR1-Math-220k",
        }
    ]
    snippet = snippet_with("mot_math")
    copy = local_copy(snippet, "mot_math", write_jsonl(tmp_path / "mot.jsonl", rows))
    cfg = resolve(load_study(study_with(tmp_path, copy)), "mot_traces", "local")
    assert cfg.sft.dataset == "mot_math"
    [row] = load_dataset_rows(cfg.datasets["mot_math"], "sft", name="mot_math")
    assert row.prompt == [rows[0]["messages"][0]]  # TRL's format carries its own instruction
    assert row.completion.startswith("<think>\n6 * 7 = 42.") and row.answer == "42"


def test_the_readme_aime_benchmark_reads_rows_in_aime_2024_schema_and_grades_integers(tmp_path):
    # HuggingFaceH4/aime_2024: id, problem, solution, answer (a string), url, year.
    rows = [
        {"id": 60, "problem": "Find $m+n$.", "solution": "... so $m+n=\\boxed{033}$.", "answer": "033"},
        {"id": 61, "problem": "Find the remainder.", "solution": "... $\\boxed{204}$", "answer": "204"},
        {"id": 62, "problem": "Find $N$.", "solution": "...", "answer": 7},  # an int in other copies
    ]
    snippet = snippet_with("aime24")
    copy = local_copy(snippet, "aime24", write_jsonl(tmp_path / "aime24.jsonl", rows))
    cfg = resolve(load_study(study_with(tmp_path, copy)), "base_model", "modal")
    assert "aime24" in cfg.evaluation.benchmarks
    bench = load_benchmark(cfg, "aime24")
    assert bench.kind == "math"
    assert [row.answer for row in bench.rows] == ["033", "204", "7"]  # the answer column, not the solution
    assert bench.rows[0].prompt[-1]["content"] == "Find $m+n$.\nPut the final answer in \\boxed{}."
    verdicts = [
        grade(reply, row.answer, bench.kind).correct
        for reply, row in zip(("so \\boxed{33}", "\\boxed{204.0}", "I get \\boxed{8}"), bench.rows)
    ]
    assert verdicts == [True, True, False]


AIME_SIZE = 24


@pytest.mark.slow  # the tiny model evaluates 2 x 24 problems (about 30 s on 2 busy cores)
def test_an_aime_style_benchmark_described_only_in_config_grades_like_the_builtin_one(tmp_path):
    # The offline task's held-out problems in AIME's columns (`problem`, `answer`; integers and
    # zero-padded strings, as AIME copies store them), evaluated beside the built-in synthetic
    # benchmark on the same problems: identical prompts and greedy replies must get identical verdicts.
    spec = resolve(load_study(CONFIG), "base_model", "local").datasets["synth_test"]
    held_out = synthetic.records(spec.formatter, spec.size, spec.seed, split=spec.split)[:AIME_SIZE]
    golds = [row["answer"].rpartition("####")[2].strip() for row in held_out]
    rows = [
        {"id": i, "problem": row["question"], "answer": int(gold) if i % 2 else gold.zfill(3), "year": "2024"}
        for i, (row, gold) in enumerate(zip(held_out, golds))
    ]
    aime = write_jsonl(tmp_path / "aime_style.jsonl", rows)
    run = launch(
        tmp_path / "runs",
        "base_model",
        f"datasets.aime_style={{path: {aime}, formatter: columns, columns: {{question: problem, gold: answer}}}}",
        "evaluation.benchmarks=[aime_style, synth_test]",
        f"evaluation.limit={AIME_SIZE}",
    )

    def journal(bench: str) -> dict[str, dict]:
        lines = (run.eval_dir / f"{bench}.jsonl").read_text().splitlines()
        header = json.loads(lines[0])
        assert header["settings"]["kind"] == ("math" if bench == "aime_style" else "gsm8k")
        return {r["id"]: r for r in map(json.loads, lines[1:]) if "correct" in r}

    aime_records, builtin_records = journal("aime_style"), journal("synth_test")
    assert len(aime_records) == len(builtin_records) == AIME_SIZE
    for pid, builtin in builtin_records.items():
        ours = aime_records[pid]
        assert ours["completions"] == builtin["completions"], pid  # same prompt, same greedy reply
        assert ours["correct"] == builtin["correct"], (pid, ours["gold"], ours["extracted"])
    summary = json.loads((run.eval_dir / "aime_style.json").read_text())
    builtin_summary = json.loads((run.eval_dir / "synth_test.json").read_text())
    assert summary["accuracy"] == builtin_summary["accuracy"]
    assert 0 < summary["accuracy"] < 1  # the pretrained tiny model solves some of them, not all
