"""`dvc reconcile-portal` against the local portal, and the settings that configure the feed."""

from __future__ import annotations

import os
import subprocess

import pytest
from pydantic import ValidationError

from core.settings import Settings
from tests.national_portal.portal import CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, Portal
from tests.test_cli import DVC, ROOT, cli_env, dvc

__all__ = ["cli_env"]  # the fixture, shared with the other command-line tests


def test_the_feed_needs_all_its_settings() -> None:
    with pytest.raises(ValidationError, match="NATIONAL_PORTAL_URL needs"):
        Settings(national_portal_url="https://portal.example/api", national_portal_client_id="x")
    with pytest.raises(ValidationError, match="http"):
        Settings(
            national_portal_url="ftp://portal.example",
            national_portal_token_url="https://portal.example/token",
            national_portal_client_id="x",
            national_portal_client_secret="y",
            national_portal_signing_secret=SIGNING_SECRET,
        )
    with pytest.raises(ValidationError):
        Settings(national_portal_signing_secret="short")


def test_reconcile_without_a_configured_portal_is_a_clear_error() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATIONAL_PORTAL_")}
    result = subprocess.run(
        [*DVC, "reconcile-portal"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "NATIONAL_PORTAL_URL" in result.stderr


def test_reconcile_a_day_from_the_command_line(cli_env: dict[str, str]) -> None:
    with Portal() as portal:
        env = {
            **cli_env,
            "NATIONAL_PORTAL_URL": portal.base,
            "NATIONAL_PORTAL_TOKEN_URL": portal.token_url,
            "NATIONAL_PORTAL_CLIENT_ID": CLIENT_ID,
            "NATIONAL_PORTAL_CLIENT_SECRET": CLIENT_SECRET,
            "NATIONAL_PORTAL_SIGNING_SECRET": SIGNING_SECRET,
        }
        result = dvc(env, "reconcile-portal", "--date", "2026-11-25", "--dry-run")
        assert result.returncode == 0, result.stderr
        assert "Đối soát 2026-11-25: 0 hồ sơ đã so" in result.stderr
        assert result.stdout.startswith("dossier_id\tcode\treason")
        bad = dvc(env, "reconcile-portal", "--date", "25/11/2026")
        assert bad.returncode == 2
