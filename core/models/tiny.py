"""`builtin:tiny-qwen3`: a few-million-parameter Qwen3 built offline, deterministically, and cached.

The local profile trains this model on CPU in minutes. It has the real model's architecture
(Qwen3ForCausalLM), Qwen's special tokens and a chat template that renders like Qwen3's, so the
trainers, rewards and evaluators run the same code paths as with Qwen3-1.7B.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from core.grading.markers import THINK_CLOSE, THINK_OPEN

BUILTIN_PREFIX = "builtin:"
TINY_NAME = "tiny-qwen3"

# Everything that determines the built files; its hash names the cache folder, so changing any
# value here (or the corpus version) builds a new model instead of reusing a stale one.
TINY_SPEC: dict[str, Any] = {
    "format": 1,
    "seed": 1234,
    "model": {
        "hidden_size": 128,
        "intermediate_size": 384,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "max_position_embeddings": 2048,
        "rope_theta": 10000.0,
        "tie_word_embeddings": True,
    },
    "tokenizer": {"vocab_size": 1024, "corpus_seed": 0, "corpus_per_schema": 1500, "corpus_version": 2},
}

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = (ENDOFTEXT, IM_START, IM_END)

# Qwen2/3's pre-tokenizer split: digits one by one, words with their leading space.
_QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Qwen3's template, reduced to what the study uses: system/user/assistant turns, the reasoning of
# the final assistant turn inside <think>...</think>, and `enable_thinking=false` pre-filling an
# empty think block in the generation prompt.
CHAT_TEMPLATE = (
    "{%- set ns = namespace(last_query_index=messages|length - 1) %}"
    "{%- for message in messages[::-1] %}"
    "{%- if message.role == 'user' and ns.last_query_index == messages|length - 1 %}"
    "{%- set ns.last_query_index = messages|length - 1 - loop.index0 %}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'assistant' %}"
    "{%- set content = message.content %}"
    "{%- set reasoning = '' %}"
    "{%- if '</think>' in content %}"
    "{%- set reasoning = content.split('</think>')[0].split('<think>')[-1].strip('\\n') %}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') %}"
    "{%- endif %}"
    "{%- if loop.index0 > ns.last_query_index and (loop.last or reasoning) %}"
    "{{- '<|im_start|>assistant\\n<think>\\n' + reasoning + '\\n</think>\\n\\n' + content.lstrip('\\n') }}"
    "{%- else %}"
    "{{- '<|im_start|>assistant\\n' + content }}"
    "{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif %}"
    "{%- endif %}"
)


def spec_hash() -> str:
    from core.data.synthetic import corpus_fingerprint

    # The fingerprint of the task's wording: rewording it retrains the tokenizer instead of reusing a stale one.
    payload = json.dumps(
        {"spec": TINY_SPEC, "template": CHAT_TEMPLATE, "split": _QWEN_SPLIT, "corpus": corpus_fingerprint()},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def cache_root() -> Path:
    root = os.environ.get("RDTUI_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "rdtui"


def tiny_model_path() -> Path:
    """The folder holding the built model and tokenizer, building it first when absent."""
    return cached_build(cache_root() / "models" / f"{TINY_NAME}-{spec_hash()}", _build)


def cached_build(target: Path, build) -> Path:
    """`target`, after `build(staging_folder)` made it when absent; published with one rename."""
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        build(staging)
        try:
            os.rename(staging, target)
        except OSError:
            # Another process published the same spec first; its files are identical to ours.
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _chat_corpus() -> list[str]:
    from core.data.synthetic import tokenizer_corpus

    texts = tokenizer_corpus(
        seed=TINY_SPEC["tokenizer"]["corpus_seed"], per_schema=TINY_SPEC["tokenizer"]["corpus_per_schema"]
    )
    scaffold = [
        "user\n",
        "assistant\n",
        "system\n",
        "\n\n",
        "The answer is ",
        "\\boxed{",
        "}.",
        "Put the final answer in \\boxed{}.",
    ]
    return scaffold + texts


def build_tokenizer():
    """A byte-level BPE over the synthetic corpus with Qwen's special and thinking tokens."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_SPEC["tokenizer"]["vocab_size"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
    )
    tok.train_from_iterator(_chat_corpus(), trainer=trainer)
    # <think> and </think> are added tokens that are not special, as in Qwen3: decoding with
    # skip_special_tokens=True keeps them, so rewards that look for </think> can see it.
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in (THINK_OPEN, THINK_CLOSE)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        chat_template=CHAT_TEMPLATE,
        model_max_length=TINY_SPEC["model"]["max_position_embeddings"],
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )


def build_model(tokenizer):
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    spec = dict(TINY_SPEC["model"])
    rope_theta = spec.pop("rope_theta")
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        rope_parameters={"rope_type": "default", "rope_theta": rope_theta},
        eos_token_id=tokenizer.convert_tokens_to_ids(IM_END),
        pad_token_id=tokenizer.convert_tokens_to_ids(ENDOFTEXT),
        bos_token_id=None,
        dtype="float32",
        **spec,
    )
    torch.manual_seed(TINY_SPEC["seed"])
    model = Qwen3ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[tokenizer.convert_tokens_to_ids(IM_END), tokenizer.convert_tokens_to_ids(ENDOFTEXT)],
        pad_token_id=tokenizer.convert_tokens_to_ids(ENDOFTEXT),
        do_sample=False,
    )
    return model


def _build(folder: Path) -> None:
    tokenizer = build_tokenizer()
    model = build_model(tokenizer)
    folder.mkdir(parents=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "rdtui-spec.json").write_text(json.dumps(TINY_SPEC, indent=2) + "\n")
