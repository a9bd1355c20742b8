#!/bin/sh
# The layer check (ARCHITECTURE.md "Layers"): every #include "..." in src/
# stays in its unit or names a unit that tools/layers.txt allows; no
# *_int.h is included from another directory; the library walls of
# layers.txt hold.  Known breaches are listed one a line in
# tools/layers-allow.txt, each with the step that removes it; a line there
# that no longer matches anything is an error too, so a step that fixes a
# breach also deletes its line.
#
#   tools/check-layers.sh [root [objects]]
#     root     the tree holding src/ and tools/ (default: this script's parent)
#     objects  where the build put the objects of src/ (for CMake
#              <build>/CMakeFiles/porten.dir/src): a second pass reads them
#              with nm and fails a call into a unit the caller may not
#              include, made through a hand-written declaration; its
#              allow-list lines name "calls:<unit>"
# Exit 0 when the tree keeps its layers, 1 with one line per breach.
set -eu

root=${1:-$(dirname "$0")/..}
objects=${2:-}
if [ -n "$objects" ]; then
	[ -d "$objects" ] || { echo "check-layers: no objects in $objects" >&2; exit 2; }
	objects=$(cd "$objects" && pwd)
fi
cd "$root"
layers=tools/layers.txt
allow=tools/layers-allow.txt
[ -d src ] || { echo "check-layers: no src/ in $root" >&2; exit 2; }
[ -f "$layers" ] || { echo "check-layers: no $layers in $root" >&2; exit 2; }
[ -f "$allow" ] || allow=/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

find src -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort >"$tmp/files"

# Quoted includes: "file<TAB>line<TAB>included name".
xargs grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' <"$tmp/files" |
	sed -E 's/^([^:]*):([0-9]+):[^"]*"([^"]*)".*/\1	\2	\3/' >"$tmp/incs" || true

# Wall hits: "file<TAB>line<TAB>wall name".
: >"$tmp/walls"
grep -E '^wall[[:space:]]' "$layers" | while read -r _ name _rest; do
	if [ "$name" = SQL ]; then
		xargs grep -nE '"[^"]*\b(SELECT|INSERT INTO|UPDATE [A-Za-z_]+ SET|DELETE FROM|CREATE (TABLE|INDEX|UNIQUE INDEX))\b' \
			<"$tmp/files" || true
	else
		xargs grep -nF "$name" <"$tmp/files" |
			grep -E '^[^:]*:[0-9]+:[[:space:]]*#[[:space:]]*include[[:space:]]*<' |
			awk -v n="$name" -F: '{ l = $0; sub(/^[^:]*:[^:]*:/, "", l);
				sub(/^[[:space:]]*#[[:space:]]*include[[:space:]]*/, "", l);
				if (index(l, n) == 1) print }' || true
	fi | sed -E "s/^([^:]*):([0-9]+):.*/\\1	\\2	$(printf '%s' "$name" | sed 's/[\/&]/\\&/g')/"
done >>"$tmp/walls"

# Symbols: "symbol<TAB>file defining it" and "file<TAB>symbol it needs", for
# the objects whose source is still there (a build keeps stale ones).
: >"$tmp/defs"
: >"$tmp/undefs"
if [ -n "$objects" ]; then
	(cd "$objects" && find . -name '*.c.o') | sed 's|^\./||' | LC_ALL=C sort |
	while read -r o; do
		f=src/${o%.o}
		[ -f "$f" ] || continue
		nm -g --defined-only "$objects/$o" |
			awk -v f="$f" 'NF == 3 && $2 ~ /^[BCDGRSTVW]$/ { print $3 "\t" f }' >>"$tmp/defs"
		nm -u "$objects/$o" | awk -v f="$f" '{ print f "\t" $NF }' >>"$tmp/undefs"
	done
fi

LC_ALL=C awk -F'\t' -v layers="$layers" -v allow="$allow" -v files="$tmp/files" \
	-v walls="$tmp/walls" -v defs="$tmp/defs" -v undefs="$tmp/undefs" -v nm="${objects:+1}" '
