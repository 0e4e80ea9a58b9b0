#!/bin/bash
# Attaching on the operator's bad day, with real namespaces and veths:
#  - another tool's XDP program (either mode) is refused, never detached;
#    ours in the other mode is refused (no detach-then-attach gap);
#  - an interface served by another Tenace instance (another pin directory)
#    is refused, naming that directory, and the first keeps serving;
#  - a veth whose peer has no XDP program: `load` and `pktgen` warn, and the
#    driver's XDP TX error counter counts exactly the frames it dropped;
#  - a pin directory on no bpffs (inside `ip netns exec`): Tenace mounts one
#    and warns that it lasts only as long as that mount;
#  - settings pinned by an older Tenace (version 1) are carried over; pinned
#    maps of an unknown layout are refused with "unload ... --all"; the pin of
#    a map an earlier build had (vip_dir) is removed.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"

P="tnat$(($$ % 10000))"
NS_A=$P-a NS_B=$P-b
PIN1=/sys/fs/bpf/tenace-attach-$$-1
PIN2=/sys/fs/bpf/tenace-attach-$$-2
TMP=$(mktemp -d /tmp/tenace-attach-XXXXXX)
HELPERS="$TN_ROOT/build/helpers.bpf.o"
LINK_INFO="$TN_ROOT/build/tests/helpers/link_info"
VETH_HELPER="$TN_ROOT/build/tests/helpers/dataplane_veth"
cleanup() {
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	rm -rf "$PIN1" "$PIN2"
	umount "$TMP/opfs" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
ensure_bpffs

ip netns add "$NS_A" && ip netns add "$NS_B" &&
	ip link add a0 netns "$NS_A" type veth peer name b0 netns "$NS_B" || {
	not_ok "set up namespaces and a veth pair"
	exit 1
}
for ns in "$NS_A" "$NS_B"; do
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$NS_A" link set a0 up
ip -n "$NS_B" link set b0 up

# in A's network only: /sys/fs/bpf stays the host's (unlike ip netns exec)
tn_a() { nsenter --net="/run/netns/$NS_A" "$TN_BIN" "$@"; }
# prog_id MODE: the id of the program attached to a0 (mode 1 native, 2 skb), 0 if none
prog_id() { ip -n "$NS_A" -j -d link show a0 | jq --argjson m "$1" \
	'.[0].xdp // {} | if .mode == $m then .prog.id elif .mode == 4 then (.attached[]? | select(.mode == $m) | .prog.id) // 0 else 0 end'; }
prog_name() { bpftool prog show id "$1" -j 2>/dev/null | jq -r .name; }
# expect_refused NAME WORDS CMD...: fails, and its output has WORDS
expect_refused() {
	local name="$1" words="$2" out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && grep -qF -- "$words" <<<"$out"; then
		ok "$name"
	else
		not_ok "$name (exit $rc, said: $out)"
	fi
}

# ---- a. another tool's program, either mode; ours in the other mode -------------
ip -n "$NS_A" link set dev a0 xdpgeneric obj "$HELPERS" sec xdp program pass_xdp
other=$(prog_id 2)
check "pass_xdp runs on a0 in skb mode" [ "$other" -gt 0 ]
expect_refused "native load over another tool's skb-mode program is refused, saying how to detach it" \
	"interface a0 runs another XDP program (pass_xdp, id $other): detach it first (ip link set dev a0 xdpgeneric off)" \
	tn_a load a0 --pin-dir "$PIN1"
check_eq "the other tool's program is still attached (same id)" "$other" "$(prog_id 2)"
check_eq "nothing native was attached" 0 "$(prog_id 1)"
check "the refused first load left no pinned maps" [ ! -e "$PIN1/conntrack" ]
expect_refused "skb load over it is refused too" "runs another XDP program (pass_xdp, id $other)" \
	tn_a load a0 --skb --pin-dir "$PIN1"
check_eq "still the other tool's program" "$other" "$(prog_id 2)"
ip -n "$NS_A" link set dev a0 xdpgeneric off
ip -n "$NS_A" link set dev a0 xdpdrv obj "$HELPERS" sec xdp program pass_xdp
other=$(prog_id 1)
expect_refused "skb load over another tool's native program is refused (ip link set dev a0 xdp off)" \
	"interface a0 runs another XDP program (pass_xdp, id $other): detach it first (ip link set dev a0 xdp off)" \
	tn_a load a0 --skb --pin-dir "$PIN1"
check_eq "the native program stays" "$other" "$(prog_id 1)"
ip -n "$NS_A" link set dev a0 xdpdrv off

tn_a load a0 --skb --pin-dir "$PIN1" >"$TMP/skb.log" 2>&1
ours=$(prog_id 2)
check "Tenace loads in skb mode on a free interface" [ "$ours" -gt 0 ] && [ "$(prog_name "$ours")" = tenace_xdp ]
expect_refused "a native load over our own skb-mode program is refused: same mode or unload first" \
	"interface a0 runs this Tenace data plane in skb mode: load it in that mode (with --skb), or unload it first (tenace unload a0)" \
	tn_a load a0 --pin-dir "$PIN1"
check_eq "our skb-mode program was not detached (same id)" "$ours" "$(prog_id 2)"
tn_a load a0 --skb --pin-dir "$PIN1" >>"$TMP/skb.log" 2>&1
check "a load in the same mode replaces it in place (new id)" \
	[ "$(prog_id 2)" -gt 0 ] && [ "$(prog_id 2)" != "$ours" ]
tn_a unload a0 --all --pin-dir "$PIN1" >/dev/null 2>&1

# ---- b. another Tenace instance --------------------------------------------------
tn_a load a0 --pin-dir "$PIN1" >"$TMP/first.log" 2>&1
first=$(prog_id 1)
check "the first instance (pin directory 1) is attached natively" [ "$first" -gt 0 ]
expect_refused "a load with another pin directory is refused, naming the first one's" \
	"interface a0 is served by another Tenace instance (pin directory $PIN1): stop it or use its pin directory" \
	tn_a load a0 --pin-dir "$PIN2"
check_eq "the first instance's program still serves a0" "$first" "$(prog_id 1)"
check "the refused load left no pins in its own directory" [ ! -e "$PIN2/conntrack" ]
cat >"$TMP/run.json" <<JSON
{ "interfaces": ["a0"], "tableSize": 1021, "conntrack": {"size": 10000}, "farms": [], "frontends": [] }
JSON
expect_refused "a controller with another pin directory is refused the same way" \
	"interface a0 is served by another Tenace instance (pin directory $PIN1)" \
	timeout 60 nsenter --net="/run/netns/$NS_A" "$TN_BIN" run --config "$TMP/run.json" \
	--socket "$TMP/run.sock" --state "$TMP/applied.json" --pin-dir "$PIN2"
check_eq "after the refused controller, still the first instance's program" "$first" "$(prog_id 1)"
tn_a load a0 --pin-dir "$PIN1" >>"$TMP/first.log" 2>&1
check "the first instance itself still replaces its program in place" \
	[ "$(prog_id 1)" -gt 0 ] && [ "$(prog_id 1)" != "$first" ]
settings_pin_dir=$(bpftool map dump pinned "$PIN1/settings" -j | jq -r '.[0].formatted.value.pin_dir // empty')
check_eq "the pinned settings record the pin directory" "$PIN1" "$settings_pin_dir"
tn_a unload a0 --all --pin-dir "$PIN1" >/dev/null 2>&1
rm -rf "$PIN2"

# ---- c. a veth whose peer has no XDP program ---------------------------------------
tn_a load a0 --pin-dir "$PIN1" >"$TMP/veth.log" 2>&1
check "a native load on a veth whose peer has no XDP program warns with the fix" \
	grep -qF "the veth peer of a0 (b0, in another network namespace) has no XDP program: frames sent with XDP_TX are dropped; attach one to the peer (any XDP_PASS program) or use --skb" "$TMP/veth.log"
A_MAC=$(ip -n "$NS_A" -j link show a0 | jq -r '.[0].address')
B_MAC=$(ip -n "$NS_B" -j link show b0 | jq -r '.[0].address')
ip netns exec "$NS_A" "$TN_BIN" pktgen -i a0 --dst-mac "$B_MAC" --dst 10.98.1.1 -n 10 -q >/dev/null 2>"$TMP/pg.log"
check "pktgen from a veth whose peer has no XDP program warns" \
	grep -qF "the veth peer of a0 (b0, in another network namespace) has no XDP program" "$TMP/pg.log"
tn_a unload a0 --all --pin-dir "$PIN1" >/dev/null 2>&1
tn_a load a0 --skb --pin-dir "$PIN1" >"$TMP/veth-skb.log" 2>&1
check "in skb mode there is no such warning" bash -c "! grep -q 'veth peer' '$TMP/veth-skb.log'"
tn_a unload a0 --all --pin-dir "$PIN1" >/dev/null 2>&1

# Tenace answering on a0 (servers on b0's side, fake MACs): every frame it
# sends back with XDP_TX is dropped by the veth, and only the driver counts it
ip -n "$NS_A" addr add 10.98.0.2/24 dev a0
ip -n "$NS_B" addr add 10.98.0.100/24 dev b0
ip -n "$NS_B" route add 10.98.1.1/32 via 10.98.0.2
ip netns exec "$NS_B" ethtool -K b0 tx off >/dev/null
ip netns exec "$NS_A" "$VETH_HELPER" a0 "$A_MAC" 10.98.1.1 5000 8080 \
	10.98.0.11 02:54:4e:00:aa:11 10.98.0.12 02:54:4e:00:aa:12 >"$TMP/helper.log" 2>&1
check "Tenace configured and attached natively on a0" [ "$(prog_name "$(prog_id 1)")" = tenace_xdp ]
read -r _ rc0 errors0 < <(ip netns exec "$NS_A" "$LINK_INFO" a0 | grep '^xdp_tx_errors')
check_eq "tn_dp_xdp_tx_errors reads the veth driver's counter" 0 "$rc0"
send_udp() { ip netns exec "$NS_B" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[1])):
    s.sendto(b"x" * 18, ("10.98.1.1", 5000))' "$1"; }
