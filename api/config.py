"""Service settings, read once from the environment and passed into create_app."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """Everything the service needs to know about where it runs."""

    warehouse: str = "duckdb"
    duckdb_path: Path = Path("warehouse/voucher.duckdb")
    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_database: str = "voucher"
    pg_user: str = "voucher_api"
    pg_password: str = ""
    # When set, /api/* needs "Authorization: Bearer <api_key>".
    api_key: str | None = None
    # How often the background thread looks for a new build; 0 disables the thread.
    refresh_seconds: float = 5.0
    # A snapshot whose last successful check is older than this is reported stale.
    stale_after_seconds: float = 30.0
    max_body_bytes: int = 64 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiConfig:
        """Build the config from the same variables dbt and the Makefile use."""
        env = os.environ if environ is None else environ
        warehouse = env.get("DBT_TARGET", "duckdb").strip().lower() or "duckdb"
        if warehouse not in ("duckdb", "postgres"):
            raise ValueError(
                f"DBT_TARGET must be duckdb or postgres, not {warehouse!r}"
            )
        refresh = float(env.get("VOUCHER_API_REFRESH_SECONDS", "5"))
        return cls(
            warehouse=warehouse,
            duckdb_path=Path(env.get("DUCKDB_PATH", "warehouse/voucher.duckdb")),
            pg_host=env.get("PGHOST", "127.0.0.1"),
            pg_port=int(env.get("PGPORT", "5432")),
            pg_database=env.get("PGDATABASE", "voucher"),
            pg_user=env.get("VOUCHER_API_PGUSER", "voucher_api"),
            pg_password=env.get("VOUCHER_API_PGPASSWORD", ""),
            api_key=env.get("VOUCHER_API_KEY") or None,
            refresh_seconds=refresh,
            stale_after_seconds=float(
                env.get("VOUCHER_API_STALE_AFTER_SECONDS", str(max(30.0, 6 * refresh)))
            ),
        )
