/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Robustness: a million random and mutated frames through the XDP program
 * (BPF_PROG_TEST_RUN, maps populated) and through the same parser compiled
 * for the host (each frame in a buffer of exactly its length, so ASan sees any
 * read past the end).
 *
 * Checked for every frame: the verdict is PASS, DROP, TX or REDIRECT (never
 * ABORTED); PASS leaves the bytes untouched; TX/REDIRECT change only the 12 MAC
 * bytes, to a configured server's MAC pair; the verdict agrees with what the
 * host parser made of the frame. Checked per batch: the final reason counters
 * add up to the number of frames run and match the verdicts and the host
 * parser's results one for one.
 *
 * Reproducible: the seed is printed; TN_FUZZ_SEED=<n> replays a run and
 * TN_FUZZ_SCALE=<k> multiplies the number of frames.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include <cmocka.h>
#include "dataplane/dataplane.h"
#include "packets.h"
#pragma GCC diagnostic ignored "-Wunknown-pragmas" /* parse.h's #pragma unroll is for clang */
#include "../../bpf/parse.h"

#define SEED_DEFAULT 0x7e4ace2026ull
#define HASH_SEED    0xf022u
#define INGRESS      1u
#define MAX_LEN      1600u   /* below the test-run limit (a page less head/tailroom) */
#define N_MUTATED    800000u
#define N_RANDOM     200000u

enum { F_WEB = 0, F_DNS = 1, F_REMOTE = 2, F_DOWN = 3, F_EMPTY = 4 };

struct fz {
	struct tn_dp *dp;
	int prog;
	uint64_t seed;
	uint64_t rng;
	unsigned scale;
	uint32_t other_ifindex;
	uint8_t macs[16][12];     /* (server MAC, src MAC) pairs a forwarded frame may carry */
	int nmacs;
	uint8_t *host_buf;        /* the host parser's copy (freed even after a failure) */
};

/* Per batch: what the frames did, to compare with the counters. */
struct tally {
	uint64_t run, short_frames;
	uint64_t verdict[5];            /* XDP_ABORTED..XDP_REDIRECT */
	uint64_t parse[5];              /* tn_parse results of the frames run */
	uint64_t malformed_dropped;     /* host MALFORMED and kernel DROP */
};

/* ---- randomness (xorshift64*: fast, and the same everywhere) --------------------- */

static uint64_t rnd(struct fz *z)
{
	z->rng ^= z->rng >> 12;
	z->rng ^= z->rng << 25;
	z->rng ^= z->rng >> 27;
	return z->rng * 0x2545f4914f6cdd1dull;
}

static uint32_t below(struct fz *z, uint32_t n)
{
	return (uint32_t)(((rnd(z) >> 32) * (uint64_t)n) >> 32);
}

static void reseed(struct fz *z, uint64_t salt)
{
	z->rng = (z->seed ^ (salt * 0x9e3779b97f4a7c15ull)) | 1;
	for (int i = 0; i < 8; i++)
		rnd(z);
}

/* ---- world ------------------------------------------------------------------------ */

static void add_server(struct fz *z, struct tn_dp_server *s, uint32_t farm, uint32_t id, uint32_t ifindex, bool up)
{
	char addr[32];

	memset(s, 0, sizeof(*s));
	snprintf(addr, sizeof(addr), "10.1.%u.%u", farm, id);
	s->server_id = id;
	s->family = 4;
	tp_addr16(addr, s->addr);
	s->port = 80;
	s->weight = (uint16_t)(50 * id);
	s->up = up;
	uint8_t mac[6] = { 0x02, 0x5e, 0x00, (uint8_t)farm, 0x00, (uint8_t)id };
	uint8_t src[6] = { 0x02, 0x1b, 0x00, (uint8_t)farm, 0x00, 0xff };

	memcpy(s->mac, mac, 6);
	memcpy(s->src_mac, src, 6);
	s->ifindex = ifindex;
	memcpy(z->macs[z->nmacs], mac, 6);
	memcpy(z->macs[z->nmacs] + 6, src, 6);
	z->nmacs++;
}

static void write_farm(struct fz *z, uint32_t slot, uint8_t proto, uint8_t sticky, int n, uint32_t ifindex, bool up)
{
	struct tn_dp_server s[4];

	for (int i = 0; i < n; i++)
		add_server(z, &s[i], slot, (uint32_t)i + 1, ifindex, up);
	struct tn_dp_farm f = { .farm_id = slot, .proto = proto, .balance = TN_BALANCE_SOURCE,
				.stickiness = sticky, .servers = s, .nservers = (size_t)n };
	assert_int_equal(tn_dp_farm_write(z->dp, slot, &f, NULL), 0);
}

