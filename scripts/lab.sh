# shellcheck shell=bash
# The Tenace lab: a small network of namespaces shared by the demo, the
# end-to-end tests and the benchmarks. Source it, then call lab_up / lab_down.
#
#   client ($P-cli) --+                      +-- server 1 ($P-s1)  nginx, VIP on lo
#                     |                      |
#                     +--- bridge ($P-sw) ---+-- server 2 ($P-s2)
#                     |                      |
#   balancer ($P-lb) -+                      +-- server 3 ($P-s3)
#
# The client reaches the VIP through the balancer (route via its address);
# Tenace rewrites MACs and sends the frame back out (XDP_TX) to the chosen
# server, which answers the client directly (L2 direct server return).
# The controller runs in the balancer's network namespace with nsenter --net,
# which (unlike ip netns exec) keeps the host's /sys/fs/bpf, so pinned maps
# survive a controller restart.

LAB_P="${LAB_P:-tnd}"           # namespace prefix
LAB_NET="${LAB_NET:-10.99}"     # /16 used by the lab
LAB_NET6="${LAB_NET6:-fd99}"    # IPv6 /64 prefix
LAB_VIP="$LAB_NET.100.1"
LAB_VIP6="$LAB_NET6::100:1"
LAB_LB="$LAB_NET.0.2"
LAB_CLIENTS="${LAB_CLIENTS:-60}"
LAB_SERVERS="${LAB_SERVERS:-3}"
LAB_DIR="${LAB_DIR:-/tmp/tenace-lab-$LAB_P}"
LAB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

lab_ns() { ip netns exec "$LAB_P-$1" "${@:2}"; }
# Run in a namespace's network only: /sys/fs/bpf stays the host's.
lab_netns() { nsenter --net="/run/netns/$LAB_P-$1" "${@:2}"; }
lab_client_addr() { echo "$LAB_NET.1.$1"; }
lab_server_addr() { echo "$LAB_NET.0.$((10 + $1))"; }
lab_server_addr6() { echo "$LAB_NET6::$((10 + $1))"; }

_lab_link() { # ns ifname-in-ns bridge-port-name
	# created in their namespaces at once: two labs never collide on names
	ip link add "$3" netns "$LAB_P-sw" type veth peer name "$2" netns "$LAB_P-$1"
	ip -n "$LAB_P-sw" link set "$3" master br0 up
	ip -n "$LAB_P-$1" link set "$2" up
	ip -n "$LAB_P-$1" link set lo up
}

