"""Evaluator cost on the tiny model: wall time against a bare batched `model.generate` loop, and the
completions generated again after a kill -9.

    .venv/bin/python bench/bench_eval.py [--repeats 5] [--kills 5]

1. Overhead: the same prompts (the local profile's held-out split, greedy), the same loaded model,
   the same batch size. The bare loop tokenizes with left padding, generates and decodes; the
   evaluator also sorts prompts by length, grades, journals every batch, keeps progress and writes
   the summary. Medians of several alternating runs, after a warm-up of each.
2. Redone work: a sampled evaluation (n=4) in a child process is killed at a random moment and
   resumed; the child counts every completion it starts generating, so the figure is what the kill
   cost (completions started more than once), next to the size of one batch.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GREEDY = ["evaluation.benchmarks=[synth_test]", "evaluation.max_new_tokens=64", "evaluation.batch_size=32"]
SAMPLED = [
    "evaluation.benchmarks=[synth_test]",
    "evaluation.samples=4",
    "evaluation.k=[1,4]",
    "evaluation.temperature=1.0",
    "evaluation.max_new_tokens=32",
    "evaluation.batch_size=32",
]


def config(overrides: list[str]):
    from core.config import load_study, resolve_full

    return resolve_full(load_study(REPO / "config.yaml"), "base_model", "local", overrides)


def bare_loop(model, tokenizer, prompts: list[str], batch_size: int, max_new_tokens: int) -> list[str]:
    import torch

    tokenizer.padding_side = "left"
    texts = []
    for i in range(0, len(prompts), batch_size):
        enc = tokenizer(prompts[i : i + batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False)
        texts += tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return texts


def overhead(repeats: int) -> None:
    from core.evaluation.generation import load_backend
    from core.evaluation.modelref import model_ref
    from core.evaluation.stage import Evaluation
    from core.store.runstore import RunStore

    cfg = config(GREEDY).config
    ref = model_ref(cfg.model, None)
    backend, tokenizer = load_backend(cfg, ref, prefer_vllm=False)
    evaluation = Evaluation.prepare(cfg, ref, backend=(backend, tokenizer))
    prompts = [p.prompt for p in evaluation.problems(evaluation.benchmarks[0])]
    ev = cfg.evaluation
    store = RunStore(Path(tempfile.mkdtemp(prefix="bench-eval-")))

    def timed(work) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        return time.perf_counter() - wall, time.process_time() - cpu

    def bare() -> None:
        bare_loop(backend.model, tokenizer, prompts, ev.batch_size, ev.max_new_tokens)

    def evaluator() -> None:
        evaluation.run(store.create("base_model", "local", "local", ""), log=lambda line: None)

    timed(bare), timed(evaluator)  # warm-up: the first generate call pays one-off kernel setup
    times: dict[str, list[tuple[float, float]]] = {"bare model.generate loop": [], "evaluator (Evaluation.run)": []}
    for _ in range(repeats):  # alternating, so a busy moment of the machine hits both alike
        times["bare model.generate loop"].append(timed(bare))
        times["evaluator (Evaluation.run)"].append(timed(evaluator))
    device = next(backend.model.parameters()).device
    print(
        f"{len(prompts)} prompts (synth_test), greedy, max_new_tokens {ev.max_new_tokens}, batch {ev.batch_size}, "
        f"device {device}, {repeats} alternating runs each"
    )
    medians = {}
    for name, runs in times.items():
        medians[name] = (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        print(
            f"{name}: median wall {medians[name][0]:.3f} s, CPU {medians[name][1]:.3f} s "
            f"(wall runs: {', '.join(f'{w:.2f}' for w, _ in runs)})"
        )
    (bw, bc), (ew, ec) = medians.values()
    print(f"evaluator overhead: wall {100 * (ew - bw) / bw:+.1f}%, CPU {100 * (ec - bc) / bc:+.1f}%")


def child(run_dir: str, counter: str) -> None:
    """Evaluate into `run_dir`, appending the number of completions of every batch it starts to `counter`."""
    from core.evaluation.modelref import model_ref
    from core.evaluation.stage import Evaluation
    from core.store.runstore import Run

    run = Run(Path(run_dir))
    cfg = run.config()
    evaluation = Evaluation.prepare(cfg, model_ref(cfg.model, None))
    generate = evaluation.backend.generate

    def counted(batch, settings):
        fd = os.open(counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{len(batch) * settings.samples}\n".encode())
        os.close(fd)
        return generate(batch, settings)

    evaluation.backend.generate = counted
    evaluation.run(run, log=lambda line: None)


def redone_after_kill(kills: int, seed: int) -> None:
    from core.config import snapshot_text
    from core.store.runstore import RunStore

    resolution = config(SAMPLED)
    ev = resolution.config.evaluation
    rng = random.Random(seed)
    redone, problems = [], 0
    for _ in range(kills):
        store = RunStore(Path(tempfile.mkdtemp(prefix="bench-eval-kill-")))
        run = store.create("base_model", "local", "local", snapshot_text(resolution))
        counter = run.dir / "generated.count"
        journal = run.eval_dir / "synth_test.jsonl"
        command = [sys.executable, __file__, "--child", str(run.dir), str(counter)]
        proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target = rng.randrange(1, 56)
        while proc.poll() is None:
            if journal.exists() and len(journal.read_text().splitlines()) - 1 >= target:
                time.sleep(rng.uniform(0.0, 0.5))
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lines = journal.read_text().splitlines()[1:]
        problems = len(lines)
        assert len({json.loads(line)["id"] for line in lines}) == problems
        started = sum(int(x) for x in counter.read_text().split())
        redone.append(started - problems * ev.samples)
    per_batch = (ev.batch_size // ev.samples) * ev.samples
    print(
        f"kill -9 at a random moment, then resume ({kills} trials; {problems} problems x {ev.samples} samples, "
        f"batches of {per_batch} completions)"
    )
    print(
        f"completions generated again: median {statistics.median(redone):.0f}, max {max(redone)} "
        f"(trials: {', '.join(map(str, redone))}); one batch = {per_batch}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs=2, metavar=("RUN_DIR", "COUNTER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    overhead(args.repeats)
    if args.kills:
        redone_after_kill(args.kills, args.seed)


if __name__ == "__main__":
    main()