/* VIPs (the templates below aim at them) */
static const struct {
	const char *addr;
	uint16_t port;
	uint8_t proto;
	uint32_t farm, flags;
} vips[] = {
	{ "192.0.2.10", 80, IPPROTO_TCP, F_WEB, 0 },
	{ "192.0.2.10", 53, IPPROTO_UDP, F_DNS, 0 },
	{ "2001:db8::10", 80, IPPROTO_TCP, F_WEB, 0 },
	{ "2001:db8::10", 53, IPPROTO_UDP, F_DNS, 0 },
	{ "192.0.2.20", 0, IPPROTO_TCP, F_WEB, 0 },
	{ "192.0.2.30", 80, IPPROTO_TCP, F_REMOTE, 0 },
	{ "192.0.2.40", 80, IPPROTO_TCP, F_DOWN, 0 },
	{ "192.0.2.50", 80, IPPROTO_TCP, F_EMPTY, 0 },
	{ "192.0.2.60", 80, IPPROTO_TCP, F_WEB, TN_VIP_F_DISABLED },
	{ "192.0.2.70", 80, IPPROTO_TCP, F_WEB, TN_VIP_F_DENY_LIST },
	{ "192.0.2.71", 80, IPPROTO_TCP, F_WEB, TN_VIP_F_ALLOW_LIST },
	{ "2001:db8::70", 0, IPPROTO_UDP, F_DNS, TN_VIP_F_DENY_LIST | TN_VIP_F_ALLOW_LIST },
};
#define NVIPS (sizeof(vips) / sizeof(vips[0]))

static void prefix(struct tn_dp_prefix *p, const char *addr, uint8_t len)
{
	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)tp_family_of(addr);
	tp_addr16(addr, p->addr);
	p->prefixlen = len;
}

static int setup(void **state)
{
	struct fz *z = calloc(1, sizeof(*z));
	struct tn_dp_settings st;
	struct tn_vip_key k[NVIPS];
	struct tn_vip v[NVIPS];
	struct tn_dp_prefix p[2];
	const char *env;

	assert_non_null(z);
	z->seed = SEED_DEFAULT;
	if ((env = getenv("TN_FUZZ_SEED")) && *env)
		z->seed = strtoull(env, NULL, 0);
	z->scale = 1;
	if ((env = getenv("TN_FUZZ_SCALE")) && atoi(env) > 0)
		z->scale = (unsigned)atoi(env);
	printf("# fuzz seed 0x%llx (replay: TN_FUZZ_SEED=0x%llx)\n", (unsigned long long)z->seed,
	       (unsigned long long)z->seed);
	fflush(stdout);

	tn_dp_settings_default(&st);
	st.table_size = 4093;
	st.ct_size = 65536;
	st.hash_seed = HASH_SEED;
	assert_int_equal(tn_dp_open(&z->dp, "", &st), 0);
	z->prog = tn_dp_prog_fd(z->dp);
	z->other_ifindex = tp_other_ifindex(INGRESS);

	write_farm(z, F_WEB, IPPROTO_TCP, TN_STICKY_SOURCE_IP, 3, INGRESS, true);
	write_farm(z, F_DNS, IPPROTO_UDP, TN_STICKY_NONE, 3, INGRESS, true);
	if (z->other_ifindex) {
		assert_int_equal(tn_dp_tx_port_add(z->dp, z->other_ifindex), 0);
		write_farm(z, F_REMOTE, IPPROTO_TCP, TN_STICKY_SOURCE_IP, 2, z->other_ifindex, true);
	} else {
		write_farm(z, F_REMOTE, IPPROTO_TCP, TN_STICKY_NONE, 2, INGRESS, true);
	}
	write_farm(z, F_DOWN, IPPROTO_TCP, TN_STICKY_SOURCE_IP, 2, INGRESS, false);

	for (size_t i = 0; i < NVIPS; i++) {
		k[i] = tp_vip_key(vips[i].addr, vips[i].port, vips[i].proto);
		memset(&v[i], 0, sizeof(v[i]));
		v[i].farm_slot = vips[i].farm;
		v[i].vip_index = (uint32_t)i;
		v[i].flags = vips[i].flags;
	}
	assert_int_equal(tn_dp_vips_replace(z->dp, k, v, NVIPS), 0);
	prefix(&p[0], "198.51.100.0", 25);
	assert_int_equal(tn_dp_filters_set(z->dp, 9, false, p, 1), 0);
	prefix(&p[0], "198.51.100.0", 24);
	assert_int_equal(tn_dp_filters_set(z->dp, 10, true, p, 1), 0);
	prefix(&p[0], "2001:db8:c::", 48);
	prefix(&p[1], "2001:db8:d::", 48);
	assert_int_equal(tn_dp_filters_set(z->dp, 11, true, p, 2), 0);
	prefix(&p[0], "2001:db8:c::", 64);
	assert_int_equal(tn_dp_filters_set(z->dp, 11, false, p, 1), 0);
	*state = z;
	return 0;
}

