/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The servers' decap programs (bpf/decap.bpf.c) through BPF_PROG_TEST_RUN:
 * tunnel frames in (IPIP, IPv6 in IPv6, both families crossed, GUE v0 with
 * and without extension words, GUE v1, over IPv4 and IPv6), the exact frame
 * out (the client's packet behind the same Ethernet header), the verdict and
 * exactly one reason counter; every truncation; the SYN-ACK MSS clamp with its
 * checksum.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pkt_cls.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include "decap/decap.h"
#include "tunnel.h"

#define VIP4    "192.0.2.10"
#define VIP6    "2001:db8::10"
#define OTHER4  "192.0.2.99"     /* no VIP here */
#define CLIENT4 "198.51.100.7"
#define CLIENT6 "2001:db8:c::7"
#define LB4     "10.0.0.2"       /* the balancer's encapSource */
#define LB6     "fd00::2"
#define SRV4    "10.1.0.11"      /* this server */
#define SRV6    "fd01::11"

struct fx {
	struct tn_decap *d;
	int in, eg;                  /* program fds */
	int ncpus;
};

static struct tn_decap_config config(uint16_t port, bool clamp)
{
	struct tn_decap_config c = { .ifindex = 1, .gue_port = port, .mss_clamp = clamp };

	snprintf(c.ifname, sizeof(c.ifname), "lo");
	return c;
}

static void configure(struct fx *fx, uint16_t port, bool clamp)
{
	struct tn_addr v[2];
	struct tn_decap_config c = config(port, clamp);

	assert_int_equal(tn_addr_parse(VIP4, &v[0]), 0);
	assert_int_equal(tn_addr_parse(VIP6, &v[1]), 0);
	assert_int_equal(tn_decap_configure(fx->d, &c, v, 2), 0);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_int_equal(tn_decap_open(&fx->d, ""), 0);
	fx->in = tn_decap_prog_fd(fx->d, false);
	fx->eg = tn_decap_prog_fd(fx->d, true);
	fx->ncpus = libbpf_num_possible_cpus();
	configure(fx, TN_GUE_PORT_DEFAULT, true);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tn_decap_close(fx->d);
	free(fx);
	return 0;
}

/* Each test starts with default settings and no remembered SYN. */
static int reset(void **state)
{
	struct fx *fx = *state;
	int fd = tn_decap_map_fd(fx->d, "flows");
	struct tn_decap_flow_key k;

	configure(fx, TN_GUE_PORT_DEFAULT, true);
	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		assert_int_equal(bpf_map_delete_elem(fd, &k), 0);
	return 0;
}

/* ---- running and counting ------------------------------------------------------------ */

static int tc_run(int prog, const void *in, uint32_t len, uint8_t *out, uint32_t *out_len)
{
	uint8_t scratch[TP_FRAME_MAX + 512];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len,
		    .data_out = out ? out : scratch, .data_size_out = out ? TP_FRAME_MAX : sizeof(scratch),
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(prog, &o);

	if (err)
		return err < 0 ? err : -err;
	if (out_len)
		*out_len = o.data_size_out;
	return (int)o.retval;
}

static void reasons(struct fx *fx, struct tn_counter out[TN_D__COUNT])
{
	struct tn_decap_stats per[fx->ncpus];
	__u32 zero = 0;

	memset(out, 0, sizeof(struct tn_counter) * TN_D__COUNT);
	assert_int_equal(bpf_map_lookup_elem(tn_decap_map_fd(fx->d, "stats"), &zero, per), 0);
	for (int c = 0; c < fx->ncpus; c++)
		for (int r = 0; r < TN_D__COUNT; r++) {
			out[r].packets += per[c].reason[r].packets;
			out[r].bytes += per[c].reason[r].bytes;
		}
}

/* Run a frame; check the verdict and that exactly `reason` counted it once
 * (reason -1: no counter moved). */
static int run_expect(struct fx *fx, int prog, const uint8_t *in, uint32_t len, int verdict, int reason,
		      uint8_t *out, uint32_t *out_len)
{
	struct tn_counter a[TN_D__COUNT], b[TN_D__COUNT];
	int v;

	reasons(fx, a);
	v = tc_run(prog, in, len, out, out_len);
	reasons(fx, b);
	if (v != verdict)
		fail_msg("verdict %d, expected %d (len %u)", v, verdict, len);
	for (int r = 0; r < TN_D__COUNT; r++) {
		uint64_t d = b[r].packets - a[r].packets;

		if (d != (r == reason ? 1u : 0u))
			fail_msg("counter %s moved by %llu (expected %s, len %u)", tn_decap_reason_name(r),
				 (unsigned long long)d, reason >= 0 ? tn_decap_reason_name(reason) : "none", len);
	}
	return v;
}

static void vip_stats(struct fx *fx, const char *vip, struct tn_decap_vip_stats *sum)
{
	struct tn_decap_vip_stats per[fx->ncpus];
	struct tn_decap_vip_key k = {0};
	struct tn_addr a;

	assert_int_equal(tn_addr_parse(vip, &a), 0);
	memcpy(k.addr, a.bytes, 16);
	k.family = a.family;
	memset(sum, 0, sizeof(*sum));
	assert_int_equal(bpf_map_lookup_elem(tn_decap_map_fd(fx->d, "vips"), &k, per), 0);
	for (int c = 0; c < fx->ncpus; c++) {
		sum->packets += per[c].packets;
		sum->bytes += per[c].bytes;
		sum->clamped += per[c].clamped;
	}
}

/* ---- frames ----------------------------------------------------------------------------- */

static const struct tp_spec syn4 = { .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 40000,
				     .dport = 80, .tcp_flags = 0x02, .payload = 0 };
static const struct tp_spec syn6 = { .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_TCP, .sport = 40000,
				     .dport = 80, .tcp_flags = 0x02 };
static const struct tp_spec data4 = { .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 40000,
				      .dport = 80, .payload = 100 };
static const struct tp_spec udp6 = { .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP, .sport = 5353,
				     .dport = 53, .payload = 33 };

struct case_ {
	const char *name;
	struct tt_spec t;
	const struct tp_spec *inner;
	int reason;
};

static const struct case_ good[] = {
	{ "IPv4 in IPv4", { .kind = TT_IPIP, .src = LB4, .dst = SRV4 }, &syn4, TN_D_DECAP_IPIP4 },
	{ "IPv6 in IPv6", { .kind = TT_IPIP, .src = LB6, .dst = SRV6, .flow_label = 0x12345 }, &syn6, TN_D_DECAP_IPIP6 },
	{ "IPv6 in IPv4", { .kind = TT_IPIP, .src = LB4, .dst = SRV4 }, &udp6, TN_D_DECAP_IPIP4 },
	{ "IPv4 in IPv6", { .kind = TT_IPIP, .src = LB6, .dst = SRV6 }, &data4, TN_D_DECAP_IPIP6 },
	{ "GUE v0 over IPv4", { .kind = TT_GUE0, .src = LB4, .dst = SRV4, .sport = 51234 }, &syn4, TN_D_DECAP_GUE0 },
	{ "GUE v0 + 2 extension words over IPv4", { .kind = TT_GUE0, .src = LB4, .dst = SRV4, .sport = 51234,
						    .gue_hlen = 2 }, &data4, TN_D_DECAP_GUE0 },
	{ "GUE v0 over IPv6 (UDP checksum 0)", { .kind = TT_GUE0, .src = LB6, .dst = SRV6, .sport = 40001 }, &syn6,
	  TN_D_DECAP_GUE0 },
	{ "GUE v1 over IPv4", { .kind = TT_GUE1, .src = LB4, .dst = SRV4, .sport = 33333 }, &data4, TN_D_DECAP_GUE1 },
	{ "GUE v1 over IPv6 (UDP checksum 0)", { .kind = TT_GUE1, .src = LB6, .dst = SRV6, .sport = 33333 }, &udp6,
	  TN_D_DECAP_GUE1 },
	{ "GUE v0: IPv6 over IPv4", { .kind = TT_GUE0, .src = LB4, .dst = SRV4, .sport = 1 }, &udp6, TN_D_DECAP_GUE0 },
};

/* Frame of a case into buf: its length; the inner packet's in *ilen. */
static size_t case_frame(const struct case_ *c, uint8_t *buf, uint8_t *inner, size_t *ilen)
{
	*ilen = tt_inner(inner, TP_FRAME_MAX, c->inner);
	return tt_encap(buf, TP_FRAME_MAX, &c->t, inner, *ilen);
}

/* ---- decapsulation ------------------------------------------------------------------------ */

static void test_decap_exact_bytes(void **state)
{
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint8_t in[TP_FRAME_MAX], inner[TP_FRAME_MAX], out[TP_FRAME_MAX], want[TP_FRAME_MAX];
		struct tn_decap_vip_stats a, b;
		const char *vip = tp_family_of(good[i].inner->dst) == 6 ? VIP6 : VIP4;
		size_t ilen, len = case_frame(&good[i], in, inner, &ilen);
		uint32_t olen = 0;

		vip_stats(fx, vip, &a);
		run_expect(fx, fx->in, in, (uint32_t)len, TC_ACT_OK, good[i].reason, out, &olen);
		vip_stats(fx, vip, &b);
		/* the same MACs, the inner family's EtherType, then the client's packet unchanged */
		memcpy(want, in, 12);
		tp_put16(want + 12, (inner[0] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IP);
		memcpy(want + 14, inner, ilen);
		if (olen != 14 + ilen || memcmp(out, want, olen))
			fail_msg("%s: output is not the inner packet (%u bytes, expected %zu)", good[i].name, olen,
				 14 + ilen);
		assert_int_equal(b.packets - a.packets, 1);
		assert_int_equal(b.bytes - a.bytes, ilen);
		print_message("# %s: %zu bytes in, %u out, %s\n", good[i].name, len, olen,
			      tn_decap_reason_name(good[i].reason));
	}
}

static bool flow_overhead(struct fx *fx, const struct tp_spec *s, uint16_t *overhead)
{
	struct tn_decap_flow_key k = {0};
	struct tn_decap_flow v;

	tp_addr16(s->src, k.client);
	tp_addr16(s->dst, k.vip);
	k.client_port = htons(s->sport);
	k.vip_port = htons(s->dport);
	k.family = tp_family_of(s->dst) == 6 ? TN_FAMILY_V6 : TN_FAMILY_V4;
	if (bpf_map_lookup_elem(tn_decap_map_fd(fx->d, "flows"), &k, &v))
		return false;
	*overhead = v.overhead;
	return true;
}

static void test_syn_remembered_with_overhead(void **state)
{
	struct fx *fx = *state;
	static const struct { struct tt_spec t; const struct tp_spec *inner; uint16_t overhead; } c[] = {
		{ { .kind = TT_IPIP, .src = LB4, .dst = SRV4 }, &syn4, 20 },
		{ { .kind = TT_GUE0, .src = LB4, .dst = SRV4 }, &syn4, 32 },
		{ { .kind = TT_GUE1, .src = LB4, .dst = SRV4 }, &syn4, 28 },
		{ { .kind = TT_GUE0, .src = LB4, .dst = SRV4, .gue_hlen = 3 }, &syn4, 44 },
		{ { .kind = TT_IPIP, .src = LB6, .dst = SRV6 }, &syn6, 40 },
		{ { .kind = TT_GUE0, .src = LB6, .dst = SRV6 }, &syn6, 52 },
		{ { .kind = TT_GUE1, .src = LB6, .dst = SRV6 }, &syn6, 48 },
	};
	uint8_t in[TP_FRAME_MAX], inner[TP_FRAME_MAX];
	uint16_t o;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t ilen = tt_inner(inner, sizeof(inner), c[i].inner);
		size_t len = tt_encap(in, sizeof(in), &c[i].t, inner, ilen);

		reset(state);
		assert_int_equal(tc_run(fx->in, in, (uint32_t)len, NULL, NULL), TC_ACT_OK);
		assert_true(flow_overhead(fx, c[i].inner, &o));
		assert_int_equal(o, c[i].overhead);
	}
	/* not a SYN, or the clamp off: nothing remembered */
	reset(state);
	{
		struct tt_spec t = { .kind = TT_IPIP, .src = LB4, .dst = SRV4 };
		size_t ilen = tt_inner(inner, sizeof(inner), &data4);
		size_t len = tt_encap(in, sizeof(in), &t, inner, ilen);

		assert_int_equal(tc_run(fx->in, in, (uint32_t)len, NULL, NULL), TC_ACT_OK);
		assert_false(flow_overhead(fx, &data4, &o));
		configure(fx, TN_GUE_PORT_DEFAULT, false);
		ilen = tt_inner(inner, sizeof(inner), &syn4);
		len = tt_encap(in, sizeof(in), &t, inner, ilen);
		assert_int_equal(tc_run(fx->in, in, (uint32_t)len, NULL, NULL), TC_ACT_OK);
		assert_false(flow_overhead(fx, &syn4, &o));
	}
}

