"""Settings of the scoring service (environment variables OPSEVAL_*)."""

from __future__ import annotations

from typing import ClassVar

from opseval_infra.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    service_name: ClassVar[str] = "scoring"
    http_port: int = 8083
