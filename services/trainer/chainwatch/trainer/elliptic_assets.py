"""The Elliptic benchmark as Dagster assets: the data set (when its files are there) and the run.

``elliptic_dataset`` yields nothing when a file is missing, so ``elliptic_benchmark`` is
skipped and the run ends cleanly, its log naming the missing files. The repository's data
dir ships only the classes file; the features and edge list come from Elliptic's public
distribution.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from chainwatch.trainer.elliptic import (
    FITTERS,
    BenchmarkResult,
    EllipticData,
    load,
    missing_files,
    run_benchmark,
)
from chainwatch.trainer.elliptic_report import before_after_shutdown, markdown_table, write_report

GROUP = "elliptic"


class EllipticFolders:
    """Where the Elliptic files are read from and where the report is written."""

    def __init__(self, data_dir: Path, report_dir: Path) -> None:
        self.folder = data_dir / "elliptic"
        self.report_dir = report_dir


class BenchmarkConfig(dg.Config):
    models: list[str] = list(FITTERS)
    seed: int = 7
    threads: int = 1
    """Training threads; more only on a machine not shared with the services."""


@dg.asset(group_name=GROUP, output_required=False, description="The Elliptic data set, if present")
def elliptic_dataset(
    context: dg.AssetExecutionContext, elliptic: dg.ResourceParam[EllipticFolders]
) -> Iterator[dg.Output[EllipticData]]:
    missing = missing_files(elliptic.folder)
    if missing:
        context.log.info(
            "Elliptic benchmark not run: %s missing in %s", ", ".join(missing), elliptic.folder
        )
        return
    data = load(elliptic.folder)
    yield dg.Output(
        data,
        metadata={
            "transactions": len(data.labels),
            "edges": len(data.edges),
            "features": data.x.shape[1],
            "labelled_train": int(data.train_mask.sum()),
            "labelled_test": int(data.test_mask.sum()),
        },
    )


@dg.asset(group_name=GROUP, description="Models on the temporal split, beside the paper's figures")
def elliptic_benchmark(
    context: dg.AssetExecutionContext,
    config: BenchmarkConfig,
    elliptic_dataset: EllipticData,
    elliptic: dg.ResourceParam[EllipticFolders],
) -> BenchmarkResult:
    unknown = sorted(set(config.models) - set(FITTERS))
    if unknown:
        raise dg.Failure(f"unknown models {unknown}; choose from {sorted(FITTERS)}")
    result = run_benchmark(elliptic_dataset, config.models, config.seed, config.threads)
    note = f"{elliptic.folder} ({len(elliptic_dataset.labels)} transactions)"
    paths = write_report(result, elliptic.report_dir, note)
    context.add_output_metadata(
        {
            "table": dg.MetadataValue.md(markdown_table(result)),
            "before_after_shutdown": before_after_shutdown(result),
            "skipped": result.skipped,
            "report": dg.MetadataValue.path(str(paths["markdown"])),
            "plot": dg.MetadataValue.path(str(paths["plot"])),
        }
    )
    return result


ASSETS = [elliptic_dataset, elliptic_benchmark]
