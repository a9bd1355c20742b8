#!/bin/sh
# Build every fuzz target with libFuzzer (clang) and run each for $1 seconds
# on a copy of its corpus.  New crashing inputs land in build-fuzz/.
set -eu
secs=${1:-60}
out=build-fuzz
mkdir -p "$out"
srcs=$(ls src/*/*.c src/app.c | grep -v '/cli/')
flags="-std=gnu11 -g -O1 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined"
libs=$(pkg-config --cflags --libs libmicrohttpd jansson cjose sqlite3 openssl)
for t in tests/fuzz/fuzz_*.c; do
	name=$(basename "$t" .c)
	short=${name#fuzz_}
	echo "== $short"
	clang $flags "$t" $srcs $libs -lpthread -lm -o "$out/$name"
	mkdir -p "$out/corpus-$short"
	cp -n tests/fuzz/corpus/$short/* "$out/corpus-$short/" 2>/dev/null || true
	"$out/$name" -max_total_time="$secs" -artifact_prefix="$out/$short-" "$out/corpus-$short" 2>&1 | tail -n 3
done
