#!/usr/bin/env bash
# A testssl.sh scan of a sluice TLS listener with its default settings, kept out of the
# default test command (it takes minutes). Starts sluice with a throwaway ECDSA P-256 and an
# RSA certificate (the RSA one for *.rsa.test, so CBC-with-RSA-key-exchange suites would show if
# offered), runs testssl.sh on both names and checks what the issue promises: no protocol below
# TLS 1.2, no suite without forward secrecy (no RSA key exchange, no CBC), no compression, no
# insecure (client-initiated) renegotiation. Exits 1 when a check fails.
#
# usage: scripts/tls-scan.sh [--sluice PATH] [--keep]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SLUICE="$ROOT/build/proxy/sluice"
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sluice) SLUICE="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--sluice PATH] [--keep]" >&2; exit 2 ;;
  esac
done
command -v testssl >/dev/null || { echo "missing: testssl (apt-get install testssl.sh)" >&2; exit 1; }
WORK="$(mktemp -d /tmp/sluice-tls-scan-XXXXXX)"
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; [ "$KEEP" = 1 ] && echo "kept $WORK" >&2 || rm -rf "$WORK"; }
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=ec.test \
  -addext subjectAltName=DNS:ec.test -keyout "$WORK/ec.key" -out "$WORK/ec.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=rsa.test \
  -addext subjectAltName=DNS:rsa.test -keyout "$WORK/rsa.key" -out "$WORK/rsa.pem" 2>/dev/null
PORT="$("$ROOT/scripts/free-ports")"
cat >"$WORK/sluice.yaml" <<YAML
workers: 1
log: { level: warn }
listeners:
  - name: scan
    listen: 127.0.0.1:$PORT
    protocol: http
    tls:
      certificates:
        - { cert: $WORK/rsa.pem, key: $WORK/rsa.key, sni: [rsa.test] }
        - { cert: $WORK/ec.pem, key: $WORK/ec.key }
    routes: [ { match: { path_prefix: / }, direct_response: { status: 200, body: "ok\n" } } ]
YAML
"$SLUICE" --config "$WORK/sluice.yaml" >"$WORK/sluice.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done

failed=0
for name in ec.test rsa.test; do
  echo "== testssl $name" >&2
  testssl --quiet --color 0 --warnings off --sneaky --protocols --std --fs --server-defaults \
    --renegotiation --crime --jsonfile "$WORK/$name.json" --ip 127.0.0.1 "https://$name:$PORT/" \
    >"$WORK/$name.txt" 2>&1 || true
  grep -E "SSLv2|SSLv3|TLS 1 |TLS 1.1|TLS 1.2|TLS 1.3|Renegotiation|CRIME|compression|CBC|NULL|Export|Anonymous|3DES|RC4|Obsolete" \
    "$WORK/$name.txt" | sed 's/^/  /' >&2 || true
  check() {  # ID SEVERITY-REGEX what
    if python3 - "$WORK/$name.json" "$1" "$2" <<'PY'
import json, re, sys
findings = {f["id"]: f for f in json.load(open(sys.argv[1]))}
f = findings.get(sys.argv[2])
sys.exit(0 if f and re.search(sys.argv[3], f["finding"]) else 1)
PY
    then echo "  ok: $3" >&2; else echo "  FAILED: $3" >&2; failed=1; fi
  }
  check SSLv2 "not offered" "SSLv2 not offered"
  check SSLv3 "not offered" "SSLv3 not offered"
  check TLS1 "not offered" "TLS 1.0 not offered"
  check TLS1_1 "not offered" "TLS 1.1 not offered"
  check TLS1_2 "^offered" "TLS 1.2 offered"
  check TLS1_3 "offered" "TLS 1.3 offered"
  check cipherlist_AVERAGE "not offered" "no obsolete CBC suites (CBC with RSA key exchange included)"
  check cipherlist_LOW "not offered" "no LOW / DES / RC4 suites"
  check cipherlist_3DES_IDEA "not offered" "no 3DES / IDEA suites"
  check PFS "offered" "forward secrecy offered (testssl 3.0 calls it PFS)"
  check CRIME_TLS "not vulnerable" "no TLS compression (CRIME)"
  check secure_client_renego "not vulnerable" "no client-initiated renegotiation"
done
exit "$failed"