lab_up() {
	local i
	lab_down >/dev/null 2>&1
	mkdir -p "$LAB_DIR"
	for n in sw cli lb $(seq -f 's%g' 1 "$LAB_SERVERS"); do
		ip netns add "$LAB_P-$n"
	done
	ip -n "$LAB_P-sw" link add br0 type bridge
	ip -n "$LAB_P-sw" link set br0 up
	_lab_link cli eth0 pcli
	_lab_link lb eth0 plb
	for i in $(seq 1 "$LAB_SERVERS"); do
		_lab_link "s$i" eth0 "ps$i"
	done
	# XDP_TX'd frames are accepted by a veth only when its peer runs XDP
	ip -n "$LAB_P-sw" link set dev plb xdpgeneric off 2>/dev/null
	ip -n "$LAB_P-sw" link set dev plb xdpdrv obj "$LAB_ROOT/build/helpers.bpf.o" program pass_xdp
	# the client sends full checksums (partial ones are not completed after XDP_TX)
	lab_ns cli ethtool -K eth0 tx off >/dev/null

	ip -n "$LAB_P-lb" addr add "$LAB_LB/16" dev eth0
	ip -n "$LAB_P-lb" addr add "$LAB_NET6::2/64" dev eth0 nodad
	ip -n "$LAB_P-cli" addr add "$LAB_NET.0.9/16" dev eth0
	ip -n "$LAB_P-cli" addr add "$LAB_NET6::9/64" dev eth0 nodad
	for i in $(seq 1 "$LAB_CLIENTS"); do
		ip -n "$LAB_P-cli" addr add "$(lab_client_addr "$i")/32" dev eth0
		ip -n "$LAB_P-cli" addr add "$LAB_NET6::1:$i/128" dev eth0 nodad
	done
	ip -n "$LAB_P-cli" route add "$LAB_VIP/32" via "$LAB_LB"
	ip -n "$LAB_P-cli" -6 route add "$LAB_VIP6/128" via "$LAB_NET6::2"
	for i in $(seq 1 "$LAB_SERVERS"); do
		ip -n "$LAB_P-s$i" addr add "$(lab_server_addr "$i")/16" dev eth0
		ip -n "$LAB_P-s$i" addr add "$(lab_server_addr6 "$i")/64" dev eth0 nodad
		ip -n "$LAB_P-s$i" addr add "$LAB_VIP/32" dev lo
		ip -n "$LAB_P-s$i" addr add "$LAB_VIP6/128" dev lo
		# the VIP lives on lo: never answer ARP/ND for it on the wire
		lab_ns "s$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
			net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
		# client addresses are on-link /32s of the client: reach them by ARP
		ip -n "$LAB_P-s$i" route add "$LAB_NET.1.0/24" dev eth0
		ip -n "$LAB_P-s$i" -6 route add "$LAB_NET6::1:0/112" dev eth0
	done
	ip -n "$LAB_P-cli" -6 route add "$LAB_NET6::/64" dev eth0 2>/dev/null
	# IPv6 replies from servers: the VIP on lo must not be used for ND
	for i in $(seq 1 "$LAB_SERVERS"); do
		lab_ns "s$i" sysctl -qw net.ipv6.conf.all.accept_dad=0 2>/dev/null
	done
}

# nginx answering "server N" on port 80 (IPv4 and IPv6)
lab_server_start() { lab_nginx_start "s$1" "server $1"; }
lab_server_stop() { lab_nginx_stop "s$1"; }

# nginx in namespace $LAB_P-NS answering TEXT on /, "ok" on /health and, to a
# POST on /upload, "received N" once it has read the whole N-byte body
lab_nginx_start() {
	local ns="$1" d="$LAB_DIR/$1"
	mkdir -p "$d/www"
	echo "$2" >"$d/www/index.html"
	cat >"$d/nginx.conf" <<CONF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
daemon on;
events { worker_connections 512; }
http {
	access_log off;
	client_body_temp_path $d/tmp;
	proxy_temp_path $d/tmp;
	fastcgi_temp_path $d/tmp;
	uwsgi_temp_path $d/tmp;
	scgi_temp_path $d/tmp;
	server {
		listen 80 reuseport;
		listen [::]:80 reuseport;
		root $d/www;
		location /health { return 200 "ok\n"; }
		# proxied: nginx reads the whole body before it answers
		location /upload { client_max_body_size 1m; proxy_pass http://127.0.0.1:8081; }
	}
	server {
		listen 127.0.0.1:8081;
		location / { return 200 "received \$content_length\n"; }
	}
}
CONF
	mkdir -p "$d/tmp"
	lab_ns "$ns" nginx -c "$d/nginx.conf" -e "$d/error.log"
}

lab_nginx_stop() {
	local pidf="$LAB_DIR/$1/nginx.pid"
	[ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
	for _ in $(seq 50); do [ -f "$pidf" ] || break; sleep 0.1; done
	rm -f "$pidf"
}

# Which server answers client N (source address $LAB_NET.1.N): "server K"
lab_request() {
	lab_ns cli curl -s --max-time "${2:-2}" --interface "$(lab_client_addr "$1")" "http://$LAB_VIP/" || echo "no answer"
}

lab_down() {
	local i
	for i in $(seq 1 "$LAB_SERVERS"); do lab_server_stop "$i"; done
	for n in cli lb sw $(seq -f 's%g' 1 "$LAB_SERVERS"); do
		ip netns pids "$LAB_P-$n" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$LAB_P-$n" 2>/dev/null
	done
	rm -rf "$LAB_DIR"
}
