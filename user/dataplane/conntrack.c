/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Walking the conntrack maps from user space (a refresh preview counts the
 * tracked clients a change would move), judged by the data plane's clock:
 * conntrack4_sets' entries (IPv4 sourceIp, a set-associative table read
 * through a mapping of its array) shown as the general map's. */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tenace.skel.h"
#include "dataplane/internal.h"
#include "lib/log.h"

#define CT_BATCH 4096

bool tn_ct_expired(const struct tn_ct_clock *clk, const struct tn_ct_value *v, uint8_t proto)
{
	uint64_t timeout = proto == IPPROTO_TCP ? clk->tcp_timeout_ns : clk->udp_timeout_ns;

	/* the data plane's test, signed as there (a CPU may store a newer tick) */
	return (int64_t)(clk->now_ns - v->last_seen_ns) > (int64_t)(timeout + TN_CT_TOUCH_NS);
}

/* ---- conntrack4_sets ------------------------------------------------------------ */

int tn_dp_ct4_map(struct tn_dp *dp)
{
	int fd = bpf_map__fd(dp->skel->maps.conntrack4_sets);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	dp->ct4_nsets = bpf_map__max_entries(dp->skel->maps.conntrack4_sets);
	dp->ct4_len = ((size_t)dp->ct4_nsets * sizeof(struct tn_ct4_set) + page - 1) / page * page;
	p = mmap(NULL, dp->ct4_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		tn_err("cannot map the IPv4 conntrack (%u sets): %s", dp->ct4_nsets, strerror(errno));
		dp->ct4_len = 0;
		return err;
	}
	dp->ct4 = p;
	return 0;
}

void tn_dp_ct4_unmap(struct tn_dp *dp)
{
	if (dp->ct4)
		munmap(dp->ct4, dp->ct4_len);
	dp->ct4 = NULL;
}

static uint32_t seen_of(uint64_t val)
{
	struct tn_ct4_value v;

	memcpy(&v, &val, sizeof(v));
	return v.seen;
}

/* An entry written by user space (a carried-over client): an empty way of
 * its set, else the one seen longest ago; the key word last, as the data
 * plane writes it. */
static void ct4_put(struct tn_dp *dp, uint64_t key, uint64_t val)
{
	struct tn_ct4_set *s = &dp->ct4[tn_ct4_set_of(key, dp->settings.hash_seed, dp->ct4_nsets - 1)];
	uint32_t stamp = seen_of(val);
	int32_t oldest = INT32_MIN;
	int v = 0;

	for (int i = 0; i < TN_CT4_WAYS; i++) {
		uint64_t k = __atomic_load_n(&s->w[2 * i], __ATOMIC_ACQUIRE);
		int32_t age = (int32_t)(stamp - seen_of(__atomic_load_n(&s->w[2 * i + 1], __ATOMIC_RELAXED)));

		if (k == key || k == 0) {
			v = i;
			break;
		}
		if (k != TN_CT4_BUSY && age > oldest) {
			oldest = age;
			v = i;
		}
	}
	__atomic_store_n(&s->w[2 * v + 1], val, __ATOMIC_RELAXED);
	__atomic_store_n(&s->w[2 * v], key, __ATOMIC_RELEASE);
}

/* Each entry of conntrack4_sets, read as the data plane reads it: the key,
 * the value, the key again (a way rewritten meanwhile is skipped). */
static int walk_sets(struct tn_dp *dp, const struct tn_ct_clock *clk, tn_ct_fn fn, void *arg)
{
	struct tn_ct4_key k4;
	struct tn_ct4_value v4;
	struct tn_ct_key k;
	struct tn_ct_value v;
	int rc;

	for (uint32_t i = 0; i < dp->ct4_nsets; i++) {
		__u64 *w = dp->ct4[i].w;

		for (int j = 0; j < TN_CT4_WAYS; j++) {
			uint64_t key = __atomic_load_n(&w[2 * j], __ATOMIC_ACQUIRE), val;

			if (key == 0 || key == TN_CT4_BUSY)
				continue;
			val = __atomic_load_n(&w[2 * j + 1], __ATOMIC_ACQUIRE);
			if (__atomic_load_n(&w[2 * j], __ATOMIC_RELAXED) != key)
				continue;
			memcpy(&k4, &key, sizeof(k4));
			memcpy(&v4, &val, sizeof(v4));
			tn_ct4_unpack(&k4, &v4, clk->now_ns, &k, &v);
			if ((rc = fn(arg, clk, &k, &v)))
				return rc;
		}
	}
	return 0;
}

/*
 * The IPv4 conntrack of a build before conntrack4_sets (an LRU_HASH pinned
 * as conntrack4, 8-byte keys and values, the same packing): its clients are
 * written into this table, then its pin removed, so that an upgrade keeps
 * them on their servers. Its program, still attached until this one
 * replaces it, may track a few more meanwhile: those are decided again, on
 * the same table. 0 or -errno (logged).
 */
int tn_dp_ct4_carry_over(struct tn_dp *dp)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	uint64_t key, next, val, n = 0;
	void *prev = NULL;
	int fd;

	if (!dp->pin_dir[0])
		return 0;
	snprintf(path, sizeof(path), "%s/conntrack4", dp->pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_MAP_TYPE_LRU_HASH || info.key_size != 8 ||
	    info.value_size != 8) {
		tn_warn("the map pinned at %s is no IPv4 conntrack of an earlier build: left alone", path);
		close(fd);
		return 0;
	}
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val) || key == 0 || key == TN_CT4_BUSY)
			continue; /* gone meanwhile (LRU) */
		ct4_put(dp, key, val);
		n++;
	}
	close(fd);
	if (unlink(path))
		tn_warn("cannot remove the earlier IPv4 conntrack's pin %s: %s", path, strerror(errno));
	tn_info("carried %llu IPv4 clients over from the earlier build's conntrack (%s) to conntrack4_sets",
		(unsigned long long)n, path);
	return 0;
}

/* ---- the general conntrack (LRU_HASH) ------------------------------------------- */

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
	int fd = bpf_map__fd(dp->skel->maps.conntrack);
	struct timespec ts;
	int rc;

	/* the data plane stores CLOCK_MONOTONIC_COARSE ns (clock.c) */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	clk.now_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if ((rc = walk_sets(dp, &clk, fn, arg)))
		return rc;
	rc = walk_batches(fd, &clk, fn, arg);
	return rc == 1 ? walk_keys(fd, &clk, fn, arg) : rc;
}

int tn_dp_ct_clear(struct tn_dp *dp)
{
	int fd = bpf_map__fd(dp->skel->maps.conntrack);
	struct tn_ct_key k;

	for (uint32_t i = 0; i < dp->ct4_nsets; i++)
		for (int j = 0; j < 2 * TN_CT4_WAYS; j++)
			__atomic_store_n(&dp->ct4[i].w[j], 0, __ATOMIC_RELAXED);
	while (!bpf_map_get_next_key(fd, NULL, &k))
		if (bpf_map_delete_elem(fd, &k) && errno != ENOENT)
			return -errno;
	return errno == ENOENT ? 0 : -errno;
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
