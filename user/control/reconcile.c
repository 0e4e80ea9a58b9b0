/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Making the data plane serve a configuration, in the named steps of
 * apply_config. The writer runs them; each plans under the state lock where
 * it must (VIP indexes, slots), calls the backend without it, and records.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "control/internal.h"
#include "control/node.h"
#include "lib/log.h"

void msg_append(char *msg, size_t len, const char *fmt, ...)
{
	size_t used = strlen(msg);
	va_list ap;

	if (used + 3 >= len)
		return;
	if (used) {
		strcat(msg, "; ");
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(msg + used, len - used, fmt, ap);
	va_end(ap);
}

int append_farm(struct tn_config *c, const struct tn_farm_cfg *f)
{
	struct tn_farm_cfg copy = {0};

	if (tn_farm_copy(&copy, f) || tn_config_add_farm(c, &copy)) {
		tn_farm_free(&copy);
		return -ENOMEM;
	}
	return 0;
}

int append_frontend(struct tn_config *c, const struct tn_frontend_cfg *f)
{
	struct tn_frontend_cfg copy = {0};

	if (tn_frontend_copy(&copy, f) || tn_config_add_frontend(c, &copy)) {
		tn_frontend_free(&copy);
		return -ENOMEM;
	}
	return 0;
}

struct apply {
	const struct tn_config *prev, *next;
	bool *farm_failed;       /* per farm of next */
	char *msg;
	size_t msglen;
	int errors;
};

#define FAIL(a, ...) do { (a)->errors++; msg_append((a)->msg, (a)->msglen, __VA_ARGS__); } while (0)

/* 1. farms: rebuild the new, changed and dirty ones. */
static void apply_farms(struct tn_ctl *ctl, struct apply *a)
{
	const struct tn_config *prev = a->prev, *next = a->next;
	const struct tn_farm_cfg **todo = calloc(next->nfarms + 1, sizeof(*todo));
	size_t *at = calloc(next->nfarms + 1, sizeof(*at)), n = 0;
	int *err = calloc(next->nfarms + 1, sizeof(*err));

	if (!todo || !at || !err) {
		FAIL(a, "out of memory");
		for (size_t i = 0; i < next->nfarms; i++)
			a->farm_failed[i] = true;
		goto out;
	}
	tn_ctl_lock(ctl);
	for (size_t i = 0; i < next->nfarms; i++) {
		const struct tn_farm_cfg *f = &next->farms[i];
		const struct tn_farm_cfg *old = prev ? tn_config_farm(prev, f->type, f->farm_id) : NULL;
		int slot = slot_of(ctl, f->type, f->farm_id);

		if (!farm_needs_write(ctl, slot, old, f))
			continue;
		reset_changed_servers(ctl, old, f);
		todo[n] = f;
		at[n++] = i;
	}
	tn_ctl_unlock(ctl);
	farms_write(ctl, todo, n, err);
	for (size_t k = 0; k < n; k++) {
		if (!err[k])
			continue;
		a->farm_failed[at[k]] = true;
		FAIL(a, "%s farm %u: %s", tn_l4_type_name(todo[k]->type), todo[k]->farm_id, strerror(-err[k]));
	}
out:
	free(todo);
	free(at);
	free(err);
}

/* The frontends go in only when every farm they use is served. */
static bool frontends_farms_served(struct tn_ctl *ctl, struct apply *a)
{
	const struct tn_config *prev = a->prev, *next = a->next;

	for (size_t i = 0; i < next->nfrontends; i++) {
		const struct tn_frontend_cfg *fe = &next->frontends[i];
		const struct tn_farm_cfg *f = tn_config_farm(next, fe->type, fe->default_farm_id);
		bool served = slot_of(ctl, fe->type, fe->default_farm_id) >= 0;

		if (f && a->farm_failed[f - next->farms])
			served = prev && tn_config_farm(prev, fe->type, fe->default_farm_id);
		if (!served) {
			FAIL(a, "%s frontend %u: %s farm %u is not in the data plane, so no frontend change or "
			     "farm removal was applied", tn_l4_type_name(fe->type), fe->frontend_id,
			     tn_l4_type_name(fe->type), fe->default_farm_id);
			return false;
		}
	}
	return true;
}

/* The whole VIP set, built before anything is written. */
struct vip_plan {
	struct tn_vip_key *keys;
	struct tn_vip *vals;
	size_t n, cap;
	bool keep[TN_MAX_VIPS];          /* indexes the next frontends use */
	struct { uint32_t idx; const struct tn_frontend_cfg *fe; } *filters; /* lists to set */
	size_t nfilters;
	bool complete;
};

static bool vip_plan_key(struct vip_plan *p, const struct tn_frontend_cfg *fe, const struct tn_addr *vip,
			 uint32_t port, int fslot, int idx, uint32_t flags)
{
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 64;
		void *nk = realloc(p->keys, nc * sizeof(*p->keys));
		void *nv = nk ? realloc(p->vals, nc * sizeof(*p->vals)) : NULL;

		if (nk)
			p->keys = nk;
		if (!nk || !nv)
			return false;
		p->vals = nv;
		p->cap = nc;
	}
	memset(&p->keys[p->n], 0, sizeof(p->keys[p->n]));
	memcpy(p->keys[p->n].addr, vip->bytes, 16);
	p->keys[p->n].port = htons((uint16_t)port);
	p->keys[p->n].proto = l4_proto(fe->type);
	p->keys[p->n].family = vip->family;
	p->keys[p->n].kind = TN_VIP_KIND_PORT;
	memset(&p->vals[p->n], 0, sizeof(p->vals[p->n]));
	p->vals[p->n].farm_slot = fslot;
	p->vals[p->n].vip_index = idx;
	p->vals[p->n].flags = flags;
	p->vals[p->n].frontend_id = fe->frontend_id;
	p->n++;
	return true;
}

