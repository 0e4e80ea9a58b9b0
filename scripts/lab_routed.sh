# shellcheck shell=bash
# The routed lab: the lab of scripts/lab.sh (client, balancer, LAB_SERVERS
# direct-return servers on one bridge) plus servers anywhere, in two other
# routed subnets behind routers, reached through tunnels (forwarding ipip/gue).
# Source it, then call rlab_up / rlab_down.
#
#   client ($P-cli) --+                                   subnet A $LAB_RNET.10.0/24
#                     |                              +--- r1 ($P-r1) nginx, VIP2 on lo, tenace decap
#   balancer ($P-lb) -+-- bridge --- router ($P-rt) -+--- r2 ($P-r2)
#                     |   ($LAB_NET.0.0/16)          |
#   s1..sN (dsr)  ----+                              +=== MTU 1400 === router ($P-rtb) --- r3 ($P-r3)
#                                                                     subnet B $LAB_RNET.20.0/24
#
# The client reaches VIP2 through the balancer, which wraps each packet in a
# tunnel to the chosen server (next hop: the router, from the kernel's FIB);
# the server strips it (tenace decap) and answers the client directly through
# the router. The link to subnet B has an MTU of 1400 that neither end of the
# tunnel sees: the router tells the balancer (ICMP), which must learn it.
# IPv6 alike: $LAB_RNET6:a::/64, $LAB_RNET6:b::/64, link $LAB_RNET6:c::/64.

# shellcheck source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

LAB_RNET="${LAB_RNET:-10.98}"      # the routed subnets (outside the bridge's /16)
LAB_RNET6="${LAB_RNET6:-fd98}"
LAB_RVIP="$LAB_NET.100.2"          # the VIP of the routed servers
LAB_RVIP6="$LAB_NET6::100:2"
# every VIP they hold (one farm per VIP: the servers see the client's port)
LAB_RVIPS="${LAB_RVIPS:-$LAB_RVIP $LAB_NET.100.3 $LAB_NET.100.4 $LAB_NET.100.5}"
LAB_RVIPS6="${LAB_RVIPS6:-$LAB_RVIP6 $LAB_NET6::100:3}"
LAB_RT="$LAB_NET.0.1"              # the router on the bridge
LAB_RT6="$LAB_NET6::1"
LAB_LB6="$LAB_NET6::2"
LAB_RMTU="${LAB_RMTU:-1400}"       # MTU of the link to subnet B

# server N (1..3): r1 and r2 in subnet A, r3 in subnet B behind the narrow link
rlab_subnet() { [ "$1" -le 2 ] && echo 10 || echo 20; }
rlab_server_addr() { echo "$LAB_RNET.$(rlab_subnet "$1").$((10 + $1))"; }
rlab_server_addr6() { [ "$1" -le 2 ] && echo "$LAB_RNET6:a::$((10 + $1))" || echo "$LAB_RNET6:b::$((10 + $1))"; }

_rlab_veth() { # NS-A IF-A NS-B IF-B: a veth pair created in its two namespaces
	ip link add "$2" netns "$LAB_P-$1" type veth peer name "$4" netns "$LAB_P-$3"
	ip -n "$LAB_P-$1" link set "$2" up
	ip -n "$LAB_P-$3" link set "$4" up
}

_rlab_router_sysctls() {
	lab_ns "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
}

