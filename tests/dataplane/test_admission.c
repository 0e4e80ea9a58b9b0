/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Conntrack admission, through BPF_PROG_TEST_RUN on the real program: a
 * flood of SYNs from spoofed sources inserts nothing and moves no
 * established client, even across a table change in the middle of it; new
 * UDP clients beyond a CPU's budget are steered by the table but not tracked;
 * a full set of the IPv4 conntrack keeps the clients seen again; an earlier
 * build's IPv4 conntrack (an LRU) is carried over on upgrade.
 *
 * Which server got a packet = the last byte of the output frame's destination
 * MAC (server i has MAC 02:00:00:00:01:i).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

#define NSERVERS  4
#define FARM_SLOT 2
#define VIP       "10.0.0.1"
#define CT_SIZE   8192      /* the flood is many times this */

static void server_mac(int i, uint8_t mac[6])
{
	const uint8_t m[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, (uint8_t)i };

	memcpy(mac, m, 6);
}

/* One farm of NSERVERS (server 0 of weight w0, the others 1) for proto. */
static void write_farm(struct tn_dp *dp, uint8_t proto, uint16_t w0)
{
	struct tn_dp_server s[NSERVERS];
	struct tn_dp_farm f = {
		.farm_id = 9, .proto = proto, .balance = TN_BALANCE_SOURCE,
		.stickiness = TN_STICKY_SOURCE_IP, .servers = s, .nservers = NSERVERS,
	};

	memset(s, 0, sizeof(s));
	for (int i = 0; i < NSERVERS; i++) {
		s[i].server_id = 100 + (uint32_t)i;
		s[i].family = TN_FAMILY_V4;
		s[i].addr[0] = 192;
		s[i].addr[1] = 168;
		s[i].addr[2] = 7;
		s[i].addr[3] = (uint8_t)(i + 1);
		s[i].port = 80;
		s[i].weight = i == 0 ? w0 : 1;
		s[i].up = true;
		server_mac(i, s[i].mac);
		memset(s[i].src_mac, 0x0e, 6);
		s[i].ifindex = 1;
	}
	assert_int_equal(tn_dp_farm_write(dp, FARM_SLOT, &f, NULL), 0);
}

/* rate: both budgets of new clients (datagrams, TCP past its SYN), 0: none;
 * pin: a pin directory, or "" */
static struct tn_dp *open_dp_in(const char *pin, uint8_t proto, uint32_t rate)
{
	struct tn_dp_settings st;
	struct tn_dp *dp = NULL;
	struct tn_vip_key k = tp_vip_key(VIP, 80, proto);
	struct tn_vip v = { .farm_slot = FARM_SLOT, .vip_index = 3 };

	tn_dp_settings_default(&st);
	st.ct_size = CT_SIZE;
	st.udp_admit_rate = rate;
	st.tcp_admit_rate = rate;
	assert_int_equal(tn_dp_open(&dp, pin, &st), 0);
	assert_int_equal(tn_dp_vips_replace(dp, &k, &v, 1), 0);
	write_farm(dp, proto, 1);
	return dp;
}

static struct tn_dp *open_dp(uint8_t proto, uint32_t rate)
{
	return open_dp_in("", proto, rate);
}

static uint64_t reason(struct tn_dp *dp, enum tn_reason r)
{
	struct tn_counter c[TN_R__COUNT];

	assert_int_equal(tn_dp_reason_counters(dp, c), 0);
	return c[r].packets;
}

static size_t ct_entries(struct tn_dp *dp)
{
	uint64_t n = 0;

	assert_int_equal(tn_dp_ct_count(dp, &n), 0);
	return n;
}

/* One packet from src (host order); the server index it reached, or -1 if
 * it was not transmitted to a server. */
