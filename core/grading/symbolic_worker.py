"""Math-Verify in a child process, driven by core.grading.symbolic.

Reads one JSON request per stdin line ({"gold": ..., "pred": ...}) and writes one JSON reply per
stdout line ({"equal": bool}). It prints {"ready": true} once math_verify has been imported, so the
parent's per-comparison deadline never includes the import. The parent kills this process when a
comparison runs past its deadline; the signal-based timeouts inside math_verify are only a first
line of defence (they work here because this is a main thread). This file imports nothing from
the project, so it runs as a plain script.
"""

import json
import sys


def main() -> None:
    from math_verify import parse, verify

    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            gold = parse(f"${request['gold']}$", parsing_timeout=2)
            pred = parse(f"${request['pred']}$", parsing_timeout=2)
            equal = bool(gold) and bool(pred) and verify(gold, pred, timeout_seconds=2)
            reply = {"equal": bool(equal)}
        except Exception as exc:  # math_verify raises anything sympy raises; the verdict is "not equal"
            reply = {"equal": False, "error": type(exc).__name__}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
