#!/bin/bash
# Real frames through the XDP data plane, across namespaces and veths.
#
#   client (cl) --- bridge (sw) --- lb0 (lb, Tenace XDP, XDP_TX back out)
#                     |    |
#                 server1  server2   (VIP on lo, arp_ignore/arp_announce)
#
# The client routes the VIP via the balancer; Tenace rewrites the MACs and
# sends the frame back out of lb0 to the bridge; the chosen server answers the
# client directly (L2 direct server return). Checked: UDP and TCP reach the
# servers, every frame carries the server's MAC as destination and lb0's as
# source, each client address always reaches the same server (UDP from many
# ports, TCP connections), and both servers get clients.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh"
set -u

id=$$
NS_LB=tnvt-lb-$id NS_SW=tnvt-sw-$id NS_CL=tnvt-cl-$id NS_S1=tnvt-s1-$id NS_S2=tnvt-s2-$id
ALL_NS="$NS_LB $NS_SW $NS_CL $NS_S1 $NS_S2"
VIP=10.99.1.1 UDP_PORT=5000 TCP_PORT=8080
LB_IP=10.99.0.2 S1_IP=10.99.0.11 S2_IP=10.99.0.12
NCLIENTS=16
tmp=$(mktemp -d /tmp/tnvt.XXXXXX)
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in $ALL_NS; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

die() { not_ok "$*"; exit 1; }

# ---- helper: configure and attach the data plane -------------------------
# built by make (tests/integration/helpers/*.c -> build/tests/helpers/)
HELPER="$TN_ROOT/build/tests/helpers/dataplane_veth"
[ -x "$HELPER" ] || die "$HELPER missing (run make)"
ok "the veth helper is built"
[ -f "$TN_ROOT/build/helpers.bpf.o" ] || die "build/helpers.bpf.o missing (run make)"

# ---- topology ---------------------------------------------------------------
for ns in $ALL_NS; do ip netns add "$ns" || die "create namespace $ns"; done
ip -n "$NS_SW" link add br0 type bridge
ip -n "$NS_SW" link set br0 up
# one veth per host, its peer a bridge port
connect() { # ns ifname port
	ip -n "$1" link add "$2" type veth peer name "$3" netns "$NS_SW" || return 1
	ip -n "$NS_SW" link set "$3" master br0 up
	ip -n "$1" link set "$2" up
	ip -n "$1" link set lo up
}
connect "$NS_LB" lb0 p-lb && connect "$NS_CL" c0 p-cl && connect "$NS_S1" eth0 p-s1 &&
	connect "$NS_S2" eth0 p-s2 || die "create veths"
ip -n "$NS_LB" addr add $LB_IP/24 dev lb0
ip -n "$NS_CL" addr add 10.99.0.100/24 dev c0
for i in $(seq 1 $((NCLIENTS - 1))); do
	ip -n "$NS_CL" addr add 10.99.0.$((100 + i))/24 dev c0
done
ip -n "$NS_CL" route add $VIP/32 via $LB_IP
# the balancer's XDP_TX leaves by lb0 into its peer: a veth takes such frames
# only when the peer has an XDP program, so give p-lb a pass-through one
ip -n "$NS_SW" link set dev p-lb xdp obj "$TN_ROOT/build/helpers.bpf.o" program pass_xdp ||
	die "attach pass_xdp to the bridge port"
# partial checksums from the client's veth would stay partial after XDP_TX
ip netns exec "$NS_CL" ethtool -K c0 tx off >/dev/null
for n in 1 2; do
	ns=$NS_S1 ip=$S1_IP
	[ $n = 2 ] && ns=$NS_S2 ip=$S2_IP
	ip -n "$ns" addr add $ip/24 dev eth0
	ip -n "$ns" addr add $VIP/32 dev lo
	ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
	ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null
done
ok "topology: client, bridge, balancer, two servers"

mac_of() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
LB_MAC=$(mac_of "$NS_LB" lb0)
S1_MAC=$(mac_of "$NS_S1" eth0)
S2_MAC=$(mac_of "$NS_S2" eth0)

# ---- servers: UDP echo of their name, TCP banner, raw capture of MACs -----------
cat >"$tmp/server.py" <<'EOF'
import os, select, socket, struct, sys
name, vip, udp_port, tcp_port, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
out = open(log, "a", buffering=1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
u.bind((vip, udp_port))   # answers leave from the VIP
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", tcp_port)); t.listen(128)
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)); raw.bind(("eth0", 0))
vipb = socket.inet_aton(vip)
def mac(b): return ":".join("%02x" % x for x in b)
out.write("ready\n")
while True:
    r, _, _ = select.select([u, t, raw], [], [])
    if raw in r:
        f, addr = raw.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING or len(f) < 34 or f[30:34] != vipb:
            pass
        else:
            out.write("frame %s %s %s %d\n" % (mac(f[0:6]), mac(f[6:12]), socket.inet_ntoa(f[26:30]), f[23]))
    if u in r:
        d, a = u.recvfrom(2048)
        out.write("udp %s\n" % a[0]); u.sendto(name.encode(), a)
    if t in r:
        c, a = t.accept()
        out.write("tcp %s\n" % a[0]); c.sendall(name.encode()); c.close()
EOF
ip netns exec "$NS_S1" python3 "$tmp/server.py" server1 $VIP $UDP_PORT $TCP_PORT "$tmp/s1.log" &
pids+=($!)
ip netns exec "$NS_S2" python3 "$tmp/server.py" server2 $VIP $UDP_PORT $TCP_PORT "$tmp/s2.log" &
pids+=($!)
for _ in $(seq 50); do
	grep -q ready "$tmp/s1.log" 2>/dev/null && grep -q ready "$tmp/s2.log" 2>/dev/null && break
	sleep 0.1
