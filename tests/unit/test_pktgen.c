// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Tests of the packet generator's frames: build/pktgen.bpf.o is loaded through
 * its skeleton and run with plain BPF_PROG_TEST_RUN (repeat = 1, nothing sent)
 * with the counter set to N. Frame N must be exactly the frame this file builds
 * on its own (addresses, ports, lengths, checksums computed here by RFC 1071),
 * and must not depend on the bytes the previous run left in the buffer (live
 * frames are not restored between repetitions).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "pktgen.skel.h"
#include "tools/pktgen/pktgen.h"

#define FRAME_MAX 2048

/* ---- the expected frame, built independently of user/pktgen.c ----------- */

static uint16_t rfc1071(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void be32(uint8_t *p, uint32_t v) { be16(p, v >> 16); be16(p + 2, v); }

/* source address of client c: spec->src + c as a big-endian number */
static void client_addr(const struct tn_pktgen_spec *s, uint32_t c, uint8_t *out)
{
	int n = s->family == 4 ? 4 : 16;
	uint32_t carry = c;

	memcpy(out, s->src, (size_t)n);
	for (int i = n - 1; i >= 0 && carry; i--) {
		uint32_t v = out[i] + (carry & 0xff);

		out[i] = (uint8_t)v;
		carry = (carry >> 8) + (v >> 8);
	}
}

static size_t expected_frame(const struct tn_pktgen_spec *s, uint64_t n, uint8_t *f)
{
	uint32_t client = (uint32_t)(n % s->clients);
	uint32_t port = (uint32_t)((n / s->clients) % s->ports);
	uint8_t proto = s->kind == TN_PG_UDP ? 17 : 6, ph[40] = { 0 };
	size_t l3 = s->vlan >= 0 ? 18 : 14, l4, l4_len, alen = s->family == 4 ? 4 : 16;
	uint8_t *ip = f + l3, *t;
	uint16_t c;

	memset(f, 0, s->size);
	memcpy(f, s->dst_mac, 6);
	memcpy(f + 6, s->src_mac, 6);
	if (s->vlan >= 0) {
		be16(f + 12, 0x8100);
		be16(f + 14, (uint32_t)s->vlan);
	}
	be16(f + l3 - 2, s->family == 4 ? 0x0800 : 0x86dd);
	if (s->family == 4) {
		l4 = l3 + 20;
		ip[0] = 0x45;
		be16(ip + 2, (uint32_t)(s->size - l3));
		be16(ip + 6, 0x4000);
		ip[8] = 64;
		ip[9] = proto;
		client_addr(s, client, ip + 12);
		memcpy(ip + 16, s->dst, 4);
		be16(ip + 10, rfc1071(ip, 20, 0));
	} else {
		l4 = l3 + 40;
		ip[0] = 0x60;
		be16(ip + 4, (uint32_t)(s->size - l4));
		ip[6] = proto;
		ip[7] = 64;
		client_addr(s, client, ip + 8);
		memcpy(ip + 24, s->dst, 16);
	}
	l4_len = s->size - l4;
	t = f + l4;
	be16(t, s->src_port + port);
	be16(t + 2, s->dst_port);
	if (s->kind == TN_PG_UDP) {
		be16(t + 4, (uint32_t)l4_len);
	} else {
		be32(t + 4, (uint32_t)n);
		be32(t + 8, s->kind == TN_PG_ACK ? 1 : 0);
		t[12] = 0x50;
		t[13] = s->kind == TN_PG_SYN ? 0x02 : 0x10;
		be16(t + 14, 64240);
	}
	/* pseudo-header: source, destination, then protocol and length */
	memcpy(ph, ip + (s->family == 4 ? 12 : 8), alen);
	memcpy(ph + alen, s->family == 4 ? ip + 16 : ip + 24, alen);
	ph[2 * alen + 1] = proto;
	be16(ph + 2 * alen + 2, (uint32_t)l4_len);
	{
		uint32_t sum = (uint16_t)~rfc1071(ph, 2 * alen + 4, 0);

		c = rfc1071(t, l4_len, sum);
	}
	if (s->kind == TN_PG_UDP && c == 0)
		c = 0xffff;
	be16(t + (s->kind == TN_PG_UDP ? 6 : 16), c);
	return s->size;
}

/* ---- running the program ------------------------------------------------- */

struct gen {
	struct pktgen *skel;
	uint8_t frame0[FRAME_MAX];
	struct tn_pktgen_spec spec;
};

static struct gen *gen_open(const struct tn_pktgen_spec *spec)
{
	struct gen *g = calloc(1, sizeof(*g));
	char err[256] = "";

	assert_non_null(g);
	g->spec = *spec;
	g->skel = pktgen__open();
	assert_non_null(g->skel);
	if (tn_pktgen_prepare(g->skel, spec, g->frame0, err, sizeof(err)))
		fail_msg("prepare: %s", err);
	assert_int_equal(pktgen__load(g->skel), 0);
	return g;
}

static void gen_close(struct gen *g)
{
	pktgen__destroy(g->skel);
	free(g);
}

/* Run frame n on `in` (the buffer as the previous run left it) into out. */
static void gen_run(struct gen *g, uint64_t n, const uint8_t *in, uint8_t *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in,
		.data_size_in = g->spec.size,
		.data_out = out,
		.data_size_out = FRAME_MAX,
		.repeat = 1,
	);

	g->skel->bss->next_seq = n;
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(g->skel->progs.pktgen_xdp), &opts), 0);
	assert_int_equal(opts.retval, XDP_TX);
	assert_int_equal(opts.data_size_out, g->spec.size);
	assert_int_equal(g->skel->bss->next_seq, n + 1);
}

