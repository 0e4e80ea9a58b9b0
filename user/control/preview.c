/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What a refresh will move, before it moves it: each farm the refresh would
 * rewrite is built as farms_write builds it (build.c, nothing written), its
 * table compared entry by entry with the one in place, and the conntrack
 * walked once to count the tracked clients whose server would change, by
 * the data plane's own rule (bpf/tenace.bpf.c): an entry keeps its server
 * while the slot it names holds the same incarnation, used and up, and, once
 * idle past its timeout, only while that server is still in the table.
 *
 * Per farm: {"type", "farmId", "zone", "change": changed|added|removed,
 * "tableSize", "entriesChanged" (entries whose owner changes),
 * "entriesChangedPercent", "trackedClients" (live entries on a usable
 * server now), "movedClients" (those whose server the refresh takes away),
 * "movedPercent", "staleClients" (entries the data plane reschedules at
 * their next packet anyway), "expiredClients" (idle past their timeout on a
 * server out of the table: decided again anyway), "servers": [{"serverId",
 * "address", "port", "change": kept|added|removed, "weight" and "state"
 * (after; null when removed), "entriesBefore", "entriesAfter",
 * "newClientPercent" (entriesAfter / tableSize), "weightPercent" (its weight
 * over those of the servers taking new clients), "trackedClients",
 * "movedClients"}]}, or {"type", "farmId", "zone", "change", "error"}.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "control/internal.h"

struct farm_preview {
	enum tn_l4_type type;
	uint32_t farm_id;
	char *zone;
	const struct tn_farm_cfg *f;   /* in next; NULL: removed */
	bool added;                    /* in no slot yet */
	int slot;
	struct tn_farm *old, *nf;      /* NULL: none (new farm, removed farm) */
	int err;
	uint64_t tracked, moved, expired, stale;
	uint32_t tracked_by_slot[TN_MAX_SERVERS], moved_by_slot[TN_MAX_SERVERS];
};

struct preview {
	struct farm_preview *v;
	size_t n;
	int by_slot[TN_MAX_FARMS];     /* index in v, -1 none */
};

void preview_free(struct preview *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].zone);
		free(p->v[i].old);
		free(p->v[i].nf);
	}
	free(p->v);
	free(p);
}

static bool usable(const struct tn_server *s)
{
	return ct_keeps(s, &(struct tn_ct_value){ .tag = s->tag }, false);
}

static int add_farm(struct preview *p, const struct tn_ctl *ctl, const struct tn_config *c,
		    const struct tn_farm_cfg *cf, const struct tn_farm_cfg *f)
{
	struct farm_preview *fp = &p->v[p->n];

	fp->type = cf->type;
	fp->farm_id = cf->farm_id;
	fp->f = f;
	fp->slot = slot_of((struct tn_ctl *)ctl, cf->type, cf->farm_id);
	fp->added = fp->slot < 0;
	if (!(fp->zone = strdup(farm_zone(c, cf))))
		return -ENOMEM;
	if (fp->slot >= 0)
		p->by_slot[fp->slot] = (int)p->n;
	p->n++;
	return 0;
}

/* State lock held: the farms applying next rewrites (as apply_farms picks
 * them) and those it removes. */
static int pick_farms(struct tn_ctl *ctl, const struct tn_config *next, struct preview *p)
{
	const struct tn_config *ap = &ctl->applied;
	int err = 0;

	ASSERT_STATE_HELD();
	if (!(p->v = calloc(next->nfarms + ap->nfarms + 1, sizeof(*p->v))))
		return -ENOMEM;
	for (size_t i = 0; i < next->nfarms && !err; i++) {
		const struct tn_farm_cfg *f = &next->farms[i];
		const struct tn_farm_cfg *old = tn_config_farm(ap, f->type, f->farm_id);

		if (farm_needs_write(ctl, slot_of(ctl, f->type, f->farm_id), old, f))
			err = add_farm(p, ctl, next, f, f);
	}
	for (size_t i = 0; i < ap->nfarms && !err; i++)
		if (!tn_config_farm(next, ap->farms[i].type, ap->farms[i].farm_id))
			err = add_farm(p, ctl, ap, &ap->farms[i], NULL);
	return err;
}

