/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Data-plane fixtures through BPF_PROG_TEST_RUN: crafted frames in, the exact
 * verdict, the exact output bytes (destination MAC = the server's, source MAC =
 * the server entry's src_mac, every other byte as sent) and the exact reason
 * counters out. The expected server is predicted in user space from the farm's
 * Maglev table and the same hash the program uses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "dataplane/dataplane.h"
#include "packets.h"
#pragma GCC diagnostic ignored "-Wunknown-pragmas" /* parse.h's #pragma unroll is for clang */
#include "../../bpf/parse.h"

#define SEED      0x5eedu
#define INGRESS   1u            /* lo: servers on it are reached by XDP_TX */

/* farm slots */
enum { F_WEB = 0, F_DNS = 1, F_REMOTE = 2, F_DOWN = 3, F_EMPTY = 4, F_NOIF = 5, F_NODEV = 6, F__N = 8 };

#define VIP4      "192.0.2.10"  /* :80/tcp -> web, :53/udp -> dns */
#define VIP6      "2001:db8::10"
#define VIP4_ANY  "192.0.2.20"  /* port 0: every tcp port -> web */
#define VIP4_RMT  "192.0.2.30"  /* web servers behind another interface */
#define VIP4_DOWN "192.0.2.40"  /* farm with no server up */
#define VIP4_NOFM "192.0.2.50"  /* points to an empty farm slot */
#define VIP4_OFF  "192.0.2.60"  /* frontend disabled */
#define VIP4_DENY "192.0.2.70"  /* deniedSource 198.51.100.0/24 */
#define VIP4_ALLW "192.0.2.71"  /* allowedSource 203.0.113.0/24 */
#define VIP4_BOTH "192.0.2.72"  /* allowed 203.0.113.0/24, denied 203.0.113.128/25 */
#define VIP6_DENY "2001:db8::70"/* deniedSource 2001:db8:bad::/48 */
#define VIP4_NOIF "192.0.2.80"  /* server without an interface */
#define VIP4_NODV "192.0.2.81"  /* server behind an interface missing from the devmap */
#define CLIENT4   "198.51.100.7"
#define CLIENT6   "2001:db8:c::7"
#define ROUTER4   "203.0.113.254"
#define ROUTER6   "2001:db8:ffff::1"

static const uint8_t SRC_MAC[6] = { 0x02, 0x1b, 0x00, 0x00, 0x00, 0x01 };

struct farm_cache {
	struct tn_farm_hdr hdr;
	struct tn_server servers[TN_MAX_SERVERS];
	uint16_t *table;
};

struct fx {
	struct tn_dp *dp;
	int prog;
	uint32_t other_ifindex;        /* an interface other than lo, 0 if none */
	uint32_t table_size;
	struct farm_cache *farm[F__N];
	uint8_t *host_buf;             /* last host-parser copy (freed even after a failure) */
};

#define R(...) ((const int[]){ __VA_ARGS__, -1 })

/* ---- world ------------------------------------------------------------------ */

static void server(struct tn_dp_server *s, uint32_t farm, uint32_t id, const char *addr, uint16_t port,
		   uint32_t ifindex, bool up)
{
	memset(s, 0, sizeof(*s));
	s->server_id = id;
	s->family = (uint8_t)tp_family_of(addr);
	tp_addr16(addr, s->addr);
	s->port = port;
	s->weight = 100;
	s->up = up;
	s->mac[0] = 0x02;
	s->mac[1] = 0x5e;
	s->mac[3] = (uint8_t)farm;
	s->mac[5] = (uint8_t)id;
	memcpy(s->src_mac, SRC_MAC, 6);
	s->src_mac[5] = (uint8_t)(0x10 + farm);
	s->ifindex = ifindex;
}

static void write_farm(struct fx *fx, uint32_t slot, uint8_t proto, uint8_t sticky, int n, const char *net,
		       uint16_t port, uint32_t ifindex, bool up)
{
	struct tn_dp_server s[4];
	char addr[64];

	for (int i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "%s%d", net, i + 1);
		server(&s[i], slot, (uint32_t)i + 1, addr, port, ifindex, up);
	}
	struct tn_dp_farm f = { .farm_id = slot + 100, .proto = proto, .balance = TN_BALANCE_SOURCE,
				.stickiness = sticky, .servers = s, .nservers = (size_t)n };
	assert_int_equal(tn_dp_farm_write(fx->dp, slot, &f, NULL), 0);
}

static void vip(struct tn_vip_key *k, struct tn_vip *v, size_t *n, const char *addr, uint16_t port, uint8_t proto,
		uint32_t farm, uint32_t flags)
{
	k[*n] = tp_vip_key(addr, port, proto);
	memset(&v[*n], 0, sizeof(v[*n]));
	v[*n].farm_slot = farm;
	v[*n].vip_index = (uint32_t)*n;
	v[*n].flags = flags;
	v[*n].frontend_id = (uint32_t)*n;
	(*n)++;
}

static uint32_t vip_index_of(const struct tn_vip_key *k, size_t n, const char *addr, uint16_t port, uint8_t proto)
{
	struct tn_vip_key want = tp_vip_key(addr, port, proto);

	for (size_t i = 0; i < n; i++)
		if (!memcmp(&k[i], &want, sizeof(want)))
			return (uint32_t)i;
	abort();
}

static void prefix(struct tn_dp_prefix *p, const char *addr, uint8_t len)
{
	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)tp_family_of(addr);
	tp_addr16(addr, p->addr);
	p->prefixlen = len;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct tn_dp_settings st;
	struct tn_vip_key k[32];
	struct tn_vip v[32];
	struct tn_dp_prefix p[2];
	size_t n = 0;

	assert_non_null(fx);
	tn_dp_settings_default(&st);
	st.ct_size = 65536;
	st.hash_seed = SEED;
	assert_int_equal(tn_dp_open(&fx->dp, "", &st), 0);
	fx->prog = tn_dp_prog_fd(fx->dp);
	fx->table_size = st.table_size;
	fx->other_ifindex = tp_other_ifindex(INGRESS);

	write_farm(fx, F_WEB, IPPROTO_TCP, TN_STICKY_SOURCE_IP, 3, "10.0.0.", 80, INGRESS, true);
	write_farm(fx, F_DNS, IPPROTO_UDP, TN_STICKY_NONE, 3, "10.0.1.", 53, INGRESS, true);
	if (fx->other_ifindex) {
		assert_int_equal(tn_dp_tx_port_add(fx->dp, fx->other_ifindex), 0);
		write_farm(fx, F_REMOTE, IPPROTO_TCP, TN_STICKY_SOURCE_IP, 2, "10.0.2.", 80, fx->other_ifindex, true);
	}
	write_farm(fx, F_DOWN, IPPROTO_TCP, TN_STICKY_SOURCE_IP, 2, "10.0.3.", 80, INGRESS, false);
	write_farm(fx, F_NOIF, IPPROTO_TCP, TN_STICKY_SOURCE_IP, 1, "10.0.5.", 80, 0, true);
	write_farm(fx, F_NODEV, IPPROTO_TCP, TN_STICKY_SOURCE_IP, 1, "10.0.6.", 80, 4242, true);

	vip(k, v, &n, VIP4, 80, IPPROTO_TCP, F_WEB, 0);
	vip(k, v, &n, VIP4, 53, IPPROTO_UDP, F_DNS, 0);
	vip(k, v, &n, VIP6, 80, IPPROTO_TCP, F_WEB, 0);
	vip(k, v, &n, VIP6, 53, IPPROTO_UDP, F_DNS, 0);
	vip(k, v, &n, VIP4_ANY, 0, IPPROTO_TCP, F_WEB, 0);
	vip(k, v, &n, VIP4_RMT, 80, IPPROTO_TCP, F_REMOTE, 0);
	vip(k, v, &n, VIP4_DOWN, 80, IPPROTO_TCP, F_DOWN, 0);
	vip(k, v, &n, VIP4_NOFM, 80, IPPROTO_TCP, F_EMPTY, 0);
	vip(k, v, &n, VIP4_OFF, 80, IPPROTO_TCP, F_WEB, TN_VIP_F_DISABLED);
	vip(k, v, &n, VIP4_DENY, 80, IPPROTO_TCP, F_WEB, TN_VIP_F_DENY_LIST);
	vip(k, v, &n, VIP4_ALLW, 80, IPPROTO_TCP, F_WEB, TN_VIP_F_ALLOW_LIST);
	vip(k, v, &n, VIP4_BOTH, 80, IPPROTO_TCP, F_WEB, TN_VIP_F_ALLOW_LIST | TN_VIP_F_DENY_LIST);
	vip(k, v, &n, VIP6_DENY, 80, IPPROTO_TCP, F_WEB, TN_VIP_F_DENY_LIST);
	vip(k, v, &n, VIP4_NOIF, 80, IPPROTO_TCP, F_NOIF, 0);
	vip(k, v, &n, VIP4_NODV, 80, IPPROTO_TCP, F_NODEV, 0);
	assert_int_equal(tn_dp_vips_replace(fx->dp, k, v, n), 0);

	prefix(&p[0], "198.51.100.0", 24);
	assert_int_equal(tn_dp_filters_set(fx->dp, vip_index_of(k, n, VIP4_DENY, 80, IPPROTO_TCP), false, p, 1), 0);
	prefix(&p[0], "203.0.113.0", 24);
	assert_int_equal(tn_dp_filters_set(fx->dp, vip_index_of(k, n, VIP4_ALLW, 80, IPPROTO_TCP), true, p, 1), 0);
	assert_int_equal(tn_dp_filters_set(fx->dp, vip_index_of(k, n, VIP4_BOTH, 80, IPPROTO_TCP), true, p, 1), 0);
	prefix(&p[0], "203.0.113.128", 25);
	assert_int_equal(tn_dp_filters_set(fx->dp, vip_index_of(k, n, VIP4_BOTH, 80, IPPROTO_TCP), false, p, 1), 0);
	prefix(&p[0], "2001:db8:bad::", 48);
	assert_int_equal(tn_dp_filters_set(fx->dp, vip_index_of(k, n, VIP6_DENY, 80, IPPROTO_TCP), false, p, 1), 0);

	*state = fx;
	return 0;
}

