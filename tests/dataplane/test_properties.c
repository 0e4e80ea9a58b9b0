/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Properties of server choice, through BPF_PROG_TEST_RUN on the real program:
 * stickiness over packets and swaps, weighted shares, minimal disruption on
 * removal, drain, down/up, backups, identical tables on independent loads,
 * stickiness modes, conntrack timeout, roundrobin and first balance.
 *
 * Which server got a packet = the destination MAC of the output frame
 * (server i has MAC 02:00:00:00:01:i).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include "dataplane/dataplane.h"
#include "tenace.h"
#include "packets.h"

#define MAXS        16
#define VIP_ADDR    0x0a000001u   /* 10.0.0.1 */
#define VIP_PORT    80
#define FARM_SLOT   3
#define PKT_LEN     (14 + 20 + 8 + 16)
#define SRC_MAC_LB  0x0e

/* A farm configuration: server i is present when present[i]. */
struct cfg {
	size_t n;
	uint16_t weight[MAXS];
	bool up[MAXS];
	bool backup[MAXS];
	bool absent[MAXS];
	uint32_t id[MAXS];
	uint32_t addr[MAXS];  /* 0: 192.168.1.(i+1) */
	uint16_t port[MAXS];  /* 0: 80 */
	uint8_t balance;
	uint8_t stickiness;
};

static void cfg_init(struct cfg *c, size_t n, uint8_t stickiness)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->stickiness = stickiness;
	c->balance = TN_BALANCE_SOURCE;
	for (size_t i = 0; i < n; i++) {
		c->weight[i] = 1;
		c->up[i] = true;
		c->id[i] = 100 + (uint32_t)i;
	}
}

static void server_mac(size_t i, uint8_t mac[6])
{
	const uint8_t m[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, (uint8_t)i };

	memcpy(mac, m, 6);
}

static void write_farm(struct tn_dp *dp, const struct cfg *c)
{
	struct tn_dp_server s[MAXS];
	struct tn_dp_farm f = {
		.farm_id = 7, .proto = IPPROTO_UDP, .balance = c->balance,
		.stickiness = c->stickiness, .servers = s,
	};
	size_t k = 0;

	memset(s, 0, sizeof(s));
	for (size_t i = 0; i < c->n; i++) {
		if (c->absent[i])
			continue;
		s[k].server_id = c->id[i];
		s[k].family = TN_FAMILY_V4;
		s[k].addr[0] = 192;
		s[k].addr[1] = 168;
		s[k].addr[2] = 1;
		s[k].addr[3] = (uint8_t)(i + 1);
		if (c->addr[i])
			tp_put32(s[k].addr, c->addr[i]);
		s[k].port = c->port[i] ? c->port[i] : 80;
		s[k].weight = c->weight[i];
		s[k].up = c->up[i];
		s[k].backup = c->backup[i];
		server_mac(i, s[k].mac);
		memset(s[k].src_mac, SRC_MAC_LB, 6);
		s[k].ifindex = 1;
		k++;
	}
	f.nservers = k;
	assert_int_equal(tn_dp_farm_write(dp, FARM_SLOT, &f, NULL), 0);
}

static struct tn_dp *open_dp(uint32_t udp_timeout_s, uint32_t seed)
{
	struct tn_dp_settings st;
	struct tn_dp *dp = NULL;
	struct tn_vip_key k = { .port = htons(VIP_PORT), .proto = IPPROTO_UDP,
				.family = TN_FAMILY_V4, .kind = TN_VIP_KIND_PORT };
	struct tn_vip v = { .farm_slot = FARM_SLOT, .vip_index = 5 };
	uint32_t a = htonl(VIP_ADDR);

	tn_dp_settings_default(&st);
	st.ct_size = 1u << 18;
	st.hash_seed = seed;
	/* these properties track every client at once (the budgets: test_admission) */
	st.udp_admit_rate = 0;
	st.tcp_admit_rate = 0;
	if (udp_timeout_s)
		st.udp_timeout_s = udp_timeout_s;
	assert_int_equal(tn_dp_open(&dp, "", &st), 0);
	memcpy(k.addr, &a, 4);
	assert_int_equal(tn_dp_vips_replace(dp, &k, &v, 1), 0);
	return dp;
}

#define R_DROP   (-1)
#define R_OTHER  (-2)

