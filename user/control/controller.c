/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "control/controller.h"
#include "control/encap.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/time.h"
#include "probe/probe.h"

#define ERR_MAX 200
#define MAX_TASKS 256
#define HASH_BUCKETS 4096

/* What the controller knows about one server beyond its configuration. */
struct srv_state {
	struct srv_state *next, *next_key;
	uint64_t key;            /* probe target key */
	uint8_t type;
	uint32_t farm_id, server_id;
	int health;              /* -1 unknown (treated as up), 0 down, 1 up */
	double since;
	char last_error[ERR_MAX];
	struct tn_probe_state check; /* the engine's latest check (check.known: any yet) */
	uint64_t transitions;
	int dp_slot;             /* slot in the data plane's farm, -1 none */
	struct tn_counter cur, prev;
	double pps, bps;
	bool mark;               /* forget_removed_servers */
};

/* MAC resolution of one address. */
struct resolution {
	struct resolution *next;
	struct tn_addr addr;
	bool have_mac;
	int err;                 /* 0 resolved, -EAGAIN pending, other: failed */
	bool ever;               /* resolved at least once */
	struct tn_neigh_info info;
	char error[ERR_MAX];
	double last_try, since;
	bool mark;               /* forget_removed_servers */
};

struct farm_slot {
	bool used, dirty;
	uint8_t type;
	uint32_t farm_id;
	uint64_t generation;
	char error[ERR_MAX];
};

struct vip_index {
	bool used;
	uint8_t type;
	uint32_t frontend_id;
	struct tn_addr addr;
	struct tn_counter cur, prev;
	double pps, bps;
};

enum task_status { TASK_TODO, TASK_DOING, TASK_DONE, TASK_ERROR };

struct task {
	uint32_t id;
	enum task_status status;
	char *zone;              /* NULL: every zone */
	double created, done;
	char *message;
};

struct tn_ctl {
	pthread_mutex_t lock;
	struct tn_ctl_backend be;
	char *config_path;
	char *state_path;
	char *pin_dir;
	bool skb_mode;
	int wakeup_fd;
	struct tn_config applied, staged;
	struct farm_slot slots[TN_MAX_FARMS];
	struct vip_index vips[TN_MAX_VIPS];
	uint32_t tx_ports[TN_MAX_IFACES];
	size_t ntx_ports;
	struct srv_state *srv[HASH_BUCKETS];
	struct resolution *res[HASH_BUCKETS];
	struct srv_state *by_key[HASH_BUCKETS];
	uint64_t next_key, applied_version;
	struct task tasks[MAX_TASKS]; /* ring */
	uint32_t next_task_id;
	struct tn_counter reasons[TN_R__COUNT], reasons_prev[TN_R__COUNT];
	double reason_pps[TN_R__COUNT], reason_bps[TN_R__COUNT];
	double sample_time, sample_interval;
	uint64_t probe_transitions;
	double started;
};

/* ---- small helpers -------------------------------------------------------- */