done
check "servers listening" grep -q ready "$tmp/s1.log" "$tmp/s2.log"

# ---- the balancer ----------------------------------------------------------------
if ip netns exec "$NS_LB" "$HELPER" lb0 "$LB_MAC" $VIP $UDP_PORT $TCP_PORT \
	$S1_IP "$S1_MAC" $S2_IP "$S2_MAC" >"$tmp/helper.log" 2>&1; then
	ok "Tenace attached natively to lb0"
else
	cat "$tmp/helper.log"
	die "Tenace attached natively to lb0"
fi
prog_id=$(ip -n "$NS_LB" -d link show lb0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
check "lb0 runs tenace_xdp in native mode" bash -c "ip -n $NS_LB -d link show lb0 | grep -q 'xdp ' &&
	bpftool prog show id '$prog_id' | grep -q tenace_xdp"

# ---- clients: from each address, UDP from several ports and TCP connections -------
cat >"$tmp/client.py" <<'EOF'
import socket, sys
vip, udp_port, tcp_port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(n):
    src = "10.99.0.%d" % (100 + i)
    for k in range(6):                     # six source ports per address
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((src, 0)); s.settimeout(2)
        for rep in range(2):               # and two datagrams per port
            s.sendto(b"hello", (vip, udp_port))
            try:
                d, a = s.recvfrom(100); print("%s udp %s %s" % (src, d.decode(), a[0]))
            except socket.timeout:
                print("%s udp timeout -" % src)
        s.close()
    for k in range(3):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.bind((src, 0)); s.settimeout(3)
        try:
            s.connect((vip, tcp_port)); d = s.recv(100); print("%s tcp %s %s" % (src, d.decode(), vip))
        except OSError as e:
            print("%s tcp error-%s -" % (src, type(e).__name__))
        s.close()
    sys.stdout.flush()
EOF
ip netns exec "$NS_CL" timeout 300 python3 "$tmp/client.py" $VIP $UDP_PORT $TCP_PORT $NCLIENTS >"$tmp/client.log" 2>&1
sleep 0.3

udp_ok=$(grep -c ' udp server[12] 10.99.1.1$' "$tmp/client.log")
tcp_ok=$(grep -c ' tcp server[12] ' "$tmp/client.log")
check_eq "UDP answers from the VIP (direct server return)" $((NCLIENTS * 12)) "$udp_ok"
check_eq "TCP connections through the balancer" $((NCLIENTS * 3)) "$tcp_ok"

# one server per client address, over all its UDP ports and TCP connections
split=$(awk '$3 ~ /^server/ { s[$1] = s[$1] " " $3 } END { for (c in s) { n = split(s[c], a, " "); for (i = 2; i <= n; i++) if (a[i] != a[1]) { print c; break } } }' "$tmp/client.log")
check_eq "each client address always reaches the same server (UDP and TCP)" "" "$split"
n1=$(awk '$3 == "server1" { print $1 }' "$tmp/client.log" | sort -u | wc -l)
n2=$(awk '$3 == "server2" { print $1 }' "$tmp/client.log" | sort -u | wc -l)
check "both servers get clients ($n1 and $n2 of $NCLIENTS)" test "$n1" -gt 0 -a "$n2" -gt 0 -a $((n1 + n2)) -eq $NCLIENTS

# servers' own view: what reached each, and with which MACs
for n in 1 2; do
	mac=$S1_MAC
	[ $n = 2 ] && mac=$S2_MAC
	frames=$(grep -c '^frame ' "$tmp/s$n.log")
	bad=$(grep '^frame ' "$tmp/s$n.log" | awk -v d="$mac" -v s="$LB_MAC" '$2 != d || $3 != s' | wc -l)
	check "server$n received frames to the VIP ($frames)" [ "$frames" -gt 0 ]
	check_eq "server$n: every frame has its MAC as destination and lb0's as source" 0 "$bad"
	# the server's log agrees with the client's answers
	mine=$(awk -v s="server$n" '$3 == s { print $1 }' "$tmp/client.log" | sort -u)
	seen=$(awk '/^(udp|tcp) / { print $2 }' "$tmp/s$n.log" | sort -u)
	check_eq "server$n saw exactly the clients that it answered" "$mine" "$seen"
done
# nothing reached a server other than by Tenace: no frame from the client's MAC
CL_MAC=$(mac_of "$NS_CL" c0)
check_eq "no frame reached a server straight from the client" 0 "$(grep -c " $CL_MAC " "$tmp/s1.log" "$tmp/s2.log" | awk -F: '{ s += $2 } END { print s + 0 }')"

# without Tenace nothing reaches the VIP: the path above was the XDP program's
ip -n "$NS_LB" link set dev lb0 xdp off
ip netns exec "$NS_CL" python3 - $VIP $UDP_PORT >"$tmp/after.log" 2>&1 <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.99.0.100", 0)); s.settimeout(1)
s.sendto(b"hello", (sys.argv[1], int(sys.argv[2])))
try:
    s.recvfrom(100); print("answered")
except socket.timeout:
    print("timeout")
EOF
check_eq "with Tenace detached the VIP does not answer" timeout "$(cat "$tmp/after.log")"

if [ "$_tap_failed" -ne 0 ]; then
	echo "# client log:"; sed 's/^/#   /' "$tmp/client.log" | head -40
	echo "# server logs:"; tail -n 5 "$tmp/s1.log" "$tmp/s2.log" | sed 's/^/#   /'
fi
tap_done