/* Send one packet; the index of the server it went to, or R_DROP/R_OTHER. */
static int pick(struct tn_dp *dp, uint32_t src, uint16_t sport)
{
	uint8_t pkt[PKT_LEN], out[PKT_LEN + 64];
	struct xdp_md ctx = { .data_end = PKT_LEN, .ingress_ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = pkt, .data_size_in = PKT_LEN,
		.data_out = out, .data_size_out = sizeof(out),
		.ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		.repeat = 1);
	uint8_t want_src[6];

	tp_udp4(pkt, PKT_LEN, src, sport, VIP_ADDR, VIP_PORT);
	if (bpf_prog_test_run_opts(tn_dp_prog_fd(dp), &o))
		fail_msg("BPF_PROG_TEST_RUN: %s", strerror(errno));
	if (o.retval == XDP_DROP)
		return R_DROP;
	if (o.retval != XDP_TX || o.data_size_out != PKT_LEN)
		return R_OTHER;
	memset(want_src, SRC_MAC_LB, 6);
	if (memcmp(out + 6, want_src, 6) || out[0] != 0x02 || out[4] != 0x01 || out[5] >= MAXS)
		return R_OTHER;
	if (memcmp(out + 12, pkt + 12, PKT_LEN - 12))
		fail_msg("the IP packet was modified");
	return out[5];
}

static uint32_t client(uint32_t base, uint32_t i) { return base + i; }
static uint16_t cport(uint32_t i) { return (uint16_t)(10000 + i % 50000); }

static uint64_t reason(struct tn_dp *dp, enum tn_reason r)
{
	struct tn_counter c[TN_R__COUNT];

	assert_int_equal(tn_dp_reason_counters(dp, c), 0);
	return c[r].packets;
}

/* Send clients [0, n) of base once; their servers into out[] (all forwarded). */
static void pick_all(struct tn_dp *dp, uint32_t base, size_t n, int8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int s = pick(dp, client(base, (uint32_t)i), cport((uint32_t)i));

		if (s < 0)
			fail_msg("client %zu: not forwarded (%d)", i, s);
		out[i] = (int8_t)s;
	}
}

#define NCLIENTS 10000
static int8_t first[100000], again[100000];

/* 1. Each client always reaches the same server, over repeated packets and
 * across swaps that keep its server (other servers' weights change). */
static void test_sticky_over_packets_and_swaps(void **state)
{
	struct tn_dp *dp = open_dp(0, 0);
	struct cfg c;
	size_t per[MAXS] = { 0 };

	cfg_init(&c, 5, TN_STICKY_SOURCE_IP);
	write_farm(dp, &c);
	pick_all(dp, 0x0b000000, NCLIENTS, first);
	for (size_t i = 0; i < NCLIENTS; i++)
		per[first[i]]++;
	for (size_t s = 0; s < 5; s++)
		assert_true(per[s] > NCLIENTS / 10);
	for (int rep = 0; rep < 2; rep++) {
		pick_all(dp, 0x0b000000, NCLIENTS, again);
		assert_memory_equal(first, again, NCLIENTS);
	}
	/* swaps: weights of the servers change, every server stays */
	static const uint16_t w[3][5] = { { 5, 1, 1, 1, 1 }, { 1, 0, 3, 256, 2 }, { 1, 1, 1, 1, 9 } };
	for (int k = 0; k < 3; k++) {
		uint64_t hits = reason(dp, TN_R_CT_HIT);

		memcpy(c.weight, w[k], sizeof(w[k]));
		write_farm(dp, &c);
		pick_all(dp, 0x0b000000, NCLIENTS, again);
		assert_memory_equal(first, again, NCLIENTS);
		assert_int_equal(reason(dp, TN_R_CT_HIT) - hits, NCLIENTS);
	}
	tn_dp_close(dp);
}

