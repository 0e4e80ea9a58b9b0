/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Atomic farm swap: one thread rewrites a farm thousands of times, alternating
 * configurations A and B, while this thread sends packets from new clients
 * through BPF_PROG_TEST_RUN. Every packet must be forwarded exactly as A alone
 * or B alone would forward it: A's servers have MACs 02:aa:..:i, B's
 * 02:bb:..:i, and their tables differ, so a packet that saw A's table with B's
 * servers (or a half-written table) lands on a MAC that neither predicts.
 *
 * Predictions are made in user space from each configuration's table read
 * back with tn_dp_farm_read, hashed with the same tn_hash_ct_key/tn_reduce as
 * the program; the predictor is itself checked against the program first.
 *
 * A swap costs one RCU grace period (the kernel waits in every update of a
 * map-in-map slot, about 12 ms here), so 2000 swaps take some 30 seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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

#define NSRV       9
#define VIP_ADDR   0x0a000001u   /* 10.0.0.1 */
#define VIP_PORT   53
#define FARM_SLOT  11
#define SEED       0xa7031cu
#define PKT_LEN    (14 + 20 + 8 + 8)
#define MIN_SECONDS 3.0
#define MAX_SECONDS 120.0

/* A generation: its farm as written and as read back. */
struct gen {
	struct tn_dp_server srv[NSRV];
	struct tn_dp_farm farm;
	struct tn_farm_hdr hdr;
	struct tn_server *servers;   /* TN_MAX_SERVERS */
	uint16_t *table;
	uint8_t tag;                 /* 0xaa or 0xbb: second byte of its MACs */
};

static struct tn_dp *dp;
static uint32_t table_size;
static struct gen ga, gb;
static atomic_bool stop;
static atomic_ulong swaps;
static atomic_int swap_err;
static pthread_t swapper_thread;
static bool swapper_running;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* servers: `first`..first+n-1 of the address pool, weights from w */
static void gen_init(struct gen *g, uint8_t tag, size_t first, const uint16_t *w, uint8_t stickiness)
{
	memset(g->srv, 0, sizeof(g->srv));
	for (size_t i = 0; i < NSRV - 1; i++) {
		struct tn_dp_server *s = &g->srv[i];
		size_t a = first + i;

		s->server_id = (uint32_t)a;
		s->family = TN_FAMILY_V4;
		s->addr[0] = 192;
		s->addr[1] = 168;
		s->addr[2] = 7;
		s->addr[3] = (uint8_t)(a + 1);
		s->port = VIP_PORT;
		s->weight = w[i];
		s->up = true;
		const uint8_t mac[6] = { 0x02, tag, 0x00, 0x00, 0x00, (uint8_t)a };
		memcpy(s->mac, mac, 6);
		memset(s->src_mac, 0x0e, 6);
		s->ifindex = 1;
	}
	g->tag = tag;
	g->farm = (struct tn_dp_farm){ .farm_id = 1, .proto = IPPROTO_UDP, .balance = TN_BALANCE_SOURCE,
				       .stickiness = stickiness, .servers = g->srv, .nservers = NSRV - 1 };
	g->servers = calloc(TN_MAX_SERVERS, sizeof(*g->servers));
	g->table = calloc(table_size, sizeof(uint16_t));
	assert_non_null(g->servers);
	assert_non_null(g->table);
}

static void gen_free(struct gen *g)
{
	free(g->servers);
	free(g->table);
}

static void gen_write_and_read(struct gen *g)
{
	assert_int_equal(tn_dp_farm_write(dp, FARM_SLOT, &g->farm, NULL), 0);
	assert_int_equal(tn_dp_farm_read(dp, FARM_SLOT, &g->hdr, g->servers, g->table), 0);
}

/* Run one packet: 0 and the destination MAC when forwarded with XDP_TX. */
static int send_one(uint32_t src, uint16_t sport, uint8_t mac[6], uint32_t *action)
{
	uint8_t pkt[PKT_LEN], out[PKT_LEN + 64];
	struct xdp_md ctx = { .data_end = PKT_LEN, .ingress_ifindex = 1 };
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = pkt, .data_size_in = PKT_LEN,
		.data_out = out, .data_size_out = sizeof(out),
		.ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		.repeat = 1);

	tp_udp4(pkt, PKT_LEN, src, sport, VIP_ADDR, VIP_PORT);
	if (bpf_prog_test_run_opts(tn_dp_prog_fd(dp), &o))
		fail_msg("BPF_PROG_TEST_RUN: %s", strerror(errno));
	*action = o.retval;
	memcpy(mac, out, 6);
	return o.retval == XDP_TX && o.data_size_out == PKT_LEN ? 0 : -1;
}