/* Frames that are not for us, or not strippable, leave untouched. */
static void expect_untouched(struct fx *fx, const char *name, const uint8_t *in, size_t len, int reason)
{
	uint8_t out[TP_FRAME_MAX];
	uint32_t olen = 0;

	run_expect(fx, fx->in, in, (uint32_t)len, TC_ACT_OK, reason, out, &olen);
	if (olen != len || memcmp(out, in, len))
		fail_msg("%s: the frame was changed", name);
	print_message("# %s: untouched, %s\n", name, tn_decap_reason_name(reason));
}

static void expect_dropped(struct fx *fx, const char *name, const uint8_t *in, size_t len, int reason)
{
	run_expect(fx, fx->in, in, (uint32_t)len, TC_ACT_SHOT, reason, NULL, NULL);
	print_message("# %s: dropped, %s\n", name, tn_decap_reason_name(reason));
}

static void test_not_ours_untouched(void **state)
{
	struct fx *fx = *state;
	uint8_t in[TP_FRAME_MAX], inner[TP_FRAME_MAX];
	struct tp_frame f;
	struct tp_spec other = syn4;
	struct tt_spec t = { .kind = TT_IPIP, .src = LB4, .dst = SRV4 };
	size_t ilen, len;

	other.dst = OTHER4;
	ilen = tt_inner(inner, sizeof(inner), &other);
	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	expect_untouched(fx, "IPIP to an address that is no VIP", in, len, TN_D_PASS_NOT_VIP);
	t.kind = TT_GUE0;
	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	expect_untouched(fx, "GUE to an address that is no VIP", in, len, TN_D_PASS_NOT_VIP);

	tp_build(&f, &data4);
	expect_untouched(fx, "a plain TCP packet to the VIP", f.data, f.len, TN_D_PASS_NOT_TUNNEL);
	tp_build(&f, &(struct tp_spec){ .src = LB4, .dst = SRV4, .proto = IPPROTO_UDP, .sport = 1, .dport = 6081 });
	expect_untouched(fx, "UDP to another port", f.data, f.len, TN_D_PASS_NOT_TUNNEL);
	tp_build(&f, &(struct tp_spec){ .src = LB4, .dst = SRV4, .proto = IPPROTO_ICMP, .icmp_type = 8 });
	expect_untouched(fx, "ICMP echo", f.data, f.len, TN_D_PASS_NOT_TUNNEL);
	tp_build_arp(&f, LB4, SRV4);
	expect_untouched(fx, "ARP", f.data, f.len, TN_D_PASS_NOT_TUNNEL);

	/* the GUE port follows the configuration */
	ilen = tt_inner(inner, sizeof(inner), &syn4);
	t.dport = 7777;
	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	expect_untouched(fx, "GUE to port 7777 while the port is 6080", in, len, TN_D_PASS_NOT_TUNNEL);
	configure(fx, 7777, true);
	run_expect(fx, fx->in, in, (uint32_t)len, TC_ACT_OK, TN_D_DECAP_GUE0, NULL, NULL);
	print_message("# GUE to port 7777 once --gue-port 7777: stripped\n");
}