/* Each test starts with an empty conntrack (the maps are shared by the group). */
static int clear_conntrack(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(tn_dp_ct_clear(fx->dp), 0);
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	for (int i = 0; i < F__N; i++) {
		if (fx->farm[i]) {
			free(fx->farm[i]->table);
			free(fx->farm[i]);
		}
	}
	tn_dp_close(fx->dp);
	free(fx->host_buf);
	free(fx);
	return 0;
}

/* ---- prediction ---------------------------------------------------------------- */

static struct farm_cache *farm(struct fx *fx, uint32_t slot)
{
	struct farm_cache *fc = fx->farm[slot];

	if (fc)
		return fc;
	fc = calloc(1, sizeof(*fc));
	assert_non_null(fc);
	fc->table = calloc(fx->table_size, sizeof(uint16_t));
	assert_non_null(fc->table);
	assert_int_equal(tn_dp_farm_read(fx->dp, slot, &fc->hdr, fc->servers, fc->table), 0);
	fx->farm[slot] = fc;
	return fc;
}

/* The server a new client->VIP packet described by s goes to. */
static const struct tn_server *predict(struct fx *fx, uint32_t farm_slot, const struct tp_spec *s)
{
	struct farm_cache *fc = farm(fx, farm_slot);
	bool fragment = s->frag_offset || s->more_frags;
	struct tn_ct_key k;
	uint32_t idx;
	uint16_t slot;

	memset(&k, 0, sizeof(k));
	k.farm_slot = (uint16_t)farm_slot;
	k.family = tp_family_of(s->dst) == 6 ? TN_FAMILY_V6 : TN_FAMILY_V4;
	tp_addr16(s->src, k.src);
	if (fc->hdr.stickiness != TN_STICKY_SOURCE_IP) {
		tp_addr16(s->dst, k.dst);
		k.proto = s->proto;
		if (!fragment) {
			k.sport = htons(s->sport);
			k.dport = htons(s->dport);
		}
	}
	idx = tn_reduce(tn_hash_ct_key(&k, SEED), fx->table_size);
	slot = fc->table[idx];
	assert_true(slot < TN_MAX_SERVERS);
	assert_true(fc->servers[slot].flags & TN_SRV_F_USED);
	return &fc->servers[slot];
}

/* ---- running and checking ----------------------------------------------------------- */

static void counters(struct fx *fx, struct tn_counter c[TN_R__COUNT])
{
	assert_int_equal(tn_dp_reason_counters(fx->dp, c), 0);
}

