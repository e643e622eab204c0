"""Settings of the reporting service (environment variables OPSEVAL_*)."""

from __future__ import annotations

from typing import ClassVar

from opseval_infra.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    service_name: ClassVar[str] = "reporting"
    http_port: int = 8080
