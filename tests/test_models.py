"""The builtin tiny Qwen3: deterministic offline build, Qwen-like tokens and template, loading and LoRA."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.errors import RdtuiError
from core.models.loading import align_special_tokens, load_model_and_tokenizer, load_tokenizer, lora_config

REPO = Path(__file__).resolve().parents[1]
TINY_CFG = SimpleNamespace(
    name="builtin:tiny-qwen3", revision="main", dtype="auto", attn_implementation="auto", enable_thinking=True
)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _build_in(cache: Path) -> Path:
    """Build the tiny model in a fresh process with its own cache (as a new machine would)."""
    code = "from core.models.tiny import tiny_model_path; print(tiny_model_path())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "RDTUI_CACHE": str(cache)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def test_tiny_model_builds_identically_on_two_machines(tmp_path):
    first, second = _build_in(tmp_path / "a"), _build_in(tmp_path / "b")
    assert first.name == second.name  # the folder is named by the spec's hash
    assert _digest(first) == _digest(second)
    assert (first / "model.safetensors").exists() and (first / "tokenizer.json").exists()


def test_concurrent_builders_publish_one_folder(tmp_path):
    cache = tmp_path / "cache"
    code = "from core.models.tiny import tiny_model_path; print(tiny_model_path())"
    env = {**os.environ, "RDTUI_CACHE": str(cache)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    paths = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert len(paths) == 1
    entries = sorted(p.name for p in (cache / "models").iterdir())
    assert entries == [Path(paths.pop()).name]  # no temp folder left behind


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("builtin:tiny-qwen3")


def test_thinking_tokens_survive_skip_special_tokens(tokenizer):
    text = "<think>\n7 + 5 = 12\n</think>\n\nThe answer is \\boxed{12}.<|im_end|>"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_tokens_to_ids("</think>") in ids
    decoded = tokenizer.decode(ids, skip_special_tokens=True)
    assert decoded == "<think>\n7 + 5 = 12\n</think>\n\nThe answer is \\boxed{12}."
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"


def test_chat_template_renders_like_qwen3(tokenizer):
    user = [{"role": "user", "content": "What is 2 + 3?"}]
    prompt = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    assert prompt == "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n"
    no_think = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    assert no_think == prompt + "<think>\n\n</think>\n\n"
    full = tokenizer.apply_chat_template(
        user + [{"role": "assistant", "content": "<think>\n2 + 3 = 5\n</think>\n\nThe answer is \\boxed{5}."}],
        tokenize=False,
    )
    assert full == prompt + "<think>\n2 + 3 = 5\n</think>\n\nThe answer is \\boxed{5}.<|im_end|>\n"
    answer_only = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": "5"}], tokenize=False)
    assert answer_only == prompt + "<think>\n\n</think>\n\n5<|im_end|>\n"


def test_eos_is_aligned_to_the_end_of_turn(tokenizer):
    # Qwen3 base ships eos=<|endoftext|> while its template ends turns with <|im_end|>.
    tokenizer.eos_token = "<|endoftext|>"
    tokenizer.pad_token = "<|endoftext|>"
    align_special_tokens(tokenizer)
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|endoftext|>"


def test_load_builtin_on_cpu_uses_sdpa_float32_and_stops_at_end_of_turn(capsys):
    import torch

    model, tok = load_model_and_tokenizer(TINY_CFG, device="cpu")
    assert model.config._attn_implementation == "sdpa"
    assert "attention=sdpa" in capsys.readouterr().out
    assert model.dtype == torch.float32
    assert model.generation_config.eos_token_id[0] == tok.convert_tokens_to_ids("<|im_end|>")
    assert 0.3e6 < sum(p.numel() for p in model.parameters()) < 5e6


def test_unknown_builtin_is_a_clear_error():
    with pytest.raises(RdtuiError, match="unknown builtin model"):
        load_model_and_tokenizer(SimpleNamespace(**{**vars(TINY_CFG), "name": "builtin:nope"}))


def test_unloadable_hub_id_fails_with_one_line_offline(tmp_path):
    code = textwrap.dedent("""
        from types import SimpleNamespace
        from core.errors import RdtuiError
        from core.models.loading import load_model_and_tokenizer
        cfg = SimpleNamespace(name="rdtui-tests/no-such-model", revision="main", dtype="auto",
                              attn_implementation="auto")
        try:
            load_model_and_tokenizer(cfg)
        except RdtuiError as exc:
            print("ERROR:", exc)
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    line = next(x for x in out.stdout.splitlines() if x.startswith("ERROR:"))
    assert "model.name" in line and "rdtui-tests/no-such-model" in line and "local folder" in line


def test_the_trainers_lora_config_trains_only_the_adapter_and_refuses_a_layer_the_model_lacks():
    from peft import get_peft_model  # what TRL's trainers do with the peft_config they are given

    model, _ = load_model_and_tokenizer(TINY_CFG, device="cpu")
    lora = SimpleNamespace(
        enabled=True, r=4, alpha=8, dropout=0.0, use_rslora=True, target_modules=["q_proj", "v_proj"]
    )
    peft_model = get_peft_model(model, lora_config(model, lora))
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert peft_model.peft_config["default"].use_rslora
    fresh = load_model_and_tokenizer(TINY_CFG, device="cpu")[0]
    with pytest.raises(RdtuiError, match=r"lora.target_modules: qv_proj not in the model \(it has .*q_proj"):
        lora_config(fresh, SimpleNamespace(**{**vars(lora), "target_modules": ["q_proj", "qv_proj"]}))
    assert lora_config(fresh, SimpleNamespace(**{**vars(lora), "enabled": False})) is None
