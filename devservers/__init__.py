"""Servers the service runs itself for development, tests and one-box installs.

The service must run with nothing installed but its Python packages, so when no external
`DATABASE_URL` / `S3_ENDPOINT` / `CLAMD_SOCKET` is configured it starts its own servers under a
data folder, all private to this machine:

* `postgres`: PostgreSQL through pgserver, on a Unix socket only;
* `s3`: SeaweedFS `weed server` with its S3 API, bound to 127.0.0.1;
* `clamd`: the distribution's ClamAV daemon, on a Unix socket only;
* `embedded`: PostgreSQL and S3 together under one folder (`EmbeddedServices`);
* `process`: the one process helper behind them (start with a log, wait until ready, stop with
  SIGTERM then SIGKILL, stop at exit, kill what a killed starter left, free ports).

Only `core.environment`, the CLI, tests and benchmarks use this package; business rules and
storage do not (see the import-linter contracts in pyproject.toml).
"""

from devservers.clamd import EmbeddedClamd, clamd_binary, start_clamd
from devservers.embedded import EmbeddedServices
from devservers.postgres import EmbeddedPostgres, EmbeddedReplica, start_postgres, start_replica
from devservers.process import find_free_port
from devservers.s3 import EmbeddedS3, start_s3, weed_command

__all__ = [
    "EmbeddedClamd",
    "EmbeddedPostgres",
    "EmbeddedReplica",
    "EmbeddedS3",
    "EmbeddedServices",
    "clamd_binary",
    "find_free_port",
    "start_clamd",
    "start_postgres",
    "start_replica",
    "start_s3",
    "weed_command",
]