static int send_one(struct tn_dp *dp, uint8_t proto, uint32_t src, uint16_t sport, uint8_t tcp_flags)
{
	struct in_addr a = { .s_addr = htonl(src) };
	char addr[INET_ADDRSTRLEN];
	struct tp_spec s = { .src = addr, .dst = VIP, .proto = proto, .sport = sport, .dport = 80,
			     .payload = 8, .tcp_flags = tcp_flags };
	struct tp_frame f;
	uint8_t out[TP_FRAME_MAX];
	uint32_t len = 0;
	int v;

	inet_ntop(AF_INET, &a, addr, sizeof(addr));
	tp_build(&f, &s);
	v = tp_run(tn_dp_prog_fd(dp), 1, f.data, f.len, out, &len);
	if (v != XDP_TX || len != f.len || out[0] != 0x02 || out[4] != 0x01 || out[5] >= NSERVERS)
		return -1;
	return out[5];
}

#define NCLIENTS   2000
#define NFLOOD     60000
#define CLIENT(i)  (0xc6336400u + (uint32_t)(i))  /* 198.51.100.0 + i */

static uint32_t xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Every established client's next segment: to its own server, another
 * (moved) or none (lost). */
static void recheck(struct tn_dp *dp, const int8_t *home, int *moved, int *lost)
{
	for (int i = 0; i < NCLIENTS; i++) {
		int s = send_one(dp, IPPROTO_TCP, CLIENT(i), 20001, 0x10);

		if (s < 0)
			(*lost)++;
		else if (s != home[i])
			(*moved)++;
	}
}

/* 10,000 established clients in the issue; NCLIENTS here, a conntrack of
 * CT_SIZE and NFLOOD spoofed SYNs (7x its capacity: had they been inserted,
 * every client would have been evicted and the weight change would move a
 * quarter of them). */
static void test_syn_flood_moves_nobody(void **state)
{
	struct tn_dp *dp = open_dp(IPPROTO_TCP, 0);
	static int8_t home[NCLIENTS];
	uint64_t new0, deferred0, hits0;
	uint32_t rnd = 0x2545f491u;
	int moved = 0, lost = 0, s;

	for (int i = 0; i < NCLIENTS; i++) {
		s = send_one(dp, IPPROTO_TCP, CLIENT(i), 20000, 0x02);
		assert_true(s >= 0);
		assert_int_equal(send_one(dp, IPPROTO_TCP, CLIENT(i), 20000, 0x10), s); /* its ACK follows its SYN */
		home[i] = (int8_t)s;
	}
	assert_int_equal(reason(dp, TN_R_CT_NEW), NCLIENTS);
	assert_int_equal(reason(dp, TN_R_CT_DEFERRED), NCLIENTS);
	assert_int_equal(ct_entries(dp), NCLIENTS);

	new0 = reason(dp, TN_R_CT_NEW);
	deferred0 = reason(dp, TN_R_CT_DEFERRED);
	for (int i = 0; i < NFLOOD; i++) {
		uint32_t src = 0x64000000u | (xorshift(&rnd) & 0x00ffffffu); /* 100.0.0.0/8 */

		if (i == NFLOOD / 2)
			write_farm(dp, IPPROTO_TCP, 3); /* a weight change in the middle of the flood */
		assert_true(send_one(dp, IPPROTO_TCP, src, (uint16_t)(1024 + i % 60000), 0x02) >= 0);
	}
	assert_int_equal(reason(dp, TN_R_CT_DEFERRED) - deferred0, NFLOOD);
	assert_int_equal(reason(dp, TN_R_CT_NEW) - new0, 0);
	assert_int_equal(ct_entries(dp), NCLIENTS); /* occupancy before = after */

	hits0 = reason(dp, TN_R_CT_HIT);
	recheck(dp, home, &moved, &lost);
	printf("# %d established clients, %d flood SYNs, weight change mid-flood: %d moved, %d lost, "
	       "%zu conntrack entries after\n", NCLIENTS, NFLOOD, moved, lost, ct_entries(dp));
	assert_int_equal(moved, 0);
	assert_int_equal(lost, 0);
	assert_int_equal(reason(dp, TN_R_CT_HIT) - hits0, NCLIENTS);
	tn_dp_close(dp);
}

/* The budget is per CPU and per 2^TN_ADMIT_WINDOW_SHIFT ns window of the
 * program's clock (CLOCK_MONOTONIC_COARSE): run on one CPU and count the
 * windows the loop spanned. */
