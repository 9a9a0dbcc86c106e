"""The command line as a user meets it: ls, logs -f, version, start-up imports."""

from __future__ import annotations

import json
import subprocess
import sys

from core.store.runstore import RunStore
from tests.conftest import REPO, rdtui

HEAVY = ("torch", "transformers", "datasets", "trl", "peft", "vllm", "modal")


def test_version():
    proc = rdtui("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("rdtui ")


def test_ls_lists_runs_as_a_table_and_json(runs_dir):
    store = RunStore(runs_dir)
    a = store.create("baseline", "local", "local", "")
    b = store.create("grpo_only", "local", "local", "")
    b.update(status="running", progress={"stage": "grpo", "step": 12, "total": 60, "eta_s": 95})
    proc = rdtui("--runs-dir", str(runs_dir), "ls")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "CONDITION", "PROFILE", "STATUS"]
    row = next(line for line in lines if line.startswith(b.id))
    assert "running" in row and "12/60" in row and "1m35s" in row
    assert any(line.startswith(a.id) and "queued" in line for line in lines)
    data = json.loads(rdtui("--runs-dir", str(runs_dir), "ls", "--json").stdout)
    assert {r["id"] for r in data} == {a.id, b.id}
    proc = rdtui("ls", env={"RDTUI_RUNS": str(runs_dir)}, cwd=runs_dir)
    assert a.id in proc.stdout


def test_ls_on_an_empty_store(tmp_path):
    proc = rdtui("--runs-dir", str(tmp_path / "none"), "ls")
    assert proc.returncode == 0 and "no runs" in proc.stdout


def test_logs_prints_and_follows_a_growing_log(runs_dir):
    run = RunStore(runs_dir).create("baseline", "local", "local", "")
    run.update(status="running")
    run.log_path.write_text("line 1\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "--runs-dir", str(runs_dir), "logs", run.id, "-f"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline() == "line 1\n"
        with open(run.log_path, "a") as fh:
            fh.write("line 2\n")
        assert proc.stdout.readline() == "line 2\n"
        with open(run.log_path, "a") as fh:
            fh.write("last line\n")
        run.update(status="succeeded")
        out, _ = proc.communicate(timeout=120)
        assert out == "last line\n" and proc.returncode == 0
    finally:
        proc.kill()


def test_logs_tail_lines_and_invalid_utf8(runs_dir):
    run = RunStore(runs_dir).create("baseline", "local", "local", "")
    run.log_path.write_bytes(b"".join(b"line %d\n" % i for i in range(1000)) + b"bad \xff byte\n")
    proc = rdtui("--runs-dir", str(runs_dir), "logs", run.id, "-n", "2")
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == ["line 999", "bad \ufffd byte"]


def test_unknown_run_is_one_line(runs_dir):
    proc = rdtui("--runs-dir", str(runs_dir), "logs", "nope")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "not found" in proc.stderr
    proc = rdtui("--runs-dir", str(runs_dir), "logs", "../x")
    assert proc.returncode == 2 and "invalid run id" in proc.stderr


def test_command_line_start_up_imports_nothing_heavy(runs_dir):
    RunStore(runs_dir).create("baseline", "local", "local", "")
    code = (
        "import sys, io, contextlib\n"
        "from core.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['--runs-dir', {str(runs_dir)!r}, 'ls'])\n"
        "    main(['config', 'show', 'baseline'])\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_bare_rdtui_without_a_terminal_prints_help():
    proc = rdtui()
    assert proc.returncode == 0 and "usage: rdtui" in proc.stdout
