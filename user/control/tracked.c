/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tracked clients per server, so that draining can tell when it is done
 * (status, /metrics): the tick walks the conntrack off the state lock and
 * judges each entry as the data plane would at its next packet (ct_keeps).
 * Cheap by construction: a walk at most every TRACKED_MIN_S, and the next one
 * only after 50 times the last one's duration, so the controller spends at
 * most about 2 % of a CPU on it even with a million entries.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "control/internal.h"
#include "lib/log.h"

#define TRACKED_MIN_S 2.0
#define TRACKED_DUTY  50.0

struct census_walk {
	struct tn_server *servers[TN_MAX_FARMS]; /* the slot's servers as the data plane has them; NULL: skip */
	uint8_t proto[TN_MAX_FARMS];             /* for sourceIp keys, which carry none */
	uint32_t *count[TN_MAX_FARMS];           /* per server slot */
	uint64_t entries;
};

static int census_entry(void *arg, const struct tn_ct_clock *clk, const struct tn_ct_key *k,
			const struct tn_ct_value *v)
{
	struct census_walk *w = arg;
	uint16_t fs = k->farm_slot;

	w->entries++;
	if (fs >= TN_MAX_FARMS || !w->servers[fs] || v->slot >= TN_MAX_SERVERS)
		return 0;
	if (ct_keeps(&w->servers[fs][v->slot], v, tn_ct_expired(clk, v, k->proto ? k->proto : w->proto[fs])))
		w->count[fs][v->slot]++;
	return 0;
}

static void census_free(struct census_walk *w)
{
	for (int i = 0; i < TN_MAX_FARMS; i++) {
		free(w->servers[i]);
		free(w->count[i]);
	}
	free(w);
}

/* State lock held: the slots in use, with room for their servers. */
static struct census_walk *census_plan(struct tn_ctl *ctl)
{
	struct census_walk *w = calloc(1, sizeof(*w));

	for (int i = 0; w && i < TN_MAX_FARMS; i++) {
		if (!ctl->slots[i].used)
			continue;
		w->proto[i] = l4_proto(ctl->slots[i].type);
		w->servers[i] = calloc(TN_MAX_SERVERS, sizeof(*w->servers[i]));
		w->count[i] = calloc(TN_MAX_SERVERS, sizeof(*w->count[i]));
		if (!w->servers[i] || !w->count[i]) {
			census_free(w);
			return NULL;
		}
	}
	return w;
}

/* State lock held: each applied server's count, the census itself. */
static void census_record(struct tn_ctl *ctl, const struct census_walk *w, double took)
{
	for (size_t j = 0; j < ctl->applied.nfarms; j++) {
		const struct tn_farm_cfg *f = &ctl->applied.farms[j];
		int slot = slot_of(ctl, f->type, f->farm_id);

		for (size_t k = 0; k < f->nservers; k++) {
			struct srv_state *st = srv_find(ctl, f->type, f->farm_id, f->servers[k].server_id);

			if (st)
				st->tracked = slot >= 0 && w->count[slot] && st->dp_slot >= 0 &&
					      st->dp_slot < TN_MAX_SERVERS ? w->count[slot][st->dp_slot] : 0;
		}
	}
	ctl->census.known = true;
	ctl->census.entries = w->entries;
	ctl->census.at = tn_now();
	ctl->census.took = took;
}

void tracked_tick(struct tn_ctl *ctl, double now)
{
	struct census_walk *w;
	struct tn_farm_hdr hdr;
	double t0;
	int err = 0;

	ASSERT_WRITER();
	ASSERT_STATE_FREE();
	if (now < ctl->census.next || !ctl->be.ct_foreach)
		return;
	tn_ctl_lock(ctl);
	w = census_plan(ctl);
	tn_ctl_unlock(ctl);
	if (!w)
		return;
	t0 = tn_monotonic();
	for (int i = 0; i < TN_MAX_FARMS && !err; i++)
		if (w->servers[i] && call_farm_read(ctl, (uint32_t)i, &hdr, w->servers[i])) {
			free(w->servers[i]); /* gone meanwhile: its entries count for nobody */
			w->servers[i] = NULL;
		}
	err = call_ct_foreach(ctl, census_entry, w);
	tn_ctl_lock(ctl);
	if (!err)
		census_record(ctl, w, tn_monotonic() - t0);
	tn_ctl_unlock(ctl);
	ctl->census.next = now + (TRACKED_DUTY * (tn_monotonic() - t0) > TRACKED_MIN_S ?
				  TRACKED_DUTY * (tn_monotonic() - t0) : TRACKED_MIN_S);
	/* said once per cause, not every walk */
	if (err && err != ctl->census.err && err != -ENOTSUP)
		tn_warn("cannot count the tracked clients from the conntrack: %s", strerror(-err));
	ctl->census.err = err;
	census_free(w);
}

void tn_ctl_set_conntrack_capacity(struct tn_ctl *ctl, uint32_t entries)
{
	tn_ctl_lock(ctl);
	ctl->census.capacity = entries;
	tn_ctl_unlock(ctl);
}