static void test_unsupported_and_fragments(void **state)
{
	struct fx *fx = *state;
	uint8_t in[TP_FRAME_MAX], inner[TP_FRAME_MAX];
	struct tt_spec t = { .kind = TT_GUE0, .src = LB4, .dst = SRV4 };
	size_t ilen = tt_inner(inner, sizeof(inner), &syn4), len;
	struct tp_frame f;

	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	in[14 + 20 + 8] |= 0x20;
	expect_untouched(fx, "GUE control message (C bit)", in, len, TN_D_PASS_UNSUPPORTED);
	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	in[14 + 20 + 8] |= 0x80;
	expect_untouched(fx, "GUE version 2", in, len, TN_D_PASS_UNSUPPORTED);
	t.gue_proto = IPPROTO_UDP;
	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	expect_untouched(fx, "GUE v0 carrying UDP (not IP)", in, len, TN_D_PASS_UNSUPPORTED);

	/* a VLAN tag left in the frame: attach to the VLAN's interface instead */
	t.gue_proto = 0;
	len = tt_encap(in + 4, sizeof(in) - 4, &t, inner, ilen);
	memmove(in, in + 4, 12);
	tp_put16(in + 12, 0x8100);
	tp_put16(in + 14, 100);
	expect_untouched(fx, "a VLAN-tagged tunnel frame", in, len + 4, TN_D_PASS_UNSUPPORTED);

	/* outer fragments cannot be stripped before reassembly */
	t.kind = TT_IPIP;
	t.no_df = true;
	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	tp_put16(in + 14 + 6, 0x2000);
	tp_put16(in + 14 + 10, 0);
	tp_put16(in + 14 + 10, tp_csum_fold(tp_csum_add(0, in + 14, 20)));
	expect_untouched(fx, "IPIP first fragment (MF)", in, len, TN_D_PASS_FRAGMENT);
	tp_put16(in + 14 + 6, 0x0010);
	tp_put16(in + 14 + 10, 0);
	tp_put16(in + 14 + 10, tp_csum_fold(tp_csum_add(0, in + 14, 20)));
	expect_untouched(fx, "IPIP later fragment", in, len, TN_D_PASS_FRAGMENT);
	t.kind = TT_GUE0;
	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	tp_put16(in + 14 + 6, 0x2000);
	tp_put16(in + 14 + 10, 0);
	tp_put16(in + 14 + 10, tp_csum_fold(tp_csum_add(0, in + 14, 20)));
	expect_untouched(fx, "GUE first fragment", in, len, TN_D_PASS_FRAGMENT);
	tp_build(&f, &(struct tp_spec){ .src = LB4, .dst = SRV4, .proto = IPPROTO_UDP, .frag_offset = 100 });
	expect_untouched(fx, "a later UDP fragment (port unknown)", f.data, f.len, TN_D_PASS_NOT_TUNNEL);
	tp_build(&f, &(struct tp_spec){ .src = LB6, .dst = SRV6, .proto = IPPROTO_UDP, .sport = 1, .dport = 6080,
					.more_frags = true });
	expect_untouched(fx, "IPv6 outer with a fragment header", f.data, f.len, TN_D_PASS_FRAGMENT);

	/* inner fragments are the client's: stripped like any packet */
	{
		struct tp_spec fr = data4;

		fr.more_frags = true;
		t.kind = TT_IPIP;
		t.no_df = false;
		ilen = tt_inner(inner, sizeof(inner), &fr);
		len = tt_encap(in, sizeof(in), &t, inner, ilen);
		run_expect(fx, fx->in, in, (uint32_t)len, TC_ACT_OK, TN_D_DECAP_IPIP4, NULL, NULL);
		fr.more_frags = false;
		fr.frag_offset = 64;
		ilen = tt_inner(inner, sizeof(inner), &fr);
		len = tt_encap(in, sizeof(in), &t, inner, ilen);
		run_expect(fx, fx->in, in, (uint32_t)len, TC_ACT_OK, TN_D_DECAP_IPIP4, NULL, NULL);
		print_message("# the client's fragments (first and later) in IPIP: stripped\n");
	}
}