static void hexdump(const char *label, const uint8_t *d, uint32_t n)
{
	fprintf(stderr, "# %s (%u bytes):", label, n);
	for (uint32_t i = 0; i < n; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n#   ", d[i]);
	fprintf(stderr, "\n");
}

/* Run len bytes of in; check the verdict and that the reason counters moved by
 * exactly `reasons` (one packet of len bytes each). */
static int run_check(struct fx *fx, const uint8_t *in, uint32_t len, int want, const int *reasons,
		     uint8_t *out, uint32_t *out_len, const char *what)
{
	struct tn_counter before[TN_R__COUNT], after[TN_R__COUNT];
	uint64_t expect[TN_R__COUNT] = { 0 };
	uint32_t olen = 0;
	int verdict, bad = 0;

	counters(fx, before);
	verdict = tp_run(fx->prog, INGRESS, in, len, out, &olen);
	counters(fx, after);
	if (out_len)
		*out_len = olen;
	if (verdict != want) {
		hexdump("frame", in, len);
		fail_msg("%s (%u bytes): verdict %s (%d), expected %s", what, len, tp_verdict_name(verdict), verdict,
			 tp_verdict_name(want));
	}
	for (int i = 0; reasons[i] >= 0; i++)
		expect[reasons[i]]++;
	for (int r = 0; r < TN_R__COUNT; r++) {
		uint64_t dp = after[r].packets - before[r].packets, db = after[r].bytes - before[r].bytes;

		if (dp != expect[r] || db != expect[r] * len) {
			fprintf(stderr, "# %s (%u bytes): counter %s moved by %llu packets / %llu bytes, expected %llu\n",
				what, len, tn_reason_name(r), (unsigned long long)dp, (unsigned long long)db,
				(unsigned long long)expect[r]);
			bad = 1;
		}
	}
	if (bad) {
		hexdump("frame", in, len);
		fail_msg("%s: reason counters differ from the expected ones", what);
	}
	return verdict;
}

static void expect_pass(struct fx *fx, const uint8_t *in, uint32_t len, int reason, const char *what)
{
	uint8_t out[TP_FRAME_MAX];
	uint32_t olen;

	run_check(fx, in, len, XDP_PASS, R(reason), out, &olen, what);
	assert_int_equal(olen, len);
	if (memcmp(out, in, len)) {
		hexdump("in", in, len);
		hexdump("out", out, olen);
		fail_msg("%s: a passed frame was modified", what);
	}
}

static void expect_pass_frame(struct fx *fx, const struct tp_frame *f, int reason, const char *what)
{
	expect_pass(fx, f->data, f->len, reason, what);
}

static void expect_drop(struct fx *fx, const uint8_t *in, uint32_t len, const int *reasons, const char *what)
{
	run_check(fx, in, len, XDP_DROP, reasons, NULL, NULL, what);
}

static void expect_forward(struct fx *fx, const struct tp_frame *f, int verdict, const struct tn_server *srv,
			   const int *reasons, const char *what)
{
	uint8_t out[TP_FRAME_MAX];
	uint32_t olen;

	run_check(fx, f->data, f->len, verdict, reasons, out, &olen, what);
	assert_int_equal(olen, f->len);
	if (memcmp(out, srv->mac, 6) || memcmp(out + 6, srv->src_mac, 6) ||
	    memcmp(out + 12, f->data + 12, f->len - 12)) {
		hexdump("in", f->data, f->len);
		hexdump("out", out, olen);
		fprintf(stderr, "# expected server %u: %02x:%02x:%02x:%02x:%02x:%02x\n", srv->server_id,
			srv->mac[0], srv->mac[1], srv->mac[2], srv->mac[3], srv->mac[4], srv->mac[5]);
		fail_msg("%s: output frame differs from the expected one", what);
	}
}

/* A new client: CT_NEW, then TX; the same again: CT_HIT. */
static void expect_new_then_hit(struct fx *fx, const struct tp_frame *f, uint32_t farm_slot,
				const struct tp_spec *s, const char *what)
{
	const struct tn_server *srv = predict(fx, farm_slot, s);

	expect_forward(fx, f, XDP_TX, srv, R(TN_R_CT_NEW, TN_R_TX), what);
	expect_forward(fx, f, XDP_TX, srv, R(TN_R_CT_HIT, TN_R_TX), what);
}

static struct tp_spec tcp4(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	return (struct tp_spec){ .src = src, .dst = dst, .proto = IPPROTO_TCP, .sport = sport, .dport = dport,
				 .payload = 16, .tcp_flags = 0x18 }; /* PSH|ACK: past the handshake, tracked */
}

static struct tp_spec udp(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	return (struct tp_spec){ .src = src, .dst = dst, .proto = IPPROTO_UDP, .sport = sport, .dport = dport,
				 .payload = 24 };
}

/* ---- tests: forwarding --------------------------------------------------------------- */

static size_t ct_entries(struct fx *fx)
{
	uint64_t n = 0;

	assert_int_equal(tn_dp_ct_count(fx->dp, &n), 0);
	return n;
}

/* A client is tracked once it has shown more than a SYN: its SYNs are steered
 * by the table alone (conntrack_deferred, no entry: a spoofed source costs a
 * lookup), its handshake ACK makes the entry, and from then on even a SYN of
 * another connection is a hit. */
static void test_tcp_tracked_past_its_syn(void **state)
{
	struct fx *fx = *state;
	struct tp_spec s = tcp4("198.51.100.77", VIP4, 41000, 80);
	const struct tn_server *srv = predict(fx, F_WEB, &s);
	struct tp_frame syn, ack, syn2;

	s.tcp_flags = 0x02;
	tp_build(&syn, &s);
	s.tcp_flags = 0x10;
	tp_build(&ack, &s);
	s.sport = 41001;
	s.tcp_flags = 0x02;
	tp_build(&syn2, &s);
	expect_forward(fx, &syn, XDP_TX, srv, R(TN_R_CT_DEFERRED, TN_R_TX), "SYN of a new client");
	expect_forward(fx, &syn, XDP_TX, srv, R(TN_R_CT_DEFERRED, TN_R_TX), "its SYN again (retransmitted)");
	assert_int_equal(ct_entries(fx), 0);
	expect_forward(fx, &ack, XDP_TX, srv, R(TN_R_CT_NEW, TN_R_TX), "its handshake ACK");
	assert_int_equal(ct_entries(fx), 1);
	expect_forward(fx, &ack, XDP_TX, srv, R(TN_R_CT_HIT, TN_R_TX), "its next segment");
	expect_forward(fx, &syn2, XDP_TX, srv, R(TN_R_CT_HIT, TN_R_TX), "the SYN of its next connection");
	assert_int_equal(ct_entries(fx), 1);
}

static void test_ipv4_tcp(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	char client[32];
	int seen[4] = { 0 };
	struct tn_counter c0, c;

	assert_int_equal(tn_dp_vip_counter(fx->dp, 0, &c0), 0);
	/* 200 clients: each one exactly to its predicted server, and they spread */
	for (int i = 0; i < 200; i++) {
		snprintf(client, sizeof(client), "198.51.%d.%d", 100 + i / 250, 1 + i % 250);
		struct tp_spec s = tcp4(client, VIP4, (uint16_t)(30000 + i), 80);
		const struct tn_server *srv = predict(fx, F_WEB, &s);

		tp_build(&f, &s);
		expect_new_then_hit(fx, &f, F_WEB, &s, "IPv4 TCP to a VIP");
		seen[srv->server_id]++;
	}
	assert_true(seen[1] > 20 && seen[2] > 20 && seen[3] > 20);

	/* sourceIp stickiness: another connection of the same client, same server */
	struct tp_spec s = tcp4("198.51.100.1", VIP4, 65000, 80);

	tp_build(&f, &s);
	expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s), R(TN_R_CT_HIT, TN_R_TX), "second connection");

	/* the per-VIP counter follows */
	assert_int_equal(tn_dp_vip_counter(fx->dp, 0, &c), 0);
	assert_int_equal(c.packets - c0.packets, 401);
}

static void test_ipv4_udp(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;

	/* stickiness none: the 5-tuple decides, so each source port may move */
	for (int i = 0; i < 50; i++) {
		struct tp_spec s = udp(CLIENT4, VIP4, (uint16_t)(10000 + i), 53);

		tp_build(&f, &s);
		expect_new_then_hit(fx, &f, F_DNS, &s, "IPv4 UDP to a VIP");
	}
}

static void test_ipv4_options(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	char what[64];

	for (int words = 1; words <= 10; words++) {
		struct tp_spec s = tcp4(CLIENT4, VIP4, (uint16_t)(2000 + words), 80);

		s.ipv4_opt_words = (uint8_t)words;
		tp_build(&f, &s);
		assert_int_equal(f.data[f.l3] & 0x0f, 5 + words);
		snprintf(what, sizeof(what), "IPv4 with ihl %d", 5 + words);
		expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s),
			       words == 1 ? R(TN_R_CT_NEW, TN_R_TX) : R(TN_R_CT_HIT, TN_R_TX), what);
	}
	/* ports are read after the options: a UDP flow with options hashes its own ports */
	struct tp_spec s = udp(CLIENT4, VIP4, 4444, 53);

	s.ipv4_opt_words = 10;
	tp_build(&f, &s);
	expect_forward(fx, &f, XDP_TX, predict(fx, F_DNS, &s), R(TN_R_CT_NEW, TN_R_TX), "IPv4 UDP with ihl 15");
}

static void test_ipv4_ethernet_padding(void **state)
{
	struct fx *fx = *state;
	struct tp_spec s = tcp4(CLIENT4, VIP4, 1234, 80);
	struct tp_frame f;

	/* a frame longer than tot_len (Ethernet padding) is legal: trailing bytes kept */
	s.payload = 0;
	tp_build(&f, &s);
	memset(f.data + f.len, 0xee, 6);
	f.len += 6;
	expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s), R(TN_R_CT_NEW, TN_R_TX), "padded frame");
}

static void test_ipv6_tcp_udp(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	char client[64];

	for (int i = 0; i < 50; i++) {
		snprintf(client, sizeof(client), "2001:db8:c::%x", i + 1);
		struct tp_spec t = tcp4(client, VIP6, (uint16_t)(40000 + i), 80);
		struct tp_spec u = udp(client, VIP6, (uint16_t)(40000 + i), 53);

		tp_build(&f, &t);
		expect_new_then_hit(fx, &f, F_WEB, &t, "IPv6 TCP to a VIP");
		tp_build(&f, &u);
		expect_new_then_hit(fx, &f, F_DNS, &u, "IPv6 UDP to a VIP");
	}
}

static void test_ipv6_extension_headers(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *what;
		uint8_t n, ext[6], len[6];
		bool fragment;
	} cases[] = {
		{ "hop-by-hop", 1, { IPPROTO_HOPOPTS }, { 0 }, false },
		{ "routing", 1, { IPPROTO_ROUTING }, { 0 }, false },
		{ "destination options", 1, { IPPROTO_DSTOPTS }, { 0 }, false },
		{ "long hop-by-hop (24 bytes)", 1, { IPPROTO_HOPOPTS }, { 2 }, false },
		{ "hop-by-hop, routing, destination options", 3,
		  { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS }, { 1, 0, 3 }, false },
		{ "fragment header (atomic)", 1, { IPPROTO_FRAGMENT }, { 0 }, true },
		{ "six headers (the most walked)", 6,
		  { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS },
		  { 0, 1, 0, 2, 0, 0 }, false },
	};
	struct tp_frame f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char client[64];

		snprintf(client, sizeof(client), "2001:db8:e::%zx", i + 1);
		struct tp_spec t = tcp4(client, VIP6, (uint16_t)(5000 + i), 80);
		struct tp_spec u = udp(client, VIP6, (uint16_t)(5000 + i), 53);

		t.next = u.next = cases[i].n;
		memcpy(t.ext, cases[i].ext, cases[i].n);
		memcpy(u.ext, cases[i].ext, cases[i].n);
		memcpy(t.ext_len, cases[i].len, cases[i].n);
		memcpy(u.ext_len, cases[i].len, cases[i].n);
		tp_build(&f, &t);
		if (cases[i].fragment) {
			/* a fragment header makes it a fragment: 3-tuple / source key, FRAGMENT counted */
			expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &t), R(TN_R_CT_NEW, TN_R_FRAGMENT, TN_R_TX),
				       cases[i].what);
			u.more_frags = true; /* predict() keys it as a fragment */
			struct tp_spec pu = u;

			u.more_frags = false;
			tp_build(&f, &u);
			expect_forward(fx, &f, XDP_TX, predict(fx, F_DNS, &pu),
				       R(TN_R_CT_NEW, TN_R_FRAGMENT, TN_R_TX), cases[i].what);
		} else {
			expect_new_then_hit(fx, &f, F_WEB, &t, cases[i].what);
			tp_build(&f, &u);
			expect_new_then_hit(fx, &f, F_DNS, &u, cases[i].what);
		}
	}
}