static int teardown(void **state)
{
	struct fz *z = *state;

	tn_dp_close(z->dp);
	free(z->host_buf);
	free(z);
	return 0;
}

/* ---- templates: valid frames of every kind, with random clients and ports ---------- */

#define NTEMPLATES 24

static void client4(struct fz *z, char *buf)
{
	/* mostly 198.51.100.0/24 (the filters' prefixes), some elsewhere */
	if (below(z, 4))
		sprintf(buf, "198.51.100.%u", below(z, 256));
	else
		sprintf(buf, "%u.%u.%u.%u", 1 + below(z, 223), below(z, 256), below(z, 256), below(z, 256));
}

static void client6(struct fz *z, char *buf)
{
	sprintf(buf, "2001:db8:%x::%x", 0xc + below(z, 3), below(z, 65536));
}

static void template(struct fz *z, int kind, struct tp_frame *f)
{
	char c4[32], c6[64];
	struct tp_spec s, q;
	uint16_t sport = (uint16_t)(1024 + below(z, 64000));

	client4(z, c4);
	client6(z, c6);
	memset(&s, 0, sizeof(s));
	s.payload = (uint16_t)below(z, 64);
	s.sport = sport;
	switch (kind) {
	case 0: s.src = c4; s.dst = "192.0.2.10"; s.proto = IPPROTO_TCP; s.dport = 80; break;
	case 1: s.src = c4; s.dst = "192.0.2.10"; s.proto = IPPROTO_UDP; s.dport = 53; break;
	case 2: s.src = c4; s.dst = "192.0.2.10"; s.proto = IPPROTO_TCP; s.dport = 80;
		s.ipv4_opt_words = (uint8_t)(1 + below(z, 10)); break;
	case 3: s.src = c6; s.dst = "2001:db8::10"; s.proto = IPPROTO_TCP; s.dport = 80; break;
	case 4: s.src = c6; s.dst = "2001:db8::10"; s.proto = IPPROTO_UDP; s.dport = 53; break;
	case 5: s.src = c6; s.dst = "2001:db8::10"; s.proto = IPPROTO_TCP; s.dport = 80;
		s.next = (uint8_t)(1 + below(z, 6));
		for (int i = 0; i < s.next; i++) {
			static const uint8_t types[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS };

			s.ext[i] = types[below(z, 3)];
			s.ext_len[i] = (uint8_t)below(z, 3);
		}
		break;
	case 6: s.src = c6; s.dst = "2001:db8::10"; s.proto = IPPROTO_UDP; s.dport = 53;
		s.more_frags = true; break;
	case 7: s.src = c6; s.dst = "2001:db8::10"; s.proto = IPPROTO_UDP;
		s.frag_offset = (uint16_t)(1 + below(z, 100)); s.more_frags = below(z, 2); break;
	case 8: s.src = c4; s.dst = "192.0.2.10"; s.proto = IPPROTO_TCP; s.dport = 80; s.more_frags = true; break;
	case 9: s.src = c4; s.dst = "192.0.2.10"; s.proto = IPPROTO_TCP;
		s.frag_offset = (uint16_t)(1 + below(z, 100)); s.more_frags = below(z, 2); break;
	case 10: s.src = c4; s.dst = "192.0.2.10"; s.proto = IPPROTO_TCP; s.dport = 80;
		s.nvlan = 1; s.vlan_tpid[0] = below(z, 2) ? 0x8100 : 0x88a8; break;
	case 11: s.src = c6; s.dst = "2001:db8::10"; s.proto = IPPROTO_UDP; s.dport = 53;
		s.nvlan = 2; s.vlan_tpid[0] = 0x88a8; s.vlan_tpid[1] = 0x8100; break;
	case 12: /* frag-needed quoting VIP:80 -> client */
		q = (struct tp_spec){ .src = "192.0.2.10", .dst = c4, .proto = IPPROTO_TCP, .sport = 80, .dport = sport };
		s = (struct tp_spec){ .src = "203.0.113.1", .dst = "192.0.2.10", .proto = IPPROTO_ICMP,
				      .icmp_type = 3, .icmp_code = 4, .icmp_info = 1400, .quote = &q,
				      .quote_len = (uint16_t)(28 + below(z, 20)) };
		break;
	case 13: /* packet-too-big quoting VIP:53 -> client */
		q = (struct tp_spec){ .src = "2001:db8::10", .dst = c6, .proto = IPPROTO_UDP, .sport = 53, .dport = sport,
				      .payload = 40 };
		s = (struct tp_spec){ .src = "2001:db8:ffff::1", .dst = "2001:db8::10", .proto = IPPROTO_ICMPV6,
				      .icmp_type = 2, .icmp_info = 1280, .quote = &q };
		break;
	case 14: s.src = c4; s.dst = "192.0.2.10"; s.proto = IPPROTO_ICMP; s.icmp_type = 8; break;
	case 15: tp_build_arp(f, c4, "192.0.2.10"); return;
	case 16: s.src = c4; s.dst = "192.0.2.20"; s.proto = IPPROTO_TCP; s.dport = (uint16_t)below(z, 65536); break;
	case 17: s.src = c4; s.dst = "192.0.2.30"; s.proto = IPPROTO_TCP; s.dport = 80; break;
	case 18: s.src = c4; s.dst = below(z, 2) ? "192.0.2.40" : "192.0.2.50"; s.proto = IPPROTO_TCP; s.dport = 80; break;
	case 19: s.src = c4; s.dst = "192.0.2.60"; s.proto = IPPROTO_TCP; s.dport = 80; break;
	case 20: s.src = c4; s.dst = below(z, 2) ? "192.0.2.70" : "192.0.2.71"; s.proto = IPPROTO_TCP; s.dport = 80; break;
	case 21: s.src = c6; s.dst = "2001:db8::70"; s.proto = IPPROTO_UDP; s.dport = (uint16_t)below(z, 65536); break;
	case 22: s.src = c4; s.dst = "192.0.2.11"; s.proto = IPPROTO_TCP; s.dport = 80; break;
	default: s.src = c6; s.dst = "2001:db8::11"; s.proto = IPPROTO_UDP; s.dport = 53; break;
	}
	tp_build(f, &s);
}

