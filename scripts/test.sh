#!/usr/bin/env bash
# The whole Athanor test suite: formatting, lints, and every test of every crate.
# Tests run in release mode: the twin, the vision pipeline and the planner are numeric code and
# the end-to-end tests run whole campaigns (including one killed and resumed many times).
set -euo pipefail
cd "$(dirname "$0")/.."

# --- A throw-away PostgreSQL server, so that athanor-store's test suite also runs on PostgreSQL.
# The store tests read ATHANOR_TEST_POSTGRES_URL; set it yourself to use an existing server
# (then none is started here). The server listens on 127.0.0.1 only, on a free port, with trust
# authentication and fsync off (test data need not survive a power cut), and is stopped and its
# directory deleted when this script exits, however it exits.
find_postgres_bin() {
    local dir
    for dir in /usr/local/bin /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

start_test_postgres() {
    local bin
    if ! bin=$(find_postgres_bin); then
        echo "PostgreSQL server binaries not found; installing them (one time)" >&2
        if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
            echo "ERROR: cannot install PostgreSQL (need root and apt-get); install initdb/pg_ctl/postgres" \
                 "or set ATHANOR_TEST_POSTGRES_URL to an existing server" >&2
            exit 1
        fi
        apt-get update -qq
        if apt-cache policy postgresql-15 | grep -q 'Candidate: [0-9]'; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >&2
        else
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        fi
        bin=$(find_postgres_bin) || { echo "ERROR: PostgreSQL installed but initdb not found" >&2; exit 1; }
    fi

    # initdb refuses to run as root: as root, the cluster belongs to an unprivileged user.
    local run_as=()
    PG_TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/athanor-pg.XXXXXX")
    if [ "$(id -u)" -eq 0 ]; then
        local user=nobody
        id "$user" >/dev/null 2>&1 || { useradd --system --no-create-home athanor-test; user=athanor-test; }
        chown "$user" "$PG_TEST_DIR"
        run_as=(runuser -u "$user" --)
    fi
    PG_TEST_CTL=("${run_as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data")
    # Stop and delete the server however the script ends (an interrupt exits, which runs EXIT).
    trap stop_test_postgres EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM

    "${run_as[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U athanor --auth=trust -E UTF8 \
        --no-locale --no-sync >"$PG_TEST_DIR/initdb.log" 2>&1 \
        || { cat "$PG_TEST_DIR/initdb.log" >&2; echo "ERROR: initdb failed" >&2; exit 1; }

    local port started=""
    for port in $(seq 54330 54429); do
        # Skip ports something already listens on; a race with another process is caught by
        # pg_ctl failing to start, and then the next port is tried.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue
        fi
        if "${PG_TEST_CTL[@]}" start -w -t 60 -l "$PG_TEST_DIR/server.log" \
            -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            >/dev/null 2>&1; then
            started=$port
            break
        fi
    done
    if [ -z "$started" ]; then
        cat "$PG_TEST_DIR/server.log" >&2 || true
        echo "ERROR: could not start the test PostgreSQL server on any port in 54330-54429" >&2
        exit 1
    fi
    "${run_as[@]}" "$bin/postgres" --version >&2
    # Create the test database as the superuser "athanor" (trust authentication); without the
    # createdb client program, the database "postgres" that initdb made serves as well.
    local createdb="$bin/createdb" database=athanor_test
    [ -x "$createdb" ] || createdb=$(dirname "$(readlink -f "$bin/initdb")")/createdb
    if [ -x "$createdb" ]; then
        "$createdb" -h 127.0.0.1 -p "$started" -U athanor "$database"
    else
        database=postgres
    fi
    export ATHANOR_TEST_POSTGRES_URL="postgres://athanor@127.0.0.1:$started/$database"
    echo "== test PostgreSQL server at $ATHANOR_TEST_POSTGRES_URL (data in $PG_TEST_DIR)"
}

stop_test_postgres() {
    if [ -n "${PG_TEST_DIR:-}" ]; then
        "${PG_TEST_CTL[@]}" stop -m immediate >/dev/null 2>&1 || true
        rm -rf "$PG_TEST_DIR"
    fi
}

if ! command -v cargo-nextest >/dev/null 2>&1; then
    echo "cargo-nextest not found; installing it (one time)" >&2
    cargo install --locked cargo-nextest
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --release --workspace --all-targets -- -D warnings
echo "== tests"
if [ -z "${ATHANOR_TEST_POSTGRES_URL:-}" ]; then
    start_test_postgres
else
    echo "== using the PostgreSQL server at ATHANOR_TEST_POSTGRES_URL"
fi
cargo nextest run --release --workspace --no-fail-fast
cargo test --release --workspace --doc
