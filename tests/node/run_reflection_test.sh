#!/usr/bin/env bash
# End-to-end check that schemad is grpcurl-ready: starts a throwaway
# PostgreSQL 15 and a schemad with a tokens file, then runs
# reflection_test.mjs, a generic gRPC client that knows schemad only through
# server reflection. Exits with the Node script's exit code.
#
#   tests/node/run_reflection_test.sh
#
# Environment:
#   SCHEMAD_BIN_DIR     where schemad and schemactl live (default: build/bin)
#   SCHEMAD_TEST_PG_DIR parent directory for the cluster (default: /tmp)
#   NODE                node binary (default: node)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${SCHEMAD_BIN_DIR:-$ROOT/build/bin}
NODE=${NODE:-node}
PGPASSWORD_=${SCHEMAD_TEST_PGPASSWORD:-schemad-test-secret}

log() { echo "run_reflection_test: $*" >&2; }

# A briefly missing binary (being rebuilt) is waited for, not fatal.
for exe in schemad schemactl; do
  for _ in $(seq 1 60); do [ -x "$BIN/$exe" ] && break; sleep 1; done
  [ -x "$BIN/$exe" ] || { log "$BIN/$exe not found (set SCHEMAD_BIN_DIR)"; exit 1; }
done
[ -d "$HERE/node_modules/grpc-reflection-js" ] && [ -d "$HERE/node_modules/@grpc/grpc-js" ] ||
  { log "npm packages missing: run (cd tests/node && npm ci)"; exit 1; }

# The cluster directory itself comes from mktemp: pg-cluster hands it to the
# postgres user, which must be able to reach it. Under SCHEMAD_TEST_PG_DIR its
# name starts with private- so that scripts/test's cleanup stops the cluster
# even if this script is killed. Tokens and the schemad log stay in a separate
# directory that only we can read.
if [ -n "${SCHEMAD_TEST_PG_DIR:-}" ]; then
  PGDIR=$(mktemp -d "$SCHEMAD_TEST_PG_DIR/private-reflection.XXXXXX")
else
  PGDIR=$(mktemp -d /tmp/schemad-reflection-pg.XXXXXX)
fi
PGPARENT=$(dirname "$PGDIR")
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$PGPARENT"; then
  log "letting the postgres user traverse $PGPARENT (chmod o+x)"
  chmod o+x "$PGPARENT"
fi
WORK=$(mktemp -d /tmp/schemad-reflection-run.XXXXXX)
SCHEMAD_PID=

cleanup() {
  if [ -n "$SCHEMAD_PID" ] && kill -0 "$SCHEMAD_PID" 2>/dev/null; then
    kill -TERM "$SCHEMAD_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SCHEMAD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SCHEMAD_PID" 2>/dev/null || true
    wait "$SCHEMAD_PID" 2>/dev/null || true
  fi
  "$ROOT/scripts/pg-cluster" stop "$PGDIR" immediate || true
  rm -rf "$PGDIR" "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- PostgreSQL ---------------------------------------------------------------
PGPORT=$("$ROOT/scripts/pg-cluster" start "$PGDIR" | tail -n 1)
[[ $PGPORT =~ ^[0-9]+$ ]] || { log "pg-cluster printed no port: $PGPORT"; exit 1; }
ADMIN_URL="postgresql://postgres:$PGPASSWORD_@127.0.0.1:$PGPORT/postgres"
DB=schemad_reflection
PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null
DATABASE_URL="postgresql://postgres:$PGPASSWORD_@127.0.0.1:$PGPORT/$DB"
log "PostgreSQL on 127.0.0.1:$PGPORT, database $DB"

# --- tokens -------------------------------------------------------------------
ADMIN_TOKEN="admin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
READER_TOKEN="reader-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
TOKENS=$WORK/tokens
( umask 077; printf 'admin %s\nreader %s\n' "$ADMIN_TOKEN" "$READER_TOKEN" > "$TOKENS" )

# --- schemad ------------------------------------------------------------------
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
"$BIN/schemad" serve --listen "$ADDR" --database-url "$DATABASE_URL" --tokens-file "$TOKENS" \
  >"$WORK/schemad.log" 2>&1 &
SCHEMAD_PID=$!

ready=
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ]; do
  if ! kill -0 "$SCHEMAD_PID" 2>/dev/null; then
    log "schemad exited early:"; cat "$WORK/schemad.log" >&2; exit 1
  fi
  if "$BIN/schemactl" --server "$ADDR" --timeout 1s health --service '' >/dev/null 2>&1; then
    ready=1; break
  fi
  sleep 0.2
done
[ -n "$ready" ] || { log "schemad not healthy on $ADDR within 10 s:"; cat "$WORK/schemad.log" >&2; exit 1; }
log "schemad (pid $SCHEMAD_PID) serving on $ADDR"

# --- the test -----------------------------------------------------------------
rc=0
"$NODE" "$HERE/reflection_test.mjs" --server "$ADDR" --token "$READER_TOKEN" \
  --admin-token "$ADMIN_TOKEN" || rc=$?
if [ "$rc" != 0 ]; then
  log "schemad log:"; cat "$WORK/schemad.log" >&2
fi
exit "$rc"
