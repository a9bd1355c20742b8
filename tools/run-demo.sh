#!/bin/sh
# `make run`: start portend in the test environment with a demo client and
# a small demo web application that logs in through it.
set -eu
build=$1 listen=$2 data=$3 demo_port=$4

export PORTEN_LISTEN="$listen" PORTEN_DATA="$data" PORTEN_ENV=test
export PORTEN_ISSUER="${PORTEN_ISSUER:-http://$listen}"
mkdir -p "$data"
chmod 700 "$data"
ctl="$build/portenctl"
secret_file="$data/demo-client.json"
redirect="http://127.0.0.1:$demo_port/callback"

if ! "$ctl" client show demo >/dev/null 2>&1; then
	umask 077
	"$ctl" --json client create --client-id demo --client-name "Porten demo" \
		--description "Demo client created by make run" \
		--application-type web --token-endpoint-auth-method client_secret_basic \
		--redirect-uri "$redirect" --post-logout-redirect-uri "http://127.0.0.1:$demo_port/" \
		--frontchannel-logout-uri "http://127.0.0.1:$demo_port/frontchannel-logout" \
		--grant-type authorization_code --grant-type refresh_token \
		--scope openid --scope profile >"$secret_file"
elif [ ! -s "$secret_file" ]; then
	umask 077
	"$ctl" --json client rotate-secret demo >"$secret_file"
fi

# KRR's synthetic test persons (spec/krr.md §7), written afresh on every start
"$ctl" krr testdata >/dev/null

/usr/bin/python3 tools/demo_client.py --issuer "$PORTEN_ISSUER" --client-file "$secret_file" \
	--listen "127.0.0.1:$demo_port" &
demo_pid=$!
trap 'kill $demo_pid 2>/dev/null || true' EXIT INT TERM

cat <<MSG

  Porten is starting in the TEST environment.
    issuer:     $PORTEN_ISSUER
    discovery:  $PORTEN_ISSUER/.well-known/openid-configuration
    data:       $data

  Log in:  open http://127.0.0.1:$demo_port/ in a browser, press "Log in",
           choose TestID and type a synthetic person such as 21879498012.
           The demo application then shows the ID token and access token.

  Stop with Ctrl-C.

MSG
"$build/portend"