/* 2. Shares of new clients follow the weights within 2 percentage points. */
static void check_shares(const uint16_t *w, size_t n)
{
	struct tn_dp *dp = open_dp(0, 0);
	const size_t N = 100000;
	size_t per[MAXS] = { 0 };
	double sum = 0;
	struct cfg c;

	cfg_init(&c, n, TN_STICKY_SOURCE_IP);
	memcpy(c.weight, w, n * sizeof(*w));
	write_farm(dp, &c);
	pick_all(dp, 0x0c000000, N, first);
	for (size_t i = 0; i < N; i++)
		per[first[i]]++;
	for (size_t s = 0; s < n; s++)
		sum += w[s];
	for (size_t s = 0; s < n; s++) {
		double got = 100.0 * per[s] / N, want = 100.0 * w[s] / sum;

		printf("# server %zu weight %u: %.2f %% (want %.2f %%)\n", s, w[s], got, want);
		if (got > want + 2 || got < want - 2)
			fail_msg("server %zu weight %u got %.2f %% of new clients, want %.2f %% +- 2",
				 s, w[s], got, want);
	}
	assert_int_equal(reason(dp, TN_R_CT_NEW), N);
	tn_dp_close(dp);
}

static void test_shares_follow_weights(void **state)
{
	static const uint16_t w1[4] = { 1, 2, 3, 4 };
	static const uint16_t w2[6] = { 256, 10, 100, 1, 50, 50 };

	check_shares(w1, 4);
	check_shares(w2, 6);
}

/* 3. Removing one of n servers: its clients move, nobody else does. */
static void check_removal(size_t n, size_t victim)
{
	struct tn_dp *dp = open_dp(0, 0);
	const size_t N = 20000;
	size_t moved = 0, on_victim = 0;
	struct cfg c;

	cfg_init(&c, n, TN_STICKY_SOURCE_IP);
	write_farm(dp, &c);
	pick_all(dp, 0x0d000000, N, first);
	c.absent[victim] = true;
	write_farm(dp, &c);
	pick_all(dp, 0x0d000000, N, again);
	for (size_t i = 0; i < N; i++) {
		if (first[i] == (int8_t)victim) {
			on_victim++;
			if (again[i] == (int8_t)victim)
				fail_msg("client %zu still reaches the removed server", i);
		} else if (again[i] != first[i]) {
			fail_msg("client %zu moved from surviving server %d to %d", i, first[i], again[i]);
		}
		moved += again[i] != first[i];
	}
	printf("# remove 1 of %zu: %.2f %% of clients moved\n", n, 100.0 * moved / N);
	assert_int_equal(moved, on_victim);
	assert_true(100.0 * moved / N <= 100.0 / n + 1);
	assert_true(reason(dp, TN_R_CT_RESCHEDULED) == on_victim);
	tn_dp_close(dp);
}

static void test_removal_moves_few(void **state)
{
	check_removal(5, 1);
	check_removal(10, 7);
}

/* 4. Weight 0 drains: tracked clients stay, new clients go elsewhere. */
static void test_weight_zero_drains(void **state)
{
	struct tn_dp *dp = open_dp(0, 0);
	size_t on2 = 0;
	struct cfg c;

	cfg_init(&c, 4, TN_STICKY_SOURCE_IP);
	write_farm(dp, &c);
	pick_all(dp, 0x0e000000, NCLIENTS, first);
	c.weight[2] = 0;
	write_farm(dp, &c);
	pick_all(dp, 0x0e000000, NCLIENTS, again);
	assert_memory_equal(first, again, NCLIENTS);     /* tracked, even on server 2, stay */
	for (size_t i = 0; i < NCLIENTS; i++)
		on2 += first[i] == 2;
	assert_true(on2 > NCLIENTS / 8);
	pick_all(dp, 0x0f000000, NCLIENTS, again);      /* new clients */
	for (size_t i = 0; i < NCLIENTS; i++)
		if (again[i] == 2)
			fail_msg("new client %zu went to the draining server", i);
	tn_dp_close(dp);
}

/* 5. A server marked down loses its clients at once (only they move); back
 * up, it gets new clients but the moved ones are not moved back. */
