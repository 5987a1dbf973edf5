"""The serving schema's names and DDL: what the publish step writes and the
API and the report read (see serving.publish for how it is used).

Per published table T: ``serving.T__history`` holds the rows of every kept
build under its ``publish_id``; the view ``serving.T`` shows the current
build's, the one ``serving.current_publish`` names.
"""

from typing import Final

SCHEMA: Final = "serving"
LOG_TABLE = f"{SCHEMA}.publish_log"
CURRENT_TABLE = f"{SCHEMA}.current_publish"
# The current build's row of the publish log, for the API's /ready.
CURRENT_BUILD_VIEW = f"{SCHEMA}.current_build"
HISTORY_SUFFIX = "__history"
INVOCATIONS_TABLE = "audit.build_starts"
# Every load each published build read (publish_id, then LOADS_COLUMNS).
PUBLISHED_LOADS_TABLE = f"{SCHEMA}.published_loads"
LOAD_LOG_TABLE = "raw.load_log"

PUBLISH_LOG_DDL = f"""
create table if not exists {LOG_TABLE} (
    publish_id bigint primary key,
    invocation_id varchar not null,
    dbt_version varchar not null,
    build_target varchar not null,
    dbt_vars varchar not null,
    built_at timestamp not null,
    build_finished_at timestamp not null,
    published_at timestamp not null,
    load_id varchar not null,
    source_file varchar not null,
    source_sha256 varchar not null,
    source_rows bigint not null,
    loaded_at timestamp not null,
    row_counts varchar not null,
    models_passed integer not null,
    seeds_passed integer not null,
    snapshots_passed integer not null,
    data_tests_passed integer not null,
    unit_tests_passed integer not null,
    warnings integer not null,
    rolled_back_at timestamp,
    discarded_at timestamp,
    source_origin varchar default 'file',
    load_count bigint default 1
)
"""
# A publish log written before these columns existed gets them.
PUBLISH_LOG_UPGRADES = (
    f"alter table {LOG_TABLE}"
    " add column if not exists source_origin varchar default 'file'",
    f"alter table {LOG_TABLE} add column if not exists load_count bigint default 1",
)
PUBLISHED_LOADS_DDL = f"""
create table if not exists {PUBLISHED_LOADS_TABLE} (
    publish_id bigint not null,
    load_id varchar not null,
    source_file varchar not null,
    source_sha256 varchar not null,
    row_count bigint not null,
    loaded_at timestamp not null,
    primary key (publish_id, load_id)
)
"""
CURRENT_DDL = f"create table if not exists {CURRENT_TABLE} (publish_id bigint not null)"
# The publish log's columns about the raw loads a build read: the newest
# load's id, file, SHA-256 and time, the rows of all of them, the newest's
# origin, and how many loads.
LOAD_COLUMNS = (
    "load_id",
    "source_file",
    "source_sha256",
    "source_rows",
    "loaded_at",
    "source_origin",
    "load_count",
)
# What /ready and /api/segments say about the build they serve (the
# warehouse dbt built it on last: added after the others).
CURRENT_BUILD_COLUMNS = (
    "publish_id",
    "invocation_id",
    "built_at",
    "published_at",
    *LOAD_COLUMNS,
    "build_target",
)
# create or replace: a view made before a column was added gets it (new
# columns come last, which PostgreSQL requires of a replaced view).
CURRENT_BUILD_DDL = f"""
create or replace view {CURRENT_BUILD_VIEW} as
select {", ".join(f"published.{column}" for column in CURRENT_BUILD_COLUMNS)}
from {LOG_TABLE} as published
inner join {CURRENT_TABLE} as current_publish
    on published.publish_id = current_publish.publish_id
"""