static uint32_t vip_flags(const struct tn_frontend_cfg *fe)
{
	return (fe->nallowed ? TN_VIP_F_ALLOW_LIST : 0) | (fe->ndenied ? TN_VIP_F_DENY_LIST : 0) |
	       (fe->disabled ? TN_VIP_F_DISABLED : 0);
}

/* Every (VIP, port) entry of one VIP address of fe. */
static bool vip_plan_ports(struct apply *a, struct vip_plan *p, const struct tn_frontend_cfg *fe,
			   const struct tn_addr *vip, int fslot, int idx)
{
	size_t nports = fe->nports ? fe->nports : 1;

	for (size_t k = 0; k < nports; k++) {
		uint32_t first = fe->nports ? fe->ports[k].first : 0, last = fe->nports ? fe->ports[k].last : 0;

		for (uint32_t port = first; port <= last; port++) {
			if (p->n >= TN_MAX_VIPS / 2) {
				FAIL(a, "%s frontend %u: more than %d VIP ports", tn_l4_type_name(fe->type),
				     fe->frontend_id, TN_MAX_VIPS / 2);
				return false;
			}
			if (!vip_plan_key(p, fe, vip, port, fslot, idx, vip_flags(fe))) {
				FAIL(a, "out of memory");
				return false;
			}
		}
	}
	return true;
}

/* 2. VIP entries and indexes (state lock held: indexes are allocated). */
static void plan_vips(struct tn_ctl *ctl, struct apply *a, struct vip_plan *p)
{
	const struct tn_config *next = a->next;

	ASSERT_STATE_HELD();
	for (size_t i = 0; i < next->nfrontends; i++) {
		const struct tn_frontend_cfg *fe = &next->frontends[i];
		const struct tn_frontend_cfg *old = a->prev ? tn_config_frontend(a->prev, fe->type, fe->frontend_id) : NULL;
		int fslot = slot_of(ctl, fe->type, fe->default_farm_id);

		for (size_t j = 0; j < fe->nvips; j++) {
			bool created = false;
			int idx = vip_index_of(ctl, fe->type, fe->frontend_id, &fe->vips[j], true, &created);

			if (idx < 0) {
				FAIL(a, "%s frontend %u: too many VIPs", tn_l4_type_name(fe->type), fe->frontend_id);
				return;
			}
			p->keep[idx] = true;
			if (created || !old || !tn_frontend_equal(old, fe)) {
				p->filters[p->nfilters].idx = idx;
				p->filters[p->nfilters++].fe = fe;
			}
			if (!vip_plan_ports(a, p, fe, &fe->vips[j], fslot, idx))
				return;
		}
	}
	p->complete = true;
}

static void prefixes_of(const struct tn_cidr *c, size_t n, struct tn_dp_prefix *out)
{
	for (size_t i = 0; i < n; i++) {
		out[i].family = c[i].addr.family;
		memcpy(out[i].addr, c[i].addr.bytes, 16);
		out[i].prefixlen = c[i].prefixlen;
	}
}

/* The source lists of a VIP index: fe's (only the non-empty ones when
 * only_nonempty), or empty ones for fe NULL. */
