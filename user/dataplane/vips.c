/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * VIPs, source filters and redirect targets: each set is replaced whole,
 * new entries in before stale ones go, so a packet never finds a hole. The
 * VIP address bitmap is widened before VIP entries are written and narrowed
 * after stale ones go, for the same reason; the VIP directory of the new set
 * is swapped in between (after the new entries, before the stale ones go).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tenace.skel.h"
#include "dataplane/internal.h"
#include "lib/log.h"

/* The per-address entry of a VIP key: what fragments and malformed packets find. */
static void address_key(const struct tn_vip_key *k, struct tn_vip_key *a)
{
	*a = *k;
	a->port = 0;
	a->kind = TN_VIP_KIND_ADDRESS;
}

static bool key_in(const struct tn_vip_key *k, const struct tn_vip_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(k, &keys[i], sizeof(*k)))
			return true;
	return false;
}

/* Port entries, then one address entry per (address, proto): the lowest
 * port's VIP, so fragments follow a deterministic farm. Returns the count. */
static size_t vip_entries(const struct tn_vip_key *keys, const struct tn_vip *vals, size_t n,
			  struct tn_vip_key *all, struct tn_vip *allv)
{
	struct tn_vip_key a, b;
	size_t i, j, m = 0;

	for (i = 0; i < n; i++) {
		all[m] = keys[i];
		allv[m++] = vals[i];
	}
	for (i = 0; i < n; i++) {
		size_t best = i;

		address_key(&keys[i], &a);
		if (key_in(&a, all + n, m - n))
			continue;
		for (j = 0; j < n; j++) {
			address_key(&keys[j], &b);
			if (!memcmp(&a, &b, sizeof(a)) && ntohs(keys[j].port) < ntohs(keys[best].port))
				best = j;
		}
		all[m] = a;
		allv[m++] = vals[best];
	}
	return m;
}

/* Write the bitmap of the addresses of keys[0..n) (with the bits already
 * there when widen): one update of the whole array value. */
static int vip_bits_write(struct tn_dp *dp, const struct tn_vip_key *keys, size_t n, bool widen)
{
	int fd = bpf_map__fd(dp->skel->maps.vip_bits);
	struct tn_vip_bits *b = calloc(1, sizeof(*b));
	__u32 zero = 0, bit;
	int err = 0;

	if (!b)
		return -ENOMEM;
	if (widen && bpf_map_lookup_elem(fd, &zero, b))
		memset(b, 0xff, sizeof(*b)); /* unreadable: every address may be a VIP, never a hole */
	for (size_t i = 0; i < n; i++) {
		bit = tn_vip_bit(keys[i].addr, keys[i].family);
		b->w[bit >> 6] |= 1ULL << (bit & 63);
	}
	if (bpf_map_update_elem(fd, &zero, b, BPF_ANY)) {
		err = -errno;
		tn_err("cannot write the VIP address bitmap: %s", strerror(errno));
	}
	free(b);
	return err;
}

/* A whole new VIP directory of keys[0..n) swapped into the data plane in
 * one update (struct tn_vip_dir, headers/tenace.h). */
static int vip_dir_write(struct tn_dp *dp, const struct tn_vip_key *keys, const struct tn_vip *vals, size_t n)
{
	struct tn_vip_dir *d = calloc(1, sizeof(*d));
	__u32 zero = 0;
	int inner, err = 0;

	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct tn_vip_slot *sl = &d->s[tn_vip_slot(&keys[i])];

		if (sl->state == TN_VIP_SLOT_EMPTY) {
			sl->key = keys[i];
			sl->vip = vals[i];
			sl->state = TN_VIP_SLOT_USED;
		} else {
			memset(sl, 0, sizeof(*sl));
			sl->state = TN_VIP_SLOT_SHARED;
		}
	}
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tn_vip_dir", sizeof(__u32), sizeof(*d), 1, NULL);
	if (inner < 0) {
		err = -errno;
		tn_err("cannot create the VIP directory map: %s", strerror(errno));
	} else if (bpf_map_update_elem(inner, &zero, d, BPF_ANY) ||
		   bpf_map_update_elem(bpf_map__fd(dp->skel->maps.vip_directory), &zero, &inner, BPF_ANY)) {
		err = -errno;
		tn_err("cannot swap the VIP directory in: %s", strerror(errno));
	}
	if (inner >= 0)
		close(inner);
	free(d);
	return err;
}

int tn_dp_vip_bits_sync(struct tn_dp *dp)
{
	struct tn_vip_key *keys;
	struct tn_vip *vals;
	size_t n;
	int err;

	if ((err = tn_dp_vips_dump(dp, &keys, &vals, &n)))
		return err;
	err = vip_bits_write(dp, keys, n, false);
	if (!err)
		err = vip_dir_write(dp, keys, vals, n);
	free(keys);
	free(vals);
	return err;
}

