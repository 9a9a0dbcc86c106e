"""Run a Python module or script so that it dies with the process that started it (Linux):

    python -m core.training.tethered -m accelerate.commands.launch ARGS...
    python -m core.training.tethered path/to/script.py ARGS...     (or -c CODE ARGS...)

torchrun puts each rank in a session of its own, so a `kill -9` of a run's process group would leave
the launcher's ranks (or a vLLM server) training on, writing into a run that reads as lost.
Tethered, the kernel sends them SIGTERM when their parent dies.
"""

from __future__ import annotations

import runpy
import sys

from core.training.distributed import die_with_parent


def main(argv: list[str]) -> None:
    die_with_parent()
    if argv[:1] == ["-m"]:
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv[:1] == ["-c"]:
        sys.argv = ["-c", *argv[2:]]
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
    else:
        sys.argv = list(argv)
        runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
