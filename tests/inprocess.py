"""Intake and the results API in this process (TestClient) over a real nats-server and a SQLite
store, with a bundle's project registered: for the integration tests of what intake accepts and
what the results API then answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from apikeys import bearer, issue_key
from fastapi.testclient import TestClient
from natsfixtures import nats_server
from opseval_intake.app import create_app as intake_app
from opseval_intake.bundle import load_definition
from opseval_intake.settings import IntakeSettings
from opseval_reporting.app import create_app as reporting_app
from opseval_reporting.settings import ReportingSettings

JSON = {"content-type": "application/json"}


@contextmanager
def intake_and_reporting(workdir: Path, bundle: Path) -> Iterator[tuple[TestClient, TestClient, Path]]:
    """(intake, reporting, the store's file), the bundle's project registered by an administrator."""
    store_file = workdir / "store.db"
    with nats_server(workdir, "") as server:
        common: dict[str, Any] = {
            "environment": "test",
            "secret_key": "integration-test-secret",
            "nats_url": server.url,
            "store_url": f"sqlite:///{store_file}",
        }
        with (
            TestClient(intake_app(IntakeSettings(**common))) as intake,
            TestClient(reporting_app(ReportingSettings(**common))) as reporting,
        ):
            admin = bearer(issue_key(f"sqlite:///{store_file}", "admin", ["*"], "admin"))
            definition = load_definition(bundle).model_dump_json()
            registered = intake.post("/v1/projects", content=definition, headers={**JSON, **admin})
            assert registered.status_code in (200, 201), registered.text
            yield intake, reporting, store_file
