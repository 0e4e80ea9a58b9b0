/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Probe glue: targets for the probe engine, its results as health changes
 * (a batch rewrites each affected farm once, from the APPLIED configuration,
 * outside the state lock), and its per-check details for the status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "control/internal.h"
#include "control/node.h"
#include "lib/log.h"
#include "probe/probe.h"

/* State lock held: the server's new health; true when its farm must be
 * rewritten (unknown counts as up: an unknown -> up change moves nothing). */
static bool health_record(struct tn_ctl *ctl, struct srv_state *st, bool up, const char *reason)
{
	const struct tn_farm_cfg *f = tn_config_farm(&ctl->applied, st->type, st->farm_id);
	int before = st->health;

	if (reason)
		snprintf(st->last_error, sizeof(st->last_error), "%s", up ? "" : reason);
	if (before == (int)up)
		return false;
	st->health = up;
	st->since = tn_now();
	if (before != -1 || !up) {
		struct transition *t = &ctl->transitions[ctl->probe_transitions % MAX_TRANSITIONS];

		*t = (struct transition){ .time = st->since, .type = st->type, .farm_id = st->farm_id,
					  .server_id = st->server_id, .from = (int8_t)before, .to = up };
		snprintf(t->reason, sizeof(t->reason), "%s", reason ? reason : "");
		st->transitions++;
		ctl->probe_transitions++;
	}
	return f && tn_farm_server(f, st->server_id) && !(before == -1 && up);
}

/* Farms to rewrite, each once. */
struct farm_set {
	const struct tn_farm_cfg **v;
	size_t n;
};

static void farm_set_add(struct farm_set *s, const struct tn_farm_cfg *f)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == f)
			return;
	s->v[s->n++] = f;
}

void tn_ctl_set_health(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id, uint32_t server_id,
		       bool up, const char *reason)
{
	const struct tn_farm_cfg *f = NULL;
	struct srv_state *st;

	ctl_writer_lock(ctl);
	tn_ctl_lock(ctl);
	st = srv_get(ctl, t, farm_id, server_id);
	if (st && health_record(ctl, st, up, reason))
		f = tn_config_farm(&ctl->applied, t, farm_id);
	tn_ctl_unlock(ctl);
	if (f)
		farm_write_one(ctl, f);
	if (st)
		tn_node_kick(ctl->node);
	ctl_writer_unlock(ctl);
}

/* One log line per change, written once the state lock is released. */
struct health_line {
	bool up;
	char text[400];
};

static void health_line(struct tn_ctl *ctl, const struct srv_state *st, const struct tn_health_change *c,
			struct health_line *l)
{
	const struct tn_farm_cfg *f = tn_config_farm(&ctl->applied, st->type, st->farm_id);
	const struct tn_server_cfg *s = f ? tn_farm_server(f, st->server_id) : NULL;
	bool v6 = s && s->address.family == 6;
	char text[64] = "?";

	if (s)
		tn_addr_format(&s->address, text, sizeof(text));
	l->up = c->up;
	snprintf(l->text, sizeof(l->text), "%s farm %u server %u %s%s%s:%u %s: %s", tn_l4_type_name(st->type),
		 st->farm_id, st->server_id, v6 ? "[" : "", text, v6 ? "]" : "", f && s ? tn_server_port(f, s) : 0,
		 c->up ? "up" : "down", c->reason);
}

/* The batch with its buffers (n entries each). */
static void health_batch(struct tn_ctl *ctl, const struct tn_health_change *v, size_t n,
			 struct farm_set *farms, struct health_line *lines)
{
	size_t i, nlines = 0;

	tn_ctl_lock(ctl);
	for (i = 0; i < n; i++) {
		struct srv_state *st = srv_by_key(ctl, v[i].key);

		if (!st)
			continue;
		health_line(ctl, st, &v[i], &lines[nlines++]);
		if (health_record(ctl, st, v[i].up, v[i].reason))
			farm_set_add(farms, tn_config_farm(&ctl->applied, st->type, st->farm_id));
	}
	tn_ctl_unlock(ctl);
	for (i = 0; i < nlines; i++)
		tn_log(lines[i].up ? TN_LOG_INFO : TN_LOG_WARN, "%s", lines[i].text);
	farms_write(ctl, farms->v, farms->n, NULL);
	/* what is announced may change (unknown -> up too): decided once the
	 * data plane has the new tables and the changes are logged */
	if (nlines)
		tn_node_kick(ctl->node);
}

