/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Forwarding in tunnels through BPF_PROG_TEST_RUN, in a private network
 * namespace whose FIB is known: the exact frame out for IPIP, IPv6 in IPv6,
 * IPv4 in IPv6, GUE v0 and v1 over both families (outer header, next hop's
 * MAC from the FIB, GUE source port and flow label from the flow's hash, the
 * inner packet unchanged); VLAN tags and Ethernet padding dropped; fragments
 * and ICMP errors; unresolved neighbours and routes dropped by reason; the
 * ICMP "fragmentation needed" / "packet too big" sent back to the client
 * (route MTU and learned MTU), byte for byte; path MTUs learnt from the
 * fabric's ICMP, bounded, kept lower, expiring; every truncation.
 *
 * Only the tunnel's own counters (and TX/REDIRECT/drops) are checked: which
 * conntrack reason a packet takes is test_fixtures' business.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "dataplane/dataplane.h"
#include "dataplane/encap.h"
#include "dataplane/fib.h"
#include "tunnel.h"
#include "netns.h"

#define SEED 0x5eedu
static const uint8_t GW_MAC[6] = { 0x02, 0xaa, 0x00, 0x00, 0x00, 0x01 };  /* 10.0.0.1, fd00::1 */
static const uint8_t GW2_MAC[6] = { 0x02, 0xaa, 0x00, 0x00, 0x00, 0x05 }; /* 10.5.0.1 on tnv2 */
static const uint8_t TNV2_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
#define LB4   "10.0.0.2"   /* encapSource, tnv0's addresses */
#define LB6   "fd00::2"
#define GW4   "10.0.0.1"
#define GW6   "fd00::1"

enum { F_IPIP, F_GUE0, F_GUE1, F_IPIP6, F_GUE6, F_X46, F_NONEIGH, F_NOROUTE, F_MTU, F_MTU6, F_REDIR,
       F_NOTX, F_NOSRC, F__N };

struct farm_def {
	const char *vip;
	uint16_t port;
	uint8_t proto, sticky, forwarding, gue_version;
	uint16_t gue_port;
	const char *servers[3];
};

static const struct farm_def farms[F__N] = {
	[F_IPIP] = { "192.0.2.1", 80, IPPROTO_TCP, TN_STICKY_SOURCE_IP, TN_FWD_IPIP, 0, 0,
		     { "10.1.0.11", "10.1.0.12", "10.1.0.13" } },
	[F_GUE0] = { "192.0.2.2", 80, IPPROTO_TCP, TN_STICKY_SOURCE_IP, TN_FWD_GUE, 0, 6080,
		     { "10.1.1.11", "10.1.1.12", "10.1.1.13" } },
	[F_GUE1] = { "192.0.2.3", 53, IPPROTO_UDP, TN_STICKY_NONE, TN_FWD_GUE, 1, 7000,
		     { "10.1.2.11", "10.1.2.12", "10.1.2.13" } },
	[F_IPIP6] = { "2001:db8::4", 80, IPPROTO_TCP, TN_STICKY_SOURCE_IP, TN_FWD_IPIP, 0, 0,
		      { "fd01::11", "fd01::12", "fd01::13" } },
	[F_GUE6] = { "2001:db8::5", 53, IPPROTO_UDP, TN_STICKY_NONE, TN_FWD_GUE, 0, 6080,
		     { "fd01:1::11", "fd01:1::12", "fd01:1::13" } },
	[F_X46] = { "192.0.2.6", 80, IPPROTO_TCP, TN_STICKY_SOURCE_IP, TN_FWD_IPIP, 0, 0, { "fd01:2::11" } },
	[F_NONEIGH] = { "192.0.2.7", 80, IPPROTO_TCP, TN_STICKY_SOURCE_IP, TN_FWD_IPIP, 0, 0, { "10.2.0.11" } },
	[F_NOROUTE] = { "192.0.2.8", 80, IPPROTO_TCP, TN_STICKY_SOURCE_IP, TN_FWD_GUE, 0, 6080, { "10.3.0.11" } },
	[F_MTU] = { "192.0.2.9", 80, IPPROTO_TCP, TN_STICKY_SOURCE_IP, TN_FWD_IPIP, 0, 0, { "10.4.0.11" } },
	[F_MTU6] = { "2001:db8::a", 80, IPPROTO_TCP, TN_STICKY_SOURCE_IP, TN_FWD_IPIP, 0, 0, { "fd04::11" } },
	[F_REDIR] = { "192.0.2.11", 80, IPPROTO_TCP, TN_STICKY_SOURCE_IP, TN_FWD_GUE, 1, 6080, { "10.6.0.11" } },
	[F_NOTX] = { "192.0.2.12", 80, IPPROTO_TCP, TN_STICKY_SOURCE_IP, TN_FWD_IPIP, 0, 0, { "10.7.0.11" } },
	[F_NOSRC] = { "192.0.2.13", 80, IPPROTO_TCP, TN_STICKY_SOURCE_IP, TN_FWD_IPIP, 0, 0, { "10.1.0.11" } },
};

struct fx {
	struct tn_dp *dp;
	int prog;
	uint32_t ingress;      /* tnv0 */
	uint32_t tnv2;
};

/* The reasons these tests own. */
static const int tunnel_reasons[] = { TN_R_ENCAP_IPIP, TN_R_ENCAP_GUE, TN_R_DROP_ENCAP_NO_ROUTE,
				      TN_R_DROP_ENCAP_NO_NEIGH, TN_R_ICMP_TOO_BIG, TN_R_DROP_TOO_BIG,
				      TN_R_PMTU_LEARNED, TN_R_TX, TN_R_REDIRECT, TN_R_PASS_NOT_VIP,
				      TN_R_DROP_MALFORMED, TN_R_PASS_TRUNCATED, TN_R_ABORTED, -1 };