static void test_down_moves_only_its_clients(void **state)
{
	struct tn_dp *dp = open_dp(0, 0);
	static int8_t down[NCLIENTS];
	size_t moved = 0, new_on2 = 0;
	uint64_t before, after;
	struct cfg c;

	cfg_init(&c, 4, TN_STICKY_SOURCE_IP);
	write_farm(dp, &c);
	pick_all(dp, 0x10000000, NCLIENTS, first);
	assert_int_equal(tn_dp_ct_count(dp, &before), 0);
	c.up[2] = false;
	write_farm(dp, &c);
	pick_all(dp, 0x10000000, NCLIENTS, down);
	/* a re-decided client's entry is rewritten in its own way, not added */
	assert_int_equal(tn_dp_ct_count(dp, &after), 0);
	assert_int_equal(after, before);
	for (size_t i = 0; i < NCLIENTS; i++) {
		if (first[i] == 2)
			assert_int_not_equal(down[i], 2);
		else if (down[i] != first[i])
			fail_msg("client %zu of a healthy server moved from %d to %d", i, first[i], down[i]);
		moved += down[i] != first[i];
	}
	assert_true(moved > NCLIENTS / 8);
	c.up[2] = true;
	write_farm(dp, &c);
	pick_all(dp, 0x10000000, NCLIENTS, again);
	assert_memory_equal(down, again, NCLIENTS);
	pick_all(dp, 0x11000000, NCLIENTS, again);      /* new clients reach it again */
	for (size_t i = 0; i < NCLIENTS; i++)
		new_on2 += again[i] == 2;
	assert_true(new_on2 > NCLIENTS / 8);
	tn_dp_close(dp);
}

/* 6. Backups take new clients only when no primary is up. */
static void test_backup_only_when_no_primary(void **state)
{
	struct tn_dp *dp = open_dp(0, 0);
	struct cfg c;

	cfg_init(&c, 4, TN_STICKY_SOURCE_IP);
	c.backup[2] = c.backup[3] = true;
	write_farm(dp, &c);
	pick_all(dp, 0x12000000, NCLIENTS, first);
	for (size_t i = 0; i < NCLIENTS; i++)
		assert_true(first[i] == 0 || first[i] == 1);
	c.up[0] = false;                                /* one primary left */
	write_farm(dp, &c);
	pick_all(dp, 0x12000000, NCLIENTS, again);
	for (size_t i = 0; i < NCLIENTS; i++)
		assert_int_equal(again[i], 1);
	c.up[1] = false;                                /* none: backups */
	write_farm(dp, &c);
	pick_all(dp, 0x12000000, NCLIENTS, again);
	size_t per[MAXS] = { 0 };
	for (size_t i = 0; i < NCLIENTS; i++)
		per[again[i]]++;
	assert_int_equal(per[2] + per[3], NCLIENTS);
	assert_true(per[2] > NCLIENTS / 4 && per[3] > NCLIENTS / 4);
	c.up[3] = false;                                /* one backup left */
	write_farm(dp, &c);
	pick_all(dp, 0x13000000, NCLIENTS, again);
	for (size_t i = 0; i < NCLIENTS; i++)
		assert_int_equal(again[i], 2);
	c.up[1] = true;                                 /* a primary is back */
	write_farm(dp, &c);
	pick_all(dp, 0x14000000, NCLIENTS, again);
	for (size_t i = 0; i < NCLIENTS; i++)
		assert_int_equal(again[i], 1);
	c.up[0] = c.up[1] = c.up[2] = c.up[3] = false;  /* nobody: counted drops */
	write_farm(dp, &c);
	uint64_t d = reason(dp, TN_R_DROP_NO_SERVER);
	assert_int_equal(pick(dp, 0x15000000, 1), R_DROP);
	assert_int_equal(reason(dp, TN_R_DROP_NO_SERVER), d + 1);
	tn_dp_close(dp);
}

/* 6b. Primaries that are up but drained (weight 0, as `inactive` is written)
 * take no new clients: the backups do, while the primaries keep the clients
 * they tracked. */
static void test_backup_when_primaries_drained(void **state)
{
	struct tn_dp *dp = open_dp(0, 0);
	struct cfg c;

	cfg_init(&c, 3, TN_STICKY_SOURCE_IP);
	c.backup[2] = true;
	write_farm(dp, &c);
	pick_all(dp, 0x16000000, NCLIENTS, first);
	for (size_t i = 0; i < NCLIENTS; i++)
		assert_true(first[i] == 0 || first[i] == 1);
	c.weight[0] = c.weight[1] = 0;                  /* maintenance: drain both */
	write_farm(dp, &c);
	pick_all(dp, 0x17000000, NCLIENTS, again);      /* new clients: the backup */
	for (size_t i = 0; i < NCLIENTS; i++)
		assert_int_equal(again[i], 2);
	pick_all(dp, 0x16000000, NCLIENTS, again);      /* tracked ones stay */
	assert_memory_equal(first, again, NCLIENTS);
	tn_dp_close(dp);
}

/* 7. Two independent loads with the same configuration and seed build
 * byte-identical tables and pick the same server for the same client; a
 * different history of writes must not change the choice either. */