static void assert_frames_equal(const uint8_t *want, const uint8_t *got, size_t len, uint64_t n)
{
	for (size_t i = 0; i < len; i++)
		if (want[i] != got[i])
			fail_msg("frame %llu: byte %zu is %02x, expected %02x",
				 (unsigned long long)n, i, got[i], want[i]);
}

static struct tn_pktgen_spec base_spec(int family, enum tn_pktgen_kind kind)
{
	struct tn_pktgen_spec s = {
		.family = family, .kind = kind,
		.src_mac = { 0x02, 0, 0, 0, 0, 0x01 }, .dst_mac = { 0x02, 0, 0, 0, 0, 0x02 },
		.clients = 1, .src_port = 1024, .ports = 1, .dst_port = 80, .size = 64, .vlan = -1,
	};

	if (family == 4) {
		inet_pton(AF_INET, "10.0.0.1", s.src);
		inet_pton(AF_INET, "192.0.2.10", s.dst);
	} else {
		inet_pton(AF_INET6, "fd00::1", s.src);
		inet_pton(AF_INET6, "2001:db8::10", s.dst);
		s.size = 86;
	}
	return s;
}

/* Frame n is the independent construction, whatever the buffer held. */
static void check_spec(const struct tn_pktgen_spec *spec, const uint64_t *ns, size_t count)
{
	static uint8_t want[FRAME_MAX], got[FRAME_MAX], prev[FRAME_MAX], again[FRAME_MAX],
		       noisy[FRAME_MAX];
	struct gen *g = gen_open(spec);
	unsigned int hdr = tn_pktgen_header_len(spec);

	for (size_t i = 0; i < count; i++) {
		uint64_t n = ns[i];

		expected_frame(spec, n, want);
		/* from frame 0 as user space hands it over */
		gen_run(g, n, g->frame0, got);
		assert_frames_equal(want, got, spec->size, n);
		/* from what another frame left: repetition k+1 after repetition k */
		gen_run(g, n + 12345, g->frame0, prev);
		gen_run(g, n, prev, again);
		assert_frames_equal(want, again, spec->size, n);
		/* from a header full of noise (the payload is never written) */
		memcpy(noisy, g->frame0, spec->size);
		for (unsigned int b = 0; b < hdr; b++)
			noisy[b] = (uint8_t)(rand() & 0xff);
		gen_run(g, n, noisy, again);
		assert_frames_equal(want, again, spec->size, n);
	}
	gen_close(g);
}

static const uint64_t some_ns[] = { 0, 1, 2, 3, 99, 1000, 65535, 65536, 1000003, 0xffffffffULL,
				    0x100000001ULL, 123456789012ULL };
#define NS_COUNT (sizeof(some_ns) / sizeof(some_ns[0]))

static void test_ipv4_syn(void **state)
{
	struct tn_pktgen_spec s = base_spec(4, TN_PG_SYN);

	check_spec(&s, some_ns, NS_COUNT);
}

static void test_ipv4_syn_clients_ports(void **state)
{
	struct tn_pktgen_spec s = base_spec(4, TN_PG_SYN);

	s.clients = 1000;
	s.ports = 7;
	s.src_port = 40000;
	check_spec(&s, some_ns, NS_COUNT);
}

static void test_ipv4_ack_vlan(void **state)
{
	struct tn_pktgen_spec s = base_spec(4, TN_PG_ACK);

	s.vlan = 42;
	s.clients = 3;
	check_spec(&s, some_ns, NS_COUNT);
}

