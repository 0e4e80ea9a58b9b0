/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Building and writing farms, in three phases: plan under the state lock
 * (slot, each server's MAC, interface and health copied into a job), write
 * without it (redirect ports, the backend's Maglev build and slot swap),
 * record under it (generation, error, each server's slot for counters).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "control/internal.h"
#include "lib/log.h"

struct farm_job {
	const struct tn_farm_cfg *f;
	int slot;                /* -errno: no slot */
	bool fresh;              /* the slot was taken for this write */
	struct tn_dp_server *servers;
	struct tn_dp_farm df;
	uint64_t generation;
	int err;
	struct tn_server *back;  /* the slot's servers after the write, NULL unknown */
};

/* Redirect ports not in the data plane yet. */
struct tx_plan {
	uint32_t ifindex[TN_MAX_IFACES];
	bool added[TN_MAX_IFACES];
	size_t n;
};

static void tx_plan_add(struct tn_ctl *ctl, struct tx_plan *tx, uint32_t ifindex)
{
	size_t i;

	for (i = 0; i < ctl->ntx_ports; i++)
		if (ctl->tx_ports[i] == ifindex)
			return;
	for (i = 0; i < tx->n; i++)
		if (tx->ifindex[i] == ifindex)
			return;
	if (tx->n < TN_MAX_IFACES)
		tx->ifindex[tx->n++] = ifindex;
}

static void plan_server(struct tn_ctl *ctl, const struct tn_farm_cfg *f, const struct tn_server_cfg *s,
			struct tn_dp_server *d, struct tx_plan *tx, bool dry)
{
	struct server_view v;

	if (!dry) /* a preview leaves the runtime tables as they are */
		srv_get(ctl, f->type, f->farm_id, s->server_id); /* its state (and probe key) from now on */
	server_view(ctl, f, s, &v);
	/* what reset_changed_servers does before a refresh writes the farm */
	if (dry && probed(f, s) && server_readdressed(tn_config_farm(&ctl->applied, f->type, f->farm_id), f, s))
		v.up = v.resolved;
	d->server_id = s->server_id;
	d->family = s->address.family;
	memcpy(d->addr, s->address.bytes, 16);
	d->port = tn_server_port(f, s);
	d->weight = s->active ? s->weight : 0;
	d->backup = s->backup;
	d->up = v.up;
	if (s->has_mac)
		memcpy(d->mac, s->mac, 6);
	if (v.resolved && v.res) { /* a tunnel's next hop is the data plane's FIB lookup */
		if (!s->has_mac)
			memcpy(d->mac, v.res->info.mac, 6);
		memcpy(d->src_mac, v.res->info.src_mac, 6);
		d->ifindex = v.res->info.ifindex;
		tx_plan_add(ctl, tx, d->ifindex);
	}
}

/* dry: a preview's plan, which takes no slot (-1: the farm has none yet). */
static void plan_farm(struct tn_ctl *ctl, struct farm_job *j, struct tx_plan *tx, bool dry)
{
	const struct tn_farm_cfg *f = j->f;

	ASSERT_STATE_HELD();
	j->fresh = slot_of(ctl, f->type, f->farm_id) < 0;
	j->slot = dry ? slot_of(ctl, f->type, f->farm_id) : slot_alloc(ctl, f->type, f->farm_id);
	if (j->slot < 0 && !dry) {
		j->err = j->slot;
		return;
	}
	j->servers = calloc(f->nservers + 1, sizeof(*j->servers));
	if (!j->servers) {
		j->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < f->nservers; i++)
		plan_server(ctl, f, &f->servers[i], &j->servers[i], tx, dry);
	j->df.farm_id = f->farm_id;
	j->df.proto = l4_proto(f->type);
	j->df.balance = f->balance == TN_BAL_ROUNDROBIN ? TN_BALANCE_ROUNDROBIN :
			f->balance == TN_BAL_FIRST ? TN_BALANCE_FIRST : TN_BALANCE_SOURCE;
	j->df.stickiness = f->stickiness == TN_STICK_SOURCE_IP ? TN_STICKY_SOURCE_IP : TN_STICKY_NONE;
	tn_ctl_encap_abi(f, &j->df.encap);
	j->df.servers = j->servers;
	j->df.nservers = f->nservers;
}

static void write_farm(struct tn_ctl *ctl, struct farm_job *j)
{
	const struct tn_farm_cfg *f = j->f;

	if (j->slot < 0) {
		tn_err("%s farm %u: no free farm slot (at most %d farms)", tn_l4_type_name(f->type), f->farm_id,
		       TN_MAX_FARMS);
		return;
	}
	if (!j->err)
		j->err = call_farm_write(ctl, j->slot, &j->df, &j->generation);
	if (j->err) {
		tn_err("%s farm %u (slot %d): cannot write farm: %s", tn_l4_type_name(f->type), f->farm_id,
		       j->slot, strerror(-j->err));
		return;
	}
	/* learn each server's slot in the data plane for its counters */
	if (ctl->be.farm_read && (j->back = calloc(TN_MAX_SERVERS, sizeof(*j->back))) &&
	    call_farm_read(ctl, j->slot, NULL, j->back)) {
		free(j->back);
		j->back = NULL;
	}
}

static void record_server_slots(struct tn_ctl *ctl, const struct farm_job *j)
{
	const struct tn_farm_cfg *f = j->f;
	struct srv_state *st;

	for (size_t i = 0; i < f->nservers; i++)
		if ((st = srv_find(ctl, f->type, f->farm_id, f->servers[i].server_id)))
			st->dp_slot = -1;
	/* the slot holds exactly f's servers: it was just written from f */
	for (int k = 0; k < TN_MAX_SERVERS; k++)
		if ((j->back[k].flags & TN_SRV_F_USED) &&
		    (st = srv_find(ctl, f->type, f->farm_id, j->back[k].server_id)))
			st->dp_slot = k;
}

/* A write swaps the whole farm or nothing: on failure the slot keeps what
 * it had, and a slot taken for this farm just now (holding nothing) is
 * given back, so no VIP entry points to it. */
static void record_farm(struct tn_ctl *ctl, const struct farm_job *j)
{
	struct farm_slot *fs;

	ASSERT_STATE_HELD();
	if (j->slot < 0)
		return;
	fs = &ctl->slots[j->slot];
	if (j->err && j->fresh) {
		memset(fs, 0, sizeof(*fs));
	} else if (j->err) {
		snprintf(fs->error, sizeof(fs->error), "cannot write farm: %s", strerror(-j->err));
		fs->dirty = true;
	} else {
		fs->dirty = false;
		fs->error[0] = 0;
		fs->generation = j->generation;
		if (j->back)
			record_server_slots(ctl, j);
	}
}

/* Ask for the MACs of the farms' servers never tried yet (new servers). */
static void resolve_new_servers(struct tn_ctl *ctl, const struct tn_farm_cfg *const *farms, size_t n)
{
	struct res_batch b = {0};

	if (!ctl->be.resolve)
		return;
	tn_ctl_lock(ctl);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < farms[i]->nservers && !tn_ctl_tunnels(farms[i]); k++) {
			const struct tn_server_cfg *s = &farms[i]->servers[k];
			struct resolution *r = res_get(ctl, &s->address, s->has_mac);

			if (r && res_never_tried(r))
				res_batch_add(&b, r);
		}
	}
	tn_ctl_unlock(ctl);
	if (b.n) {
		res_batch_run(ctl, &b);
		tn_ctl_lock(ctl);
		res_batch_record(ctl, &b, NULL);
		tn_ctl_unlock(ctl);
	}
	res_batch_done(&b);
}

/* No lock: the interfaces of the tunnels' next hops (FIB lookups). */
static void tx_tunnels(struct tn_ctl *ctl, const struct tn_farm_cfg *const *farms, size_t n, struct tx_plan *tx)
{
	uint32_t ports[TN_MAX_IFACES];
	size_t np = tn_ctl_encap_ports(ctl, farms, n, false, ports, TN_MAX_IFACES);

	for (size_t i = 0; i < np; i++)
		tx_plan_add(ctl, tx, ports[i]);
}

static void tx_write(struct tn_ctl *ctl, struct tx_plan *tx)
{
	for (size_t i = 0; i < tx->n; i++)
		tx->added[i] = ctl->be.tx_port_add && call_tx_port_add(ctl, tx->ifindex[i]) == 0;
}

static void tx_record(struct tn_ctl *ctl, const struct tx_plan *tx)
{
	for (size_t i = 0; i < tx->n; i++)
		if (tx->added[i] && ctl->ntx_ports < TN_MAX_IFACES)
			ctl->tx_ports[ctl->ntx_ports++] = tx->ifindex[i];
}

int farms_write(struct tn_ctl *ctl, const struct tn_farm_cfg *const *farms, size_t n, int *err)
{
	struct farm_job *jobs = calloc(n + 1, sizeof(*jobs));
	struct tx_plan tx = { .n = 0 };
	int failed = 0;
	size_t i;

	ASSERT_WRITER();
	ASSERT_STATE_FREE();
	if (!jobs) {
		for (i = 0; err && i < n; i++)
			err[i] = -ENOMEM;
		return (int)n;
	}
	resolve_new_servers(ctl, farms, n);
	tn_ctl_lock(ctl);
	for (i = 0; i < n; i++) {
		jobs[i].f = farms[i];
		plan_farm(ctl, &jobs[i], &tx, false);
	}
	tn_ctl_unlock(ctl);
	tx_tunnels(ctl, farms, n, &tx);
	tx_write(ctl, &tx);
	for (i = 0; i < n; i++)
		write_farm(ctl, &jobs[i]);
	tn_ctl_lock(ctl);
	tx_record(ctl, &tx);
	for (i = 0; i < n; i++)
		record_farm(ctl, &jobs[i]);
	tn_ctl_unlock(ctl);
	for (i = 0; i < n; i++) {
		if (err)
			err[i] = jobs[i].err;
		failed += jobs[i].err != 0;
		free(jobs[i].servers);
		free(jobs[i].back);
	}
	free(jobs);
	return failed;
}

int farms_build(struct tn_ctl *ctl, const struct tn_farm_cfg *const *farms, size_t n, struct tn_farm **out,
		int *err)
{
	struct farm_job *jobs = calloc(n + 1, sizeof(*jobs));
	struct tx_plan tx = { .n = 0 }; /* a preview adds no redirect port */
	int failed = 0;
	size_t i;

	ASSERT_WRITER();
	ASSERT_STATE_FREE();
	if (!jobs) {
		for (i = 0; i < n; i++)
			err[i] = -ENOMEM;
		return (int)n;
	}
	resolve_new_servers(ctl, farms, n);
	tn_ctl_lock(ctl);
	for (i = 0; i < n; i++) {
		jobs[i].f = farms[i];
		plan_farm(ctl, &jobs[i], &tx, true);
	}
	tn_ctl_unlock(ctl);
	for (i = 0; i < n; i++) {
		err[i] = jobs[i].err ? jobs[i].err : call_farm_build(ctl, jobs[i].slot, &jobs[i].df, out[i]);
		failed += err[i] != 0;
		free(jobs[i].servers);
	}
	free(jobs);
	return failed;
}

int farm_write_one(struct tn_ctl *ctl, const struct tn_farm_cfg *f)
{
	int err = 0;

	farms_write(ctl, &f, 1, &err);
	return err;
}