static void test_independent_builds_agree(void **state)
{
	struct tn_dp *a = open_dp(0, 0x5eed), *b = open_dp(0, 0x5eed), *h = open_dp(0, 0x5eed);
	uint32_t size = tn_dp_get_settings(a)->table_size;
	uint16_t *ta = calloc(size, 2), *tb = calloc(size, 2);
	struct tn_server *sa = calloc(TN_MAX_SERVERS, sizeof(*sa)), *sb = calloc(TN_MAX_SERVERS, sizeof(*sb));
	struct tn_farm_hdr ha, hb;
	static int8_t third[NCLIENTS];
	struct cfg c, other;

	assert_non_null(ta);
	assert_non_null(tb);
	assert_non_null(sa);
	assert_non_null(sb);
	cfg_init(&c, 7, TN_STICKY_SOURCE_IP);
	for (size_t i = 0; i < 7; i++)
		c.weight[i] = (uint16_t)(1 + i * 3);
	write_farm(a, &c);
	write_farm(b, &c);
	assert_int_equal(tn_dp_farm_read(a, FARM_SLOT, &ha, sa, ta), 0);
	assert_int_equal(tn_dp_farm_read(b, FARM_SLOT, &hb, sb, tb), 0);
	/* the conntrack identities (incarnation numbers) are each node's own: all the rest is equal */
	ha.next_incarnation = hb.next_incarnation = 0;
	for (size_t i = 0; i < TN_MAX_SERVERS; i++)
		sa[i].tag = sb[i].tag = 0;
	assert_memory_equal(&ha, &hb, sizeof(ha));
	assert_memory_equal(sa, sb, TN_MAX_SERVERS * sizeof(*sa));
	assert_memory_equal(ta, tb, size * 2);
	/* h reaches the same configuration through another one (other slots) */
	cfg_init(&other, 10, TN_STICKY_SOURCE_IP);
	other.absent[0] = other.absent[3] = true;
	write_farm(h, &other);
	write_farm(h, &c);
	pick_all(a, 0x16000000, NCLIENTS, first);
	pick_all(b, 0x16000000, NCLIENTS, again);
	pick_all(h, 0x16000000, NCLIENTS, third);
	assert_memory_equal(first, again, NCLIENTS);
	assert_memory_equal(first, third, NCLIENTS);
	/* another seed: another table (the seed is really used) */
	struct tn_dp *d = open_dp(0, 0x5eee);
	write_farm(d, &c);
	assert_int_equal(tn_dp_farm_read(d, FARM_SLOT, NULL, NULL, tb), 0);
	assert_memory_not_equal(ta, tb, size * 2);
	tn_dp_close(d);
	free(ta);
	free(tb);
	free(sa);
	free(sb);
	tn_dp_close(a);
	tn_dp_close(b);
	tn_dp_close(h);
}

/* 8. sourceIp: every port of one client on one server; none: flows spread. */
static void test_stickiness_modes(void **state)
{
	struct tn_dp *dp = open_dp(0, 0);
	size_t per[MAXS] = { 0 };
	struct cfg c;
	int s0;

	cfg_init(&c, 5, TN_STICKY_SOURCE_IP);
	write_farm(dp, &c);
	s0 = pick(dp, 0x17000001, 1000);
	assert_true(s0 >= 0);
	for (uint32_t p = 1; p < 2000; p++)
		assert_int_equal(pick(dp, 0x17000001, (uint16_t)(1000 + p)), s0);

	tn_dp_close(dp);
	dp = open_dp(0, 0);
	cfg_init(&c, 5, TN_STICKY_NONE);
	write_farm(dp, &c);
	for (uint32_t p = 0; p < 2000; p++) {
		int s = pick(dp, 0x17000001, (uint16_t)(1000 + p));

		assert_true(s >= 0 && s < 5);
		per[s]++;
		/* a flow keeps its server */
		assert_int_equal(pick(dp, 0x17000001, (uint16_t)(1000 + p)), s);
	}
	for (size_t s = 0; s < 5; s++) {
		printf("# stickiness none, one client: server %zu has %zu of 2000 flows\n", s, per[s]);
		assert_true(per[s] > 2000 / 5 - 150 && per[s] < 2000 / 5 + 150);
	}
	tn_dp_close(dp);
}

