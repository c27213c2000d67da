#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server for the tests:
#
#     scripts/with_pg_test_server.sh make test
#
# - installs PostgreSQL from the distribution's packages when initdb/pg_ctl are missing
#   (Debian/Ubuntu, as root: apt-get install -y postgresql);
# - creates a cluster in a temporary folder (as the `postgres` user when run as root: initdb
#   refuses root), trust authentication, listening on 127.0.0.1 only, on a free port;
# - exports STATETUNE_TEST_POSTGRES_URL=postgresql://statetune@127.0.0.1:PORT/postgres for the
#   command, and stops the server and removes the folder when the command ends (any way).
#
# The exit status is the command's; if the server cannot be started the script fails (status
# 3) before running the command, printing the server's log.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

find_bin() {  # $1: initdb or pg_ctl -> its path, or nothing
    local name="$1" p
    if p=$(command -v "$name" 2>/dev/null); then
        echo "$p"
        return
    fi
    for p in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$p/$name" ]; then
            echo "$p/$name"
            return
        fi
    done
}

INITDB=$(find_bin initdb)
PG_CTL=$(find_bin pg_ctl)
if [ -z "$INITDB" ] || [ -z "$PG_CTL" ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "with_pg_test_server: PostgreSQL not found; installing it (apt-get install postgresql)" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends postgresql >&2
        INITDB=$(find_bin initdb)
        PG_CTL=$(find_bin pg_ctl)
    fi
fi
if [ -z "$INITDB" ] || [ -z "$PG_CTL" ]; then
    echo "with_pg_test_server: initdb and pg_ctl must be installed (package postgresql), but" \
        "they were found neither on PATH nor in /usr/lib/postgresql/*/bin" >&2
    exit 3
fi

OLDPWD_SAVED=$PWD
DIR=$(mktemp -d "${TMPDIR:-/tmp}/statetune-pg.XXXXXX")
AS=()
if [ "$(id -u)" -eq 0 ]; then  # initdb and postgres refuse to run as root
    RUN_USER=postgres
    if ! id "$RUN_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$RUN_USER"
    fi
    chown "$RUN_USER" "$DIR"
    AS=(runuser -u "$RUN_USER" --)
    cd "$DIR"  # a folder the server's user may enter (the caller's may be private)
fi

stop() {
    "${AS[@]}" "$PG_CTL" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if ! "${AS[@]}" "$INITDB" -D "$DIR/data" -U statetune --auth=trust --encoding=UTF8 \
    --no-sync >"$DIR/initdb.log" 2>&1; then
    echo "with_pg_test_server: initdb failed:" >&2
    cat "$DIR/initdb.log" >&2
    exit 3
fi
# fsync off: a throwaway server, speed over durability.
if ! "${AS[@]}" "$PG_CTL" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    start >/dev/null; then
    echo "with_pg_test_server: the server did not start on port $PORT:" >&2
    cat "$DIR/server.log" >&2
    exit 3
fi

export STATETUNE_TEST_POSTGRES_URL="postgresql://statetune@127.0.0.1:$PORT/postgres"
echo "with_pg_test_server: PostgreSQL at $STATETUNE_TEST_POSTGRES_URL (data in $DIR)" >&2
cd "$OLDPWD_SAVED"
status=0
"$@" || status=$?
exit "$status"