static uint64_t coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#define NUDP 3000

static void test_udp_admission_budget(void **state)
{
	const uint32_t rate = 6000; /* per second: 101 per 16.8 ms window */
	const uint64_t per_window = ((uint64_t)rate << TN_ADMIT_WINDOW_SHIFT) / 1000000000ULL + 1;
	struct tn_dp *dp = open_dp(IPPROTO_UDP, rate), *open = open_dp(IPPROTO_UDP, 0);
	static int8_t first[NUDP];
	uint64_t t0, t1, windows, admitted, refused;
	cpu_set_t one, old;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	t0 = coarse_now();
	for (int i = 0; i < NUDP; i++) {
		int s = send_one(dp, IPPROTO_UDP, CLIENT(i), 5353, 0);

		assert_true(s >= 0); /* refused or not, every datagram reaches a server */
		first[i] = (int8_t)s;
	}
	t1 = coarse_now();
	sched_setaffinity(0, sizeof(old), &old);
	windows = (t1 >> TN_ADMIT_WINDOW_SHIFT) - (t0 >> TN_ADMIT_WINDOW_SHIFT) + 1;
	admitted = reason(dp, TN_R_CT_NEW);
	refused = reason(dp, TN_R_CT_REFUSED);
	printf("# %d new UDP clients over %llu windows of %llu: %llu tracked, %llu refused\n", NUDP,
	       (unsigned long long)windows, (unsigned long long)per_window, (unsigned long long)admitted,
	       (unsigned long long)refused);
	assert_int_equal(admitted + refused, NUDP);
	assert_true(admitted >= (per_window < NUDP ? per_window : NUDP));
	assert_true(admitted <= per_window * windows);
	if (windows * per_window < NUDP)
		assert_true(refused > 0);
	assert_int_equal(ct_entries(dp), admitted);

	/* a refused client is steered as the table says: where an unlimited
	 * data plane with the same table sends it, and there again next time */
	for (int i = 0; i < NUDP; i++) {
		assert_int_equal(send_one(open, IPPROTO_UDP, CLIENT(i), 5353, 0), first[i]);
		assert_int_equal(send_one(dp, IPPROTO_UDP, CLIENT(i), 5353, 0), first[i]);
	}
	assert_int_equal(reason(open, TN_R_CT_NEW), NUDP); /* 0: no limit */
	assert_int_equal(reason(open, TN_R_CT_REFUSED), 0);
	tn_dp_close(open);
	tn_dp_close(dp);
}

/* Wait for the next admission window of the program's clock. */
static void next_window(void)
{
	uint64_t w = coarse_now() >> TN_ADMIT_WINDOW_SHIFT;

	while ((coarse_now() >> TN_ADMIT_WINDOW_SHIFT) == w)
		usleep(1000);
}

/*
 * A flood of spoofed ACKs: the balancer never sees the servers' replies, so
 * an ACK from an unknown source may be a handshake. Each CPU tracks at most
 * its TCP budget of them per window; the others are steered by the table
 * alone. With the budget, the flood (7x the conntrack) inserts a bounded
 * number of entries, evicts no established client, and a weight change in
 * the middle of it moves none of them.
 */