#define R(...) ((const int[]){ __VA_ARGS__, -1 })

/* ---- the namespace and the farms ---------------------------------------------------- */

static void build_netns(void)
{
	tn_sh("ip link add tnv0 address 02:00:00:00:00:01 type veth peer name tnv1");
	tn_sh("ip link add tnv2 address 02:00:00:00:00:02 type veth peer name tnv3");
	tn_sh("ip link add tnv4 type veth peer name tnv5");
	tn_sh("for i in 0 1 2 3 4 5; do ip link set tnv$i up; done");
	tn_sh("sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1");
	tn_sh("ip addr add %s/24 dev tnv0 && ip addr add %s/64 dev tnv0 nodad", LB4, LB6);
	tn_sh("ip addr add 10.5.0.2/24 dev tnv2 && ip addr add 10.8.0.2/24 dev tnv4");
	tn_sh("ip neigh add %s lladdr 02:aa:00:00:00:01 dev tnv0 nud permanent", GW4);
	tn_sh("ip -6 neigh add %s lladdr 02:aa:00:00:00:01 dev tnv0 nud permanent", GW6);
	tn_sh("ip neigh add 10.5.0.1 lladdr 02:aa:00:00:00:05 dev tnv2 nud permanent");
	tn_sh("ip neigh add 10.8.0.1 lladdr 02:aa:00:00:00:08 dev tnv4 nud permanent");
	tn_sh("ip route add 10.1.0.0/16 via %s", GW4);
	tn_sh("ip -6 route add fd01::/16 via %s", GW6);
	tn_sh("ip route add 10.2.0.0/16 via 10.0.0.99");          /* nobody answers ARP: no neighbour */
	tn_sh("ip route add blackhole 10.3.0.0/16");
	tn_sh("ip route add 10.4.0.0/16 via %s mtu lock 1400", GW4);
	tn_sh("ip -6 route add fd04::/64 via %s mtu lock 1400", GW6);
	tn_sh("ip route add 10.6.0.0/16 via 10.5.0.1");            /* out of tnv2 (a redirect target) */
	tn_sh("ip route add 10.7.0.0/16 via 10.8.0.1");            /* out of tnv4 (not one) */
}

