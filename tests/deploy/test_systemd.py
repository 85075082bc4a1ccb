"""deploy/systemd/: every unit passes `systemd-analyze verify` (unknown keys, bad values, missing
executables and dependencies are reported). The units name /opt/dvc (the installation) and
/etc/dvc/dvc.env; the test verifies copies with this checkout in their place, so that the
executables they start exist. Nothing else in them is changed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
ANALYZE = Path("/usr/bin/systemd-analyze")


def _copies(folder: Path) -> list[Path]:
    env = folder / "dvc.env"
    env.write_text((ROOT / "deploy" / "dvc.env.example").read_text())
    copies = []
    for unit in sorted(UNITS.iterdir()):
        text = unit.read_text()
        assert "/opt/dvc/" in text or unit.suffix in {".timer", ".target"}, unit.name
        text = text.replace("/opt/dvc", str(ROOT)).replace("/etc/dvc/dvc.env", str(env))
        copy = folder / unit.name
        copy.write_text(text)
        copies.append(copy)
    return copies


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    if not ANALYZE.exists():
        pytest.fail(f"{ANALYZE} is missing (Debian: apt-get install systemd)")
    copies = _copies(tmp_path)
    names = {c.name for c in copies}
    assert {
        "dvc@.service",
        "dvc-migrate.service",
        "dvc.target",
        "dvc-jobs.timer",
        "dvc-backup.timer",
    } <= names
    # A template is verified through instances: the two ports of deploy/nginx/dvc.conf.
    targets = [str(tmp_path / n) for n in sorted(names - {"dvc@.service"})]
    targets += [str(tmp_path / "dvc@8001.service"), str(tmp_path / "dvc@8002.service")]
    result = subprocess.run(
        [str(ANALYZE), "verify", "--man=no", *targets],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # warnings (an unknown key…) count as failures


def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key and a missing executable are reported."""
    copies = {c.name: c for c in _copies(tmp_path)}
    unit = copies["dvc-jobs.service"]
    text = unit.read_text().replace("NoNewPrivileges=", "NoNewPrivilege=")
    unit.write_text(re.sub(r"ExecStart=\S+", "ExecStart=/nonexistent/dvc", text, count=1))
    result = subprocess.run(
        [str(ANALYZE), "verify", "--man=no", str(unit)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "NoNewPrivilege" in result.stderr
    assert "/nonexistent/dvc" in result.stderr
    assert result.returncode != 0


def test_timers_start_the_service_of_their_name() -> None:
    for timer in UNITS.glob("*.timer"):
        service = UNITS / f"{timer.stem}.service"
        assert service.exists(), timer.name
        assert "Type=oneshot" in service.read_text()
    instance = (UNITS / "dvc@.service").read_text()
    assert "ExecStart=/opt/dvc/.venv/bin/dvc serve --host 127.0.0.1 --port %i" in instance
    assert "EnvironmentFile=/etc/dvc/dvc.env" in instance
    for option in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes"):
        assert option in instance