/* No lock: the tables in place and the tables the refresh would build. */
static int build_tables(struct tn_ctl *ctl, struct preview *p)
{
	const struct tn_farm_cfg **farms = calloc(p->n + 1, sizeof(*farms));
	struct tn_farm **out = calloc(p->n + 1, sizeof(*out));
	int *err = calloc(p->n + 1, sizeof(*err));
	size_t n = 0, *at = calloc(p->n + 1, sizeof(*at));
	int rc = farms && out && err && at ? 0 : -ENOMEM;

	for (size_t i = 0; i < p->n && !rc; i++) {
		struct farm_preview *fp = &p->v[i];

		if (fp->slot >= 0) {
			if (!(fp->old = calloc(1, sizeof(*fp->old))))
				rc = -ENOMEM;
			else if ((fp->err = call_farm_table(ctl, fp->slot, fp->old)))
				fp->slot = -1; /* unreadable: its clients are not counted */
		}
		if (!rc && fp->f) {
			if (!(fp->nf = calloc(1, sizeof(*fp->nf))))
				rc = -ENOMEM;
			farms[n] = fp->f;
			out[n] = fp->nf;
			at[n++] = i;
		}
	}
	if (!rc)
		farms_build(ctl, farms, n, out, err);
	for (size_t k = 0; !rc && k < n; k++)
		if (err[k] && !p->v[at[k]].err)
			p->v[at[k]].err = err[k];
	free(farms);
	free(out);
	free(err);
	free(at);
	return rc;
}

static bool keeps(const struct tn_farm *f, const struct tn_ct_value *v, bool idle)
{
	return ct_keeps(f && v->slot < TN_MAX_SERVERS ? &f->servers[v->slot] : NULL, v, idle);
}

/* One conntrack entry, judged as the data plane judges it at its next packet. */
static int count_entry(void *arg, const struct tn_ct_clock *clk, const struct tn_ct_key *k,
		       const struct tn_ct_value *v)
{
	struct preview *p = arg;
	struct farm_preview *fp;
	uint8_t proto;
	bool idle;

	if (k->farm_slot >= TN_MAX_FARMS || p->by_slot[k->farm_slot] < 0)
		return 0;
	fp = &p->v[p->by_slot[k->farm_slot]];
	if (fp->slot < 0 || !fp->old)
		return 0;
	/* sourceIp stickiness keys carry no protocol: the farm's is the packets' */
	proto = k->proto ? k->proto : l4_proto(fp->type);
	idle = tn_ct_expired(clk, v, proto);
	if (!keeps(fp->old, v, false)) {
		fp->stale++;   /* rescheduled at its next packet whatever the refresh does */
	} else if (!keeps(fp->old, v, idle)) {
		fp->expired++; /* idle past its timeout on a server out of the table: decided again anyway */
	} else {
		fp->tracked++;
		fp->tracked_by_slot[v->slot]++;
		if (!keeps(fp->nf, v, idle)) {
			fp->moved++;
			fp->moved_by_slot[v->slot]++;
		}
	}
	return 0;
}

struct preview *preview_run(struct tn_ctl *ctl, const struct tn_config *next, int *err)
{
	struct preview *p = calloc(1, sizeof(*p));
	bool walk = false;

	ASSERT_WRITER();
	ASSERT_STATE_FREE();
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	for (int i = 0; i < TN_MAX_FARMS; i++)
		p->by_slot[i] = -1;
	tn_ctl_lock(ctl);
	*err = pick_farms(ctl, next, p);
	tn_ctl_unlock(ctl);
	if (!*err)
		*err = build_tables(ctl, p);
	for (size_t i = 0; i < p->n; i++)
		walk |= p->v[i].slot >= 0;
	if (!*err && walk && (*err = call_ct_foreach(ctl, count_entry, p)) == -ENOTSUP)
		*err = 0; /* a backend without conntrack: no tracked client to count */
	if (*err) {
		preview_free(p);
		return NULL;
	}
	return p;
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? round(10000.0 * (double)a / (double)b) / 100.0 : 0;
}

