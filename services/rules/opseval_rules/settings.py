"""Settings of the rules service (environment variables OPSEVAL_*)."""

from __future__ import annotations

from typing import ClassVar

from opseval_infra.settings import ServiceSettings


class RulesSettings(ServiceSettings):
    service_name: ClassVar[str] = "rules"
    http_port: int = 8082
