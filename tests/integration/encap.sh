#!/bin/bash
# Servers anywhere, end to end (scripts/lab_routed.sh): the balancer forwards
# to three nginx servers in two other routed subnets, one behind a link of
# MTU 1400 that neither end of the tunnel sees; `tenace decap` on each
# server. One farm per mode: IPIP, GUE v0, GUE v1 (IPv4), IPv6 in IPv6, GUE
# over IPv6, a UDP farm in GUE, and two farms whose server cannot be reached
# (no route; next hop without a MAC). Checked, with numbers:
#   - every mode: every client answered, each by one server, clients spread;
#   - 20 refreshes changing weights under load (many client addresses + wrk):
#     zero failed requests, nobody moved;
#   - a killed server: only its clients move, no failure once it is marked down;
#   - 8 KiB uploads complete in every mode, through the 1400 path too; through
#     the 1500 path the clamp makes every ICMP unneeded; the balancer learns
#     1400 toward the server behind the narrow link (status shows it);
#   - a 1450-byte datagram with DF: answered through the 1500 path; through the
#     1400 one the client gets the balancer's frag-needed (its kernel's path MTU
#     becomes 1400 - 32);
#   - unreachable servers: dropped by reason, named in status;
#   - the servers' decap counters and the balancer's tunnel counters.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"
export LAB_P="tnen$(($$ % 10000))" LAB_SERVERS=0 LAB_CLIENTS=40
export LAB_RVIPS="10.99.100.2 10.99.100.3 10.99.100.4 10.99.100.5 10.99.100.6 10.99.100.7"
export LAB_RVIPS6="fd99::100:2 fd99::100:3"
. "$TN_ROOT/scripts/lab_routed.sh"

RUN="$LAB_DIR/run"
CFG="$RUN/tenace.json"
SOCK="$RUN/tenace.sock"
LOG="$RUN/controller.log"
PIN="/sys/fs/bpf/$LAB_P"
PY3=$(command -v /usr/bin/python3 || command -v python3)
TUN="$TN_ROOT/tests/integration/helpers/tunnel.py"
LOADER="$TN_ROOT/tests/integration/helpers/http_loader.py"
CTL_PID=""
LOAD_PIDS=""
WRK_PID=""
N4=24   # IPv4 client addresses per farm in the loads
N6=10   # IPv6 client addresses
# the tcp farms: farm id, VIP, what the loads call it
FARMS="1:10.99.100.2:ipip 2:10.99.100.3:gue0 3:10.99.100.4:gue1 4:fd99::100:2:ip6ip6 5:fd99::100:3:gue6"

cleanup() {
	trap - EXIT
	load_stop
	ctl_stop
	rlab_down >/dev/null 2>&1
}
trap cleanup EXIT

