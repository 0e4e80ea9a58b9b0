/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Encap sources and learned path MTUs in the data plane's maps. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "dataplane/encap.h"
#include "lib/log.h"

static void key_of(const struct tn_addr *a, struct tn_pmtu_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, a->bytes, 16);
	k->family = a->family;
}

static bool listed(const struct tn_pmtu_key *k, const struct tn_addr *addrs, size_t n)
{
	struct tn_pmtu_key x;

	for (size_t i = 0; i < n; i++) {
		key_of(&addrs[i], &x);
		if (!memcmp(&x, k, sizeof(x)))
			return true;
	}
	return false;
}

int tn_dp_encap_sources_set(struct tn_dp *dp, const struct tn_addr *addrs, size_t n)
{
	int fd = tn_dp_map_fd(dp, "encap_sources");
	struct tn_pmtu_key k, next;
	__u32 one = 1;
	int err = 0;
	bool more;

	if (fd < 0)
		return fd;
	for (size_t i = 0; i < n; i++) {
		key_of(&addrs[i], &k);
		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY)) {
			char a[TN_ADDR_TEXT];

			err = -errno;
			tn_addr_format(&addrs[i], a, sizeof(a));
			tn_err("cannot record encapSource %s in the data plane: %s", a, strerror(errno));
			return err;
		}
	}
	more = bpf_map_get_next_key(fd, NULL, &k) == 0;
	while (more) {
		more = bpf_map_get_next_key(fd, &k, &next) == 0;
		if (!listed(&k, addrs, n) && bpf_map_delete_elem(fd, &k) && errno != ENOENT) {
			err = -errno;
			tn_err("cannot remove an encapSource the configuration no longer has: %s", strerror(errno));
		}
		k = next;
	}
	return err;
}

/* bpf_ktime_get_ns()'s clock */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int tn_dp_pmtu_dump(struct tn_dp *dp, struct tn_dp_pmtu **out, size_t *n)
{
	int fd = tn_dp_map_fd(dp, "pmtu");
	struct tn_pmtu_key k, next;
	struct tn_pmtu v;
	uint64_t now = now_ns();
	bool more;

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return fd;
	more = bpf_map_get_next_key(fd, NULL, &k) == 0;
	while (more) {
		more = bpf_map_get_next_key(fd, &k, &next) == 0;
		if (bpf_map_lookup_elem(fd, &k, &v) == 0 && v.expires_ns > now) {
			struct tn_dp_pmtu *e = realloc(*out, (*n + 1) * sizeof(**out));

			if (!e) {
				free(*out);
				*out = NULL;
				*n = 0;
				return -ENOMEM;
			}
			*out = e;
			e = &e[(*n)++];
			e->server.family = k.family;
			memcpy(e->server.bytes, k.addr, 16);
			e->mtu = v.mtu;
			e->expires_in_s = (uint32_t)((v.expires_ns - now + 999999999ULL) / 1000000000ULL);
		}
		k = next;
	}
	return 0;
}

int tn_dp_pmtu_clear(struct tn_dp *dp)
{
	int fd = tn_dp_map_fd(dp, "pmtu");
	struct tn_pmtu_key k;

	if (fd < 0)
		return fd;
	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		if (bpf_map_delete_elem(fd, &k))
			return -errno;
	return 0;
}