static void test_malformed_to_vip_dropped(void **state)
{
	struct fx *fx = *state;
	uint8_t in[TP_FRAME_MAX], inner[TP_FRAME_MAX];
	struct tt_spec t = { .kind = TT_IPIP, .src = LB4, .dst = SRV4 };
	size_t ilen = tt_inner(inner, sizeof(inner), &data4), len;
	uint8_t *ip = in + 14, *in_ip;

	/* the inner packet claims more bytes than the tunnel holds */
	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	in_ip = ip + 20;
	tp_put16(in_ip + 2, (uint16_t)(ilen + 1));
	expect_dropped(fx, "inner IPv4 longer than the tunnel", in, len, TN_D_DROP_MALFORMED);
	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	in_ip[0] = 0x44;
	expect_dropped(fx, "inner IPv4 with ihl 4", in, len, TN_D_DROP_MALFORMED);
	/* GUE v0's protocol contradicts the packet's version (bytes placed so
	 * that the wrong reading still names a VIP) */
	{
		size_t l6 = tt_inner(inner, sizeof(inner), &syn6);
		struct tt_spec t6 = { .kind = TT_GUE0, .src = LB6, .dst = SRV6, .gue_proto = IPPROTO_IPIP };
		size_t off = 14 + 40 + 8 + 4;

		len = tt_encap(in, sizeof(in), &t6, inner, l6);
		expect_untouched(fx, "GUE v0 says IPv4, carries IPv6 (no VIP at those bytes)", in, len,
				 TN_D_PASS_NOT_VIP);
		tp_addr16(VIP4, in + off + 16);
		expect_dropped(fx, "GUE v0 says IPv4, carries IPv6 (VIP at those bytes)", in, len,
			       TN_D_DROP_MALFORMED);
		t6.gue_proto = IPPROTO_IPV6;
		ilen = tt_inner(inner, sizeof(inner), &data4);
		len = tt_encap(in, sizeof(in), &t6, inner, ilen);
		tp_addr16(VIP6, in + off + 24);
		expect_dropped(fx, "GUE v0 says IPv6, carries IPv4", in, len, TN_D_DROP_MALFORMED);
	}
	/* IPIP says IPv4 (protocol 4) around an IPv6 packet whose bytes 16..19 read as VIP4 */
	{
		size_t l6 = tt_inner(inner, sizeof(inner), &syn6);

		len = tt_encap(in, sizeof(in), &t, inner, l6);
		ip[9] = IPPROTO_IPIP;
		tp_addr16(VIP4, ip + 20 + 16);
		tp_put16(ip + 10, 0);
		tp_put16(ip + 10, tp_csum_fold(tp_csum_add(0, ip, 20)));
		expect_dropped(fx, "IPIP protocol 4 around an IPv6 packet", in, len, TN_D_DROP_MALFORMED);
	}
	/* GUE: the UDP length beyond the outer packet */
	t.kind = TT_GUE0;
	ilen = tt_inner(inner, sizeof(inner), &data4);
	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	tp_put16(ip + 20 + 4, (uint16_t)(tp_get16(ip + 20 + 4) + 4));
	expect_dropped(fx, "GUE with a UDP length beyond the packet", in, len, TN_D_DROP_MALFORMED);
	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	tp_put16(ip + 20 + 4, 7);
	expect_dropped(fx, "GUE with a UDP length of 7", in, len, TN_D_DROP_MALFORMED);
	/* the outer IPv4 header's checksum is wrong: the stack would drop it */
	t.kind = TT_IPIP;
	len = tt_encap(in, sizeof(in), &t, inner, ilen);
	ip[10] ^= 0x01;
	expect_untouched(fx, "IPIP with a bad outer header checksum", in, len, TN_D_PASS_NOT_TUNNEL);
}