/* 9. A conntrack entry idle past the timeout is re-decided on the table. */
static void test_conntrack_timeout(void **state)
{
	struct tn_dp *dp = open_dp(1, 0);
	const size_t N = 200;
	size_t on1 = 0;
	struct cfg c;
	uint64_t exp;

	cfg_init(&c, 3, TN_STICKY_SOURCE_IP);
	write_farm(dp, &c);
	pick_all(dp, 0x18000000, N, first);
	for (size_t i = 0; i < N; i++)
		on1 += first[i] == 1;
	assert_true(on1 > 0);
	c.weight[1] = 0;                                /* drain server 1 */
	write_farm(dp, &c);
	pick_all(dp, 0x18000000, N, again);
	assert_memory_equal(first, again, N);           /* tracked: they stay */
	exp = reason(dp, TN_R_CT_EXPIRED);
	assert_int_equal(exp, 0);
	usleep(2100 * 1000);
	pick_all(dp, 0x18000000, N, again);             /* idle 2.1 s > 1 s */
	assert_int_equal(reason(dp, TN_R_CT_EXPIRED), N);
	for (size_t i = 0; i < N; i++) {
		if (again[i] == 1)
			fail_msg("client %zu: expired entry was not re-decided (still on the draining server)", i);
		if (first[i] != 1 && again[i] != first[i])
			fail_msg("client %zu moved from %d to %d on re-decision", i, first[i], again[i]);
	}
	tn_dp_close(dp);
}

/* 9b. A busy client is never expired: packets 0.4 s apart with a 1 s
 * timeout keep its entry (the coarse timestamp refresh must not let a live
 * flow look idle), so a drained server keeps its busy clients. */
static void test_busy_client_not_expired(void **state)
{
	struct tn_dp *dp = open_dp(1, 0);
	struct cfg c;
	int s0, s;

	cfg_init(&c, 3, TN_STICKY_SOURCE_IP);
	write_farm(dp, &c);
	s0 = pick(dp, 0x18800001, 4000);
	assert_true(s0 >= 0);
	c.weight[s0] = 0;                               /* drain its server */
	write_farm(dp, &c);
	for (int k = 0; k < 8; k++) {
		usleep(400 * 1000);
		s = pick(dp, 0x18800001, 4000);
		if (s != s0 || reason(dp, TN_R_CT_EXPIRED))
			fail_msg("packet %d, %.1f s after the first, 0.4 s after the previous: %s "
				 "(server %d -> %d, %llu expired)", k + 1, 0.4 * (k + 1),
				 "a live flow was expired", s0, s,
				 (unsigned long long)reason(dp, TN_R_CT_EXPIRED));
	}
	tn_dp_close(dp);
}

/* 9c. The data plane counts time in jiffies (inlined, user/dataplane/clock.c)
 * but stores CLOCK_MONOTONIC_COARSE ns, the clock user space judges expiry
 * with: a new client's timestamp lies between the coarse clock read just
 * before its packet and just after, give or take one jiffy. */
struct stamp_of {
	uint32_t src;
	uint64_t ns;
	int found;
};

static int find_stamp(void *arg, const struct tn_ct_clock *clk, const struct tn_ct_key *k,
		      const struct tn_ct_value *v)
{
	struct stamp_of *s = arg;

	(void)clk;
	if (k->family == TN_FAMILY_V4 && !memcmp(k->src, &(uint32_t){ htonl(s->src) }, 4)) {
		s->ns = v->last_seen_ns;
		s->found++;
	}
	return 0;
}

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void test_conntrack_time_is_the_coarse_clock(void **state)
{
	struct tn_dp *dp = open_dp(0, 0);
	struct timespec res;
	struct cfg c;

	clock_getres(CLOCK_MONOTONIC_COARSE, &res);
	cfg_init(&c, 3, TN_STICKY_SOURCE_IP);
	write_farm(dp, &c);
	for (uint32_t i = 0; i < 20; i++) {
		struct stamp_of s = { .src = 0x18900001 + i };
		uint64_t before, after, slack = (uint64_t)res.tv_nsec + 1000000;

		before = coarse_ns();
		assert_true(pick(dp, s.src, 4000) >= 0);
		after = coarse_ns();
		assert_int_equal(tn_dp_ct_foreach(dp, find_stamp, &s), 0);
		assert_int_equal(s.found, 1);
		if (s.ns + slack < before || s.ns > after + slack)
			fail_msg("client %u: conntrack timestamp %llu ns, the coarse clock read %llu before its "
				 "packet and %llu after (a jiffy is %ld ns): the data plane's clock is not "
				 "CLOCK_MONOTONIC_COARSE", i, (unsigned long long)s.ns, (unsigned long long)before,
				 (unsigned long long)after, res.tv_nsec);
		usleep(3000);
	}
	tn_dp_close(dp);
}

