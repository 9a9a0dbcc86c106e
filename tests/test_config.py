"""The layered config: resolution with provenance, overrides, and strict validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config import check_study, load_study, resolve, resolve_full, snapshot_provenance, snapshot_text
from tests.conftest import CONFIG, rdtui

BASE = CONFIG.read_text()


def line_of(text: str, needle: str, after: str | None = None) -> int:
    """1-based line of the first line containing `needle` (after the line containing `after`)."""
    lines = text.splitlines()
    start = 0
    if after is not None:
        start = next(i for i, text_line in enumerate(lines) if after in text_line) + 1
    return next(i for i in range(start, len(lines)) if needle in lines[i]) + 1


def explain(condition: str, profile: str, *sets: str) -> dict[str, tuple]:
    res = resolve_full(load_study(CONFIG), condition, profile, list(sets))
    return {key: (value, src) for key, value, src in res.explain()}


def test_re_distill_on_modal_explains_every_source():
    table = explain("re_distill", "modal")
    value, src = table["sft.dataset"]
    assert value == "openr1_verified" and src.layer == "conditions.re_distill"
    assert src.line == line_of(BASE, "dataset: openr1_verified", after="  re_distill:")
    value, src = table["sft.learning_rate"]
    assert value == 2e-4 and src.layer == "defaults" and src.line == line_of(BASE, "learning_rate: 2.0e-4")
    value, src = table["condition.stages"]
    assert value == ["sft", "eval"] and src.layer == "conditions.sft_traces"  # through `inherit:`
    value, src = table["grpo.max_steps"]
    assert value == 500 and src.layer == "defaults"
    value, src = explain("re_distill", "modal_base")["model.name"]
    assert value == "Qwen/Qwen3-1.7B-Base" and src.layer == "profiles.modal_base"
    assert src.line == line_of(BASE, "name: Qwen/Qwen3-1.7B-Base", after="  modal_base:")


def test_set_override_wins_and_is_typed_as_yaml():
    table = explain("grpo_only", "local", "grpo.temperature=0.9", "sft.learning_rate=1e-4", "evaluation.limit=null")
    assert table["grpo.temperature"][0] == 0.9 and table["grpo.temperature"][1].layer == "override"
    assert table["sft.learning_rate"][0] == 1e-4
    assert table["evaluation.limit"][0] is None


def test_override_inside_reward_weights_edits_one_reward():
    cfg = resolve(load_study(CONFIG), "grpo_only", "local", ["grpo.reward_weights.format=0.25"])
    assert cfg.grpo.reward_weights == {"correctness": 0.5, "format": 0.25}


def test_condition_reward_weights_replace_defaults_whole(tmp_path):
    cfg = resolve(load_study(CONFIG), "sft_then_grpo", "modal")
    assert cfg.grpo.reward_weights == {"correctness": 1.0, "format": 0.0}


def test_profile_dataset_entry_replaces_the_study_entry():
    cfg = resolve(load_study(CONFIG), "sft_traces", "local")
    spec = cfg.datasets["s1k"]
    assert spec.synthetic == "digit_chain" and spec.formatter == "s1k" and spec.hub is None
    gsm = cfg.datasets["gsm8k_test"]
    assert gsm.path and Path(gsm.path).is_absolute() and gsm.path.endswith("core/data/benchmarks/gsm8k_test.jsonl")


def test_overrides_file_layer(tmp_path):
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text("sft:\n  max_steps: 7\n")
    res = resolve_full(load_study(CONFIG), "baseline", "local", [], overrides)
    leaf = res.layered.leaves[("sft", "max_steps")]
    assert leaf.value == 7 and leaf.source.layer == "override" and leaf.source.line == 2


def test_shipped_config_is_valid():
    assert check_study(CONFIG) == []


def test_snapshot_round_trips_with_provenance(tmp_path):
    res = resolve_full(load_study(CONFIG), "re_distill", "local")
    path = tmp_path / "config.yaml"
    path.write_text(snapshot_text(res))
    from core.config import load_snapshot

    assert load_snapshot(path) == res.config
    notes = snapshot_provenance(path)
    assert notes["sft.dataset"].startswith("conditions.re_distill config.yaml:")


# Each broken config: (name, edit of the shipped text, expected message part, the line's needle)
def _replace(old: str, new: str, count: int = 1):
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, count)

    return edit


def _append(extra: str):
    return lambda text: text + extra


def _inherit_cycle(text: str) -> str:
    """re_distill -> grpo_only -> re_distill."""
    text = text.replace("    inherit: sft_traces ", "    inherit: grpo_only ")
    marker = "    description: GRPO from the base model, reward = correctness + format\n"
    return text.replace(marker, marker + "    inherit: re_distill\n")


BROKEN = [
    ("yaml syntax", _replace("    r: 64\n", "    r: [64\n"), "YAML syntax error", None),
    (
        "unknown top-level",
        _append("profile:\n  x: 1\n"),
        "unknown top-level key (did you mean 'profiles'?)",
        "profile:",
    ),
    (
        "misspelled sft key",
        _replace("    learning_rate: 2.0e-4", "    learnig_rate: 2.0e-4"),
        "defaults.sft.learnig_rate: unknown key (did you mean 'learning_rate'?)",
        "learnig_rate",
    ),
    (
        "misspelled section",
        _replace("  lora:\n    enabled: true", "  lorra:\n    enabled: true"),
        "unknown key (did you mean 'lora'?)",
        "lorra:",
    ),
    (
        "unknown key in condition",
        _replace("      dataset: orca_math\n", "      dataset: orca_math\n      epochs: 2\n"),
        "conditions.baseline.sft.epochs: unknown key",
        "epochs: 2",
    ),
    ("wrong type int", _replace("    r: 64", '    r: "sixty-four"'), "lora.r: must be an integer", "sixty-four"),
    (
        "wrong type bool",
        _replace("    packing: true", "    packing: maybe"),
        "sft.packing: must be true or false",
        "packing: maybe",
    ),
    ("wrong type list", _replace("    k: [1]", "    k: 1"), "evaluation.k: must be a list", "    k: 1"),
    (
        "negative lr",
        _replace("    learning_rate: 2.0e-4", "    learning_rate: -2.0e-4"),
        "defaults.sft.learning_rate: input should be greater than 0",
        "learning_rate: -2.0e-4",
    ),
    ("r zero", _replace("    r: 64", "    r: 0"), "lora.r: input should be greater than 0", "    r: 0"),
    (
        "negative temperature",
        _replace("    temperature: 0.7", "    temperature: -0.1"),
        "grpo.temperature: input should be greater than or equal to 0",
        "temperature: -0.1",
    ),
    (
        "dropout out of range",
        _replace("    dropout: 0.05", "    dropout: 1.5"),
        "lora.dropout: input should be less than 1",
        "dropout: 1.5",
    ),
    ("bad dtype", _replace("    dtype: auto", "    dtype: fp8"), "model.dtype: must be one of", "dtype: fp8"),
    ("inherit cycle", _inherit_cycle, "inherit cycle: ", "inherit: grpo_only"),
    (
        "inherit unknown",
        _replace("    inherit: sft_traces ", "    inherit: sft_trace "),
        "inherits unknown condition 'sft_trace' (did you mean 'sft_traces'?)",
        "inherit: sft_trace ",
    ),
    (
        "missing dataset",
        _replace("      dataset: orca_math", "      dataset: orca_maths"),
        "sft.dataset: unknown dataset 'orca_maths' (did you mean 'orca_math'?)",
        "dataset: orca_maths",
    ),
    (
        "indivisible grpo batch",
        _replace("      per_device_train_batch_size: 64 ", "      per_device_train_batch_size: 60 "),
        "is not divisible by num_generations = 8",
        "per_device_train_batch_size: 60",
    ),
    (
        "unknown reward",
        _replace(
            "      reward_weights: {correctness: 1.0, format: 0.0}",
            "      reward_weights: {correctness: 1.0, formatt: 0.0}",
        ),
        "unknown reward 'formatt' (did you mean 'format'?)",
        "formatt: 0.0",
    ),
    (
        "unknown benchmark",
        _replace(
            "      benchmarks: [synth_test, gsm8k_test, math500]", "      benchmarks: [synth_test, gsm8k_tset, math500]"
        ),
        "evaluation.benchmarks: unknown dataset 'gsm8k_tset'",
        "gsm8k_tset",
    ),
    (
        "stage order",
        _replace("    stages: [sft, grpo, eval]", "    stages: [grpo, sft, eval]"),
        "stages must run in the order sft, grpo, eval",
        "stages: [grpo, sft, eval]",
    ),
    (
        "unknown stage",
        _replace("    stages: [eval]", "    stages: [evaluate]"),
        "conditions.base_model.stages: must be one of 'sft', 'grpo' or 'eval'",
        "stages: [evaluate]",
    ),
    (
        "empty stages",
        _replace("    stages: [eval]", "    stages: []"),
        "conditions.base_model.stages: list should have at least 1 item",
        "stages: []",
    ),
    (
        "hub and path",
        _replace(
            "    hub: openai/gsm8k\n    config: main\n    split: test",
            "    hub: openai/gsm8k\n    path: data/gsm8k.jsonl\n    config: main\n    split: test",
        ),
        "set exactly one of hub, path or synthetic",
        "  gsm8k_test:",
    ),
    (
        "no formatter",
        _replace("    split: test\n    formatter: math500", "    split: test"),
        "datasets.math500: a hub or path dataset needs a formatter",
        "  math500:",
    ),
    (
        "unknown formatter",
        _replace("    formatter: math500", "    formatter: math5000"),
        "must be one of",
        "formatter: math5000",
    ),
    (
        "unknown gpu",
        _replace("      grpo: H100 ", "      grpo: H1000 "),
        "Modal offers no GPU 'H1000' (did you mean 'H100'?)",
        "grpo: H1000",
    ),
    ("k above samples", _replace("    k: [1]", "    k: [1, 4]"), "pass@4 needs at least 4 samples", "k: [1, 4]"),
    (
        "greedy samples",
        _replace("    samples: 1 ", "    samples: 4 "),
        "with greedy decoding gives identical samples",
        "temperature: 0.0",
    ),
    ("duplicate key", _replace("    r: 64\n", "    r: 64\n    r: 32\n"), "duplicate key", "    r: 32"),
    (
        "profile typo",
        _replace("    model:\n      name: builtin:tiny-qwen3", "    modle:\n      name: builtin:tiny-qwen3"),
        "profiles.local.modle: unknown key (did you mean 'model'?)",
        "modle:",
    ),
    (
        "one generation",
        _replace("    num_generations: 8 ", "    num_generations: 1 "),
        "grpo.num_generations: input should be greater than or equal to 2",
        "num_generations: 1",
    ),
    (
        "unknown builtin model",
        _replace("builtin:tiny-qwen3-base ", "builtin:tiny-qwen4-base "),
        "unknown built-in model",
        "tiny-qwen4",
    ),
    (
        "conditions not mapping",
        _replace("conditions:\n  base_model:", "conditions: [base_model]\nold_conditions:\n  base_model:"),
        "must be a mapping",
        "conditions: [base_model]",
    ),
    (
        "all rewards zero",
        _replace(
            "      reward_weights: {correctness: 0.5, format: 0.5}",
            "      reward_weights: {correctness: 0.0, format: 0.0}",
        ),
        "at least one reward weight must be non-zero",
        "reward_weights: {correctness: 0.0",
    ),
]


@pytest.mark.parametrize("name,edit,message,needle", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_config_is_reported_with_file_and_line(tmp_path, name, edit, message, needle):
    text = edit(BASE)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    issues = [str(i) for i in check_study(path)]
    assert issues, f"{name}: no error reported"
    matching = [i for i in issues if message in i]
    assert matching, f"{name}: expected {message!r} in {issues}"
    for issue in matching:
        assert re.match(r"^\S*config\.yaml(:\d+)?: ", issue), issue
    if needle is not None:
        expected_line = line_of(text, needle)
        assert any(f"config.yaml:{expected_line}:" in i for i in matching), (expected_line, matching)


def test_all_errors_reported_at_once_by_the_cli(tmp_path):
    text = BASE.replace("    r: 64", "    r: 0").replace("    learning_rate: 2.0e-4", "    learnig_rate: 2.0e-4")
    text = text.replace("      dataset: orca_math", "      dataset: nope")
    (tmp_path / "config.yaml").write_text(text)
    proc = rdtui("config", "check", str(tmp_path / "config.yaml"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert any("lora.r:" in line for line in lines)
    assert any("learnig_rate: unknown key" in line for line in lines)
    assert any("unknown dataset 'nope'" in line for line in lines)
    assert "Traceback" not in proc.stderr
    # every error names the file and line
    for line in lines[:-1]:
        assert re.match(r"^.*config\.yaml:\d+: ", line), line


def test_bad_set_override_is_one_clear_line():
    proc = rdtui("config", "show", "grpo_only", "--set", "grpo.temperature=-1")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "--set: grpo.temperature: input should be greater than or equal to 0 (got -1)"
    proc = rdtui("config", "show", "grpo_only", "--set", "grpo.temprature=1")
    assert "unknown key (did you mean 'temperature'?)" in proc.stderr
    # Inside a dataset entry (replaced whole by a layer) the key is named once, as typed.
    proc = rdtui("config", "show", "sft_traces", "--profile", "local", "--set", "datasets.s1k.sizee=3")
    assert proc.stderr.strip() == "--set: datasets.s1k.sizee: unknown key (did you mean 'size'?)"
    proc = rdtui("config", "show", "sft_traces", "--profile", "local", "--set", "datasets.s1k.size=abc")
    assert proc.stderr.strip() == "--set: datasets.s1k.size: must be an integer (got 'abc')"


def test_unknown_condition_and_profile():
    proc = rdtui("config", "show", "sft_trace")
    assert proc.returncode == 2 and "unknown condition 'sft_trace' (did you mean 'sft_traces'?)" in proc.stderr
    proc = rdtui("config", "show", "baseline", "--profile", "modall")
    assert proc.returncode == 2 and "unknown profile 'modall'" in proc.stderr


def test_show_explain_cli_prints_layers_and_lines():
    proc = rdtui("config", "show", "grpo_only", "--profile", "local", "--set", "grpo.temperature=0.9", "--explain")
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("grpo.temperature "))
    assert row.split()[1:] == ["0.9", "override", "--set"]
    proc = rdtui("config", "show", "re_distill", "--profile", "modal", "--explain")
    row = next(line for line in proc.stdout.splitlines() if line.startswith("sft.dataset "))
    assert "conditions.re_distill" in row and re.search(r"config\.yaml:\d+$", row)


def test_show_formats(tmp_path):
    import json

    proc = rdtui("config", "show", "baseline", "--format", "json")
    data = json.loads(proc.stdout)
    assert data["sft"]["dataset"] == "orca_math" and data["model"]["name"] == "builtin:tiny-qwen3-base"
    proc = rdtui("config", "show")
    assert proc.returncode == 0
    for condition in ("base_model", "baseline", "sft_traces", "re_distill", "grpo_only", "sft_then_grpo"):
        assert condition in proc.stdout