/* Every truncation of every kind: passed untouched while the inner
 * destination cannot be read, dropped as malformed once it can (the outer
 * length then exceeds the frame). Never anything else. */
static void test_every_truncation(void **state)
{
	struct fx *fx = *state;
	int total = 0;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint8_t in[TP_FRAME_MAX], inner[TP_FRAME_MAX], out[TP_FRAME_MAX];
		size_t ilen, len = case_frame(&good[i], in, inner, &ilen);
		size_t inner_off = len - ilen;
		size_t dst_end = inner_off + ((inner[0] >> 4) == 6 ? 40 : 20);

		/* BPF_PROG_TEST_RUN refuses skb frames shorter than their IP
		 * header (on a real interface they reach the program) */
		size_t l3min = 14 + (tp_family_of(good[i].t.dst) == 6 ? 40 : 20);

		for (size_t l = 14; l < l3min; l++)
			assert_int_equal(tc_run(fx->in, in, (uint32_t)l, NULL, NULL), -EINVAL);
		for (size_t l = l3min; l < len; l++) {
			uint32_t olen = 0;
			int want_drop = l >= dst_end;
			int reason = want_drop ? TN_D_DROP_MALFORMED : -2;
			struct tn_counter a[TN_D__COUNT], b[TN_D__COUNT];
			int v, moved = 0;

			reasons(fx, a);
			v = tc_run(fx->in, in, (uint32_t)l, out, &olen);
			reasons(fx, b);
			for (int r = 0; r < TN_D__COUNT; r++)
				moved += (int)(b[r].packets - a[r].packets);
			if (moved != 1)
				fail_msg("%s cut to %zu: %d counters moved (verdict %d)", good[i].name, l, moved, v);
			if (want_drop) {
				if (v != TC_ACT_SHOT || b[reason].packets - a[reason].packets != 1)
					fail_msg("%s cut to %zu: verdict %d, expected a malformed drop", good[i].name, l, v);
			} else if (v != TC_ACT_OK || olen != l || memcmp(out, in, l)) {
				fail_msg("%s cut to %zu: verdict %d, expected untouched", good[i].name, l, v);
			} else if (b[TN_D_PASS_TRUNCATED].packets == a[TN_D_PASS_TRUNCATED].packets &&
				   b[TN_D_PASS_NOT_TUNNEL].packets == a[TN_D_PASS_NOT_TUNNEL].packets) {
				fail_msg("%s cut to %zu: passed without pass_truncated/pass_not_tunnel", good[i].name, l);
			}
			total++;
		}
	}
	print_message("# %d truncated frames: untouched until the inner destination, malformed after\n", total);
}

