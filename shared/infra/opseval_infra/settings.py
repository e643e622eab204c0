"""Configuration of every service: environment variables through pydantic-settings.

Safe local defaults for development; outside development a placeholder secret or a missing NATS
password stops the service at start-up instead of running exposed. NATS over TLS is chosen by the
URL's scheme (tls://); the TLS settings only say whom to trust and which client certificate to show,
and a contradiction between them (a CA file for a nats:// URL, a certificate without its key, TLS
required but not asked for) stops the service in every environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, FilePath, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "password", "dev"}


class CalendarSettings(BaseSettings):
    """The installation's declared holidays and 调休 working days (a calendar.yaml-shaped file), read by
    `opseval evaluate` and every service: years the bundle does not declare and chinesecalendar does
    not cover (or gets wrong) come from it."""

    model_config = SettingsConfigDict(env_prefix="OPSEVAL_", extra="ignore")

    calendar_file: Path | None = None


class ServiceSettings(CalendarSettings):
    """Settings every service reads (prefix OPSEVAL_)."""

    model_config = SettingsConfigDict(env_prefix="OPSEVAL_", extra="ignore")

    # Fixed per service, not configurable: NATS permissions name its subjects (opseval.dlq.<name>).
    service_name: ClassVar[str] = "opseval"
    environment: Literal["development", "test", "production"] = "development"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    # TLS to NATS (tls:// URL). Without a CA file the system trust store is used; with one, only that
    # CA is trusted. A client certificate and its key (both or neither) for servers that verify clients.
    nats_tls_ca_file: FilePath | None = None
    nats_tls_cert_file: FilePath | None = None
    nats_tls_key_file: FilePath | None = None
    # Refuse to start unless OPSEVAL_NATS_URL is tls://… (set where NATS must never be reached in clear).
    nats_tls_required: bool = False
    store_url: str = "sqlite:///.opseval/opseval.db"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    secret_key: SecretStr = SecretStr("change-me")
    stream_replicas: int = 1
    # A batch the store cannot take is handed back after retry_backoff_s, doubling per delivery up to
    # retry_backoff_max_s, for as long as the store stays away: a store outage (a MongoDB fail-over,
    # a locked SQLite file) is waited out, never turned into dead letters. Only a message no retry can
    # fix (not valid evidence, an id taken by other content) is dead-lettered.
    retry_backoff_s: float = 0.5
    retry_backoff_max_s: float = 30.0
    # How long an evaluation waits for the rest of a push while the evidence consumer still has more
    # pending; with nothing more pending, a project is evaluated at once.
    debounce_s: float = 0.2
    # rules and scoring drop a project's folded evidence from memory after this long without evidence
    # (keeping its fold state in the store, snapshot kind fold.<service>, to take it up from there)
    ledger_idle_s: float = 60.0
    # rules and scoring keep what they hold out of the garbage collector's full collections between
    # evaluations, and hand it back for one full collection this often (collector.FrozenBetweenRounds;
    # 0: never kept out)
    gc_thaw_s: float = Field(default=600.0, ge=0)
    log_level: str = "INFO"

    @property
    def nats_tls(self) -> bool:
        """Whether the service speaks TLS to NATS: the URL's scheme decides."""
        return self.nats_url.strip().lower().startswith("tls://")

    @model_validator(mode="after")
    def _tls_settings_agree(self) -> ServiceSettings:
        tls_url = self.nats_tls
        if self.nats_tls_required and not tls_url:
            raise ValueError(f"OPSEVAL_NATS_TLS_REQUIRED is set but OPSEVAL_NATS_URL {self.nats_url!r} is not tls://")
        if (self.nats_tls_cert_file is None) != (self.nats_tls_key_file is None):
            raise ValueError(
                "OPSEVAL_NATS_TLS_CERT_FILE and OPSEVAL_NATS_TLS_KEY_FILE go together: set both or neither"
            )
        files = (self.nats_tls_ca_file, self.nats_tls_cert_file, self.nats_tls_key_file)
        if not tls_url and any(f is not None for f in files):
            raise ValueError(
                f"OPSEVAL_NATS_TLS_*_FILE is set but OPSEVAL_NATS_URL {self.nats_url!r} is not tls://"
                " (TLS is asked for by the URL's scheme)"
            )
        return self

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
        store_password = urlsplit(self.store_url).password
        if store_password is not None and unquote(store_password).lower() in PLACEHOLDER_SECRETS:
            raise ValueError("the password in OPSEVAL_STORE_URL is a placeholder: set a real one outside development")
        return self