static void test_ipv6_too_many_extension_headers(void **state)
{
	struct fx *fx = *state;
	struct tp_spec s = tcp4(CLIENT6, VIP6, 5555, 80);
	struct tp_frame f;

	/* TN_MAX_IPV6_EXT + 1 headers to a VIP: malformed, dropped and counted */
	s.next = TN_MAX_IPV6_EXT + 1;
	for (int i = 0; i < s.next; i++)
		s.ext[i] = IPPROTO_DSTOPTS;
	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_MALFORMED), "IPv6 with 7 extension headers to a VIP");

	/* the same to another address: not ours, passed untouched */
	s.dst = "2001:db8::99";
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "IPv6 with 7 extension headers to another address");
}

static void test_vlan(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;

	struct tp_spec q = tcp4("198.51.100.21", VIP4, 1000, 80);
	q.nvlan = 1;
	q.vlan_tpid[0] = 0x8100;
	tp_build(&f, &q);
	assert_int_equal(f.l3, 18);
	expect_new_then_hit(fx, &f, F_WEB, &q, "802.1Q IPv4 TCP");

	struct tp_spec ad = udp("198.51.100.22", VIP4, 1000, 53);
	ad.nvlan = 1;
	ad.vlan_tpid[0] = 0x88a8;
	tp_build(&f, &ad);
	expect_new_then_hit(fx, &f, F_DNS, &ad, "802.1ad IPv4 UDP");

	struct tp_spec qinq = udp("2001:db8:c::22", VIP6, 1000, 53);
	qinq.nvlan = 2;
	qinq.vlan_tpid[0] = 0x88a8;
	qinq.vlan_tpid[1] = 0x8100;
	tp_build(&f, &qinq);
	assert_int_equal(f.l3, 22);
	expect_new_then_hit(fx, &f, F_DNS, &qinq, "QinQ IPv6 UDP");

	struct tp_spec qinq4 = tcp4("198.51.100.23", VIP4, 1000, 80);
	qinq4.nvlan = 2;
	qinq4.vlan_tpid[0] = 0x88a8;
	qinq4.vlan_tpid[1] = 0x8100;
	tp_build(&f, &qinq4);
	expect_new_then_hit(fx, &f, F_WEB, &qinq4, "QinQ IPv4 TCP");

	/* three tags: more than parsed, so not seen as IP: passed untouched */
	struct tp_spec three = tcp4("198.51.100.24", VIP4, 1000, 80);
	three.nvlan = 3;
	three.vlan_tpid[0] = 0x88a8;
	three.vlan_tpid[1] = 0x8100;
	three.vlan_tpid[2] = 0x8100;
	tp_build(&f, &three);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_IP, "three VLAN tags");
}

/* ---- fragments ------------------------------------------------------------------------ */

/* A datagram cut into a first fragment (L4 header, MF) and two later ones. */
static void fragments(const struct tp_spec *base, struct tp_frame f[3], struct tp_spec s[3])
{
	for (int i = 0; i < 3; i++) {
		s[i] = *base;
		s[i].frag_id = 0xbeef;
		s[i].more_frags = i < 2;
		s[i].frag_offset = (uint16_t)(i * 64); /* 512-byte steps */
		s[i].payload = i == 0 ? 504 - (base->proto == IPPROTO_TCP ? 12 : 0) : (i == 1 ? 512 : 100);
		tp_build(&f[i], &s[i]);
	}
}

static void check_fragments(struct fx *fx, uint32_t farm_slot, const struct tp_spec *base, const char *what)
{
	struct tp_frame f[3];
	struct tp_spec s[3];
	const struct tn_server *srv;

	fragments(base, f, s);
	srv = predict(fx, farm_slot, &s[0]);
	/* all fragments of the datagram, in order, then out of order: one server */
	expect_forward(fx, &f[0], XDP_TX, srv, R(TN_R_CT_NEW, TN_R_FRAGMENT, TN_R_TX), what);
	expect_forward(fx, &f[1], XDP_TX, srv, R(TN_R_CT_HIT, TN_R_FRAGMENT, TN_R_TX), what);
	expect_forward(fx, &f[2], XDP_TX, srv, R(TN_R_CT_HIT, TN_R_FRAGMENT, TN_R_TX), what);
	expect_forward(fx, &f[0], XDP_TX, srv, R(TN_R_CT_HIT, TN_R_FRAGMENT, TN_R_TX), what);
}

static void test_ipv4_fragments(void **state)
{
	struct fx *fx = *state;
	struct tp_spec s = tcp4("198.51.100.31", VIP4, 3333, 80);
	struct tp_frame f[3];
	struct tp_spec fs[3];

	fragments(&s, f, fs);
	assert_int_equal(tp_get16(f[0].data + f[0].l3 + 6), 0x2000);     /* MF, offset 0 */
	assert_int_equal(tp_get16(f[1].data + f[1].l3 + 6), 0x2000 | 64);
	assert_int_equal(tp_get16(f[2].data + f[2].l3 + 6), 128);         /* last: offset, no MF */
	check_fragments(fx, F_WEB, &s, "IPv4 TCP fragments (sourceIp)");

	/* sourceIp: the client's unfragmented packets agree with its fragments */
	struct tp_frame whole;

	tp_build(&whole, &s);
	expect_forward(fx, &whole, XDP_TX, predict(fx, F_WEB, &s), R(TN_R_CT_HIT, TN_R_TX), "same client, whole packet");
}

static void test_ipv6_fragments(void **state)
{
	struct fx *fx = *state;
	struct tp_spec s = tcp4("2001:db8:c::31", VIP6, 3333, 80);

	check_fragments(fx, F_WEB, &s, "IPv6 TCP fragments (sourceIp)");
	s = udp("2001:db8:c::32", VIP6, 3333, 53);
	s.next = 1;
	s.ext[0] = IPPROTO_HOPOPTS; /* fragment header after a hop-by-hop header */
	check_fragments(fx, F_DNS, &s, "IPv6 UDP fragments after hop-by-hop (stickiness none)");
}

static void test_fragments_stickiness_none(void **state)
{
	struct fx *fx = *state;
	char client[32];
	int differ = 0;

	/* stickiness none: fragments hash the 3-tuple (no ports in later fragments),
	 * so first and later fragments agree, for many datagrams */
	for (int i = 0; i < 40; i++) {
		snprintf(client, sizeof(client), "198.51.101.%d", i + 1);
		struct tp_spec s = udp(client, VIP4, (uint16_t)(7000 + i), 53);
		struct tp_spec frag = s;

		check_fragments(fx, F_DNS, &s, "IPv4 UDP fragments (stickiness none)");
		frag.more_frags = true;
		differ += predict(fx, F_DNS, &frag) != predict(fx, F_DNS, &s);
	}
	/* the 3-tuple key really differs from the 5-tuple one for some clients */
	assert_true(differ > 0);
}

/* ---- ICMP errors ------------------------------------------------------------------------- */

