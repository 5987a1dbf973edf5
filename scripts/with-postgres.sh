#!/usr/bin/env bash
# Run a command that needs the local PostgreSQL server, starting the server if
# it is down. Where there is no server to start, say so loudly and skip the
# command, except under CI=true, where a missing warehouse is a failure.
set -uo pipefail

host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}

ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

if ! ready && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "PostgreSQL is down on $host:$port; starting cluster $version/main" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    for _ in $(seq 1 30); do ready && break; sleep 1; done
fi

if ! ready; then
    if [ "${CI:-}" = "true" ]; then
        echo "FAIL: PostgreSQL is not reachable on $host:$port (required under CI)" >&2
        exit 1
    fi
    printf '\n%s\n%s\n\n' \
        "!!! SKIPPED: PostgreSQL is not reachable on $host:$port." \
        "!!! Skipping: $*" >&2
    exit 0
fi

exec "$@"
