"""`rdtui plot`: curves, results with intervals and trace statistics as PNG/SVG/PDF files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from core.cli import main
from core.commands.plot import smooth
from core.store.runstore import RunStore

pytest.importorskip("matplotlib")


def make_run(store: RunStore, condition: str, accuracy: float, think_words: float):
    run = store.create(condition, "local", "local", "snapshot: test\n")
    run.update(status="running")
    run.update(status="succeeded")
    with open(run.metrics_path, "w") as fh:
        for step in range(1, 21):
            fh.write(
                json.dumps(
                    {"t": step, "stage": "grpo", "step": step, "loss": 1.0 / step, "reward": accuracy * step / 20}
                )
                + "\n"
            )
        fh.write(json.dumps({"t": 30, "stage": "eval", "step": 4, "accuracy": accuracy}) + "\n")
    run.eval_dir.mkdir()
    for bench in ("synth_test", "gsm8k_test"):
        summary = {
            "benchmark": bench,
            "n_problems": 32,
            "benchmark_size": 32,
            "complete": True,
            "samples": 4,
            "correct": int(32 * accuracy),
            "accuracy": accuracy,
            "ci95": [accuracy - 0.1, accuracy + 0.1],
            "pass@k": {
                "1": {"value": accuracy, "ci95": [accuracy - 0.1, accuracy + 0.1]},
                "4": {"value": accuracy + 0.05, "ci95": [accuracy - 0.05, accuracy + 0.15]},
            },
            "maj@k": {"1": {"value": accuracy}, "4": {"value": accuracy}},
            "trace": {
                "mean_think_words": think_words,
                "self_verification_per_completion": 0.5,
                "backtracking_per_completion": 0.25,
            },
        }
        (run.eval_dir / f"{bench}.json").write_text(json.dumps(summary))
    return run


@pytest.fixture
def runs(tmp_path):
    store = RunStore(tmp_path / "runs")
    make_run(store, "grpo_only", 0.4, 20.0)
    make_run(store, "sft_traces", 0.6, 80.0)
    return tmp_path / "runs"


def rdtui_plot(runs: Path, *args: str) -> int:
    return main(["--runs-dir", str(runs), "plot", *args])


def test_results_figure_has_each_condition_and_benchmark(runs, tmp_path, capsys):
    out = tmp_path / "fig" / "results.svg"
    assert rdtui_plot(runs, "results", "--out", str(out)) == 0
    svg = out.read_text()
    for text in ("grpo_only", "sft_traces", "synth_test", "gsm8k_test", "95% interval"):
        assert text in svg, text
    assert capsys.readouterr().out.strip() == str(out)


def test_curves_overlay_runs_and_traces_compare_conditions(runs, tmp_path):
    curves = tmp_path / "curves.svg"
    assert rdtui_plot(runs, "curves", "--metric", "reward", "--smooth", "0.9", "--out", str(curves)) == 0
    svg = curves.read_text()
    assert "grpo_only (" in svg and "sft_traces (" in svg and ">GRPO reward<" in svg
    traces = tmp_path / "traces.png"
    assert rdtui_plot(runs, "traces", "--out", str(traces)) == 0
    assert traces.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = tmp_path / "passk.pdf"
    assert rdtui_plot(runs, "results", "--k", "4", "--out", str(pdf)) == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_a_run_keeps_its_colour_in_every_panel_and_one_legend_lists_every_series(runs):
    from core.commands.plot import _pyplot, plot_curves

    plt = _pyplot()
    fig = plot_curves(plt, RunStore(runs), [], ["loss", "grpo:reward"], 0.6)
    assert [ax.get_title() for ax in fig.axes] == ["GRPO loss", "GRPO reward"]  # no SFT was logged
    colours: dict[str, set] = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            if not line.get_label().startswith("_"):  # the smoothed line carries the label
                colours.setdefault(line.get_label(), set()).add(line.get_color())
    assert len(colours) == 2 and all(len(c) == 1 for c in colours.values())  # one colour per run, in both panels
    assert len(set.union(*colours.values())) == 2  # and two runs, two colours
    [legend] = fig.legends
    assert sorted(t.get_text()[:-7] for t in legend.get_texts()) == ["grpo_only", "sft_traces"]
    assert "EMA weight 0.6" in legend.get_title().get_text()
    plt.close(fig)


def test_results_bars_are_labelled_with_their_value_and_titles_with_n(runs, tmp_path):
    out = tmp_path / "results.svg"
    assert rdtui_plot(runs, "results", "--out", str(out)) == 0
    svg = out.read_text()
    assert ">40.0<" in svg and ">60.0<" in svg  # grpo_only 0.4, sft_traces 0.6
    assert "synth_test (n = 32)" in svg


def test_smoothing_starts_at_the_data_and_follows_it():
    assert smooth([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])
    values = smooth([0.0] * 5 + [1.0] * 50, 0.6)
    assert values[0] == 0.0 and values[-1] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    "args, message",
    [
        (["results", "--out", "fig.jpeg"], "the format comes from the suffix"),
        (["curves", "--smooth", "1.5"], "must be in [0, 1)"),
        (["curves", "--metric", "no_such_metric"], "none of the runs logged those metrics"),
        (["curves", "--metric", "dpo:loss"], "the stage before ':' is one of sft, grpo"),
    ],
)
def test_bad_requests_exit_2_and_write_nothing(runs, tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert rdtui_plot(runs, *args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "plots").exists() and not (tmp_path / "fig.jpeg").exists()


def test_without_matplotlib_it_says_which_extra_to_install(runs, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert rdtui_plot(runs, "results", "--out", str(tmp_path / "r.png")) == 2
    assert "pip install 'rdtui[plot]'" in capsys.readouterr().err
