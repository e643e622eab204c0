"""Settings of the rules service (environment variables OPSEVAL_*)."""

from __future__ import annotations

from opseval_infra.settings import ServiceSettings


class RulesSettings(ServiceSettings):
    service_name: str = "rules"
    http_port: int = 8082
