# shellcheck shell=bash
# Sourced by .ci/run (as root, Debian): start a throwaway PostgreSQL server on 127.0.0.1 and
# export AUTOML_TEST_POSTGRES_URL for the tracking/registry store tests. Returns non-zero (and
# leaves the variable unset, so those tests skip with the reason) when anything fails.

_automl_pg_start() {
    local bindir datadir port
    if ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
        echo "postgres.sh: installing PostgreSQL from Debian's packages"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || return 1
    fi
    bindir=$(find /usr/lib/postgresql/*/bin -maxdepth 0 | sort -V | tail -n 1)
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres || return 1
    datadir=$(mktemp -d /tmp/automl-pg.XXXXXX) || return 1
    chown postgres "$datadir" || return 1
    port=55432
    while (: >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    runuser -u postgres -- "$bindir/initdb" -D "$datadir/data" -A trust -U postgres \
        --no-sync >"$datadir/initdb.log" 2>&1 || { cat "$datadir/initdb.log"; return 1; }
    runuser -u postgres -- "$bindir/pg_ctl" -D "$datadir/data" -l "$datadir/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $datadir -c fsync=off -c max_connections=200" \
        start >/dev/null || { cat "$datadir/server.log"; return 1; }
    runuser -u postgres -- "$bindir/psql" -q -h 127.0.0.1 -p "$port" -d postgres \
        -c "CREATE USER automl WITH PASSWORD 'automl'" \
        -c "CREATE DATABASE automl OWNER automl" || return 1
    export AUTOML_PG_DATADIR="$datadir" AUTOML_PG_BINDIR="$bindir"
    export AUTOML_TEST_POSTGRES_URL="postgresql+psycopg://automl:automl@127.0.0.1:$port/automl"
    echo "postgres.sh: PostgreSQL running, AUTOML_TEST_POSTGRES_URL=$AUTOML_TEST_POSTGRES_URL"
}

# Stop the server and delete its data (called on exit of the shell that sourced this file).
automl_pg_stop() {
    if [ -n "${AUTOML_PG_DATADIR:-}" ] && [ -d "$AUTOML_PG_DATADIR/data" ]; then
        runuser -u postgres -- "$AUTOML_PG_BINDIR/pg_ctl" -D "$AUTOML_PG_DATADIR/data" -m fast \
            stop >/dev/null 2>&1
        rm -rf "$AUTOML_PG_DATADIR"
    fi
}

if _automl_pg_start; then
    trap automl_pg_stop EXIT
else
    unset AUTOML_TEST_POSTGRES_URL
    false
fi
