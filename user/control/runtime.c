/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Runtime state of servers (health, checks, counters, data-plane slot) and
 * the MAC-resolution cache, in lib/hash tables. State lock held throughout.
 */
#include <errno.h>
#include <stdlib.h>
#include "control/internal.h"

static uint64_t id_hash(enum tn_l4_type t, uint32_t farm_id, uint32_t server_id)
{
	uint32_t w[3] = { t, farm_id, server_id };

	return tn_hash_bytes(w, sizeof(w), 0x7e4ace);
}

static uint64_t key_hash(uint64_t key)
{
	return tn_hash_bytes(&key, sizeof(key), 0);
}

static uint64_t addr_hash(const struct tn_addr *a, bool have_mac)
{
	return tn_hash_bytes(a->bytes, sizeof(a->bytes), ((uint64_t)a->family << 1) | have_mac);
}

struct srv_state *srv_find(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id, uint32_t server_id)
{
	struct tn_hash_node *n;

	ASSERT_STATE_HELD();
	for (n = tn_hash_first(&ctl->servers, id_hash(t, farm_id, server_id)); n; n = tn_hash_next(n)) {
		struct srv_state *s = tn_container_of(n, struct srv_state, by_id);

		if (s->type == t && s->farm_id == farm_id && s->server_id == server_id)
			return s;
	}
	return NULL;
}

/* Found or created (health unknown, a new probe key); NULL: out of memory. */
struct srv_state *srv_get(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id, uint32_t server_id)
{
	struct srv_state *s = srv_find(ctl, t, farm_id, server_id);

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->type = t;
	s->farm_id = farm_id;
	s->server_id = server_id;
	s->health = -1;
	s->dp_slot = -1;
	s->since = tn_now();
	s->key = ++ctl->next_key;
	if (tn_hash_insert(&ctl->servers, &s->by_id, id_hash(t, farm_id, server_id))) {
		free(s);
		return NULL;
	}
	if (tn_hash_insert(&ctl->keys, &s->by_key, key_hash(s->key))) {
		tn_hash_remove(&ctl->servers, &s->by_id);
		free(s);
		return NULL;
	}
	return s;
}

struct srv_state *srv_by_key(struct tn_ctl *ctl, uint64_t key)
{
	struct tn_hash_node *n;

	ASSERT_STATE_HELD();
	for (n = tn_hash_first(&ctl->keys, key_hash(key)); n; n = tn_hash_next(n)) {
		struct srv_state *s = tn_container_of(n, struct srv_state, by_key);

		if (s->key == key)
			return s;
	}
	return NULL;
}

struct resolution *res_find(struct tn_ctl *ctl, const struct tn_addr *a, bool have_mac)
{
	struct tn_hash_node *n;

	ASSERT_STATE_HELD();
	for (n = tn_hash_first(&ctl->resolutions, addr_hash(a, have_mac)); n; n = tn_hash_next(n)) {
		struct resolution *r = tn_container_of(n, struct resolution, node);

		if (r->have_mac == have_mac && addr_equal(&r->addr, a))
			return r;
	}
	return NULL;
}

/* Found or created (never tried); NULL: out of memory. */
struct resolution *res_get(struct tn_ctl *ctl, const struct tn_addr *a, bool have_mac)
{
	struct resolution *r = res_find(ctl, a, have_mac);

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->addr = *a;
	r->have_mac = have_mac;
	r->err = -ENODATA;
	if (tn_hash_insert(&ctl->resolutions, &r->node, addr_hash(a, have_mac))) {
		free(r);
		return NULL;
	}
	return r;
}

static void mark_config(struct tn_ctl *ctl, const struct tn_config *c)
{
	for (size_t i = 0; i < c->nfarms; i++) {
		const struct tn_farm_cfg *f = &c->farms[i];

		for (size_t j = 0; j < f->nservers; j++) {
			struct srv_state *st = srv_find(ctl, f->type, f->farm_id, f->servers[j].server_id);
			struct resolution *r = res_find(ctl, &f->servers[j].address, f->servers[j].has_mac);

			if (st)
				st->mark = true;
			if (r)
				r->mark = true;
		}
	}
}