static void test_icmp_frag_needed(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;

	/* a tracked TCP client (sourceIp farm) */
	struct tp_spec c = tcp4("198.51.100.41", VIP4, 41000, 80);
	const struct tn_server *srv = predict(fx, F_WEB, &c);

	tp_build(&f, &c);
	expect_forward(fx, &f, XDP_TX, srv, R(TN_R_CT_NEW, TN_R_TX), "client packet");

	/* the server's reply VIP:80 -> client:41000 met a small MTU; a router says so */
	struct tp_spec reply = tcp4(VIP4, "198.51.100.41", 80, 41000);
	struct tp_spec err = { .src = ROUTER4, .dst = VIP4, .proto = IPPROTO_ICMP, .icmp_type = 3,
			       .icmp_code = 4, .icmp_info = 1400, .quote = &reply, .quote_len = 28 };

	tp_build(&f, &err);
	expect_forward(fx, &f, XDP_TX, srv, R(TN_R_CT_HIT, TN_R_ICMP_STEERED, TN_R_TX), "IPv4 frag-needed");
	/* quoting more than 8 bytes of the L4 header is fine too */
	err.quote_len = 0;
	tp_build(&f, &err);
	expect_forward(fx, &f, XDP_TX, srv, R(TN_R_CT_HIT, TN_R_ICMP_STEERED, TN_R_TX), "IPv4 frag-needed, long quote");

	/* stickiness none: the quoted 5-tuple reversed is the client's flow */
	struct tp_spec uc = udp("198.51.100.42", VIP4, 42000, 53);
	const struct tn_server *usrv = predict(fx, F_DNS, &uc);

	tp_build(&f, &uc);
	expect_forward(fx, &f, XDP_TX, usrv, R(TN_R_CT_NEW, TN_R_TX), "UDP client packet");
	struct tp_spec ureply = udp(VIP4, "198.51.100.42", 53, 42000);

	err.quote = &ureply;
	err.quote_len = 28;
	tp_build(&f, &err);
	expect_forward(fx, &f, XDP_TX, usrv, R(TN_R_CT_HIT, TN_R_ICMP_STEERED, TN_R_TX), "IPv4 frag-needed, UDP flow");

	/* an untracked client: the error goes where the client's packets would go,
	 * and does not create a conntrack entry */
	struct tp_spec nc = tcp4("198.51.100.43", VIP4, 43000, 80);
	struct tp_spec nreply = tcp4(VIP4, "198.51.100.43", 80, 43000);

	err.quote = &nreply;
	tp_build(&f, &err);
	expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &nc), R(TN_R_CT_NEW, TN_R_ICMP_STEERED, TN_R_TX),
		       "frag-needed for an untracked client");
	tp_build(&f, &nc);
	expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &nc), R(TN_R_CT_NEW, TN_R_TX), "that client afterwards");

	/* other errors about the flow: time exceeded, port unreachable, and a
	 * quoted header with IP options */
	struct tp_spec treply = tcp4(VIP4, "198.51.100.41", 80, 41000);

	err.quote = &treply;
	err.quote_len = 0;
	err.icmp_type = 11;
	err.icmp_code = 0;
	tp_build(&f, &err);
	expect_forward(fx, &f, XDP_TX, srv, R(TN_R_CT_HIT, TN_R_ICMP_STEERED, TN_R_TX), "IPv4 time exceeded");
	err.icmp_type = 3;
	err.icmp_code = 3;
	treply.ipv4_opt_words = 3;
	tp_build(&f, &err);
	expect_forward(fx, &f, XDP_TX, srv, R(TN_R_CT_HIT, TN_R_ICMP_STEERED, TN_R_TX),
		       "IPv4 unreachable quoting a header with options");
	err.icmp_code = 4;

	/* an IPv6 packet quoted in ICMPv4: not a VIP flow of this family */
	struct tp_spec v6reply = tcp4(VIP6, CLIENT6, 80, 41000);

	err.quote = &v6reply;
	tp_build(&f, &err);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "ICMPv4 quoting IPv6");

	/* an error quoting a packet that is not from a VIP flow: not ours */
	struct tp_spec other = tcp4("192.0.2.99", "198.51.100.43", 80, 43000);

	err.dst = "192.0.2.99";
	err.quote = &other;
	tp_build(&f, &err);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "frag-needed about another address");
}

static void test_icmpv6_packet_too_big(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	struct tp_spec c = tcp4("2001:db8:c::41", VIP6, 41000, 80);
	const struct tn_server *srv = predict(fx, F_WEB, &c);

	tp_build(&f, &c);
	expect_forward(fx, &f, XDP_TX, srv, R(TN_R_CT_NEW, TN_R_TX), "IPv6 client packet");

	struct tp_spec reply = tcp4(VIP6, "2001:db8:c::41", 80, 41000);
	struct tp_spec err = { .src = ROUTER6, .dst = VIP6, .proto = IPPROTO_ICMPV6, .icmp_type = 2,
			       .icmp_code = 0, .icmp_info = 1280, .quote = &reply };

	reply.payload = 1000; /* as much of the packet as fits in 1280 bytes */
	tp_build(&f, &err);
	expect_forward(fx, &f, XDP_TX, srv, R(TN_R_CT_HIT, TN_R_ICMP_STEERED, TN_R_TX), "IPv6 packet-too-big");

	struct tp_spec uc = udp("2001:db8:c::42", VIP6, 42000, 53);
	struct tp_spec ureply = udp(VIP6, "2001:db8:c::42", 53, 42000);
	const struct tn_server *usrv = predict(fx, F_DNS, &uc);

	tp_build(&f, &uc);
	expect_forward(fx, &f, XDP_TX, usrv, R(TN_R_CT_NEW, TN_R_TX), "IPv6 UDP client packet");
	err.quote = &ureply;
	err.quote_len = 48;
	tp_build(&f, &err);
	expect_forward(fx, &f, XDP_TX, usrv, R(TN_R_CT_HIT, TN_R_ICMP_STEERED, TN_R_TX),
		       "IPv6 packet-too-big, UDP flow");

	/* destination unreachable and time exceeded are steered the same way */
	err.icmp_type = 1;
	err.icmp_code = 4;
	tp_build(&f, &err);
	expect_forward(fx, &f, XDP_TX, usrv, R(TN_R_CT_HIT, TN_R_ICMP_STEERED, TN_R_TX), "ICMPv6 port unreachable");
	err.icmp_type = 3;
	err.icmp_code = 0;
	tp_build(&f, &err);
	expect_forward(fx, &f, XDP_TX, usrv, R(TN_R_CT_HIT, TN_R_ICMP_STEERED, TN_R_TX), "ICMPv6 time exceeded");
	/* an informational ICMPv6 message quoting nothing is not steered */
	err.icmp_type = 135; /* neighbour solicitation */
	err.quote = NULL;
	err.payload = 24;
	tp_build(&f, &err);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "neighbour solicitation to a VIP");
}

static void test_icmp_echo_passes(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	struct tp_spec e4 = { .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_ICMP, .icmp_type = 8,
			      .icmp_info = 0x00010001, .payload = 56 };
	struct tp_spec e6 = { .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_ICMPV6, .icmp_type = 128,
			      .icmp_info = 0x00010001, .payload = 56 };

	tp_build(&f, &e4);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "ICMP echo to a VIP");
	tp_build(&f, &e6);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "ICMPv6 echo to a VIP");
}

/* ---- not ours -------------------------------------------------------------------------------- */

static bool vip_bit_set(struct fx *fx, const char *addr)
{
	static struct tn_vip_bits b;
	uint8_t a[16] = { 0 };
	__u32 zero = 0, bit;

	tp_addr16(addr, a);
	bit = tn_vip_bit(a, (uint8_t)tp_family_of(addr));
	assert_int_equal(bpf_map_lookup_elem(tn_dp_map_fd(fx->dp, "vip_bits"), &zero, &b), 0);
	return (b.w[bit >> 6] >> (bit & 63)) & 1;
}