static void write_farm(struct fx *fx, uint32_t slot)
{
	const struct farm_def *d = &farms[slot];
	struct tn_dp_server s[3];
	struct tn_dp_farm f = { .farm_id = 100 + slot, .proto = d->proto, .balance = TN_BALANCE_SOURCE,
				.stickiness = d->sticky, .servers = s };

	memset(s, 0, sizeof(s));
	for (int i = 0; i < 3 && d->servers[i]; i++) {
		s[i].server_id = (uint32_t)i + 1;
		s[i].family = (uint8_t)(tp_family_of(d->servers[i]) == 6 ? TN_FAMILY_V6 : TN_FAMILY_V4);
		tp_addr16(d->servers[i], s[i].addr);
		s[i].port = d->port;
		s[i].weight = 100;
		s[i].up = true;
		f.nservers++;
	}
	f.encap.forwarding = d->forwarding;
	f.encap.gue_version = d->gue_version;
	f.encap.gue_port = htons(d->gue_port);
	if (slot != F_NOSRC) {
		f.encap.flags = TN_ENCAP_F_SRC4 | TN_ENCAP_F_SRC6;
		uint8_t a4[16];

		tp_addr16(LB4, a4);
		memcpy(f.encap.src4, a4, 4);
		tp_addr16(LB6, f.encap.src6);
	}
	assert_int_equal(tn_dp_farm_write(fx->dp, slot, &f, NULL), 0);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct tn_vip_key k[F__N];
	struct tn_vip v[F__N];
	struct tn_dp_settings st;
	struct tn_addr src[2];

	assert_non_null(fx);
	build_netns();
	fx->ingress = if_nametoindex("tnv0");
	fx->tnv2 = if_nametoindex("tnv2");
	assert_true(fx->ingress && fx->tnv2);
	tn_dp_settings_default(&st);
	st.ct_size = 65536;
	st.hash_seed = SEED;
	assert_int_equal(tn_dp_open(&fx->dp, "", &st), 0);
	fx->prog = tn_dp_prog_fd(fx->dp);
	assert_int_equal(tn_dp_tx_port_add(fx->dp, fx->tnv2), 0);
	for (uint32_t i = 0; i < F__N; i++) {
		write_farm(fx, i);
		k[i] = tp_vip_key(farms[i].vip, farms[i].port, farms[i].proto);
		memset(&v[i], 0, sizeof(v[i]));
		v[i].farm_slot = i;
		v[i].vip_index = i;
	}
	assert_int_equal(tn_dp_vips_replace(fx->dp, k, v, F__N), 0);
	assert_int_equal(tn_addr_parse(LB4, &src[0]), 0);
	assert_int_equal(tn_addr_parse(LB6, &src[1]), 0);
	assert_int_equal(tn_dp_encap_sources_set(fx->dp, src, 2), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tn_dp_close(fx->dp);
	free(fx);
	return 0;
}

static int reset(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(tn_dp_ct_clear(fx->dp), 0);
	assert_int_equal(tn_dp_pmtu_clear(fx->dp), 0);
	return 0;
}

/* ---- running ---------------------------------------------------------------------------- */

static void hexdump(const char *label, const uint8_t *d, uint32_t n)
{
	fprintf(stderr, "# %s (%u bytes):", label, n);
	for (uint32_t i = 0; i < n; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n#   ", d[i]);
	fprintf(stderr, "\n");
}

/* Run a frame; the verdict must be `want` and, of the tunnel reasons, exactly
 * `reasons` must have moved (once each). */
static uint32_t run(struct fx *fx, const uint8_t *in, uint32_t len, int want, const int *reasons, uint8_t *out,
		    const char *what)
{
	struct tn_counter a[TN_R__COUNT], b[TN_R__COUNT];
	uint32_t olen = 0;
	int v, bad = 0;

	assert_int_equal(tn_dp_reason_counters(fx->dp, a), 0);
	v = tp_run(fx->prog, fx->ingress, in, len, out, &olen);
	assert_int_equal(tn_dp_reason_counters(fx->dp, b), 0);
	if (v != want) {
		hexdump("in", in, len);
		fail_msg("%s: verdict %s, expected %s", what, tp_verdict_name(v), tp_verdict_name(want));
	}
	for (int i = 0; tunnel_reasons[i] >= 0; i++) {
		int r = tunnel_reasons[i];
		uint64_t want_n = 0;

		for (int j = 0; reasons[j] >= 0; j++)
			want_n += reasons[j] == r;
		if (b[r].packets - a[r].packets != want_n) {
			fprintf(stderr, "# %s: %s moved by %llu, expected %llu\n", what, tn_reason_name(r),
				(unsigned long long)(b[r].packets - a[r].packets), (unsigned long long)want_n);
			bad = 1;
		}
	}
	if (bad)
		fail_msg("%s: tunnel counters differ", what);
	return olen;
}

/* The program's tn_flow_hash, in user space. */
static uint32_t flow_hash(const struct tp_spec *s, bool icmp_error)
{
	uint8_t a[16], b[16];
	uint32_t w, h = 0x9e3779b9u;
	bool frag = s->frag_offset || s->more_frags;

	tp_addr16(icmp_error ? s->dst : s->src, a);
	tp_addr16(icmp_error ? s->src : s->dst, b);
	for (int i = 0; i < 16; i += 4) {
		memcpy(&w, a + i, 4);
		h = tn_mix(h, w);
	}
	for (int i = 0; i < 16; i += 4) {
		memcpy(&w, b + i, 4);
		h = tn_mix(h, w);
	}
	if (!frag) {
		uint16_t sp = htons(icmp_error ? s->dport : s->sport), dp = htons(icmp_error ? s->sport : s->dport);

		h = tn_mix(h, ((uint32_t)sp << 16) | dp);
	}
	h = tn_mix(h, s->proto);
	return tn_fmix(h);
}

/* The frame the balancer must send: the IP packet of f in slot's tunnel to
 * server (text), next hop dmac from smac. flow: the spec whose hash names
 * the outer source port / label. */
static size_t expected(const struct tp_frame *f, uint32_t slot, const char *server, const struct tp_spec *flow,
		       bool icmp_error, const uint8_t *smac, const uint8_t *dmac, uint8_t *out)
{
	const struct farm_def *d = &farms[slot];
	const uint8_t *ip = f->data + f->l3;
	size_t ilen = f->family == 6 ? 40u + tp_get16(ip + 4) : tp_get16(ip + 2);
	uint32_t h = flow_hash(flow, icmp_error);
	struct tt_spec t = {
		.kind = d->forwarding == TN_FWD_IPIP ? TT_IPIP : d->gue_version ? TT_GUE1 : TT_GUE0,
		.src = tp_family_of(server) == 6 ? LB6 : LB4, .dst = server,
		.sport = (uint16_t)(TN_GUE_SPORT_BASE + (h & 0x3fff)), .dport = d->gue_port,
		.tos = (uint8_t)((f->family == 6 ? (tp_get16(ip) >> 4) & 0xff : ip[1]) & 0xfc),
		.flow_label = h & 0xfffff, .dmac = dmac, .smac = smac,
	};

	return tt_encap(out, TP_FRAME_MAX, &t, ip, ilen);
}

/* The outer destination of an output frame, as text. */
static const char *outer_dst(const uint8_t *out, char *buf)
{
	if (tp_get16(out + 12) == ETH_P_IPV6)
		inet_ntop(AF_INET6, out + 14 + 24, buf, 64);
	else
		inet_ntop(AF_INET, out + 14 + 16, buf, 64);
	return buf;
}

static bool is_server(uint32_t slot, const char *a)
{
	for (int i = 0; i < 3 && farms[slot].servers[i]; i++)
		if (!strcmp(farms[slot].servers[i], a))
			return true;
	return false;
}

/* Forward f through slot's farm: exact bytes. Returns the server chosen. */
static const char *expect_tunnel(struct fx *fx, const struct tp_frame *f, uint32_t slot, const struct tp_spec *flow,
				 bool icmp_error, const char *what, char *server)
{
	uint8_t out[TP_FRAME_MAX], want[TP_FRAME_MAX];
	const int *reasons = farms[slot].forwarding == TN_FWD_GUE ? R(TN_R_ENCAP_GUE, TN_R_TX) :
				R(TN_R_ENCAP_IPIP, TN_R_TX);
	uint32_t olen = run(fx, f->data, f->len, XDP_TX, reasons, out, what);
	size_t wlen;

	outer_dst(out, server);
	if (!is_server(slot, server)) {
		hexdump("out", out, olen);
		fail_msg("%s: the outer destination %s is none of the farm's servers", what, server);
	}
	wlen = expected(f, slot, server, flow, icmp_error, tp_mac_balancer, GW_MAC, want);
	if (olen != wlen || memcmp(out, want, wlen)) {
		hexdump("in", f->data, f->len);
		hexdump("out", out, olen);
		hexdump("expected", want, (uint32_t)wlen);
		fail_msg("%s: the tunnel frame differs from the expected one", what);
	}
	return server;
}

static struct tp_spec tcp(const char *src, const char *dst, uint16_t sport, uint16_t payload)
{
	return (struct tp_spec){ .src = src, .dst = dst, .proto = IPPROTO_TCP, .sport = sport, .dport = 80,
				 .payload = payload, .tcp_flags = 0x10 };
}

static struct tp_spec udp(const char *src, const char *dst, uint16_t sport, uint16_t payload)
{
	return (struct tp_spec){ .src = src, .dst = dst, .proto = IPPROTO_UDP, .sport = sport, .dport = 53,
				 .payload = payload };
}

/* ---- tests: the tunnels ---------------------------------------------------------------- */

static void spread_and_stick(struct fx *fx, uint32_t slot, bool v6client, const char *what)
{
	char client[64], srv[64], again[64];
	int distinct = 0;
	char seen[3][64] = { "", "", "" };
	struct tp_frame f;

	for (int i = 0; i < 60; i++) {
		struct tp_spec s;

		if (v6client)
			snprintf(client, sizeof(client), "2001:db8:c::%x", i + 1);
		else
			snprintf(client, sizeof(client), "198.51.100.%d", i + 1);
		s = farms[slot].proto == IPPROTO_UDP ? udp(client, farms[slot].vip, (uint16_t)(20000 + i), 40) :
		    tcp(client, farms[slot].vip, (uint16_t)(20000 + i), 40);
		s.dport = farms[slot].port;
		tp_build(&f, &s);
		expect_tunnel(fx, &f, slot, &s, false, what, srv);
		expect_tunnel(fx, &f, slot, &s, false, what, again);
		assert_string_equal(srv, again);
		for (int k = 0; k < 3; k++) {
			if (!strcmp(seen[k], srv))
				break;
			if (!seen[k][0]) {
				strcpy(seen[k], srv);
				distinct++;
				break;
			}
		}
	}
	if (farms[slot].servers[1] && distinct < 2)
		fail_msg("%s: 60 clients all went to one server", what);
	print_message("# %s: 60 clients, exact frames, %d servers used\n", what, distinct);
}

static void test_ipip(void **state)
{
	spread_and_stick(*state, F_IPIP, false, "IPIP (IPv4 in IPv4)");
	spread_and_stick(*state, F_IPIP6, true, "IPv6 in IPv6");
	spread_and_stick(*state, F_X46, false, "IPv4 in IPv6");
}

static void test_gue(void **state)
{
	spread_and_stick(*state, F_GUE0, false, "GUE v0 over IPv4");
	spread_and_stick(*state, F_GUE1, false, "GUE v1 over IPv4 (port 7000)");
	spread_and_stick(*state, F_GUE6, true, "GUE v0 over IPv6 (UDP checksum 0)");
}

/* The outer source port follows the 5-tuple: one flow keeps it, flows spread. */
static void test_gue_source_port(void **state)
{
	struct fx *fx = *state;
	uint8_t out[TP_FRAME_MAX];
	struct tp_frame f;
	uint16_t first = 0;
	int distinct_ports = 0, seen[16384] = { 0 };

	for (int i = 0; i < 100; i++) {
		struct tp_spec s = udp("198.51.100.200", farms[F_GUE1].vip, (uint16_t)(30000 + i), 20);

		tp_build(&f, &s);
		run(fx, f.data, f.len, XDP_TX, R(TN_R_ENCAP_GUE, TN_R_TX), out, "GUE flow");
		uint16_t sp = tp_get16(out + 14 + 20);

		assert_true(sp >= 49152);
		if (!seen[sp - 49152]++)
			distinct_ports++;
		if (i == 0)
			first = sp;
	}
	assert_true(distinct_ports > 90);
	/* the first flow again: the same port */
	struct tp_spec s = udp("198.51.100.200", farms[F_GUE1].vip, 30000, 20);

	tp_build(&f, &s);
	run(fx, f.data, f.len, XDP_TX, R(TN_R_ENCAP_GUE, TN_R_TX), out, "GUE flow again");
	assert_int_equal(tp_get16(out + 14 + 20), first);
	print_message("# GUE: 100 flows of one client, %d distinct outer source ports, stable per flow\n",
		      distinct_ports);
}

static void test_vlan_and_padding(void **state)
{
	struct fx *fx = *state;
	struct tp_spec s = tcp("198.51.100.70", farms[F_IPIP].vip, 4000, 10);
	struct tp_frame f;
	char srv[64], srv2[64];

	tp_build(&f, &s);
	expect_tunnel(fx, &f, F_IPIP, &s, false, "untagged", srv);
	s.nvlan = 1;
	tp_build(&f, &s);
	expect_tunnel(fx, &f, F_IPIP, &s, false, "802.1Q tagged: the outer frame is untagged", srv2);
	assert_string_equal(srv, srv2);
	s.nvlan = 2;
	s.vlan_tpid[0] = 0x88a8;
	tp_build(&f, &s);
	expect_tunnel(fx, &f, F_IPIP, &s, false, "QinQ tagged", srv2);
	/* a 40-byte TCP packet padded to 60 bytes: the padding is not tunnelled */
	s = tcp("198.51.100.71", farms[F_IPIP].vip, 4001, 0);
	tp_build(&f, &s);
	assert_int_equal(f.len, 54);
	memset(f.data + 54, 0, 6);
	f.len = 60;
	expect_tunnel(fx, &f, F_IPIP, &s, false, "Ethernet padding", srv);
}

static void test_fragments_and_icmp_errors(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	char srv[64], other[64];
	uint8_t out[TP_FRAME_MAX];
	uint16_t ports[3];

	/* the fragments of one datagram: one server, one outer source port */
	for (int i = 0; i < 3; i++) {
		struct tp_spec s = udp("198.51.100.80", farms[F_GUE1].vip, 5353, i == 1 ? 512 : 100);

		s.frag_id = 0x77;
		s.more_frags = i < 2;
		s.frag_offset = (uint16_t)(i * 64);
		if (i == 0)
			s.payload = 504;
		tp_build(&f, &s);
		expect_tunnel(fx, &f, F_GUE1, &s, false, "a fragment", i ? other : srv);
		if (i)
			assert_string_equal(srv, other);
		run(fx, f.data, f.len, XDP_TX, R(TN_R_ENCAP_GUE, TN_R_TX), out, "a fragment again");
		ports[i] = tp_get16(out + 14 + 20);
	}
	assert_int_equal(ports[0], ports[1]);
	assert_int_equal(ports[1], ports[2]);

	/* a router's ICMP error about a server's reply goes to that server, tunnelled */
	struct tp_spec c = tcp("198.51.100.81", farms[F_GUE0].vip, 41000, 10);

	tp_build(&f, &c);
	expect_tunnel(fx, &f, F_GUE0, &c, false, "the client", srv);
	struct tp_spec reply = tcp(farms[F_GUE0].vip, "198.51.100.81", 80, 10);

	reply.dport = 41000;
	struct tp_spec err = { .src = "203.0.113.254", .dst = farms[F_GUE0].vip, .proto = IPPROTO_ICMP,
			       .icmp_type = 3, .icmp_code = 4, .icmp_info = 1400, .quote = &reply, .quote_len = 28 };
	tp_build(&f, &err);
	expect_tunnel(fx, &f, F_GUE0, &reply, true, "ICMP error about the flow", other);
	assert_string_equal(srv, other);
}

static void test_unresolved(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	uint8_t out[TP_FRAME_MAX];
	struct tp_spec s = tcp("198.51.100.90", farms[F_NONEIGH].vip, 1000, 10);

	tp_build(&f, &s);
	run(fx, f.data, f.len, XDP_DROP, R(TN_R_DROP_ENCAP_NO_NEIGH), NULL, "gateway's MAC unknown");
	s.dst = farms[F_NOROUTE].vip;
	tp_build(&f, &s);
	run(fx, f.data, f.len, XDP_DROP, R(TN_R_DROP_ENCAP_NO_ROUTE), NULL, "blackhole route");
	s.dst = farms[F_NOSRC].vip;
	tp_build(&f, &s);
	run(fx, f.data, f.len, XDP_DROP, R(TN_R_DROP_ENCAP_NO_ROUTE), NULL, "no encapSource of the family");
	s.dst = farms[F_NOTX].vip;
	tp_build(&f, &s);
	run(fx, f.data, f.len, XDP_DROP, R(TN_R_ENCAP_IPIP, TN_R_DROP_ENCAP_NO_ROUTE), NULL,
	    "route out of an interface that is no redirect target");
	/* out of another interface that is one: redirected, with that interface's MACs */
	s.dst = farms[F_REDIR].vip;
	tp_build(&f, &s);
	uint32_t olen = run(fx, f.data, f.len, XDP_REDIRECT, R(TN_R_ENCAP_GUE, TN_R_REDIRECT), out,
			    "route out of another interface");
	uint8_t want[TP_FRAME_MAX];
	size_t wlen = expected(&f, F_REDIR, "10.6.0.11", &s, false, TNV2_MAC, GW2_MAC, want);

	if (olen != wlen || memcmp(out, want, wlen)) {
		hexdump("out", out, olen);
		hexdump("expected", want, (uint32_t)wlen);
		fail_msg("redirected tunnel frame differs");
	}
	/* forwarding off on the ingress interface: the FIB answers nothing */
	tn_sh("sysctl -qw net.ipv4.conf.tnv0.forwarding=0 net.ipv4.conf.all.forwarding=0");
	s.dst = farms[F_IPIP].vip;
	tp_build(&f, &s);
	run(fx, f.data, f.len, XDP_DROP, R(TN_R_DROP_ENCAP_NO_ROUTE), NULL, "forwarding disabled");
	tn_sh("sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv4.conf.tnv0.forwarding=1");
	print_message("# unresolved neighbour, blackhole, no source, no redirect target, forwarding off: dropped "
		      "by reason; another interface: redirected\n");
}

/* The ICMP error the balancer must send for f (client packet): exact bytes. */
static size_t expected_too_big(const struct tp_frame *f, const char *from, uint32_t mtu, uint8_t *out)
{
	const uint8_t *ip = f->data + f->l3;
	uint8_t src[16], *o = out + 14, *icmp;
	bool v6 = f->family == 6;
	size_t hl = v6 ? 40 : 20, len = 14 + hl + 8 + TN_ICMP_QUOTE;

	memset(out, 0, len);
	memcpy(out, tp_mac_router, 6);
	memcpy(out + 6, tp_mac_balancer, 6);
	tp_put16(out + 12, v6 ? ETH_P_IPV6 : ETH_P_IP);
	tp_addr16(from, src);
	icmp = o + hl;
	if (!v6) {
		o[0] = 0x45;
		tp_put16(o + 2, (uint16_t)(hl + 8 + TN_ICMP_QUOTE));
		o[8] = 64;
		o[9] = IPPROTO_ICMP;
		memcpy(o + 12, src, 4);
		memcpy(o + 16, ip + 12, 4);
		tp_put16(o + 10, tp_csum_fold(tp_csum_add(0, o, 20)));
		icmp[0] = 3;
		icmp[1] = 4;
		tp_put16(icmp + 6, (uint16_t)mtu);
		memcpy(icmp + 8, ip, TN_ICMP_QUOTE);
		tp_put16(icmp + 2, tp_csum_fold(tp_csum_add(0, icmp, 8 + TN_ICMP_QUOTE)));
	} else {
		uint8_t pl[8] = { 0 };
		uint32_t sum;

		tp_put32(o, 0x60000000u);
		tp_put16(o + 4, 8 + TN_ICMP_QUOTE);
		o[6] = IPPROTO_ICMPV6;
		o[7] = 64;
		memcpy(o + 8, src, 16);
		memcpy(o + 24, ip + 8, 16);
		icmp[0] = 2;
		tp_put32(icmp + 4, mtu);
		memcpy(icmp + 8, ip, TN_ICMP_QUOTE);
		tp_put32(pl, 8 + TN_ICMP_QUOTE);
		pl[7] = IPPROTO_ICMPV6;
		sum = tp_csum_add(0, o + 8, 32);
		sum = tp_csum_add(sum, pl, 8);
		sum = tp_csum_add(sum, icmp, 8 + TN_ICMP_QUOTE);
		tp_put16(icmp + 2, tp_csum_fold(sum));
	}
	return len;
}

static void expect_too_big(struct fx *fx, const struct tp_frame *f, const char *from, uint32_t mtu, const char *what)
{
	uint8_t out[TP_FRAME_MAX], want[TP_FRAME_MAX];
	uint32_t olen = run(fx, f->data, f->len, XDP_TX, R(TN_R_ICMP_TOO_BIG), out, what);
	size_t wlen = expected_too_big(f, from, mtu, want);

	if (olen != wlen || memcmp(out, want, wlen)) {
		hexdump("out", out, olen);
		hexdump("expected", want, (uint32_t)wlen);
		fail_msg("%s: the ICMP error differs from the expected one", what);
	}
}

static void test_too_big_route_mtu(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	char srv[64];
	/* route MTU 1400, IPIP adds 20: an inner packet of 1380 bytes fits */
	struct tp_spec s = tcp("198.51.100.100", farms[F_MTU].vip, 1000, 1380 - 40);

	tp_build(&f, &s);
	expect_tunnel(fx, &f, F_MTU, &s, false, "1380 bytes in a 1400 route", srv);
	s.payload++;
	tp_build(&f, &s);
	expect_too_big(fx, &f, LB4, 1380, "1381 bytes: fragmentation needed, MTU 1380, from encapSource");
	/* a datagram without DF is answered too (its sender's stack fragments the next ones) */
	struct tp_spec u = s;

	u.proto = IPPROTO_UDP;
	u.dst = farms[F_MTU].vip;
	tp_build(&f, &u);
	assert_int_equal(tp_get16(f.data + f.l3 + 6) & 0x4000, 0);
	/* the farm is tcp: UDP is not a VIP here */
	run(fx, f.data, f.len, XDP_PASS, R(TN_R_PASS_NOT_VIP), NULL, "udp to a tcp VIP");

	/* IPv6 in IPv6, route MTU 1400 minus 40 */
	struct tp_spec s6 = tcp("2001:db8:c::100", farms[F_MTU6].vip, 1000, 1360 - 60);

	tp_build(&f, &s6);
	expect_tunnel(fx, &f, F_MTU6, &s6, false, "1360 bytes of IPv6 in a 1400 route", srv);
	s6.payload++;
	tp_build(&f, &s6);
	expect_too_big(fx, &f, LB6, 1360, "1361 bytes: packet too big, MTU 1360, from encapSource");

	/* an ICMP error too big for the tunnel is dropped, never answered */
	struct tp_spec reply = tcp(farms[F_MTU].vip, "198.51.100.100", 80, 1400);

	reply.dport = 1000;
	struct tp_spec err = { .src = "203.0.113.254", .dst = farms[F_MTU].vip, .proto = IPPROTO_ICMP,
			       .icmp_type = 3, .icmp_code = 4, .icmp_info = 1400, .quote = &reply };

	tp_build(&f, &err);
	run(fx, f.data, f.len, XDP_DROP, R(TN_R_DROP_TOO_BIG), NULL, "a big ICMP error");
	print_message("# route MTU 1400: fits up to 1380 (IPIP) / 1360 (IPv6); beyond, the exact ICMP error\n");
}

/* An ICMP error from the fabric (router gw) to us about a tunnel packet from
 * `src` to server, telling mtu. */
static void fabric_icmp(struct tp_frame *f, const char *gw, const char *to, const char *src, const char *server,
			uint8_t proto, uint32_t mtu)
{
	static struct tp_spec outer;
	struct tp_spec e = { .src = gw, .dst = to, .icmp_info = mtu, .quote = &outer, .quote_len = 0 };

	outer = (struct tp_spec){ .src = src, .dst = server, .proto = proto, .payload = 1400, .sport = 49999,
				  .dport = 6080 };
	if (tp_family_of(to) == 6) {
		e.proto = IPPROTO_ICMPV6;
		e.icmp_type = 2;
		e.quote_len = 1232;
	} else {
		e.proto = IPPROTO_ICMP;
		e.icmp_type = 3;
		e.icmp_code = 4;
		e.quote_len = 548;
	}
	tp_build(f, &e);
}

static int pmtu_of(struct fx *fx, const char *server, uint32_t *expires_in)
{
	struct tn_dp_pmtu *v;
	struct tn_addr a;
	size_t n;
	int mtu = -1;

	assert_int_equal(tn_addr_parse(server, &a), 0);
	assert_int_equal(tn_dp_pmtu_dump(fx->dp, &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (tn_addr_equal(&v[i].server, &a)) {
			mtu = v[i].mtu;
			if (expires_in)
				*expires_in = v[i].expires_in_s;
		}
	free(v);
	return mtu;
}

static void test_pmtu_learning(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f, icmp;
	char srv[64];
	uint32_t left = 0;
	struct tp_spec c = tcp("198.51.100.110", farms[F_IPIP].vip, 1000, 100);

	/* where does this client go? */
	tp_build(&f, &c);
	expect_tunnel(fx, &f, F_IPIP, &c, false, "the client", srv);
	/* the fabric says 1300 about an IPIP packet of ours to that server */
	fabric_icmp(&icmp, GW4, LB4, LB4, srv, IPPROTO_IPIP, 1300);
	run(fx, icmp.data, icmp.len, XDP_PASS, R(TN_R_PASS_NOT_VIP, TN_R_PMTU_LEARNED), NULL, "fabric ICMP");
	assert_int_equal(pmtu_of(fx, srv, &left), 1300);
	assert_true(left > 590 && left <= 600);
	/* 1280 inner bytes fit in 1300; 1281 get the ICMP with 1280 */
	c.payload = 1280 - 40;
	tp_build(&f, &c);
	expect_tunnel(fx, &f, F_IPIP, &c, false, "1280 bytes toward a 1300 path", srv);
	c.payload++;
	tp_build(&f, &c);
	expect_too_big(fx, &f, LB4, 1280, "1281 bytes toward the learnt 1300");
	/* a higher report does not raise a live entry; a lower one lowers it, bounded at 552 */
	fabric_icmp(&icmp, GW4, LB4, LB4, srv, IPPROTO_IPIP, 1450);
	run(fx, icmp.data, icmp.len, XDP_PASS, R(TN_R_PASS_NOT_VIP, TN_R_PMTU_LEARNED), NULL, "higher report");
	assert_int_equal(pmtu_of(fx, srv, NULL), 1300);
	fabric_icmp(&icmp, GW4, LB4, LB4, srv, IPPROTO_IPIP, 300);
	run(fx, icmp.data, icmp.len, XDP_PASS, R(TN_R_PASS_NOT_VIP, TN_R_PMTU_LEARNED), NULL, "tiny report");
	assert_int_equal(pmtu_of(fx, srv, NULL), 552);

	/* GUE: the quoted packet is UDP (the parser's ICMP-error path) */
	struct tp_spec g = tcp("198.51.100.111", farms[F_GUE0].vip, 1000, 100);

	tp_build(&f, &g);
	expect_tunnel(fx, &f, F_GUE0, &g, false, "a GUE client", srv);
	fabric_icmp(&icmp, GW4, LB4, LB4, srv, IPPROTO_UDP, 1400);
	run(fx, icmp.data, icmp.len, XDP_PASS, R(TN_R_PASS_NOT_VIP, TN_R_PMTU_LEARNED), NULL, "fabric ICMP (GUE)");
	assert_int_equal(pmtu_of(fx, srv, NULL), 1400);
	g.payload = 1400 - 32 - 40 + 1;
	tp_build(&f, &g);
	expect_too_big(fx, &f, LB4, 1368, "GUE v0: 1400 - 32");

	/* IPv6: packet too big about an IPv6-in-IPv6 packet */
	struct tp_spec c6 = tcp("2001:db8:c::110", farms[F_IPIP6].vip, 1000, 100);

	tp_build(&f, &c6);
	expect_tunnel(fx, &f, F_IPIP6, &c6, false, "an IPv6 client", srv);
	fabric_icmp(&icmp, GW6, LB6, LB6, srv, IPPROTO_IPV6, 1350);
	run(fx, icmp.data, icmp.len, XDP_PASS, R(TN_R_PASS_NOT_VIP, TN_R_PMTU_LEARNED), NULL, "fabric ICMPv6");
	assert_int_equal(pmtu_of(fx, srv, NULL), 1350);
	c6.payload = 1350 - 40 - 60 + 1;
	tp_build(&f, &c6);
	expect_too_big(fx, &f, LB6, 1310, "IPv6: 1350 - 40");

	/* not about a packet of ours: nothing learnt */
	fabric_icmp(&icmp, GW4, LB4, "10.0.0.77", "10.1.0.11", IPPROTO_IPIP, 1000);
	run(fx, icmp.data, icmp.len, XDP_PASS, R(TN_R_PASS_NOT_VIP), NULL, "ICMP quoting another source");
	fabric_icmp(&icmp, GW4, LB4, LB4, "10.1.0.12", IPPROTO_TCP, 1000);
	run(fx, icmp.data, icmp.len, XDP_PASS, R(TN_R_PASS_NOT_VIP), NULL, "ICMP quoting TCP");
	print_message("# learnt from the fabric: IPIP 1300 (then 552 floor, never raised), GUE 1400, IPv6 1350\n");
}

static void test_pmtu_expiry(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	char srv[64];
	struct tp_spec c = tcp("198.51.100.120", farms[F_IPIP].vip, 1000, 100);
	struct tn_pmtu_key k = { 0 };
	struct tn_pmtu v = { 0 };
	struct timespec ts;

	tp_build(&f, &c);
	expect_tunnel(fx, &f, F_IPIP, &c, false, "the client", srv);
	/* an entry that expired a second ago is ignored (and not shown) */
	tp_addr16(srv, k.addr);
	k.family = TN_FAMILY_V4;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	v.mtu = 600;
	v.expires_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec - 1000000000ULL;
	assert_int_equal(bpf_map_update_elem(tn_dp_map_fd(fx->dp, "pmtu"), &k, &v, BPF_ANY), 0);
	assert_int_equal(pmtu_of(fx, srv, NULL), -1);
	c.payload = 1000;
	tp_build(&f, &c);
	expect_tunnel(fx, &f, F_IPIP, &c, false, "1040 bytes after the entry expired", srv);
	/* the same entry live: too big */
	v.expires_ns += 10000000000ULL;
	assert_int_equal(bpf_map_update_elem(tn_dp_map_fd(fx->dp, "pmtu"), &k, &v, BPF_ANY), 0);
	expect_too_big(fx, &f, LB4, 580, "1040 bytes while the 600 entry lives");
}

/* Every truncation of a tunnelled client packet: never forwarded, never
 * aborted; passed while the destination is unknown, dropped as malformed
 * once it is known. */
static void test_truncations(void **state)
{
	struct fx *fx = *state;
	static const uint32_t slots[] = { F_IPIP, F_GUE6, F_X46 };
	int total = 0;

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		const struct farm_def *d = &farms[slots[i]];
		struct tp_spec s = d->proto == IPPROTO_UDP ? udp(tp_family_of(d->vip) == 6 ? "2001:db8:c::9" :
								 "198.51.100.9", d->vip, 999, 50) :
				   tcp(tp_family_of(d->vip) == 6 ? "2001:db8:c::9" : "198.51.100.9", d->vip, 999, 50);
		struct tp_frame f;
		struct tn_counter a[TN_R__COUNT], b[TN_R__COUNT];

		s.dport = d->port;
		tp_build(&f, &s);
		for (uint32_t l = 14; l < f.len; l++) {
			int v;

			assert_int_equal(tn_dp_reason_counters(fx->dp, a), 0);
			v = tp_run(fx->prog, fx->ingress, f.data, l, NULL, NULL);
			assert_int_equal(tn_dp_reason_counters(fx->dp, b), 0);
			if (v != XDP_PASS && v != XDP_DROP)
				fail_msg("slot %zu cut to %u: verdict %s", i, l, tp_verdict_name(v));
			if (b[TN_R_ENCAP_IPIP].packets != a[TN_R_ENCAP_IPIP].packets ||
			    b[TN_R_ENCAP_GUE].packets != a[TN_R_ENCAP_GUE].packets ||
			    b[TN_R_ABORTED].packets != a[TN_R_ABORTED].packets)
				fail_msg("slot %zu cut to %u: tunnelled or aborted", i, l);
			if (v == XDP_DROP && b[TN_R_DROP_MALFORMED].packets != a[TN_R_DROP_MALFORMED].packets + 1)
				fail_msg("slot %zu cut to %u: dropped, not as malformed", i, l);
			total++;
		}
	}
	print_message("# %d truncated frames: none tunnelled, none aborted\n", total);
}

/* The controller's FIB probe answers as the data plane's lookup does. */
static void test_fib_probe(void **state)
{
	struct fx *fx = *state;
	struct tn_fib *fib;
	struct tn_nexthop nh;
	struct tn_addr src, dst, via;
	char a[64];

	assert_int_equal(tn_fib_open(&fib), 0);
	assert_int_equal(tn_addr_parse(LB4, &src), 0);
	assert_int_equal(tn_addr_parse("10.1.0.11", &dst), 0);
	assert_int_equal(tn_fib_lookup(fib, fx->ingress, &src, &dst, &nh), 0);
	assert_int_equal(nh.rc, BPF_FIB_LKUP_RET_SUCCESS);
	assert_int_equal(nh.ifindex, fx->ingress);
	assert_memory_equal(nh.dmac, GW_MAC, 6);
	assert_memory_equal(nh.smac, tp_mac_balancer, 6);
	assert_int_equal(tn_addr_parse(GW4, &via), 0);
	assert_true(tn_addr_equal(&nh.via, &via));
	assert_string_equal(tn_fib_result_text(nh.rc), "resolved");
	/* IPv6 */
	assert_int_equal(tn_addr_parse(LB6, &src), 0);
	assert_int_equal(tn_addr_parse("fd01::12", &dst), 0);
	assert_int_equal(tn_fib_lookup(fib, fx->ingress, &src, &dst, &nh), 0);
	assert_int_equal(nh.rc, BPF_FIB_LKUP_RET_SUCCESS);
	tn_addr_format(&nh.via, a, sizeof(a));
	assert_string_equal(a, GW6);
	/* the gateway without a MAC, a blackhole, forwarding off */
	assert_int_equal(tn_addr_parse(LB4, &src), 0);
	assert_int_equal(tn_addr_parse("10.2.0.11", &dst), 0);
	assert_int_equal(tn_fib_lookup(fib, fx->ingress, &src, &dst, &nh), 0);
	assert_int_equal(nh.rc, BPF_FIB_LKUP_RET_NO_NEIGH);
	tn_addr_format(&nh.via, a, sizeof(a));
	assert_string_equal(a, "10.0.0.99");
	assert_string_equal(tn_fib_result_text(nh.rc), "the next hop's MAC is not resolved");
	/* the trigger makes the kernel ask for it (an incomplete entry appears) */
	assert_int_equal(tn_nexthop_trigger(&src, &dst), 0);
	assert_int_equal(system("ip neigh show 10.0.0.99 dev tnv0 | grep -qE 'INCOMPLETE|FAILED'"), 0);
	assert_int_equal(tn_addr_parse("10.3.0.11", &dst), 0);
	assert_int_equal(tn_fib_lookup(fib, fx->ingress, &src, &dst, &nh), 0);
	assert_int_equal(nh.rc, BPF_FIB_LKUP_RET_BLACKHOLE);
	tn_sh("sysctl -qw net.ipv4.conf.tnv0.forwarding=0 net.ipv4.conf.all.forwarding=0");
	assert_int_equal(tn_addr_parse("10.1.0.11", &dst), 0);
	assert_int_equal(tn_fib_lookup(fib, fx->ingress, &src, &dst, &nh), 0);
	assert_int_equal(nh.rc, BPF_FIB_LKUP_RET_FWD_DISABLED);
	tn_sh("sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv4.conf.tnv0.forwarding=1");
	tn_fib_close(fib);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ipip, reset),
		cmocka_unit_test_setup(test_gue, reset),
		cmocka_unit_test_setup(test_gue_source_port, reset),
		cmocka_unit_test_setup(test_vlan_and_padding, reset),
		cmocka_unit_test_setup(test_fragments_and_icmp_errors, reset),
		cmocka_unit_test_setup(test_unresolved, reset),
		cmocka_unit_test_setup(test_too_big_route_mtu, reset),
		cmocka_unit_test_setup(test_pmtu_learning, reset),
		cmocka_unit_test_setup(test_pmtu_expiry, reset),
		cmocka_unit_test_setup(test_truncations, reset),
		cmocka_unit_test_setup(test_fib_probe, reset),
	};

	if (tn_netns_enter())
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