/* ---- mutations ------------------------------------------------------------------------ */

static const uint8_t interesting[] = { 0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0f, 0x10, 0x11, 0x2b,
				       0x2c, 0x3a, 0x3c, 0x40, 0x45, 0x4f, 0x50, 0x60, 0x7f, 0x80, 0x81, 0x86,
				       0x88, 0xa8, 0xdd, 0xfe, 0xff };

/* The bytes the parser looks at: up to 8 past the L4 header's start. */
static uint32_t hdr_end(const struct tp_frame *f)
{
	uint32_t e = (uint32_t)f->l4 + 8u;

	return e < f->len ? e : f->len;
}

static void mutate(struct fz *z, struct tp_frame *f)
{
	uint32_t n, at;

	switch (below(z, 9)) {
	case 0: /* flip bits, anywhere */
		for (n = 1 + below(z, 8); n && f->len; n--)
			f->data[below(z, f->len)] ^= (uint8_t)(1u << below(z, 8));
		break;
	case 1: /* random bytes in the headers (where the parser looks) */
		for (n = 1 + below(z, 4); n && f->len; n--)
			f->data[below(z, hdr_end(f))] = (uint8_t)rnd(z);
		break;
	case 2: /* interesting values in the headers */
		for (n = 1 + below(z, 3); n && f->len; n--)
			f->data[below(z, hdr_end(f))] =
				interesting[below(z, sizeof(interesting))];
		break;
	case 3: /* insert bytes */
		n = 1 + below(z, 8);
		if (f->len + n > MAX_LEN)
			break;
		at = below(z, f->len + 1);
		memmove(f->data + at + n, f->data + at, f->len - at);
		for (uint32_t i = 0; i < n; i++)
			f->data[at + i] = below(z, 2) ? (uint8_t)rnd(z) : interesting[below(z, sizeof(interesting))];
		f->len += n;
		break;
	case 4: /* delete bytes */
		n = 1 + below(z, 8);
		if (n > f->len)
			n = f->len;
		at = below(z, f->len - n + 1);
		memmove(f->data + at, f->data + at + n, f->len - at - n);
		f->len -= n;
		break;
	case 5: /* truncate */
		f->len = below(z, f->len + 1);
		break;
	case 6: /* append */
		n = 1 + below(z, 64);
		if (f->len + n > MAX_LEN)
			break;
		for (uint32_t i = 0; i < n; i++)
			f->data[f->len + i] = (uint8_t)rnd(z);
		f->len += n;
		break;
	case 7: /* a 16-bit field (lengths, EtherTypes, ports) to an edge value */
		if (f->len >= 2) {
			static const uint16_t edge[] = { 0, 1, 4, 7, 8, 19, 20, 40, 0x8100, 0x88a8, 0x0800, 0x86dd,
							 0x7fff, 0xffff };

			at = below(z, hdr_end(f) - 1);
			tp_put16(f->data + at, edge[below(z, sizeof(edge) / sizeof(edge[0]))]);
		}
		break;
	default: /* a random byte somewhere */
		if (f->len)
			f->data[below(z, f->len)] = (uint8_t)rnd(z);
		break;
	}
}

