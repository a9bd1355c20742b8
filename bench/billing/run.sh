#!/bin/sh
# The billing benchmark (spec/billing.md; a benchmark, not a test): a
# settlement year of N authentication events written by billgen, then
# `portenctl billing run` timed, with its peak memory, on SQLite and, when
# PORTEN_TEST_PG names a server (tools/pg-test.sh), on PostgreSQL.
#   bench/billing/run.sh [EVENTS] [CUSTOMERS]      default 1000000 2000
# BENCH_RUNS=N runs the billing run N times on the same events (the
# elapsed, user and system time and peak memory of each).
# With PostgreSQL, a small year (BENCH_CHECK events, default 200000, 0:
# none) is first billed on both engines with a low threshold, so that
# most customers get an invoice, and the outputs (summary.json and every
# invoice) must be the same byte for byte; then so must the big year's.
# Each year goes into a database of its own on that server (billbench,
# billcheck), dropped at the end.
# Uses build/ (or $PORTEN_BUILD), where it builds the billgen target.
set -eu
umask 077  # the store warns about a database file others can read
here=$(cd "$(dirname "$0")" && pwd)
build=${PORTEN_BUILD:-$here/../../build}
pgtest=$here/../../tools/pg-test.sh
events=${1:-1000000}
customers=${2:-2000}
runs=${BENCH_RUNS:-1}
check=${BENCH_CHECK:-200000}
work=$(mktemp -d)
pgdbs=${PORTEN_TEST_PG:+billcheck billbench}
cleanup() {
	rm -rf "$work"
	for db in $pgdbs; do sh "$pgtest" dropdb "$db" || true; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cmake --build "$build" --target billgen >/dev/null

export PORTEN_ENV=test PORTEN_LOG_LEVEL=1 PORTEN_DATA=$work/data \
	PORTEN_KEK=$(head -c 32 /dev/urandom | basenc --base64url | tr -d =) \
	PORTEN_BILLING_SELLER_NAME=Bench PORTEN_BILLING_SELLER_ORGNO=991825827 \
	PORTEN_BILLING_SELLER_CITY=Oslo PORTEN_BILLING_SELLER_POSTCODE=0114 \
	PORTEN_BILLING_SELLER_ACCOUNT=76940512057
mkdir -m 0700 "$work/data"

# A fresh database NAME (one of $pgdbs) on the PostgreSQL server, its URI on stdout.
pgdb() {
	sh "$pgtest" newdb "$1"
}

one() { # name target events customers runs
	export PORTEN_STORE=$2
	t0=$(date +%s.%N)
	"$build/billgen" --store "$2" --year 2025 --events "$3" --customers "$4" >/dev/null
	t1=$(date +%s.%N)
	for i in $(seq "$5"); do
		rm -rf "$work/out-$1"
		/usr/bin/time -f '%e %U %S %M' -o "$work/time" \
			"$build/portenctl" --json billing run --year 2025 --out "$work/out-$1" >/dev/null
		read secs user sys kib <"$work/time"
		n=$(ls "$work/out-$1" | grep -c '\.xml$' || true)
		printf '%-10s %10s events  generated in %6.1f s  run in %6.2f s  (user %.2f s, sys %.2f s)  peak %6d KiB  %d invoices\n' \
			"$1" "$3" "$(echo "$t1 - $t0" | bc)" "$secs" "$user" "$sys" "$kib" "$n"
		# the same events give the same output, run after run
		(cd "$work/out-$1" && sha256sum ./*) >"$work/sums-$1.$i"
		cmp -s "$work/sums-$1.1" "$work/sums-$1.$i" ||
			{ echo "$1: run $i's output differs from run 1's"; exit 1; }
	done
	cp "$work/sums-$1.1" "$work/sums-$1"
}

same() { # a b
	if cmp -s "$work/sums-$1" "$work/sums-$2"; then
		echo "$1 and $2: identical output ($(wc -l <"$work/sums-$1") files)"
	else
		echo "$1 and $2: OUTPUT DIFFERS"
		diff "$work/sums-$1" "$work/sums-$2" || true
		exit 1
	fi
}

if [ -n "${PORTEN_TEST_PG:-}" ] && [ "$check" -gt 0 ]; then
	export PORTEN_BILLING_THRESHOLD=1000
	one check-sq "$work/data/check.db" "$check" 100 1
	one check-pg "$(pgdb billcheck)" "$check" 100 1
	same check-sq check-pg
	unset PORTEN_BILLING_THRESHOLD
fi
one sqlite "$work/data/porten.db" "$events" "$customers" "$runs"
rm -f "$work/data/porten.db"*
if [ -n "${PORTEN_TEST_PG:-}" ]; then
	one pg "$(pgdb billbench)" "$events" "$customers" "$runs"
	same sqlite pg
fi
