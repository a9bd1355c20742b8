#!/bin/sh
# Build every fuzz target with libFuzzer (clang, ASan, UBSan) and run each
# for $1 seconds (default 60) on a copy of its corpus; more arguments name
# the targets to run (default: all of tests/fuzz/fuzz_*.c).
#   sh tools/fuzz.sh 600 authorize par
# Crashing inputs land in build-fuzz/<target>-crash-*; build-fuzz/summary.txt
# gets one line per run: target, executions, seconds, result.  A crash found
# goes into tests/fuzz/corpus/<target>/ once fixed, as a regression input.
set -eu
secs=${1:-60}
[ $# -gt 0 ] && shift
out=build-fuzz
jobs=$(nproc 2>/dev/null || echo 2)
mkdir -p "$out/obj"

cflags="-std=gnu11 -g -O1 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer-no-link,address,undefined"
pkgs="libmicrohttpd jansson cjose sqlite3 openssl libsodium liboath libcurl libp11 p11-kit-1
	lasso glib-2.0 gobject-2.0 libxml-2.0 xmlsec1-openssl zlib libpsl libqrencode"
if pkg-config --exists libpq; then
	pkgs="$pkgs libpq"
	cflags="$cflags -DHAVE_LIBPQ"
fi
# libgd is opened with dlopen when a chart is drawn (src/billing/plot.c): its headers only.
cflags="$cflags $(pkg-config --cflags $pkgs gdlib)"
libs="$(pkg-config --libs $pkgs) -ldl -lunistring -lpthread -lm"

# The library once (what the server links, less main.c and portenctl), in parallel.
export cflags out
rm -f "$out"/obj/*.o "$out/libporten-fuzz.a"
find src -name '*.c' ! -path 'src/main.c' ! -path 'src/portenctl.c' | sort |
	xargs -P"$jobs" -I{} sh -c 'clang $cflags -c "$1" -o "$out/obj/$(echo "$1" | tr / _).o"' _ {}
# The store's schemas, embedded as the build embeds them (CMakeLists.txt).
for engine in sqlite pg; do
	sym=store_pg_migrations
	[ "$engine" = sqlite ] && sym=store_sq_migrations
	cmake -DIN="src/store/schema/$engine.sql" -DOUT="$out/schema_$engine.c" -DNAME=$sym \
		-P cmake/embed-sql.cmake
	clang $cflags -c "$out/schema_$engine.c" -o "$out/obj/schema_$engine.o"
done
ar rcs "$out/libporten-fuzz.a" "$out"/obj/*.o

if [ $# -gt 0 ]; then
	targets=$(for t in "$@"; do echo "tests/fuzz/fuzz_$t.c"; done)
else
	targets=$(ls tests/fuzz/fuzz_*.c)
fi
status=0
for t in $targets; do
	name=$(basename "$t" .c)
	short=${name#fuzz_}
	echo "== $short"
	clang $cflags -fsanitize=fuzzer,address,undefined "$t" "$out/libporten-fuzz.a" $libs \
		-o "$out/$name"
	mkdir -p "$out/corpus-$short"
	cp -n tests/fuzz/corpus/$short/* "$out/corpus-$short/" 2>/dev/null || true
	rc=0
	"$out/$name" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
		-artifact_prefix="$out/$short-" "$out/corpus-$short" >"$out/$short.log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$short.log")
	tail -n 3 "$out/$short.log"
	if [ "$rc" -eq 0 ]; then
		echo "$short ${execs:-0} ${secs}s ok" >>"$out/summary.txt"
	else
		echo "$short ${execs:-0} ${secs}s FAILED (see $out/$short.log)" >>"$out/summary.txt"
		status=1
	fi
done
exit $status
