#!/usr/bin/env bash
# Installs Debian's PostgreSQL server when no initdb is on PATH or under /usr/lib/postgresql.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
echo "PostgreSQL server binaries not found: installing Debian's postgresql package" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql postgresql-client
# Debian's package starts a system cluster; ours are embedded, so leave it stopped.
$SUDO service postgresql stop >/dev/null 2>&1 || true