static void test_ack_flood_budget(void **state)
{
	const uint32_t rate = 4000; /* per second: 68 per 16.8 ms window */
	const uint64_t per_window = ((uint64_t)rate << TN_ADMIT_WINDOW_SHIFT) / 1000000000ULL + 1;
	struct tn_dp *dp = open_dp(IPPROTO_TCP, rate);
	static int8_t home[NCLIENTS];
	uint64_t t0, t1, windows, new0, refused0, admitted, refused, hits0;
	size_t entries;
	int moved = 0, lost = 0, s;
	cpu_set_t one, old;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);

	/* the established clients, 20 a window of this clock (the program's
	 * windows may straddle two of them, 40 stays within the budget): SYN,
	 * ACK, data */
	for (int i = 0; i < NCLIENTS; i++) {
		if (i % 20 == 0)
			next_window();
		s = send_one(dp, IPPROTO_TCP, CLIENT(i), 20000, 0x02);
		assert_true(s >= 0);
		assert_int_equal(send_one(dp, IPPROTO_TCP, CLIENT(i), 20000, 0x10), s);
		assert_int_equal(send_one(dp, IPPROTO_TCP, CLIENT(i), 20000, 0x18), s);
		home[i] = (int8_t)s;
	}
	assert_int_equal(reason(dp, TN_R_CT_NEW), NCLIENTS);
	assert_int_equal(reason(dp, TN_R_CT_REFUSED), 0);
	assert_int_equal(ct_entries(dp), NCLIENTS);

	new0 = reason(dp, TN_R_CT_NEW);
	refused0 = reason(dp, TN_R_CT_REFUSED);
	t0 = coarse_now();
	for (int i = 0; i < NFLOOD; i++) {
		uint32_t src = 0x64000000u + (uint32_t)i * 251u; /* distinct sources in 100.0.0.0/8 */

		if (i == NFLOOD / 2)
			write_farm(dp, IPPROTO_TCP, 3);
		assert_true(send_one(dp, IPPROTO_TCP, src, (uint16_t)(1024 + i % 60000), 0x10) >= 0);
	}
	t1 = coarse_now();
	sched_setaffinity(0, sizeof(old), &old);
	windows = (t1 >> TN_ADMIT_WINDOW_SHIFT) - (t0 >> TN_ADMIT_WINDOW_SHIFT) + 1;
	admitted = reason(dp, TN_R_CT_NEW) - new0;
	refused = reason(dp, TN_R_CT_REFUSED) - refused0;
	printf("# %d spoofed ACKs (distinct sources) over %llu windows of %llu: %llu tracked, %llu steered untracked, "
	       "%zu conntrack entries of %d\n", NFLOOD, (unsigned long long)windows,
	       (unsigned long long)per_window, (unsigned long long)admitted, (unsigned long long)refused,
	       ct_entries(dp), CT_SIZE);
	assert_int_equal(admitted + refused, NFLOOD); /* every one steered, none dropped */
	assert_true(admitted <= per_window * windows);
	if (windows * per_window < NFLOOD)
		assert_true(refused > 0);
	/* the flood would have to last (CT_SIZE - NCLIENTS) / 68 windows (91,
	 * 1.5 s) to reach the established clients */
	assert_true(NCLIENTS + admitted <= CT_SIZE);
	/* every admitted ACK has an entry, but for the few whose set's four
	 * ways were full: those gave up a way seen once (a flood ACK's), never
	 * an established client's (every one of them hits below) */
	entries = ct_entries(dp);
	assert_true(entries <= NCLIENTS + admitted);
	assert_true(entries >= NCLIENTS + admitted - admitted / 50);

	hits0 = reason(dp, TN_R_CT_HIT);
	recheck(dp, home, &moved, &lost);
	printf("# %d established clients after it: %d moved, %d lost, %llu still tracked\n", NCLIENTS, moved, lost,
	       (unsigned long long)(reason(dp, TN_R_CT_HIT) - hits0));
	assert_int_equal(moved, 0);
	assert_int_equal(lost, 0);
	assert_int_equal(reason(dp, TN_R_CT_HIT) - hits0, NCLIENTS);
	tn_dp_close(dp);
}

/* n client addresses (host order, from 203.0.113.0 on) whose keys fall in
 * one set of the IPv4 conntrack of dp */
static void same_set(struct tn_dp *dp, uint32_t *out, int n)
{
	uint32_t mask = tn_ct4_nsets(CT_SIZE) - 1, seed = tn_dp_get_settings(dp)->hash_seed, want = 0;
	int got = 0;

	for (uint32_t a = 0xcb007100u; got < n; a++) {
		uint32_t set = tn_ct4_set_of(tn_ct4_key_word(htonl(a), FARM_SLOT), seed, mask);

		if (got == 0)
			want = set;
		if (set == want)
			out[got++] = a;
	}
}

