/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Once a second, by the writer: forget removed servers, retry MAC
 * resolution, have the tunnels' next hops resolved (control/encap.c),
 * rewrite farms left dirty (a failed write, a MAC that changed), and
 * sample the counters. Counters are read from the maps
 * without the state lock and stored under it.
 */
#include <errno.h>
#include <stdlib.h>
#include "control/internal.h"

/* State lock held: farms using a changed address need a rewrite. */
static void mark_dirty(struct tn_ctl *ctl, const struct resolution *r)
{
	for (size_t j = 0; j < ctl->applied.nfarms; j++) {
		const struct tn_farm_cfg *f = &ctl->applied.farms[j];
		int slot = slot_of(ctl, f->type, f->farm_id);

		for (size_t k = 0; slot >= 0 && k < f->nservers; k++)
			if (f->servers[k].has_mac == r->have_mac &&
			    !memcmp(f->servers[k].address.bytes, r->addr.bytes, 16))
				ctl->slots[slot].dirty = true;
	}
}

/* Unresolved addresses every second, resolved ones every 30 s. */
static void retry_resolutions(struct tn_ctl *ctl, double now)
{
	struct res_batch b = {0};
	struct tn_hash_iter it;
	struct tn_hash_node *n;

	if (!ctl->be.resolve)
		return;
	tn_ctl_lock(ctl);
	tn_hash_iter_init(&it, &ctl->resolutions);
	while ((n = tn_hash_iter_next(&it))) {
		struct resolution *r = tn_container_of(n, struct resolution, node);

		if (now - r->last_try >= (r->err == 0 ? 30 : 1))
			res_batch_add(&b, r);
	}
	tn_ctl_unlock(ctl);
	if (b.n) {
		res_batch_run(ctl, &b);
		tn_ctl_lock(ctl);
		res_batch_record(ctl, &b, mark_dirty);
		tn_ctl_unlock(ctl);
	}
	res_batch_done(&b);
}

static void rewrite_dirty_farms(struct tn_ctl *ctl)
{
	const struct tn_farm_cfg **dirty = calloc(ctl->applied.nfarms + 1, sizeof(*dirty));
	size_t n = 0;

	if (!dirty)
		return;
	for (size_t j = 0; j < ctl->applied.nfarms; j++) {
		const struct tn_farm_cfg *f = &ctl->applied.farms[j];
		int slot = slot_of(ctl, f->type, f->farm_id);

		if (slot >= 0 && ctl->slots[slot].dirty)
			dirty[n++] = f;
	}
	if (n)
		farms_write(ctl, dirty, n, NULL);
	free(dirty);
}

/* One counter read from the data plane: ok once read. */
struct reading {
	struct tn_counter c;
	bool ok;
};

struct server_reading {
	struct srv_state *st;    /* the writer's: not freed meanwhile */
	uint32_t farm_slot, slot;
	struct reading r;
};

struct sample {
	struct reading reasons[TN_R__COUNT];
	struct reading vips[TN_MAX_VIPS];
	struct server_reading *servers;
	size_t nservers;
};

/* State lock held: which server counters to read. */
static int plan_servers(struct tn_ctl *ctl, struct sample *s)
{
	size_t total = 0;

	for (size_t j = 0; j < ctl->applied.nfarms; j++)
		total += ctl->applied.farms[j].nservers;
	s->servers = calloc(total + 1, sizeof(*s->servers));
	if (!s->servers)
		return -ENOMEM;
	for (size_t j = 0; j < ctl->applied.nfarms; j++) {
		const struct tn_farm_cfg *f = &ctl->applied.farms[j];
		int slot = slot_of(ctl, f->type, f->farm_id);

		for (size_t k = 0; slot >= 0 && k < f->nservers; k++) {
			struct srv_state *st = srv_find(ctl, f->type, f->farm_id, f->servers[k].server_id);

			if (!st || st->dp_slot < 0)
				continue;
			s->servers[s->nservers].st = st;
			s->servers[s->nservers].farm_slot = slot;
			s->servers[s->nservers++].slot = st->dp_slot;
		}
	}
	return 0;
}

static void read_counters(struct tn_ctl *ctl, struct sample *s)
{
	struct tn_counter r[TN_R__COUNT];

	if (call_reason_counters(ctl, r) > 0)
		for (int i = 0; i < TN_R__COUNT; i++)
			s->reasons[i] = (struct reading){ r[i], true };
	for (int i = 0; i < TN_MAX_VIPS; i++)
		if (ctl->vips[i].used)
			s->vips[i].ok = call_vip_counter(ctl, i, &s->vips[i].c) > 0;
	for (size_t i = 0; i < s->nservers; i++)
		s->servers[i].r.ok = call_server_counter(ctl, s->servers[i].farm_slot, s->servers[i].slot,
							 &s->servers[i].r.c) > 0;
}

/* The new value of a counter and its rates over the interval. */
static void advance(struct tn_counter *cur, struct tn_counter *prev, const struct reading *r, double interval,
		    double *pps, double *bps)
{
	*prev = *cur;
	if (r->ok)
		*cur = r->c;
	if (interval > 0 && cur->packets >= prev->packets) {
		*pps = (cur->packets - prev->packets) / interval;
		*bps = 8.0 * (cur->bytes - prev->bytes) / interval;
	}
}

static void record_counters(struct tn_ctl *ctl, const struct sample *s, double now)
{
	ASSERT_STATE_HELD();
	if (ctl->sample_time > 0)
		ctl->sample_interval = now - ctl->sample_time;
	ctl->sample_time = now;
	for (int i = 0; i < TN_R__COUNT; i++) {
		ctl->reasons_prev[i] = ctl->reasons[i];
		if (s->reasons[i].ok)
			ctl->reasons[i] = s->reasons[i].c;
		if (ctl->sample_interval > 0) {
			ctl->reason_pps[i] = (ctl->reasons[i].packets - ctl->reasons_prev[i].packets) / ctl->sample_interval;
			ctl->reason_bps[i] = 8.0 * (ctl->reasons[i].bytes - ctl->reasons_prev[i].bytes) / ctl->sample_interval;
		}
	}
	for (int i = 0; i < TN_MAX_VIPS; i++) {
		struct vip_index *v = &ctl->vips[i];

		if (v->used)
			advance(&v->cur, &v->prev, &s->vips[i], ctl->sample_interval, &v->pps, &v->bps);
	}
	for (size_t i = 0; i < s->nservers; i++) {
		struct srv_state *st = s->servers[i].st;

		advance(&st->cur, &st->prev, &s->servers[i].r, ctl->sample_interval, &st->pps, &st->bps);
	}
}

static void sample_counters(struct tn_ctl *ctl, double now)
{
	struct sample *s = calloc(1, sizeof(*s));

	if (!s)
		return;
	tn_ctl_lock(ctl);
	plan_servers(ctl, s);
	tn_ctl_unlock(ctl);
	read_counters(ctl, s);
	tn_ctl_lock(ctl);
	record_counters(ctl, s, now);
	tn_ctl_unlock(ctl);
	free(s->servers);
	free(s);
}

void tn_ctl_tick(struct tn_ctl *ctl)
{
	double now = tn_now();

	ctl_writer_lock(ctl);
	tn_ctl_lock(ctl);
	if (ctl->gc_wanted)
		ctl_gc(ctl);
	tn_ctl_unlock(ctl);
	retry_resolutions(ctl, now);
	tn_ctl_encap_ports_sync(ctl);
	rewrite_dirty_farms(ctl);
	sample_counters(ctl, now);
	tracked_tick(ctl, tn_monotonic());
	ctl_writer_unlock(ctl);
}