/* ---- the SYN-ACK clamp ------------------------------------------------------------------- */

static const uint8_t linux_opts[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7 };
static const uint8_t mss_last[] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7, 2, 4, 0x05, 0xa0 };
static const uint8_t no_mss[] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 };

/* The server's SYN-ACK answering spec (a client->VIP SYN), with options. */
static void syn_ack(struct tp_frame *f, const struct tp_spec *syn, const uint8_t *opts, size_t optlen)
{
	struct tp_spec s = *syn;

	s.src = syn->dst;
	s.dst = syn->src;
	s.sport = syn->dport;
	s.dport = syn->sport;
	s.tcp_flags = 0x12;
	tt_build_tcp_opts(f, &s, opts, optlen);
}

static void tunnel_syn(struct fx *fx, const struct tp_spec *syn, const struct tt_spec *t)
{
	uint8_t in[TP_FRAME_MAX], inner[TP_FRAME_MAX];
	size_t ilen = tt_inner(inner, sizeof(inner), syn);
	size_t len = tt_encap(in, sizeof(in), t, inner, ilen);

	assert_int_equal(tc_run(fx->in, in, (uint32_t)len, NULL, NULL), TC_ACT_OK);
}

static uint16_t mss_at(const struct tp_frame *f, const uint8_t *out, size_t at)
{
	return tp_get16(out + f->l4 + 20 + at);
}

