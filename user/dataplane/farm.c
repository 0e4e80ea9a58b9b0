/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Farm writing: servers in stable slots, the weighted Maglev table of the
 * servers taking new clients, all of it in a new inner map swapped into the
 * farm's slot of the outer map with one update (a packet sees the old farm
 * or the new one, never half of each).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>
#include <sys/random.h>
#include "tenace.skel.h"
#include "dataplane/internal.h"
#include "dataplane/maglev.h"
#include "lib/log.h"

uint32_t tn_server_tag(uint8_t family, const uint8_t addr[16], uint16_t port)
{
	uint32_t h = tn_mix(0x7e4ace00u, family);
	uint32_t w;
	int i;

	for (i = 0; i < 16; i += 4) {
		memcpy(&w, addr + i, 4);
		h = tn_mix(h, w);
	}
	h = tn_mix(h, port);
	h = tn_fmix(h);
	return h ? h : 1; /* 0 never names a server */
}

/* The slot's inner map: -ENOENT only when the slot holds no farm; any other
 * failure is its own error (-EAGAIN when the inner map went away between
 * the two calls), so that no caller takes a transient error for a free slot. */
static int farm_inner_fd(struct tn_dp *dp, uint32_t farm_slot)
{
	__u32 id;
	int fd;

	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.farms), &farm_slot, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return errno == ENOENT ? -EAGAIN : -errno;
	return fd;
}

static struct tn_farm *farm_alloc(struct tn_dp *dp)
{
	return calloc(1, dp->value_size);
}

/* Current value of a farm slot into buf; -ENOENT when the slot is empty. */
static int farm_load(struct tn_dp *dp, uint32_t farm_slot, struct tn_farm *buf)
{
	__u32 zero = 0;
	int fd, err;

	fd = farm_inner_fd(dp, farm_slot);
	if (fd < 0)
		return fd;
	err = bpf_map_lookup_elem(fd, &zero, buf) ? -errno : 0;
	close(fd);
	return err;
}

int tn_dp_farm_read(struct tn_dp *dp, uint32_t farm_slot, struct tn_farm_hdr *hdr,
		    struct tn_server *servers, uint16_t *table)
{
	struct tn_farm *f;
	int err;

	if (farm_slot >= TN_MAX_FARMS)
		return -EINVAL;
	f = farm_alloc(dp);
	if (!f)
		return -ENOMEM;
	err = farm_load(dp, farm_slot, f);
	if (!err) {
		if (hdr)
			*hdr = f->hdr;
		if (servers)
			memcpy(servers, f->servers, sizeof(f->servers));
		if (table)
			memcpy(table, f->table, dp->settings.table_size * sizeof(uint16_t));
	}
	free(f);
	return err;
}

static bool same_identity(const struct tn_server *o, const struct tn_dp_server *n)
{
	return (o->flags & TN_SRV_F_USED) && o->family == n->family && o->port == n->port &&
	       !memcmp(o->addr, n->addr, 16);
}

/* Servers keep their slot across writes (matched by family, address and
 * port exactly), so tracked clients stay; new servers take slots never used
 * by the previous generation first. */
static int assign_slots(const struct tn_farm *old, const struct tn_dp_server *srv, size_t n, uint16_t *slots)
{
	uint8_t taken[TN_MAX_SERVERS] = { 0 };
	size_t i, j;
	uint32_t s;

	for (i = 0; i < n; i++) {
		slots[i] = TN_NO_SERVER;
		for (j = 0; j < i; j++)
			if (srv[j].family == srv[i].family && srv[j].port == srv[i].port &&
			    !memcmp(srv[j].addr, srv[i].addr, 16))
				return -EEXIST;
		if (!old)
			continue;
		for (s = 0; s < TN_MAX_SERVERS; s++) {
			if (same_identity(&old->servers[s], &srv[i])) {
				slots[i] = (uint16_t)s;
				taken[s] = 1;
				break;
			}
		}
	}
	for (i = 0; i < n; i++) {
		if (slots[i] != TN_NO_SERVER)
			continue;
		for (int pass = 0; pass < 2 && slots[i] == TN_NO_SERVER; pass++) {
			for (s = 0; s < TN_MAX_SERVERS; s++) {
				if (taken[s])
					continue;
				if (pass == 0 && old && (old->servers[s].flags & TN_SRV_F_USED))
					continue;
				slots[i] = (uint16_t)s;
				taken[s] = 1;
				break;
			}
		}
		if (slots[i] == TN_NO_SERVER)
			return -ENOSPC;
	}
	return 0;
}