send_udp 50
sleep 0.5
read -r _ _ errors1 < <(ip netns exec "$NS_A" "$LINK_INFO" a0 | grep '^xdp_tx_errors')
check_eq "the driver counted each of the 50 frames Tenace sent as an XDP TX error" 50 "$((errors1 - errors0))"
read -r _ rc warn < <(ip netns exec "$NS_A" "$LINK_INFO" a0 | grep '^veth_peer_check')
check_eq "tn_dp_veth_peer_check says so (1)" 1 "$rc"
ip -n "$NS_B" link set dev b0 xdpdrv obj "$HELPERS" sec xdp program pass_xdp
read -r _ rc warn < <(ip netns exec "$NS_A" "$LINK_INFO" a0 | grep '^veth_peer_check')
check_eq "with pass_xdp on the peer, nothing to say (0)" "0 " "$rc $warn"
rx0=$(ip -n "$NS_B" -j -s link show b0 | jq '.[0].stats64.rx.packets')
send_udp 50
sleep 0.5
read -r _ _ errors2 < <(ip netns exec "$NS_A" "$LINK_INFO" a0 | grep '^xdp_tx_errors')
rx1=$(ip -n "$NS_B" -j -s link show b0 | jq '.[0].stats64.rx.packets')
check_eq "with pass_xdp on the peer no frame is dropped" "$errors1" "$errors2"
check "and the 50 frames reach the peer ($((rx1 - rx0)) received)" [ "$((rx1 - rx0))" -ge 50 ]
ip -n "$NS_A" link set dev a0 xdpdrv off
ip -n "$NS_B" link set dev b0 xdpdrv off

