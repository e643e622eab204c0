"""Settings of the scoring service (environment variables OPSEVAL_*)."""

from __future__ import annotations

from opseval_infra.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    service_name: str = "scoring"
    http_port: int = 8083