/* Which servers take new clients: up non-backup servers with a weight, or,
 * when none is up, the backups; `first` keeps only the lowest serverId. */
static size_t pick_table_servers(const struct tn_dp_farm *f, const uint16_t *slots, const uint32_t *tags,
				 uint32_t seed, struct tn_maglev_server *out, bool *backups_in_use)
{
	size_t i, n = 0, best = 0;
	bool primary_up = false;

	/* a primary that is up but drained (weight 0, inactive) takes no new
	 * clients: backups step in when no primary can */
	for (i = 0; i < f->nservers; i++)
		if (f->servers[i].up && f->servers[i].weight && !f->servers[i].backup)
			primary_up = true;
	*backups_in_use = !primary_up;
	for (i = 0; i < f->nservers; i++) {
		const struct tn_dp_server *s = &f->servers[i];

		if (!s->up || s->weight == 0 || s->backup == primary_up)
			continue;
		out[n].tag = tn_fmix(tags[i] ^ seed);
		out[n].slot = slots[i];
		out[n].weight = s->weight;
		if (n && f->servers[i].server_id < f->servers[best].server_id)
			best = i;
		else if (!n)
			best = i;
		n++;
	}
	if (f->balance == TN_BALANCE_FIRST && n) {
		out[0].tag = tn_fmix(tags[best] ^ seed);
		out[0].slot = slots[best];
		out[0].weight = 1;
		n = 1;
	}
	return n;
}

/* What one write works on: the slot's current value, the new one, and per
 * server its identity tag, its slot and its Maglev entry. */
struct farm_scratch {
	struct tn_farm *old, *nf;
	bool have_old;
	uint16_t *slots;
	uint32_t *tags;          /* hash of the identity: the Maglev permutation's seed */
	uint32_t *incarnations;  /* the conntrack identity (tn_server.tag) */
	bool *kept;              /* the server kept its slot from the previous generation */
	struct tn_maglev_server *ms;
	size_t nm;             /* servers in the table */
	bool backups_in_use;
};

static void scratch_free(struct farm_scratch *s)
{
	free(s->old);
	free(s->nf);
	free(s->slots);
	free(s->tags);
	free(s->incarnations);
	free(s->kept);
	free(s->ms);
}

static int scratch_alloc(size_t value_size, size_t nservers, struct farm_scratch *s)
{
	memset(s, 0, sizeof(*s));
	s->old = calloc(1, value_size);
	s->nf = calloc(1, value_size);
	s->slots = calloc(nservers + 1, sizeof(*s->slots));
	s->tags = calloc(nservers + 1, sizeof(*s->tags));
	s->incarnations = calloc(nservers + 1, sizeof(*s->incarnations));
	s->kept = calloc(nservers + 1, sizeof(*s->kept));
	s->ms = calloc(nservers + 1, sizeof(*s->ms));
	if (!s->old || !s->nf || !s->slots || !s->tags || !s->incarnations || !s->kept || !s->ms) {
		scratch_free(s);
		return -ENOMEM;
	}
	return 0;
}

/* The slot's current value into s->old (s->have_old), or none: -ENOENT is
 * "no farm there"; any other failure is the caller's to report. */
static int farm_current(struct tn_dp *dp, uint32_t farm_slot, const struct tn_dp_farm *f, struct farm_scratch *s)
{
	int err;

	/* servers keep their slots from the farm in place: when it cannot be
	 * read (other than "no farm there"), nothing is written, rather than
	 * renumbering its servers and moving their tracked clients */
	err = farm_load(dp, farm_slot, s->old);
	if (err && err != -ENOENT) {
		tn_err("farm %u: cannot read its current table in slot %u: %s (not rewritten; tried again later)",
		       f->farm_id, farm_slot, strerror(-err));
		return err;
	}
	s->have_old = err == 0;
	return 0;
}

