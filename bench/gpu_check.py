"""GPU check for a machine without network: a Qwen3-1.7B-shaped model with random weights.

Measures, on whatever the machine has:
- LoRA SFT (r=64, rsLoRA, all linear projections, bf16) on packed rows of GSM8K text: tokens/s;
- batched generation over the 1,319 GSM8K test prompts: new tokens/s;
for each attention path that imports (flash-attn 2, SDPA) and with vLLM when it imports. Nothing is
downloaded: the model is built from its config and the tokenizer is rdtui's builtin one (its ids
are far below the real vocabulary, which is all the throughput needs). Random weights never emit
an end token, so every completion runs to the token limit and the figures are for full batches.

The multi-GPU part (`--part multi`, 2 GPUs when the machine has them, else it says it skipped) runs
rdtui's own stages on the same random model saved to a folder, through the pipeline and its
launcher (core/training/distributed.py), on the local profile's offline data:
- LoRA SFT on 1 GPU and under `accelerate launch` on 2 (DDP): tokens/s from metrics.jsonl;
- GRPO generation: colocated on 1 GPU, colocated on 2 GPUs (2 training processes), and on a vLLM
  server (1 GPU serving, 1 training; needs vLLM): completion tokens/s of whole GRPO steps.
Medians over the logged steps after the first, with ratios against the 1-GPU run, side by side.

    python bench/gpu_check.py [--data gsm8k_test.jsonl] [--json out.json] [--part single|multi|all]
    python bench/gpu_check.py --smoke      # a tiny model and 32 prompts, to check the script on CPU
                                           # (the multi part then runs 2 CPU processes over gloo)
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Qwen/Qwen3-1.7B's config.json values.
QWEN3_1_7B = dict(
    hidden_size=2048,
    num_hidden_layers=28,
    num_attention_heads=16,
    num_key_value_heads=8,
    intermediate_size=6144,
    vocab_size=151936,
    head_dim=128,
    tie_word_embeddings=True,
    max_position_embeddings=40960,
    rms_norm_eps=1e-6,
)
SMOKE = dict(
    QWEN3_1_7B,
    hidden_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=256,
    head_dim=32,
)
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
DATA_CANDIDATES = [
    REPO / "core" / "data" / "benchmarks" / "gsm8k_test.jsonl",
    REPO / "bench" / "data" / "gsm8k_test.jsonl",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=None, help="GSM8K test JSONL (question, answer)")
    p.add_argument("--seq-len", type=int, default=2048, help="packed SFT row length")
    p.add_argument("--batch", type=int, default=4, help="SFT rows per step")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=6, help="timed SFT steps per path")
    p.add_argument("--gen-batch", type=int, default=256, help="prompts per generate() call")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--smoke", action="store_true", help="tiny model, 32 prompts: checks the script on CPU")
    p.add_argument(
        "--part",
        choices=["single", "multi", "all"],
        default="all",
        help="single: one GPU, model code directly; multi: rdtui's stages on 1 and 2 GPUs",
    )
    p.add_argument("--stage-timeout", type=float, default=420, help="seconds for one rdtui stage in the multi part")
    return p.parse_args(argv)


def find_data(path: Path | None) -> Path:
    for candidate in [path] if path else DATA_CANDIDATES:
        if candidate.is_file():
            return candidate
    sys.exit(f"gpu_check: no GSM8K test file; pass --data (looked in {', '.join(map(str, DATA_CANDIDATES))})")


def load_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def build_tokenizer():
    from core.models.tiny import build_tokenizer as builtin

    tokenizer = builtin()
    tokenizer.padding_side = "left"  # decoder-only batched generation pads on the left
    return tokenizer


def chat(tokenizer, question: str, answer: str | None = None) -> str:
    messages = [{"role": "user", "content": question}]
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=answer is None)


def packed_rows(tokenizer, rows: list[dict], seq_len: int, count: int):
    """`count` rows of exactly `seq_len` tokens: examples back to back, positions restarting per example
    (so flash-attn's varlen path keeps examples apart, as TRL's packing does)."""
    import torch

    ids: list[int] = []
    positions: list[int] = []
    i = 0
    while len(ids) < seq_len * count:
        row = rows[i % len(rows)]
        i += 1
        example = tokenizer(chat(tokenizer, row["question"], row["answer"]), add_special_tokens=False)["input_ids"]
        example = example[:seq_len]
        ids += example
        positions += list(range(len(example)))
    n = seq_len * count
    return (torch.tensor(ids[:n]).view(count, seq_len), torch.tensor(positions[:n]).view(count, seq_len))


def new_model(shape: dict, attn: str, device: str, dtype):
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    config = Qwen3Config(
        **shape,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},
        attn_implementation=attn,
        dtype=dtype,
        pad_token_id=0,
    )
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = Qwen3ForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    return model


def attention_paths(device: str) -> list[str]:
    paths = []
    if device == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        paths.append("flash_attention_2")
    paths.append("sdpa")
    return paths


def sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def bench_sft(model, rows_ids, rows_pos, args, device: str) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=64, lora_alpha=64, lora_dropout=0.05, use_rslora=True, target_modules=LORA_TARGETS, task_type="CAUSAL_LM"
    )
    peft_model = get_peft_model(model, lora)
    checkpointing(model, True)
    peft_model.enable_input_require_grads()
    peft_model.train()
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=2e-4)
    times = []
    for step in range(args.warmup + args.steps):
        lo = (step * args.batch) % rows_ids.shape[0]
        ids = rows_ids[lo : lo + args.batch].to(device)
        pos = rows_pos[lo : lo + args.batch].to(device)
        sync(device)
        start = time.perf_counter()
        output = peft_model(input_ids=ids, position_ids=pos, labels=ids)
        output.loss.backward()
        loss = output.loss.detach()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync(device)
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    step_s = statistics.median(times)
    tokens = args.batch * args.seq_len
    peft_model.unload()
    checkpointing(model, False)
    return {"step_s": step_s, "tokens_per_s": tokens / step_s, "tokens_per_step": tokens, "loss": loss.item()}


def checkpointing(model, on: bool) -> None:
    """Activation checkpointing on or off: transformers 5.24 renamed gradient_checkpointing_* (the
    old names warn and go in v6); the images' older transformers may have only those."""
    if hasattr(model, "activation_checkpointing_enable"):
        if on:
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.activation_checkpointing_disable()
    elif on:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_disable()


