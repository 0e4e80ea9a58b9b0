# shellcheck shell=bash
# The fleet lab: several Tenace balancers behind a BGP router doing ECMP,
# shared by `make demo-fleet`, the fleet tests and the bench. Source it, then
# call fleet_up / fleet_down.
#
#   clients ($P-cli, $NET.2.N/32) --- router ($P-rt): BIRD 2, ECMP over L4 hashes
#                                       |  $NET.0.1
#           +---------------------------+-- bridge ($P-sw) ---------------------+
#           |                 |                 |            |        |         |
#   node 1 ($P-n1)    node 2 ($P-n2)    node 3 ($P-n3)     server 1  server 2  server 3
#   $NET.0.11         $NET.0.12         $NET.0.13          $NET.0.21 .0.22     .0.23
#   tenace + BIRD     tenace + BIRD     tenace + BIRD      nginx, VIP on lo
#
# Every node runs `tenace run` inside `ip netns exec` (a machine of its own)
# with the same configuration; its BIRD announces the VIP with the node's
# address as next hop; the router installs one route with a next hop per
# node and hashes each flow (addresses and ports) onto one of them. A node
# rewrites MACs and sends the frame to the server the farm's table picks;
# the server answers the client directly through the router (L2 DSR).

FLEET_P="${FLEET_P:-tnf}"           # namespace prefix
FLEET_NET="${FLEET_NET:-10.77}"     # /16 used by the fleet
FLEET_NODES="${FLEET_NODES:-3}"
FLEET_SERVERS="${FLEET_SERVERS:-3}"
FLEET_CLIENTS="${FLEET_CLIENTS:-60}"
FLEET_DIR="${FLEET_DIR:-/run/tenace-fleet-$FLEET_P}"
FLEET_HOLD="${FLEET_HOLD:-3}"       # BGP hold time of the nodes (s)
FLEET_V6="${FLEET_V6:-0}"           # 1: IPv6 too (addresses, sessions, a second VIP)
FLEET_NET6="${FLEET_NET6:-fd77}"
FLEET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FLEET_TENACE="${FLEET_TENACE:-$FLEET_ROOT/build/tenace}"
FLEET_VIP="$FLEET_NET.100.1"
FLEET_ROUTER="$FLEET_NET.0.1"
FLEET_VIP6="$FLEET_NET6:100::1"
FLEET_ROUTER6="$FLEET_NET6::1"
FLEET_AS_ROUTER=65000
FLEET_AS_NODES=65010

# the servers are the lab's (scripts/lab.sh): nginx answering "server N"
export LAB_P="$FLEET_P" LAB_DIR="$FLEET_DIR" LAB_SERVERS="$FLEET_SERVERS"
# shellcheck source=lab.sh
. "$FLEET_ROOT/scripts/lab.sh"

fleet_ns() { ip netns exec "$FLEET_P-$1" "${@:2}"; }
fleet_node_addr() { echo "$FLEET_NET.0.$((10 + $1))"; }
fleet_server_addr() { echo "$FLEET_NET.0.$((20 + $1))"; }
fleet_client_addr() { echo "$FLEET_NET.2.$1"; }
fleet_node_addr6() { echo "$FLEET_NET6::$((10 + $1))"; }
fleet_server_addr6() { echo "$FLEET_NET6::$((20 + $1))"; }
fleet_sock() { echo "$FLEET_DIR/n$1/tenace.sock"; }
fleet_pin() { echo "$FLEET_DIR/bpf/n$1"; }
# the CLI against node N
fleet_tn() { "$FLEET_TENACE" --socket "$(fleet_sock "$1")" "${@:2}"; }

_fleet_port() { # ns ifname-in-ns bridge-port-name
	ip link add "$3" netns "$FLEET_P-sw" type veth peer name "$2" netns "$FLEET_P-$1"
	ip -n "$FLEET_P-sw" link set "$3" master br0 up
	ip -n "$FLEET_P-$1" link set "$2" up
	ip -n "$FLEET_P-$1" link set lo up
}