function unit_of(p,   rest, n, parts) {
	rest = substr(p, 5)                     # after "src/"
	n = split(rest, parts, "/")
	if (n > 1)
		return parts[1]
	sub(/\.[ch]$/, "", rest)
	return rest
}
function dir_of(p) {
	if (p !~ /\//)
		return "."
	sub(/\/[^\/]*$/, "", p)
	return p
}
# a/b/../c -> a/c, a/./b -> a/b
function norm(p,   n, parts, out, k, i) {
	n = split(p, parts, "/")
	k = 0
	for (i = 1; i <= n; i++) {
		if (parts[i] == "" || parts[i] == ".")
			continue
		if (parts[i] == ".." && k > 0 && out[k] != "..") {
			k--
			continue
		}
		out[++k] = parts[i]
	}
	p = ""
	for (i = 1; i <= k; i++)
		p = p (i > 1 ? "/" : "") out[i]
	return p
}
function may(u, t) {
	return u == t || allowed[u] == "*" || index(" " allowed[u] " ", " " t " ") > 0
}
function under(f, prefixes,   n, parts, i) {
	n = split(prefixes, parts, " ")
	for (i = 1; i <= n; i++)
		if (index(f, "src/" parts[i]) == 1)
			return 1
	return 0
}
function breach(key, msg) {
	if (key in allowed_breach) {
		allowed_breach[key] = "used"
		return
	}
	print msg
	bad = 1
}
BEGIN {
	while ((getline line < layers) > 0) {
		sub(/#.*/, "", line)
		if (line ~ /^[[:space:]]*$/)
			continue
		if (line ~ /^wall[[:space:]]/) {
			n = split(line, w, /[[:space:]]+/)
			pre = ""
			for (i = 3; i <= n; i++)
				pre = pre " " w[i]
			wall[w[2]] = pre
			continue
		}
		if (line !~ /^[A-Za-z0-9_.-]+:/) {
			print layers ": cannot read \"" line "\""
			bad = 1
			continue
		}
		u = line
		sub(/:.*/, "", u)
		rest = line
		sub(/^[^:]*:[[:space:]]*/, "", rest)
		gsub(/[[:space:]]+/, " ", rest)
		sub(/ $/, "", rest)
		allowed[u] = rest
		declared[u] = 1
	}
	while ((getline line < allow) > 0) {
		sub(/#.*/, "", line)
		if (line ~ /^[[:space:]]*$/)
			continue
		n = split(line, w, /[[:space:]]+/)
		if (w[1] == "")
			key = w[2] " " w[3]
		else
			key = w[1] " " w[2]
		allowed_breach[key] = "unused"
		sub(/[[:space:]]+$/, "", line)
		allow_text[key] = line
	}
	while ((getline f < files) > 0) {
		exists[f] = 1
		u = unit_of(f)
		if (!(u in declared) && !(u in undeclared)) {
			undeclared[u] = 1
			print layers ": no line for " u " (" f ")"
			bad = 1
		}
	}
	while ((getline line < walls) > 0) {
		split(line, w, "\t")
		if (!under(w[1], wall[w[3]]))
			breach(w[1] " " w[3], w[1] ":" w[2] ": " w[3] " outside" wall[w[3]])
	}
	while ((getline line < defs) > 0) {
		split(line, w, "\t")
		definer[w[1]] = w[2]
	}
	while ((getline line < undefs) > 0) {
		split(line, w, "\t")
		if (!(w[2] in definer))
			continue                 # defined by a library, not in src/
		u = unit_of(w[1]); t = unit_of(definer[w[2]])
		if (may(u, t) || ((w[1] " calls:" t) in reported))
			continue
		reported[w[1] " calls:" t] = 1
		breach(w[1] " calls:" t, w[1] ": calls " w[2] " of " substr(definer[w[2]], 5) \
		       " (" u " may include: " allowed[u] ")")
	}
}
{
	f = $1; inc = $3
	if ((dir_of(f) "/" inc) in exists || norm(dir_of(f) "/" inc) in exists)
		r = norm(dir_of(f) "/" inc)
	else if (("src/" inc) in exists)
		r = norm("src/" inc)
	else
		next                     # not ours (the compiler reports what is missing)
	u = unit_of(f); t = unit_of(r); rel = substr(r, 5)
	if (r ~ /_int\.h$/ && dir_of(r) != dir_of(f))
		breach(f " " rel, f ":" $2 ": includes " rel ", private to " substr(dir_of(r), 5) "/")
	else if (!may(u, t))
		breach(f " " rel, f ":" $2 ": includes " rel " (" u " may include: " allowed[u] ")")
}
END {
	for (k in allowed_breach)
		if (allowed_breach[k] == "unused" && (nm || k !~ / calls:/)) {
			print allow ": no longer needed, delete: " allow_text[k]
			bad = 1
		}
	exit bad
}' "$tmp/incs" && echo "layers: ok"