/* 10. roundrobin spreads new clients, then keeps each on its server. */
static void test_roundrobin(void **state)
{
	struct tn_dp *dp = open_dp(0, 0);
	size_t per[MAXS] = { 0 };
	struct cfg c;

	cfg_init(&c, 4, TN_STICKY_SOURCE_IP);
	c.balance = TN_BALANCE_ROUNDROBIN;
	write_farm(dp, &c);
	pick_all(dp, 0x19000000, NCLIENTS, first);
	for (size_t i = 0; i < NCLIENTS; i++)
		per[first[i]]++;
	for (size_t s = 0; s < 4; s++)
		assert_true(per[s] > NCLIENTS / 4 - NCLIENTS / 20 && per[s] < NCLIENTS / 4 + NCLIENTS / 20);
	for (int rep = 0; rep < 3; rep++) {
		pick_all(dp, 0x19000000, NCLIENTS, again);
		assert_memory_equal(first, again, NCLIENTS);
	}
	tn_dp_close(dp);
}

/* 11. first: everything to the lowest serverId up. */
static void test_first(void **state)
{
	struct tn_dp *dp = open_dp(0, 0);
	struct cfg c;

	cfg_init(&c, 4, TN_STICKY_SOURCE_IP);
	c.balance = TN_BALANCE_FIRST;
	c.id[0] = 40;
	c.id[1] = 7;
	c.id[2] = 3;    /* lowest */
	c.id[3] = 12;
	write_farm(dp, &c);
	pick_all(dp, 0x1a000000, 2000, first);
	for (size_t i = 0; i < 2000; i++)
		assert_int_equal(first[i], 2);
	c.up[2] = false;                                /* next lowest: id 7 */
	write_farm(dp, &c);
	pick_all(dp, 0x1a000000, 2000, again);
	for (size_t i = 0; i < 2000; i++)
		assert_int_equal(again[i], 1);
	c.up[2] = true;                                 /* back: new clients to it, tracked stay */
	write_farm(dp, &c);
	pick_all(dp, 0x1a000000, 2000, again);
	for (size_t i = 0; i < 2000; i++)
		assert_int_equal(again[i], 1);
	pick_all(dp, 0x1b000000, 2000, again);
	for (size_t i = 0; i < 2000; i++)
		assert_int_equal(again[i], 2);
	tn_dp_close(dp);
}

/* 12. An idle client whose server still takes new clients keeps it past
 * the timeout, in every balance mode, even when the table changed meanwhile
 * (roundrobin would draw again, source would follow the new table). */
