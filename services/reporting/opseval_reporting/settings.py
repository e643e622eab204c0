"""Settings of the reporting service (environment variables OPSEVAL_*)."""

from __future__ import annotations

from typing import ClassVar

from opseval_infra.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    service_name: ClassVar[str] = "reporting"
    http_port: int = 8080
    # Where the workbench in the browser sends judgments and corrections: intake's address as the
    # browser sees it. Empty: the same origin (an ingress routes /v1/evidence to intake).
    intake_public_url: str = ""