_fleet_router_conf() {
	local i
	cat <<CONF
# the fleet's router: learns the VIP from every node, one ECMP route in the kernel
log stderr { info, remote, warning, error, auth, fatal, bug };
router id $FLEET_ROUTER;
timeformat protocol "%s";
protocol device {
}
protocol kernel {
	ipv4 { import none; export all; };
	merge paths on;
}
protocol kernel {
	ipv6 { import none; export all; };
	merge paths on;
}
template bgp node {
	local $FLEET_ROUTER as $FLEET_AS_ROUTER;
	passive on;
	error wait time 1, 4;
	ipv4 { import all; export none; };
}
template bgp node6 {
	local $FLEET_ROUTER6 as $FLEET_AS_ROUTER;
	passive on;
	error wait time 1, 4;
	ipv6 { import all; export none; };
}
CONF
	for i in $(seq 1 "$FLEET_NODES"); do
		echo "protocol bgp n$i from node { neighbor $(fleet_node_addr "$i") as $FLEET_AS_NODES; }"
		[ "$FLEET_V6" = 1 ] &&
			echo "protocol bgp n${i}v6 from node6 { neighbor $(fleet_node_addr6 "$i") as $FLEET_AS_NODES; }"
	done
	return 0
}

fleet_up() {
	local i
	fleet_down >/dev/null 2>&1
	mkdir -p "$FLEET_DIR/rt" "$FLEET_DIR/bpf"
	# pins on a bpffs of our own: `ip netns exec` hides the host's /sys/fs/bpf
	mount -t bpf bpf "$FLEET_DIR/bpf" || return 1
	for n in sw rt cli $(seq -f 'n%g' 1 "$FLEET_NODES") $(seq -f 's%g' 1 "$FLEET_SERVERS"); do
		ip netns add "$FLEET_P-$n" || return 1
	done
	ip -n "$FLEET_P-sw" link add br0 type bridge
	ip -n "$FLEET_P-sw" link set br0 up
	_fleet_port rt eth0 prt
	for i in $(seq 1 "$FLEET_NODES"); do
		_fleet_port "n$i" eth0 "pn$i"
		# XDP_TX'd frames are accepted by a veth only when its peer runs XDP
		ip -n "$FLEET_P-sw" link set dev "pn$i" xdpdrv obj "$FLEET_ROOT/build/helpers.bpf.o" program pass_xdp
		ip -n "$FLEET_P-n$i" addr add "$(fleet_node_addr "$i")/24" dev eth0
		ip -n "$FLEET_P-n$i" route add default via "$FLEET_ROUTER"
		[ "$FLEET_V6" = 1 ] && ip -n "$FLEET_P-n$i" addr add "$(fleet_node_addr6 "$i")/64" dev eth0 nodad
	done
	for i in $(seq 1 "$FLEET_SERVERS"); do
		_fleet_port "s$i" eth0 "ps$i"
		ip -n "$FLEET_P-s$i" addr add "$(fleet_server_addr "$i")/24" dev eth0
		ip -n "$FLEET_P-s$i" addr add "$FLEET_VIP/32" dev lo
		ip -n "$FLEET_P-s$i" route add default via "$FLEET_ROUTER"
		# the VIP lives on lo: never answer ARP for it on the wire
		fleet_ns "s$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
			net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
		if [ "$FLEET_V6" = 1 ]; then
			ip -n "$FLEET_P-s$i" addr add "$(fleet_server_addr6 "$i")/64" dev eth0 nodad
			ip -n "$FLEET_P-s$i" addr add "$FLEET_VIP6/128" dev lo
			ip -n "$FLEET_P-s$i" -6 route add default via "$FLEET_ROUTER6"
		fi
	done
	# the clients, behind the router
	ip link add eth1 netns "$FLEET_P-rt" type veth peer name eth0 netns "$FLEET_P-cli"
	ip -n "$FLEET_P-rt" link set eth1 up
	ip -n "$FLEET_P-cli" link set eth0 up
	ip -n "$FLEET_P-cli" link set lo up
	ip -n "$FLEET_P-rt" addr add "$FLEET_ROUTER/24" dev eth0
	[ "$FLEET_V6" = 1 ] && ip -n "$FLEET_P-rt" addr add "$FLEET_ROUTER6/64" dev eth0 nodad
	ip -n "$FLEET_P-rt" addr add "$FLEET_NET.1.1/24" dev eth1
	ip -n "$FLEET_P-rt" route add "$FLEET_NET.2.0/24" dev eth1
	ip -n "$FLEET_P-cli" addr add "$FLEET_NET.1.2/24" dev eth0
	for i in $(seq 1 "$FLEET_CLIENTS"); do
		ip -n "$FLEET_P-cli" addr add "$(fleet_client_addr "$i")/32" dev eth0
	done
	ip -n "$FLEET_P-cli" route add default via "$FLEET_NET.1.1"
	# full checksums: partial ones are not completed after a node's XDP_TX
	fleet_ns cli ethtool -K eth0 tx off >/dev/null
	fleet_ns rt ethtool -K eth0 tx off >/dev/null
	# the router forwards, and spreads flows over the next hops by their ports too
	fleet_ns rt sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.forwarding=1 net.ipv6.fib_multipath_hash_policy=1
	_fleet_router_conf >"$FLEET_DIR/rt/bird.conf"
	fleet_ns rt bird -c "$FLEET_DIR/rt/bird.conf" -s "$FLEET_DIR/rt/bird.ctl" -P "$FLEET_DIR/rt/bird.pid" \
		2>>"$FLEET_DIR/rt/bird.log"
}