/*
 * Forget what the controller knows of servers that left both the applied
 * and the staged configurations (health, counters, MAC resolution): a
 * removed unresolvable server is no longer re-resolved every second, and a
 * server added again starts afresh. Only the writer frees entries (it keeps
 * pointers to them across releases of the state lock).
 */
void ctl_gc(struct tn_ctl *ctl)
{
	struct tn_hash_iter it;
	struct tn_hash_node *n;

	ASSERT_WRITER();
	ASSERT_STATE_HELD();
	ctl->gc_wanted = false;
	mark_config(ctl, &ctl->applied);
	mark_config(ctl, &ctl->staged);
	tn_hash_iter_init(&it, &ctl->servers);
	while ((n = tn_hash_iter_next(&it))) {
		struct srv_state *st = tn_container_of(n, struct srv_state, by_id);

		if (st->mark) {
			st->mark = false;
			continue;
		}
		tn_hash_remove(&ctl->servers, &st->by_id);
		tn_hash_remove(&ctl->keys, &st->by_key);
		free(st);
	}
	tn_hash_iter_init(&it, &ctl->resolutions);
	while ((n = tn_hash_iter_next(&it))) {
		struct resolution *r = tn_container_of(n, struct resolution, node);

		if (r->mark || r->queued) {
			r->mark = false;
			continue;
		}
		tn_hash_remove(&ctl->resolutions, &r->node);
		free(r);
	}
}

void ctl_tables_free(struct tn_ctl *ctl)
{
	struct tn_hash_iter it;
	struct tn_hash_node *n;

	tn_hash_iter_init(&it, &ctl->servers);
	while ((n = tn_hash_iter_next(&it)))
		free(tn_container_of(n, struct srv_state, by_id));
	tn_hash_iter_init(&it, &ctl->resolutions);
	while ((n = tn_hash_iter_next(&it)))
		free(tn_container_of(n, struct resolution, node));
	tn_hash_fini(&ctl->servers);
	tn_hash_fini(&ctl->keys);
	tn_hash_fini(&ctl->resolutions);
}

/* A server whose address or port changed under the same serverId is another
 * server: its health starts unknown (the prober starts a new probe too). */
bool server_readdressed(const struct tn_farm_cfg *old, const struct tn_farm_cfg *f, const struct tn_server_cfg *s)
{
	const struct tn_server_cfg *o = old ? tn_farm_server(old, s->server_id) : NULL;

	return o && !(addr_equal(&o->address, &s->address) && tn_server_port(old, o) == tn_server_port(f, s));
}

void reset_changed_servers(struct tn_ctl *ctl, const struct tn_farm_cfg *old, const struct tn_farm_cfg *f)
{
	ASSERT_STATE_HELD();
	for (size_t i = 0; old && i < f->nservers; i++) {
		const struct tn_server_cfg *s = &f->servers[i];
		struct srv_state *st;

		if (!server_readdressed(old, f, s))
			continue;
		st = srv_find(ctl, f->type, f->farm_id, s->server_id);
		if (st && st->health != -1) {
			st->health = -1;
			st->last_error[0] = 0;
			st->since = tn_now();
		}
	}
}

/* Read-only: every applied server was resolved and given a state when its
 * farm was written; one that was not shows as not resolved yet. */
void server_view(struct tn_ctl *ctl, const struct tn_farm_cfg *f, const struct tn_server_cfg *s,
		 struct server_view *v)
{
	memset(v, 0, sizeof(*v));
	/* a tunnel needs no MAC of the server: the data plane asks the FIB (control/encap.c) */
	v->res = tn_ctl_tunnels(f) ? NULL : res_find(ctl, &s->address, s->has_mac);
	v->st = srv_find(ctl, f->type, f->farm_id, s->server_id);
	v->resolved = tn_ctl_tunnels(f) || (v->res && v->res->err == 0);
	v->health = probed(f, s) ? (v->st ? v->st->health : -1) : 1;
	v->up = v->resolved && v->health != 0;
	if (!v->resolved && (!v->res || v->res->err == -ENODATA))
		v->error = "MAC address not resolved yet";
	else if (!v->resolved)
		v->error = v->res->error;
	else if (v->st && v->st->health == 0)
		v->error = v->st->check.known && v->st->check.last_error[0] ? v->st->check.last_error :
			   v->st->last_error;
}