static void test_idle_client_keeps_its_server(void **state)
{
	static const uint8_t modes[] = { TN_BALANCE_SOURCE, TN_BALANCE_ROUNDROBIN, TN_BALANCE_FIRST };
	static const char *const names[] = { "source", "roundrobin", "first" };
	const size_t N = 300;

	for (size_t m = 0; m < sizeof(modes); m++) {
		struct tn_dp *dp = open_dp(1, 0);
		uint32_t base = 0x1c000000 + (uint32_t)m * 0x10000;
		struct cfg c;

		cfg_init(&c, 4, TN_STICKY_SOURCE_IP);
		c.balance = modes[m];
		write_farm(dp, &c);
		pick_all(dp, base, N, first);
		usleep(2100 * 1000);                    /* idle 2.1 s > 1 s */
		c.weight[0] = 5;                        /* the table changes; every server stays in it */
		c.weight[3] = 3;
		write_farm(dp, &c);
		pick_all(dp, base, N, again);
		if (reason(dp, TN_R_CT_EXPIRED) != N)
			fail_msg("%s: %llu of %zu idle clients counted expired", names[m],
				 (unsigned long long)reason(dp, TN_R_CT_EXPIRED), N);
		for (size_t i = 0; i < N; i++)
			if (again[i] != first[i])
				fail_msg("%s: idle client %zu moved from server %d to %d although its server is "
					 "still in the table", names[m], i, first[i], again[i]);
		tn_dp_close(dp);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Two servers (192.168.2.x, port) whose identity hashes collide: found by
 * the birthday bound among 4 x 65535 candidates. */
static bool colliding_servers(uint32_t *a1, uint16_t *p1, uint32_t *a2, uint16_t *p2)
{
	const size_t n = 4 * 65535;
	uint64_t *v = malloc(n * sizeof(*v));
	bool found = false;

	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		uint8_t a[16] = { 192, 168, 2, (uint8_t)(10 + i / 65535) };

		v[i] = (uint64_t)tn_server_tag(TN_FAMILY_V4, a, (uint16_t)(1 + i % 65535)) << 32 | i;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 1; i < n && !found; i++) {
		if (v[i] >> 32 != v[i - 1] >> 32)
			continue;
		uint32_t x = (uint32_t)v[i - 1], y = (uint32_t)v[i];

		*a1 = 0xc0a8020a + x / 65535, *p1 = (uint16_t)(1 + x % 65535);
		*a2 = 0xc0a8020a + y / 65535, *p2 = (uint16_t)(1 + y % 65535);
		found = true;
	}
	free(v);
	return found;
}

/* 13. A slot reused by another server never inherits the clients tracked to
 * the previous one, even when the two servers' addresses hash alike: the
 * identity conntrack checks is the farm's incarnation number, not a hash. */
static void test_slot_reuse_exact_identity(void **state)
{
	struct tn_dp *dp = open_dp(0, 0);
	uint32_t a1, a2, src = 0;
	uint16_t p1, p2;
	uint64_t hits, resched;
	struct cfg c;
	int s = -1;

	assert_true(colliding_servers(&a1, &p1, &a2, &p2));
	cfg_init(&c, 3, TN_STICKY_SOURCE_IP);
	c.addr[0] = a1, c.port[0] = p1;                 /* server 0: A */
	c.addr[2] = a2, c.port[2] = p2;                 /* server 2: D, the same hash as A */
	c.absent[2] = true;
	write_farm(dp, &c);                             /* A in slot 0, B in slot 1 */
	for (uint32_t i = 0; i < 1000 && s != 0; i++)
		s = pick(dp, src = 0x1d000000 + i, 1000);
	assert_int_equal(s, 0);                         /* a client tracked to A */
	c.absent[0] = true;
	write_farm(dp, &c);                             /* A leaves (no packet in between) */
	c.absent[2] = false;
	write_farm(dp, &c);                             /* D takes slot 0, free in the previous generation */
	hits = reason(dp, TN_R_CT_HIT);
	resched = reason(dp, TN_R_CT_RESCHEDULED);
	s = pick(dp, src, 1000);
	assert_true(s == 1 || s == 2);
	if (reason(dp, TN_R_CT_HIT) != hits || reason(dp, TN_R_CT_RESCHEDULED) != resched + 1)
		fail_msg("the client tracked to the removed server was taken as D's (hit %llu -> %llu, "
			 "rescheduled %llu -> %llu): D inherited A's clients",
			 (unsigned long long)hits, (unsigned long long)reason(dp, TN_R_CT_HIT),
			 (unsigned long long)resched, (unsigned long long)reason(dp, TN_R_CT_RESCHEDULED));
	tn_dp_close(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sticky_over_packets_and_swaps),
		cmocka_unit_test(test_shares_follow_weights),
		cmocka_unit_test(test_removal_moves_few),
		cmocka_unit_test(test_weight_zero_drains),
		cmocka_unit_test(test_down_moves_only_its_clients),
		cmocka_unit_test(test_backup_only_when_no_primary),
		cmocka_unit_test(test_backup_when_primaries_drained),
		cmocka_unit_test(test_independent_builds_agree),
		cmocka_unit_test(test_stickiness_modes),
		cmocka_unit_test(test_conntrack_timeout),
		cmocka_unit_test(test_busy_client_not_expired),
		cmocka_unit_test(test_conntrack_time_is_the_coarse_clock),
		cmocka_unit_test(test_roundrobin),
		cmocka_unit_test(test_first),
		cmocka_unit_test(test_idle_client_keeps_its_server),
		cmocka_unit_test(test_slot_reuse_exact_identity),
	};

	return cmocka_run_group_tests_name("dataplane properties", tests, NULL, NULL);
}