/*
 * The IPv4 conntrack holds four clients a set. A fifth new client in a set
 * whose four were each seen again is refused (steered by the table, not
 * tracked) rather than pushing one of them out; in a set of clients seen
 * once, it takes the way of the one seen longest ago.
 */
static void test_full_set(void **state)
{
	struct tn_dp *dp = open_dp(IPPROTO_UDP, 0);
	uint32_t c[TN_CT4_WAYS + 1];
	int home[TN_CT4_WAYS + 1];
	uint64_t hits0, refused0, new0;

	(void)state;
	same_set(dp, c, TN_CT4_WAYS + 1);
	for (int i = 0; i < TN_CT4_WAYS; i++) {
		home[i] = send_one(dp, IPPROTO_UDP, c[i], 5000, 0);
		assert_true(home[i] >= 0);
		assert_int_equal(send_one(dp, IPPROTO_UDP, c[i], 5000, 0), home[i]); /* seen again */
	}
	assert_int_equal(ct_entries(dp), TN_CT4_WAYS);
	refused0 = reason(dp, TN_R_CT_REFUSED);
	assert_true(send_one(dp, IPPROTO_UDP, c[TN_CT4_WAYS], 5000, 0) >= 0);
	assert_int_equal(reason(dp, TN_R_CT_REFUSED) - refused0, 1);
	assert_int_equal(ct_entries(dp), TN_CT4_WAYS);
	/* refused again: it is still not tracked, and the four still are */
	assert_true(send_one(dp, IPPROTO_UDP, c[TN_CT4_WAYS], 5000, 0) >= 0);
	assert_int_equal(reason(dp, TN_R_CT_REFUSED) - refused0, 2);
	hits0 = reason(dp, TN_R_CT_HIT);
	for (int i = 0; i < TN_CT4_WAYS; i++)
		assert_int_equal(send_one(dp, IPPROTO_UDP, c[i], 5000, 0), home[i]);
	assert_int_equal(reason(dp, TN_R_CT_HIT) - hits0, TN_CT4_WAYS);

	/* the same set, clients seen once: the fifth takes the first one's way */
	assert_int_equal(tn_dp_ct_clear(dp), 0);
	assert_int_equal(ct_entries(dp), 0);
	for (int i = 0; i < TN_CT4_WAYS; i++)
		assert_true(send_one(dp, IPPROTO_UDP, c[i], 5000, 0) >= 0);
	new0 = reason(dp, TN_R_CT_NEW);
	refused0 = reason(dp, TN_R_CT_REFUSED);
	assert_true(send_one(dp, IPPROTO_UDP, c[TN_CT4_WAYS], 5000, 0) >= 0);
	assert_int_equal(reason(dp, TN_R_CT_NEW) - new0, 1);
	assert_int_equal(reason(dp, TN_R_CT_REFUSED) - refused0, 0);
	assert_int_equal(ct_entries(dp), TN_CT4_WAYS);
	hits0 = reason(dp, TN_R_CT_HIT);
	for (int i = 1; i <= TN_CT4_WAYS; i++)
		assert_true(send_one(dp, IPPROTO_UDP, c[i], 5000, 0) >= 0);
	assert_int_equal(reason(dp, TN_R_CT_HIT) - hits0, TN_CT4_WAYS);
	/* the one pushed out comes back: refused now, the four were seen again */
	refused0 = reason(dp, TN_R_CT_REFUSED);
	assert_true(send_one(dp, IPPROTO_UDP, c[0], 5000, 0) >= 0);
	assert_int_equal(reason(dp, TN_R_CT_REFUSED) - refused0, 1);
	assert_int_equal(ct_entries(dp), TN_CT4_WAYS);
	tn_dp_close(dp);
}

struct entry4 {
	uint64_t key, value;
};

struct entries4 {
	struct entry4 e[NCLIENTS];
	int n;
	uint32_t tag[NSERVERS];
};

/* The IPv4 entries, packed again as an earlier build's conntrack4 held
 * them, and each server slot's tag. */
