#!/bin/sh
# MinID logins/s next to Argon2id hashes/s with the same parameters.
#   bench/minid/run.sh [THREADS] [SECONDS]
# Uses build/ (or $PORTEN_BUILD); the Argon2id parameters are portend's
# defaults unless PORTEN_MINID_ARGON_OPS / PORTEN_MINID_ARGON_MEM_KIB say otherwise.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${PORTEN_BUILD:-$here/../../build}
threads=${1:-$(nproc)}
seconds=${2:-10}
ops=${PORTEN_MINID_ARGON_OPS:-2}
mem=${PORTEN_MINID_ARGON_MEM_KIB:-19456}
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM

cc -O2 -std=gnu11 -Wall -D_GNU_SOURCE -o "$work/bench_minid" "$here/bench_minid.c" \
	$(pkg-config --cflags --libs libcurl libsodium) -lpthread

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export PORTEN_LISTEN=127.0.0.1:$port PORTEN_ISSUER=http://127.0.0.1:$port PORTEN_DATA=$work/data \
	PORTEN_ENV=test PORTEN_LOG_LEVEL=1 PORTEN_RATE_IP=0 PORTEN_RATE_CLIENT=0 \
	PORTEN_MINID_RATE_PER_MIN=0 PORTEN_MINID_OTC_PER_HOUR=1000 PORTEN_MINID_ARGON_OPS=$ops PORTEN_MINID_ARGON_MEM_KIB=$mem \
	PORTEN_KEK=$(head -c 32 /dev/urandom | basenc --base64url | tr -d =)
mkdir -p "$work/data"
"$build/portend" >"$work/portend.log" 2>&1 &
pid=$!
for i in $(seq 100); do curl -sf "$PORTEN_ISSUER/health/ready" >/dev/null && break; sleep 0.1; done

redirect=http://127.0.0.1:9/cb
client=$("$build/portenctl" --json client create --client-name bench --description bench \
	--integration-type idporten --application-type web \
	--token-endpoint-auth-method client_secret_basic --client-orgno 991825827 \
	--redirect-uri $redirect --post-logout-redirect-uri http://127.0.0.1:9/out \
	--grant-type authorization_code 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
# Synthetic people (month + 80), one per thread: no two threads share failure counters.
pids=$(python3 - "$threads" <<'PY'
import sys
w1=[3,7,6,1,8,9,4,5,2]; w2=[5,4,3,2,7,6,5,4,3,2]; out=[]
for ind in range(100,499):
    d=[int(c) for c in f"0181{90:02d}{ind:03d}"]
    k1=11-sum(a*b for a,b in zip(w1,d))%11; k1=0 if k1==11 else k1
    if k1==10: continue
    k2=11-sum(a*b for a,b in zip(w2,d+[k1]))%11; k2=0 if k2==11 else k2
    if k2==10: continue
    out.append("".join(map(str,d+[k1,k2])))
    if len(out)==int(sys.argv[1]): break
print(",".join(out))
PY
)
password=Fjellvann2024Bench
for p in $(echo "$pids" | tr , ' '); do
	"$build/portenctl" minid create "$p" --password "$password" --mobile +4790000000 >/dev/null 2>&1
done
echo "machine: $(nproc) cores, $(uname -m)"
"$work/bench_minid" --issuer "$PORTEN_ISSUER" --client-id "$client" --redirect-uri "$redirect" \
	--pids "$pids" --password "$password" --threads "$threads" --seconds "$seconds" \
	--ops "$ops" --mem-kib "$mem"
