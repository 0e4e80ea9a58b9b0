#!/bin/bash
# The API's TCP listener as an operator exposes it: HTTPS with a certificate
# (libmicrohttpd over GnuTLS), a bearer token of 16 bytes or more, plain HTTP
# only on a loopback address, connections bounded per client, idle ones
# dropped; the CLI verifies the certificate (--cacert). And the Unix socket's
# path is removed only when it is a socket.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"

TMP=$(mktemp -d /tmp/tenace-tls-XXXXXX)
PIN=/sys/fs/bpf/tenace-tls-$$
SOCK=$TMP/tenace.sock
CFG=$TMP/tenace.json
PORT=$((20000 + ($$ + 7) % 20000))
CTL_PID=
IFACE=tntls$$
cleanup() {
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null
	"$TN_BIN" unload --all --pin-dir "$PIN" >/dev/null 2>&1
	ip link del "$IFACE" 2>/dev/null
	rm -rf "$TMP" "$PIN"
}
trap cleanup EXIT
ensure_bpffs
ip link add "$IFACE" type veth peer name "${IFACE}p" || exit 1

cat >"$CFG" <<JSON
{
  "zone": "tls",
  "interfaces": ["$IFACE"],
  "tableSize": 1021,
  "farms": [{"farmId": 1, "type": "tcp", "port": 80,
             "servers": [{"serverId": 1, "address": "192.0.2.10", "mac": "02:00:00:00:00:0a"}]}]
}
JSON
printf 'tls-secret-token-%s\n' "$$" >"$TMP/token"
printf 'short\n' >"$TMP/short"
printf 'metrics-scrape-token-%s\n' "$$" >"$TMP/metrics-token"
chmod 600 "$TMP/token" "$TMP/short" "$TMP/metrics-token"
TOKEN=$(cat "$TMP/token")
MTOKEN=$(cat "$TMP/metrics-token")
# a certificate for 127.0.0.1, and one of another CA the CLI must refuse
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=tenace-test -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >"$TMP/openssl.log" 2>&1
check "a test certificate for 127.0.0.1 (openssl)" [ -s "$TMP/cert.pem" ]
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=other -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$TMP/other-key.pem" -out "$TMP/other.pem" >>"$TMP/openssl.log" 2>&1

# runs a controller that must refuse to start: its exit status, its log in $TMP/refused.log
refused_run() {
	timeout 20 "$TN_BIN" run --config "$CFG" --socket "$TMP/r.sock" --pin-dir "$PIN-r" --state "$TMP/r.json" \
		"$@" >"$TMP/refused.log" 2>&1
}
refused_run --listen "127.0.0.1:$PORT" --token-file "$TMP/short"
check "a 5-byte token is refused (exit $?)" grep -q 'token of at least 16 bytes (this one has 5)' "$TMP/refused.log"
refused_run --listen "0.0.0.0:$PORT" --token-file "$TMP/token"
check "plain HTTP on a non-loopback address is refused (exit $?)" grep -q 'would send the bearer token in clear' "$TMP/refused.log"
refused_run --listen "0.0.0.0:$PORT" --token-file "$TMP/token" --tls-cert "$TMP/cert.pem"
check "a certificate without its key is refused (exit $?)" grep -q -- '--tls-cert and --tls-key go together' "$TMP/refused.log"
refused_run --listen "0.0.0.0:$PORT" --token-file "$TMP/token" --tls-cert "$TMP/token" --tls-key "$TMP/key.pem"
check "a certificate that is not PEM is refused (exit $?)" grep -q 'is not a PEM file' "$TMP/refused.log"
refused_run --listen "127.0.0.1:$PORT" --token-file "$TMP/token" --metrics-token-file "$TMP/short"
check "a 5-byte metrics token is refused (exit $?)" grep -q -- '--metrics-token-file: the token needs at least 16 bytes' "$TMP/refused.log"
refused_run --listen "127.0.0.1:$PORT" --token-file "$TMP/token" --metrics-token-file "$TMP/token"
check "the admin token as the metrics token is refused (exit $?)" grep -q 'holds the admin token' "$TMP/refused.log"
refused_run --metrics-token-file "$TMP/metrics-token"
check "a metrics token without --listen is refused (exit $?)" grep -q 'give --listen too' "$TMP/refused.log"
check "nothing was left listening by the refused runs" bash -c "! ss -ltn | grep -q ':$PORT '"
rm -rf "$PIN-r"

# the Unix socket's path is removed only when it is a socket
echo "precious" >"$TMP/notasocket"
timeout 20 "$TN_BIN" run --config "$CFG" --socket "$TMP/notasocket" --pin-dir "$PIN-r" --state "$TMP/r.json" \
	>"$TMP/refused.log" 2>&1
