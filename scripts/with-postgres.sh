#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL on loopback, exported as FELLESPLAN_TEST_PG_URL.
# Installs Debian's postgresql when missing, and always tears the cluster down.
set -euo pipefail

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

if ! PGBIN=$(find_bin); then
  echo "PostgreSQL not found: installing Debian's postgresql" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(find_bin)
fi

WORK=$(mktemp -d /tmp/fellesplan-pg.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
AS=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root: the cluster belongs to the postgres system user.
  id postgres >/dev/null 2>&1 || useradd --system --home "$WORK" postgres
  chown postgres "$WORK"
  AS=(runuser -u postgres --)
fi

cleanup() {
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"${AS[@]}" "$PGBIN/initdb" -D "$WORK/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w -o \
  "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on" start >/dev/null

export FELLESPLAN_TEST_PG_URL="postgresql+asyncpg://postgres@127.0.0.1:$PORT/postgres"
echo "PostgreSQL test cluster on 127.0.0.1:$PORT" >&2
"$@"