static void test_ipv4_udp_sizes(void **state)
{
	static const uint32_t sizes[] = { 60, 64, 65, 100, 511, 1514, 1518 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct tn_pktgen_spec s = base_spec(4, TN_PG_UDP);

		s.size = sizes[i];
		s.clients = 5000000;
		s.ports = 3;
		check_spec(&s, some_ns, NS_COUNT);
	}
}

static void test_ipv4_tcp_odd_size(void **state)
{
	struct tn_pktgen_spec s = base_spec(4, TN_PG_SYN);

	s.size = 1001;
	check_spec(&s, some_ns, NS_COUNT);
}

static void test_ipv6_syn(void **state)
{
	struct tn_pktgen_spec s = base_spec(6, TN_PG_SYN);

	s.clients = 1000000;
	check_spec(&s, some_ns, NS_COUNT);
}

static void test_ipv6_udp_vlan_carry(void **state)
{
	struct tn_pktgen_spec s = base_spec(6, TN_PG_UDP);

	/* clients cross the 64-bit halves of the address */
	inet_pton(AF_INET6, "fd00::ffff:ffff:ffff:fff0", s.src);
	s.clients = 100;
	s.ports = 65536;
	s.src_port = 0;
	s.vlan = 4094;
	s.size = 300;
	check_spec(&s, some_ns, NS_COUNT);
}

static void test_ipv6_ack_large(void **state)
{
	struct tn_pktgen_spec s = base_spec(6, TN_PG_ACK);

	s.size = 1514;
	s.clients = 7;
	s.ports = 11;
	check_spec(&s, some_ns, NS_COUNT);
}

/* N clients give N distinct sources in N consecutive frames, then repeat. */
static void test_distinct_sources(void **state)
{
	static uint8_t out[FRAME_MAX];
	struct tn_pktgen_spec s = base_spec(4, TN_PG_UDP);
	uint32_t seen[64] = { 0 }, addr;
	struct gen *g;

	s.clients = 64;
	g = gen_open(&s);
	for (uint64_t n = 0; n < 128; n++) {
		gen_run(g, n, g->frame0, out);
		memcpy(&addr, out + 14 + 12, 4);
		addr = ntohl(addr) - 0x0a000001;
		assert_true(addr < 64);
		seen[addr]++;
	}
	for (int i = 0; i < 64; i++)
		assert_int_equal(seen[i], 2);
	gen_close(g);
}

/* prepare() refuses what cannot be built, with a sentence. */
static void expect_refused(struct tn_pktgen_spec s, const char *words)
{
	struct pktgen *skel = pktgen__open();
	uint8_t frame[FRAME_MAX];
	char err[256] = "";

	assert_non_null(skel);
	assert_int_equal(tn_pktgen_prepare(skel, &s, frame, err, sizeof(err)), -EINVAL);
	if (!strstr(err, words))
		fail_msg("error '%s' does not say '%s'", err, words);
	pktgen__destroy(skel);
}

static void test_refused(void **state)
{
	struct tn_pktgen_spec s = base_spec(6, TN_PG_SYN);

	s.vlan = 1;
	s.size = 77; /* Ethernet + VLAN + IPv6 + TCP = 78 */
	expect_refused(s, "needs 78..1518");
	s = base_spec(4, TN_PG_UDP);
	s.size = 59;
	expect_refused(s, "needs 60..1518");
	s = base_spec(4, TN_PG_UDP);
	s.src_port = 65000;
	s.ports = 537; /* 65000 .. 65536 */
	expect_refused(s, "past 65535");
	s = base_spec(4, TN_PG_UDP);
	inet_pton(AF_INET, "255.255.255.250", s.src);
	s.clients = 7;
	expect_refused(s, "past 255.255.255.255");
	s = base_spec(4, TN_PG_UDP);
	s.clients = 0;
	expect_refused(s, "at least 1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_syn),
		cmocka_unit_test(test_ipv4_syn_clients_ports),
		cmocka_unit_test(test_ipv4_ack_vlan),
		cmocka_unit_test(test_ipv4_udp_sizes),
		cmocka_unit_test(test_ipv4_tcp_odd_size),
		cmocka_unit_test(test_ipv6_syn),
		cmocka_unit_test(test_ipv6_udp_vlan_carry),
		cmocka_unit_test(test_ipv6_ack_large),
		cmocka_unit_test(test_distinct_sources),
		cmocka_unit_test(test_refused),
	};

	srand(1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
