/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * GET /v1/status and GET /v1/stats as JSON. Built from memory under the
 * state lock; the interfaces' XDP state and the tunnels' next hops and path
 * MTUs are asked of the kernel after it is released.
 */
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include "control/internal.h"
#include "control/node.h"

json_object *json_time(double t)
{
	char buf[40];

	if (t <= 0)
		return NULL;
	tn_format_time(t, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static const char *health_name(int h)
{
	return h < 0 ? "unknown" : h ? "up" : "down";
}

static const char *server_state(const struct tn_server_cfg *s, const struct server_view *v)
{
	if (!v->resolved)
		return "unresolved";
	if (v->health == 0)
		return "down";
	if (!s->active)
		return "inactive";
	return s->weight == 0 ? "drain" : "up";
}

static void server_details(json_object *o, const struct tn_server_cfg *s, const struct server_view *v)
{
	char mac[TN_MAC_TEXT];

	if (v->st && v->st->check.known) {
		json_object_object_add(o, "lastResult", json_object_new_string(v->st->check.last_result));
		json_object_object_add(o, "lastCheck", json_object_new_string(v->st->check.last_reason));
		json_object_object_add(o, "checks", json_object_new_int64((int64_t)v->st->check.checks));
		json_object_object_add(o, "failedChecks", json_object_new_int64((int64_t)v->st->check.failures));
	}
	if (v->resolved && v->res) {
		tn_mac_format(s->has_mac ? s->mac : v->res->info.mac, mac);
		json_object_object_add(o, "mac", json_object_new_string(mac));
		if (v->res->ifname[0])
			json_object_object_add(o, "interface", json_object_new_string(v->res->ifname));
	}
	if (v->st) {
		json_object_object_add(o, "slot", v->st->dp_slot >= 0 ? json_object_new_int(v->st->dp_slot) : NULL);
		json_object_object_add(o, "transitions", json_object_new_int64(v->st->transitions));
	}
}

static json_object *server_status(struct tn_ctl *ctl, const struct tn_config *c, const struct tn_farm_cfg *f,
				  const struct tn_server_cfg *s, bool *usable, json_object *farm,
				  struct tn_ctl_encap_status *es)
{
	json_object *o = json_object_new_object();
	struct server_view v;
	char text[64];

	server_view(ctl, f, s, &v);
	tn_addr_format(&s->address, text, sizeof(text));
	*usable = v.up && s->active && s->weight > 0;
	json_object_object_add(o, "serverId", json_object_new_int64(s->server_id));
	json_object_object_add(o, "address", json_object_new_string(text));
	json_object_object_add(o, "port", json_object_new_int(tn_server_port(f, s)));
	json_object_object_add(o, "weight", json_object_new_int(s->weight));
	json_object_object_add(o, "backup", json_object_new_boolean(s->backup));
	json_object_object_add(o, "state", json_object_new_string(server_state(s, &v)));
	json_object_object_add(o, "health", json_object_new_string(probed(f, s) ? health_name(v.health) : "not probed"));
	json_object_object_add(o, "since", json_time(!v.resolved && v.res ? v.res->since : v.st ? v.st->since : 0));
	json_object_object_add(o, "lastError", v.error && v.error[0] ? json_object_new_string(v.error) : NULL);
	server_details(o, s, &v);
	/* clients the conntrack still sends to it (null until the first count): a drain is done at 0 */
	json_object_object_add(o, "trackedClients", ctl->census.known ? json_object_new_int64(v.st ? (int64_t)v.st->tracked : 0)
								       : NULL);
	if (tn_ctl_tunnels(f) && v.up)
		tn_ctl_encap_status_add(es, c, f, s, *usable, farm, o);
	return o;
}

static json_object *farm_status(struct tn_ctl *ctl, const struct tn_config *c, const struct tn_farm_cfg *f,
				struct tn_ctl_encap_status *es)
{
	json_object *x = json_object_new_object(), *srv = json_object_new_array();
	int slot = slot_of(ctl, f->type, f->farm_id), nusable = 0;

	json_object_object_add(x, "type", json_object_new_string(tn_l4_type_name(f->type)));
	json_object_object_add(x, "farmId", json_object_new_int64(f->farm_id));
	json_object_object_add(x, "displayName", f->display_name ? json_object_new_string(f->display_name) : NULL);
	json_object_object_add(x, "zone", json_object_new_string(farm_zone(c, f)));
	json_object_object_add(x, "forwarding", json_object_new_string(tn_forwarding_name(f->encap.forwarding)));
	json_object_object_add(x, "slot", slot >= 0 ? json_object_new_int(slot) : NULL);
	json_object_object_add(x, "generation", slot >= 0 ? json_object_new_int64(ctl->slots[slot].generation) : NULL);
	if (slot >= 0 && ctl->slots[slot].error[0])
		json_object_object_add(x, "lastError", json_object_new_string(ctl->slots[slot].error));
	for (size_t j = 0; j < f->nservers; j++) {
		bool usable;

		json_object_array_add(srv, server_status(ctl, c, f, &f->servers[j], &usable, x, es));
		nusable += usable;
	}
	json_object_object_add(x, "state", json_object_new_string(nusable ? "up" : "down"));
	json_object_object_add(x, "serversUp", json_object_new_int(nusable));
	json_object_object_add(x, "servers", srv);
	return x;
}

/* The last count of the conntrack: entries, capacity, when and how long it took. */
static json_object *census_json(struct tn_ctl *ctl)
{
	json_object *o = json_object_new_object();
	char took[32];

	json_object_object_add(o, "entries", ctl->census.known ? json_object_new_int64((int64_t)ctl->census.entries) : NULL);
	json_object_object_add(o, "capacity", ctl->census.capacity ? json_object_new_int64(ctl->census.capacity) : NULL);
	json_object_object_add(o, "countedAt", json_time(ctl->census.at));
	snprintf(took, sizeof(took), "%.3f", ctl->census.took);
	json_object_object_add(o, "countSeconds", ctl->census.known ? json_object_new_double_s(ctl->census.took, took) : NULL);
	return o;
}

/* No lock: one interface's XDP program, asked of the kernel. */
static json_object *interface_status(const char *name)
{
	json_object *x = json_object_new_object();
	int ifindex = 0;
	uint32_t prog_id = 0;
	const char *mode = "none";
	int err = call_xdp_query(name, &ifindex, &prog_id, &mode);

	json_object_object_add(x, "name", json_object_new_string(name));
	json_object_object_add(x, "ifindex", json_object_new_int(ifindex));
	if (!err) {
		uint64_t tx_errors;

		json_object_object_add(x, "mode", json_object_new_string(mode ? mode : "none"));
		json_object_object_add(x, "programId", json_object_new_int64(prog_id));
		/* frames XDP sent that the driver dropped (a veth peer without XDP): null when unknown */
		json_object_object_add(x, "xdpTxErrors", tn_dp_xdp_tx_errors(ifindex, &tx_errors) ? NULL :
					  json_object_new_int64((int64_t)tx_errors));
	} else {
		json_object_object_add(x, "mode", json_object_new_string(ifindex > 0 ? "unknown" : "missing"));
	}
	return x;
}

json_object *tn_ctl_status_json(struct tn_ctl *ctl)
{
	json_object *o = json_object_new_object(), *ifs = json_object_new_array(), *farms = json_object_new_array();
	const struct tn_config *c = &ctl->applied;
	struct tn_ctl_encap_status es = { .n = 0 };
	char **names;
	size_t i, n;

	ASSERT_STATE_FREE();
	tn_ctl_lock(ctl);
	n = c->ninterfaces;
	names = calloc(n + 1, sizeof(*names));
	for (i = 0; names && i < n; i++)
		names[i] = strdup(c->interfaces[i]);
	json_object_object_add(o, "zone", json_object_new_string(node_zone(c)));
	json_object_object_add(o, "interfaces", ifs);
	json_object_object_add(o, "pinDir", ctl->pin_dir ? json_object_new_string(ctl->pin_dir) : NULL);
	json_object_object_add(o, "started", json_time(ctl->started));
	json_object_object_add(o, "pendingChanges", json_object_new_int(tn_ctl_pending_count(ctl, NULL)));
	json_object_object_add(o, "conntrack", census_json(ctl));
	for (i = 0; i < c->nfarms; i++)
		json_object_array_add(farms, farm_status(ctl, c, &c->farms[i], &es));
	json_object_object_add(o, "farms", farms);
	if (ctl->node)
		json_object_object_add(o, "node", tn_node_status_json(ctl->node));
	tn_ctl_unlock(ctl);
	tn_ctl_encap_status_run(ctl, &es);
	for (i = 0; names && i < n; i++) {
		if (names[i])
			json_object_array_add(ifs, interface_status(names[i]));
		free(names[i]);
	}
	free(names);
	return o;
}

static json_object *counter_json(const struct tn_counter *c, double pps, double bps)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "packets", json_object_new_int64(c->packets));
	json_object_object_add(o, "bytes", json_object_new_int64(c->bytes));
	json_object_object_add(o, "pps", json_object_new_double(round(pps * 10) / 10));
	json_object_object_add(o, "bps", json_object_new_double(round(bps)));
	return o;
}