rlab_up() {
	local i ns a sub v
	rlab_down >/dev/null 2>&1
	lab_up || return 1
	for n in rt rtb r1 r2 r3; do ip netns add "$LAB_P-$n"; done
	for n in rt rtb r1 r2 r3; do ip -n "$LAB_P-$n" link set lo up; done
	# the router on the lab's bridge
	_lab_link rt eth0 prt
	ip -n "$LAB_P-rt" addr add "$LAB_RT/16" dev eth0
	ip -n "$LAB_P-rt" addr add "$LAB_RT6/64" dev eth0 nodad
	_rlab_router_sysctls rt
	# subnet A: a bridge inside the router
	ip -n "$LAB_P-rt" link add bra type bridge
	ip -n "$LAB_P-rt" link set bra up
	ip -n "$LAB_P-rt" addr add "$LAB_RNET.10.1/24" dev bra
	ip -n "$LAB_P-rt" addr add "$LAB_RNET6:a::1/64" dev bra nodad
	for i in 1 2; do
		_rlab_veth rt "pr$i" "r$i" eth0
		ip -n "$LAB_P-rt" link set "pr$i" master bra
	done
	# the narrow link to the second router, and subnet B behind it
	_rlab_veth rt eth1 rtb eth0
	ip -n "$LAB_P-rt" link set eth1 mtu "$LAB_RMTU"
	ip -n "$LAB_P-rtb" link set eth0 mtu "$LAB_RMTU"
	ip -n "$LAB_P-rt" addr add "$LAB_RNET.30.1/30" dev eth1
	ip -n "$LAB_P-rt" addr add "$LAB_RNET6:c::1/64" dev eth1 nodad
	ip -n "$LAB_P-rtb" addr add "$LAB_RNET.30.2/30" dev eth0
	ip -n "$LAB_P-rtb" addr add "$LAB_RNET6:c::2/64" dev eth0 nodad
	_rlab_router_sysctls rtb
	_rlab_veth rtb eth1 r3 eth0
	ip -n "$LAB_P-rtb" addr add "$LAB_RNET.20.1/24" dev eth1
	ip -n "$LAB_P-rtb" addr add "$LAB_RNET6:b::1/64" dev eth1 nodad
	ip -n "$LAB_P-rt" route add "$LAB_RNET.20.0/24" via "$LAB_RNET.30.2"
	ip -n "$LAB_P-rt" -6 route add "$LAB_RNET6:b::/64" via "$LAB_RNET6:c::2"
	ip -n "$LAB_P-rtb" route add default via "$LAB_RNET.30.1"
	ip -n "$LAB_P-rtb" -6 route add default via "$LAB_RNET6:c::1"
	# the client's many addresses are behind its primary address
	ip -n "$LAB_P-rt" route add "$LAB_NET.1.0/24" via "$LAB_NET.0.9"
	ip -n "$LAB_P-rt" -6 route add "$LAB_NET6::1:0/112" via "$LAB_NET6::9"
	# the servers: an address in their subnet, the VIP on lo, the router as gateway
	for i in 1 2 3; do
		ns="$LAB_P-r$i"
		sub=$(rlab_subnet "$i")
		a=$([ "$sub" = 10 ] && echo a || echo b)
		ip -n "$ns" addr add "$(rlab_server_addr "$i")/24" dev eth0
		ip -n "$ns" addr add "$(rlab_server_addr6 "$i")/64" dev eth0 nodad
		for v in $LAB_RVIPS; do ip -n "$ns" addr add "$v/32" dev lo; done
		for v in $LAB_RVIPS6; do ip -n "$ns" addr add "$v/128" dev lo; done
		ip -n "$ns" route add default via "$LAB_RNET.$sub.1"
		ip -n "$ns" -6 route add default via "$LAB_RNET6:$a::1"
		lab_ns "r$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
			net.ipv6.conf.all.accept_dad=0
	done
	# the balancer reaches the routed subnets through the router; bpf_fib_lookup
	# answers only on interfaces that forward
	ip -n "$LAB_P-lb" route add "$LAB_RNET.0.0/16" via "$LAB_RT"
	ip -n "$LAB_P-lb" -6 route add "$LAB_RNET6::/16" via "$LAB_RT6"
	lab_ns lb sysctl -qw net.ipv4.conf.eth0.forwarding=1 net.ipv6.conf.eth0.forwarding=1
	# the client sends these VIPs to the balancer too
	for a in $LAB_RVIPS; do ip -n "$LAB_P-cli" route add "$a/32" via "$LAB_LB"; done
	for a in $LAB_RVIPS6; do ip -n "$LAB_P-cli" -6 route add "$a/128" via "$LAB_LB6"; done
}

# nginx on routed server N answering "server rN"
rlab_server_start() { lab_nginx_start "r$1" "server r$1"; }
rlab_server_stop() { lab_nginx_stop "r$1"; }

# tenace decap on routed server N (BIN: the tenace binary; extra options after)
rlab_decap() {
	local i="$1" bin="$2"
	shift 2
	lab_netns "r$i" "$bin" decap eth0 --vip "$(echo $LAB_RVIPS $LAB_RVIPS6 | tr ' ' ',')" \
		--pin-dir "/sys/fs/bpf/$LAB_P-r$i" "$@"
}

# Which routed server answers client N: "server rK"
rlab_request() {
	lab_ns cli curl -s --max-time "${2:-2}" --interface "$(lab_client_addr "$1")" "http://$LAB_RVIP/" || echo "no answer"
}

rlab_down() {
	local i
	for i in 1 2 3; do
		rlab_server_stop "$i"
		rm -rf "/sys/fs/bpf/$LAB_P-r$i" 2>/dev/null
	done
	for n in r1 r2 r3 rtb rt; do
		ip netns pids "$LAB_P-$n" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$LAB_P-$n" 2>/dev/null
	done
	lab_down
}