/* What generation g does with a new client: the MAC of its server. */
static void predict(const struct gen *g, uint32_t src, uint16_t sport, uint8_t mac[6])
{
	struct tn_ct_key k = { 0 };
	uint32_t s = htonl(src), d = htonl(VIP_ADDR), idx;
	uint16_t slot;

	k.farm_slot = FARM_SLOT;
	k.family = TN_FAMILY_V4;
	memcpy(k.src, &s, 4);
	if (g->hdr.stickiness != TN_STICKY_SOURCE_IP) {
		memcpy(k.dst, &d, 4);
		k.sport = htons(sport);
		k.dport = htons(VIP_PORT);
		k.proto = IPPROTO_UDP;
	}
	idx = tn_reduce(tn_hash_ct_key(&k, SEED), table_size);
	slot = g->table[idx];
	assert_true(slot < TN_MAX_SERVERS);
	memcpy(mac, g->servers[slot].mac, 6);
}

/* Negative control (TN_ATOMICITY_IN_PLACE=1): overwrite the live inner map's
 * value instead of swapping, as Katran does; the test must then fail. */
static bool in_place;
static void *value_a, *value_b;
static int live_fd = -1;

static int farm_value_fd(void)
{
	uint32_t id, slot = FARM_SLOT;

	if (bpf_map_lookup_elem(tn_dp_map_fd(dp, "farms"), &slot, &id))
		return -errno;
	return bpf_map_get_fd_by_id(id);
}

static void save_value(void **v)
{
	uint32_t zero = 0;
	int fd = farm_value_fd();

	assert_true(fd >= 0);
	*v = calloc(1, tn_farm_value_size(table_size));
	assert_non_null(*v);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, *v), 0);
	close(fd);
}

static void *swapper(void *arg)
{
	while (!atomic_load(&stop)) {
		const struct gen *g = (atomic_load(&swaps) & 1) ? &ga : &gb;
		uint32_t zero = 0;
		int err = in_place ? bpf_map_update_elem(live_fd, &zero, g == &ga ? value_a : value_b, BPF_ANY)
			: tn_dp_farm_write(dp, FARM_SLOT, &g->farm, NULL);

		if (err) {
			atomic_store(&swap_err, err);
			break;
		}
		atomic_fetch_add(&swaps, 1);
	}
	return NULL;
}

static void run_race(uint32_t client_base, bool vary_port, unsigned long min_swaps)
{
	unsigned long packets = 0, bad = 0, dropped = 0, both = 0, saw_a = 0, saw_b = 0;
	uint64_t gen_before, gen_after;
	struct tn_farm_hdr h;
	double t0;
	uint32_t i;

	/* the predictor agrees with the program for each generation alone */
	for (int k = 0; k < 2; k++) {
		struct gen *g = k ? &gb : &ga;

		gen_write_and_read(g);
		if (in_place)
			save_value(k ? &value_b : &value_a);
		for (i = 0; i < 500; i++) {
			uint8_t got[6], want[6];
			uint32_t act;
			uint32_t src = (client_base ^ 0x40000000u) + k * 1000 + i;
			uint16_t port = (uint16_t)(vary_port ? 1024 + i * 7 : 5353);

			if (send_one(src, port, got, &act))
				fail_msg("generation %c alone: action %u", k ? 'B' : 'A', act);
			predict(g, src, port, want);
			assert_memory_equal(got, want, 6);
		}
	}
	assert_memory_not_equal(ga.table, gb.table, table_size * 2);

	/* B is in place; the swapper starts with A */
	assert_int_equal(tn_dp_farm_read(dp, FARM_SLOT, &h, NULL, NULL), 0);
	gen_before = h.generation;
	if (in_place)
		live_fd = farm_value_fd();
	atomic_store(&stop, false);
	atomic_store(&swaps, 0);
	atomic_store(&swap_err, 0);
	assert_int_equal(pthread_create(&swapper_thread, NULL, swapper, NULL), 0);
	swapper_running = true;
	t0 = now_s();
	for (i = 0;; i++) {
		double el = now_s() - t0;
		uint8_t got[6], pa[6], pb[6];
		uint32_t act, src = client_base + i;   /* a new client: the table path */
		uint16_t port = (uint16_t)(vary_port ? 1024 + (i * 2654435761u >> 16) % 60000 : 5353);

		if ((el >= MIN_SECONDS && atomic_load(&swaps) >= min_swaps) || el >= MAX_SECONDS ||
		    atomic_load(&swap_err) || i >= 0xffffff)
			break;
		packets++;
		if (send_one(src, port, got, &act)) {
			dropped++;
			bad++;
			if (dropped <= 5)
				fprintf(stderr, "# packet %u not forwarded: action %u\n", i, act);
			continue;
		}
		predict(&ga, src, port, pa);
		predict(&gb, src, port, pb);
		if (!memcmp(got, pa, 6) && !memcmp(got, pb, 6)) {
			both++;
		} else if (!memcmp(got, pa, 6)) {
			saw_a++;
		} else if (!memcmp(got, pb, 6)) {
			saw_b++;
		} else {
			if (++bad - dropped <= 5)
				fprintf(stderr, "# client %08x: got %02x:%02x:..:%02x, A says ..:%02x:..:%02x, "
					"B says ..:%02x:..:%02x\n", src, got[0], got[1], got[5],
					pa[1], pa[5], pb[1], pb[5]);
		}
	}
	atomic_store(&stop, true);
	pthread_join(swapper_thread, NULL);
	swapper_running = false;
	assert_int_equal(atomic_load(&swap_err), 0);
	assert_int_equal(tn_dp_farm_read(dp, FARM_SLOT, &h, NULL, NULL), 0);
	gen_after = h.generation;
	printf("# %lu packets over %.1f s, %lu swaps (generation %llu -> %llu): "
	       "%lu as A only, %lu as B only, %lu where both agree, %lu inconsistent (%lu not forwarded)\n",
	       packets, now_s() - t0, atomic_load(&swaps), (unsigned long long)gen_before,
	       (unsigned long long)gen_after, saw_a, saw_b, both, bad, dropped);
	if (in_place) {
		/* the control: an in-place rewrite must be caught */
		assert_true(bad > 0);
		return;
	}
	assert_int_equal(bad, 0);
	assert_true(atomic_load(&swaps) >= min_swaps);
	assert_int_equal(gen_after - gen_before, atomic_load(&swaps));
	/* both generations were really seen while racing */
	assert_true(saw_a > 100 && saw_b > 100);
}

