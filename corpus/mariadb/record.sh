#!/usr/bin/env bash
# Records the real MariaDB Audit Plugin (server_audit) output for the workload
# in workload.py.  See README.md.
#
#   corpus/mariadb/record.sh [OUTDIR]     (default OUTDIR: this directory)
#
# For each pass (full: server_audit_query_log_limit=1048576; limit1024: the
# plugin default; hostile: names that forge audit structure, see workload.py;
# semantics: statements whose meaning rdsaudit-sql must get right, see semantics.py) it starts a private mariadbd (own temp datadir, socket,
# 127.0.0.1 + free port, TZ=UTC), runs the workload through a real wire-protocol
# client, stops the server by PID, and writes
#   OUTDIR/audit-<pass>.log         the plugin's log, untouched
#   OUTDIR/expected-<pass>.jsonl    expectations derived from the workload
# Any failure (no server, no plugin, server does not start) exits non-zero.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
PY="${PYTHON:-python3}"

die() { echo "record.sh: FATAL: $*" >&2; exit 1; }
trap 'echo "record.sh: FATAL: command failed at line $LINENO: $BASH_COMMAND" >&2' ERR

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  echo "record.sh: installing mariadb-server with apt" >&2
  export DEBIAN_FRONTEND=noninteractive
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq || die "apt-get update failed"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null \
    || die "apt-get install mariadb-server failed"
fi
export PATH="$PATH:/usr/sbin"
command -v mariadbd >/dev/null || die "mariadbd not found after install"
INSTALL_DB="$(command -v mariadb-install-db || command -v mysql_install_db || true)"
[ -n "$INSTALL_DB" ] || die "mariadb-install-db not found"

PLUGIN_DIR="$(mariadbd --no-defaults --verbose --help 2>/dev/null | awk '$1 == "plugin-dir" { print $2 }' || true)"
[ -n "$PLUGIN_DIR" ] || PLUGIN_DIR=/usr/lib/mysql/plugin
[ -f "$PLUGIN_DIR/server_audit.so" ] || die "server_audit.so not found in $PLUGIN_DIR"
echo "record.sh: $(mariadbd --version)" >&2
echo "record.sh: plugin $PLUGIN_DIR/server_audit.so" >&2

SERVER_PID=""
WORK=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
  if [ -n "$WORK" ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; fi
  WORK=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

record_pass() {
  local name="$1" limit_opt="$2"
  WORK="$(mktemp -d /tmp/rdsaudit-mariadb.XXXXXX)"
  local port; port="$(free_port)"
  cat > "$WORK/init.sql" <<'SQL'
CREATE DATABASE auditdb;
CREATE USER 'rdsaudit'@'127.0.0.1' IDENTIFIED BY 'rdsaudit-pw';
GRANT ALL PRIVILEGES ON *.* TO 'rdsaudit'@'127.0.0.1' WITH GRANT OPTION;
SET GLOBAL server_audit_logging = ON;
SQL
  TZ=UTC "$INSTALL_DB" --no-defaults --user=root --datadir="$WORK/data" --skip-test-db \
    --auth-root-authentication-method=socket >"$WORK/install.log" 2>&1 \
    || { cat "$WORK/install.log" >&2; die "mariadb-install-db failed"; }

  # shellcheck disable=SC2086
  TZ=UTC mariadbd --no-defaults --user=root --datadir="$WORK/data" \
    --socket="$WORK/mysqld.sock" --port="$port" --bind-address=127.0.0.1 \
    --pid-file="$WORK/mysqld.pid" --log-error="$WORK/error.log" \
    --skip-name-resolve --skip-log-bin --innodb-buffer-pool-size=32M \
    --max-allowed-packet=64M --init-file="$WORK/init.sql" \
    --plugin-dir="$PLUGIN_DIR" --plugin-load-add=server_audit.so \
    --server-audit=FORCE_PLUS_PERMANENT \
    --server-audit-events=CONNECT,QUERY,TABLE --server-audit-output-type=file \
    --server-audit-file-path="$WORK/server_audit.log" \
    --server-audit-file-rotate-size=1073741824 $limit_opt \
    >"$WORK/mariadbd.out" 2>&1 &
  SERVER_PID=$!

  local ready=""
  for _ in $(seq 1 120); do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/error.log" >&2 || true; die "mariadbd exited during startup"; }
    # no probe connection: even a bare TCP connect is audited (FAILED_CONNECT)
    if grep -q "ready for connections" "$WORK/error.log" 2>/dev/null; then
      ready=1; break
    fi
    sleep 0.5
  done
  [ -n "$ready" ] || { cat "$WORK/error.log" >&2 || true; die "mariadbd did not become ready on port $port"; }

  if [ "$name" = semantics ]; then
    "$PY" "$HERE/semantics.py" --port "$port" --expected "$WORK/expected.jsonl" \
      || { cat "$WORK/error.log" >&2 || true; die "semantics workload failed"; }
  else
    "$PY" "$HERE/workload.py" --port "$port" --pass-name "$name" --expected "$WORK/expected.jsonl" \
      || { cat "$WORK/error.log" >&2 || true; die "workload failed (pass $name)"; }
  fi

  kill -TERM "$SERVER_PID"
  for _ in $(seq 1 120); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$SERVER_PID" 2>/dev/null && die "mariadbd (pid $SERVER_PID) did not stop"
  wait "$SERVER_PID" || true
  SERVER_PID=""

  [ -s "$WORK/server_audit.log" ] || die "no audit log written (pass $name)"
  cp "$WORK/server_audit.log" "$OUT/audit-$name.log"
  cp "$WORK/expected.jsonl" "$OUT/expected-$name.jsonl"
  echo "record.sh: pass $name: $(wc -l < "$OUT/audit-$name.log") log lines -> $OUT/audit-$name.log" >&2
  cleanup
}

# RECORD_PASSES picks passes (default: all four).
for pass in ${RECORD_PASSES:-full limit1024 hostile semantics}; do
  case "$pass" in
    full) record_pass full "--server-audit-query-log-limit=1048576" ;;
    limit1024) record_pass limit1024 "" ;;
    hostile) record_pass hostile "" ;;
    # statements rdsaudit-sql must read right (semantics.py); RESET MASTER needs a binlog
    semantics) record_pass semantics "--server-audit-query-log-limit=1048576 --log-bin=mysql-bin" ;;
    *) die "unknown pass $pass" ;;
  esac
done
