"""Service settings, read once from the environment and passed into create_app."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dwh.settings import (
    ENV_DEFAULTS,
    PostgresSettings,
    Target,
    api_postgres_settings,
    duckdb_settings,
    serving_target,
)


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """Everything the service needs to know about where it runs."""

    warehouse: Target = Target.DUCKDB
    duckdb_path: Path = Path(ENV_DEFAULTS["DUCKDB_PATH"])
    # The API's own read-only role (VOUCHER_API_PGUSER) on PGDATABASE.
    postgres: PostgresSettings = field(
        default_factory=lambda: api_postgres_settings({})
    )
    # When set, /api/* needs "Authorization: Bearer <api_key>".
    api_key: str | None = None
    # How often the background thread looks for a new build; 0 disables the thread.
    refresh_seconds: float = 5.0
    # A snapshot whose last successful check is older than this is reported stale.
    stale_after_seconds: float = 30.0
    max_body_bytes: int = 64 * 1024
    # POST /api/vouchervalues: at most this many customers and bytes (413 past
    # either). A lookup body is about 200 bytes, so 10,000 fit in 4 MiB; the
    # batch answers them in about 50 ms of one worker's time.
    max_batch_customers: int = 10_000
    max_batch_bytes: int = 4 * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiConfig:
        """Build the config from the variables dbt and the loader use (dwh.settings)."""
        env = os.environ if environ is None else environ
        warehouse = serving_target(None, env)
        refresh = float(env.get("VOUCHER_API_REFRESH_SECONDS", "5"))
        return cls(
            warehouse=warehouse,
            duckdb_path=duckdb_settings(env).path,
            postgres=api_postgres_settings(env),
            api_key=env.get("VOUCHER_API_KEY") or None,
            refresh_seconds=refresh,
            stale_after_seconds=float(
                env.get("VOUCHER_API_STALE_AFTER_SECONDS", str(max(30.0, 6 * refresh)))
            ),
        )
