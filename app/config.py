"""One settings object for the whole service, read from the environment (prefix ``ACCORD_``).

``DATABASE_URL`` is also read without the prefix because that is the name every platform uses.
"""

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACCORD_", env_file=".env", extra="ignore")

    # Database. Without a URL, an embedded PostgreSQL server runs in ``data_dir``.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "ACCORD_DATABASE_URL")
    )
    data_dir: Path = Path(".accord")
    # Connections kept open per worker; more concurrent requests than this open and close
    # overflow connections, which costs a connect and fresh statement preparation each time.
    db_pool_size: int = 20
    db_max_overflow: int = 10
    # Guards against a request waiting forever on a row lock or a runaway query.
    db_lock_timeout_ms: int = 3000
    db_statement_timeout_ms: int = 30000

    # HTTP
    public_url: str = "http://localhost:8000"
    max_body_bytes: int = 2 * 1024 * 1024
    log_level: str = "INFO"
    log_json: bool = True

    # OAuth 2 / tokens
    jwt_audience: str = "accord-api"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    authorization_code_ttl_seconds: int = 60
    session_ttl_seconds: int = 8 * 3600
    password_grant_enabled: bool = True
    # How long a token's checked principal may be reused (app/auth/cache.py); changes to users,
    # clients, grants and revocations drop it at once. 0 = check the database on every request.
    principal_cache_seconds: float = 30
    # When set, signing keys are stored encrypted with it (PKCS#8, best available encryption).
    secret_key: str | None = None
    # Failed password logins: after ``login_max_failures`` in a row the account is locked for
    # ``login_lockout_seconds``, doubling with every further failure up to the cap.
    login_max_failures: int = 5
    login_lockout_seconds: int = 30
    login_lockout_max_seconds: int = 900

    # Recycle bin: deleted records stay restorable this long, then are purged (as Salesforce).
    recycle_bin_retention_days: int = 15
    # How often the periodic purge job runs (app/recyclebin/tasks.py); 0 = never.
    recycle_bin_purge_interval_seconds: int = 3600
    # Rows per purge statement, so a large purge never holds many locks for long.
    recycle_bin_purge_batch_size: int = 1000

    # Email (app/email). The defaults suit a relay on this machine (Postfix, or MailHog /
    # Mailpit on port 1025: set ACCORD_SMTP_PORT). TLS: none, starttls or tls (implicit, 465).
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Accord <no-reply@localhost>"
    smtp_timeout_seconds: float = 30.0
    # Most recipients one mass email may have (opted-out and address-less ones not counted).
    email_mass_limit: int = 1000
    # Messages per send job of a mass email (one SMTP connection each).
    email_batch_size: int = 50
    # Key that signs tracked links; by default a random key kept in the database.
    email_tracking_secret: str | None = None
    # Template rendering runs in child processes with these limits (app/email/rendering.py).
    email_render_processes: int = 2
    email_render_timeout_seconds: float = 2.0
    email_render_memory_mb: int = 512

    # Email-to-case and web-to-case (app/inbound). Who owns a case made from mail or the web
    # form before routing (Salesforce's default case owner); unset: the earliest active admin.
    case_default_owner_id: str | None = None
    # The largest inbound email (raw MIME, or JSON with base64 attachments) the inbound endpoint
    # takes; every other request is bounded by max_body_bytes.
    inbound_max_message_bytes: int = 10 * 1024 * 1024
    # Attachments kept per file and per message (larger ones are skipped and listed).
    inbound_max_attachment_bytes: int = 1024 * 1024
    inbound_max_message_attachment_bytes: int = 5 * 1024 * 1024
    # Web-to-case spam defences: a form token must be at least this old (bots submit at once)
    # and at most that old; submissions per IP address and per email address per hour; the
    # largest form; the origins (scheme://host[:port]) allowed to post it (empty: any).
    web_to_case_min_fill_seconds: float = 3.0
    web_to_case_token_max_age_seconds: int = 24 * 3600
    web_to_case_per_ip_per_hour: int = 20
    web_to_case_per_email_per_hour: int = 5
    web_to_case_max_bytes: int = 64 * 1024
    web_to_case_allowed_origins: Annotated[list[str], NoDecode] = []

    # Job queue (app/jobs). ``accord serve`` sets worker_in_process unless --no-worker.
    worker_in_process: bool = False
    jobs_concurrency: int = 4  # jobs one worker runs at a time
    # A running job's lease, renewed every third of it; a job whose worker died is run again
    # once its lease has expired.
    jobs_lease_seconds: float = 30.0
    # The event dispatcher's poll (how soon a committed change reaches webhooks).
    jobs_poll_seconds: float = 0.5
    # Longest sleep without a NOTIFY (a safety net; due jobs wake the worker on time anyway).
    jobs_idle_seconds: float = 5.0
    jobs_shutdown_grace_seconds: float = 20.0

    # Webhooks (app/webhooks). Hosts or networks (CIDR) that may be targets even though they
    # resolve to private, loopback or link-local addresses: comma-separated or a JSON list.
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = []
    webhook_timeout_seconds: float = 15.0  # per attempt (the spec suggests 15 to 30 s)
    # Delivery log entries (and deliveries a disabled webhook still holds) kept this long.
    webhook_log_retention_days: int = 30
    # Seconds to wait before each retry of a failed delivery (about 24 hours in all); after
    # the last one the subscription is disabled and its owner notified.
    webhook_retry_schedule: Annotated[list[float], NoDecode] = [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        36000,
    ]

    @field_validator(
        "webhook_allowed_hosts",
        "webhook_retry_schedule",
        "web_to_case_allowed_origins",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @property
    def issuer(self) -> str:
        return self.public_url.rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
