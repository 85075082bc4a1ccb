"""The production checklist (core/checklist.py): each check, its level in production and in
development, `dvc check-config`, and the refusals of `dvc serve` and of an app process."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core import checklist
from core.checklist import Level
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
JWT = "k3V9q0Zr7LbT2wXy5NpA8sDf1GhJ4mQe6RuI"
METRICS = "Pq7Lx2Vb9Nc4Zs1K"

# A production configuration that passes every check.
READY: dict[str, Any] = {
    "environment": "production",
    "public_base_url": "https://dichvucong.quangngai.gov.vn",
    "jwt_secret": JWT,
    "metrics_token": METRICS,
    "database_url": "postgresql://dvc:Zr7LbT2wXy5NpA8sD@db.internal:5432/dvc",
    "s3_endpoint": "s3.internal:9000",
    "s3_access_key": "dvc-app",
    "s3_secret_key": "R4uIk3V9q0Zr7LbT2wX",
    "load_demo_data": False,
    "graphiql": False,
    "graphql_introspection": False,
    "trusted_proxies": "127.0.0.1",
    "smtp_host": "smtp.quangngai.gov.vn",
    "smtp_sender": "no-reply@dichvucong.quangngai.gov.vn",
    "sms_gateway_url": "https://sms.quangngai.gov.vn/send",
    "sms_gateway_key": "Vb9Nc4Zs1KPq7Lx2Wm",
}


def settings(**changes: Any) -> Settings:
    return Settings(_env_file=None, **{**READY, **changes})


def found(s: Settings) -> dict[str, list[Level]]:
    out: dict[str, list[Level]] = {}
    for finding in checklist.findings(s):
        out.setdefault(finding.check, []).append(finding.level)
    return out


def test_a_ready_production_configuration_passes_every_check() -> None:
    assert checklist.findings(settings()) == []
    assert [check.name for check, problems in checklist.report(settings()) if not problems] == [
        check.name for check in checklist.CHECKS
    ]


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://127.0.0.1:8000/", "https://localhost", "http://[::1]:8000"],
)
def test_public_base_url_on_loopback_refused_in_production_warned_in_development(url: str) -> None:
    assert found(settings(public_base_url=url)) == {"public-base-url": [Level.ERROR]}
    dev = settings(environment="development", public_base_url=url)
    assert found(dev)["public-base-url"] == [Level.WARNING]
    message = checklist.findings(dev)[0].message
    assert "QR" in message
    assert url in message


def test_public_base_url_in_plain_http_refused_in_production_only() -> None:
    assert found(settings(public_base_url="http://dichvucong.quangngai.gov.vn")) == {
        "public-base-url": [Level.ERROR]
    }
    assert found(settings(environment="development", public_base_url="http://dvc.lan:8000")) == {}


def test_jwt_secret_unset_refused_in_production_only() -> None:
    assert found(settings(jwt_secret=None)) == {"secrets": [Level.ERROR]}
    assert "secrets" not in found(settings(environment="development", jwt_secret=None))


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [
        ("jwt_secret", "change-me-change-me-change-me-change-me", "JWT_SECRET"),
        ("jwt_secret", "a" * 40, "JWT_SECRET"),
        ("s3_secret_key", "s3kEy-9", "S3_SECRET_KEY"),
        ("metrics_token", "your-metrics-token-here", "METRICS_TOKEN"),
        ("smtp_password", "...", "SMTP_PASSWORD"),
        ("sms_gateway_key", "0123456789", "SMS_GATEWAY_KEY"),
        ("national_id_client_secret", "replace-with-the-real-one", "NATIONAL_ID_CLIENT_SECRET"),
        ("vnpay_merchants", "H44.19=TMNCODE1:hash-secret-1", "VNPAY_MERCHANTS (H44.19)"),
    ],
)
def test_a_short_or_copied_secret_is_refused_in_production(field: str, value: str, name: str) -> None:
    extra = {"smtp_host": "smtp.internal", "smtp_sender": "a@b.vn"} if field == "smtp_password" else {}
    if field == "sms_gateway_key":
        extra = {"sms_gateway_url": "https://sms.internal/send"}
    problems = checklist.findings(settings(**{field: value}, **extra))
    assert [(p.check, p.level) for p in problems] == [("secrets", Level.ERROR)]
    assert problems[0].message.startswith(name)
    assert value not in problems[0].message  # a secret is named, never printed
    dev = settings(**{"environment": "development", field: value, **extra})
    assert "secrets" not in found(dev)


def test_metrics_token_missing_refused_in_production_only() -> None:
    assert found(settings(metrics_token=None)) == {"metrics-token": [Level.ERROR]}
    assert found(settings(environment="development", metrics_token=None)) == {}


@pytest.mark.parametrize(
    ("missing", "named"), [("smtp_host", "SMTP_HOST"), ("sms_gateway_url", "SMS_GATEWAY_URL")]
)
def test_production_needs_a_real_channel_for_every_message(missing: str, named: str) -> None:
    """Staff activation and resets go by e-mail, a citizen may be known by a mobile only."""
    problems = checklist.findings(settings(**{missing: None}))
    assert [(p.check, p.level, p.message.split(" ", 1)[0]) for p in problems] == [
        ("message-channels", Level.ERROR, named)
    ]
    assert "message-channels" not in found(settings(environment="development", **{missing: None}))


def test_embedded_servers_and_demo_data_refused_in_production() -> None:
    assert found(settings(database_url=None)) == {"external-servers": [Level.ERROR]}
    assert found(settings(s3_endpoint=None)) == {"external-servers": [Level.ERROR]}
    assert found(settings(load_demo_data=True)) == {"demo-data": [Level.ERROR]}
    assert found(settings(environment="development", database_url=None, load_demo_data=True)) == {}


def test_graphiql_introspection_and_proxies_are_warnings_in_production() -> None:
    assert found(settings(graphiql=True)) == {"graphiql": [Level.WARNING]}
    assert found(settings(graphql_introspection=True)) == {"introspection": [Level.WARNING]}
    assert found(settings(trusted_proxies="")) == {"trusted-proxies": [Level.WARNING]}
    relaxed = settings(
        environment="development", graphiql=True, graphql_introspection=True, trusted_proxies=""
    )
    assert found(relaxed) == {}


def test_enforce_raises_on_errors_and_logs_warnings(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(checklist.NotReadyForProduction, match="METRICS_TOKEN"):
        checklist.enforce(settings(metrics_token=None, graphiql=True))
    with caplog.at_level(logging.WARNING, logger="dvc.checklist"):
        warned = checklist.enforce(
            settings(environment="development", public_base_url="http://127.0.0.1:8000")
        )
    assert [w.check for w in warned] == ["public-base-url"]
    assert "configuration check public-base-url: PUBLIC_BASE_URL is http://127.0.0.1:8000" in caplog.text


def _env(**values: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "S3_", "JWT_", "METRICS_"))}
    ready = {
        key.upper(): str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in READY.items()
    }
    return {**keep, **ready, **values}


def _dvc(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_config_prints_every_check_and_fails_on_an_error(tmp_path: Path) -> None:
    ok = _dvc("check-config", env=_env(DATA_DIR=str(tmp_path)))
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[0] == "ENVIRONMENT=production"
    assert [line.split()[0:2] for line in lines[1:]] == [["OK", f"{c.name}:"] for c in checklist.CHECKS]

    bad = _dvc(
        "check-config",
        env=_env(DATA_DIR=str(tmp_path), PUBLIC_BASE_URL="http://127.0.0.1:8000", GRAPHIQL="true"),
    )
    assert bad.returncode == 1
    assert "ERROR    public-base-url: PUBLIC_BASE_URL is http://127.0.0.1:8000" in bad.stdout
    assert "WARNING  graphiql: GRAPHIQL is on" in bad.stdout


def test_serve_refuses_before_migrating_in_production(tmp_path: Path) -> None:
    data = tmp_path / "var"
    refused = _dvc("serve", env=_env(DATA_DIR=str(data), PUBLIC_BASE_URL="http://127.0.0.1:8000"))
    assert refused.returncode == 2
    assert "public-base-url: PUBLIC_BASE_URL is http://127.0.0.1:8000" in refused.stderr
    assert "Áp dụng migration" not in refused.stderr  # nothing started: no database was touched
    assert not data.exists()


def test_an_app_process_started_without_dvc_serve_refuses_too(tmp_path: Path) -> None:
    """`uvicorn app:app` (no `dvc serve` in front) fails in its lifespan, before opening anything."""
    env = _env(DATA_DIR=str(tmp_path / "var"), METRICS_TOKEN="")
    env.pop("METRICS_TOKEN")
    started = subprocess.run(
        [sys.executable, "-m", "uvicorn", "app:app", "--port", "0"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert started.returncode != 0
    assert "ENVIRONMENT=production refuses to start" in started.stderr
    assert "METRICS_TOKEN is unset" in started.stderr


def test_the_shipped_environment_file_is_refused_until_its_placeholders_are_replaced() -> None:
    """deploy/dvc.env.example as copied: its CHANGE values are refused by name."""
    shipped = Settings(_env_file=ROOT / "deploy" / "dvc.env.example")
    problems = checklist.findings(shipped)
    assert {p.check for p in problems} == {"secrets"}
    named = sorted(p.message.split(" ", 1)[0] for p in problems)
    assert named == ["JWT_SECRET", "METRICS_TOKEN", "S3_SECRET_KEY", "SMS_GATEWAY_KEY", "SMTP_PASSWORD"]
    replaced = Settings(
        _env_file=ROOT / "deploy" / "dvc.env.example",
        jwt_secret=JWT,
        metrics_token=METRICS,
        s3_secret_key="R4uIk3V9q0Zr7LbT2wX",
        smtp_password="Lx2Vb9Nc4Zs1KPq7Wm",
        sms_gateway_key="Vb9Nc4Zs1KPq7Lx2Wm",
    )
    assert checklist.findings(replaced) == []
