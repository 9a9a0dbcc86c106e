"""Math-Verify in a child process, driven by core.grading.symbolic.

Reads one JSON request per stdin line and writes one JSON reply per stdout line:
- {"mode": "answer", "gold": ..., "pred": ...}: two answers (already extracted and cleaned), each read
  as one math expression -> {"equal": bool};
- {"mode": "completion", "gold": ..., "pred": ...}: a whole completion, its answer found by
  Math-Verify's own extraction -> {"equal": bool, "extracted": str | null}.
It prints {"ready": true} once math_verify is imported and a few comparisons have run (sympy's
first calls are far slower than later ones), so the parent's budget never includes start-up.
Math-Verify's own wall-clock timeouts are off: the parent enforces a CPU-time budget and kills this
process past it, which makes verdicts independent of machine load. This file imports nothing from
the project, so it runs as a plain script.
"""

import json
import sys

_WARM_UP = [
    ("\\frac{1}{2}", "0.5"),
    ("\\sin 2x", "2\\sin x\\cos x"),
    ("(1, 2]", "(1,2]"),
    ("\\{1, 2\\}", "\\{2, 1\\}"),
    ("x^2 - 1", "(x-1)(x+1)"),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "(1, 2)"),
    ("\\sqrt{2}/2", "1/\\sqrt{2}"),
]


def main() -> None:
    import logging

    logging.disable(logging.WARNING)  # math_verify warns that its timeouts are off: the parent's budget rules
    from math_verify import parse, verify

    def answers_equal(gold_text: str, pred_text: str) -> bool:
        gold = parse(f"${gold_text}$", parsing_timeout=None)
        pred = parse(f"${pred_text}$", parsing_timeout=None)
        return bool(gold) and bool(pred) and bool(verify(gold, pred, timeout_seconds=None))

    for gold, pred in _WARM_UP:
        answers_equal(gold, pred)
    parse("So the answer is $\\boxed{3}$.", parsing_timeout=None)

    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            if request.get("mode") == "completion":
                gold = parse(f"${request['gold']}$", parsing_timeout=None)
                pred = parse(request["pred"], parsing_timeout=None)
                equal = bool(gold) and bool(pred) and verify(gold, pred, timeout_seconds=None)
                reply = {"equal": bool(equal), "extracted": str(pred[-1]) if pred else None}
            else:
                reply = {"equal": answers_equal(request["gold"], request["pred"])}
        except Exception as exc:  # math_verify raises anything sympy raises; the verdict is "not equal"
            reply = {"equal": False, "error": type(exc).__name__}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