/* The VIP port entries now in the map (without the address entries). */
static size_t port_vips(struct fx *fx, struct tn_vip_key *keys, struct tn_vip *vals)
{
	struct tn_vip_key *k;
	struct tn_vip *v;
	size_t n, m = 0;

	assert_int_equal(tn_dp_vips_dump(fx->dp, &k, &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (k[i].kind == TN_VIP_KIND_PORT) {
			keys[m] = k[i];
			vals[m++] = v[i];
		}
	free(k);
	free(v);
	return m;
}

static size_t dir_check(struct fx *fx);

/* A packet to an address that is no VIP is passed on one read of the VIP
 * address bitmap; one whose bit a VIP shares is passed by the VIP map; the
 * bitmap follows VIPs added and removed. */
static void test_vip_bitmap_follows_vips(void **state)
{
	static struct tn_vip_key keys[TN_MAX_VIPS + 1];
	static struct tn_vip vals[TN_MAX_VIPS + 1];
	struct fx *fx = *state;
	const char *vips[] = { VIP4, VIP6, VIP4_ANY, VIP4_RMT };
	uint8_t v4[16] = { 0 }, a[16] = { 0 };
	char twin[INET_ADDRSTRLEN];
	struct tp_frame f;
	struct tp_spec s;
	size_t n;
	uint32_t i;

	for (i = 0; i < 4; i++)
		assert_true(vip_bit_set(fx, vips[i]));
	/* an address of another network with VIP4's bit */
	tp_addr16(VIP4, v4);
	for (i = 0; i < (1u << 24); i++) {
		tp_put32(a, 0x0a000000u | i);
		if (tn_vip_bit(a, TN_FAMILY_V4) == tn_vip_bit(v4, TN_FAMILY_V4))
			break;
	}
	assert_true(i < (1u << 24));
	inet_ntop(AF_INET, a, twin, sizeof(twin));
	s = tcp4(CLIENT4, twin, 1000, 80);
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "an address sharing a VIP's bit");

	n = port_vips(fx, keys, vals);
	keys[n] = tp_vip_key("192.0.2.99", 80, IPPROTO_TCP);
	for (i = 0; i < n; i++) {
		struct tn_vip_key web = tp_vip_key(VIP4, 80, IPPROTO_TCP);

		if (!memcmp(&keys[i], &web, sizeof(web)))
			vals[n] = vals[i]; /* the web farm, as VIP4:80 */
	}
	assert_false(vip_bit_set(fx, "192.0.2.99"));
	assert_int_equal(tn_dp_vips_replace(fx->dp, keys, vals, n + 1), 0);
	assert_true(vip_bit_set(fx, "192.0.2.99"));
	s = tcp4(CLIENT4, "192.0.2.99", 1000, 80);
	tp_build(&f, &s);
	assert_int_equal(tp_run(fx->prog, 1, f.data, f.len, NULL, NULL), XDP_TX);
	assert_int_equal(tn_dp_vips_replace(fx->dp, keys, vals, n), 0);
	assert_false(vip_bit_set(fx, "192.0.2.99"));
	for (i = 0; i < 4; i++)
		assert_true(vip_bit_set(fx, vips[i]));
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "a VIP removed");
	dir_check(fx);
}

/* The VIP directory the data plane reads (headers/tenace.h): every entry of
 * the VIP map is in its slot, key and value, or its slot says shared; no slot
 * holds a key the VIP map has not. Returns the shared slots. */
static size_t dir_check(struct fx *fx)
{
	static struct tn_vip_dir d;
	struct tn_vip_key *keys;
	struct tn_vip *vals;
	uint32_t zero = 0, id;
	size_t n, shared = 0, used = 0;
	int fd;

	assert_int_equal(bpf_map_lookup_elem(tn_dp_map_fd(fx->dp, "vip_directory"), &zero, &id), 0);
	fd = bpf_map_get_fd_by_id(id);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &d), 0);
	close(fd);
	assert_int_equal(tn_dp_vips_dump(fx->dp, &keys, &vals, &n), 0);
	for (size_t i = 0; i < n; i++) {
		const struct tn_vip_slot *sl = &d.s[tn_vip_slot(&keys[i])];

		if (sl->state == TN_VIP_SLOT_SHARED)
			continue;
		if (sl->state != TN_VIP_SLOT_USED || memcmp(&sl->key, &keys[i], sizeof(keys[i])) ||
		    memcmp(&sl->vip, &vals[i], sizeof(vals[i])))
			fail_msg("VIP entry %zu of %zu (port %u, farm slot %u) is not in its directory slot %u "
				 "(state %u)", i, n, ntohs(keys[i].port), vals[i].farm_slot, tn_vip_slot(&keys[i]),
				 sl->state);
	}
	for (uint32_t j = 0; j < TN_VIP_DIR_SIZE; j++) {
		shared += d.s[j].state == TN_VIP_SLOT_SHARED;
		used += d.s[j].state == TN_VIP_SLOT_USED;
	}
	assert_true(used + 2 * shared <= n);
	free(keys);
	free(vals);
	return shared;
}

/* Two VIP keys of one directory slot: the slot sends both to the VIP map,
 * each reaches its own farm, and the slot is a plain one again when one goes. */
static void test_vip_directory_shared_slot(void **state)
{
	static struct tn_vip_key keys[TN_MAX_VIPS + 1];
	static struct tn_vip vals[TN_MAX_VIPS + 1];
	struct fx *fx = *state;
	struct tn_vip_key web = tp_vip_key(VIP4, 80, IPPROTO_TCP), twin;
	struct tn_vip down = { 0 };
	struct tp_frame f;
	struct tp_spec s;
	size_t n, i;
	uint32_t port;

	assert_int_equal(dir_check(fx), 0);
	for (port = 1; port < 65536; port++) {
		twin = tp_vip_key(VIP4, (uint16_t)port, IPPROTO_TCP);
		if (port != 80 && tn_vip_slot(&twin) == tn_vip_slot(&web))
			break;
	}
	assert_true(port < 65536);
	n = port_vips(fx, keys, vals);
	for (i = 0; i < n; i++) {
		struct tn_vip_key dk = tp_vip_key(VIP4_DOWN, 80, IPPROTO_TCP);

		if (!memcmp(&keys[i], &dk, sizeof(dk)))
			down = vals[i];
	}
	assert_int_equal(down.farm_slot, F_DOWN);
	keys[n] = twin;
	vals[n] = down;
	assert_int_equal(tn_dp_vips_replace(fx->dp, keys, vals, n + 1), 0);
	assert_true(dir_check(fx) >= 1);
	s = tcp4("198.51.100.61", VIP4, 1000, (uint16_t)port);
	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_NO_SERVER), "the VIP sharing VIP4:80's directory slot");
	s = tcp4("198.51.100.61", VIP4, 1000, 80);
	tp_build(&f, &s);
	expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s), R(TN_R_CT_NEW, TN_R_TX),
		       "VIP4:80, its directory slot shared");
	assert_int_equal(tn_dp_vips_replace(fx->dp, keys, vals, n), 0);
	assert_int_equal(dir_check(fx), 0);
	s = tcp4("198.51.100.61", VIP4, 1000, (uint16_t)port);
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "the VIP of the shared slot, removed");
	s = tcp4("198.51.100.62", VIP4, 1000, 80);
	tp_build(&f, &s);
	expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s), R(TN_R_CT_NEW, TN_R_TX),
		       "VIP4:80 alone in its slot again");
}

static void test_not_vip_passes(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	struct tp_spec s;

	tp_build_arp(&f, CLIENT4, VIP4);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_IP, "ARP who-has VIP");

	s = tcp4(CLIENT4, VIP4, 1000, 80);
	tp_build(&f, &s);
	tp_put16(f.data + f.ethertype_off, 0x88cc); /* LLDP */
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_IP, "LLDP");

	s = tcp4(CLIENT4, "192.0.2.11", 1000, 80);
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "IPv4 TCP to another address");
	s = tcp4(CLIENT4, VIP4, 1000, 81);
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "IPv4 TCP to another port of a VIP");
	s = udp(CLIENT4, VIP4, 1000, 80);
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "IPv4 UDP to a TCP-only VIP port");
	s = udp(CLIENT4, VIP4_ANY, 1000, 80);
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "UDP to a TCP port-0 VIP");
	s = (struct tp_spec){ .src = CLIENT4, .dst = VIP4, .proto = 132 /* SCTP */, .payload = 40 };
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "SCTP to a VIP");
	s = (struct tp_spec){ .src = CLIENT4, .dst = VIP4, .proto = 47 /* GRE */, .payload = 40 };
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "GRE to a VIP");
	s = tcp4(CLIENT6, "2001:db8::11", 1000, 80);
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "IPv6 TCP to another address");
	s = udp(CLIENT6, VIP6, 1000, 54);
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "IPv6 UDP to another port");
	/* an IPv4-mapped form of the VIP is not the VIP */
	s = tcp4(CLIENT6, "::ffff:192.0.2.10", 1000, 80);
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "IPv6 to ::ffff:VIP4");
	/* a frame addressed to the VIP from a VIP (server's own reply) is not a client */
	s = tcp4(VIP4, "198.51.100.7", 80, 1000);
	tp_build(&f, &s);
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "reply from a VIP");
}

