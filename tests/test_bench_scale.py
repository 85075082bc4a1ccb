"""The scale benchmark (bench/scale.py) runs end to end on a tiny data set of its own — the same
data set in the roles of the 1M and the 5M ones, with a real streaming replica of it — and
prints every figure with its target and a verdict; the disk check refuses a load that does not
fit."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import scale
from bench.dataset import load
from bench.dataset_rows import Spec
from core import migrate
from devservers import EmbeddedPostgres, start_postgres

pytestmark = pytest.mark.slow  # two data set roles, three app processes, a replica: minutes here

SPEC = Spec(dossiers=600, seed=5, procedures=40, citizens=300, files=3)


@pytest.fixture(scope="module")
def tiny() -> Iterator[tuple[EmbeddedPostgres, Path]]:
    with tempfile.TemporaryDirectory(prefix="dvc-scale-") as tmp:
        pg = start_postgres(Path(tmp) / "primary")
        try:
            migrate.upgrade(pg.database_url)
            asyncio.run(load(pg.dsn, SPEC, echo=False))
            yield pg, Path(tmp)
        finally:
            pg.stop()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (Debian package) is not installed")
def test_the_scale_benchmark_runs_end_to_end_on_a_tiny_data_set(
    tiny: tuple[EmbeddedPostgres, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pg, tmp = tiny
    scale.run(pg, pg, runs=2, seconds=1, replica_dir=tmp / "standby")
    out = capsys.readouterr().out
    for heading in ("on the 1M data set", "on the 5M data set", "Public lookup", "reading a replica"):
        assert heading in out
    assert out.count("p95 ≤ 100 ms:") == 2 * 9  # every grouping and the index, on both sets
    assert out.count("p95 ≤ 20 ms:") == 2 * 2
    assert "lookup p50 5M/1M" in out
    assert "lookup p99 5M/1M" in out
    assert "target ≥ 1.0×" in out
    replica_line = next(line for line in out.splitlines() if line.startswith("transactions on the replica"))
    assert int(replica_line.rsplit(" ", 1)[1].replace(",", "")) > 0  # the reads landed on it
    assert not (tmp / "standby").exists()  # the replica is removed afterwards


def test_the_disk_check_refuses_a_data_set_that_does_not_fit(tmp_path: Path) -> None:
    free = scale.free_bytes(tmp_path)
    with pytest.raises(SystemExit, match="not enough disk"):
        scale.check_dataset_disk(tmp_path / "huge", free // scale.BYTES_PER_DOSSIER + 1)
    scale.check_dataset_disk(tmp_path / "small", 10)  # fits: no refusal
