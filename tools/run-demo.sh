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

# Ansattporten (docs/ansattporten.md): on unless PORTEN_ANSATTPORTEN_ISSUER is set empty;
# a demo client of its own on the next port.
ap_issuer="${PORTEN_ANSATTPORTEN_ISSUER-$PORTEN_ISSUER/ansattporten}"
ap_port=$((demo_port + 1))
ap_file="$data/demo-ansattporten-client.json"
if [ -n "$ap_issuer" ]; then
	umask 077
	if ! "$ctl" client show demo-ansattporten >/dev/null 2>&1; then
		"$ctl" --json client create --client-id demo-ansattporten \
			--integration-type ansattporten --client-name "Porten demo (Ansattporten)" \
			--description "Ansattporten demo client created by make run" \
			--application-type web --token-endpoint-auth-method client_secret_basic \
			--redirect-uri "http://127.0.0.1:$ap_port/callback" \
			--post-logout-redirect-uri "http://127.0.0.1:$ap_port/" \
			--frontchannel-logout-uri "http://127.0.0.1:$ap_port/frontchannel-logout" \
			--grant-type authorization_code --scope openid >"$ap_file" || ap_issuer=""
	elif [ ! -s "$ap_file" ]; then
		"$ctl" --json client rotate-secret demo-ansattporten >"$ap_file" || ap_issuer=""
	fi
fi

# KRR's synthetic test persons (spec/krr.md §7): written at start and reset daily
export PORTEN_KRR_TESTDATA_RESET="${PORTEN_KRR_TESTDATA_RESET:-86400}"

/usr/bin/python3 tools/demo_client.py --issuer "$PORTEN_ISSUER" --client-file "$secret_file" \
	--listen "127.0.0.1:$demo_port" &
demo_pid=$!
ap_pid=
if [ -n "$ap_issuer" ]; then
	/usr/bin/python3 tools/demo_client.py --issuer "$ap_issuer" --client-file "$ap_file" \
		--listen "127.0.0.1:$ap_port" --scope openid --title "Porten demo client (Ansattporten)" &
	ap_pid=$!
fi
trap 'kill $demo_pid $ap_pid 2>/dev/null || true' EXIT INT TERM

cat <<MSG

  Porten is starting in the TEST environment.
    issuer:     $PORTEN_ISSUER
    discovery:  $PORTEN_ISSUER/.well-known/openid-configuration
    data:       $data

  Log in:  open http://127.0.0.1:$demo_port/ in a browser, press "Log in",
           choose TestID and type a synthetic person such as 21879498012.
           The demo application then shows the ID token and access token.

MSG
if [ -n "$ap_issuer" ]; then
	cat <<MSG
  Ansattporten (its own issuer, keys and sessions; no SSO with ID-porten):
    issuer:     $ap_issuer
    discovery:  $ap_issuer/.well-known/openid-configuration
    log in:     open http://127.0.0.1:$ap_port/ the same way; acr is "substantial"
                or "high", and each client logs in on its own.

MSG
fi
cat <<MSG
  Stop with Ctrl-C.

MSG
"$build/portend"