static void test_port_zero_vip(void **state)
{
	struct fx *fx = *state;
	static const uint16_t ports[] = { 1, 22, 80, 443, 8080, 65535 };
	struct tp_frame f;

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		struct tp_spec s = tcp4("198.51.100.51", VIP4_ANY, 50000, ports[i]);

		tp_build(&f, &s);
		expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s),
			       i == 0 ? R(TN_R_CT_NEW, TN_R_TX) : R(TN_R_CT_HIT, TN_R_TX), "TCP to a port-0 VIP");
	}
}

/* ---- filters, disabled, no server ----------------------------------------------------------------- */

static void test_filters(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	struct tp_spec s;

	/* deny list */
	s = tcp4("198.51.100.9", VIP4_DENY, 1000, 80);
	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_FILTERED), "denied source");
	s = tcp4("203.0.113.9", VIP4_DENY, 1000, 80);
	tp_build(&f, &s);
	expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s), R(TN_R_CT_NEW, TN_R_TX), "source not denied");

	/* allow list: only the listed pass */
	s = tcp4("203.0.113.10", VIP4_ALLW, 1000, 80);
	tp_build(&f, &s);
	expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s), R(TN_R_CT_NEW, TN_R_TX), "allowed source");
	s = tcp4("198.51.100.10", VIP4_ALLW, 1000, 80);
	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_FILTERED), "source not allowed");
	s = tcp4("203.0.114.10", VIP4_ALLW, 1000, 80);
	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_FILTERED), "source next to the allowed prefix");

	/* both: allowed and not denied */
	s = tcp4("203.0.113.11", VIP4_BOTH, 1000, 80);
	tp_build(&f, &s);
	expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s), R(TN_R_CT_NEW, TN_R_TX), "allowed, not denied");
	s = tcp4("203.0.113.200", VIP4_BOTH, 1000, 80);
	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_FILTERED), "allowed but denied");
	s = tcp4("198.51.100.11", VIP4_BOTH, 1000, 80);
	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_FILTERED), "not allowed");

	/* IPv6 deny list */
	s = tcp4("2001:db8:bad::1", VIP6_DENY, 1000, 80);
	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_FILTERED), "denied IPv6 source");
	s = tcp4("2001:db8:bae::1", VIP6_DENY, 1000, 80);
	tp_build(&f, &s);
	expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s), R(TN_R_CT_NEW, TN_R_TX), "IPv6 source not denied");

	/* a filter belongs to its VIP only: the denied client reaches other VIPs */
	s = tcp4("198.51.100.9", VIP4, 1000, 80);
	tp_build(&f, &s);
	expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s), R(TN_R_CT_NEW, TN_R_TX), "denied client, other VIP");
	s = tcp4("198.51.100.12", VIP4_ANY, 1000, 80);
	tp_build(&f, &s);
	expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s), R(TN_R_CT_NEW, TN_R_TX), "unfiltered VIP");
}

static void test_disabled_and_no_server(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	struct tp_spec s;

	s = tcp4(CLIENT4, VIP4_OFF, 1000, 80);
	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_DISABLED), "disabled frontend");
	s = tcp4(CLIENT4, VIP4_DOWN, 1000, 80);
	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_NO_SERVER), "farm with no server up");
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_NO_SERVER), "farm with no server up, again");
	s = tcp4(CLIENT4, VIP4_NOFM, 1000, 80);
	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_NO_FARM), "VIP pointing to an empty farm slot");
}

static void test_redirect(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;

	if (!fx->other_ifindex)
		skip();
	for (int i = 0; i < 20; i++) {
		char client[32];

		snprintf(client, sizeof(client), "198.51.102.%d", i + 1);
		struct tp_spec s = tcp4(client, VIP4_RMT, 1000, 80);
		const struct tn_server *srv = predict(fx, F_REMOTE, &s);

		assert_int_equal(srv->ifindex, fx->other_ifindex);
		tp_build(&f, &s);
		expect_forward(fx, &f, XDP_REDIRECT, srv, R(TN_R_CT_NEW, TN_R_REDIRECT), "server behind another interface");
		expect_forward(fx, &f, XDP_REDIRECT, srv, R(TN_R_CT_HIT, TN_R_REDIRECT), "server behind another interface");
	}
}

static void test_no_route(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	struct tp_spec s = tcp4(CLIENT4, VIP4_NOIF, 1000, 80);

	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_CT_NEW, TN_R_DROP_NO_ROUTE), "server without an interface");
}

static void test_redirect_target_missing(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	struct tp_spec s = tcp4(CLIENT4, VIP4_NODV, 1000, 80);

	/* bpf_redirect_map misses (interface not in tx_ports): the frame is dropped,
	 * so it must be counted as a drop, not as a redirect */
	tp_build(&f, &s);
	expect_drop(fx, f.data, f.len, R(TN_R_CT_NEW, TN_R_DROP_NO_ROUTE), "server behind an interface not in the devmap");
}

/* ---- malformed -------------------------------------------------------------------------------------- */

static void test_bad_ihl(void **state)
{
	struct fx *fx = *state;
	struct tp_spec s = tcp4(CLIENT4, VIP4, 1000, 80);
	struct tp_frame f;
	char what[64];

	for (int ihl = 0; ihl < 5; ihl++) {
		tp_build(&f, &s);
		f.data[f.l3] = (uint8_t)(0x40 | ihl);
		snprintf(what, sizeof(what), "IPv4 ihl %d to a VIP", ihl);
		expect_drop(fx, f.data, f.len, R(TN_R_DROP_MALFORMED), what);
	}
	/* ihl pointing past the end of the frame */
	s.payload = 0;
	tp_build(&f, &s);
	f.data[f.l3] = 0x4f;
	f.len = f.l3 + 40;
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_MALFORMED), "IPv4 ihl 15 in a 40-byte packet");
	/* version 6 in an IPv4 EtherType */
	tp_build(&f, &s);
	f.data[f.l3] = 0x65;
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_MALFORMED), "version 6 behind EtherType IPv4");
	/* and to another address: passed untouched */
	s.dst = "192.0.2.99";
	tp_build(&f, &s);
	f.data[f.l3] = 0x43;
	expect_pass_frame(fx, &f, TN_R_PASS_NOT_VIP, "IPv4 ihl 3 to another address");
}

static void test_bad_doff(void **state)
{
	struct fx *fx = *state;
	struct tp_frame f;
	char what[64];

	for (int fam = 4; fam <= 6; fam += 2) {
		struct tp_spec s = tcp4(fam == 4 ? CLIENT4 : CLIENT6, fam == 4 ? VIP4 : VIP6, 1000, 80);

		s.payload = 20;
		for (int doff = 0; doff < 5; doff++) {
			tp_build(&f, &s);
			f.data[f.l4 + 12] = (uint8_t)(doff << 4);
			snprintf(what, sizeof(what), "IPv%d TCP doff %d", fam, doff);
			expect_drop(fx, f.data, f.len, R(TN_R_DROP_MALFORMED), what);
		}
		/* doff larger than what follows (20 + 20 bytes < 60) */
		tp_build(&f, &s);
		f.data[f.l4 + 12] = 15 << 4;
		snprintf(what, sizeof(what), "IPv%d TCP doff 15 past the end", fam);
		expect_drop(fx, f.data, f.len, R(TN_R_DROP_MALFORMED), what);
		/* doff exactly to the end: fine */
		tp_build(&f, &s);
		f.data[f.l4 + 12] = 10 << 4;
		snprintf(what, sizeof(what), "IPv%d TCP doff 10 to the end", fam);
		expect_forward(fx, &f, XDP_TX, predict(fx, F_WEB, &s), R(TN_R_CT_NEW, TN_R_TX), what);
	}
}