static json_object *vip_stats(struct tn_ctl *ctl, int i)
{
	const struct vip_index *v = &ctl->vips[i];
	const struct tn_frontend_cfg *fe = tn_config_frontend(&ctl->applied, v->type, v->frontend_id);
	json_object *x = counter_json(&v->cur, v->pps, v->bps);
	char text[64];

	tn_addr_format(&v->addr, text, sizeof(text));
	json_object_object_add(x, "type", json_object_new_string(tn_l4_type_name(v->type)));
	json_object_object_add(x, "frontendId", json_object_new_int64(v->frontend_id));
	json_object_object_add(x, "vip", json_object_new_string(text));
	json_object_object_add(x, "port", json_object_new_string(fe && fe->port ? fe->port : "*"));
	json_object_object_add(x, "index", json_object_new_int(i));
	return x;
}

static json_object *server_stats(struct tn_ctl *ctl, const struct tn_farm_cfg *f, const struct tn_server_cfg *s)
{
	const struct srv_state *st = srv_find(ctl, f->type, f->farm_id, s->server_id);
	struct tn_counter zero = {0};
	json_object *x;
	char text[64];

	tn_addr_format(&s->address, text, sizeof(text));
	x = counter_json(st ? &st->cur : &zero, st ? st->pps : 0, st ? st->bps : 0);
	json_object_object_add(x, "type", json_object_new_string(tn_l4_type_name(f->type)));
	json_object_object_add(x, "farmId", json_object_new_int64(f->farm_id));
	json_object_object_add(x, "serverId", json_object_new_int64(s->server_id));
	json_object_object_add(x, "address", json_object_new_string(text));
	return x;
}

