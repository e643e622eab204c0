"""Start-up refuses placeholder secrets outside development, and takes them in development."""

from __future__ import annotations

from pathlib import Path

import pytest
from opseval_infra.settings import ServiceSettings
from pydantic import ValidationError

REAL = "k3JQ8vYwZpT1nR6s"


def settings(**values: object) -> ServiceSettings:
    return ServiceSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize("environment", ["test", "production"])
@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"secret_key": "change-me"}, "OPSEVAL_SECRET_KEY"),
        ({"secret_key": "Password"}, "OPSEVAL_SECRET_KEY"),
        ({"secret_key": ""}, "OPSEVAL_SECRET_KEY"),
        ({"secret_key": REAL, "nats_user": "intake"}, "OPSEVAL_NATS_PASSWORD"),
        ({"secret_key": REAL, "nats_user": "intake", "nats_password": "changeme"}, "OPSEVAL_NATS_PASSWORD"),
        ({"secret_key": REAL, "store_url": "mongodb://opseval:change-me@mongo:27017/opseval"}, "OPSEVAL_STORE_URL"),
        ({"secret_key": REAL, "store_url": "mongodb://opseval:sec%72et@mongo/opseval"}, "OPSEVAL_STORE_URL"),
    ],
)
def test_a_placeholder_secret_outside_development_stops_start_up_naming_the_variable(
    environment: str, values: dict[str, object], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        settings(environment=environment, **values)


def test_real_secrets_outside_development_are_taken() -> None:
    taken = settings(
        environment="production",
        secret_key=REAL,
        nats_user="intake",
        nats_password="p" + REAL,
        store_url=f"mongodb://opseval:{REAL}@mongo:27017/opseval",
    )
    assert taken.nats_password is not None and taken.nats_password.get_secret_value() == "p" + REAL
    assert REAL not in repr(taken.secret_key)


def test_development_runs_on_the_safe_local_defaults() -> None:
    local = settings()
    assert local.environment == "development" and local.store_url.startswith("sqlite:")


def test_the_installation_calendar_file_is_the_variable_opseval_evaluate_reads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from opseval.embedded import CALENDAR_FILE_VARIABLE

    monkeypatch.setenv(CALENDAR_FILE_VARIABLE, str(tmp_path / "holidays.yaml"))
    assert ServiceSettings().calendar_file == tmp_path / "holidays.yaml"
    monkeypatch.delenv(CALENDAR_FILE_VARIABLE)
    assert ServiceSettings().calendar_file is None


def test_serve_refuses_bad_settings_in_one_line_naming_each_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from opseval import fleet

    monkeypatch.setenv("OPSEVAL_ENVIRONMENT", "production")
    monkeypatch.setenv("OPSEVAL_HTTP_PORT", "eighty")
    assert fleet.serve("rules") == 2
    err = capsys.readouterr().err
    assert err.startswith("opseval serve rules: OPSEVAL_HTTP_PORT: Input should be a valid integer")
    assert "(given 'eighty')" in err and len(err.splitlines()) == 1

    monkeypatch.setenv("OPSEVAL_HTTP_PORT", "8080")
    assert fleet.serve("rules") == 2
    assert capsys.readouterr().err == (
        "opseval serve rules: settings: Value error, OPSEVAL_SECRET_KEY is a placeholder: "
        "set a real secret outside development\n"
    )
