"""One settings object for the whole service, read from the environment (prefix ``ACCORD_``).

``DATABASE_URL`` is also read without the prefix because that is the name every platform uses.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    # When set, signing keys are stored encrypted with it (PKCS#8, best available encryption).
    secret_key: str | None = None
    # Failed password logins: after ``login_max_failures`` in a row the account is locked for
    # ``login_lockout_seconds``, doubling with every further failure up to the cap.
    login_max_failures: int = 5
    login_lockout_seconds: int = 30
    login_lockout_max_seconds: int = 900

    # Recycle bin: deleted records stay restorable this long, then are purged (as Salesforce).
    recycle_bin_retention_days: int = 15
    # How often each API process tries to purge (one at a time across processes); 0 = never.
    recycle_bin_purge_interval_seconds: int = 3600
    # Rows per purge statement, so a large purge never holds many locks for long.
    recycle_bin_purge_batch_size: int = 1000

    @property
    def issuer(self) -> str:
        return self.public_url.rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
