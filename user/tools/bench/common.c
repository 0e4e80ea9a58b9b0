/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the bench sections share: small helpers and the data plane they configure. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tools/bench/common.h"
#include "lib/log.h"

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(const double *v, int n)
{
	double t[64];

	if (n <= 0)
		return NAN;
	if (n > 64)
		n = 64;
	memcpy(t, v, n * sizeof(*t));
	qsort(t, n, sizeof(*t), cmp_double);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

double jnum(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_double(v) : NAN;
}

json_object *jarr(const double *v, int n)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_double(v[i]));
	return a;
}

uint64_t rng_state = 0x9e3779b97f4a7c15ull;

uint64_t rng(void)
{
	/* xorshift64*: reproducible across runs, no libc state */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

char tenace_bin[512] = "build/tenace";

const char *pass_miss(struct bench *b, bool ok)
{
	if (!ok)
		b->misses++;
	return ok ? "PASS" : "MISS";
}

const uint8_t LB_MAC[6] = { 0x02, 0x54, 0x4e, 0x00, 0x00, 0x01 };
const uint8_t GEN_MAC[6] = { 0x02, 0x54, 0x4e, 0x00, 0x00, 0x02 };
const char *const VIP4 = "10.0.0.1", *const VIP6 = "fd00::1";

void server_mac(int i, uint8_t mac[6])
{
	static const uint8_t m[6] = { 0x02, 0x54, 0x4e, 0x00, 0x10, 0x00 };

	memcpy(mac, m, 6);
	mac[5] = (uint8_t)i;
}

void make_servers(struct tn_dp_server *s, int n, uint32_t ifindex, const uint8_t src_mac[6])
{
	memset(s, 0, n * sizeof(*s));
	for (int i = 0; i < n; i++) {
		s[i].server_id = i + 1;
		s[i].family = 4;
		s[i].addr[0] = 192, s[i].addr[1] = 168, s[i].addr[2] = 50, s[i].addr[3] = (uint8_t)(10 + i);
		s[i].port = 80;
		s[i].weight = 100;
		s[i].up = true;
		server_mac(i, s[i].mac);
		memcpy(s[i].src_mac, src_mac, 6);
		s[i].ifindex = ifindex;
	}
}

static int farm_write(struct tn_dp *dp, struct tn_dp_server *s, int n)
{
	struct tn_dp_farm farm = {
		.farm_id = 1, .proto = IPPROTO_UDP, .balance = TN_BALANCE_SOURCE,
		.stickiness = TN_STICKY_SOURCE_IP, .servers = s, .nservers = n,
	};

	return tn_dp_farm_write(dp, 0, &farm, NULL);
}

/* VIP4:80 and VIP6:80 (UDP) on farm slot 0, VIP indexes 0 and 1. */
static int vips_set(struct tn_dp *dp)
{
	struct tn_vip_key k[2] = {
		{ .family = TN_FAMILY_V4, .port = htons(80), .proto = IPPROTO_UDP },
		{ .family = TN_FAMILY_V6, .port = htons(80), .proto = IPPROTO_UDP },
	};
	struct tn_vip v[2] = {
		{ .farm_slot = 0, .vip_index = 0, .frontend_id = 1 },
		{ .farm_slot = 0, .vip_index = 1, .frontend_id = 2 },
	};

	inet_pton(AF_INET, VIP4, k[0].addr);
	inet_pton(AF_INET6, VIP6, k[1].addr);
	return tn_dp_vips_replace(dp, k, v, 2);
}

int dp_setup(struct tn_dp **dp, uint32_t ct_size, uint32_t ifindex, const uint8_t src_mac[6])
{
	struct tn_dp_settings st;
	struct tn_dp_server srv[BENCH_SERVERS];
	int err;

	tn_dp_settings_default(&st);
	st.ct_size = ct_size;
	/* long timeouts: a slow warm-up must not let entries expire mid-run */
	st.udp_timeout_s = st.tcp_timeout_s = 3600;
	/* the "new client" rows insert every packet: no per-CPU budget of new clients */
	st.udp_admit_rate = 0;
	st.tcp_admit_rate = 0;
	if ((err = tn_dp_open(dp, "", &st)))
		return err;
	make_servers(srv, BENCH_SERVERS, ifindex, src_mac);
	if ((err = farm_write(*dp, srv, BENCH_SERVERS)) || (err = vips_set(*dp))) {
		tn_err("bench: cannot configure the data plane: %s", strerror(-err));
		tn_dp_close(*dp);
		*dp = NULL;
		return err;
	}
	return 0;
}

uint64_t reason_packets(struct tn_dp *dp, enum tn_reason r)
{
	struct tn_counter c[TN_R__COUNT];

	if (tn_dp_reason_counters(dp, c))
		return 0;
	return c[r].packets;
}

int ct_entries(struct tn_dp *dp, uint64_t *n)
{
	int err;

	if ((err = tn_dp_ct_count(dp, n)))
		tn_err("bench: cannot walk the conntrack: %s", strerror(-err));
	return err;
}

uint64_t percpu_u64_sum(int map_fd, uint32_t key)
{
	int n = libbpf_num_possible_cpus();
	uint64_t v[256] = { 0 }, s = 0;

	if (n > 256 || bpf_map_lookup_elem(map_fd, &key, v))
		return 0;
	for (int i = 0; i < n; i++)
		s += v[i];
	return s;
}

uint16_t bench_ip_csum(const uint8_t *p, int len)
{
	uint32_t s = 0;

	for (int i = 0; i < len; i += 2)
		s += (p[i] << 8) | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}
