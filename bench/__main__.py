"""`make bench` / `python -m bench`: run every benchmark and print its figures.

`python -m bench` runs them all (the data set is loaded into var/bench on first use, about ten
minutes for a million dossiers); `python -m bench lookup inbox` runs the ones named. Each is
also a module of its own: `python -m bench.lookup`, `bench.catalog`, `bench.inbox`,
`bench.submission`, `bench.scaleout`, `bench.livestatus`, `bench.statistics`, `bench.uploads`,
`bench.soak` (memory under a long run of every public query), `bench.scale` (the 1M and 5M
data sets side by side: statistics, the index, lookups, a replica; it needs about 30 GB of disk
for the 5M set and checks the space first), and `bench.dataset` loads the
data set alone.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from bench import catalog, inbox, livestatus, lookup, scale, scaleout, soak, statistics, submission, uploads
from bench.servers import dataset

ON_DATASET = {
    "lookup": lookup,
    "catalog": catalog,
    "inbox": inbox,
    "submission": submission,
    "scaleout": scaleout,
    "livestatus": livestatus,
}
ALL = [
    "lookup", "catalog", "inbox", "submission", "scaleout", "livestatus", "statistics", "uploads", "soak", "scale",
]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    wanted = (argv if argv is not None else sys.argv[1:]) or ALL
    unknown = set(wanted) - set(ALL)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: {', '.join(ALL)}")
    on_dataset = [name for name in wanted if name in ON_DATASET]
    if on_dataset:
        with dataset() as pg, tempfile.TemporaryDirectory(prefix="dvc-bench-") as logs:
            for name in on_dataset:
                module = ON_DATASET[name]
                module.report(module.measure(pg, Path(logs)))
    if "statistics" in wanted:
        statistics.main()
    if "uploads" in wanted:
        asyncio.run(uploads.main())
    if "soak" in wanted:
        soak.main([])
    if "scale" in wanted:
        scale.main([])


if __name__ == "__main__":
    main()
