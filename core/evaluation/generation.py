"""Generation backends: transformers (batched, any machine) and vLLM (when it imports and CUDA is present).

Reproducibility contract: sampled completion s of problem p is drawn from its own random stream,
seeded by (study seed, p, s). With the transformers backend a batch's composition also affects the
floating-point result, so batches are planned from the problem list alone (`plan_batches`) and never
from what a journal already holds: a resumed evaluation reruns exactly the batches an uninterrupted
one would have run, and produces the same completions.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from core.evaluation.benchmarks import Problem
from core.evaluation.modelref import ModelRef

if TYPE_CHECKING:
    from core.config.schema import ResolvedConfig


@dataclass(frozen=True)
class SamplingSettings:
    samples: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    @classmethod
    def from_config(cls, cfg: ResolvedConfig) -> SamplingSettings:
        ev = cfg.evaluation
        return cls(
            samples=ev.samples,
            temperature=ev.temperature,
            top_p=ev.top_p,
            max_new_tokens=ev.max_new_tokens,
            seed=cfg.study.seed,
        )


@dataclass(frozen=True)
class Completion:
    text: str  # the generated text, special tokens removed (<think> tags are kept)
    tokens: int  # generated tokens, the stop token not counted
    finish_reason: str  # "stop" (end of turn / eos) or "length" (max_new_tokens reached)


class Backend(Protocol):
    name: str

    def generate(self, batch: list[Problem], settings: SamplingSettings) -> list[list[Completion]]:
        """`settings.samples` completions for each problem of `batch`, in order."""


def sample_seed(seed: int, problem_id: str, sample: int) -> int:
    digest = hashlib.sha256(f"{seed}:{problem_id}:{sample}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def plan_batches(problems: list[Problem], batch_size: int, settings: SamplingSettings) -> list[list[Problem]]:
    """Problems grouped into generation batches of about `batch_size` sequences, longest prompts first.

    Sorting by prompt length keeps left padding short; a problem's samples share a batch so that its
    journal line is written once, whole.
    """
    per_problem = 1 if settings.greedy else settings.samples
    per_batch = max(1, batch_size // per_problem)
    ordered = sorted(problems, key=lambda p: -p.prompt_tokens)
    return [ordered[i : i + per_batch] for i in range(0, len(ordered), per_batch)]


def vllm_usable() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


def load_backend(cfg: ResolvedConfig, ref: ModelRef, *, prefer_vllm: bool = True) -> tuple[Backend, object]:
    """(backend, tokenizer) for the model `ref` names; vLLM where usable, transformers otherwise."""
    if prefer_vllm and vllm_usable():
        return VllmBackend.load(cfg, ref)
    return TransformersBackend.load(cfg, ref)


def _model_cfg(cfg: ResolvedConfig, ref: ModelRef):
    return cfg.model if ref.base == cfg.model.name else cfg.model.model_copy(update={"name": ref.base})


class TransformersBackend:
    name = "transformers"

    def __init__(self, model, tokenizer):
        import torch

        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        tokenizer.padding_side = "left"
        from core.models.loading import stop_token_ids

        self.stop_ids = stop_token_ids(model, tokenizer)
        self._stop = torch.tensor(self.stop_ids)

    @classmethod
    def load(cls, cfg: ResolvedConfig, ref: ModelRef) -> tuple[TransformersBackend, object]:
        from core.models.loading import load_model_and_tokenizer

        model, tokenizer = load_model_and_tokenizer(_model_cfg(cfg, ref), adapter=ref.checkpoint)
        if hasattr(model, "merge_and_unload"):
            # One matrix per layer instead of base + low-rank pair: the same outputs, faster decoding.
            model = model.merge_and_unload()
        return cls(model, tokenizer), tokenizer

    def generate(self, batch: list[Problem], settings: SamplingSettings) -> list[list[Completion]]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        copies = 1 if settings.greedy else settings.samples
        rows = [(p, s) for p in batch for s in range(copies)]
        enc = self.tokenizer(
            [p.prompt for p, _ in rows], return_tensors="pt", padding=True, add_special_tokens=False
        ).to(self.device)
        config = GenerationConfig(
            max_new_tokens=settings.max_new_tokens,
            do_sample=False,
            num_beams=1,
            use_cache=True,
            eos_token_id=self.stop_ids,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        processors = LogitsProcessorList()
        if not settings.greedy:
            seeds = [sample_seed(settings.seed, p.id, s) for p, s in rows]
            processors.append(SeededSampler(seeds, settings.temperature, settings.top_p))
        with torch.inference_mode():
            out = self.model.generate(**enc, generation_config=config, logits_processor=processors)
        new = out[:, enc["input_ids"].shape[1] :].cpu()  # one transfer, not one sync per row
        completions = [self._completion(ids) for ids in new]
        grouped = [completions[i * copies : (i + 1) * copies] for i in range(len(batch))]
        return [group * settings.samples if copies == 1 else group for group in grouped]

    def _completion(self, ids) -> Completion:
        import torch

        stops = torch.isin(ids, self._stop).nonzero()
        # A row without a stop token ran until max_new_tokens (generate only ends early once all rows stop).
        length, reason = (int(stops[0]), "stop") if len(stops) else (len(ids), "length")
        text = self.tokenizer.decode(ids[:length], skip_special_tokens=True)
        return Completion(text=text, tokens=length, finish_reason=reason)


class SeededSampler:
    """A logits processor that samples each row from its own seeded stream and forces that token.

    transformers draws sampled tokens from one global generator, so a row's tokens would depend on
    the other rows of its batch. Here each row draws one uniform number per step from a generator
    seeded for its (problem, sample), picks the token by inverse CDF over the temperature/top-p
    distribution, and leaves every other token at -inf for greedy selection to pick.
    """

    def __init__(self, seeds: list[int], temperature: float, top_p: float):
        import torch

        self.generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        self.temperature = temperature
        self.top_p = top_p

    def __call__(self, input_ids, scores):
        import torch

        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            # Keep the smallest head of the distribution whose mass reaches top_p (always the top token).
            outside = sorted_probs.cumsum(dim=-1) - sorted_probs >= self.top_p
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs.masked_fill(outside, 0.0))
        uniforms = torch.cat([torch.rand(1, generator=g, dtype=torch.float64) for g in self.generators])
        cdf = probs.double().cumsum(dim=-1)
        targets = (uniforms.to(cdf.device) * cdf[:, -1]).unsqueeze(-1)
        choice = torch.searchsorted(cdf, targets, right=True).clamp_(max=scores.shape[-1] - 1)
        forced = torch.full_like(scores, float("-inf"))
        return forced.scatter_(-1, choice, 0.0)


class VllmBackend:
    name = "vllm"

    def __init__(self, llm, tokenizer, lora_request, stop_ids: list[int]):
        self.llm = llm
        self.tokenizer = tokenizer
        self.lora_request = lora_request
        self.stop_ids = stop_ids

    @classmethod
    def load(cls, cfg: ResolvedConfig, ref: ModelRef) -> tuple[VllmBackend, object]:
        from vllm import LLM

        from core.models.loading import load_tokenizer, model_source

        lora_request = None
        if ref.is_adapter:
            from vllm.lora.request import LoRARequest

            source, tokenizer_source = model_source(ref.base), ref.base
            lora_request = LoRARequest("eval-adapter", 1, str(ref.checkpoint))
        elif ref.checkpoint is not None:
            source = tokenizer_source = str(ref.checkpoint)
        else:
            source, tokenizer_source = model_source(ref.base), ref.base
        tokenizer = load_tokenizer(
            tokenizer_source, cfg.model.revision if tokenizer_source == cfg.model.name else "main"
        )
        dtype = "auto" if cfg.model.dtype == "auto" else cfg.model.dtype
        kwargs = {"enable_lora": True, "max_lora_rank": max(cfg.lora.r, 8)} if lora_request else {}
        llm = LLM(model=source, dtype=dtype, seed=cfg.study.seed, **kwargs)
        stop_ids = list(
            dict.fromkeys(
                i
                for i in (tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|endoftext|>"))
                if isinstance(i, int) and i >= 0
            )
        )
        return cls(llm, tokenizer, lora_request, stop_ids), tokenizer

    def generate(self, batch: list[Problem], settings: SamplingSettings) -> list[list[Completion]]:
        from vllm import SamplingParams

        prompts, params = [], []
        for problem in batch:
            for s in range(settings.samples):
                prompts.append(problem.prompt)
                params.append(
                    SamplingParams(
                        n=1,
                        temperature=settings.temperature,
                        top_p=settings.top_p,
                        max_tokens=settings.max_new_tokens,
                        stop_token_ids=self.stop_ids,
                        seed=None if settings.greedy else sample_seed(settings.seed, problem.id, s),
                        skip_special_tokens=True,
                    )
                )
        outputs = self.llm.generate(prompts, params, use_tqdm=False, lora_request=self.lora_request)
        completions = []
        for request in outputs:
            out = request.outputs[0]
            ids = list(out.token_ids)
            stopped = out.finish_reason != "length"
            tokens = len(ids) - 1 if stopped and ids and ids[-1] in self.stop_ids else len(ids)
            completions.append(Completion(text=out.text, tokens=tokens, finish_reason="stop" if stopped else "length"))
        n = settings.samples
        return [completions[i * n : (i + 1) * n] for i in range(len(batch))]