# ---- d. a pin directory on no bpffs --------------------------------------------------
NSPIN="$TMP/fresh/pins"
out=$(ip netns exec "$NS_A" bash -c "'$TN_BIN' load a0 --pin-dir '$NSPIN' 2>&1 && test -e '$NSPIN/conntrack' && echo PINNED")
check "inside ip netns exec, a load with a pin directory on no bpffs succeeds and pins there" grep -q PINNED <<<"$out"
check "it says it mounted a bpffs there" grep -qF "pin directory $NSPIN was on no bpffs: mounted one there" <<<"$out"
check "and that it goes away with that mount namespace" grep -qF "go away when that namespace ends" <<<"$out"
check "the program is attached" [ "$(prog_name "$(prog_id 1)")" = tenace_xdp ]
check "outside that mount namespace the directory is no bpffs mount" bash -c "! mountpoint -q '$NSPIN'"
nsprog=$(prog_id 1)
out=$(ip netns exec "$NS_A" bash -c "'$TN_BIN' load a0 --pin-dir '$NSPIN' 2>&1; '$TN_BIN' load a0 --pin-dir '$NSPIN' 2>&1")
check "a later ip netns exec finds the pins gone and says what to do" \
	grep -qF "interface a0 runs a Tenace data plane pinned in $NSPIN, but those pins are gone" <<<"$out"