/* Each server's tag and slot, keeping the slots of the previous generation. */
static int farm_slots(const struct tn_dp_farm *f, struct farm_scratch *s)
{
	int err;

	for (size_t i = 0; i < f->nservers; i++)
		s->tags[i] = tn_server_tag(f->servers[i].family, f->servers[i].addr, f->servers[i].port);
	err = assign_slots(s->have_old ? s->old : NULL, f->servers, f->nservers, s->slots);
	if (err) {
		tn_err("farm %u: %s", f->farm_id, err == -EEXIST ?
		       "two servers have the same address and port" : "no free server slot");
		return err;
	}
	for (size_t i = 0; s->have_old && i < f->nservers; i++)
		s->kept[i] = same_identity(&s->old->servers[s->slots[i]], &f->servers[i]);
	return 0;
}

/*
 * The conntrack identity of each server: a server that keeps its slot keeps
 * its number; a new one gets the farm's next, never given before in this
 * farm (a counter in the header; a fresh farm starts from a random one), so a
 * slot reused by another server never inherits the clients tracked to the
 * previous one, whatever their addresses hash to.
 */
static void assign_incarnations(const struct farm_scratch *s, size_t n, uint32_t *out)
{
	uint32_t next = s->have_old ? s->old->hdr.next_incarnation : 0;

	if (!next && getrandom(&next, sizeof(next), 0) != sizeof(next))
		next = (uint32_t)time(NULL) * 2654435761u;
	for (size_t i = 0; i < n; i++) {
		const struct tn_server *o = s->have_old ? &s->old->servers[s->slots[i]] : NULL;

		if (o && s->kept[i]) {
			out[i] = o->tag;
			continue;
		}
		/* never 0, never the number the slot's previous server had (a farm written before
		 * incarnations), not even in the low bits a conntrack entry keeps (tn_ct_tag_eq) */
		while (!next || (o && (o->flags & TN_SRV_F_USED) && tn_ct_tag_eq(o->tag, next)))
			next++;
		out[i] = next++;
	}
	s->nf->hdr.next_incarnation = next ? next : 1;
}

/* The new value: header, servers in their slots, the Maglev table. */
static int farm_fill(uint32_t table_size, uint32_t seed, const struct tn_dp_farm *f, struct farm_scratch *s)
{
	struct tn_farm *nf = s->nf;
	int err;

	nf->hdr.generation = s->have_old ? s->old->hdr.generation + 1 : 1;
	nf->hdr.farm_id = f->farm_id;
	nf->hdr.table_size = table_size;
	nf->hdr.stickiness = f->stickiness;
	nf->hdr.balance = f->balance;
	nf->hdr.proto = f->proto;
	nf->hdr.encap = f->encap;
	assign_incarnations(s, f->nservers, s->incarnations);
	s->nm = pick_table_servers(f, s->slots, s->tags, seed, s->ms, &s->backups_in_use);
	for (size_t i = 0; i < f->nservers; i++) {
		const struct tn_dp_server *src = &f->servers[i];
		struct tn_server *d = &nf->servers[s->slots[i]];

		memcpy(d->mac, src->mac, 6);
		memcpy(d->src_mac, src->src_mac, 6);
		d->ifindex = src->ifindex;
		d->tag = s->incarnations[i];
		d->server_id = src->server_id;
		d->weight = src->weight;
		memcpy(d->addr, src->addr, 16);
		d->port = src->port;
		d->family = src->family;
		d->flags = TN_SRV_F_USED;
		if (src->backup)
			d->flags |= TN_SRV_F_BACKUP;
		/* a backup serves (even its tracked clients) only while backups are in use */
		if (src->up && (!src->backup || s->backups_in_use))
			d->flags |= TN_SRV_F_UP;
		if (s->slots[i] + 1u > nf->hdr.nservers)
			nf->hdr.nservers = s->slots[i] + 1;
	}
	nf->hdr.nup = (uint16_t)s->nm;
	err = tn_maglev_build(nf->table, table_size, s->ms, s->nm);
	if (err) {
		tn_err("farm %u: cannot build the Maglev table: %s", f->farm_id, strerror(-err));
		return err;
	}
	/* the servers with entries: an idle tracked client of theirs stays */
	for (uint32_t e = 0; e < table_size; e++)
		if (nf->table[e] < TN_MAX_SERVERS)
			nf->servers[nf->table[e]].flags |= TN_SRV_F_IN_TABLE;
	return 0;
}

