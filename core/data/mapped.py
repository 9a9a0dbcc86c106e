"""Any dataset by config: formatters driven by the dataset's entry instead of code.

    formatter: columns            a column per part: question (or prompt), trace, answer, gold
    formatter: messages           TRL's conversational format: a `messages` list of {role, content}
    formatter: prompt_completion  TRL's `prompt` / `completion` columns (text or messages)

`columns` renames the parts (`{question: problem, trace: generation, gold: answer}`), `where`
keeps rows whose columns hold the given value (or one of a list: `{source: [amc_aime, aops_forum]}`).
Rows the gold answer cannot be found for are dropped and counted. `instruction` appends the boxed-
answer instruction to the last user message (default: on for `columns`, off for TRL's formats,
which carry their own prompts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, overload

from core.grading.markers import THINK_CLOSE, THINK_OPEN

if TYPE_CHECKING:
    from core.data.formatters import FormattedRow

# core.data.formatters (and the grader it imports) loads only when rows are formatted: config
# checking imports this module for `spec_issues` on every resolve.

MAPPED_FORMATTERS = ("columns", "messages", "prompt_completion")
# The parts a `columns` entry may name, per formatter, and the column each defaults to.
PARTS: dict[str, dict[str, str | None]] = {
    "columns": {"question": None, "prompt": None, "system": None, "trace": None, "answer": None, "gold": None},
    "messages": {"messages": "messages", "system": None, "gold": None},
    "prompt_completion": {"prompt": "prompt", "completion": "completion", "gold": None},
}


def spec_issues(spec) -> Iterator[tuple[tuple[str, ...], str]]:
    """(sub-path, message) for a dataset entry whose mapping cannot work (config-check time)."""
    from core.config.layers import did_you_mean

    formatter = getattr(spec, "formatter", None)
    columns, where = getattr(spec, "columns", None), getattr(spec, "where", None)
    if formatter not in MAPPED_FORMATTERS:
        for key, value in (("columns", columns), ("where", where)):
            if value:
                yield (key,), f"only for formatter {', '.join(MAPPED_FORMATTERS)} (formatter is {formatter!r})"
        return
    parts = PARTS[formatter]
    for part in columns or {}:
        if part not in parts:
            yield (
                ("columns", str(part)),
                (f"not a part of the {formatter} formatter{did_you_mean(str(part), parts)}; parts: {', '.join(parts)}"),
            )
    if formatter == "columns" and not {"question", "prompt"} & set(columns or {}):
        yield ("columns",), "the columns formatter needs columns.question (the problem's column)"
    if formatter == "columns" and (columns or {}).keys() >= {"question", "prompt"}:
        yield ("columns",), "name one of question or prompt, not both"


def _matches(record: dict[str, Any], where: dict[str, Any]) -> bool:
    from core.data.formatters import MissingColumn

    for column, wanted in where.items():
        if column not in record:
            raise MissingColumn(column, sorted(record))
        value = record[column]
        if isinstance(wanted, list) and not isinstance(value, list):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


@overload
def _text(record: dict[str, Any], column: str, *, required: Literal[True] = True) -> str: ...
@overload
def _text(record: dict[str, Any], column: str, *, required: bool) -> str | None: ...
def _text(record: dict[str, Any], column: str, *, required: bool = True) -> str | None:
    from core.data.formatters import MissingColumn

    if column not in record or record[column] is None:
        if required:
            raise MissingColumn(column, sorted(record))
        return None
    return str(record[column])


def gold_of(value: Any) -> str:
    """A gold answer from a column value: the last \\boxed{} in it, the part after `####`, or the value."""
    from core.data.formatters import last_boxed

    text = str(value).strip()
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    if "####" in text:
        return text.rpartition("####")[2].strip().replace(",", "")
    return text


def _message_text(value: Any) -> str:
    """A completion given as text or as chat messages (the last message's content)."""
    if isinstance(value, list):
        return str(value[-1].get("content", "")) if value and isinstance(value[-1], dict) else ""
    return "" if value is None else str(value)


# ShareGPT-style turns (OpenThoughts, Bespoke-Stratos: `conversations` of {from, value}).
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


def _as_messages(value: Any) -> list[dict[str, str]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise ValueError(f"expected text or a list of chat messages, got {type(value).__name__}")
    messages = []
    for m in value:
        if "role" in m:
            messages.append({"role": str(m["role"]), "content": str(m.get("content") or "")})
        elif "from" in m:
            messages.append(
                {"role": _SHAREGPT_ROLES.get(str(m["from"]), str(m["from"])), "content": str(m.get("value") or "")}
            )
        else:
            raise ValueError(f"a chat message needs role/content or from/value keys, got {sorted(m)}")
    return messages


def _with_instruction(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    from core.data.formatters import INSTRUCTION

    out = [dict(m) for m in messages]
    for message in reversed(out):
        if message["role"] == "user":
            message["content"] = f"{message['content'].strip()}\n{INSTRUCTION}"
            break
    return out


def _finish(prompt: list[dict[str, str]], completion: str, gold: str | None, instruction: bool) -> FormattedRow | None:
    from core.data.formatters import FormattedRow, last_boxed

    if THINK_CLOSE in completion and not completion.lstrip().startswith(THINK_OPEN):
        # Traces stored without their opening tag (R1 generations): the study's completions open it.
        completion = THINK_OPEN + "\n" + completion.lstrip()
    gold = gold if gold is not None else last_boxed(completion)
    if gold is None or not gold.strip():
        return None  # nothing to grade against: dropped and counted
    return FormattedRow(_with_instruction(prompt) if instruction else prompt, completion, gold.strip())


def _columns_row(record: dict[str, Any], parts: dict[str, str], instruction: bool) -> FormattedRow | None:
    from core.data.formatters import answer_sentence, last_boxed, think_block

    question = _text(record, parts.get("question") or parts["prompt"])
    prompt = [{"role": "user", "content": question.strip()}]
    if parts.get("system"):
        prompt.insert(0, {"role": "system", "content": _text(record, parts["system"])})
    trace = _text(record, parts["trace"]) if parts.get("trace") else None
    answer = _text(record, parts["answer"]) if parts.get("answer") else None
    gold = gold_of(_text(record, parts["gold"])) if parts.get("gold") else None
    if gold is None:
        gold = last_boxed(answer or "") or last_boxed(trace or "")
    if gold is None:
        return None
    completion = think_block(trace) if trace is not None else ""
    if answer is not None:
        answer = answer.strip()
        # The grader reads the final \boxed{}: a solution without one ends with the gold answer boxed.
        completion += answer if last_boxed(answer) is not None else f"{answer}\n{answer_sentence(gold)}"
    elif trace is not None:
        completion += answer_sentence(gold)
    return _finish(prompt, completion, gold, instruction)


def _messages_row(record: dict[str, Any], parts: dict[str, str], instruction: bool) -> FormattedRow | None:
    from core.data.formatters import MissingColumn

    column = parts.get("messages") or "messages"
    if column not in record:
        raise MissingColumn(column, sorted(record))
    messages = _as_messages(record[column])
    if parts.get("system") and record.get(parts["system"]):
        messages.insert(0, {"role": "system", "content": str(record[parts["system"]])})
    if messages and messages[-1]["role"] == "assistant":
        prompt, completion = messages[:-1], messages[-1]["content"]
    else:
        prompt, completion = messages, ""
    gold = gold_of(_text(record, parts["gold"])) if parts.get("gold") else None
    return _finish(prompt, completion, gold, instruction)


def _prompt_completion_row(record: dict[str, Any], parts: dict[str, str], instruction: bool) -> FormattedRow | None:
    from core.data.formatters import MissingColumn

    prompt_column = parts.get("prompt") or "prompt"
    if prompt_column not in record:
        raise MissingColumn(prompt_column, sorted(record))
    completion_column = parts.get("completion") or "completion"
    completion = _message_text(record.get(completion_column))
    gold = gold_of(_text(record, parts["gold"])) if parts.get("gold") else None
    return _finish(_as_messages(record[prompt_column]), completion, gold, instruction)


_BUILDERS = {"columns": _columns_row, "messages": _messages_row, "prompt_completion": _prompt_completion_row}


def mapped_formatter(spec) -> Callable[[dict[str, Any]], FormattedRow | None] | None:
    """The formatter a dataset entry describes, or None when it names a coded formatter."""
    formatter = getattr(spec, "formatter", None)
    if formatter not in MAPPED_FORMATTERS:
        return None
    parts = {part: column for part, column in PARTS[formatter].items() if column}
    parts.update(spec.columns or {})
    where = dict(spec.where or {})
    instruction = spec.instruction if spec.instruction is not None else formatter == "columns"
    build = _BUILDERS[formatter]

    def format_row(record: dict[str, Any]) -> FormattedRow | None:
        if where and not _matches(record, where):
            return None
        return build(record, parts, instruction)

    return format_row