check_eq "and leaves the running program alone" "$nsprog" "$(prog_id 1)"
ip netns exec "$NS_A" "$TN_BIN" unload a0 >/dev/null 2>&1
out=$(ip netns exec "$NS_A" bash -c "'$TN_BIN' load a0 --pin-dir '$NSPIN' 2>&1 && '$TN_BIN' load a0 --pin-dir '$NSPIN' 2>&1 &&
	'$TN_BIN' unload a0 --all --pin-dir '$NSPIN' 2>&1 && echo UNLOADED")
check_eq "within one mount namespace a second load reuses the mounted pins" 2 \
	"$(grep -c 'Tenace attached to a0' <<<"$out")"
check "unload --all there succeeds" grep -q UNLOADED <<<"$out"
check "and removes the pins, the mount and the directory" [ ! -e "$NSPIN" ]

# the default place inside ip netns exec: a fresh /sys, a bpffs of its own at /sys/fs/bpf
NSPIN2=/sys/fs/bpf/tenace-attach-$$-ns
out=$(ip netns exec "$NS_A" bash -c "'$TN_BIN' load a0 --pin-dir '$NSPIN2' 2>&1 && test -e '$NSPIN2/conntrack' && echo PINNED")
check "inside ip netns exec, a load under /sys/fs/bpf mounts a bpffs there and pins" grep -q PINNED <<<"$out"
check "and warns that this bpffs is not the host's and goes away with the namespace" \
	grep -qF "/sys/fs/bpf was on no bpffs: mounted one there, in a mount namespace of this process's own" <<<"$out"
check "the host's /sys/fs/bpf has no such pins" [ ! -e "$NSPIN2" ]
ip netns exec "$NS_A" "$TN_BIN" unload a0 >/dev/null 2>&1

mkdir -p "$TMP/opfs"
mount -t bpf bpf "$TMP/opfs"
tn_a load a0 --pin-dir "$TMP/opfs/pins" >"$TMP/opfs.log" 2>&1
check "a pin directory on a bpffs the operator mounted works as before" [ -e "$TMP/opfs/pins/conntrack" ]
check "without a mount warning" bash -c "! grep -q 'mounted one there' '$TMP/opfs.log'"
tn_a unload a0 --all --pin-dir "$TMP/opfs/pins" >/dev/null 2>&1
mkdir -p "$TMP/full"
echo keep >"$TMP/full/file"
expect_refused "a non-empty directory on no bpffs is refused, not mounted over" \
	"pin directory $TMP/full is on no bpffs and not empty" tn_a load a0 --pin-dir "$TMP/full"
check "its file is still there" [ -e "$TMP/full/file" ]

# ---- settings pinned by an older Tenace, maps of an unknown layout -------------------------
tn_a load a0 --pin-dir "$PIN1" --table-size 1021 --ct-size 10000 >/dev/null 2>&1
tn_a unload a0 --pin-dir "$PIN1" >/dev/null 2>&1
# version 1: table 1021, conntrack 10000, tcp 123 s, udp 45 s, seed 77, version 1 (24 bytes)
rm "$PIN1/settings"
bpftool map create "$PIN1/settings" type array key 4 value 24 entries 1 name settings
bpftool map update pinned "$PIN1/settings" key 0 0 0 0 value \
	0xfd 0x03 0 0  0x10 0x27 0 0  123 0 0 0  45 0 0 0  77 0 0 0  1 0 0 0
out=$(tn_a load a0 --pin-dir "$PIN1" 2>&1)
check "settings of version 1 are carried over (load succeeds)" grep -q 'Tenace attached to a0' <<<"$out"
check "and said" grep -qF "recorded by an older Tenace (version 1)" <<<"$out"
v=$(bpftool map dump pinned "$PIN1/settings" -j | jq -c '.[0].formatted.value | [.table_size, .ct_size, .tcp_timeout_s, .udp_timeout_s, .hash_seed, .version, .pin_dir]')
check_eq "recorded again as version 2 with the same values and the pin directory" \
	"[1021,10000,123,45,77,2,\"$PIN1\"]" "$v"
tn_a unload a0 --pin-dir "$PIN1" >/dev/null 2>&1
# the VIP directory of builds before its slot function changed, pinned as vip_dir
bpftool map create "$PIN1/vip_dir" type array key 4 value 4 entries 1 name vip_dir
out=$(tn_a load a0 --pin-dir "$PIN1" 2>&1)
check "over an earlier build's vip_dir pin: the load succeeds" grep -q 'Tenace attached to a0' <<<"$out"
check "its vip_dir pin is gone, this build's vip_directory is pinned" \
	bash -c "[ ! -e '$PIN1/vip_dir' ] && [ -e '$PIN1/vip_directory' ]"
tn_a unload a0 --pin-dir "$PIN1" >/dev/null 2>&1
rm "$PIN1/settings"
bpftool map create "$PIN1/settings" type array key 4 value 32 entries 1 name settings
expect_refused "a pinned map of an unknown layout is refused with unload --all" \
	"the map settings pinned in $PIN1 has another layout" tn_a load a0 --pin-dir "$PIN1"
expect_refused "naming the command" "tenace unload IFACE --all --pin-dir $PIN1" tn_a load a0 --pin-dir "$PIN1"
tn_a unload a0 --all --pin-dir "$PIN1" >/dev/null 2>&1

tap_done