/* A percentage as JSON, written with its two decimals (not 33.590000000000003). */
static json_object *json_pct(double v)
{
	char text[32];

	snprintf(text, sizeof(text), "%.2f", v);
	return json_object_new_double_s(v, text);
}

static uint32_t owner(const struct tn_farm *f, uint32_t i)
{
	uint16_t s = f->table[i];

	return s < TN_MAX_SERVERS && (f->servers[s].flags & TN_SRV_F_USED) ? f->servers[s].tag : 0;
}

/* Entries whose owner (identity tag) differs; a missing table owns none. */
static uint32_t entries_changed(const struct farm_preview *fp, uint32_t size)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < size; i++)
		n += (fp->old ? owner(fp->old, i) : 0) != (fp->nf ? owner(fp->nf, i) : 0);
	return n;
}

static void count_entries(const struct tn_farm *f, uint32_t size, uint32_t *per_slot)
{
	for (uint32_t i = 0; f && i < size; i++)
		if (f->table[i] < TN_MAX_SERVERS)
			per_slot[f->table[i]]++;
}

/* A server that takes new clients in f: up (backups are up only while in use) with a weight. */
static bool takes_new(const struct tn_server *s)
{
	return usable(s) && s->weight;
}

static json_object *server_row(const struct farm_preview *fp, uint16_t slot, const struct tn_server *s, bool before,
			       bool after, const uint32_t *eb, const uint32_t *ea, uint32_t size, uint32_t wsum)
{
	json_object *o = json_object_new_object();
	const struct tn_server *n = after ? &fp->nf->servers[slot] : NULL;
	char addr[TN_ADDR_TEXT];
	struct tn_addr a = { .family = s->family };

	memcpy(a.bytes, s->addr, sizeof(a.bytes));
	tn_addr_format(&a, addr, sizeof(addr));
	json_object_object_add(o, "serverId", json_object_new_int64(s->server_id));
	json_object_object_add(o, "address", json_object_new_string(addr));
	json_object_object_add(o, "port", json_object_new_int(s->port));
	json_object_object_add(o, "change", json_object_new_string(before && after ? "kept" : after ? "added" : "removed"));
	/* after the refresh: a removed server has neither */
	json_object_object_add(o, "weight", n ? json_object_new_int(n->weight) : NULL);
	json_object_object_add(o, "state", n ? json_object_new_string(usable(n) ? "up" : "down") : NULL);
	json_object_object_add(o, "entriesBefore", json_object_new_int64(before ? eb[slot] : 0));
	json_object_object_add(o, "entriesAfter", json_object_new_int64(after ? ea[slot] : 0));
	json_object_object_add(o, "newClientPercent", json_pct(pct(after ? ea[slot] : 0, size)));
	json_object_object_add(o, "weightPercent",
			       json_pct(n && takes_new(n) ? pct(n->weight, wsum) : 0));
	json_object_object_add(o, "trackedClients", json_object_new_int64(before ? fp->tracked_by_slot[slot] : 0));
	json_object_object_add(o, "movedClients", json_object_new_int64(before ? fp->moved_by_slot[slot] : 0));
	return o;
}

/* Each server of either table by slot (a slot given to a new server is two rows). */
static json_object *servers_json(const struct farm_preview *fp, uint32_t size)
{
	uint32_t *eb = calloc(TN_MAX_SERVERS, sizeof(*eb)), *ea = calloc(TN_MAX_SERVERS, sizeof(*ea)), wsum = 0;
	json_object *arr = json_object_new_array();

	if (!eb || !ea) {
		free(eb);
		free(ea);
		return arr;
	}
	count_entries(fp->old, size, eb);
	count_entries(fp->nf, size, ea);
	for (int s = 0; fp->nf && s < TN_MAX_SERVERS; s++)
		if (takes_new(&fp->nf->servers[s]))
			wsum += fp->nf->servers[s].weight;
	for (uint16_t s = 0; s < TN_MAX_SERVERS; s++) {
		const struct tn_server *o = fp->old ? &fp->old->servers[s] : NULL, *n = fp->nf ? &fp->nf->servers[s] : NULL;
		bool ou = o && (o->flags & TN_SRV_F_USED), nu = n && (n->flags & TN_SRV_F_USED);
		bool same = ou && nu && o->tag == n->tag;

		if (ou)
			json_object_array_add(arr, server_row(fp, s, o, true, same, eb, ea, size, wsum));
		if (nu && !same)
			json_object_array_add(arr, server_row(fp, s, n, false, true, eb, ea, size, wsum));
	}
	free(eb);
	free(ea);
	return arr;
}