static int collect4(void *arg, const struct tn_ct_clock *clk, const struct tn_ct_key *k,
		    const struct tn_ct_value *v)
{
	struct entries4 *es = arg;
	__be32 src;

	(void)clk;
	assert_true(es->n < NCLIENTS && v->slot < NSERVERS);
	memcpy(&src, k->src, 4);
	es->e[es->n].key = tn_ct4_key_word(src, k->farm_slot);
	es->e[es->n].value = tn_w64(tn_ct4_stamp(v->last_seen_ns), tn_ct4_id(v->slot, v->tag));
	es->tag[v->slot] = v->tag;
	es->n++;
	return 0;
}

/*
 * An upgrade from a build whose IPv4 conntrack was an LRU_HASH pinned as
 * conntrack4: its clients are carried over into the sets and stay on the
 * servers it held (here each moved on by one, so that the table alone
 * would send most of them elsewhere), and its pin goes.
 */
static void test_carry_over_from_lru(void **state)
{
	static struct entries4 es;
	char pin[64], path[96];
	struct tn_dp *dp;
	int fd, n = 500, moved = 0;
	uint64_t hits0;

	(void)state;
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/tenace-test-ct4-%d", (int)getpid());
	tn_dp_unpin(pin);
	dp = open_dp_in(pin, IPPROTO_UDP, 0);
	for (int i = 0; i < n; i++)
		assert_true(send_one(dp, IPPROTO_UDP, CLIENT(i), 5000, 0) >= 0);
	memset(&es, 0, sizeof(es));
	assert_int_equal(tn_dp_ct_foreach(dp, collect4, &es), 0);
	assert_int_equal(es.n, n);
	for (int s = 0; s < NSERVERS; s++)
		assert_true(es.tag[s] != 0); /* 500 clients reached every server */

	/* the earlier build's map, each client one server on, then pinned */
	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "conntrack4", 8, 8, CT_SIZE, NULL);
	assert_true(fd >= 0);
	for (int i = 0; i < n; i++) {
		struct tn_ct4_value v;
		uint32_t slot;

		memcpy(&v, &es.e[i].value, sizeof(v));
		slot = (tn_ct4_slot(v.id) + 1) % NSERVERS;
		es.e[i].value = tn_w64(v.seen, tn_ct4_id(slot, es.tag[slot]));
		assert_int_equal(bpf_map_update_elem(fd, &es.e[i].key, &es.e[i].value, BPF_ANY), 0);
	}
	snprintf(path, sizeof(path), "%s/conntrack4", pin);
	assert_int_equal(bpf_obj_pin(fd, path), 0);
	close(fd);
	assert_int_equal(tn_dp_ct_clear(dp), 0);
	tn_dp_close(dp);

	dp = open_dp_in(pin, IPPROTO_UDP, 0);
	assert_int_equal(access(path, F_OK), -1); /* its pin is gone */
	assert_int_equal(ct_entries(dp), n);
	hits0 = reason(dp, TN_R_CT_HIT);
	for (int i = 0; i < n; i++) {
		struct tn_ct4_value v;
		__be32 src = htonl(CLIENT(i));
		int want = -1;

		for (int j = 0; j < n; j++)
			if (es.e[j].key == tn_ct4_key_word(src, FARM_SLOT)) {
				memcpy(&v, &es.e[j].value, sizeof(v));
				want = (int)tn_ct4_slot(v.id);
			}
		moved += send_one(dp, IPPROTO_UDP, CLIENT(i), 5000, 0) != want;
	}
	printf("# %d clients carried over from an LRU conntrack4: %d not on the server it held, %llu hits\n", n,
	       moved, (unsigned long long)(reason(dp, TN_R_CT_HIT) - hits0));
	assert_int_equal(moved, 0);
	assert_int_equal(reason(dp, TN_R_CT_HIT) - hits0, n);
	tn_dp_close(dp);
	assert_int_equal(tn_dp_unpin(pin), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syn_flood_moves_nobody),
		cmocka_unit_test(test_udp_admission_budget),
		cmocka_unit_test(test_ack_flood_budget),
		cmocka_unit_test(test_full_set),
		cmocka_unit_test(test_carry_over_from_lru),
	};

	return cmocka_run_group_tests_name("dataplane admission", tests, NULL, NULL);
}
