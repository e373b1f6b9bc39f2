# pg.sh - a private PostgreSQL server for one test (Debian's server binaries,
# /usr/lib/postgresql/*/bin: package postgresql).
#
# Sourced by a bash test:
#   . "$OFLASH_SRC/tests/lib/pg.sh"
#   trap pg_cleanup EXIT
#   pg_start        # initdb + postgres in a mktemp -d directory, TCP on
#                   # 127.0.0.1 at a free port, trust authentication;
#                   # exports PG_BIN PG_DIR PG_PORT PG_PID PG_URL
#                   # (PG_URL: postgresql://oflash@127.0.0.1:PORT/oflash, empty)
#   pg_newdb NAME   # prints the URL of a new, empty database NAME
#   pg_psql DB SQL  # runs SQL in database DB
#   pg_stop         # fast shutdown by PID; waits until the server is gone
#   pg_start_again  # starts the server again on the same data and port
#   pg_restart      # pg_stop + pg_start_again
#   pg_cleanup      # pg_stop + rm -rf PG_DIR
# Run as a program with stop|start|restart it acts on the server the
# exported variables name (for C tests: system("bash .../pg.sh restart")).
#
# PostgreSQL refuses to run as root: as root the server runs as the user
# nobody (runuser), which owns PG_DIR.  PG_FSYNC=on keeps fsync (the
# benchmark); tests run with fsync off (a clean stop still writes
# everything; only an OS crash could lose data).

_pg_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_pg_here/ports.sh"

_pg_as() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}

_pg_launch() {
    _pg_as "$PG_BIN/postgres" -D "$PG_DIR/data" -p "$PG_PORT" -c listen_addresses=127.0.0.1 \
        -c unix_socket_directories= -c fsync="${PG_FSYNC:-off}" -c max_connections=100 \
        -c log_min_messages=warning >>"$PG_DIR/server.log" 2>&1 &
    local launcher=$!
    # This server listening on the port (not another test's server that
    # took the picked port meanwhile: ours then exits, "in use").
    if ! wait_listen "$PG_PORT" "$launcher" 400; then
        pg_stop
        wait "$launcher" 2>/dev/null || true
        echo "pg.sh: the PostgreSQL server did not start on port $PG_PORT; its log:" >&2
        tail -20 "$PG_DIR/server.log" >&2
        return 1
    fi
    PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
    export PG_PID
    # Accepting TCP is not accepting sessions ("starting up"): wait for that.
    local i
    for i in $(seq 200); do
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres && return 0
        sleep 0.05
    done
    echo "pg.sh: the PostgreSQL server does not accept sessions after 10 s" >&2
    return 1
}

pg_start() {
    if [ -z "${PG_BIN:-}" ]; then
        PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    fi
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/postgres" ]; then
        echo "pg.sh: PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin" \
            "(install the Debian package postgresql: scripts/install-deps.sh)" >&2
        return 1
    fi
    PG_DIR=$(mktemp -d)
    if [ "$(id -u)" = 0 ]; then
        chown nobody "$PG_DIR"
        if ! runuser -u nobody -- test -w "$PG_DIR"; then
            # TMPDIR not reachable by nobody: a directory under /tmp then.
            rmdir "$PG_DIR"
            PG_DIR=$(mktemp -d -p /tmp)
            chown nobody "$PG_DIR"
        fi
    fi
    export PG_BIN PG_DIR
    if ! _pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U oflash -A trust -E UTF8 --locale=C \
        --no-sync >"$PG_DIR/initdb.log" 2>&1; then
        echo "pg.sh: initdb failed:" >&2
        cat "$PG_DIR/initdb.log" >&2
        return 1
    fi
    # The port is picked, so another test may take it before postgres
    # binds it: then a fresh port (5 tries).
    local tries=0
    while :; do
        PG_PORT=$(pick_port) || { echo "pg.sh: no free port" >&2; return 1; }
        export PG_PORT
        _pg_launch && break
        tries=$((tries + 1))
        [ $tries -lt 5 ] || return 1
    done
    pg_psql postgres "CREATE DATABASE oflash" >/dev/null || return 1
    PG_URL="postgresql://oflash@127.0.0.1:$PG_PORT/oflash"
    export PG_URL
}

pg_psql() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U oflash -d "$1" -c "$2"
}

pg_newdb() {
    pg_psql postgres "CREATE DATABASE $1" >/dev/null || return 1
    echo "postgresql://oflash@127.0.0.1:$PG_PORT/$1"
}

pg_stop() {
    # The pid file is the truth: a restart from a child process (pg.sh
    # restart) leaves this shell's PG_PID stale.
    if [ -n "${PG_DIR:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
        PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
    fi
    [ -n "${PG_PID:-}" ] || return 0
    kill -INT "$PG_PID" 2>/dev/null || { PG_PID=; return 0; }
    local i
    for i in $(seq 400); do
        kill -0 "$PG_PID" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$PG_PID" 2>/dev/null; then
        kill -KILL "$PG_PID" 2>/dev/null
        echo "pg.sh: the server did not stop in 20 s; killed" >&2
    fi
    PG_PID=
    export PG_PID
}

pg_start_again() {
    _pg_launch
}

pg_restart() {
    pg_stop && pg_start_again
}

pg_cleanup() {
    pg_stop
    [ -n "${PG_DIR:-}" ] && rm -rf "$PG_DIR"
    PG_DIR=
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    case "${1:-}" in
    stop) pg_stop ;;
    start) pg_start_again ;;
    restart) pg_restart ;;
    *) echo "usage: pg.sh stop|start|restart (with PG_BIN PG_DIR PG_PORT PG_PID exported)" >&2; exit 2 ;;
    esac
fi
