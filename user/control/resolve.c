/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * MAC resolution in batches: the writer picks addresses under the state
 * lock, asks the kernel (rtnetlink) without it, and records the answers
 * under it again; log lines are written after the lock is released.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "control/internal.h"
#include "lib/log.h"

enum res_log { LOG_NONE, LOG_RESOLVED, LOG_UNRESOLVED };

struct res_job {
	struct resolution *r;
	struct tn_addr addr;
	bool have_mac;
	int err;
	struct tn_neigh_info info;
	char ifname[IF_NAMESIZE];
	char error[ERR_MAX];
	enum res_log log;
};

int res_batch_add(struct res_batch *b, struct resolution *r)
{
	ASSERT_STATE_HELD();
	if (r->queued)
		return 0;
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 16;
		struct res_job *nv = realloc(b->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		b->v = nv;
		b->cap = nc;
	}
	memset(&b->v[b->n], 0, sizeof(b->v[b->n]));
	b->v[b->n].r = r;
	b->v[b->n].addr = r->addr;
	b->v[b->n].have_mac = r->have_mac;
	b->n++;
	r->queued = true;
	return 0;
}

void res_batch_run(struct tn_ctl *ctl, struct res_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct res_job *j = &b->v[i];

		j->err = call_resolve(ctl, &j->addr, j->have_mac, &j->info, j->error, sizeof(j->error));
		if (j->err == 0 && !if_indextoname(j->info.ifindex, j->ifname))
			j->ifname[0] = 0;
	}
}

/* One answer into its record; true when the data plane needs a rewrite. */
static bool record_one(struct resolution *r, struct res_job *j, double now)
{
	bool changed;

	r->last_try = now;
	if (j->err == 0) {
		changed = r->err != 0 || memcmp(&j->info, &r->info, sizeof(j->info));
		if (r->err != 0 && r->err != -ENODATA)
			j->log = LOG_RESOLVED;
		r->info = j->info;
		memcpy(r->ifname, j->ifname, sizeof(r->ifname));
		if (r->err != 0)
			r->since = now;
		r->err = 0;
		r->ever = true;
		r->error[0] = 0;
		return changed;
	}
	if (r->ever && j->err == -EAGAIN) /* keep the last known MAC while the kernel re-resolves */
		return false;
	if (r->err != j->err || strcmp(r->error, j->error)) {
		if (r->err == 0 || r->err == -ENODATA || r->err != j->err)
			j->log = LOG_UNRESOLVED;
		snprintf(r->error, sizeof(r->error), "%s", j->error);
		r->since = now;
	}
	changed = r->err == 0;
	r->err = j->err;
	return changed;
}

int res_batch_record(struct tn_ctl *ctl, struct res_batch *b,
		     void (*changed)(struct tn_ctl *, const struct resolution *))
{
	double now = tn_now();
	int pending = 0;

	ASSERT_STATE_HELD();
	for (size_t i = 0; i < b->n; i++) {
		struct resolution *r = b->v[i].r;

		r->queued = false;
		if (record_one(r, &b->v[i], now) && changed)
			changed(ctl, r);
		if (r->err == -EAGAIN)
			pending++;
	}
	return pending;
}

void res_batch_done(struct res_batch *b)
{
	ASSERT_STATE_FREE();
	for (size_t i = 0; i < b->n; i++) {
		char text[64];

		if (b->v[i].log == LOG_NONE)
			continue;
		tn_addr_format(&b->v[i].addr, text, sizeof(text));
		if (b->v[i].log == LOG_RESOLVED)
			tn_info("server address %s resolved", text);
		else
			tn_warn("server address %s unresolved: %s", text, b->v[i].error);
	}
	free(b->v);
	memset(b, 0, sizeof(*b));
}

bool res_never_tried(const struct resolution *r)
{
	return r->err == -ENODATA;
}

/* Worth asking again now: never tried, or the kernel was still resolving. */
bool res_unresolved(const struct resolution *r)
{
	return r->err == -ENODATA || r->err == -EAGAIN;
}

static void queue_config(struct tn_ctl *ctl, const struct tn_config *c, bool (*want)(const struct resolution *),
			 struct res_batch *b)
{
	for (size_t i = 0; i < c->nfarms; i++) {
		for (size_t j = 0; j < c->farms[i].nservers && !tn_ctl_tunnels(&c->farms[i]); j++) {
			const struct tn_server_cfg *s = &c->farms[i].servers[j];
			struct resolution *r = res_get(ctl, &s->address, s->has_mac);

			if (r && want(r))
				res_batch_add(b, r);
		}
	}
}

void resolve_config(struct tn_ctl *ctl, const struct tn_config *c, int rounds,
		    bool (*want)(const struct resolution *))
{
	ASSERT_WRITER();
	if (!ctl->be.resolve)
		return;
	for (int round = 0; round < rounds; round++) {
		struct res_batch b = {0};
		int pending;

		if (round)
			call_sleep_ms(100);
		tn_ctl_lock(ctl);
		queue_config(ctl, c ? c : &ctl->staged, want, &b);
		tn_ctl_unlock(ctl);
		if (!b.n)
			return;
		res_batch_run(ctl, &b);
		tn_ctl_lock(ctl);
		pending = res_batch_record(ctl, &b, NULL);
		tn_ctl_unlock(ctl);
		res_batch_done(&b);
		if (!pending)
			return;
	}
}