def bench_generate(model, tokenizer, prompts: list[str], args, device: str) -> dict:
    import torch

    model.eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    new_tokens = 0
    batch_rates = []
    start_all = time.perf_counter()
    with torch.inference_mode():
        for lo in range(0, len(prompts), args.gen_batch):
            batch = tokenizer(
                prompts[lo : lo + args.gen_batch], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(device)
            sync(device)
            start = time.perf_counter()
            out = model.generate(
                **batch,
                max_new_tokens=args.max_new_tokens,
                min_new_tokens=args.max_new_tokens,
                do_sample=True,
                temperature=0.7,
                top_p=1.0,
                eos_token_id=None,
            )
            sync(device)
            made = (out.shape[1] - batch["input_ids"].shape[1]) * out.shape[0]
            new_tokens += made
            batch_rates.append(made / (time.perf_counter() - start))
    total = time.perf_counter() - start_all
    return {
        "prompts": len(prompts),
        "new_tokens": new_tokens,
        "seconds": total,
        "tokens_per_s": new_tokens / total,
        "median_batch_tokens_per_s": statistics.median(batch_rates),
    }


def bench_vllm(model, tokenizer, prompts: list[str], args) -> dict:
    """vLLM reads a model folder: save the random weights locally, then generate all prompts in one call."""
    from vllm import LLM, SamplingParams

    with tempfile.TemporaryDirectory(prefix="gpu_check_model_") as folder:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        llm = LLM(model=folder, dtype="bfloat16", gpu_memory_utilization=0.6, seed=0)
        # detokenize=False: random weights sample ids far past the builtin tokenizer's vocabulary, and
        # the text is not what is measured.
        params = SamplingParams(max_tokens=args.max_new_tokens, temperature=0.7, ignore_eos=True, detokenize=False)
        llm.generate(prompts[:8], params)  # warm-up: CUDA graphs, kernels
        start = time.perf_counter()
        outputs = llm.generate(prompts, params)
        seconds = time.perf_counter() - start
    new_tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
    return {"prompts": len(prompts), "new_tokens": new_tokens, "seconds": seconds, "tokens_per_s": new_tokens / seconds}


def free(device: str) -> None:
    import torch

    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    """0 when every measurement that could run here ran (the others are printed as skipped, with
    why); 1 when one failed."""
    from importlib.metadata import version

    args = parse_args(argv)
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.smoke:
        args.seq_len, args.batch, args.warmup, args.steps = 256, 2, 1, 2
        args.gen_batch, args.max_new_tokens = 16, 8
    shape = SMOKE if args.smoke else QWEN3_1_7B
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    results: dict = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "gpus": torch.cuda.device_count() if device == "cuda" else 0,
        "torch": torch.__version__,
        "transformers": version("transformers"),
        "shape": shape,
        "sft": {},
        "generate": {},
        "skipped": {},
        "failed": {},
    }
    print(
        f"device {results['device']} x {results['gpus']}, torch {torch.__version__} "
        f"(CUDA {torch.version.cuda or 'none'}), transformers {results['transformers']}",
        flush=True,
    )
    if device == "cpu" and not args.smoke:
        # A 1.7B model on the CPU would take hours and measure nothing this check is for.
        results["skipped"].update(cpu_only_skips(args.part, torch.__version__))
    else:
        if args.part in ("single", "all"):
            bench_single(args, results, shape, device, dtype)
        if args.part in ("multi", "all"):
            bench_multi(args, results, shape, device, dtype)
    for name, why in results["skipped"].items():
        print(f"[{name}] skipped: {why}", flush=True)
    for name, why in results["failed"].items():
        print(f"[{name}] FAILED: {why}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if results["failed"] else 0


def cpu_only_skips(part: str, torch_version: str) -> dict[str, str]:
    """Why each measurement of `part` is skipped on a machine without CUDA."""

    def imports(name: str) -> str:
        return "needs CUDA" if importlib.util.find_spec(name) else f"{name} does not import"

    no_cuda = f"no CUDA device (torch {torch_version} sees none); --smoke runs the script's path on the CPU"
    skips = {}
    if part in ("single", "all"):
        skips.update(single_gpu=no_cuda, flash_attention_2=imports("flash_attn"), vllm=imports("vllm"))
    if part in ("multi", "all"):
        skips.update(multi_gpu=f"needs 2 GPUs; {no_cuda}", grpo_server=f"needs 2 GPUs and vLLM ({imports('vllm')})")
    return skips


def bench_single(args, results: dict, shape: dict, device: str, dtype) -> None:
    import torch

    t0 = time.perf_counter()
    tokenizer = build_tokenizer()
    rows = load_rows(find_data(args.data))
    if args.smoke:
        rows = rows[:32]
    prompts = [chat(tokenizer, row["question"]) for row in rows]
    rows_ids, rows_pos = packed_rows(tokenizer, rows, args.seq_len, args.batch * 4)
    print(
        f"tokenizer and data ready in {time.perf_counter() - t0:.1f}s: {len(prompts)} prompts, "
        f"{rows_ids.shape[0]} packed rows of {args.seq_len}",
        flush=True,
    )

    if importlib.util.find_spec("flash_attn") is None:
        results["skipped"]["flash_attention_2"] = "flash_attn does not import"
    for attn in attention_paths(device):
        t0 = time.perf_counter()
        model = new_model(shape, attn, device, dtype)
        params = sum(p.numel() for p in model.parameters())
        print(
            f"[{attn}] model built in {time.perf_counter() - t0:.1f}s: {params / 1e9:.2f} B parameters, random weights",
            flush=True,
        )
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        sft = bench_sft(model, rows_ids, rows_pos, args, device)
        if device == "cuda":
            sft["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
        results["sft"][attn] = sft
        print(
            f"[{attn}] LoRA SFT, packed {args.batch} x {args.seq_len}: {sft['tokens_per_s']:,.0f} tokens/s "
            f"(median step {sft['step_s']:.3f}s over {args.steps}"
            + (f", peak {sft['peak_gib']:.1f} GiB)" if "peak_gib" in sft else ")"),
            flush=True,
        )
        gen = bench_generate(model, tokenizer, prompts, args, device)
        results["generate"][f"transformers+{attn}"] = gen
        print(
            f"[{attn}] generate {gen['prompts']} prompts x {args.max_new_tokens} new tokens, batch {args.gen_batch}: "
            f"{gen['tokens_per_s']:,.0f} new tokens/s ({gen['seconds']:.1f}s; median batch "
            f"{gen['median_batch_tokens_per_s']:,.0f}/s)",
            flush=True,
        )
        if attn == "sdpa" and device == "cuda" and importlib.util.find_spec("vllm") is not None:
            try:
                vllm_result = bench_vllm(model, tokenizer, prompts, args)
                results["generate"]["vllm"] = vllm_result
                print(
                    f"[vllm] generate {vllm_result['prompts']} prompts x {args.max_new_tokens} new tokens: "
                    f"{vllm_result['tokens_per_s']:,.0f} new tokens/s ({vllm_result['seconds']:.1f}s)",
                    flush=True,
                )
            except Exception as exc:
                results["failed"]["vllm"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        del model
        free(device)
    if "vllm" not in results["generate"] and "vllm" not in results["failed"]:
        results["skipped"]["vllm"] = (
            "vllm does not import" if importlib.util.find_spec("vllm") is None else "needs CUDA"
        )
    side_by_side("LoRA SFT tokens/s", {attn: r["tokens_per_s"] for attn, r in results["sft"].items()})
    side_by_side("generation new tokens/s", {k: r["tokens_per_s"] for k, r in results["generate"].items()})


# -- the multi-GPU part: rdtui's own stages ----------------------------------------------------------

MULTI_SFT = [
    "condition.stages=[sft]",
    "sft.max_steps=6",
    "sft.save_steps=1000",
    "sft.sample_every=0",
    "sft.per_device_train_batch_size=4",
    "sft.gradient_accumulation_steps=1",
    "sft.max_length=2048",
]
MULTI_GRPO = [
    "condition.stages=[grpo]",
    "grpo.max_steps=5",
    "grpo.save_steps=1000",
    "grpo.sample_every=0",
    "grpo.per_device_train_batch_size=16",
    "grpo.gradient_accumulation_steps=1",
    "grpo.num_generations=8",
    "grpo.max_completion_length=256",
]
MULTI_SMOKE = [
    "sft.max_steps=4",
    "sft.max_length=128",
    "sft.per_device_train_batch_size=2",
    "grpo.max_steps=3",
    "grpo.per_device_train_batch_size=4",
    "grpo.num_generations=4",
    "grpo.max_completion_length=8",
]


def save_model_folder(shape: dict, attn: str, device: str, dtype, folder: Path) -> Path:
    """The random-weight model and rdtui's builtin tokenizer, as a folder `model.name` can point at.

    Its vocabulary is the tokenizer's: GRPO decodes every sampled id (TRL, and vLLM's detokenizer in
    colocate and server mode), and random weights would sample ids the builtin tokenizer lacks. The
    layouts are compared with each other, on the same model, so a smaller output layer is fair."""
    tokenizer = build_tokenizer()
    model = new_model({**shape, "vocab_size": len(tokenizer)}, attn, "cpu", dtype)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    del model
    free(device)
    return folder


def new_run(root: Path, condition: str, overrides: list[str]):
    from core.config import load_study, resolve_full, snapshot_text
    from core.store.runstore import RunStore

    resolution = resolve_full(load_study(REPO / "config.yaml"), condition, "local", overrides)
    return RunStore(root / "runs").create(condition, "local", "local", snapshot_text(resolution))


def run_worker(run, timeout: float, gpus: int | None = None) -> str | None:
    """The run's stages in `python -m core.execution.run_process`, as the local backend runs them; None or the error.

    `gpus`: how many of the machine's GPUs the run may see. A one-process run that sees several would
    train under nn.DataParallel (the HF Trainer's choice), not on the one GPU it is measured as."""
    import os
    import subprocess

    from core.training.distributed import visible_devices

    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    if gpus is not None and visible_devices():
        env["CUDA_VISIBLE_DEVICES"] = ",".join(visible_devices()[:gpus])
    with open(run.log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.execution.run_process", str(run.dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=REPO,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 15)
            proc.wait()
            return f"timed out after {timeout:.0f} s"
    record = run.reload()
    if record.status == "succeeded":
        return None
    tail = run.log_path.read_text(errors="replace").splitlines()[-15:]
    print("\n".join("    | " + line for line in tail), flush=True)
    return record.error or f"ended {record.status}"


def step_rates(run, stage: str, tokens) -> list[float]:
    """Tokens per second of each logged step after the first (the first carries start-up costs)."""
    from core.store.jsonl import read_jsonl

    rows = [m for m in read_jsonl(run.metrics_path) if m.get("stage") == stage]
    return [tokens(prev, cur) / (cur["t"] - prev["t"]) for prev, cur in zip(rows, rows[1:]) if cur["t"] > prev["t"]]


def bench_multi(args, results: dict, shape: dict, device: str, dtype) -> None:
    import torch

    gpus = torch.cuda.device_count() if device == "cuda" else 0
    if device == "cuda" and gpus < 2:
        results["skipped"]["multi_gpu"] = f"needs 2 GPUs; this machine has {gpus}"
        results["skipped"]["grpo_server"] = f"needs 2 GPUs (1 serving, 1 training); this machine has {gpus}"
        return
    vllm = device == "cuda" and importlib.util.find_spec("vllm") is not None
    attn = attention_paths(device)[0]
    results["multi"] = {
        "attention": attn,
        "generation": "vllm" if vllm else "transformers generate",
        "sft": {},
        "grpo": {},
    }
    common = [
        f"model.dtype={'bfloat16' if device == 'cuda' else 'float32'}",
        f"model.attn_implementation={attn}",
        "lora.enabled=true",
        "telemetry.samples_per_log=0",
    ]
    smoke = MULTI_SMOKE if args.smoke else []
    with tempfile.TemporaryDirectory(prefix="gpu_check_multi_") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        folder = save_model_folder(shape, attn, device, dtype, root / "model")
        common.append(f"model.name={folder}")
        print(
            f"[multi] random {shape['num_hidden_layers']}-layer model saved in {time.perf_counter() - t0:.1f}s; "
            f"attention {attn}, generation {results['multi']['generation']}",
            flush=True,
        )

        sft_setups = [("1 GPU", 1), ("2 GPUs DDP", 2)]
        for name, procs in sft_setups:
            run = new_run(root, "sft_traces", common + MULTI_SFT + smoke + [f"distributed.num_processes={procs}"])
            error = run_worker(run, args.stage_timeout, gpus=procs)
            rates = step_rates(run, "sft", lambda prev, cur: cur["num_tokens"] - prev["num_tokens"])
            results["multi"]["sft"][name] = {
                "processes": procs,
                "error": error,
                "tokens_per_s": _median(rates),
                "steps": len(rates),
            }
            if error:
                results["failed"][f"multi SFT {name}"] = error
            print(
                f"[multi] SFT {name}: " + (f"failed: {error}" if error else f"{_median(rates):,.0f} tokens/s"),
                flush=True,
            )

        grpo = [f"grpo.use_vllm={'true' if vllm else 'false'}", "grpo.vllm_gpu_memory_utilization=0.3"]
        grpo_setups = [("colocate, 1 GPU", 1, "colocate"), ("colocate, 2 GPUs", 2, "colocate")]
        if vllm:
            grpo_setups.append(("server, 1+1 GPUs", 1, "server"))
        else:
            results["skipped"]["grpo_server"] = "vLLM does not import" if device == "cuda" else "needs vLLM and 2 GPUs"
        for name, procs, mode in grpo_setups:
            run = new_run(
                root,
                "grpo_only",
                common + MULTI_GRPO + smoke + grpo + [f"grpo.vllm_mode={mode}", f"distributed.num_processes={procs}"],
            )
            cfg = run.config()
            per_step = cfg.grpo.per_device_train_batch_size * cfg.grpo.gradient_accumulation_steps * procs
            error = run_worker(
                run, args.stage_timeout, gpus=procs + (cfg.grpo.vllm_server_gpus if mode == "server" else 0)
            )
            rates = step_rates(
                run, "grpo", lambda prev, cur, per_step=per_step: cur["completions/mean_length"] * per_step
            )
            results["multi"]["grpo"][name] = {
                "processes": procs,
                "mode": mode,
                "error": error,
                "completion_tokens_per_s": _median(rates),
                "steps": len(rates),
            }
            if error:
                results["failed"][f"multi GRPO {name}"] = error
            print(
                f"[multi] GRPO {name}: "
                + (f"failed: {error}" if error else f"{_median(rates):,.0f} completion tokens/s"),
                flush=True,
            )
    print_multi_table(results["multi"])


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def print_multi_table(multi: dict) -> None:
    """Each stage's layouts side by side, with the ratio to its first (one-GPU) layout."""
    side_by_side("SFT tokens/s (median step)", {n: r["tokens_per_s"] for n, r in multi["sft"].items()})
    side_by_side(
        "GRPO completion tokens/s (median step; colocate vs server)",
        {n: r["completion_tokens_per_s"] for n, r in multi["grpo"].items()},
    )


def side_by_side(title: str, rates: dict[str, float | None]) -> None:
    """One table line per figure: names as columns, the value under each, the ratio to the first."""
    if not rates:
        return
    width = max(12, *(len(name) for name in rates))
    baseline = next(iter(rates.values()))
    cells = [
        "failed".rjust(width)
        if rate is None
        else f"{rate:,.0f}".rjust(width - 8) + (f" ({rate / baseline:.2f}x)" if baseline else "").ljust(8)
        for rate in rates.values()
    ]
    print(f"\n{title}", flush=True)
    print("  ".join(name.rjust(width) for name in rates), flush=True)
    print("  ".join(cells), flush=True)


if __name__ == "__main__":
    sys.exit(main())