int tn_dp_vips_replace(struct tn_dp *dp, const struct tn_vip_key *keys, const struct tn_vip *vals, size_t n)
{
	int fd = bpf_map__fd(dp->skel->maps.vips);
	struct tn_vip_key *all, cur, next;
	struct tn_vip *allv;
	size_t i, m;
	int err = 0, more;

	all = calloc(2 * n + 1, sizeof(*all));
	allv = calloc(2 * n + 1, sizeof(*allv));
	if (!all || !allv) {
		free(all);
		free(allv);
		return -ENOMEM;
	}
	m = vip_entries(keys, vals, n, all, allv);
	if ((err = vip_bits_write(dp, all, m, true)))
		goto out;
	for (i = 0; i < m; i++) {
		if (bpf_map_update_elem(fd, &all[i], &allv[i], BPF_ANY)) {
			err = -errno;
			tn_err("cannot write VIP entry: %s", strerror(errno));
			goto out;
		}
	}
	/* the directory of the new set: no stale key answers from it any more */
	if ((err = vip_dir_write(dp, all, allv, m)))
		goto out;
	/* then remove what the new set no longer has */
	more = bpf_map_get_next_key(fd, NULL, &cur) == 0;
	while (more) {
		more = bpf_map_get_next_key(fd, &cur, &next) == 0;
		if (!key_in(&cur, all, m) && bpf_map_delete_elem(fd, &cur) && errno != ENOENT) {
			/* a stale VIP left answering: said, and the call fails */
			err = -errno;
			tn_err("cannot remove a VIP entry the configuration no longer has: %s", strerror(errno));
		}
		cur = next;
	}
	if (!err)
		err = vip_bits_write(dp, all, m, false);
out:
	free(all);
	free(allv);
	return err;
}

int tn_dp_vips_dump(struct tn_dp *dp, struct tn_vip_key **keys, struct tn_vip **vals, size_t *n)
{
	int fd = bpf_map__fd(dp->skel->maps.vips);
	struct tn_vip_key cur, next;
	size_t cap = TN_MAX_VIPS + 1, m = 0;
	int more;

	*keys = calloc(cap, sizeof(**keys));
	*vals = calloc(cap, sizeof(**vals));
	if (!*keys || !*vals) {
		free(*keys);
		free(*vals);
		*keys = NULL;
		*vals = NULL;
		return -ENOMEM;
	}
	more = bpf_map_get_next_key(fd, NULL, &cur) == 0;
	while (more && m < cap) {
		if (bpf_map_lookup_elem(fd, &cur, &(*vals)[m]) == 0)
			(*keys)[m++] = cur;
		more = bpf_map_get_next_key(fd, &cur, &next) == 0;
		cur = next;
	}
	*n = m;
	return 0;
}

static void filter_key(uint32_t vip_index, const struct tn_dp_prefix *p, struct tn_filter_key *k)
{
	memset(k, 0, sizeof(*k));
	k->vip_index = htonl(vip_index);
	if (p->family == TN_FAMILY_V4) {
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		memcpy(&k->addr[12], p->addr, 4);
		k->prefixlen = 32 + 96 + p->prefixlen;
	} else {
		memcpy(k->addr, p->addr, 16);
		k->prefixlen = 32 + p->prefixlen;
	}
}

int tn_dp_filters_set(struct tn_dp *dp, uint32_t vip_index, bool allow,
		      const struct tn_dp_prefix *prefixes, size_t n)
{
	int fd = bpf_map__fd(allow ? dp->skel->maps.filter_allow : dp->skel->maps.filter_deny);
	struct tn_filter_key *keys, cur, next;
	__u32 one = 1;
	size_t i;
	int err = 0, more;

	keys = calloc(n + 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		filter_key(vip_index, &prefixes[i], &keys[i]);
		if (bpf_map_update_elem(fd, &keys[i], &one, BPF_ANY)) {
			err = -errno;
			tn_err("cannot write source filter: %s", strerror(errno));
			goto out;
		}
	}
	/* new entries first, stale ones after: the list is never empty in between */
	more = bpf_map_get_next_key(fd, NULL, &cur) == 0;
	while (more) {
		bool keep = cur.vip_index != htonl(vip_index);

		more = bpf_map_get_next_key(fd, &cur, &next) == 0;
		for (i = 0; i < n && !keep; i++)
			keep = !memcmp(&cur, &keys[i], sizeof(cur));
		if (!keep && bpf_map_delete_elem(fd, &cur) && errno != ENOENT) {
			err = -errno;
			tn_err("cannot remove a source filter entry of VIP %u: %s", vip_index, strerror(errno));
		}
		cur = next;
	}
out:
	free(keys);
	return err;
}

int tn_dp_tx_port_add(struct tn_dp *dp, uint32_t ifindex)
{
	char name[IF_NAMESIZE];
	int err;

	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.tx_ports), &ifindex, &ifindex, BPF_ANY)) {
		err = -errno;
		tn_err("interface %s: cannot add it as a redirect target (frames to servers behind it are "
		       "dropped until it is): %s", tn_dp_ifname((int)ifindex, name), strerror(-err));
		return err;
	}
	return 0;
}

