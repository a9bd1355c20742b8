#!/bin/sh
# The billing benchmark (spec/billing.md; a benchmark, not a test): a
# settlement year of N authentication events written by billgen, then
# `portenctl billing run` timed, with its peak memory, on SQLite and, when
# PORTEN_TEST_PG names a database (tools/pg-test.sh), on PostgreSQL.
#   bench/billing/run.sh [EVENTS] [CUSTOMERS]      default 1000000 2000
# BENCH_RUNS=N runs the billing run N times on the same events (the
# elapsed, user and system time and peak memory of each).
# Uses build/ (or $PORTEN_BUILD), where it builds the billgen target.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${PORTEN_BUILD:-$here/../../build}
events=${1:-1000000}
customers=${2:-2000}
runs=${BENCH_RUNS:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cmake --build "$build" --target billgen >/dev/null

export PORTEN_ENV=test PORTEN_LOG_LEVEL=1 PORTEN_DATA=$work/data \
	PORTEN_KEK=$(head -c 32 /dev/urandom | basenc --base64url | tr -d =) \
	PORTEN_BILLING_SELLER_NAME=Bench PORTEN_BILLING_SELLER_ORGNO=991825827 \
	PORTEN_BILLING_SELLER_CITY=Oslo PORTEN_BILLING_SELLER_POSTCODE=0114 \
	PORTEN_BILLING_SELLER_ACCOUNT=76940512057
mkdir -m 0700 "$work/data"

one() { # name target
	export PORTEN_STORE=$2
	t0=$(date +%s.%N)
	"$build/billgen" --store "$2" --year 2025 --events "$events" --customers "$customers"
	t1=$(date +%s.%N)
	for i in $(seq "$runs"); do
		rm -rf "$work/out-$1"
		/usr/bin/time -f '%e %U %S %M' -o "$work/time" \
			"$build/portenctl" --json billing run --year 2025 --out "$work/out-$1" >/dev/null
		read secs user sys kib <"$work/time"
		n=$(ls "$work/out-$1" | grep -c '\.xml$' || true)
		printf '%-10s %10s events  generated in %6.1f s  run in %6.2f s  (user %.2f s, sys %.2f s)  peak %6d KiB  %d invoices\n' \
			"$1" "$events" "$(echo "$t1 - $t0" | bc)" "$secs" "$user" "$sys" "$kib" "$n"
	done
	sha256sum "$work/out-$1"/* | sed "s|$work/out-$1/||" >"$work/sums-$1"
}

one sqlite "$work/data/porten.db"
if [ -n "${PORTEN_TEST_PG:-}" ]; then
	one pg "$PORTEN_TEST_PG"
	cmp -s "$work/sums-sqlite" "$work/sums-pg" && echo "sqlite and pg: identical output" ||
		echo "sqlite and pg: OUTPUT DIFFERS"
fi
