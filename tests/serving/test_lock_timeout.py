"""PostgreSQL: a reader holding a transaction open cannot stall a build.

dbt replaces a table by renaming, which waits for every transaction that read
it; the project's pre-hook sets lock_timeout (VOUCHER_LOCK_TIMEOUT), so the
build fails clearly after that wait instead, and nothing is published.
"""

from __future__ import annotations

import pytest

from tests.conftest import fresh_postgres_database, postgres_connection
from tests.serving.conftest import ROWS, Project

pytestmark = pytest.mark.postgres


def test_a_reader_left_open_makes_the_build_fail_after_the_lock_timeout(tmp_path):
    env = fresh_postgres_database("voucher_test_locks")
    project = Project("postgres", env, tmp_path)
    project.load(project.generate(ROWS, seed=21, name="first"))
    project.dbt("build")
    assert project.serving("publish").returncode == 0
    before = project.served_invocation()

    reader = postgres_connection(env)
    try:
        with reader.cursor() as cursor:  # psycopg2 opens a transaction here
            cursor.execute("select count(*) from marts.voucher_country_modes")
        project.env["VOUCHER_LOCK_TIMEOUT"] = "1s"
        # Without a lock timeout this waits as long as the reader stays open.
        build = project.run_unchecked(*project.dbt_command("build"), timeout=600)
    finally:
        reader.close()
        project.env.pop("VOUCHER_LOCK_TIMEOUT")
    assert build.returncode == 1
    assert "canceling statement due to lock timeout" in build.stdout
    refused = project.serving("publish")
    assert refused.returncode == 1 and "did not pass" in refused.stderr
    assert project.served_invocation() == before
