#!/usr/bin/env bash
# Ensures a throwaway PostgreSQL server for the test suites runs on 127.0.0.1 only, installing
# Debian's postgresql package when it is missing. Prints an admin DSN (test-only credentials) on
# stdout; progress goes to stderr. Idempotent: a running cluster is reused.
set -euo pipefail
port=${K8SM_TEST_PG_PORT:-55432}
name=k8sm-test
sudo="" as_pg="runuser -u postgres --"
if [ "$(id -u)" != 0 ]; then sudo=sudo as_pg="sudo -u postgres"; fi

if ! command -v pg_createcluster >/dev/null 2>&1; then
  echo "postgres: installing Debian's postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq postgresql >&2
fi
ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)

if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$name"; then
  echo "postgres: creating cluster $ver/$name on 127.0.0.1:$port" >&2
  $sudo pg_createcluster "$ver" "$name" --port "$port" >&2
fi
# Settings live in a conf.d drop-in, (re)written every time so a half-made cluster mends itself.
$sudo tee "/etc/postgresql/$ver/$name/conf.d/k8sm-test.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
fsync = off              # test data only: speed over durability
synchronous_commit = off
max_connections = 200
CONF
if ! pg_lsclusters -h | awk -v n="$name" '$2==n {print $4}' | grep -qx online; then
  $sudo pg_ctlcluster "$ver" "$name" start >&2
fi
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.2
done
pg_isready -h 127.0.0.1 -p "$port" >&2
cd / # psql runs as the postgres user, who may not enter the current folder
$as_pg psql -q -p "$port" -v ON_ERROR_STOP=1 >&2 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'k8sm') THEN
    CREATE ROLE k8sm LOGIN SUPERUSER PASSWORD 'k8sm-test';
  END IF;
END $$;
SQL
echo "postgres://k8sm:k8sm-test@127.0.0.1:$port/postgres?sslmode=disable"
