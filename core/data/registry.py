"""The dataset registry: the config's `datasets` section -> formatted rows and trainer-ready datasets.

A DatasetSpec is a hub dataset (`hub`, `config`, `split`), a local JSONL/Parquet file (`path`) or a
seeded synthetic stand-in (`synthetic`). Every failure to get rows is an RdtuiError naming the
config key to fix, raised before any training starts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.data import synthetic
from core.data.formatters import FORMATTERS, FormattedRow, MissingColumn
from core.data.mapped import mapped_formatter
from core.errors import RdtuiError

if TYPE_CHECKING:
    from core.config.schema import DatasetSpec

PURPOSES = ("sft", "grpo", "eval")
DEFAULT_SYNTHETIC_SIZE = 256


def dataset_spec(datasets: dict[str, DatasetSpec], name: str) -> DatasetSpec:
    """The config's `datasets.<name>`, or one line naming the ones it defines."""
    spec = datasets.get(name)
    if spec is None:
        known = ", ".join(sorted(datasets)) or "none"
        raise RdtuiError(f"datasets.{name}: no such dataset in the config (defined: {known})")
    return spec


def _local_records(path: Path, name: str) -> Iterator[dict[str, Any]]:
    if not path.exists():
        raise RdtuiError(f"datasets.{name}.path: file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises its own types for a damaged or foreign file
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise RdtuiError(f"datasets.{name}.path: {path}: not a readable Parquet file ({reason})") from None
        yield from table.to_pylist()
        return
    if suffix not in (".jsonl", ".json"):
        raise RdtuiError(f"datasets.{name}.path: {path}: expected a .jsonl, .json or .parquet file")
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise RdtuiError(f"{path}:{lineno}: not UTF-8 text") from None
            except json.JSONDecodeError as exc:
                raise RdtuiError(f"{path}:{lineno}: not a JSON object ({exc.msg})") from None
            except RecursionError:
                raise RdtuiError(f"{path}:{lineno}: JSON nested too deeply") from None
            if not isinstance(record, dict):
                raise RdtuiError(f"{path}:{lineno}: expected a JSON object per line")
            yield record


def _hub_error(spec, name: str, exc: BaseException) -> RdtuiError:
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return RdtuiError(
        f"datasets.{name}: cannot load {spec.hub!r} from the Hugging Face hub ({reason}); "
        f"to use a local copy, set datasets.{name}.path to a JSONL or Parquet file"
    )


def _hub_records(spec, name: str) -> Iterator[dict[str, Any]]:
    import datasets

    # With a limit, stream: the study uses the first rows only, so never fetch a whole 200k-row set.
    streaming = spec.limit is not None
    try:
        yield from datasets.load_dataset(
            spec.hub, spec.config, split=spec.split, streaming=streaming, revision=spec.revision
        )
    except Exception as exc:  # datasets raises many types (connection, not found, offline mode, ...)
        raise _hub_error(spec, name, exc) from None


def _synthetic_records(spec, name: str) -> list[dict[str, Any]]:
    """Rows the synthetic teacher writes in the schema of the dataset's formatter."""
    if spec.formatter not in synthetic.SCHEMAS:
        raise RdtuiError(
            f"datasets.{name}.formatter: a synthetic dataset is written in the schema of one of "
            f"{', '.join(synthetic.SCHEMAS)}"
        )
    return synthetic.records(
        spec.formatter,
        spec.size or DEFAULT_SYNTHETIC_SIZE,
        spec.seed,
        split=spec.split,
        slip_rate=spec.wrong_step_rate,
        task=spec.synthetic,
    )


def _format(
    records: Iterable[dict[str, Any]], spec, name: str, source: str, dropped: list[int]
) -> Iterator[FormattedRow]:
    """Formatted rows; `dropped[0]` counts the rows the formatter refused (no final answer, no
    complete verified generation)."""
    if spec.formatter is None:
        raise RdtuiError(
            f"datasets.{name}.formatter: required for a hub or local dataset (one of {', '.join(FORMATTERS)})"
        )
    formatter = mapped_formatter(spec) or FORMATTERS[spec.formatter]
    kwargs = {"verified_only": spec.filter == "math_verified"} if spec.formatter == "openr1" else {}
    if spec.filter == "math_verified" and spec.formatter != "openr1":
        raise RdtuiError(f"datasets.{name}.filter: math_verified needs the openr1 formatter")
    for index, record in enumerate(records):
        try:
            row = formatter(record, **kwargs)
        except MissingColumn as exc:
            raise RdtuiError(
                f"datasets.{name}: row {index} of {source} has no {exc.column!r} column, which the "
                f"{spec.formatter} formatter needs (columns: {', '.join(exc.present)})"
            ) from None
        except (TypeError, ValueError) as exc:
            raise RdtuiError(f"datasets.{name}: row {index} of {source}: {exc}") from None
        if row is None:
            dropped[0] += 1
        else:
            yield row


def load_dataset_rows(spec, purpose: str, *, name: str = "dataset") -> list[FormattedRow]:
    """Formatted rows (prompt messages, completion, gold answer) of one DatasetSpec.

    `purpose` is "sft", "grpo" or "eval"; SFT keeps only rows with a completion to learn.
    `name` is the spec's key under `datasets`, used in error messages.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, not {purpose!r}")
    dropped = [0]
    if spec.synthetic is not None:
        rows: Iterable[FormattedRow] = _format(
            _synthetic_records(spec, name), spec, name, f"synthetic {spec.synthetic}", dropped
        )
    elif spec.path is not None:
        path = Path(spec.path)
        rows = _format(_local_records(path, name), spec, name, str(path), dropped)
    elif spec.hub is not None:
        rows = _format(_hub_records(spec, name), spec, name, spec.hub, dropped)
    else:
        raise RdtuiError(f"datasets.{name}: set one of hub, path or synthetic")
    out: list[FormattedRow] = []
    for row in rows:
        if purpose == "sft" and not row.completion.strip():
            continue
        out.append(row)
        if spec.limit is not None and len(out) >= spec.limit:
            break
    if dropped[0]:
        print(
            f"[rdtui] datasets.{name}: {dropped[0]} rows dropped by the {spec.formatter} formatter "
            f"(no final answer, or no complete verified generation); {len(out)} kept",
            flush=True,
        )
    if not out:
        raise RdtuiError(f"datasets.{name}: no usable rows for {purpose}")
    return out


def build_sft_dataset(datasets: dict[str, DatasetSpec], name: str, *, enable_thinking: bool):
    """A TRL prompt-completion dataset in chat form for SFT on `datasets[name]`; `enable_thinking` goes to
    the chat template with every row (model.enable_thinking)."""
    from datasets import Dataset

    rows = load_dataset_rows(dataset_spec(datasets, name), "sft", name=name)
    template_kwargs = {"enable_thinking": enable_thinking}
    return Dataset.from_list(
        [
            {
                "prompt": row.prompt,
                "completion": [{"role": "assistant", "content": row.completion}],
                "chat_template_kwargs": template_kwargs,
            }
            for row in rows
        ]
    )


def build_grpo_dataset(datasets: dict[str, DatasetSpec], name: str):
    """Prompts (chat form) of `datasets[name]` with their gold `answer`, which TRL hands to the reward functions."""
    from datasets import Dataset

    rows = load_dataset_rows(dataset_spec(datasets, name), "grpo", name=name)
    return Dataset.from_list([{"prompt": row.prompt, "answer": row.answer} for row in rows])
