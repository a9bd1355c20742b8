#!/bin/sh
# KRR lookups of 1000 numbers on SQLite and PostgreSQL (bench/krr/README.md).
#   bench/krr/run.sh [--persons N] [--seconds S] [--concurrency 1,4] [--pg URI | --no-pg] [--no-sqlite] [--json]
# Uses build/ (or $PORTEN_BUILD); PostgreSQL from tools/pg-test.sh (PORTEN_PG_DIR) unless --pg.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
exec /usr/bin/python3 "$here/bench_krr.py" "$@"
