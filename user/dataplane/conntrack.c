/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Walking the conntrack maps from user space (a refresh preview counts the
 * tracked clients a change would move), judged by the data plane's clock:
 * conntrack4's entries (IPv4 sourceIp) shown as the general map's. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tenace.skel.h"
#include "dataplane/internal.h"

#define CT_BATCH 4096

bool tn_ct_expired(const struct tn_ct_clock *clk, const struct tn_ct_value *v, uint8_t proto)
{
	uint64_t timeout = proto == IPPROTO_TCP ? clk->tcp_timeout_ns : clk->udp_timeout_ns;

	/* the data plane's test, signed as there (a CPU may store a newer tick) */
	return (int64_t)(clk->now_ns - v->last_seen_ns) > (int64_t)(timeout + TN_CT_TOUCH_NS);
}

/* A key or a value of either conntrack. */
union ct_any_key {
	struct tn_ct_key g;
	struct tn_ct4_key v4;
};

union ct_any_value {
	struct tn_ct_value g;
	struct tn_ct4_value v4;
};

/* One of the two conntracks (headers/tenace.h): the general one, and
 * conntrack4 whose entries are shown as general ones. */
struct ct_table {
	int fd;
	bool v4;
	size_t key_size, value_size;
};

static int emit(const struct ct_table *t, const struct tn_ct_clock *clk, const void *key, const void *val,
		tn_ct_fn fn, void *arg)
{
	struct tn_ct_key k;
	struct tn_ct_value v;

	if (!t->v4)
		return fn(arg, clk, key, val);
	tn_ct4_unpack(key, val, clk->now_ns, &k, &v);
	return fn(arg, clk, &k, &v);
}

/* One entry at a time: for kernels without batch lookups on this map. */
static int walk_keys(const struct ct_table *t, const struct tn_ct_clock *clk, tn_ct_fn fn, void *arg)
{
	union ct_any_key k, next;
	union ct_any_value v;
	void *prev = NULL;
	int rc;

	while (!bpf_map_get_next_key(t->fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(t->fd, &k, &v))
			continue; /* gone meanwhile (LRU) */
		if ((rc = emit(t, clk, &k, &v, fn, arg)))
			return rc;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int walk_batches(const struct ct_table *t, const struct tn_ct_clock *clk, tn_ct_fn fn, void *arg)
{
	char *keys = calloc(CT_BATCH, t->key_size), *vals = calloc(CT_BATCH, t->value_size);
	__u64 in = 0, out = 0;
	bool first = true, last = false;
	int rc = 0;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	while (!rc && !last) {
		__u32 n = CT_BATCH;

		if (bpf_map_lookup_batch(t->fd, first ? NULL : &in, &out, keys, vals, &n, NULL)) {
			if (errno != ENOENT) {
				rc = first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP) ? 1 : -errno;
				break;
			}
			last = true; /* ENOENT: this batch is the last one */
		}
		first = false;
		in = out;
		for (__u32 i = 0; i < n && !rc; i++)
			rc = emit(t, clk, keys + i * t->key_size, vals + i * t->value_size, fn, arg);
	}
	free(keys);
	free(vals);
	return rc;
}

static void ct_tables(struct tn_dp *dp, struct ct_table t[2])
{
	t[0] = (struct ct_table){ bpf_map__fd(dp->skel->maps.conntrack4), true, sizeof(struct tn_ct4_key),
				  sizeof(struct tn_ct4_value) };
	t[1] = (struct ct_table){ bpf_map__fd(dp->skel->maps.conntrack), false, sizeof(struct tn_ct_key),
				  sizeof(struct tn_ct_value) };
}

int tn_dp_ct_foreach(struct tn_dp *dp, tn_ct_fn fn, void *arg)
{
	struct tn_ct_clock clk = {
		.tcp_timeout_ns = dp->settings.tcp_timeout_s * 1000000000ULL,
		.udp_timeout_ns = dp->settings.udp_timeout_s * 1000000000ULL,
	};
	struct ct_table t[2];
	struct timespec ts;
	int rc = 0;

	ct_tables(dp, t);
	/* the data plane stores CLOCK_MONOTONIC_COARSE ns (clock.c) */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	clk.now_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	for (int i = 0; i < 2 && !rc; i++) {
		rc = walk_batches(&t[i], &clk, fn, arg);
		if (rc == 1)
			rc = walk_keys(&t[i], &clk, fn, arg);
	}
	return rc;
}

int tn_dp_ct_clear(struct tn_dp *dp)
{
	union ct_any_key k;
	struct ct_table t[2];

	ct_tables(dp, t);
	for (int i = 0; i < 2; i++) {
		while (!bpf_map_get_next_key(t[i].fd, NULL, &k))
			if (bpf_map_delete_elem(t[i].fd, &k) && errno != ENOENT)
				return -errno;
		if (errno != ENOENT)
			return -errno;
	}
	return 0;
}

static int count_one(void *arg, const struct tn_ct_clock *clk, const struct tn_ct_key *k,
		     const struct tn_ct_value *v)
{
	(void)clk, (void)k, (void)v;
	(*(uint64_t *)arg)++;
	return 0;
}

int tn_dp_ct_count(struct tn_dp *dp, uint64_t *n)
{
	*n = 0;
	return tn_dp_ct_foreach(dp, count_one, n);
}
