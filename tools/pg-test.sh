#!/bin/sh
# A throwaway PostgreSQL for tests, from Debian's postgresql packages.
#
#   pg-test.sh start       initdb in a temporary folder, start it, create the
#                          database "porten", print its URI (idempotent)
#   pg-test.sh uri         print the URI of the running server
#   pg-test.sh newdb NAME  create (or recreate) an empty database NAME, print its URI
#   pg-test.sh dropdb NAME drop the database NAME if it exists
#   pg-test.sh restart     restart the server (pg_ctl restart -m fast)
#   pg-test.sh down | up   stop the server keeping its data, start it again
#   pg-test.sh stop        stop the server and remove its folder
#
# The server listens on a unix socket inside its folder and on 127.0.0.1 at
# a free port, with trust authentication: nothing but this machine reaches
# it, and it holds only test data.  When PORTEN_TEST_PG is set (a
# postgresql:// URI), start and uri print it and newdb creates databases
# there; stop and restart act only if it names the server this script runs.
#
# PostgreSQL refuses to run as root: as root the server runs as the system
# user porten-test (created on first use).
set -eu

DIR=${PORTEN_PG_DIR:-${TMPDIR:-/tmp}/porten-pg-test}
DATA=$DIR/data
USER_NAME=porten
RUN_AS=porten-test

die() { echo "pg-test: $*" >&2; exit 1; }

pg_bindir() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then
			echo "$d"
			return 0
		fi
	done
	command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return 0; }
	die "PostgreSQL server binaries not found (apt-get install postgresql)"
}

# Run a server-side command as the owner of the cluster.
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$RUN_AS" -- "$@"
	else
		"$@"
	fi
}

ensure_user() {
	[ "$(id -u)" = 0 ] || return 0
	id "$RUN_AS" >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		"$RUN_AS" || die "cannot create the system user $RUN_AS"
}

free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_of() {
	[ -f "$DIR/port" ] || die "not started (no $DIR/port)"
	cat "$DIR/port"
}

uri_for() {
	echo "postgresql://$USER_NAME@127.0.0.1:$(port_of)/$1"
}

running() {
	[ -f "$DATA/postmaster.pid" ] && as_owner "$(pg_bindir)/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

# The server at hand is the one this script runs (not someone else's PORTEN_TEST_PG).
ours() {
	[ -z "${PORTEN_TEST_PG:-}" ] && return 0
	running && [ "$PORTEN_TEST_PG" = "$(uri_for porten)" ]
}

# As ours, for a server that is down: its URI is still the one we hand out.
ours_or_stopped() {
	[ -z "${PORTEN_TEST_PG:-}" ] && return 0
	[ -f "$DIR/port" ] && [ "$PORTEN_TEST_PG" = "$(uri_for porten)" ]
}

psql_admin() {
	# quiet: no NOTICE for DROP ... IF EXISTS
	export PGOPTIONS="-c client_min_messages=warning"
	# $1: SQL, run against the maintenance database
	if [ -n "${PORTEN_TEST_PG:-}" ]; then
		psql -X -q -v ON_ERROR_STOP=1 -d "$PORTEN_TEST_PG" -c "$1" >/dev/null
	else
		psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(port_of)" -U "$USER_NAME" \
			-d postgres -c "$1" >/dev/null
	fi
}

cmd_start() {
	if [ -n "${PORTEN_TEST_PG:-}" ]; then
		echo "$PORTEN_TEST_PG"
		return 0
	fi
	if running; then
		uri_for porten
		return 0
	fi
	bin=$(pg_bindir)
	ensure_user
	rm -rf "$DIR"
	mkdir -p "$DIR"
	chmod 700 "$DIR"
	[ "$(id -u)" = 0 ] && chown "$RUN_AS" "$DIR"
	as_owner "$bin/initdb" -D "$DATA" -U "$USER_NAME" -E UTF8 --locale=C.UTF-8 \
		--auth=trust >"$DIR/initdb.log" 2>&1 ||
		{ cat "$DIR/initdb.log" >&2; die "initdb failed"; }
	port=$(free_port)
	echo "$port" >"$DIR/port"
	server_up || { cat "$DIR/server.log" >&2; die "server did not start"; }
	psql_admin "CREATE DATABASE porten"
	uri_for porten
}

# Start the cluster in $DATA: loopback and a socket in our own folder only;
# fast, not durable (test data).  PORTEN_PG_SHARED_BUFFERS sizes the buffer
# cache (64MB unless set; bench/krr/ asks for one that holds its register).
server_up() {
	port=$(port_of)
	as_owner "$(pg_bindir)/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$DIR" \
		-o "-c max_connections=200 -c fsync=off -c synchronous_commit=off" \
		-o "-c full_page_writes=off -c shared_buffers=${PORTEN_PG_SHARED_BUFFERS:-64MB}" \
		start >/dev/null
}

cmd_uri() {
	if [ -n "${PORTEN_TEST_PG:-}" ]; then
		echo "$PORTEN_TEST_PG"
		return 0
	fi
	running || die "not running (pg-test.sh start)"
	uri_for porten
}

check_name() { # command name
	case "$2" in
	'' | [!a-z_]* | *[!a-z0-9_]*) die "$1: NAME must match [a-z_][a-z0-9_]*" ;;
	esac
	[ ${#2} -le 63 ] || die "$1: NAME longer than 63 characters"
}

cmd_dropdb() {
	check_name dropdb "${1:-}"
	psql_admin "DROP DATABASE IF EXISTS $1 WITH (FORCE)"
}

cmd_newdb() {
	name=${1:-}
	check_name newdb "$name"
	psql_admin "DROP DATABASE IF EXISTS $name WITH (FORCE)"
	psql_admin "CREATE DATABASE $name"
	if [ -n "${PORTEN_TEST_PG:-}" ]; then
		/usr/bin/python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit((p.scheme, p.netloc, "/" + sys.argv[2], p.query, "")))' \
			"$PORTEN_TEST_PG" "$name"
	else
		uri_for "$name"
	fi
}

cmd_restart() {
	ours || die "restart: the server at PORTEN_TEST_PG is not one this script runs"
	running || die "not running"
	as_owner "$(pg_bindir)/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 30 -m fast restart >/dev/null ||
		die "restart failed"
}

# The database goes away (its data kept) and comes back: outage tests.
cmd_down() {
	ours || die "down: the server at PORTEN_TEST_PG is not one this script runs"
	running || die "not running"
	as_owner "$(pg_bindir)/pg_ctl" -D "$DATA" -w -t 30 -m fast stop >/dev/null || die "stop failed"
}

cmd_up() {
	ours_or_stopped || die "up: the server at PORTEN_TEST_PG is not one this script runs"
	running && return 0
	[ -d "$DATA" ] || die "no cluster in $DATA (pg-test.sh start)"
	server_up || { tail -20 "$DIR/server.log" >&2; die "server did not start"; }
}

cmd_stop() {
	ours || return 0
	if running; then
		as_owner "$(pg_bindir)/pg_ctl" -D "$DATA" -w -t 30 -m fast stop >/dev/null || true
	fi
	rm -rf "$DIR"
}

case "${1:-}" in
start) cmd_start ;;
uri) cmd_uri ;;
newdb) cmd_newdb "${2:-}" ;;
dropdb) cmd_dropdb "${2:-}" ;;
restart) cmd_restart ;;
down) cmd_down ;;
up) cmd_up ;;
stop) cmd_stop ;;
*)
	echo "usage: $0 start|uri|newdb NAME|dropdb NAME|restart|down|up|stop" >&2
	exit 2
	;;
esac