farm_of() { echo "${1%%:*}"; }
vip_of() { local x="${1#*:}"; echo "${x%:*}"; }
name_of() { echo "${1##*:}"; }
is6() { case "$1" in *:*:*) return 0 ;; *) return 1 ;; esac; }
client_src() { # FARM-VIP N: the Nth client address of the VIP's family
	if is6 "$1"; then echo "$LAB_NET6::1:$2"; else lab_client_addr "$2"; fi
}
nclients() { if is6 "$1"; then echo "$N6"; else echo "$N4"; fi; }
url_host() { if is6 "$1"; then echo "[$1]"; else echo "$1"; fi; }
counter() { tn -j stats | jq -r --arg r "$1" '.reasons[$r].packets'; }
# the stats are sampled by the controller's tick (once a second): wait for a sample past N
counter_above() { [ "$(counter "$1")" -gt "$2" ]; }
decap_counter() { lab_netns "r$1" "$TN_BIN" decap --status -j --pin-dir "/sys/fs/bpf/$LAB_P-r$1" | jq -r --arg c "$2" '.[0].counters[$c].packets'; }
# up by a probe: a server counts as up before its first check (a new config serves at once), and a
# first check that fails takes it out of the table again; a load started then sees the table change
# under its first SYNs (steered by the table alone), so wait for every server's checks too
checked_up() { jq -e --arg t "$1" --argjson f "$2" '.farms[] | select(.farmId == $f and .type == $t) |
	.serversUp == 3 and all(.servers[]; (.checks // 0) > 0 and .state == "up")' >/dev/null; }
all_up() {
	local s f
	s=$(tn -j status) || return 1
	for f in 1 2 3 4 5; do checked_up tcp "$f" <<<"$s" || return 1; done
	checked_up udp 6 <<<"$s"
}
state_is() { [ "$(srv "$1" "$2" .state)" = "$3" ]; }

ctl_start() {
	nsenter --net="/run/netns/$LAB_P-lb" "$TN_BIN" run --config "$CFG" --socket "$SOCK" --pin-dir "$PIN" 2>>"$LOG" &
	CTL_PID=$!
	wait_for 20 tn -j status >/dev/null 2>&1
}

# ---- loads: one loader process per VIP (a new connection per request), files $dir/<name>-<N> ----
load_start() { # NAME [wrk]
	local d="$RUN/$1" spec v n args i
	mkdir -p "$d"
	rm -f "$RUN/stop"
	LOAD_DIR="$d"
	for spec in $FARMS; do
		v=$(vip_of "$spec")
		n=$(name_of "$spec")
		args=()
		for i in $(seq 1 "$(nclients "$v")"); do args+=("$n-$i=$(client_src "$v" "$i")"); done
		ip netns exec "$LAB_P-cli" "$PY3" "$LOADER" "$d" "$RUN/stop" 0.3 "$(url_host "$v")" 80 "${args[@]}" &
		LOAD_PIDS="$LOAD_PIDS $!"
	done
	if [ "${2:-}" = wrk ]; then
		ip netns exec "$LAB_P-cli" wrk -t1 -c4 -d600s --timeout 3s -s "$RUN/pace.lua" "http://10.99.100.3:80/" >"$d/wrk.out" 2>&1 &
		WRK_PID=$!
	fi
	LOAD_T0=$EPOCHREALTIME
	sleep 1.5
}
load_stop() {
	touch "$RUN/stop" 2>/dev/null
	# shellcheck disable=SC2086
	[ -n "$LOAD_PIDS" ] && wait $LOAD_PIDS 2>/dev/null
	LOAD_PIDS=""
	if [ -n "$WRK_PID" ]; then
		kill -INT "$WRK_PID" 2>/dev/null
		wait "$WRK_PID" 2>/dev/null
		WRK_PID=""
	fi
}
first_server() { awk '$3 == "server" {print $4; exit}' "$1"; }
servers_of() { awk '$3 == "server" {print $4}' "$1" | sort -u | wc -l; }
check_load() { # LABEL: every request answered, every client by one server, per farm
	local spec n f req fails moved spread
	for spec in $FARMS; do
		n=$(name_of "$spec")
		req=$(cat "$LOAD_DIR/$n"-* | wc -l)
		fails=$(cat "$LOAD_DIR/$n"-* | grep -c ' fail$')
		moved=0
		for f in "$LOAD_DIR/$n"-*; do [ "$(servers_of "$f")" -eq 1 ] || moved=$((moved + 1)); done
		spread=$(for f in "$LOAD_DIR/$n"-*; do first_server "$f"; done | sort -u | wc -l)
		if [ "$req" -ge 20 ] && [ "$fails" -eq 0 ] && [ "$moved" -eq 0 ] && [ "$spread" -ge 2 ]; then
			ok "$1, $n: $req requests from $(nclients "$(vip_of "$spec")") clients, 0 failed, each client on one server, $spread servers used"
		else
			not_ok "$1, $n: 0 failed of $req, 0 clients on several servers (got $moved), 2+ servers (got $spread); failed $fails"
			# which client failed and when (seconds after the loads started): a start-up
			# loss, a burst or a steady leak read differently
			awk -v t0="$LOAD_T0" '$3 == "fail" {n = FILENAME; sub(".*/", "", n); printf "# %s failed at +%.2fs after %.2fs\n", n, $1 - t0, $2 - $1}' \
				"$LOAD_DIR/$n"-* | sort -t+ -k2 -n | head -8
		fi
	done
	if [ -f "$LOAD_DIR/wrk.out" ]; then
		local w e
		w=$(awk '/requests in/ {print $1}' "$LOAD_DIR/wrk.out")
		e=$(awk '/Socket errors/ {gsub(",", ""); s = $4 + $6 + $8 + $10} /Non-2xx/ {s += $NF} END {print s + 0}' "$LOAD_DIR/wrk.out")
		if [ "${w:-0}" -gt 50 ] && [ "$e" -eq 0 ]; then ok "$1: wrk through GUE: $w requests, 0 errors"; else not_ok "$1: wrk: 0 errors (requests $w, errors $e)"; fi
	fi
}

# ---- the lab and the controller ------------------------------------------------------------------
ensure_bpffs
rlab_up || { not_ok "build the routed lab"; exit 1; }
mkdir -p "$RUN"
echo 'function delay() return 2 end' >"$RUN/pace.lua"
ok_all=1
for i in 1 2 3; do
	rlab_server_start "$i" || ok_all=0
	rlab_decap "$i" "$TN_BIN" 2>>"$LOG" || ok_all=0
	lab_ns "r$i" "$PY3" "$TUN" udp-echo 10.99.100.5 7000 "r$i" &
done
check_eq "three servers behind routers: nginx, tenace decap, a UDP echo" 1 "$ok_all"
# the balancer cannot reach 10.97.0.0/16, and reaches 10.96.0.0/16 through a router nobody is
ip -n "$LAB_P-lb" route add 10.96.0.0/16 via "$LAB_NET.0.250"

servers4() { echo "{\"serverId\":1,\"address\":\"$(rlab_server_addr 1)\"},{\"serverId\":2,\"address\":\"$(rlab_server_addr 2)\"},{\"serverId\":3,\"address\":\"$(rlab_server_addr 3)\"}"; }
servers6() { echo "{\"serverId\":1,\"address\":\"$(rlab_server_addr6 1)\"},{\"serverId\":2,\"address\":\"$(rlab_server_addr6 2)\"},{\"serverId\":3,\"address\":\"$(rlab_server_addr6 3)\"}"; }
PROBE='"probe": {"type": "http", "url": "/health", "interval": 0.5, "timeout": 1, "rise": 2, "fall": 2}'
SRC="\"encapSource\": [\"$LAB_LB\", \"$LAB_LB6\"]"
cat >"$CFG" <<JSON
{
  "zone": "encap", "interfaces": ["eth0"], "hashSeed": 7,
  "farms": [
    { "farmId": 1, "type": "tcp", "port": 80, "stickiness": "sourceIp", "forwarding": "ipip", $SRC, $PROBE, "servers": [$(servers4)] },
    { "farmId": 2, "type": "tcp", "port": 80, "stickiness": "sourceIp", "forwarding": "gue", $SRC, $PROBE, "servers": [$(servers4)] },
    { "farmId": 3, "type": "tcp", "port": 80, "stickiness": "sourceIp", "forwarding": "gue", "gueVersion": 1, $SRC, $PROBE, "servers": [$(servers4)] },
    { "farmId": 4, "type": "tcp", "port": 80, "stickiness": "sourceIp", "forwarding": "ipip", $SRC, $PROBE, "servers": [$(servers6)] },
    { "farmId": 5, "type": "tcp", "port": 80, "stickiness": "sourceIp", "forwarding": "gue", $SRC, $PROBE, "servers": [$(servers6)] },
    { "farmId": 6, "type": "udp", "port": 7000, "stickiness": "sourceIp", "forwarding": "gue", $SRC,
      "probe": {"type": "tcp", "port": 80, "interval": 0.5, "timeout": 1, "rise": 2, "fall": 2}, "servers": [$(servers4)] },
    { "farmId": 7, "type": "tcp", "port": 80, "forwarding": "ipip", $SRC, "servers": [{"serverId": 1, "address": "10.97.0.1", "probe": false}] },
    { "farmId": 8, "type": "tcp", "port": 80, "forwarding": "gue", $SRC, "servers": [{"serverId": 1, "address": "10.96.0.1", "probe": false}] }
  ],
  "frontends": [
    { "frontendId": 1, "type": "tcp", "vip": ["10.99.100.2"], "port": "80", "defaultFarmId": 1 },
    { "frontendId": 2, "type": "tcp", "vip": ["10.99.100.3"], "port": "80", "defaultFarmId": 2 },
    { "frontendId": 3, "type": "tcp", "vip": ["10.99.100.4"], "port": "80", "defaultFarmId": 3 },
    { "frontendId": 4, "type": "tcp", "vip": ["fd99::100:2"], "port": "80", "defaultFarmId": 4 },
    { "frontendId": 5, "type": "tcp", "vip": ["fd99::100:3"], "port": "80", "defaultFarmId": 5 },
    { "frontendId": 6, "type": "udp", "vip": ["10.99.100.5"], "port": "7000", "defaultFarmId": 6 },
    { "frontendId": 7, "type": "tcp", "vip": ["10.99.100.6"], "port": "80", "defaultFarmId": 7 },
    { "frontendId": 8, "type": "tcp", "vip": ["10.99.100.7"], "port": "80", "defaultFarmId": 8 }
  ]
}
JSON
if ctl_start && wait_for 30 all_up; then ok "controller started; every tunnelled server up by its probe"; else not_ok "controller started; every tunnelled server up"; tn -j status | jq -c '.farms[] | [.farmId, .serversUp]' | sed 's/^/# /'; exit 1; fi
check_eq "status: each farm's forwarding" "ipip gue gue ipip gue gue ipip gue" "$(tn -j status | jq -r '[.farms[] | .forwarding] | join(" ")')"
check_eq "status: the next hop of r3 (subnet B) is the router on the bridge, through eth0" "$LAB_RT eth0" \
	"$(srv 1 3 '.nextHop | "\(.via) \(.interface)"')"
check_eq "status: the IPv6 next hop too" "$LAB_RT6 eth0" "$(srv 4 3 '.nextHop | "\(.via) \(.interface)"')"

# ---- every mode: answered, sticky, spread -------------------------------------------------------------
load_start modes
sleep 2
load_stop
check_load "every mode"
MODES_DIR="$LOAD_DIR"

# ---- 20 refreshes under load --------------------------------------------------------------------------
load_start refresh wrk
done_n=0
for i in $(seq 0 19); do
	f=$((i % 5 + 1)) s=$((i % 3 + 1)) w=$((1 + i % 4))
	tn server set "$f" "$s" --weight "$w" >/dev/null && tn refresh --wait 2>&1 | grep -q ': done' && done_n=$((done_n + 1))
done
sleep 1
load_stop
check_eq "20 refreshes done, each changing one weight of a tunnelling farm" 20 "$done_n"
check_load "during 20 refreshes"

# ---- a killed server ------------------------------------------------------------------------------------
load_start kill
lab_nginx_stop r2
for f in 1 2 3 4 5; do wait_for 10 state_is "$f" 2 down; done
t_down=$(date +%s.%N)
sleep 2
load_stop
rlab_server_start 2
late=0 others=0 moved=0 victims=0
for spec in $FARMS; do
	for file in "$LOAD_DIR/$(name_of "$spec")"-*; do
		if [ "$(first_server "$file")" = r2 ]; then
			victims=$((victims + 1))
			late=$((late + $(awk -v t="$t_down" '$3 == "fail" && $1 > t + 0.2' "$file" | wc -l)))
			[ "$(awk '$3 == "server" {s = $4} END {print s}' "$file")" != r2 ] && moved=$((moved + 1))
		else
			others=$((others + $(grep -c ' fail$' "$file")))
			[ "$(servers_of "$file")" -eq 1 ] || others=$((others + 1))
		fi
	done
done
check_eq "kill r2: the clients of r1 and r3 lost nothing and stayed" 0 "$others"
if [ "$victims" -gt 0 ] && [ "$moved" -eq "$victims" ]; then ok "kill r2: its $victims clients (every mode) moved"; else not_ok "kill r2: its clients moved ($moved of $victims)"; fi
check_eq "kill r2: no failure started after it was marked down" 0 "$late"
wait_for 15 all_up

# ---- the servers' and the balancer's counters -------------------------------------------------------------
check "r1 stripped IPIP, IPv6 in IPv6, GUE v0 and v1" bash -c "[ $(decap_counter 1 decap_ipip4) -gt 0 ] && [ $(decap_counter 1 decap_ipip6) -gt 0 ] && [ $(decap_counter 1 decap_gue0) -gt 0 ] && [ $(decap_counter 1 decap_gue1) -gt 0 ]"
check_eq "r1 dropped nothing (malformed, adjust)" "0 0" "$(decap_counter 1 drop_malformed) $(decap_counter 1 drop_adjust)"
check "r1 lowered the MSS of SYN-ACKs" test "$(decap_counter 1 mss_clamped)" -gt 0
check "the balancer forwarded in IPIP and in GUE" bash -c "[ $(counter encap_ipip) -gt 0 ] && [ $(counter encap_gue) -gt 0 ]"

# ---- path MTU: uploads --------------------------------------------------------------------------------
# clients known to land on r1 (1500 path) and on r3 (behind the 1400 link), per farm
pick() { # NAME SERVER: a client number of the modes run that landed on SERVER
	local f
	for f in "$MODES_DIR/$1"-*; do [ "$(first_server "$f")" = "$2" ] && { echo "${f##*-}"; return; }; done
}
head -c 8192 /dev/urandom >"$RUN/upload.bin"
upload() { # VIP N: what nginx says after reading the whole body
	lab_ns cli curl -s --max-time 20 --interface "$(client_src "$1" "$2")" --data-binary "@$RUN/upload.bin" \
		-H 'Content-Type: application/octet-stream' "http://$(url_host "$1")/upload" || echo "failed"
}
too_big0=$(counter icmp_too_big)
for spec in $FARMS; do
	v=$(vip_of "$spec") n=$(name_of "$spec") c=$(pick "$(name_of "$spec")" r1)
	check_eq "$n: an 8 KiB upload through the 1500 path" "received 8192" "$(upload "$v" "$c")"
done
sleep 1.5 # one stats sample after the last upload
check_eq "through the 1500 path no client needed an ICMP (the SYN-ACK clamp sized them)" "$too_big0" "$(counter icmp_too_big)"
learned0=$(counter pmtu_learned)
for spec in $FARMS; do
	v=$(vip_of "$spec") n=$(name_of "$spec") c=$(pick "$(name_of "$spec")" r3)
	check_eq "$n: an 8 KiB upload through the 1400 path" "received 8192" "$(upload "$v" "$c")"
done
check "the fabric's ICMP taught the balancer (pmtu_learned)" wait_for 5 counter_above pmtu_learned "$learned0"
check "and clients got the balancer's frag-needed / packet-too-big" wait_for 5 counter_above icmp_too_big "$too_big0"
check_eq "status: r3's learnt path MTU, IPv4 and IPv6" "1400 1400" "$(srv 1 3 .pathMtu.mtu) $(srv 4 3 .pathMtu.mtu)"
check_eq "status: r1 has none" "null" "$(srv 1 1 .pathMtu)"
left=$(srv 1 3 .pathMtu.expiresIn)
if [ "$left" -gt 500 ] && [ "$left" -le 600 ]; then ok "the learnt MTU expires in $left s (10 minutes)"; else not_ok "the learnt MTU expires in ~600 s (got $left)"; fi

# ---- path MTU: a 1450-byte datagram with DF ---------------------------------------------------------------
udp_server_of() { # N: the server whose echo answers client N on the UDP farm
	lab_ns cli "$PY3" "$TUN" df-probe "$(lab_client_addr "$1")" 10.99.100.5 7000 100 3 | awk '{print $2}'
}
u1="" u3=""
for c in $(seq 1 "$N4"); do
	s=$(udp_server_of "$c")
	[ "$s" = r1 ] && [ -z "$u1" ] && u1=$c
	[ "$s" = r3 ] && [ -z "$u3" ] && u3=$c
	[ -n "$u1" ] && [ -n "$u3" ] && break
done
if [ -n "$u1" ] && [ -n "$u3" ]; then ok "UDP farm: clients $u1 (r1) and $u3 (r3)"; else not_ok "UDP farm: clients on r1 and r3 (got '$u1' '$u3')"; fi
check_eq "1450 bytes with DF through the 1500 path: answered" "answered r1 mtu 1500" \
	"$(lab_ns cli "$PY3" "$TUN" df-probe "$(lab_client_addr "$u1")" 10.99.100.5 7000 1450 3)"
too_big1=$(counter icmp_too_big)
check_eq "1450 bytes with DF through the 1400 path: the client's kernel got frag-needed (1400 - 32)" \
	"unanswered mtu 1368" "$(lab_ns cli "$PY3" "$TUN" df-probe "$(lab_client_addr "$u3")" 10.99.100.5 7000 1450 4)"
check "... sent by the balancer (icmp_too_big)" wait_for 5 counter_above icmp_too_big "$too_big1"

# ---- unreachable servers ------------------------------------------------------------------------------------
nr0=$(counter drop_encap_no_route) nn0=$(counter drop_encap_no_neigh)
lab_ns cli curl -s --max-time 1 --interface "$(lab_client_addr 1)" http://10.99.100.6/ >/dev/null
lab_ns cli curl -s --max-time 1 --interface "$(lab_client_addr 1)" http://10.99.100.7/ >/dev/null
check "no route: dropped as drop_encap_no_route" wait_for 5 counter_above drop_encap_no_route "$nr0"
check "next hop without a MAC: dropped as drop_encap_no_neigh" wait_for 5 counter_above drop_encap_no_neigh "$nn0"
check_eq "status: farm 7's server unresolved, with the reason" "unresolved no route (not forwarded: no route, or a local address)" \
	"$(srv 7 1 '"\(.state) \(.lastError)"')"
check_eq "status: farm 8's server unresolved, with the next hop" "unresolved next hop $LAB_NET.0.250: the next hop's MAC is not resolved" \
	"$(srv 8 1 '"\(.state) \(.lastError)"')"

ctl_stop_clean "$LOG"
tap_done
