"""Configuration of every service: environment variables through pydantic-settings.

Safe local defaults for development; outside development a placeholder secret or a missing NATS
password stops the service at start-up instead of running exposed.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "password", "dev"}


class ServiceSettings(BaseSettings):
    """Settings every service reads (prefix OPSEVAL_)."""

    model_config = SettingsConfigDict(env_prefix="OPSEVAL_", extra="ignore")

    # Fixed per service, not configurable: NATS permissions name its subjects (opseval.dlq.<name>).
    service_name: ClassVar[str] = "opseval"
    environment: Literal["development", "test", "production"] = "development"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    store_url: str = "sqlite:///.opseval/opseval.db"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    secret_key: SecretStr = SecretStr("change-me")
    stream_replicas: int = 1
    max_deliver: int = 5
    retry_backoff_s: float = 0.5
    debounce_s: float = 0.2
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _no_placeholders_outside_development(self) -> ServiceSettings:
        if self.environment == "development":
            return self
        if self.secret_key.get_secret_value().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("OPSEVAL_SECRET_KEY is a placeholder: set a real secret outside development")
        if self.nats_user and (
            self.nats_password is None or self.nats_password.get_secret_value().lower() in PLACEHOLDER_SECRETS
        ):
            raise ValueError("OPSEVAL_NATS_PASSWORD is missing or a placeholder outside development")
        return self