static json_object *farm_json(const struct farm_preview *fp)
{
	json_object *o = json_object_new_object();
	uint32_t size = fp->nf ? fp->nf->hdr.table_size : fp->old ? fp->old->hdr.table_size : 0;
	uint32_t changed = entries_changed(fp, size);

	json_object_object_add(o, "type", json_object_new_string(tn_l4_type_name(fp->type)));
	json_object_object_add(o, "farmId", json_object_new_int64(fp->farm_id));
	json_object_object_add(o, "zone", json_object_new_string(fp->zone));
	json_object_object_add(o, "change", json_object_new_string(!fp->f ? "removed" : fp->added ? "added" : "changed"));
	if (fp->err) {
		json_object_object_add(o, "error", json_object_new_string(strerror(-fp->err)));
		return o;
	}
	json_object_object_add(o, "tableSize", json_object_new_int64(size));
	json_object_object_add(o, "entriesChanged", json_object_new_int64(changed));
	json_object_object_add(o, "entriesChangedPercent", json_pct(pct(changed, size)));
	json_object_object_add(o, "trackedClients", json_object_new_int64((int64_t)fp->tracked));
	json_object_object_add(o, "movedClients", json_object_new_int64((int64_t)fp->moved));
	json_object_object_add(o, "movedPercent", json_pct(pct(fp->moved, fp->tracked)));
	json_object_object_add(o, "staleClients", json_object_new_int64((int64_t)fp->stale));
	json_object_object_add(o, "expiredClients", json_object_new_int64((int64_t)fp->expired));
	json_object_object_add(o, "servers", servers_json(fp, size));
	return o;
}

json_object *preview_json(const struct preview *p)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < p->n; i++)
		json_object_array_add(arr, farm_json(&p->v[i]));
	return arr;
}

bool preview_over(const struct preview *p, double max_moved, char *msg, size_t len)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct farm_preview *fp = &p->v[i];

		if (fp->err) { /* what cannot be counted cannot be held to a limit */
			snprintf(msg, len, "%s farm %u: cannot count the tracked clients it would move: %s",
				 tn_l4_type_name(fp->type), fp->farm_id, strerror(-fp->err));
			return true;
		}
		if (fp->tracked && 100.0 * (double)fp->moved > max_moved * (double)fp->tracked) {
			snprintf(msg, len, "%s farm %u would move %llu of its %llu tracked clients (%.2f %%), "
				 "more than the %g %% allowed", tn_l4_type_name(fp->type), fp->farm_id,
				 (unsigned long long)fp->moved, (unsigned long long)fp->tracked,
				 pct(fp->moved, fp->tracked), max_moved);
			return true;
		}
	}
	return false;
}

json_object *tn_ctl_preview_json(struct tn_ctl *ctl, const char *zone, double max_moved, bool *over, char *msg,
				 size_t len, int *err)
{
	struct tn_config next = {0};
	struct preview *p = NULL;
	json_object *o = NULL;

	ASSERT_STATE_FREE();
	if (zone && !strcmp(zone, "all"))
		zone = NULL;
	*over = false;
	ctl_writer_lock(ctl); /* no refresh meanwhile: the tables in place stay the ones compared */
	tn_ctl_lock(ctl);
	*err = zone && !zone_known(ctl, zone) ? -ENOENT : merge_zone(&ctl->applied, &ctl->staged, zone, &next);
	tn_ctl_unlock(ctl);
	if (!*err && (p = preview_run(ctl, &next, err))) {
		o = preview_json(p);
		if (max_moved >= 0)
			*over = preview_over(p, max_moved, msg, len);
	}
	ctl_writer_unlock(ctl);
	preview_free(p);
	tn_config_free(&next);
	return o;
}
