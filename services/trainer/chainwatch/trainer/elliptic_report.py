"""The Elliptic benchmark's report: a table beside the published figures, and the F1 plot.

``write_report`` writes three files into a folder: ``elliptic_benchmark.json`` (every
figure), ``elliptic_benchmark.md`` (the table, ours beside Weber et al. 2019's) and
``elliptic_f1_per_step.png`` (illicit F1 per test time step, with the number of illicit
transactions per step, and the dark-market shutdown at step 43 marked).
"""

from __future__ import annotations

import json
from pathlib import Path

from chainwatch.trainer.elliptic import (
    DARK_MARKET_SHUTDOWN_STEP,
    PUBLISHED,
    BenchmarkResult,
    as_dict,
)

JSON_FILE = "elliptic_benchmark.json"
MARKDOWN_FILE = "elliptic_benchmark.md"
PLOT_FILE = "elliptic_f1_per_step.png"


def markdown_table(result: BenchmarkResult) -> str:
    """Illicit precision / recall / F1 per model, ours and (where published) the paper's."""
    lines = [
        "| model | precision | recall | F1 | micro F1 | published P / R / F1 | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result.results:
        paper = PUBLISHED.get(r.model)
        published = (
            f"{paper['precision']:.3f} / {paper['recall']:.3f} / {paper['f1']:.3f}"
            if paper
            else "—"
        )
        lines.append(
            f"| {r.model} | {r.precision:.3f} | {r.recall:.3f} | {r.f1:.3f} | {r.micro_f1:.3f} "
            f"| {published} | {r.train_s:.1f} |"
        )
    for model, reason in result.skipped.items():
        paper = PUBLISHED.get(model)
        published = (
            f"{paper['precision']:.3f} / {paper['recall']:.3f} / {paper['f1']:.3f}"
            if paper
            else "—"
        )
        lines.append(f"| {model} | skipped: {reason} | | | | {published} | |")
    return "\n".join(lines)


def before_after_shutdown(result: BenchmarkResult) -> dict[str, dict[str, float | None]]:
    """Mean F1 per model over the test steps before the shutdown and from it on."""
    summary = {}
    for r in result.results:
        before = [
            f for s, f in r.per_step_f1.items() if s < DARK_MARKET_SHUTDOWN_STEP and f is not None
        ]
        after = [
            f for s, f in r.per_step_f1.items() if s >= DARK_MARKET_SHUTDOWN_STEP and f is not None
        ]
        summary[r.model] = {
            "mean_f1_before_43": sum(before) / len(before) if before else None,
            "mean_f1_from_43": sum(after) / len(after) if after else None,
        }
    return summary


def write_report(result: BenchmarkResult, folder: Path, data_note: str) -> dict[str, Path]:
    """Write the JSON, the Markdown table and the PNG plot; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": folder / JSON_FILE,
        "markdown": folder / MARKDOWN_FILE,
        "plot": folder / PLOT_FILE,
    }
    shutdown = before_after_shutdown(result)

    content = as_dict(result) | {"data": data_note, "before_after_shutdown": shutdown}
    paths["json"].write_text(json.dumps(content, indent=2, default=str))
    paths["markdown"].write_text(
        "# Elliptic benchmark: illicit class, temporal split (train 1-34, test 35-49)\n\n"
        f"Data: {data_note}\n\n{markdown_table(result)}\n\n"
        "Mean F1 per model before the dark-market shutdown (steps 35-42) and from it on "
        f"(43-49): {json.dumps(shutdown)}\n\n![F1 per time step]({PLOT_FILE})\n"
    )
    plot_f1_per_step(result, paths["plot"])
    return paths


def plot_f1_per_step(result: BenchmarkResult, path: Path) -> None:
    """Illicit F1 of each model per test step over a bar chart of illicit counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, counts_axis = plt.subplots(figsize=(9, 4.5), dpi=100)
    steps = sorted(result.illicit_per_step)
    counts_axis.bar(steps, [result.illicit_per_step[s] for s in steps], color="#dddddd")
    counts_axis.set_xlabel("time step")
    counts_axis.set_ylabel("illicit transactions (bars)")
    f1_axis = counts_axis.twinx()
    for r in result.results:
        ys = [r.per_step_f1.get(s) for s in steps]
        f1_axis.plot(
            steps, [y if y is not None else float("nan") for y in ys], marker="o", label=r.model
        )
    f1_axis.axvline(DARK_MARKET_SHUTDOWN_STEP, color="black", linestyle="--", linewidth=1)
    f1_axis.text(DARK_MARKET_SHUTDOWN_STEP + 0.2, 1.02, "dark market shutdown", fontsize=8)
    f1_axis.set_ylim(0, 1.08)
    f1_axis.set_ylabel("illicit F1 (lines)")
    f1_axis.legend(loc="lower left", fontsize=8)
    counts_axis.set_title("Elliptic: illicit F1 per test time step (trained on steps 1-34)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