# fleet_config FILE [ANNOUNCE]: the one configuration every node runs
fleet_config() {
	local i servers="" servers6="" v6farm="" v6front="" v6nb=""
	for i in $(seq 1 "$FLEET_SERVERS"); do
		servers="$servers${servers:+,}
      { \"serverId\": $i, \"address\": \"$(fleet_server_addr "$i")\", \"weight\": 1 }"
		servers6="$servers6${servers6:+,} { \"serverId\": $i, \"address\": \"$(fleet_server_addr6 "$i")\" }"
	done
	if [ "$FLEET_V6" = 1 ]; then
		v6farm=", {
    \"farmId\": 2, \"type\": \"tcp\", \"displayName\": \"web6\", \"port\": 80, \"stickiness\": \"sourceIp\",
    \"probe\": { \"type\": \"tcp\", \"interval\": 0.5, \"timeout\": 0.4, \"rise\": 2, \"fall\": 2 },
    \"servers\": [$servers6 ]
  }"
		v6front=",
    { \"frontendId\": 2, \"type\": \"tcp\", \"vip\": [\"$FLEET_VIP6\"], \"port\": \"80\", \"defaultFarmId\": 2 }"
		v6nb=", { \"address\": \"$FLEET_ROUTER6\", \"remoteAs\": $FLEET_AS_ROUTER }"
	fi
	cat >"$1" <<JSON
{
  "zone": "fleet",
  "interfaces": ["eth0"],
  "hashSeed": 7,
  "conntrack": { "size": 65536 },
  "farms": [{
    "farmId": 1, "type": "tcp", "displayName": "web", "port": 80,
    "balance": "source", "stickiness": "sourceIp",
    "probe": { "type": "http", "url": "/health", "interval": 0.5, "timeout": 0.4, "rise": 2, "fall": 2 },
    "servers": [$servers
    ]
  }$v6farm],
  "frontends": [
    { "frontendId": 1, "type": "tcp", "displayName": "www", "vip": ["$FLEET_VIP"], "port": "80", "defaultFarmId": 1 }$v6front
  ],
  "bgp": {
    "localAs": $FLEET_AS_NODES,
    "neighbors": [{ "address": "$FLEET_ROUTER", "remoteAs": $FLEET_AS_ROUTER }$v6nb],
    "holdTime": $FLEET_HOLD,
    "announce": "${2:-healthy}"
  }
}
JSON
}

# fleet_node_start N: `tenace run` in node N's namespace (a machine of its own)
fleet_node_start() {
	local d="$FLEET_DIR/n$1"
	mkdir -p "$d"
	[ -f "$d/tenace.json" ] || fleet_config "$d/tenace.json"
	ip netns exec "$FLEET_P-n$1" "$FLEET_TENACE" run --config "$d/tenace.json" --socket "$d/tenace.sock" \
		--state "$d/applied.json" --pin-dir "$(fleet_pin "$1")" </dev/null >/dev/null 2>>"$d/controller.log" &
	echo $! >"$d/ctl.pid"
}

fleet_node_ctl_pid() { cat "$FLEET_DIR/n$1/ctl.pid" 2>/dev/null; }
fleet_node_bird_pid() { cat "$FLEET_DIR/n$1/bird.pid" 2>/dev/null; }

# fleet_node_stop N: SIGTERM (a graceful stop: routes withdrawn first)
fleet_node_stop() {
	local pid
	pid=$(fleet_node_ctl_pid "$1")
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$FLEET_DIR/n$1/ctl.pid"
}

# fleet_node_kill N: the machine dies: SIGKILL to its controller and its BIRD
fleet_node_kill() {
	local c b
	c=$(fleet_node_ctl_pid "$1")
	b=$(fleet_node_bird_pid "$1")
	[ -n "$c" ] && kill -KILL "$c" 2>/dev/null
	[ -n "$b" ] && kill -KILL "$b" 2>/dev/null
	# reaped here when it is this shell's child: no "Killed" job notice
	[ -n "$c" ] && wait "$c" 2>/dev/null
	rm -f "$FLEET_DIR/n$1/ctl.pid"
}

# the next hops the router holds for the VIP, sorted, one line: "10.77.0.11 10.77.0.13"
fleet_nexthops() {
	ip -n "$FLEET_P-rt" route show "$FLEET_VIP/32" 2>/dev/null |
		grep -oE 'via [0-9.]+' | awk '{print $2}' | sort -V | tr '\n' ' ' | sed 's/ $//'
}
# the same for the IPv6 VIP
fleet_nexthops6() {
	ip -n "$FLEET_P-rt" -6 route show "$FLEET_VIP6/128" 2>/dev/null |
		grep -oE 'via [0-9a-f:]+' | awk '{print $2}' | sort | tr '\n' ' ' | sed 's/ $//'
}
# the node numbers behind those next hops: "1 3"
fleet_nexthop_nodes() {
	local a out=""
	for a in $(fleet_nexthops); do out="$out${out:+ }$((${a##*.} - 10))"; done
	echo "$out"
}

# which server answers client N (a new connection): "server K" or "no answer"
fleet_request() {
	fleet_ns cli curl -s --max-time "${2:-2}" --interface "$(fleet_client_addr "$1")" "http://$FLEET_VIP/" ||
		echo "no answer"
}

fleet_down() {
	local i n
	for i in $(seq 1 "$FLEET_NODES"); do fleet_node_kill "$i"; done
	for i in $(seq 1 "$FLEET_SERVERS"); do lab_server_stop "$i"; done
	[ -f "$FLEET_DIR/rt/bird.pid" ] && kill "$(cat "$FLEET_DIR/rt/bird.pid")" 2>/dev/null
	for n in cli rt $(seq -f 'n%g' 1 "$FLEET_NODES") $(seq -f 's%g' 1 "$FLEET_SERVERS") sw; do
		ip netns pids "$FLEET_P-$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$FLEET_P-$n" 2>/dev/null
	done
	mountpoint -q "$FLEET_DIR/bpf" && umount "$FLEET_DIR/bpf"
	rm -rf "$FLEET_DIR"
}

# fleet_wait_nexthops "1 2 3" SECONDS: wait until the router's next hops for
# the VIP are exactly those nodes ("" : no route); prints the seconds waited
# (from $FLEET_T0 when set, else from the call). Fails on timeout.
fleet_wait_nexthops() {
	local want="$1" t0="${FLEET_T0:-$EPOCHREALTIME}" end=$((SECONDS + $2))
	while [ "$SECONDS" -le "$end" ]; do
		if [ "$(fleet_nexthop_nodes)" = "$want" ]; then
			awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f\n", b - a}'
			return 0
		fi
		sleep 0.02
	done
	return 1
}

# packets node N forwarded for the VIP (its per-VIP counter)
fleet_vip_packets() {
	fleet_tn "$1" -j stats 2>/dev/null |
		jq --arg v "$FLEET_VIP" '[.vips[] | select(.vip == $v) | .packets] | add // 0'
}

# ---- load: one client loop per address (a new connection per request), and wrk
FLEET_LOADER="$FLEET_ROOT/tests/integration/helpers/http_loader.py"
FLEET_LOAD_PIDS=""
FLEET_WRK_PID=""
FLEET_LOAD_N=0
# fleet_load_start DIR NCLIENTS [wrk]: lines "START END server K" / "START END fail" in DIR/cN
fleet_load_start() {
	local d="$1" i specs=()
	mkdir -p "$d"
	rm -f "$d/stop"
	FLEET_LOAD_N=$2
	for i in $(seq 1 "$2"); do specs+=("c$i=$(fleet_client_addr "$i")"); done
	ip netns exec "$FLEET_P-cli" python3 "$FLEET_LOADER" "$d" "$d/stop" 0.3 "$FLEET_VIP" 80 "${specs[@]}" &
	FLEET_LOAD_PIDS=$!
	if [ "${3:-}" = wrk ]; then
		# paced (5 ms between requests on each of 6 connections): CPU left to the nodes
		echo 'function delay() return 5 end' >"$d/pace.lua"
		ip netns exec "$FLEET_P-cli" wrk -t1 -c6 -d600s --timeout 3s -s "$d/pace.lua" "http://$FLEET_VIP:80/" \
			>"$d/wrk.out" 2>&1 &
		FLEET_WRK_PID=$!
	fi
}
fleet_load_stop() {
	touch "$1/stop"
	[ -n "$FLEET_LOAD_PIDS" ] && wait "$FLEET_LOAD_PIDS" 2>/dev/null
	FLEET_LOAD_PIDS=""
	if [ -n "$FLEET_WRK_PID" ]; then
		kill -INT "$FLEET_WRK_PID" 2>/dev/null
		wait "$FLEET_WRK_PID" 2>/dev/null
		FLEET_WRK_PID=""
	fi
}
# every client of the load in DIR answered at least N times
fleet_load_answered() {
	local f n=0
	for f in "$1"/c[0-9]*; do
		[ -f "$f" ] && [ "$(grep -c ' server ' "$f")" -ge "$2" ] || return 1
		n=$((n + 1))
	done
	[ "$n" -eq "$FLEET_LOAD_N" ]
}
# "REQUESTS ERRORS" of wrk in DIR (errors: socket errors + non-2xx)
fleet_wrk_result() {
	local f="$1/wrk.out" n e
	n=$(awk '/requests in/ {print $1}' "$f")
	e=$(awk '/Socket errors/ {gsub(",", ""); s = $4 + $6 + $8 + $10} /Non-2xx/ {s += $NF} END {print s + 0}' "$f")
	echo "${n:-0} $e"
}
# clients of DIR answered by more than one server
fleet_unsticky() {
	local f n=0
	for f in "$1"/c[0-9]*; do
		[ "$(awk '$3 == "server" {print $4}' "$f" | sort -u | wc -l)" -le 1 ] || n=$((n + 1))
	done
	echo "$n"
}
# failed requests of DIR that started after time T (all when T is 0)
fleet_failures_after() {
	cat "$1"/c[0-9]* | awk -v t="${2:-0}" '$3 == "fail" && $1 > t' | wc -l
}
fleet_requests() { cat "$1"/c[0-9]* | wc -l; }
# "client server" for every client of DIR (its first answer)
fleet_servers_of() {
	local f
	for f in "$1"/c[0-9]*; do
		echo "$(basename "$f") $(awk '$3 == "server" {print $4; exit}' "$f")"
	done | sort -V
}