json_object *tn_ctl_stats_json(struct tn_ctl *ctl)
{
	json_object *o = json_object_new_object(), *r = json_object_new_object();
	json_object *vips = json_object_new_array(), *servers = json_object_new_array();
	size_t i, j;

	ASSERT_STATE_HELD();
	json_object_object_add(o, "time", json_time(ctl->sample_time));
	json_object_object_add(o, "interval", json_object_new_double(round(ctl->sample_interval * 1000) / 1000));
	for (i = 0; i < TN_R__COUNT; i++)
		json_object_object_add(r, tn_reason_name(i), counter_json(&ctl->reasons[i], ctl->reason_pps[i],
									   ctl->reason_bps[i]));
	json_object_object_add(o, "reasons", r);
	for (i = 0; i < TN_MAX_VIPS; i++)
		if (ctl->vips[i].used)
			json_object_array_add(vips, vip_stats(ctl, (int)i));
	json_object_object_add(o, "vips", vips);
	for (i = 0; i < ctl->applied.nfarms; i++)
		for (j = 0; j < ctl->applied.farms[i].nservers; j++)
			json_object_array_add(servers, server_stats(ctl, &ctl->applied.farms[i],
								    &ctl->applied.farms[i].servers[j]));
	json_object_object_add(o, "servers", servers);
	return o;
}

void tn_ctl_farm_health(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id, int *up, bool *pending)
{
	const struct tn_farm_cfg *f = tn_config_farm(&ctl->applied, t, farm_id);

	ASSERT_STATE_HELD();
	*up = 0;
	*pending = false;
	for (size_t i = 0; f && i < f->nservers; i++) {
		const struct tn_server_cfg *s = &f->servers[i];
		struct server_view v;

		server_view(ctl, f, s, &v);
		if (!v.resolved || !s->active || !s->weight)
			continue;
		/* unknown is up for the data plane, not for announcing */
		if (v.health == 1)
			(*up)++;
		else if (v.health < 0)
			*pending = true;
	}
}

int tn_ctl_read_farm(struct tn_ctl *ctl, int slot, struct tn_farm_hdr *hdr, struct tn_server *servers,
		     uint16_t *table)
{
	if (!ctl->be.farm_table)
		return -ENOTSUP;
	return ctl->be.farm_table(ctl->be.ctx, (uint32_t)slot, hdr, servers, table);
}
