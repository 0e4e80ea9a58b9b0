/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Farm slots (the outer map's index of each farm) and VIP indexes (of each
 * frontend's address: counters and source filters), and taking both over
 * from a data plane that kept running.
 */
#include <errno.h>
#include <stdlib.h>
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
	struct tn_farm_hdr hdr[TN_MAX_FARMS];
	struct tn_vip_key *keys;
	struct tn_vip *vals;
	size_t nvips;
};

static void read_running(struct tn_ctl *ctl, struct running *run)
{
	for (int i = 0; ctl->be.farm_read && i < TN_MAX_FARMS; i++)
		run->used[i] = call_farm_read(ctl, i, &run->hdr[i], NULL) == 0 &&
			       (run->hdr[i].proto == IPPROTO_TCP || run->hdr[i].proto == IPPROTO_UDP);
	if (call_vips_dump(ctl, &run->keys, &run->vals, &run->nvips)) {
		run->keys = NULL;
		run->vals = NULL;
		run->nvips = 0;
	}
}

static int record_running(struct tn_ctl *ctl, const struct running *run)
{
	int recovered = 0;

	for (int i = 0; i < TN_MAX_FARMS; i++) {
		if (!run->used[i])
			continue;
		ctl->slots[i].used = true;
		ctl->slots[i].type = run->hdr[i].proto == IPPROTO_UDP ? TN_L4_UDP : TN_L4_TCP;
		ctl->slots[i].farm_id = run->hdr[i].farm_id;
		ctl->slots[i].generation = run->hdr[i].generation;
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

void take_over(struct tn_ctl *ctl)
{
	struct running *run = calloc(1, sizeof(*run));
	int recovered;

	ASSERT_WRITER();
	if (!run) {
		tn_err("cannot take over the running data plane: out of memory");
		return;
	}
	read_running(ctl, run);
	tn_ctl_lock(ctl);
	recovered = record_running(ctl, run);
	tn_ctl_unlock(ctl);
	if (recovered)
		tn_info("took over %d farm slots from the running data plane", recovered);
	free(run->keys);
	free(run->vals);
	free(run);
}
