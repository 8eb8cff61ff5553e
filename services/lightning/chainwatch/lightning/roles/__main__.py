"""``python -m chainwatch.lightning.roles [SNAPSHOT ...]``: compare the role models.

Prints, for each snapshot, the cross-validated ROC AUC and average precision of every
model, and how often the GCN beats the logistic baseline fold by fold.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from chainwatch.lightning.analysis import AnalysisOptions, analyse
from chainwatch.lightning.loaders import load_snapshot
from chainwatch.lightning.roles.evaluate import cross_validate
from chainwatch.lightning.roles.features import role_data


def main() -> None:
    parser = argparse.ArgumentParser(description="Node-role models, cross-validated")
    parser.add_argument("snapshots", nargs="+", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    for path in args.snapshots:
        graph = load_snapshot(path)
        data = role_data(graph, analyse(graph, AnalysisOptions(reachability_worlds=1)))
        scores, per_fold = cross_validate(data, args.folds, tuple(range(args.seeds)))
        positives = int(data.y.sum())
        lines = [
            f"\n{graph.name}: {len(data.y)} nodes, {positives} with a named role "
            f"(average precision by chance {positives / len(data.y):.3f})",
            "| model | ROC AUC | average precision | folds |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| {s.model} | {s.roc_auc_mean:.3f} ± {s.roc_auc_std:.3f} | "
            f"{s.average_precision_mean:.3f} ± {s.average_precision_std:.3f} | {s.folds} |"
            for s in scores
        ]
        if "gcn" in per_fold:
            pairs = list(zip(per_fold["gcn"], per_fold["logistic"], strict=True))
            for metric, i in (("ROC AUC", 0), ("average precision", 1)):
                wins = sum(g[i] > b[i] for g, b in pairs)
                lines.append(f"gcn beats logistic on {metric} in {wins} of {len(pairs)} folds")
        else:
            lines.append("gcn skipped: PyTorch is not installed (the gcn extra)")
        sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
