/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Farm slots (the outer map's index of each farm) and VIP indexes (of each
 * frontend's address: counters and source filters), and taking both over
 * from a data plane that kept running.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "control/internal.h"
#include "lib/log.h"

int slot_of(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id)
{
	for (int i = 0; i < TN_MAX_FARMS; i++)
		if (ctl->slots[i].used && ctl->slots[i].type == t && ctl->slots[i].farm_id == farm_id)
			return i;
	return -1;
}

int tn_ctl_farm_slot(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id)
{
	ASSERT_STATE_HELD();
	return slot_of(ctl, t, farm_id);
}

int slot_alloc(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id)
{
	int i = slot_of(ctl, t, farm_id);

	ASSERT_STATE_HELD();
	if (i >= 0)
		return i;
	for (i = 0; i < TN_MAX_FARMS; i++) {
		if (!ctl->slots[i].used) {
			memset(&ctl->slots[i], 0, sizeof(ctl->slots[i]));
			ctl->slots[i].used = true;
			ctl->slots[i].type = t;
			ctl->slots[i].farm_id = farm_id;
			return i;
		}
	}
	return -ENOSPC;
}

int vip_index_of(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t frontend_id, const struct tn_addr *a,
		 bool create, bool *created)
{
	int free_i = -1;

	for (int i = 0; i < TN_MAX_VIPS; i++) {
		struct vip_index *v = &ctl->vips[i];

		if (!v->used) {
			if (free_i < 0)
				free_i = i;
			continue;
		}
		if (v->type == t && v->frontend_id == frontend_id && addr_equal(&v->addr, a))
			return i;
	}
	if (!create || free_i < 0)
		return -ENOSPC;
	ASSERT_STATE_HELD();
	memset(&ctl->vips[free_i], 0, sizeof(ctl->vips[free_i]));
	ctl->vips[free_i].used = true;
	ctl->vips[free_i].type = t;
	ctl->vips[free_i].frontend_id = frontend_id;
	ctl->vips[free_i].addr = *a;
	if (created)
		*created = true;
	return free_i;
}

/* What the data plane's slots and VIP map hold, read without the lock. */
struct running {
	bool used[TN_MAX_FARMS];
	int err[TN_MAX_FARMS];         /* a read that failed otherwise than "no farm" */
	struct tn_farm_hdr hdr[TN_MAX_FARMS];
	struct tn_server *servers;     /* TN_MAX_SERVERS per slot */
	struct tn_vip_key *keys;
	struct tn_vip *vals;
	size_t nvips;
};

#define TAKE_OVER_TRIES 5

/* Only "no such farm" (-ENOENT) makes a slot free: any other error is tried
 * again, and if it stays the slot is unknown (the take-over fails). */
static void read_running(struct tn_ctl *ctl, struct running *run)
{
	for (int i = 0; ctl->be.farm_read && i < TN_MAX_FARMS; i++) {
		struct tn_server *sv = run->servers + (size_t)i * TN_MAX_SERVERS;
		int e = call_farm_read(ctl, i, &run->hdr[i], sv);

		for (int t = 1; e && e != -ENOENT && e != -ENOTSUP && t < TAKE_OVER_TRIES; t++) {
			call_sleep_ms(20 * t);
			e = call_farm_read(ctl, i, &run->hdr[i], sv);
		}
		if (e && e != -ENOENT && e != -ENOTSUP)
			run->err[i] = e;
		run->used[i] = !e && (run->hdr[i].proto == IPPROTO_TCP || run->hdr[i].proto == IPPROTO_UDP);
	}
	if (call_vips_dump(ctl, &run->keys, &run->vals, &run->nvips)) {
		run->keys = NULL;
		run->vals = NULL;
		run->nvips = 0;
	}
}

/* The configured server the pinned one is: same id, same address and port. */
static bool same_server(const struct tn_config *c, const struct tn_farm_hdr *h, const struct tn_server *sv)
{
	enum tn_l4_type t = h->proto == IPPROTO_UDP ? TN_L4_UDP : TN_L4_TCP;
	const struct tn_farm_cfg *f = c ? tn_config_farm(c, t, h->farm_id) : NULL;
	const struct tn_server_cfg *s = f ? tn_farm_server(f, sv->server_id) : NULL;

	return s && sv->family == s->address.family && sv->port == tn_server_port(f, s) &&
	       !memcmp(sv->addr, s->address.bytes, sizeof(sv->addr));
}

/* State lock held. A primary server the running data plane had down (its
 * probe failed, or its MAC was not resolved) starts down, not unknown: new
 * clients do not reach it before its own probe says it is up. Backups are
 * left unknown: the data plane clears their flag while primaries serve. */
static int inherit_health(struct tn_ctl *ctl, const struct tn_config *c, const struct running *run, int slot)
{
	const struct tn_server *sv = run->servers + (size_t)slot * TN_MAX_SERVERS;
	const struct tn_farm_hdr *h = &run->hdr[slot];
	int down = 0;

	for (unsigned i = 0; i < TN_MAX_SERVERS && i < h->nservers; i++) {
		struct srv_state *st;

		if (!(sv[i].flags & TN_SRV_F_USED) || (sv[i].flags & (TN_SRV_F_UP | TN_SRV_F_BACKUP)) ||
		    !same_server(c, h, &sv[i]))
			continue;
		st = srv_get(ctl, h->proto == IPPROTO_UDP ? TN_L4_UDP : TN_L4_TCP, h->farm_id, sv[i].server_id);
		if (!st || st->health != -1)
			continue;
		st->health = 0;
		st->since = tn_now();
		snprintf(st->last_error, sizeof(st->last_error),
			 "down in the running data plane when the controller started; until its probe says otherwise");
		down++;
	}
	return down;
}

static int record_running(struct tn_ctl *ctl, const struct tn_config *c, const struct running *run, int *down)
{
	int recovered = 0;

	for (int i = 0; i < TN_MAX_FARMS; i++) {
		if (!run->used[i])
			continue;
		ctl->slots[i].used = true;
		ctl->slots[i].type = run->hdr[i].proto == IPPROTO_UDP ? TN_L4_UDP : TN_L4_TCP;
		ctl->slots[i].farm_id = run->hdr[i].farm_id;
		ctl->slots[i].generation = run->hdr[i].generation;
		*down += inherit_health(ctl, c, run, i);
		recovered++;
	}
	for (size_t i = 0; i < run->nvips; i++) {
		struct vip_index *v;

		if (run->keys[i].kind != TN_VIP_KIND_PORT || run->vals[i].vip_index >= TN_MAX_VIPS)
			continue;
		v = &ctl->vips[run->vals[i].vip_index];
		v->used = true;
		v->type = run->keys[i].proto == IPPROTO_UDP ? TN_L4_UDP : TN_L4_TCP;
		v->frontend_id = run->vals[i].frontend_id;
		v->addr.family = run->keys[i].family;
		memcpy(v->addr.bytes, run->keys[i].addr, 16);
	}
	return recovered;
}

int take_over(struct tn_ctl *ctl, const struct tn_config *c)
{
	struct running *run = calloc(1, sizeof(*run));
	int recovered, down = 0, err = 0;

	ASSERT_WRITER();
	if (run)
		run->servers = calloc((size_t)TN_MAX_FARMS * TN_MAX_SERVERS, sizeof(*run->servers));
	if (!run || !run->servers) {
		tn_err("cannot take over the running data plane: out of memory");
		if (run)
			free(run);
		return -ENOMEM;
	}
	read_running(ctl, run);
	for (int i = 0; i < TN_MAX_FARMS; i++)
		if (run->err[i]) {
			tn_err("cannot read farm slot %d of the running data plane: %s (tried %d times); "
			       "nothing is rewritten, the data plane keeps serving as it is", i,
			       strerror(-run->err[i]), TAKE_OVER_TRIES);
			err = -EAGAIN;
		}
	if (!err) {
		tn_ctl_lock(ctl);
		recovered = record_running(ctl, c, run, &down);
		tn_ctl_unlock(ctl);
		if (recovered)
			tn_info("took over %d farm slots from the running data plane (%d server%s it had down stay down "
				"until probed up)", recovered, down, down == 1 ? "" : "s");
	}
	free(run->keys);
	free(run->vals);
	free(run->servers);
	free(run);
	return err;
}