static void open_dp(void)
{
	struct tn_dp_settings st;
	struct tn_vip_key k = { .port = htons(VIP_PORT), .proto = IPPROTO_UDP,
				.family = TN_FAMILY_V4, .kind = TN_VIP_KIND_PORT };
	struct tn_vip v = { .farm_slot = FARM_SLOT, .vip_index = 2 };
	uint32_t a = htonl(VIP_ADDR);

	tn_dp_settings_default(&st);
	st.ct_size = 1u << 16;     /* every client is new: LRU eviction is fine */
	st.hash_seed = SEED;
	assert_int_equal(tn_dp_open(&dp, "", &st), 0);
	table_size = tn_dp_get_settings(dp)->table_size;
	memcpy(k.addr, &a, 4);
	assert_int_equal(tn_dp_vips_replace(dp, &k, &v, 1), 0);
}

/* Same servers (same slots), other weights and MACs: a table of one
 * generation with the server list of the other gives a MAC of the wrong
 * family or of the wrong server. */
static void test_swap_weights_and_macs(void **state)
{
	static const uint16_t wa[NSRV] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint16_t wb[NSRV] = { 8, 7, 6, 5, 4, 3, 2, 1 };

	open_dp();
	gen_init(&ga, 0xaa, 0, wa, TN_STICKY_SOURCE_IP);
	gen_init(&gb, 0xbb, 0, wb, TN_STICKY_SOURCE_IP);
	run_race(0x21000000, false, 2000);
}

/* Different server sets (A: 0..7, B: 3..10, so slots differ) and different
 * stickiness (A sourceIp, B 5-tuple): header, table and servers must all
 * come from the same generation. */
static void test_swap_servers_and_stickiness(void **state)
{
	static const uint16_t w[NSRV] = { 1, 1, 1, 1, 1, 1, 1, 1 };

	open_dp();
	gen_init(&ga, 0xaa, 0, w, TN_STICKY_SOURCE_IP);
	gen_init(&gb, 0xbb, 3, w, TN_STICKY_NONE);
	run_race(0x22000000, true, 500);
}

/* also after a failed assertion: the swapper is stopped, memory freed */
static int teardown(void **state)
{
	atomic_store(&stop, true);
	if (swapper_running)
		pthread_join(swapper_thread, NULL);
	swapper_running = false;
	gen_free(&ga);
	gen_free(&gb);
	free(value_a);
	free(value_b);
	value_a = value_b = NULL;
	if (live_fd >= 0)
		close(live_fd);
	live_fd = -1;
	memset(&ga, 0, sizeof(ga));
	memset(&gb, 0, sizeof(gb));
	tn_dp_close(dp);
	dp = NULL;
	return 0;
}

int main(void)
{
	in_place = getenv("TN_ATOMICITY_IN_PLACE") && atoi(getenv("TN_ATOMICITY_IN_PLACE"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_swap_weights_and_macs, teardown),
		cmocka_unit_test_teardown(test_swap_servers_and_stickiness, teardown),
	};

	return cmocka_run_group_tests_name("dataplane atomic swap", tests, NULL, NULL);
}