static void test_bad_lengths(void **state)
{
	struct fx *fx = *state;
	struct tp_spec s = tcp4(CLIENT4, VIP4, 1000, 80);
	struct tp_frame f;

	tp_build(&f, &s);
	tp_put16(f.data + f.l3 + 2, (uint16_t)(f.len - f.l3 + 1));
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_MALFORMED), "IPv4 tot_len one past the frame");
	tp_put16(f.data + f.l3 + 2, 0xffff);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_MALFORMED), "IPv4 tot_len 65535");
	tp_put16(f.data + f.l3 + 2, 19);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_MALFORMED), "IPv4 tot_len below the header length");

	s = udp(CLIENT4, VIP4, 1000, 53);
	tp_build(&f, &s);
	tp_put16(f.data + f.l4 + 4, 7);
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_MALFORMED), "UDP length 7");

	s = tcp4(CLIENT6, VIP6, 1000, 80);
	tp_build(&f, &s);
	tp_put16(f.data + f.l3 + 4, (uint16_t)(f.len - f.l3 - 40 + 1));
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_MALFORMED), "IPv6 payload_len one past the frame");

	s = tcp4(CLIENT6, VIP6, 1000, 80);
	tp_build(&f, &s);
	f.data[f.l3] = 0x45;
	expect_drop(fx, f.data, f.len, R(TN_R_DROP_MALFORMED), "version 4 behind EtherType IPv6");
}

/* ---- every truncation length --------------------------------------------------------------------------- */

/*
 * For every length L below the full frame: shorter than Ethernet -> the kernel
 * refuses the run (and the host parser says not IP); within the VLAN tags ->
 * pass, not IP; before the IP destination -> pass, truncated; after it (the
 * address is a VIP) -> drop, malformed.
 */
static void check_truncations(struct fx *fx, const struct tp_frame *f, const char *what)
{
	uint32_t ip_min = f->family == 6 ? 40 : 20;
	char label[128];

	for (uint32_t len = 0; len < f->len; len++) {
		/* the frame ends exactly where the allocation ends (ASan sees any
		 * read past it); it starts 2 bytes in, so the IP header is 4-byte
		 * aligned as the uapi structs want (UBSan checks alignment) */
		uint8_t *copy;
		struct tn_pkt p;
		int r;

		free(fx->host_buf);
		fx->host_buf = malloc(len + 2);
		assert_non_null(fx->host_buf);
		copy = fx->host_buf + 2;
		memcpy(copy, f->data, len);
		memset(&p, 0, sizeof(p));
		r = tn_parse(copy, copy + len, &p); /* ASan: never reads past len */
		snprintf(label, sizeof(label), "%s cut to %u bytes", what, len);
		if (len < ETH_HLEN) {
			assert_int_equal(r, TN_PARSE_NOT_IP);
			assert_true(tp_run(fx->prog, INGRESS, copy, len, NULL, NULL) < 0);
		} else if (len < f->l3) {
			assert_int_equal(r, TN_PARSE_NOT_IP);
			expect_pass(fx, copy, len, TN_R_PASS_NOT_IP, label);
		} else if (len < f->l3 + ip_min) {
			assert_int_equal(r, TN_PARSE_TRUNCATED);
			expect_pass(fx, copy, len, TN_R_PASS_TRUNCATED, label);
		} else {
			assert_int_equal(r, TN_PARSE_MALFORMED);
			expect_drop(fx, copy, len, R(TN_R_DROP_MALFORMED), label);
		}
	}
}

#define TRUNC_TEST(name, ...)                                           \
	static void test_truncation_##name(void **state)                \
	{                                                               \
		struct tp_spec s = __VA_ARGS__;                         \
		struct tp_frame f;                                      \
		tp_build(&f, &s);                                       \
		check_truncations(*state, &f, #name);                   \
	}

TRUNC_TEST(ipv4_tcp, { .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 1, .dport = 80, .payload = 4 })
TRUNC_TEST(ipv4_udp, { .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP, .sport = 1, .dport = 53, .payload = 4 })
TRUNC_TEST(ipv4_options_tcp, { .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 1, .dport = 80,
			       .ipv4_opt_words = 10 })
TRUNC_TEST(ipv4_first_fragment, { .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 1, .dport = 80,
				  .more_frags = true, .payload = 8 })
TRUNC_TEST(ipv4_later_fragment, { .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP, .frag_offset = 10,
				  .payload = 16 })
TRUNC_TEST(vlan_ipv4_tcp, { .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 1, .dport = 80, .nvlan = 1 })
TRUNC_TEST(ipv6_tcp, { .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_TCP, .sport = 1, .dport = 80, .payload = 4 })
TRUNC_TEST(ipv6_udp, { .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP, .sport = 1, .dport = 53, .payload = 4 })
TRUNC_TEST(ipv6_ext_headers_tcp, { .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_TCP, .sport = 1, .dport = 80,
				   .next = 3, .ext = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS },
				   .ext_len = { 1, 0, 0 } })
TRUNC_TEST(ipv6_fragment_udp, { .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP, .sport = 1, .dport = 53,
				.more_frags = true, .payload = 8 })
TRUNC_TEST(qinq_ipv6_udp, { .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP, .sport = 1, .dport = 53, .nvlan = 2,
			    .vlan_tpid = { 0x88a8, 0x8100 } })

/* An ICMP error is recognised only whole: cut short it cannot name a VIP
 * flow, and ICMP to a VIP address is not balanced, so it is passed. */
static void test_truncation_icmp_error(void **state)
{
	struct fx *fx = *state;
	struct tp_spec reply = tcp4(VIP4, CLIENT4, 80, 1000);
	struct tp_spec err = { .src = ROUTER4, .dst = VIP4, .proto = IPPROTO_ICMP, .icmp_type = 3, .icmp_code = 4,
			       .quote = &reply, .quote_len = 28 };
	struct tp_frame f;
	char label[64];

	tp_build(&f, &err);
	for (uint32_t len = ETH_HLEN; len < f.len; len++) {
		snprintf(label, sizeof(label), "ICMP error cut to %u bytes", len);
		expect_pass(fx, f.data, len, len < f.l3 + 20u ? TN_R_PASS_TRUNCATED : TN_R_PASS_NOT_VIP, label);
	}
}

/*
 * The verifier walks every path of the program up to a million instructions
 * (BPF_COMPLEXITY_LIMIT_INSNS) and refuses it past that. The program as the
 * controller loads it must keep a tenth of that as headroom, so that a
 * change that multiplies its paths fails here, with the figure, and not
 * at an operator's load on a kernel whose verifier walks a little more.
 */
#define VERIFIER_LIMIT   1000000u
#define VERIFIER_BUDGET  900000u

static void test_verifier_headroom(void **state)
{
	struct fx *fx = *state;
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fx->prog, &info, &len), 0);
	print_message("tenace_xdp: %u instructions verified (limit %u, budget %u), %u JITed bytes\n",
		      info.verified_insns, VERIFIER_LIMIT, VERIFIER_BUDGET, info.jited_prog_len);
	assert_true(info.verified_insns > 0);
	assert_true(info.verified_insns <= VERIFIER_BUDGET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup(test_##name, clear_conntrack)
		T(ipv4_tcp),
		T(tcp_tracked_past_its_syn),
		T(ipv4_udp),
		T(ipv4_options),
		T(ipv4_ethernet_padding),
		T(ipv6_tcp_udp),
		T(ipv6_extension_headers),
		T(ipv6_too_many_extension_headers),
		T(vlan),
		T(ipv4_fragments),
		T(ipv6_fragments),
		T(fragments_stickiness_none),
		T(icmp_frag_needed),
		T(icmpv6_packet_too_big),
		T(icmp_echo_passes),
		T(not_vip_passes),
		T(vip_bitmap_follows_vips),
		T(vip_directory_shared_slot),
		T(port_zero_vip),
		T(filters),
		T(disabled_and_no_server),
		T(redirect),
		T(no_route),
		T(redirect_target_missing),
		T(bad_ihl),
		T(bad_doff),
		T(bad_lengths),
		T(truncation_ipv4_tcp),
		T(truncation_ipv4_udp),
		T(truncation_ipv4_options_tcp),
		T(truncation_ipv4_first_fragment),
		T(truncation_ipv4_later_fragment),
		T(truncation_vlan_ipv4_tcp),
		T(truncation_ipv6_tcp),
		T(truncation_ipv6_udp),
		T(truncation_ipv6_ext_headers_tcp),
		T(truncation_ipv6_fragment_udp),
		T(truncation_qinq_ipv6_udp),
		T(truncation_icmp_error),
		T(verifier_headroom),
#undef T
	};

	return cmocka_run_group_tests_name("dataplane fixtures", tests, setup, teardown);
}