static int set_filters(struct tn_ctl *ctl, uint32_t idx, const struct tn_frontend_cfg *fe, bool only_nonempty)
{
	size_t n = fe ? (fe->nallowed > fe->ndenied ? fe->nallowed : fe->ndenied) : 0;
	struct tn_dp_prefix *p;
	int err = 0, e;

	if (!ctl->be.filters_set)
		return 0;
	p = calloc(n + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (!only_nonempty || (fe && fe->nallowed)) {
		if (fe)
			prefixes_of(fe->allowed_source, fe->nallowed, p);
		e = call_filters_set(ctl, idx, true, p, fe ? fe->nallowed : 0);
		err = err ? err : e;
	}
	if (!only_nonempty || (fe && fe->ndenied)) {
		if (fe)
			prefixes_of(fe->denied_source, fe->ndenied, p);
		e = call_filters_set(ctl, idx, false, p, fe ? fe->ndenied : 0);
		err = err ? err : e;
	}
	free(p);
	return err;
}

/* 3. filters of new and changed frontends, then the VIP set replaced in
 *    one pass, when every entry could be built. */
static bool apply_vips(struct tn_ctl *ctl, struct apply *a, struct vip_plan *p)
{
	size_t nvips = 0;
	bool filter_errors = false;
	int err;

	for (size_t i = 0; i < a->next->nfrontends; i++)
		nvips += a->next->frontends[i].nvips;
	p->filters = calloc(nvips + 1, sizeof(*p->filters));
	if (!p->filters) {
		FAIL(a, "out of memory");
	} else {
		tn_ctl_lock(ctl);
		plan_vips(ctl, a, p);
		tn_ctl_unlock(ctl);
	}
	for (size_t i = 0; p->complete && i < p->nfilters; i++) {
		if (set_filters(ctl, p->filters[i].idx, p->filters[i].fe, true)) {
			filter_errors = true;
			FAIL(a, "%s frontend %u: cannot set source filters", tn_l4_type_name(p->filters[i].fe->type),
			     p->filters[i].fe->frontend_id);
		}
	}
	if (!p->complete || filter_errors) {
		msg_append(a->msg, a->msglen, "VIP entries left as they were");
	} else if ((err = call_vips_replace(ctl, p->keys, p->vals, p->n))) {
		FAIL(a, "cannot replace VIP entries: %s", strerror(-err));
	} else {
		return true;
	}
	msg_append(a->msg, a->msglen, "no frontend change or farm removal was applied");
	return false;
}

/* 4. empty filter lists only now (a flag never points to a missing list),
 *    and forget the VIP indexes no longer used. */
static void cleanup_vips(struct tn_ctl *ctl, struct apply *a, const struct vip_plan *p)
{
	bool drop[TN_MAX_VIPS] = { false };

	for (size_t i = 0; i < a->next->nfrontends; i++) {
		const struct tn_frontend_cfg *fe = &a->next->frontends[i];
		const struct tn_frontend_cfg *old = a->prev ? tn_config_frontend(a->prev, fe->type, fe->frontend_id) : NULL;

		if ((old && tn_frontend_equal(old, fe)) || !ctl->be.filters_set || (fe->nallowed && fe->ndenied))
			continue;
		for (size_t j = 0; j < fe->nvips; j++) {
			int idx = vip_index_of(ctl, fe->type, fe->frontend_id, &fe->vips[j], false, NULL);

			int e1 = idx >= 0 && !fe->nallowed ? call_filters_set(ctl, idx, true, NULL, 0) : 0;
			int e2 = idx >= 0 && !fe->ndenied ? call_filters_set(ctl, idx, false, NULL, 0) : 0;

			if (e1 || e2)
				tn_err("%s frontend %u: cannot clear a source filter list: %s", tn_l4_type_name(fe->type),
				       fe->frontend_id, strerror(-(e1 ? e1 : e2)));
		}
	}
	for (int i = 0; i < TN_MAX_VIPS; i++) {
		if (ctl->vips[i].used && !p->keep[i]) {
			set_filters(ctl, i, NULL, false);
			drop[i] = true;
		}
	}
	tn_ctl_lock(ctl);
	for (int i = 0; i < TN_MAX_VIPS; i++)
		if (drop[i])
			memset(&ctl->vips[i], 0, sizeof(ctl->vips[i]));
	tn_ctl_unlock(ctl);
}

/* 5. slots of farms that are gone. */
static void free_farm_slots(struct tn_ctl *ctl, struct apply *a)
{
	bool cleared[TN_MAX_FARMS] = { false };
	int err;

	for (int i = 0; i < TN_MAX_FARMS; i++) {
		struct farm_slot *fs = &ctl->slots[i];

		if (!fs->used || tn_config_farm(a->next, fs->type, fs->farm_id))
			continue;
		if ((err = call_farm_clear(ctl, i)))
			FAIL(a, "cannot clear farm slot %d: %s", i, strerror(-err));
		else
			cleared[i] = true;
	}
	tn_ctl_lock(ctl);
	for (int i = 0; i < TN_MAX_FARMS; i++)
		if (cleared[i])
			memset(&ctl->slots[i], 0, sizeof(ctl->slots[i]));
	tn_ctl_unlock(ctl);
}

/*
 * What the data plane serves after apply_config: `next`, except that a farm
 * whose write failed keeps its previous version (or stays absent), and, when
 * the frontends were not applied, the previous frontends stay with the farms
 * they use. A farm whose slot could not be cleared stays too.
 */
static int served_config(struct tn_ctl *ctl, const struct apply *a, bool frontends_applied,
			 struct tn_config *out)
{
	const struct tn_config *prev = a->prev, *next = a->next;
	const struct tn_farm_cfg *old;
	size_t i;
	int err;

	err = tn_config_copy(out, next);
	for (i = next->nfarms; i-- > 0 && !err;) {
		if (!a->farm_failed[i])
			continue;
		tn_farm_free(&out->farms[i]);
		old = prev ? tn_config_farm(prev, next->farms[i].type, next->farms[i].farm_id) : NULL;
		if (old) {
			err = tn_farm_copy(&out->farms[i], old);
		} else {
			memmove(&out->farms[i], &out->farms[i + 1], (out->nfarms - i - 1) * sizeof(*out->farms));
			out->nfarms--;
		}
	}
	if (!err && !frontends_applied) {
		for (i = 0; i < out->nfrontends; i++)
			tn_frontend_free(&out->frontends[i]);
		out->nfrontends = 0;
		for (i = 0; prev && i < prev->nfrontends && !err; i++)
			err = append_frontend(out, &prev->frontends[i]);
	}
	for (i = 0; prev && i < prev->nfarms && !err; i++) {
		const struct tn_farm_cfg *f = &prev->farms[i];

		if (!tn_config_farm(next, f->type, f->farm_id) && slot_of(ctl, f->type, f->farm_id) >= 0)
			err = append_farm(out, f);
	}
	if (err)
		tn_config_free(out);
	return err;
}

/*
 * Make the data plane serve `next` (the previous applied config is `prev`,
 * NULL at start): 1. rebuild new/changed/dirty farms; then, only when every
 * farm the frontends use is in the data plane, 2. VIP entries and indexes,
 * 3. filters and the VIP set replaced, 4. empty filters cleared and unused
 * VIP indexes freed, 5. the slots of farms that are gone freed. *served gets
 * what the data plane serves afterwards (see served_config): failed objects
 * stay pending and a refresh retries them. Errors go to msg; returns their
 * count, or -ENOMEM when *served could not be built (the applied
 * configuration then stays as it was).
 */
int apply_config(struct tn_ctl *ctl, const struct tn_config *prev, const struct tn_config *next,
		 struct tn_config *served, char *msg, size_t msglen)
{
	struct apply a = { .prev = prev, .next = next, .msg = msg, .msglen = msglen };
	struct vip_plan *vp = calloc(1, sizeof(*vp));
	bool frontends_applied = false;
	int err;

	ASSERT_WRITER();
	ASSERT_STATE_FREE();
	msg[0] = 0;
	a.farm_failed = calloc(next->nfarms + 1, sizeof(bool));
	if (!a.farm_failed || !vp) {
		free(a.farm_failed);
		free(vp);
		msg_append(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	apply_farms(ctl, &a);
	if (frontends_farms_served(ctl, &a) && apply_vips(ctl, &a, vp)) {
		cleanup_vips(ctl, &a, vp);
		free_farm_slots(ctl, &a);
		frontends_applied = true;
	}
	err = served_config(ctl, &a, frontends_applied, served);
	free(vp->keys);
	free(vp->vals);
	free(vp->filters);
	free(vp);
	free(a.farm_failed);
	if (err) {
		msg_append(msg, msglen, "out of memory");
		return err;
	}
	return a.errors;
}

/* What apply_config served becomes the applied configuration (on out of
 * memory the previous one stays: its objects show as pending), and is
 * written to the state file, so a restarted controller knows what the data
 * plane serves. */
void set_applied(struct tn_ctl *ctl, struct tn_config *served, int rc)
{
	struct tn_config old;
	int err;

	ASSERT_WRITER();
	if (rc < 0)
		return;
	tn_ctl_lock(ctl);
	old = ctl->applied;
	ctl->applied = *served;
	ctl->applied_version++;
	ctl->gc_wanted = true;
	tn_node_kick(ctl->node);
	tn_ctl_unlock(ctl);
	memset(served, 0, sizeof(*served));
	tn_config_free(&old);
	tn_ctl_encap_sources_sync(ctl);
	tn_ctl_encap_ports_sync(ctl);
	if (ctl->state_path && (err = call_config_save(&ctl->applied, ctl->state_path)))
		tn_err("cannot write the applied configuration to %s: %s (a restarted controller would "
		       "apply the configuration file instead)", ctl->state_path, strerror(-err));
}