static void test_clamp(void **state)
{
	struct fx *fx = *state;
	struct tt_spec gue4 = { .kind = TT_GUE0, .src = LB4, .dst = SRV4 };
	struct tt_spec ipip6 = { .kind = TT_IPIP, .src = LB6, .dst = SRV6 };
	uint8_t out[TP_FRAME_MAX];
	struct tn_decap_vip_stats a, b;
	struct tp_frame f;
	uint32_t olen;

	/* before any tunnelled SYN: untouched, counted as not tunnelled */
	syn_ack(&f, &syn4, linux_opts, sizeof(linux_opts));
	run_expect(fx, fx->eg, f.data, f.len, TC_ACT_OK, TN_D_MSS_NOT_TUNNELLED, out, &olen);
	assert_memory_equal(out, f.data, f.len);

	/* GUE v0 over IPv4: 1460 - 32 = 1428, checksum still right */
	tunnel_syn(fx, &syn4, &gue4);
	vip_stats(fx, VIP4, &a);
	run_expect(fx, fx->eg, f.data, f.len, TC_ACT_OK, TN_D_MSS_CLAMPED, out, &olen);
	vip_stats(fx, VIP4, &b);
	assert_int_equal(olen, f.len);
	assert_int_equal(mss_at(&f, out, 2), 1428);
	assert_true(tt_tcp_csum_ok(out + f.l3, f.len - f.l3));
	assert_int_equal(b.clamped - a.clamped, 1);
	/* every other byte as sent */
	out[f.l4 + 22] = f.data[f.l4 + 22];
	out[f.l4 + 23] = f.data[f.l4 + 23];
	out[f.l4 + 16] = f.data[f.l4 + 16];
	out[f.l4 + 17] = f.data[f.l4 + 17];
	assert_memory_equal(out, f.data, f.len);
	print_message("# SYN-ACK of a GUE v0/IPv4 SYN: MSS 1460 -> 1428, checksum right\n");

	/* a retransmitted SYN-ACK is clamped again */
	run_expect(fx, fx->eg, f.data, f.len, TC_ACT_OK, TN_D_MSS_CLAMPED, out, &olen);
	assert_int_equal(mss_at(&f, out, 2), 1428);

	/* MSS after other options */
	syn_ack(&f, &syn4, mss_last, sizeof(mss_last));
	run_expect(fx, fx->eg, f.data, f.len, TC_ACT_OK, TN_D_MSS_CLAMPED, out, &olen);
	assert_int_equal(mss_at(&f, out, 18), 1440 - 32);
	assert_true(tt_tcp_csum_ok(out + f.l3, f.len - f.l3));

	/* no MSS option */
	syn_ack(&f, &syn4, no_mss, sizeof(no_mss));
	run_expect(fx, fx->eg, f.data, f.len, TC_ACT_OK, TN_D_MSS_NO_OPTION, out, &olen);
	assert_memory_equal(out, f.data, f.len);

	/* IPv6 in IPv6: 1440 - 40 */
	{
		uint8_t o6[] = { 2, 4, 0x05, 0xa0, 1, 1, 4, 2 };

		tunnel_syn(fx, &syn6, &ipip6);
		syn_ack(&f, &syn6, o6, sizeof(o6));
		run_expect(fx, fx->eg, f.data, f.len, TC_ACT_OK, TN_D_MSS_CLAMPED, out, &olen);
		assert_int_equal(mss_at(&f, out, 2), 1400);
		assert_true(tt_tcp_csum_ok(out + f.l3, f.len - f.l3));
		print_message("# SYN-ACK of an IPv6-in-IPv6 SYN: MSS 1440 -> 1400, checksum right\n");
	}

	/* never below 536 (IPv4) */
	{
		uint8_t small[] = { 2, 4, 0x02, 0x30, 1, 1, 1, 0 }; /* 560 */

		syn_ack(&f, &syn4, small, sizeof(small));
		run_expect(fx, fx->eg, f.data, f.len, TC_ACT_OK, TN_D_MSS_CLAMPED, out, &olen);
		assert_int_equal(mss_at(&f, out, 2), 536);
	}

	/* not a SYN-ACK, or not from a VIP: untouched, not counted */
	{
		struct tp_spec ack = { .src = VIP4, .dst = CLIENT4, .proto = IPPROTO_TCP, .sport = 80, .dport = 40000,
				       .tcp_flags = 0x10 };
		struct tp_spec other = { .src = SRV4, .dst = CLIENT4, .proto = IPPROTO_TCP, .sport = 80,
					 .dport = 40000, .tcp_flags = 0x12 };

		tt_build_tcp_opts(&f, &ack, linux_opts, sizeof(linux_opts));
		run_expect(fx, fx->eg, f.data, f.len, TC_ACT_OK, -1, out, &olen);
		assert_memory_equal(out, f.data, f.len);
		tt_build_tcp_opts(&f, &other, linux_opts, sizeof(linux_opts));
		run_expect(fx, fx->eg, f.data, f.len, TC_ACT_OK, -1, out, &olen);
		assert_memory_equal(out, f.data, f.len);
	}

	/* --mss-clamp off: untouched */
	configure(fx, TN_GUE_PORT_DEFAULT, false);
	syn_ack(&f, &syn4, linux_opts, sizeof(linux_opts));
	run_expect(fx, fx->eg, f.data, f.len, TC_ACT_OK, -1, out, &olen);
	assert_memory_equal(out, f.data, f.len);
	print_message("# ACKs, SYN-ACKs not from a VIP, and --mss-clamp off: untouched\n");
}

