#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server: initdb into a new
# temporary folder, pg_ctl on a free loopback port, stopped and deleted when
# the command ends (however it ends). The command finds the server's admin
# URL in ARBOR_TEST_POSTGRES (the test harness makes a database per test
# from it). Never a shared instance. As root, the server runs as the
# `postgres` user (initdb refuses root).
#
#   scripts/with-postgres.sh cargo test -p server --test '*'
set -euo pipefail

bin=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) \
                 "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")"; do
    if [ -x "$candidate/initdb" ]; then bin="$candidate"; break; fi
done
if [ -z "$bin" ]; then
    echo "PostgreSQL is not installed: run scripts/setup.sh test" >&2
    exit 1
fi

folder="$(mktemp -d -t arbor-postgres.XXXXXX)"
as_owner=()
if [ "$(id -u)" = 0 ]; then
    chown postgres "$folder"
    as_owner=(runuser -u postgres --)
fi
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

stop() {
    "${as_owner[@]}" "$bin/pg_ctl" -D "$folder/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$folder"
}
trap stop EXIT

"${as_owner[@]}" "$bin/initdb" -D "$folder/data" -U arbor --auth=trust -E UTF8 --locale=C >"$folder/initdb.log" 2>&1 \
    || { cat "$folder/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$bin/pg_ctl" -D "$folder/data" -l "$folder/log" -w \
    -o "-p $port -k $folder -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400" start >/dev/null \
    || { cat "$folder/log" >&2; exit 1; }

export ARBOR_TEST_POSTGRES="postgres://arbor@127.0.0.1:$port/postgres"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') is listening on 127.0.0.1:$port (data in $folder)"
"$@"
