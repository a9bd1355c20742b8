#!/bin/sh
# tools/check-layers.sh against small made-up trees: it passes a tree that
# keeps its layers and fails each kind of breach.
set -eu

check=$(cd "$(dirname "$0")/../.." && pwd)/tools/check-layers.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# A clean tree: core at the bottom, http on it, a top-level main.c over all.
fresh() {
	rm -rf "$tmp/t"
	mkdir -p "$tmp/t/tools" "$tmp/t/src/core" "$tmp/t/src/http"
	cat >"$tmp/t/tools/layers.txt" <<'L'
# test layers
main: *
http: core
core:
wall <microhttpd.h> http/
wall SQL store/
L
	printf '#include "core/str.h"\n#include "str_int.h"\n' >"$tmp/t/src/core/str.c"
	printf 'int x;\n' >"$tmp/t/src/core/str.h"
	printf 'int y;\n' >"$tmp/t/src/core/str_int.h"
	printf '#include <microhttpd.h>\n#include "core/str.h"\n#include "http.h"\n' \
		>"$tmp/t/src/http/server.c"
	printf '#include "core/str.h"\n' >"$tmp/t/src/http/http.h"
	printf '#include "http/http.h"\n#include "core/str.h"\n' >"$tmp/t/src/main.c"
}

# expect pass|fail "what" [text the output must hold]  (objs: objects for the nm pass)
objs=
expect() {
	want=$1 what=$2 text=${3:-}
	if sh "$check" "$tmp/t" $objs >"$tmp/out" 2>&1; then got=pass; else got=fail; fi
	if [ "$got" != "$want" ]; then
		echo "FAIL: $what: expected $want, got $got:"; sed 's/^/    /' "$tmp/out"
		fails=$((fails + 1))
	elif [ -n "$text" ] && ! grep -qF -- "$text" "$tmp/out"; then
		echo "FAIL: $what: output lacks \"$text\":"; sed 's/^/    /' "$tmp/out"
		fails=$((fails + 1))
	else
		echo "ok: $what"
	fi
}

fresh
expect pass "a clean tree"

fresh
printf '#include "http/http.h"\n' >>"$tmp/t/src/core/str.c"
expect fail "an upward include" "src/core/str.c:3: includes http/http.h"

fresh
printf '#include "../http/http.h"\n' >>"$tmp/t/src/core/str.h"
expect fail "an upward include by a relative path" "src/core/str.h:2: includes http/http.h"

fresh
printf '#include "core/str_int.h"\n' >>"$tmp/t/src/http/server.c"
expect fail "a private header from another folder" "includes core/str_int.h, private to core/"

fresh
printf '#include <microhttpd.h>\n' >>"$tmp/t/src/core/str.c"
expect fail "a library outside its wall" "src/core/str.c:3: <microhttpd.h> outside"

fresh
sed -i 's|^wall <microhttpd.h> http/$|wall <microhttpd.h> http/server.c|' "$tmp/t/tools/layers.txt"
expect pass "a wall around one file"
printf '#include <microhttpd.h>\n' >"$tmp/t/src/http/parse.c"
expect fail "a library beside its file" "src/http/parse.c:1: <microhttpd.h> outside http/server.c"

fresh
printf 'static const char *q = "SELECT a FROM t WHERE b = ?";\n' >>"$tmp/t/src/http/server.c"
expect fail "SQL text outside the store" "src/http/server.c:4: SQL outside"

fresh
mkdir "$tmp/t/src/sms"
printf 'int z;\n' >"$tmp/t/src/sms/sms.c"
expect fail "a folder without a line" "no line for sms"

fresh
printf '#include "http/http.h"\n' >>"$tmp/t/src/core/str.c"
printf 'src/core/str.c  http/http.h   # step 9\n' >"$tmp/t/tools/layers-allow.txt"
expect pass "a breach on the allow-list"

fresh
printf 'src/core/str.c  http/http.h   # step 9\n' >"$tmp/t/tools/layers-allow.txt"
expect fail "an allow-list line nothing needs" "no longer needed, delete: src/core/str.c  http/http.h"

fresh
printf '#include <microhttpd.h>\n' >>"$tmp/t/src/core/str.c"
printf 'src/core/str.c  <microhttpd.h>\n' >"$tmp/t/tools/layers-allow.txt"
expect pass "a wall breach on the allow-list"

# The nm pass: objects made from small sources that call each other
# through hand-written declarations, which the include check cannot see.
# obj FILE CODE: compile CODE into the object of src/FILE
obj() {
	mkdir -p "$tmp/o/$(dirname "$1")"
	printf '%s\n' "$2" >"$tmp/o/src.c"
	${CC:-cc} -c -o "$tmp/o/$1.o" "$tmp/o/src.c"
}
fresh
rm -rf "$tmp/o"
obj core/str.c 'void str_go(void); void str_go(void) {}'
obj http/server.c 'void str_go(void); void http_go(void); void http_go(void) { str_go(); }'
objs=$tmp/o
expect pass "objects that call down"

obj core/str.c 'void http_go(void); void str_go(void); void str_go(void) { http_go(); }'
expect fail "a call up through a hand-written declaration" \
	"src/core/str.c: calls http_go of http/server.c"

printf 'src/core/str.c  calls:http   # step 9\n' >"$tmp/t/tools/layers-allow.txt"
expect pass "a call up on the allow-list"

obj core/str.c 'void str_go(void); void str_go(void) {}'
expect fail "a calls: line nothing needs" "no longer needed, delete: src/core/str.c  calls:http"

objs=
expect pass "calls: lines wait for the objects"

[ "$fails" -eq 0 ] || { echo "$fails case(s) failed"; exit 1; }