/* Every truncation of a clamped SYN-ACK: never an error, never a change
 * beyond the MSS bytes and the checksum. */
static void test_clamp_truncations(void **state)
{
	struct fx *fx = *state;
	struct tt_spec t = { .kind = TT_IPIP, .src = LB4, .dst = SRV4 };
	uint8_t out[TP_FRAME_MAX];
	struct tp_frame f;
	uint32_t olen;

	tunnel_syn(fx, &syn4, &t);
	syn_ack(&f, &syn4, mss_last, sizeof(mss_last));
	for (uint32_t l = 14 + 20; l <= f.len; l++) {
		int v = tc_run(fx->eg, f.data, l, out, &olen);

		assert_int_equal(v, TC_ACT_OK);
		assert_int_equal(olen, l);
		if (l < f.len)
			assert_memory_equal(out, f.data, l < (uint32_t)f.l4 + 16 ? l : (uint32_t)f.l4 + 16);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_decap_exact_bytes, reset),
		cmocka_unit_test_setup(test_syn_remembered_with_overhead, reset),
		cmocka_unit_test_setup(test_not_ours_untouched, reset),
		cmocka_unit_test_setup(test_unsupported_and_fragments, reset),
		cmocka_unit_test_setup(test_malformed_to_vip_dropped, reset),
		cmocka_unit_test_setup(test_every_truncation, reset),
		cmocka_unit_test_setup(test_clamp, reset),
		cmocka_unit_test_setup(test_clamp_truncations, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
