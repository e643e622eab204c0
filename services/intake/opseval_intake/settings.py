"""Settings of the intake service (environment variables OPSEVAL_*)."""

from __future__ import annotations

from typing import ClassVar

from opseval_infra.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: ClassVar[str] = "intake"
    http_port: int = 8081
    max_batch: int = 10_000
    max_body_bytes: int = 32 * 1024 * 1024
    # An event stamped later than this past the intake's clock is refused as in the future.
    max_clock_skew_s: float = 24 * 3600
    # Origins of the workbench allowed to send judgments and corrections from the browser (CORS),
    # when it is not served from intake's own origin (`opseval up`: the reporting service's address).
    cors_origins: tuple[str, ...] = ()