check "--socket naming a regular file is refused (exit $?)" grep -q 'exists and is not a socket: not removed' "$TMP/refused.log"
check_eq "the file is left as it was" "precious" "$(cat "$TMP/notasocket")"
"$TN_BIN" unload --all --pin-dir "$PIN-r" >/dev/null 2>&1
rm -rf "$PIN-r"

# HTTPS on every address
"$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" --state "$TMP/applied.json" \
	--listen "0.0.0.0:$PORT" --token-file "$TMP/token" --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" \
	--metrics-token-file "$TMP/metrics-token" >"$TMP/ctl.log" 2>&1 &
CTL_PID=$!
wait_for 20 bash -c "ss -ltn | grep -q ':$PORT '"
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
check_eq "HTTPS with the token and the CA is 200" 200 \
	"$(code --cacert "$TMP/cert.pem" -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$PORT/v1/status")"
check_eq "HTTPS without the token is 401" 401 "$(code --cacert "$TMP/cert.pem" "https://127.0.0.1:$PORT/v1/status")"
check_eq "HTTPS with a wrong token is 401" 401 \
	"$(code --cacert "$TMP/cert.pem" -H "Authorization: Bearer ${TOKEN}x" "https://127.0.0.1:$PORT/v1/status")"
# the read-only scrape token: /metrics and nothing else
scrape=$(curl -s --max-time 5 --cacert "$TMP/cert.pem" -H "Authorization: Bearer $MTOKEN" "https://127.0.0.1:$PORT/metrics")
check "the metrics token scrapes /metrics" grep -q '^tenace_packets_total{verdict=' <<<"$scrape"
check_eq "the metrics token may not read /v1/status (403)" 403 \
	"$(code --cacert "$TMP/cert.pem" -H "Authorization: Bearer $MTOKEN" "https://127.0.0.1:$PORT/v1/status")"
check_eq "nor change anything (POST /v1/refresh: 403)" 403 \
	"$(code --cacert "$TMP/cert.pem" -X POST -H "Authorization: Bearer $MTOKEN" "https://127.0.0.1:$PORT/v1/refresh")"
check_eq "the admin token still scrapes /metrics" 200 \
	"$(code --cacert "$TMP/cert.pem" -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$PORT/metrics")"
check_eq "plain HTTP to the HTTPS port gets no answer" 000 \
	"$(code -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/status")"
out=$("$TN_BIN" --url "https://127.0.0.1:$PORT" --cacert "$TMP/cert.pem" --token-file "$TMP/token" farm list 2>&1)
check "the CLI over HTTPS with --cacert lists the farm" grep -qE '^1 ' <<<"$out"
out=$("$TN_BIN" --url "https://127.0.0.1:$PORT" --cacert "$TMP/other.pem" --token-file "$TMP/token" farm list 2>&1)
rc=$?
check "the CLI refuses a certificate its --cacert did not sign (exit $rc)" [ "$rc" -ne 0 ]
check "and says it is the certificate" grep -qi 'certificate' <<<"$out"
out=$("$TN_BIN" --url "https://127.0.0.1:$PORT" --token-file "$TMP/token" farm list 2>&1)
check "the CLI without --cacert does not trust a self-signed certificate (exit $?)" grep -qi 'certificate' <<<"$out"

# connections: 8 per client address at most, idle ones dropped after 10 s
python3 - "$PORT" >"$TMP/conns.log" 2>&1 <<'PY'
import socket, sys, time
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(20)]
def still_open(s):
    # whatever the server sent (a TLS alert as it closes) is read up to EOF
    s.setblocking(False)
    try:
        while s.recv(4096):
            pass
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
time.sleep(1)
print("open after 1 s:", sum(still_open(s) for s in socks))
# the server drops idle ones after its timeout; bounded by polling, not by a sleep
deadline = time.time() + 30
while time.time() < deadline and sum(still_open(s) for s in socks):
    time.sleep(0.5)
print("open at the end:", sum(still_open(s) for s in socks))
PY
n1=$(sed -n 's/^open after 1 s: //p' "$TMP/conns.log")
n2=$(sed -n 's/^open at the end: //p' "$TMP/conns.log")
check "of 20 connections from one address, at most 8 are kept ($n1)" [ -n "$n1" ] && [ "$n1" -le 8 ] && [ "$n1" -ge 1 ]
check_eq "idle connections are all dropped by the server's timeout" 0 "$n2"
check_eq "afterwards the client is served again" 200 \
	"$(code --cacert "$TMP/cert.pem" -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$PORT/v1/status")"
check_eq "the Unix socket answers meanwhile" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://localhost/v1/status)"

kill -TERM "$CTL_PID"
wait "$CTL_PID"
rc=$?
CTL_PID=
check_eq "SIGTERM stops the controller with status 0" 0 "$rc"
check "no sanitizer report" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' '$TMP/ctl.log' '$TMP/refused.log'"
[ "$_tap_failed" -ne 0 ] && sed 's/^/# /' "$TMP/ctl.log" | tail -20
tap_done