void tn_ctl_health_apply(struct tn_ctl *ctl, const struct tn_health_change *v, size_t n)
{
	struct farm_set farms = { calloc(n + 1, sizeof(*farms.v)), 0 };
	struct health_line *lines = calloc(n + 1, sizeof(*lines));

	ctl_writer_lock(ctl);
	if (farms.v && lines) {
		health_batch(ctl, v, n, &farms, lines);
	} else { /* out of memory: one change at a time */
		const struct tn_farm_cfg *one[1];
		struct health_line line;

		for (size_t i = 0; i < n; i++) {
			struct farm_set s = { one, 0 };

			health_batch(ctl, &v[i], 1, &s, &line);
		}
	}
	ctl_writer_unlock(ctl);
	free(farms.v);
	free(lines);
}

void tn_ctl_probe_result(struct tn_ctl *ctl, uint64_t key, bool up, const char *reason)
{
	struct tn_health_change c = { .key = key, .up = up };

	snprintf(c.reason, sizeof(c.reason), "%s", reason ? reason : "");
	tn_ctl_health_apply(ctl, &c, 1);
}

uint64_t tn_ctl_applied_version(struct tn_ctl *ctl)
{
	ASSERT_STATE_HELD();
	return ctl->applied_version;
}

static void probe_target(const struct tn_farm_cfg *f, const struct tn_server_cfg *s, uint64_t key,
			 struct tn_probe_target *t)
{
	char text[64], label[128];
	bool v6 = s->address.family == 6;

	tn_addr_format(&s->address, text, sizeof(text));
	snprintf(label, sizeof(label), "%s farm %u server %u %s%s%s:%u", tn_l4_type_name(f->type), f->farm_id,
		 s->server_id, v6 ? "[" : "", text, v6 ? "]" : "", tn_server_port(f, s));
	t->key = key;
	t->addr = s->address;
	t->port = tn_server_port(f, s);
	t->host_label = strdup(label);
	t->cfg = f->probe;
}

int tn_ctl_probe_targets(struct tn_ctl *ctl, struct tn_probe_target **out, size_t *n)
{
	const struct tn_config *c = &ctl->applied;
	struct tn_probe_target *t;
	size_t i, j, m = 0, total = 0;

	ASSERT_STATE_HELD();
	for (i = 0; i < c->nfarms; i++)
		total += c->farms[i].nservers;
	t = calloc(total + 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0; i < c->nfarms; i++) {
		const struct tn_farm_cfg *f = &c->farms[i];

		for (j = 0; j < f->nservers; j++) {
			struct srv_state *st;

			if (!probed(f, &f->servers[j]) || !(st = srv_get(ctl, f->type, f->farm_id, f->servers[j].server_id)))
				continue;
			probe_target(f, &f->servers[j], st->key, &t[m++]);
		}
	}
	*out = t;
	*n = m;
	return 0;
}

void tn_ctl_probe_targets_free(struct tn_probe_target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)t[i].host_label);
	free(t);
}

void tn_ctl_probe_details(struct tn_ctl *ctl, tn_probe_state_fn state, void *arg)
{
	struct tn_hash_iter it;
	struct tn_hash_node *n;

	ASSERT_STATE_HELD();
	tn_hash_iter_init(&it, &ctl->servers);
	while ((n = tn_hash_iter_next(&it))) {
		struct srv_state *st = tn_container_of(n, struct srv_state, by_id);

		if (state(arg, st->key, &st->check))
			st->check.known = false;
	}
}

static const char *health_word(int h)
{
	return h < 0 ? "unknown" : h ? "up" : "down";
}

json_object *tn_ctl_transitions_json(struct tn_ctl *ctl, size_t max)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	uint64_t end = ctl->probe_transitions, n = end < MAX_TRANSITIONS ? end : MAX_TRANSITIONS;

	ASSERT_STATE_HELD();
	if (max && n > max)
		n = max;
	/* newest first */
	for (uint64_t i = 0; i < n; i++) {
		const struct transition *t = &ctl->transitions[(end - 1 - i) % MAX_TRANSITIONS];
		json_object *x = json_object_new_object();

		json_object_object_add(x, "time", json_time(t->time));
		json_object_object_add(x, "type", json_object_new_string(tn_l4_type_name(t->type)));
		json_object_object_add(x, "farmId", json_object_new_int64(t->farm_id));
		json_object_object_add(x, "serverId", json_object_new_int64(t->server_id));
		json_object_object_add(x, "from", json_object_new_string(health_word(t->from)));
		json_object_object_add(x, "to", json_object_new_string(health_word(t->to)));
		json_object_object_add(x, "reason", t->reason[0] ? json_object_new_string(t->reason) : NULL);
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "total", json_object_new_int64((int64_t)end));
	json_object_object_add(o, "transitions", a);
	return o;
}