/* A complete new inner map, then one update of the outer slot. */
static int farm_swap(struct tn_dp *dp, uint32_t farm_slot, uint32_t farm_id, const struct tn_farm *nf)
{
	__u32 zero = 0;
	int inner, err = 0;

	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tn_farm", sizeof(__u32), dp->value_size, 1, NULL);
	if (inner < 0) {
		err = -errno;
		tn_err("farm %u: cannot create its table map: %s", farm_id, strerror(errno));
		return err;
	}
	if (bpf_map_update_elem(inner, &zero, nf, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(dp->skel->maps.farms), &farm_slot, &inner, BPF_ANY)) {
		err = -errno;
		tn_err("farm %u: cannot swap its table into slot %u: %s", farm_id, farm_slot, strerror(errno));
	}
	close(inner);
	return err;
}

/* The new value of a slot from its current one (have_old) and f: what a
 * write swaps in and what a preview looks at. */
static int farm_compose(uint32_t table_size, uint32_t seed, const struct tn_dp_farm *f, struct farm_scratch *s)
{
	int err = farm_slots(f, s);

	return err ? err : farm_fill(table_size, seed, f, s);
}

int tn_dp_farm_write(struct tn_dp *dp, uint32_t farm_slot, const struct tn_dp_farm *f, uint64_t *generation)
{
	struct farm_scratch s;
	int err;

	if (farm_slot >= TN_MAX_FARMS || f->nservers > TN_MAX_SERVERS)
		return -EINVAL;
	if ((err = scratch_alloc(dp->value_size, f->nservers, &s)))
		return err;
	if (!(err = farm_current(dp, farm_slot, f, &s)) &&
	    !(err = farm_compose(dp->settings.table_size, dp->settings.hash_seed, f, &s)) &&
	    !(err = farm_swap(dp, farm_slot, f->farm_id, s.nf)) && generation)
		*generation = s.nf->hdr.generation;
	scratch_free(&s);
	return err;
}

int tn_dp_farm_build(struct tn_dp *dp, int farm_slot, const struct tn_dp_farm *f, struct tn_farm *out)
{
	struct farm_scratch s;
	int err;

	if (farm_slot >= TN_MAX_FARMS || f->nservers > TN_MAX_SERVERS)
		return -EINVAL;
	if ((err = scratch_alloc(dp->value_size, f->nservers, &s)))
		return err;
	if (!(err = farm_slot < 0 ? 0 : farm_current(dp, (uint32_t)farm_slot, f, &s)) &&
	    !(err = farm_compose(dp->settings.table_size, dp->settings.hash_seed, f, &s)))
		memcpy(out, s.nf, dp->value_size);
	scratch_free(&s);
	return err;
}

int tn_farm_compose(const struct tn_farm *old, const struct tn_dp_farm *f, uint32_t table_size, uint32_t seed,
		    struct tn_farm *out)
{
	size_t vs = tn_farm_value_size(table_size);
	struct farm_scratch s;
	int err;

	if (f->nservers > TN_MAX_SERVERS || table_size > TN_TABLE_SIZE_MAX)
		return -EINVAL;
	if ((err = scratch_alloc(vs, f->nservers, &s)))
		return err;
	if ((s.have_old = old != NULL))
		memcpy(s.old, old, vs);
	if (!(err = farm_compose(table_size, seed, f, &s)))
		memcpy(out, s.nf, vs);
	scratch_free(&s);
	return err;
}

int tn_dp_farm_clear(struct tn_dp *dp, uint32_t farm_slot)
{
	if (farm_slot >= TN_MAX_FARMS)
		return -EINVAL;
	if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.farms), &farm_slot) && errno != ENOENT)
		return -errno;
	return 0;
}
