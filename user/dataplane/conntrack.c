/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Walking the conntrack map from user space (a refresh preview counts the
 * tracked clients a change would move), judged by the data plane's clock. */
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

/* One entry at a time: for kernels without batch lookups on this map. */
static int walk_keys(int fd, const struct tn_ct_clock *clk, tn_ct_fn fn, void *arg)
{
	struct tn_ct_key k, next;
	struct tn_ct_value v;
	void *prev = NULL;
	int rc;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue; /* gone meanwhile (LRU) */
		if ((rc = fn(arg, clk, &k, &v)))
			return rc;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int walk_batches(int fd, const struct tn_ct_clock *clk, tn_ct_fn fn, void *arg)
{
	struct tn_ct_key *keys = calloc(CT_BATCH, sizeof(*keys));
	struct tn_ct_value *vals = calloc(CT_BATCH, sizeof(*vals));
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

		if (bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &n, NULL)) {
			if (errno != ENOENT) {
				rc = first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP) ? 1 : -errno;
				break;
			}
			last = true; /* ENOENT: this batch is the last one */
		}
		first = false;
		in = out;
		for (__u32 i = 0; i < n && !rc; i++)
			rc = fn(arg, clk, &keys[i], &vals[i]);
	}
	free(keys);
	free(vals);
	return rc;
}

int tn_dp_ct_foreach(struct tn_dp *dp, tn_ct_fn fn, void *arg)
{
	struct tn_ct_clock clk = {
		.tcp_timeout_ns = dp->settings.tcp_timeout_s * 1000000000ULL,
		.udp_timeout_ns = dp->settings.udp_timeout_s * 1000000000ULL,
	};
	int fd = bpf_map__fd(dp->skel->maps.conntrack), rc;
	struct timespec ts;

	/* the data plane stores CLOCK_MONOTONIC_COARSE ns (clock.c) */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	clk.now_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	rc = walk_batches(fd, &clk, fn, arg);
	return rc == 1 ? walk_keys(fd, &clk, fn, arg) : rc;
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