/* A fully random frame; half of them start like IP so the parser goes deeper. */
static void random_frame(struct fz *z, struct tp_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->len = below(z, 4) ? below(z, 128) : below(z, MAX_LEN + 1);
	for (uint32_t i = 0; i < f->len; i++)
		f->data[i] = (uint8_t)rnd(z);
	if (f->len >= 14 && below(z, 2)) {
		static const uint16_t types[] = { ETH_P_IP, ETH_P_IPV6, 0x8100, 0x88a8 };

		uint16_t type = types[below(z, 4)];
		uint8_t vip[16];

		tp_put16(f->data + 12, type);
		if (f->len > 14)
			f->data[14] = below(z, 2) ? (uint8_t)(0x40 | below(z, 16)) : (uint8_t)(0x60 | below(z, 16));
		/* and some of those to a VIP address, so the program decides more than "not ours" */
		if (below(z, 2) && type == ETH_P_IP && f->len >= 34) {
			const char *a = vips[below(z, NVIPS)].addr;

			tp_addr16(tp_family_of(a) == 4 ? a : "192.0.2.10", vip);
			memcpy(f->data + 30, vip, 4);
			f->data[23] = below(z, 2) ? IPPROTO_TCP : IPPROTO_UDP;
		} else if (below(z, 2) && type == ETH_P_IPV6 && f->len >= 54) {
			tp_addr16("2001:db8::10", vip);
			memcpy(f->data + 38, vip, 16);
			f->data[20] = below(z, 2) ? IPPROTO_TCP : IPPROTO_UDP;
		}
	}
	f->l3 = f->l4 = 14;
}

/* ---- one frame through the host parser and the program --------------------------------- */

static int host_parse(struct fz *z, const struct tp_frame *f, struct tn_pkt *p)
{
	uint8_t *copy;

	/* exactly len bytes (ASan); 2 bytes in, so the IP header is 4-byte aligned */
	free(z->host_buf);
	z->host_buf = malloc(f->len + 2);
	assert_non_null(z->host_buf);
	copy = z->host_buf + 2;
	memcpy(copy, f->data, f->len);
	memset(p, 0, sizeof(*p));
	return tn_parse(copy, copy + f->len, p);
}