static json_object *json_time(double t)
{
	char buf[40];

	if (t <= 0)
		return NULL;
	tn_format_time(t, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static uint8_t l4_proto(enum tn_l4_type t)
{
	return t == TN_L4_UDP ? IPPROTO_UDP : IPPROTO_TCP;
}

static const char *node_zone(const struct tn_config *c)
{
	return c->zone ? c->zone : "default";
}

static const char *farm_zone(const struct tn_config *c, const struct tn_farm_cfg *f)
{
	return f->zone ? f->zone : node_zone(c);
}

static const char *frontend_zone(const struct tn_config *c, const struct tn_frontend_cfg *f)
{
	return f->zone ? f->zone : node_zone(c);
}

static uint32_t hash_words(uint32_t a, uint32_t b, uint32_t c)
{
	return tn_fmix(tn_mix(tn_mix(tn_mix(0x7e4ace, a), b), c)) % HASH_BUCKETS;
}

static struct srv_state *srv_find(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id,
				  uint32_t server_id, bool create)
{
	uint32_t h = hash_words(t, farm_id, server_id);
	struct srv_state *s;

	for (s = ctl->srv[h]; s; s = s->next)
		if (s->type == t && s->farm_id == farm_id && s->server_id == server_id)
			return s;
	if (!create)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->type = t;
	s->farm_id = farm_id;
	s->server_id = server_id;
	s->health = -1;
	s->dp_slot = -1;
	s->since = tn_now();
	s->next = ctl->srv[h];
	ctl->srv[h] = s;
	s->key = ++ctl->next_key;
	s->next_key = ctl->by_key[s->key % HASH_BUCKETS];
	ctl->by_key[s->key % HASH_BUCKETS] = s;
	return s;
}

static uint32_t addr_hash(const struct tn_addr *a, bool have_mac)
{
	uint32_t w[4];

	memcpy(w, a->bytes, 16);
	return hash_words(w[0] ^ w[1], w[2] ^ w[3], a->family | (have_mac << 8));
}

static struct resolution *res_lookup(struct tn_ctl *ctl, const struct tn_addr *a, bool have_mac)
{
	struct resolution *r;

	for (r = ctl->res[addr_hash(a, have_mac)]; r; r = r->next)
		if (r->have_mac == have_mac && r->addr.family == a->family &&
		    !memcmp(r->addr.bytes, a->bytes, 16))
			return r;
	return NULL;
}

static struct resolution *res_find(struct tn_ctl *ctl, const struct tn_addr *a, bool have_mac)
{
	uint32_t h = addr_hash(a, have_mac);
	struct resolution *r = res_lookup(ctl, a, have_mac);

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->addr = *a;
	r->have_mac = have_mac;
	r->err = -ENODATA; /* never tried */
	r->next = ctl->res[h];
	ctl->res[h] = r;
	return r;
}

/* Resolve now; returns true when the result changed what the data plane needs. */
static bool res_try(struct tn_ctl *ctl, struct resolution *r)
{
	struct tn_neigh_info info = {0};
	char err[ERR_MAX] = "";
	char text[64];
	int e;

	if (!ctl->be.resolve)
		return false;
	e = ctl->be.resolve(ctl->be.ctx, &r->addr, r->have_mac, true, &info, err, sizeof(err));
	r->last_try = tn_now();
	tn_addr_format(&r->addr, text, sizeof(text));
	if (e == 0) {
		bool changed = r->err != 0 || memcmp(&info, &r->info, sizeof(info));

		if (r->err != 0 && r->err != -ENODATA)
			tn_info("server address %s resolved", text);
		r->info = info;
		if (r->err != 0)
			r->since = r->last_try;
		r->err = 0;
		r->ever = true;
		r->error[0] = 0;
		return changed;
	}
	if (r->ever && e == -EAGAIN) /* keep the last known MAC while the kernel re-resolves */
		return false;
	if (r->err != e || strcmp(r->error, err)) {
		if (r->err == 0 || r->err == -ENODATA || r->err != e)
			tn_warn("server address %s unresolved: %s", text, err);
		snprintf(r->error, sizeof(r->error), "%s", err);
		r->since = r->last_try;
	}
	bool changed = r->err == 0;
	r->err = e;
	return changed;
}

static struct resolution *resolve_server(struct tn_ctl *ctl, const struct tn_server_cfg *s)
{
	struct resolution *r = res_find(ctl, &s->address, s->has_mac);

	if (r && r->err == -ENODATA)
		res_try(ctl, r);
	return r;
}

static bool probed(const struct tn_farm_cfg *f, const struct tn_server_cfg *s)
{
	return f->probe.type != TN_PROBE_NONE && s->probe;
}

/*
 * Forget what the controller knows of servers that left both the applied
 * and the staged configurations (health, counters, MAC resolution): a
 * removed unresolvable server is no longer re-resolved every second, and a
 * server added again starts afresh. Mark what the two configurations use,
 * free the rest. Call after either changes.
 */
static void forget_removed_servers(struct tn_ctl *ctl)
{
	const struct tn_config *cs[2] = { &ctl->applied, &ctl->staged };
	size_t i, j, h;

	for (int k = 0; k < 2; k++) {
		for (i = 0; i < cs[k]->nfarms; i++) {
			const struct tn_farm_cfg *f = &cs[k]->farms[i];

			for (j = 0; j < f->nservers; j++) {
				struct srv_state *st = srv_find(ctl, f->type, f->farm_id, f->servers[j].server_id, false);
				struct resolution *r = res_lookup(ctl, &f->servers[j].address, f->servers[j].has_mac);

				if (st)
					st->mark = true;
				if (r)
					r->mark = true;
			}
		}
	}
	for (h = 0; h < HASH_BUCKETS; h++) {
		struct srv_state **sp = &ctl->srv[h];
		struct resolution **rp = &ctl->res[h];

		while (*sp) {
			struct srv_state *st = *sp, **kp;

			if (st->mark) {
				st->mark = false;
				sp = &st->next;
				continue;
			}
			*sp = st->next;
			for (kp = &ctl->by_key[st->key % HASH_BUCKETS]; *kp != st; kp = &(*kp)->next_key)
				;
			*kp = st->next_key;
			free(st);
		}
		while (*rp) {
			struct resolution *r = *rp;

			if (r->mark) {
				r->mark = false;
				rp = &r->next;
				continue;
			}
			*rp = r->next;
			free(r);
		}
	}
}

/* A server whose address or port changed under the same serverId is another
 * server: its health starts unknown (the prober starts a new probe too). */
static void reset_changed_servers(struct tn_ctl *ctl, const struct tn_farm_cfg *old, const struct tn_farm_cfg *f)
{
	for (size_t i = 0; old && i < f->nservers; i++) {
		const struct tn_server_cfg *s = &f->servers[i], *o = tn_farm_server(old, s->server_id);
		struct srv_state *st;

		if (!o || (o->address.family == s->address.family &&
			   !memcmp(o->address.bytes, s->address.bytes, 16) &&
			   tn_server_port(old, o) == tn_server_port(f, s)))
			continue;
		st = srv_find(ctl, f->type, f->farm_id, s->server_id, false);
		if (st && st->health != -1) {
			st->health = -1;
			st->last_error[0] = 0;
			st->since = tn_now();
		}
	}
}

/* ---- lifecycle -------------------------------------------------------------- */

struct tn_ctl *tn_ctl_new(const struct tn_ctl_backend *be, const char *config_path)
{
	struct tn_ctl *ctl = calloc(1, sizeof(*ctl));

	if (!ctl)
		return NULL;
	pthread_mutex_init(&ctl->lock, NULL);
	ctl->be = *be;
	ctl->wakeup_fd = -1;
	ctl->next_task_id = 1;
	ctl->started = tn_now();
	if (config_path && !(ctl->config_path = strdup(config_path))) {
		free(ctl);
		return NULL;
	}
	return ctl;
}

void tn_ctl_free(struct tn_ctl *ctl)
{
	size_t i;

	if (!ctl)
		return;
	tn_config_free(&ctl->applied);
	tn_config_free(&ctl->staged);
	for (i = 0; i < HASH_BUCKETS; i++) {
		while (ctl->srv[i]) {
			struct srv_state *n = ctl->srv[i]->next;
			free(ctl->srv[i]);
			ctl->srv[i] = n;
		}
		while (ctl->res[i]) {
			struct resolution *n = ctl->res[i]->next;
			free(ctl->res[i]);
			ctl->res[i] = n;
		}
	}
	for (i = 0; i < MAX_TASKS; i++) {
		free(ctl->tasks[i].zone);
		free(ctl->tasks[i].message);
	}
	free(ctl->config_path);
	free(ctl->state_path);
	free(ctl->pin_dir);
	pthread_mutex_destroy(&ctl->lock);
	free(ctl);
}

void tn_ctl_lock(struct tn_ctl *ctl) { pthread_mutex_lock(&ctl->lock); }
void tn_ctl_unlock(struct tn_ctl *ctl) { pthread_mutex_unlock(&ctl->lock); }
void tn_ctl_set_wakeup_fd(struct tn_ctl *ctl, int fd) { ctl->wakeup_fd = fd; }

void tn_ctl_set_runtime(struct tn_ctl *ctl, const char *pin_dir, bool skb_mode)
{
	free(ctl->pin_dir);
	ctl->pin_dir = pin_dir ? strdup(pin_dir) : NULL;
	ctl->skb_mode = skb_mode;
}

int tn_ctl_set_state_path(struct tn_ctl *ctl, const char *path)
{
	char *p = path ? strdup(path) : NULL;

	if (path && !p)
		return -ENOMEM;
	free(ctl->state_path);
	ctl->state_path = p;
	return 0;
}

const struct tn_config *tn_ctl_staged(const struct tn_ctl *ctl) { return &ctl->staged; }
const struct tn_config *tn_ctl_applied(const struct tn_ctl *ctl) { return &ctl->applied; }

/* ---- farm slots and VIP indexes ---------------------------------------------- */

static int slot_of(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id)
{
	for (int i = 0; i < TN_MAX_FARMS; i++)
		if (ctl->slots[i].used && ctl->slots[i].type == t && ctl->slots[i].farm_id == farm_id)
			return i;
	return -1;
}

int tn_ctl_farm_slot(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id)
{
	return slot_of(ctl, t, farm_id);
}

static int slot_alloc(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id)
{
	int i = slot_of(ctl, t, farm_id);

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

static int vip_index_of(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t frontend_id,
			const struct tn_addr *a, bool create, bool *created)
{
	int free_i = -1;

	for (int i = 0; i < TN_MAX_VIPS; i++) {
		struct vip_index *v = &ctl->vips[i];

		if (!v->used) {
			if (free_i < 0)
				free_i = i;
			continue;
		}
		if (v->type == t && v->frontend_id == frontend_id && v->addr.family == a->family &&
		    !memcmp(v->addr.bytes, a->bytes, 16))
			return i;
	}
	if (!create || free_i < 0)
		return -ENOSPC;
	memset(&ctl->vips[free_i], 0, sizeof(ctl->vips[free_i]));
	ctl->vips[free_i].used = true;
	ctl->vips[free_i].type = t;
	ctl->vips[free_i].frontend_id = frontend_id;
	ctl->vips[free_i].addr = *a;
	if (created)
		*created = true;
	return free_i;
}

/* ---- building and writing one farm ------------------------------------------ */

struct server_view {
	bool resolved, up;
	int health;
	const char *error;
	struct resolution *res;
	struct srv_state *st;
};

static void server_view(struct tn_ctl *ctl, const struct tn_farm_cfg *f, const struct tn_server_cfg *s,
			struct server_view *v)
{
	memset(v, 0, sizeof(*v));
	/* a tunnel needs no MAC of the server: the data plane asks the FIB (control/encap.c) */
	v->res = tn_ctl_tunnels(f) ? NULL : resolve_server(ctl, s);
	v->st = srv_find(ctl, f->type, f->farm_id, s->server_id, true);
	v->resolved = tn_ctl_tunnels(f) || (v->res && v->res->err == 0);
	v->health = probed(f, s) ? (v->st ? v->st->health : -1) : 1;
	v->up = v->resolved && v->health != 0;
	if (!v->res && !tn_ctl_tunnels(f))
		v->error = "out of memory";
	else if (!v->resolved)
		v->error = v->res->error;
	else if (v->st && v->st->health == 0)
		v->error = v->st->check.known && v->st->check.last_error[0] ? v->st->check.last_error :
			   v->st->last_error;
}

static void tx_port_add(struct tn_ctl *ctl, uint32_t ifindex)
{
	size_t i;

	for (i = 0; i < ctl->ntx_ports; i++)
		if (ctl->tx_ports[i] == ifindex)
			return;
	if (ctl->be.tx_port_add && ctl->be.tx_port_add(ctl->be.ctx, ifindex) == 0 &&
	    ctl->ntx_ports < TN_MAX_IFACES)
		ctl->tx_ports[ctl->ntx_ports++] = ifindex;
}

/* Build the farm from its (applied) configuration, health and resolution,
 * and swap it into its slot. Returns 0 or -errno (message in slot error). */
static int write_farm(struct tn_ctl *ctl, const struct tn_farm_cfg *f)
{
	struct tn_dp_server *ds = calloc(f->nservers + 1, sizeof(*ds));
	struct tn_server *back = NULL;
	struct tn_dp_farm df = {0};
	struct farm_slot *fs;
	uint64_t gen = 0;
	bool fresh = slot_of(ctl, f->type, f->farm_id) < 0;
	int slot, err;
	size_t i;

	slot = slot_alloc(ctl, f->type, f->farm_id);
	if (slot < 0) {
		tn_err("%s farm %u: no free farm slot (at most %d farms)", tn_l4_type_name(f->type),
		       f->farm_id, TN_MAX_FARMS);
		free(ds);
		return slot;
	}
	fs = &ctl->slots[slot];
	if (!ds) {
		err = -ENOMEM;
		goto failed;
	}
	for (i = 0; i < f->nservers; i++) {
		const struct tn_server_cfg *s = &f->servers[i];
		struct server_view v;

		server_view(ctl, f, s, &v);
		ds[i].server_id = s->server_id;
		ds[i].family = s->address.family;
		memcpy(ds[i].addr, s->address.bytes, 16);
		ds[i].port = tn_server_port(f, s);
		ds[i].weight = s->active ? s->weight : 0;
		ds[i].backup = s->backup;
		ds[i].up = v.up;
		if (s->has_mac)
			memcpy(ds[i].mac, s->mac, 6);
		if (tn_ctl_tunnels(f)) {
			struct tn_nexthop nh;
			char why[256];

			if (tn_ctl_encap_nexthop(&ctl->be, &ctl->applied, f, s, true, &nh, why, sizeof(why)) &&
			    nh.ifindex)
				tx_port_add(ctl, nh.ifindex);
		} else if (v.resolved) {
			if (!s->has_mac)
				memcpy(ds[i].mac, v.res->info.mac, 6);
			memcpy(ds[i].src_mac, v.res->info.src_mac, 6);
			ds[i].ifindex = v.res->info.ifindex;
			tx_port_add(ctl, ds[i].ifindex);
		}
	}
	df.farm_id = f->farm_id;
	df.proto = l4_proto(f->type);
	df.balance = f->balance == TN_BAL_ROUNDROBIN ? TN_BALANCE_ROUNDROBIN :
		     f->balance == TN_BAL_FIRST ? TN_BALANCE_FIRST : TN_BALANCE_SOURCE;
	df.stickiness = f->stickiness == TN_STICK_SOURCE_IP ? TN_STICKY_SOURCE_IP : TN_STICKY_NONE;
	tn_ctl_encap_abi(f, &df.encap);
	df.servers = ds;
	df.nservers = f->nservers;
	err = ctl->be.farm_write ? ctl->be.farm_write(ctl->be.ctx, slot, &df, &gen) : 0;
	free(ds);
	ds = NULL;
	if (err)
		goto failed;
	fs->dirty = false;
	fs->error[0] = 0;
	fs->generation = gen;
	/* learn each server's slot in the data plane for its counters */
	if (ctl->be.farm_read && (back = calloc(TN_MAX_SERVERS, sizeof(*back))) &&
	    ctl->be.farm_read(ctl->be.ctx, slot, NULL, back) == 0) {
		for (i = 0; i < f->nservers; i++) {
			struct srv_state *st = srv_find(ctl, f->type, f->farm_id, f->servers[i].server_id, true);

			if (!st)
				continue;
			st->dp_slot = -1;
			for (int j = 0; j < TN_MAX_SERVERS; j++) {
				if ((back[j].flags & TN_SRV_F_USED) && back[j].server_id == f->servers[i].server_id) {
					st->dp_slot = j;
					break;
				}
			}
		}
	}
	free(back);
	return 0;

failed:
	/* A write swaps the whole farm or nothing: the slot keeps what it had.
	 * A slot taken for this farm just now holds nothing: give it back, so
	 * no VIP entry points to it. */
	free(ds);
	tn_err("%s farm %u (slot %d): cannot write farm: %s", tn_l4_type_name(f->type), f->farm_id, slot,
	       strerror(-err));
	if (fresh) {
		memset(fs, 0, sizeof(*fs));
	} else {
		snprintf(fs->error, sizeof(fs->error), "cannot write farm: %s", strerror(-err));
		fs->dirty = true;
	}
	return err;
}

/* ---- applying a configuration -------------------------------------------------- */

static bool farm_in(const struct tn_config *c, const struct tn_farm_cfg *f, const struct tn_farm_cfg **out)
{
	*out = tn_config_farm(c, f->type, f->farm_id);
	return *out != NULL;
}

static void prefixes_of(const struct tn_cidr *c, size_t n, struct tn_dp_prefix *out)
{
	for (size_t i = 0; i < n; i++) {
		out[i].family = c[i].addr.family;
		memcpy(out[i].addr, c[i].addr.bytes, 16);
		out[i].prefixlen = c[i].prefixlen;
	}
}

static int set_filters(struct tn_ctl *ctl, uint32_t idx, const struct tn_frontend_cfg *fe, bool only_nonempty)
{
	struct tn_dp_prefix *p;
	size_t n = fe ? (fe->nallowed > fe->ndenied ? fe->nallowed : fe->ndenied) : 0;
	int err = 0, e;

	if (!ctl->be.filters_set)
		return 0;
	p = calloc(n + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (!only_nonempty || (fe && fe->nallowed)) {
		if (fe)
			prefixes_of(fe->allowed_source, fe->nallowed, p);
		e = ctl->be.filters_set(ctl->be.ctx, idx, true, p, fe ? fe->nallowed : 0);
		err = err ? err : e;
	}
	if (!only_nonempty || (fe && fe->ndenied)) {
		if (fe)
			prefixes_of(fe->denied_source, fe->ndenied, p);
		e = ctl->be.filters_set(ctl->be.ctx, idx, false, p, fe ? fe->ndenied : 0);
		err = err ? err : e;
	}
	free(p);
	return err;
}

static void msg_append(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void msg_append(char *msg, size_t len, const char *fmt, ...)
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

/* Append copies (the configurations own their objects). */
static int append_farm(struct tn_config *c, const struct tn_farm_cfg *f)
{
	struct tn_farm_cfg copy = {0};

	if (tn_farm_copy(&copy, f) || tn_config_add_farm(c, &copy)) {
		tn_farm_free(&copy);
		return -ENOMEM;
	}
	return 0;
}

static int append_frontend(struct tn_config *c, const struct tn_frontend_cfg *f)
{
	struct tn_frontend_cfg copy = {0};

	if (tn_frontend_copy(&copy, f) || tn_config_add_frontend(c, &copy)) {
		tn_frontend_free(&copy);
		return -ENOMEM;
	}
	return 0;
}

/*
 * What the data plane serves after apply_config: `next`, except that a farm
 * whose write failed keeps its previous version (or stays absent), and, when
 * the frontends were not applied, the previous frontends stay with the farms
 * they use. A farm whose slot could not be cleared stays too.
 */
static int served_config(struct tn_ctl *ctl, const struct tn_config *prev, const struct tn_config *next,
			 const bool *farm_failed, bool frontends_applied, struct tn_config *out)
{
	const struct tn_farm_cfg *old;
	size_t i;
	int err;

	err = tn_config_copy(out, next);
	for (i = next->nfarms; i-- > 0 && !err;) {
		if (!farm_failed[i])
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
 * NULL at start): 1. rebuild new/changed/dirty farms; 2-4. set filters,
 * replace the VIP set and free the VIP indexes no longer used, only when
 * every farm the frontends use is in the data plane; 5. then free the farms
 * that are gone. *served gets what the data plane serves afterwards (see
 * served_config): failed objects stay pending and a refresh retries them.
 * Errors go to msg; returns their count, or -ENOMEM when *served could not
 * be built (the applied configuration then stays as it was).
 */
static int apply_config(struct tn_ctl *ctl, const struct tn_config *prev, const struct tn_config *next,
			struct tn_config *served, char *msg, size_t msglen)
{
	struct tn_vip_key *keys = NULL;
	struct tn_vip *vals = NULL;
	bool keep_vip[TN_MAX_VIPS] = { false };
	bool *farm_failed = calloc(next->nfarms + 1, sizeof(bool));
	bool vips_ok = false, frontend_errors = false, frontends_applied = false;
	size_t nkeys = 0, i, j, cap = 0;
	int errors = 0, err;

	msg[0] = 0;
	if (!farm_failed) {
		msg_append(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	/* 1. farms */
	for (i = 0; i < next->nfarms; i++) {
		const struct tn_farm_cfg *f = &next->farms[i], *old = NULL;
		int slot = slot_of(ctl, f->type, f->farm_id);

		if (slot >= 0 && !ctl->slots[slot].dirty && prev && farm_in(prev, f, &old) && tn_farm_equal(old, f))
			continue;
		reset_changed_servers(ctl, prev ? tn_config_farm(prev, f->type, f->farm_id) : NULL, f);
		err = write_farm(ctl, f);
		if (err) {
			errors++;
			farm_failed[i] = true;
			msg_append(msg, msglen, "%s farm %u: %s", tn_l4_type_name(f->type), f->farm_id,
				   strerror(-err));
		}
	}
	/* the frontends go in only when every farm they use is served */
	for (i = 0; i < next->nfrontends; i++) {
		const struct tn_frontend_cfg *fe = &next->frontends[i];
		const struct tn_farm_cfg *f = tn_config_farm(next, fe->type, fe->default_farm_id);
		bool served_farm = slot_of(ctl, fe->type, fe->default_farm_id) >= 0;

		if (f && farm_failed[f - next->farms])
			served_farm = prev && tn_config_farm(prev, fe->type, fe->default_farm_id);
		if (!served_farm) {
			errors++;
			msg_append(msg, msglen, "%s frontend %u: %s farm %u is not in the data plane, so no frontend "
				   "change or farm removal was applied", tn_l4_type_name(fe->type), fe->frontend_id,
				   tn_l4_type_name(fe->type), fe->default_farm_id);
			goto done;
		}
	}
	/* 2. VIP entries and indexes; filters of new/changed frontends */
	for (i = 0; i < next->nfrontends; i++) {
		const struct tn_frontend_cfg *fe = &next->frontends[i];
		const struct tn_frontend_cfg *old = prev ? tn_config_frontend(prev, fe->type, fe->frontend_id) : NULL;
		bool changed = !old || !tn_frontend_equal(old, fe);
		int fslot = slot_of(ctl, fe->type, fe->default_farm_id);
		uint32_t flags = 0;

		if (fe->nallowed)
			flags |= TN_VIP_F_ALLOW_LIST;
		if (fe->ndenied)
			flags |= TN_VIP_F_DENY_LIST;
		if (fe->disabled)
			flags |= TN_VIP_F_DISABLED;
		for (j = 0; j < fe->nvips; j++) {
			bool created = false;
			int idx = vip_index_of(ctl, fe->type, fe->frontend_id, &fe->vips[j], true, &created);
			size_t p, nports = fe->nports ? fe->nports : 1;

			if (idx < 0) {
				errors++;
				msg_append(msg, msglen, "%s frontend %u: too many VIPs", tn_l4_type_name(fe->type),
					   fe->frontend_id);
				goto vips_done;
			}
			keep_vip[idx] = true;
			if ((changed || created) && set_filters(ctl, idx, fe, true)) {
				errors++;
				frontend_errors = true;
				msg_append(msg, msglen, "%s frontend %u: cannot set source filters",
					   tn_l4_type_name(fe->type), fe->frontend_id);
			}
			for (p = 0; p < nports; p++) {
				uint32_t first = fe->nports ? fe->ports[p].first : 0;
				uint32_t last = fe->nports ? fe->ports[p].last : 0;

				for (uint32_t port = first; port <= last; port++) {
					if (nkeys >= TN_MAX_VIPS / 2) {
						errors++;
						msg_append(msg, msglen, "%s frontend %u: more than %d VIP ports",
							   tn_l4_type_name(fe->type), fe->frontend_id, TN_MAX_VIPS / 2);
						goto vips_done;
					}
					if (nkeys == cap) {
						size_t nc = cap ? cap * 2 : 64;
						void *nk = realloc(keys, nc * sizeof(*keys));
						void *nv = nk ? realloc(vals, nc * sizeof(*vals)) : NULL;

						if (nk)
							keys = nk;
						if (!nk || !nv) {
							errors++;
							msg_append(msg, msglen, "out of memory");
							goto vips_done;
						}
						vals = nv;
						cap = nc;
					}
					memset(&keys[nkeys], 0, sizeof(keys[nkeys]));
					memcpy(keys[nkeys].addr, fe->vips[j].bytes, 16);
					keys[nkeys].port = htons((uint16_t)port);
					keys[nkeys].proto = l4_proto(fe->type);
					keys[nkeys].family = fe->vips[j].family;
					keys[nkeys].kind = TN_VIP_KIND_PORT;
					vals[nkeys].farm_slot = fslot;
					vals[nkeys].vip_index = idx;
					vals[nkeys].flags = flags;
					vals[nkeys].frontend_id = fe->frontend_id;
					nkeys++;
				}
			}
		}
	}
vips_done:
	/* 3. the whole VIP set in one pass, when every entry could be built */
	if (frontend_errors || i < next->nfrontends) {
		msg_append(msg, msglen, "VIP entries left as they were");
	} else if (ctl->be.vips_replace && (err = ctl->be.vips_replace(ctl->be.ctx, keys, vals, nkeys))) {
		errors++;
		msg_append(msg, msglen, "cannot replace VIP entries: %s", strerror(-err));
	} else {
		vips_ok = true;
	}
	free(keys);
	free(vals);
	if (!vips_ok) {
		msg_append(msg, msglen, "no frontend change or farm removal was applied");
		goto done;
	}
	/* 4. empty filter lists only now (a flag never points to a missing list),
	 *    and forget the VIP indexes no longer used */
	for (i = 0; i < next->nfrontends; i++) {
		const struct tn_frontend_cfg *fe = &next->frontends[i];
		const struct tn_frontend_cfg *old = prev ? tn_config_frontend(prev, fe->type, fe->frontend_id) : NULL;

		if (old && tn_frontend_equal(old, fe))
			continue;
		for (j = 0; j < fe->nvips; j++) {
			int idx = vip_index_of(ctl, fe->type, fe->frontend_id, &fe->vips[j], false, NULL);

			/* clear only the lists that are empty now */
			if (idx >= 0 && (!fe->nallowed || !fe->ndenied)) {
				if (ctl->be.filters_set) {
					if (!fe->nallowed)
						ctl->be.filters_set(ctl->be.ctx, idx, true, NULL, 0);
					if (!fe->ndenied)
						ctl->be.filters_set(ctl->be.ctx, idx, false, NULL, 0);
				}
			}
		}
	}
	for (i = 0; i < TN_MAX_VIPS; i++) {
		if (ctl->vips[i].used && !keep_vip[i]) {
			set_filters(ctl, i, NULL, false);
			memset(&ctl->vips[i], 0, sizeof(ctl->vips[i]));
		}
	}
	/* 5. slots of farms that are gone */
	for (i = 0; i < TN_MAX_FARMS; i++) {
		struct farm_slot *fs = &ctl->slots[i];

		if (!fs->used || tn_config_farm(next, fs->type, fs->farm_id))
			continue;
		if (ctl->be.farm_clear && (err = ctl->be.farm_clear(ctl->be.ctx, i))) {
			errors++;
			msg_append(msg, msglen, "cannot clear farm slot %zu: %s", i, strerror(-err));
			continue;
		}
		memset(fs, 0, sizeof(*fs));
	}
	frontends_applied = true;
done:
	err = served_config(ctl, prev, next, farm_failed, frontends_applied, served);
	free(farm_failed);
	if (err) {
		msg_append(msg, msglen, "out of memory");
		return err;
	}
	return errors;
}

/* ---- start, reload, staging ---------------------------------------------------- */

static void take_over(struct tn_ctl *ctl)
{
	struct tn_farm_hdr hdr;
	struct tn_vip_key *keys = NULL;
	struct tn_vip *vals = NULL;
	size_t n = 0, i;
	int recovered = 0;

	for (i = 0; ctl->be.farm_read && i < TN_MAX_FARMS; i++) {
		if (ctl->be.farm_read(ctl->be.ctx, i, &hdr, NULL))
			continue;
		if (hdr.proto != IPPROTO_TCP && hdr.proto != IPPROTO_UDP)
			continue;
		ctl->slots[i].used = true;
		ctl->slots[i].type = hdr.proto == IPPROTO_UDP ? TN_L4_UDP : TN_L4_TCP;
		ctl->slots[i].farm_id = hdr.farm_id;
		ctl->slots[i].generation = hdr.generation;
		recovered++;
	}
	if (recovered)
		tn_info("took over %d farm slots from the running data plane", recovered);
	if (ctl->be.vips_dump && ctl->be.vips_dump(ctl->be.ctx, &keys, &vals, &n) == 0) {
		for (i = 0; i < n; i++) {
			struct vip_index *v;

			if (keys[i].kind != TN_VIP_KIND_PORT || vals[i].vip_index >= TN_MAX_VIPS)
				continue;
			v = &ctl->vips[vals[i].vip_index];
			v->used = true;
			v->type = keys[i].proto == IPPROTO_UDP ? TN_L4_UDP : TN_L4_TCP;
			v->frontend_id = vals[i].frontend_id;
			v->addr.family = keys[i].family;
			memcpy(v->addr.bytes, keys[i].addr, 16);
		}
	}
	free(keys);
	free(vals);
}

/* Ask the kernel for every server's MAC and wait a little for the answers,
 * so the first tables are complete. */
static void prime_resolution(struct tn_ctl *ctl, const struct tn_config *c)
{
	for (int round = 0; round < 15; round++) {
		int pending = 0;

		for (size_t i = 0; i < c->nfarms; i++) {
			for (size_t j = 0; j < c->farms[i].nservers && !tn_ctl_tunnels(&c->farms[i]); j++) {
				struct resolution *r = res_find(ctl, &c->farms[i].servers[j].address,
							       c->farms[i].servers[j].has_mac);

				if (!r || r->err == 0)
					continue;
				if (r->err == -ENODATA || r->err == -EAGAIN)
					res_try(ctl, r);
				if (r->err == -EAGAIN)
					pending++;
			}
		}
		if (!pending)
			return;
		usleep(100 * 1000);
	}
}

void tn_ctl_prime_staged(struct tn_ctl *ctl)
{
	for (int round = 0; round < 10; round++) {
		int pending = 0;

		tn_ctl_lock(ctl);
		for (size_t i = 0; i < ctl->staged.nfarms; i++) {
			const struct tn_farm_cfg *f = &ctl->staged.farms[i];

			for (size_t j = 0; j < f->nservers && !tn_ctl_tunnels(f); j++) {
				struct resolution *r = res_find(ctl, &f->servers[j].address, f->servers[j].has_mac);

				if (!r || r->err == 0 || (r->err != -ENODATA && r->err != -EAGAIN))
					continue;
				/* first round: ask now; later rounds: look again */
				res_try(ctl, r);
				if (r->err == -EAGAIN)
					pending++;
			}
		}
		tn_ctl_unlock(ctl);
		if (!pending)
			return;
		usleep(100 * 1000);
	}
}

/* What apply_config served becomes the applied configuration (on out of
 * memory the previous one stays: its objects show as pending), and is
 * written to the state file, so a restarted controller knows what the data
 * plane serves. */
static void set_applied(struct tn_ctl *ctl, struct tn_config *served, int rc)
{
	int err;

	if (rc < 0)
		return;
	tn_config_free(&ctl->applied);
	ctl->applied = *served;
	memset(served, 0, sizeof(*served));
	ctl->applied_version++;
	tn_ctl_encap_sources_sync(&ctl->be, &ctl->applied);
	if (ctl->state_path && (err = tn_config_save_file(&ctl->applied, ctl->state_path)))
		tn_err("cannot write the applied configuration to %s: %s (a restarted controller would "
		       "apply the configuration file instead)", ctl->state_path, strerror(-err));
}

int tn_ctl_start(struct tn_ctl *ctl, struct tn_config *applied, struct tn_config *staged)
{
	struct tn_config served = {0}, copy = {0};
	char msg[1024];
	int errors, err;

	if (!staged) {
		err = tn_config_copy(&copy, applied);
		if (err)
			return err;
		staged = &copy;
	}
	prime_resolution(ctl, applied);
	tn_ctl_lock(ctl);
	take_over(ctl);
	errors = apply_config(ctl, NULL, applied, &served, msg, sizeof(msg));
	set_applied(ctl, &served, errors);
	tn_config_free(applied);
	tn_config_free(&ctl->staged);
	ctl->staged = *staged;
	memset(staged, 0, sizeof(*staged));
	forget_removed_servers(ctl);
	tn_ctl_unlock(ctl);
	if (errors) {
		tn_err("configuration applied with errors (what failed stays pending): %s", msg);
		return -EIO;
	}
	tn_info("configuration applied: %zu farms, %zu frontends", ctl->applied.nfarms, ctl->applied.nfrontends);
	return 0;
}

int tn_ctl_reload(struct tn_ctl *ctl, struct tn_config *cfg)
{
	struct tn_config served = {0};
	char msg[1024];
	int errors;

	errors = apply_config(ctl, &ctl->applied, cfg, &served, msg, sizeof(msg));
	set_applied(ctl, &served, errors);
	tn_config_free(&ctl->staged);
	ctl->staged = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	forget_removed_servers(ctl);
	if (errors) {
		tn_err("configuration reloaded with errors (what failed stays pending): %s", msg);
		return -EIO;
	}
	tn_info("configuration reloaded: %zu farms, %zu frontends", ctl->applied.nfarms, ctl->applied.nfrontends);
	return 0;
}

int tn_ctl_stage(struct tn_ctl *ctl, struct tn_config *candidate, struct tn_errors *errs)
{
	struct tn_config old;
	int err;

	if (tn_config_validate(candidate, errs))
		return -EINVAL;
	old = ctl->staged;
	ctl->staged = *candidate;
	if (ctl->config_path && (err = tn_config_save_file(&ctl->staged, ctl->config_path))) {
		ctl->staged = old;
		tn_errors_add(errs, "", "cannot write the configuration file %s: %s", ctl->config_path,
			      strerror(-err));
		return -EIO;
	}
	memset(candidate, 0, sizeof(*candidate));
	tn_config_free(&old);
	forget_removed_servers(ctl);
	return 0;
}

/*
 * The lowest id from 1 that none of n objects uses (id_of: the object's id,
 * 0 for an object to skip). n objects use at most n ids, so one of 1..n+1
 * is free: never past UINT32_MAX, and a deleted object's id is used again.
 */
struct id_src {
	const struct tn_config *c;
	const struct tn_farm_cfg *f;
	enum tn_l4_type t;
};

static uint32_t lowest_free_id(size_t n, uint32_t (*id_of)(const struct id_src *, size_t), const struct id_src *src)
{
	bool *used = calloc(n + 2, sizeof(*used));
	uint32_t id, max = 0;
	size_t i;

	if (!used) { /* out of memory: one past the highest, if there is one */
		for (i = 0; i < n; i++)
			if (id_of(src, i) > max)
				max = id_of(src, i);
		return max < UINT32_MAX ? max + 1 : 0;
	}
	for (i = 0; i < n; i++)
		if ((id = id_of(src, i)) <= n + 1)
			used[id] = true;
	for (id = 1; used[id]; id++)
		;
	free(used);
	return id;
}

static uint32_t farm_id_of(const struct id_src *s, size_t i)
{
	return s->c->farms[i].type == s->t ? s->c->farms[i].farm_id : 0;
}

static uint32_t frontend_id_of(const struct id_src *s, size_t i)
{
	return s->c->frontends[i].type == s->t ? s->c->frontends[i].frontend_id : 0;
}

static uint32_t server_id_of(const struct id_src *s, size_t i)
{
	return s->f->servers[i].server_id;
}

uint32_t tn_ctl_next_farm_id(const struct tn_config *c, enum tn_l4_type t)
{
	struct id_src s = { .c = c, .t = t };

	return lowest_free_id(c->nfarms, farm_id_of, &s);
}

uint32_t tn_ctl_next_frontend_id(const struct tn_config *c, enum tn_l4_type t)
{
	struct id_src s = { .c = c, .t = t };

	return lowest_free_id(c->nfrontends, frontend_id_of, &s);
}

uint32_t tn_ctl_next_server_id(const struct tn_farm_cfg *f)
{
	struct id_src s = { .f = f };

	return lowest_free_id(f->nservers, server_id_of, &s);
}

/* ---- pending changes --------------------------------------------------------- */

struct zone_count {
	char *zone;
	int n;
};

struct zone_counts {
	struct zone_count *v;
	size_t n;
};

static void zc_add(struct zone_counts *zc, const char *zone, int n)
{
	size_t i;

	for (i = 0; i < zc->n; i++)
		if (!strcmp(zc->v[i].zone, zone))
			break;
	if (i == zc->n) {
		struct zone_count *nv = realloc(zc->v, (zc->n + 1) * sizeof(*nv));
		char *z = strdup(zone);

		if (!nv || !z) {
			free(z);
			if (nv)
				zc->v = nv;
			return;
		}
		zc->v = nv;
		zc->v[zc->n].zone = z;
		zc->v[zc->n].n = 0;
		zc->n++;
	}
	zc->v[i].n += n;
}

static void zc_free(struct zone_counts *zc)
{
	for (size_t i = 0; i < zc->n; i++)
		free(zc->v[i].zone);
	free(zc->v);
}

static bool server_equal(const struct tn_server_cfg *a, const struct tn_server_cfg *b)
{
	struct tn_farm_cfg fa = { .servers = (struct tn_server_cfg *)a, .nservers = 1 };
	struct tn_farm_cfg fb = { .servers = (struct tn_server_cfg *)b, .nservers = 1 };

	return tn_farm_equal(&fa, &fb);
}

static bool farm_attrs_equal(const struct tn_farm_cfg *a, const struct tn_farm_cfg *b)
{
	struct tn_farm_cfg fa = *a, fb = *b;

	fa.servers = fb.servers = NULL;
	fa.nservers = fb.nservers = 0;
	return tn_farm_equal(&fa, &fb);
}

static void count_changes(const struct tn_config *st, const struct tn_config *ap, struct zone_counts *zc)
{
	size_t i, j;

	for (i = 0; i < st->nfarms; i++) {
		const struct tn_farm_cfg *f = &st->farms[i];
		const struct tn_farm_cfg *a = tn_config_farm(ap, f->type, f->farm_id);
		const char *z = farm_zone(st, f);

		if (!a) {
			zc_add(zc, z, 1 + (int)f->nservers);
			continue;
		}
		if (!farm_attrs_equal(f, a))
			zc_add(zc, z, 1);
		for (j = 0; j < f->nservers; j++) {
			const struct tn_server_cfg *as = tn_farm_server(a, f->servers[j].server_id);
			if (!as || !server_equal(as, &f->servers[j]))
				zc_add(zc, z, 1);
		}
		for (j = 0; j < a->nservers; j++)
			if (!tn_farm_server(f, a->servers[j].server_id))
				zc_add(zc, z, 1);
	}
	for (i = 0; i < ap->nfarms; i++)
		if (!tn_config_farm(st, ap->farms[i].type, ap->farms[i].farm_id))
			zc_add(zc, farm_zone(ap, &ap->farms[i]), 1 + (int)ap->farms[i].nservers);
	for (i = 0; i < st->nfrontends; i++) {
		const struct tn_frontend_cfg *f = &st->frontends[i];
		const struct tn_frontend_cfg *a = tn_config_frontend(ap, f->type, f->frontend_id);

		if (!a || !tn_frontend_equal(a, f))
			zc_add(zc, frontend_zone(st, f), 1);
	}
	for (i = 0; i < ap->nfrontends; i++)
		if (!tn_config_frontend(st, ap->frontends[i].type, ap->frontends[i].frontend_id))
			zc_add(zc, frontend_zone(ap, &ap->frontends[i]), 1);
}

json_object *tn_ctl_pending_json(struct tn_ctl *ctl)
{
	struct zone_counts zc = {0};
	json_object *arr = json_object_new_array();

	count_changes(&ctl->staged, &ctl->applied, &zc);
	for (size_t i = 0; i < zc.n; i++) {
		json_object *o;

		if (!zc.v[i].n)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "zone", json_object_new_string(zc.v[i].zone));
		json_object_object_add(o, "number", json_object_new_int(zc.v[i].n));
		json_object_array_add(arr, o);
	}
	zc_free(&zc);
	return arr;
}

int tn_ctl_pending_count(struct tn_ctl *ctl, const char *zone)
{
	struct zone_counts zc = {0};
	int n = 0;

	count_changes(&ctl->staged, &ctl->applied, &zc);
	for (size_t i = 0; i < zc.n; i++)
		if (!zone || !strcmp(zone, zc.v[i].zone))
			n += zc.v[i].n;
	zc_free(&zc);
	return n;
}

/* ---- refresh tasks -------------------------------------------------------------- */

static bool zone_known(const struct tn_ctl *ctl, const char *zone)
{
	const struct tn_config *cs[2] = { &ctl->staged, &ctl->applied };

	for (int k = 0; k < 2; k++) {
		const struct tn_config *c = cs[k];

		if (!strcmp(node_zone(c), zone))
			return true;
		for (size_t i = 0; i < c->nfarms; i++)
			if (!strcmp(farm_zone(c, &c->farms[i]), zone))
				return true;
		for (size_t i = 0; i < c->nfrontends; i++)
			if (!strcmp(frontend_zone(c, &c->frontends[i]), zone))
				return true;
	}
	return false;
}

static struct task *task_get(struct tn_ctl *ctl, uint32_t id)
{
	struct task *t;

	if (!id)
		return NULL;
	t = &ctl->tasks[id % MAX_TASKS];
	return t->id == id ? t : NULL;
}

int tn_ctl_refresh(struct tn_ctl *ctl, const char *zone, uint32_t *task_id)
{
	struct task *t;

	if (zone && !strcmp(zone, "all"))
		zone = NULL;
	if (zone && !zone_known(ctl, zone))
		return -ENOENT;
	t = &ctl->tasks[ctl->next_task_id % MAX_TASKS];
	if (t->id && (t->status == TASK_TODO || t->status == TASK_DOING))
		return -EBUSY; /* the ring is full of queued refreshes: never drop one */
	free(t->zone);
	free(t->message);
	memset(t, 0, sizeof(*t));
	t->id = ctl->next_task_id++;
	t->status = TASK_TODO;
	t->zone = zone ? strdup(zone) : NULL;
	t->created = tn_now();
	*task_id = t->id;
	if (ctl->wakeup_fd >= 0) {
		uint64_t one = 1;
		(void)!write(ctl->wakeup_fd, &one, sizeof(one));
	}
	return 0;
}

/* The applied configuration with the staged objects of one zone. */
static int merge_zone(const struct tn_config *ap, const struct tn_config *st, const char *zone,
		      struct tn_config *out)
{
	size_t i;
	int err;

	if (!zone)
		return tn_config_copy(out, st);
	err = tn_config_copy(out, ap);
	if (err)
		return err;
	for (i = 0; i < out->nfarms; i++)
		tn_farm_free(&out->farms[i]);
	for (i = 0; i < out->nfrontends; i++)
		tn_frontend_free(&out->frontends[i]);
	out->nfarms = out->nfrontends = 0;
	for (i = 0; i < ap->nfarms && !err; i++) {
		const struct tn_farm_cfg *a = &ap->farms[i];
		const struct tn_farm_cfg *s = tn_config_farm(st, a->type, a->farm_id);
		bool take = !strcmp(farm_zone(ap, a), zone) || (s && !strcmp(farm_zone(st, s), zone));

		if (!take)
			err = append_farm(out, a);
		else if (s)
			err = append_farm(out, s);
	}
	for (i = 0; i < st->nfarms && !err; i++) {
		const struct tn_farm_cfg *s = &st->farms[i];

		if (!tn_config_farm(ap, s->type, s->farm_id) && !strcmp(farm_zone(st, s), zone))
			err = append_farm(out, s);
	}
	for (i = 0; i < ap->nfrontends && !err; i++) {
		const struct tn_frontend_cfg *a = &ap->frontends[i];
		const struct tn_frontend_cfg *s = tn_config_frontend(st, a->type, a->frontend_id);
		bool take = !strcmp(frontend_zone(ap, a), zone) || (s && !strcmp(frontend_zone(st, s), zone));

		if (!take)
			err = append_frontend(out, a);
		else if (s)
			err = append_frontend(out, s);
	}
	for (i = 0; i < st->nfrontends && !err; i++) {
		const struct tn_frontend_cfg *s = &st->frontends[i];

		if (!tn_config_frontend(ap, s->type, s->frontend_id) && !strcmp(frontend_zone(st, s), zone))
			err = append_frontend(out, s);
	}
	if (err)
		tn_config_free(out);
	return err;
}

static void run_refresh(struct tn_ctl *ctl, struct task *t)
{
	struct tn_config next = {0}, served = {0};
	struct tn_errors errs = {0};
	char msg[1024];
	int err, errors;

	err = merge_zone(&ctl->applied, &ctl->staged, t->zone, &next);
	if (err) {
		t->status = TASK_ERROR;
		t->message = strdup(strerror(-err));
		return;
	}
	if (tn_config_validate(&next, &errs)) {
		char *j = tn_errors_join(&errs);
		char buf[1200];

		snprintf(buf, sizeof(buf), "refreshing zone %s alone would leave an invalid configuration: %s",
			 t->zone ? t->zone : "all", j ? j : "?");
		free(j);
		tn_errors_free(&errs);
		tn_config_free(&next);
		t->status = TASK_ERROR;
		t->message = strdup(buf);
		tn_err("task %u: %s", t->id, buf);
		return;
	}
	errors = apply_config(ctl, &ctl->applied, &next, &served, msg, sizeof(msg));
	set_applied(ctl, &served, errors);
	tn_config_free(&next);
	forget_removed_servers(ctl);
	if (errors) {
		char buf[1100];

		snprintf(buf, sizeof(buf), "%s (what failed stays pending: refresh again)", msg);
		t->status = TASK_ERROR;
		t->message = strdup(buf);
		tn_err("task %u: refresh of zone %s: %s", t->id, t->zone ? t->zone : "all", buf);
	} else {
		t->status = TASK_DONE;
		t->message = strdup("configuration applied");
		tn_info("task %u: refresh of zone %s done", t->id, t->zone ? t->zone : "all");
	}
}

int tn_ctl_run_tasks(struct tn_ctl *ctl)
{
	int ran = 0;

	for (uint32_t id = ctl->next_task_id > MAX_TASKS ? ctl->next_task_id - MAX_TASKS : 1;
	     id < ctl->next_task_id; id++) {
		struct task *t = task_get(ctl, id);

		if (!t || t->status != TASK_TODO)
			continue;
		t->status = TASK_DOING;
		run_refresh(ctl, t);
		t->done = tn_now();
		ran++;
	}
	return ran;
}

json_object *tn_ctl_task_json(struct tn_ctl *ctl, uint32_t id)
{
	static const char *names[] = { "todo", "doing", "done", "error" };
	struct task *t = task_get(ctl, id);
	json_object *o;

	if (!t)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(t->id));
	json_object_object_add(o, "action", json_object_new_string("refresh"));
	json_object_object_add(o, "status", json_object_new_string(names[t->status]));
	json_object_object_add(o, "zone", t->zone ? json_object_new_string(t->zone) : NULL);
	json_object_object_add(o, "creationDate", json_time(t->created));
	json_object_object_add(o, "doneDate", json_time(t->done));
	json_object_object_add(o, "message", t->message ? json_object_new_string(t->message) : NULL);
	return o;
}

/* ---- health and periodic work --------------------------------------------------- */

void tn_ctl_set_health(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id, uint32_t server_id,
		       bool up, const char *reason)
{
	struct tn_farm_cfg *f = tn_config_farm(&ctl->applied, t, farm_id);
	struct srv_state *st = srv_find(ctl, t, farm_id, server_id, true);
	int before;

	if (!st)
		return;
	if (reason)
		snprintf(st->last_error, sizeof(st->last_error), "%s", up ? "" : reason);
	before = st->health;
	if (before == (int)up)
		return;
	st->health = up;
	st->since = tn_now();
	if (before != -1 || !up) {
		st->transitions++;
		ctl->probe_transitions++;
	}
	/* unknown counts as up: an unknown -> up change moves nothing */
	if (f && tn_farm_server(f, server_id) && !(before == -1 && up))
		write_farm(ctl, f);
}

uint64_t tn_ctl_applied_version(struct tn_ctl *ctl)
{
	return ctl->applied_version;
}

int tn_ctl_probe_targets(struct tn_ctl *ctl, struct tn_probe_target **out, size_t *n)
{
	const struct tn_config *c = &ctl->applied;
	struct tn_probe_target *t;
	size_t i, j, m = 0, total = 0;

	for (i = 0; i < c->nfarms; i++)
		total += c->farms[i].nservers;
	t = calloc(total + 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (i = 0; i < c->nfarms; i++) {
		const struct tn_farm_cfg *f = &c->farms[i];

		for (j = 0; j < f->nservers; j++) {
			const struct tn_server_cfg *s = &f->servers[j];
			struct srv_state *st;
			char text[64], label[128];

			if (!probed(f, s))
				continue;
			st = srv_find(ctl, f->type, f->farm_id, s->server_id, true);
			if (!st)
				continue;
			tn_addr_format(&s->address, text, sizeof(text));
			snprintf(label, sizeof(label), "%s farm %u server %u %s%s%s:%u", tn_l4_type_name(f->type),
				 f->farm_id, s->server_id, s->address.family == 6 ? "[" : "", text,
				 s->address.family == 6 ? "]" : "", tn_server_port(f, s));
			t[m].key = st->key;
			t[m].addr = s->address;
			t[m].port = tn_server_port(f, s);
			t[m].host_label = strdup(label);
			t[m].cfg = f->probe;
			m++;
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

void tn_ctl_probe_result(struct tn_ctl *ctl, uint64_t key, bool up, const char *reason)
{
	struct srv_state *st;

	tn_ctl_lock(ctl);
	for (st = ctl->by_key[key % HASH_BUCKETS]; st; st = st->next_key)
		if (st->key == key)
			break;
	if (st) {
		struct tn_farm_cfg *f = tn_config_farm(&ctl->applied, st->type, st->farm_id);
		struct tn_server_cfg *s = f ? tn_farm_server(f, st->server_id) : NULL;
		char text[64] = "?";
		bool v6 = s && s->address.family == 6;

		if (s)
			tn_addr_format(&s->address, text, sizeof(text));
		tn_log(up ? TN_LOG_INFO : TN_LOG_WARN, "%s farm %u server %u %s%s%s:%u %s: %s",
		       tn_l4_type_name(st->type), st->farm_id, st->server_id,
		       v6 ? "[" : "", text, v6 ? "]" : "",
		       f && s ? tn_server_port(f, s) : 0, up ? "up" : "down", reason ? reason : "");
		tn_ctl_set_health(ctl, st->type, st->farm_id, st->server_id, up, reason);
	}
	tn_ctl_unlock(ctl);
}

void tn_ctl_probe_details(struct tn_ctl *ctl, tn_probe_state_fn state, void *arg)
{
	for (size_t b = 0; b < HASH_BUCKETS; b++)
		for (struct srv_state *st = ctl->srv[b]; st; st = st->next)
			if (state(arg, st->key, &st->check))
				st->check.known = false;
}

void tn_ctl_tick(struct tn_ctl *ctl)
{
	double now = tn_now();
	size_t i, j;

	/* tunnels: the kernel resolves missing next hops; redirect targets follow the routes */
	for (j = 0; j < ctl->applied.nfarms; j++) {
		const struct tn_farm_cfg *f = &ctl->applied.farms[j];

		for (size_t k = 0; tn_ctl_tunnels(f) && k < f->nservers; k++) {
			struct tn_nexthop nh;
			char why[256];

			if (tn_ctl_encap_nexthop(&ctl->be, &ctl->applied, f, &f->servers[k], true, &nh, why,
						 sizeof(why)) && nh.ifindex)
				tx_port_add(ctl, nh.ifindex);
		}
	}
	/* retry unresolved addresses every second, re-check resolved ones every 30 s */
	for (i = 0; i < HASH_BUCKETS; i++) {
		for (struct resolution *r = ctl->res[i]; r; r = r->next) {
			double every = r->err == 0 ? 30 : 1;

			if (now - r->last_try < every || !res_try(ctl, r))
				continue;
			for (j = 0; j < ctl->applied.nfarms; j++) {
				struct tn_farm_cfg *f = &ctl->applied.farms[j];
				int slot = slot_of(ctl, f->type, f->farm_id);

				for (size_t k = 0; slot >= 0 && k < f->nservers; k++)
					if (f->servers[k].has_mac == r->have_mac &&
					    !memcmp(&f->servers[k].address.bytes, r->addr.bytes, 16))
						ctl->slots[slot].dirty = true;
			}
		}
	}
	for (j = 0; j < ctl->applied.nfarms; j++) {
		struct tn_farm_cfg *f = &ctl->applied.farms[j];
		int slot = slot_of(ctl, f->type, f->farm_id);

		if (slot >= 0 && ctl->slots[slot].dirty)
			write_farm(ctl, f);
	}

	/* counters and rates */
	if (ctl->sample_time > 0)
		ctl->sample_interval = now - ctl->sample_time;
	ctl->sample_time = now;
	memcpy(ctl->reasons_prev, ctl->reasons, sizeof(ctl->reasons));
	if (ctl->be.reason_counters)
		ctl->be.reason_counters(ctl->be.ctx, ctl->reasons);
	for (i = 0; i < TN_R__COUNT && ctl->sample_interval > 0; i++) {
		ctl->reason_pps[i] = (ctl->reasons[i].packets - ctl->reasons_prev[i].packets) / ctl->sample_interval;
		ctl->reason_bps[i] = 8.0 * (ctl->reasons[i].bytes - ctl->reasons_prev[i].bytes) / ctl->sample_interval;
	}
	for (i = 0; i < TN_MAX_VIPS; i++) {
		struct vip_index *v = &ctl->vips[i];

		if (!v->used)
			continue;
		v->prev = v->cur;
		if (ctl->be.vip_counter)
			ctl->be.vip_counter(ctl->be.ctx, i, &v->cur);
		if (ctl->sample_interval > 0 && v->cur.packets >= v->prev.packets) {
			v->pps = (v->cur.packets - v->prev.packets) / ctl->sample_interval;
			v->bps = 8.0 * (v->cur.bytes - v->prev.bytes) / ctl->sample_interval;
		}
	}
	for (j = 0; j < ctl->applied.nfarms; j++) {
		struct tn_farm_cfg *f = &ctl->applied.farms[j];
		int slot = slot_of(ctl, f->type, f->farm_id);

		for (size_t k = 0; slot >= 0 && k < f->nservers; k++) {
			struct srv_state *st = srv_find(ctl, f->type, f->farm_id, f->servers[k].server_id, false);

			if (!st || st->dp_slot < 0)
				continue;
			st->prev = st->cur;
			if (ctl->be.server_counter)
				ctl->be.server_counter(ctl->be.ctx, slot, st->dp_slot, &st->cur);
			if (ctl->sample_interval > 0 && st->cur.packets >= st->prev.packets) {
				st->pps = (st->cur.packets - st->prev.packets) / ctl->sample_interval;
				st->bps = 8.0 * (st->cur.bytes - st->prev.bytes) / ctl->sample_interval;
			}
		}
	}
}

/* ---- status, stats, metrics ---------------------------------------------------------- */

static const char *health_name(int h)
{
	return h < 0 ? "unknown" : h ? "up" : "down";
}

static json_object *server_status(struct tn_ctl *ctl, const struct tn_farm_cfg *f,
				  const struct tn_server_cfg *s, bool *usable)
{
	json_object *o = json_object_new_object();
	struct server_view v;
	char text[64], mac[TN_MAC_TEXT];
	const char *state;

	server_view(ctl, f, s, &v);
	tn_addr_format(&s->address, text, sizeof(text));
	if (!v.resolved)
		state = "unresolved";
	else if (v.health == 0)
		state = "down";
	else if (!s->active)
		state = "inactive";
	else if (s->weight == 0)
		state = "drain";
	else
		state = "up";
	*usable = v.up && s->active && s->weight > 0;
	json_object_object_add(o, "serverId", json_object_new_int64(s->server_id));
	json_object_object_add(o, "address", json_object_new_string(text));
	json_object_object_add(o, "port", json_object_new_int(tn_server_port(f, s)));
	json_object_object_add(o, "weight", json_object_new_int(s->weight));
	json_object_object_add(o, "backup", json_object_new_boolean(s->backup));
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "health", json_object_new_string(probed(f, s) ? health_name(v.health) : "not probed"));
	json_object_object_add(o, "since", json_time(!v.resolved && v.res ? v.res->since :
						       v.st ? v.st->since : 0));
	json_object_object_add(o, "lastError", v.error && v.error[0] ? json_object_new_string(v.error) : NULL);
	if (v.st && v.st->check.known) {
		json_object_object_add(o, "lastResult", json_object_new_string(v.st->check.last_result));
		json_object_object_add(o, "lastCheck", json_object_new_string(v.st->check.last_reason));
		json_object_object_add(o, "checks", json_object_new_int64((int64_t)v.st->check.checks));
		json_object_object_add(o, "failedChecks", json_object_new_int64((int64_t)v.st->check.failures));
	}
	if (v.resolved && v.res) {
		const uint8_t *m = s->has_mac ? s->mac : v.res->info.mac;
		char ifname[IF_NAMESIZE] = "";

		tn_mac_format(m, mac);
		json_object_object_add(o, "mac", json_object_new_string(mac));
		if (if_indextoname(v.res->info.ifindex, ifname))
			json_object_object_add(o, "interface", json_object_new_string(ifname));
	}
	if (v.st) {
		json_object_object_add(o, "slot", v.st->dp_slot >= 0 ? json_object_new_int(v.st->dp_slot) : NULL);
		json_object_object_add(o, "transitions", json_object_new_int64(v.st->transitions));
	}
	if (tn_ctl_tunnels(f) && v.up)
		tn_ctl_encap_server_status(&ctl->be, &ctl->applied, f, s, o, usable);
	return o;
}

json_object *tn_ctl_status_json(struct tn_ctl *ctl)
{
	json_object *o = json_object_new_object(), *ifs = json_object_new_array(), *farms = json_object_new_array();
	const struct tn_config *c = &ctl->applied;
	size_t i, j;

	for (i = 0; i < c->ninterfaces; i++) {
		json_object *x = json_object_new_object();
		int ifindex = if_nametoindex(c->interfaces[i]);
		uint32_t prog_id = 0;
		const char *mode = "none";

		json_object_object_add(x, "name", json_object_new_string(c->interfaces[i]));
		json_object_object_add(x, "ifindex", json_object_new_int(ifindex));
		if (ifindex > 0 && tn_dp_query(ifindex, &prog_id, &mode) == 0) {
			json_object_object_add(x, "mode", json_object_new_string(mode ? mode : "none"));
			json_object_object_add(x, "programId", json_object_new_int64(prog_id));
		} else {
			json_object_object_add(x, "mode", json_object_new_string(ifindex > 0 ? "unknown" : "missing"));
		}
		json_object_array_add(ifs, x);
	}
	json_object_object_add(o, "zone", json_object_new_string(node_zone(c)));
	json_object_object_add(o, "interfaces", ifs);
	json_object_object_add(o, "pinDir", ctl->pin_dir ? json_object_new_string(ctl->pin_dir) : NULL);
	json_object_object_add(o, "started", json_time(ctl->started));
	json_object_object_add(o, "pendingChanges", json_object_new_int(tn_ctl_pending_count(ctl, NULL)));
	for (i = 0; i < c->nfarms; i++) {
		const struct tn_farm_cfg *f = &c->farms[i];
		json_object *x = json_object_new_object(), *srv = json_object_new_array();
		int slot = slot_of(ctl, f->type, f->farm_id);
		int nusable = 0;

		json_object_object_add(x, "type", json_object_new_string(tn_l4_type_name(f->type)));
		json_object_object_add(x, "farmId", json_object_new_int64(f->farm_id));
		json_object_object_add(x, "displayName", f->display_name ? json_object_new_string(f->display_name) : NULL);
		json_object_object_add(x, "zone", json_object_new_string(farm_zone(c, f)));
		json_object_object_add(x, "forwarding", json_object_new_string(tn_forwarding_name(f->encap.forwarding)));
		json_object_object_add(x, "slot", slot >= 0 ? json_object_new_int(slot) : NULL);
		json_object_object_add(x, "generation", slot >= 0 ? json_object_new_int64(ctl->slots[slot].generation) : NULL);
		if (slot >= 0 && ctl->slots[slot].error[0])
			json_object_object_add(x, "lastError", json_object_new_string(ctl->slots[slot].error));
		for (j = 0; j < f->nservers; j++) {
			bool usable;

			json_object_array_add(srv, server_status(ctl, f, &f->servers[j], &usable));
			nusable += usable;
		}
		json_object_object_add(x, "state", json_object_new_string(nusable ? "up" : "down"));
		json_object_object_add(x, "serversUp", json_object_new_int(nusable));
		json_object_object_add(x, "servers", srv);
		json_object_array_add(farms, x);
	}
	json_object_object_add(o, "farms", farms);
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

static const struct tn_frontend_cfg *frontend_of_vip(struct tn_ctl *ctl, const struct vip_index *v)
{
	return tn_config_frontend(&ctl->applied, v->type, v->frontend_id);
}

json_object *tn_ctl_stats_json(struct tn_ctl *ctl)
{
	json_object *o = json_object_new_object(), *r = json_object_new_object();
	json_object *vips = json_object_new_array(), *servers = json_object_new_array();
	size_t i, j;

	json_object_object_add(o, "time", json_time(ctl->sample_time));
	json_object_object_add(o, "interval", json_object_new_double(round(ctl->sample_interval * 1000) / 1000));
	for (i = 0; i < TN_R__COUNT; i++)
		json_object_object_add(r, tn_reason_name(i), counter_json(&ctl->reasons[i], ctl->reason_pps[i],
									   ctl->reason_bps[i]));
	json_object_object_add(o, "reasons", r);
	for (i = 0; i < TN_MAX_VIPS; i++) {
		const struct vip_index *v = &ctl->vips[i];
		const struct tn_frontend_cfg *fe;
		json_object *x;
		char text[64];

		if (!v->used)
			continue;
		fe = frontend_of_vip(ctl, v);
		tn_addr_format(&v->addr, text, sizeof(text));
		x = counter_json(&v->cur, v->pps, v->bps);
		json_object_object_add(x, "type", json_object_new_string(tn_l4_type_name(v->type)));
		json_object_object_add(x, "frontendId", json_object_new_int64(v->frontend_id));
		json_object_object_add(x, "vip", json_object_new_string(text));
		json_object_object_add(x, "port", json_object_new_string(fe && fe->port ? fe->port : "*"));
		json_object_object_add(x, "index", json_object_new_int((int)i));
		json_object_array_add(vips, x);
	}
	json_object_object_add(o, "vips", vips);
	for (i = 0; i < ctl->applied.nfarms; i++) {
		const struct tn_farm_cfg *f = &ctl->applied.farms[i];

		for (j = 0; j < f->nservers; j++) {
			struct srv_state *st = srv_find(ctl, f->type, f->farm_id, f->servers[j].server_id, false);
			struct tn_counter zero = {0};
			json_object *x;
			char text[64];

			tn_addr_format(&f->servers[j].address, text, sizeof(text));
			x = counter_json(st ? &st->cur : &zero, st ? st->pps : 0, st ? st->bps : 0);
			json_object_object_add(x, "type", json_object_new_string(tn_l4_type_name(f->type)));
			json_object_object_add(x, "farmId", json_object_new_int64(f->farm_id));
			json_object_object_add(x, "serverId", json_object_new_int64(f->servers[j].server_id));
			json_object_object_add(x, "address", json_object_new_string(text));
			json_object_array_add(servers, x);
		}
	}
	json_object_object_add(o, "servers", servers);
	return o;
}

char *tn_ctl_metrics(struct tn_ctl *ctl)
{
	struct tn_buf b = {0};
	size_t i, j;

	tn_buf_printf(&b, "# HELP tenace_packets_total Packets seen by the XDP program, by verdict reason.\n"
		      "# TYPE tenace_packets_total counter\n");
	for (i = 0; i < TN_R__COUNT; i++)
		tn_buf_printf(&b, "tenace_packets_total{reason=\"%s\"} %llu\n", tn_reason_name(i),
			  (unsigned long long)ctl->reasons[i].packets);
	tn_buf_printf(&b, "# HELP tenace_bytes_total Bytes seen by the XDP program, by verdict reason.\n"
		      "# TYPE tenace_bytes_total counter\n");
	for (i = 0; i < TN_R__COUNT; i++)
		tn_buf_printf(&b, "tenace_bytes_total{reason=\"%s\"} %llu\n", tn_reason_name(i),
			  (unsigned long long)ctl->reasons[i].bytes);
	tn_buf_printf(&b, "# HELP tenace_vip_packets_total Packets forwarded per VIP.\n"
		      "# TYPE tenace_vip_packets_total counter\n");
	for (i = 0; i < TN_MAX_VIPS; i++) {
		const struct vip_index *v = &ctl->vips[i];
		const struct tn_frontend_cfg *fe;
		char text[64];

		if (!v->used)
			continue;
		fe = frontend_of_vip(ctl, v);
		tn_addr_format(&v->addr, text, sizeof(text));
		tn_buf_printf(&b, "tenace_vip_packets_total{type=\"%s\",frontend=\"%u\",vip=\"%s\",port=\"%s\"} %llu\n",
			  tn_l4_type_name(v->type), v->frontend_id, text, fe && fe->port ? fe->port : "*",
			  (unsigned long long)v->cur.packets);
	}
	tn_buf_printf(&b, "# HELP tenace_server_packets_total Packets forwarded per server.\n"
		      "# TYPE tenace_server_packets_total counter\n");
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			tn_buf_printf(&b, "# HELP tenace_server_up 1 when the server takes traffic (resolved, healthy).\n"
				      "# TYPE tenace_server_up gauge\n");
		for (i = 0; i < ctl->applied.nfarms; i++) {
			const struct tn_farm_cfg *f = &ctl->applied.farms[i];

			for (j = 0; j < f->nservers; j++) {
				const struct tn_server_cfg *s = &f->servers[j];
				struct server_view v;
				char text[64];

				server_view(ctl, f, s, &v);
				tn_addr_format(&s->address, text, sizeof(text));
				if (pass == 0)
					tn_buf_printf(&b, "tenace_server_packets_total{type=\"%s\",farm=\"%u\",server=\"%u\",address=\"%s\"} %llu\n",
						  tn_l4_type_name(f->type), f->farm_id, s->server_id, text,
						  (unsigned long long)(v.st ? v.st->cur.packets : 0));
				else
					tn_buf_printf(&b, "tenace_server_up{type=\"%s\",farm=\"%u\",server=\"%u\",address=\"%s\"} %d\n",
						  tn_l4_type_name(f->type), f->farm_id, s->server_id, text, v.up ? 1 : 0);
			}
		}
	}
	tn_buf_printf(&b, "# HELP tenace_probe_transitions_total Server health changes seen by the probes.\n"
		      "# TYPE tenace_probe_transitions_total counter\n"
		      "tenace_probe_transitions_total %llu\n", (unsigned long long)ctl->probe_transitions);
	tn_buf_printf(&b, "# HELP tenace_pending_changes Staged changes waiting for a refresh.\n"
		      "# TYPE tenace_pending_changes gauge\n"
		      "tenace_pending_changes %d\n", tn_ctl_pending_count(ctl, NULL));
	return tn_buf_take(&b);
}

/* ---- the production backend ------------------------------------------------------ */

static int dp_farm_write(void *ctx, uint32_t slot, const struct tn_dp_farm *f, uint64_t *gen)
{
	return tn_dp_farm_write(ctx, slot, f, gen);
}

static int dp_farm_clear(void *ctx, uint32_t slot)
{
	return tn_dp_farm_clear(ctx, slot);
}

static int dp_farm_read(void *ctx, uint32_t slot, struct tn_farm_hdr *hdr, struct tn_server *servers)
{
	return tn_dp_farm_read(ctx, slot, hdr, servers, NULL);
}

static int dp_vips_replace(void *ctx, const struct tn_vip_key *keys, const struct tn_vip *vals, size_t n)
{
	return tn_dp_vips_replace(ctx, keys, vals, n);
}

static int dp_vips_dump(void *ctx, struct tn_vip_key **keys, struct tn_vip **vals, size_t *n)
{
	return tn_dp_vips_dump(ctx, keys, vals, n);
}

static int dp_filters_set(void *ctx, uint32_t idx, bool allow, const struct tn_dp_prefix *p, size_t n)
{
	return tn_dp_filters_set(ctx, idx, allow, p, n);
}

static int dp_tx_port_add(void *ctx, uint32_t ifindex)
{
	return tn_dp_tx_port_add(ctx, ifindex);
}

static int dp_resolve(void *ctx, const struct tn_addr *a, bool have_mac, bool trigger,
		      struct tn_neigh_info *out, char *err, size_t errlen)
{
	return tn_neigh_resolve(a, have_mac, trigger, out, err, errlen);
}

static int dp_reason_counters(void *ctx, struct tn_counter out[TN_R__COUNT])
{
	return tn_dp_reason_counters(ctx, out);
}

static int dp_vip_counter(void *ctx, uint32_t idx, struct tn_counter *out)
{
	return tn_dp_vip_counter(ctx, idx, out);
}

static int dp_server_counter(void *ctx, uint32_t farm_slot, uint32_t slot, struct tn_counter *out)
{
	return tn_dp_server_counter(ctx, farm_slot, slot, out);
}

void tn_ctl_backend_dp(struct tn_ctl_backend *be, struct tn_dp *dp)
{
	memset(be, 0, sizeof(*be));
	be->ctx = dp;
	be->farm_write = dp_farm_write;
	be->farm_clear = dp_farm_clear;
	be->farm_read = dp_farm_read;
	be->vips_replace = dp_vips_replace;
	be->vips_dump = dp_vips_dump;
	be->filters_set = dp_filters_set;
	be->tx_port_add = dp_tx_port_add;
	be->resolve = dp_resolve;
	be->reason_counters = dp_reason_counters;
	be->vip_counter = dp_vip_counter;
	be->server_counter = dp_server_counter;
	tn_ctl_backend_encap_dp(be);
}