static void dump(const char *why, struct fz *z, const struct tp_frame *f, uint64_t index)
{
	fprintf(stderr, "# %s: frame %llu of seed 0x%llx, %u bytes:", why, (unsigned long long)index,
		(unsigned long long)z->seed, f->len);
	for (uint32_t i = 0; i < f->len; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n#   ", f->data[i]);
	fprintf(stderr, "\n");
}

static void one(struct fz *z, const struct tp_frame *f, struct tally *t, uint64_t index)
{
	uint8_t out[TP_FRAME_MAX];
	uint32_t olen = 0;
	struct tn_pkt p;
	int r, v, ok;

	r = host_parse(z, f, &p);
	assert_true(r >= TN_PARSE_OK && r <= TN_PARSE_OTHER_L4);
	v = tp_run(z->prog, INGRESS, f->data, f->len, out, &olen);
	if (f->len < ETH_HLEN) {
		/* the kernel refuses frames shorter than Ethernet; the parser says not IP */
		if (v >= 0 || r != TN_PARSE_NOT_IP) {
			dump("short frame", z, f, index);
			fail_msg("a %u-byte frame: run %d, parse %d", f->len, v, r);
		}
		t->short_frames++;
		return;
	}
	if (v < 0) {
		dump("run failed", z, f, index);
		fail_msg("bpf_prog_test_run: %s", strerror(-v));
	}
	t->run++;
	t->parse[r]++;
	switch (v) {
	case XDP_PASS:
		ok = olen == f->len && !memcmp(out, f->data, f->len);
		if (!ok) {
			dump("passed frame modified", z, f, index);
			fail_msg("XDP_PASS changed the frame");
		}
		break;
	case XDP_DROP:
		/* only a frame the parser could read up to a destination may be dropped */
		if (r != TN_PARSE_OK && r != TN_PARSE_MALFORMED) {
			dump("dropped frame", z, f, index);
			fail_msg("XDP_DROP for a frame parsed as %d (not ours: must pass)", r);
		}
		if (r == TN_PARSE_MALFORMED)
			t->malformed_dropped++;
		break;
	case XDP_TX:
	case XDP_REDIRECT:
		ok = r == TN_PARSE_OK && olen == f->len && !memcmp(out + 12, f->data + 12, f->len - 12);
		if (ok) {
			ok = 0;
			for (int i = 0; i < z->nmacs && !ok; i++)
				ok = !memcmp(out, z->macs[i], 12);
		}
		if (!ok) {
			dump("forwarded frame", z, f, index);
			fail_msg("%s: parse %d, only the 12 MAC bytes may change, to a server's", tp_verdict_name(v), r);
		}
		break;
	default:
		dump("bad verdict", z, f, index);
		fail_msg("verdict %s (%d)", tp_verdict_name(v), v);
	}
	t->verdict[v]++;
}

/* ---- the counters add up ------------------------------------------------------------------ */

static void counters(struct fz *z, struct tn_counter c[TN_R__COUNT])
{
	assert_int_equal(tn_dp_reason_counters(z->dp, c), 0);
}

static void check_counters(struct fz *z, const struct tn_counter *b, const struct tally *t)
{
	struct tn_counter a[TN_R__COUNT];
	uint64_t d[TN_R__COUNT], final, pass, drop, ct;

	counters(z, a);
	for (int r = 0; r < TN_R__COUNT; r++)
		d[r] = a[r].packets - b[r].packets;
	pass = d[TN_R_PASS_NOT_IP] + d[TN_R_PASS_NOT_VIP] + d[TN_R_PASS_TRUNCATED];
	drop = d[TN_R_DROP_MALFORMED] + d[TN_R_DROP_FILTERED] + d[TN_R_DROP_NO_SERVER] + d[TN_R_DROP_DISABLED] +
	       d[TN_R_DROP_NO_FARM] + d[TN_R_DROP_NO_ROUTE];
	final = pass + drop + d[TN_R_TX] + d[TN_R_REDIRECT] + d[TN_R_ABORTED];
	ct = d[TN_R_CT_HIT] + d[TN_R_CT_NEW] + d[TN_R_CT_RESCHEDULED] + d[TN_R_CT_EXPIRED] + d[TN_R_CT_DEFERRED] +
	     d[TN_R_CT_REFUSED];

	printf("# %llu frames run (+%llu shorter than Ethernet, host parser only): pass %llu, drop %llu, tx %llu, "
	       "redirect %llu\n", (unsigned long long)t->run, (unsigned long long)t->short_frames,
	       (unsigned long long)t->verdict[XDP_PASS], (unsigned long long)t->verdict[XDP_DROP],
	       (unsigned long long)t->verdict[XDP_TX], (unsigned long long)t->verdict[XDP_REDIRECT]);
	printf("#   reasons:");
	for (int r = 0; r < TN_R__COUNT; r++)
		if (d[r])
			printf(" %s=%llu", tn_reason_name(r), (unsigned long long)d[r]);
	printf("\n");
	fflush(stdout);

	/* one final reason per frame, and it matches the verdict */
	assert_int_equal(final, t->run);
	assert_int_equal(d[TN_R_ABORTED], 0);
	assert_int_equal(pass, t->verdict[XDP_PASS]);
	assert_int_equal(drop, t->verdict[XDP_DROP]);
	assert_int_equal(d[TN_R_TX], t->verdict[XDP_TX]);
	assert_int_equal(d[TN_R_REDIRECT], t->verdict[XDP_REDIRECT]);
	/* one conntrack decision per frame that reached a server */
	assert_int_equal(ct, d[TN_R_TX] + d[TN_R_REDIRECT] + d[TN_R_DROP_NO_ROUTE]);
	assert_true(d[TN_R_FRAGMENT] + d[TN_R_ICMP_STEERED] <= ct);
	/* the program parses as the host parser does */
	assert_int_equal(d[TN_R_PASS_NOT_IP], t->parse[TN_PARSE_NOT_IP]);
	assert_int_equal(d[TN_R_PASS_TRUNCATED], t->parse[TN_PARSE_TRUNCATED]);
	assert_int_equal(d[TN_R_DROP_MALFORMED], t->malformed_dropped);
	/* the fuzz reached every part of the program */
	assert_true(t->verdict[XDP_PASS] > 0 && t->verdict[XDP_DROP] > 0);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_templates_are_valid(void **state)
{
	struct fz *z = *state;
	struct tp_frame f;
	struct tn_pkt p;

	reseed(z, 1);
	for (int k = 0; k < NTEMPLATES; k++) {
		for (int i = 0; i < 100; i++) {
			int r, v;

			template(z, k, &f);
			r = host_parse(z, &f, &p);
			v = tp_run(z->prog, INGRESS, f.data, f.len, NULL, NULL);
			if (k == 15) /* ARP */
				assert_int_equal(r, TN_PARSE_NOT_IP);
			else if (k == 14) /* echo */
				assert_int_equal(r, TN_PARSE_OTHER_L4);
			else if (r != TN_PARSE_OK)
				fail_msg("template %d does not parse: %d", k, r);
			assert_true(v == XDP_PASS || v == XDP_DROP || v == XDP_TX || v == XDP_REDIRECT);
			/* the VIP templates that should be forwarded are */
			if (k <= 13 || k == 16 || k == 17)
				assert_true(v == XDP_TX || v == XDP_REDIRECT);
		}
	}
}

static void test_mutated_frames(void **state)
{
	struct fz *z = *state;
	struct tn_counter before[TN_R__COUNT];
	struct tally t = { 0 };
	struct tp_frame f;
	uint64_t n = (uint64_t)N_MUTATED * z->scale;

	reseed(z, 2);
	counters(z, before);
	for (uint64_t i = 0; i < n; i++) {
		template(z, (int)below(z, NTEMPLATES), &f);
		for (uint32_t m = 1 + below(z, 3); m; m--)
			mutate(z, &f);
		one(z, &f, &t, i);
	}
	check_counters(z, before, &t);
	assert_true(t.verdict[XDP_TX] > 0);
}

static void test_random_frames(void **state)
{
	struct fz *z = *state;
	struct tn_counter before[TN_R__COUNT];
	struct tally t = { 0 };
	struct tp_frame f;
	uint64_t n = (uint64_t)N_RANDOM * z->scale;

	reseed(z, 3);
	counters(z, before);
	for (uint64_t i = 0; i < n; i++) {
		random_frame(z, &f);
		one(z, &f, &t, i);
	}
	check_counters(z, before, &t);
}

/* Every prefix of every template, through the host parser only (the fixtures
 * run them through the program): no read past the end at any length. */
static void test_host_parser_every_length(void **state)
{
	struct fz *z = *state;
	struct tp_frame f;
	struct tn_pkt p;

	reseed(z, 4);
	for (int k = 0; k < NTEMPLATES; k++) {
		for (int i = 0; i < 20; i++) {
			template(z, k, &f);
			for (uint32_t len = f.len + 1; len-- > 0;) {
				uint32_t full = f.len;

				f.len = len;
				assert_true(host_parse(z, &f, &p) <= TN_PARSE_OTHER_L4);
				f.len = full;
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_templates_are_valid),
		cmocka_unit_test(test_mutated_frames),
		cmocka_unit_test(test_random_frames),
		cmocka_unit_test(test_host_parser_every_length),
	};

	return cmocka_run_group_tests_name("dataplane fuzz", tests, setup, teardown);
}
