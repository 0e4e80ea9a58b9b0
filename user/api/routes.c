/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The route table and the dispatcher. A route is a path pattern, the
 * methods it takes and their handlers. Pattern segments: literals, {type}
 * (tcp or udp), {farm} {server} {frontend} (ids of objects of the staged
 * configuration: a missing one is 404, before any 405), {task} (given to the
 * handler as is). The dispatcher takes the lock the method's access names
 * (api/internal.h) around the lookups and the handler.
 */
#include <stdio.h>
#include <string.h>
#include "api/internal.h"

enum access { READ, STAGE, OWN };

struct method {
	const char *name;
	enum access access;
	api_handler fn;
};

struct route {
	const char *pattern;
	const char *allow;       /* the Allow header of a 405 */
	struct method methods[3];
};

static const struct route routes[] = {
	{ "/metrics", "GET", { { "GET", READ, metrics_get } } },
	{ "/v1/pendingChanges", "GET", { { "GET", OWN, pending_get } } },
	{ "/v1/config", "GET", { { "GET", READ, config_get } } },
	{ "/v1/status", "GET", { { "GET", OWN, status_get } } },
	{ "/v1/stats", "GET", { { "GET", READ, stats_get } } },
	{ "/v1/refresh", "POST", { { "POST", OWN, refresh_post } } },
	{ "/v1/task/{task}", "GET", { { "GET", READ, task_get } } },
	{ "/v1/tasks", "GET", { { "GET", READ, tasks_get } } },
	{ "/v1/transitions", "GET", { { "GET", READ, transitions_get } } },
	{ "/v1/node", "GET", { { "GET", OWN, node_get } } },
	{ "/v1/node/drain", "POST", { { "POST", OWN, node_drain } } },
	{ "/v1/node/resume", "POST", { { "POST", OWN, node_resume } } },
	{ "/v1/{type}/farm/{farm}/table", "GET", { { "GET", READ, table_get } } },
	{ "/v1/{type}/farm", "GET, POST",
	  { { "GET", READ, farm_list }, { "POST", STAGE, farm_create } } },
	{ "/v1/{type}/farm/{farm}", "GET, PUT, DELETE",
	  { { "GET", READ, farm_get }, { "PUT", STAGE, farm_replace }, { "DELETE", STAGE, farm_delete } } },
	{ "/v1/{type}/farm/{farm}/server", "GET, POST",
	  { { "GET", READ, server_list }, { "POST", STAGE, server_create } } },
	{ "/v1/{type}/farm/{farm}/server/{server}", "GET, PUT, DELETE",
	  { { "GET", READ, server_get }, { "PUT", STAGE, server_replace }, { "DELETE", STAGE, server_delete } } },
	{ "/v1/{type}/frontend", "GET, POST",
	  { { "GET", READ, frontend_list }, { "POST", STAGE, frontend_create } } },
	{ "/v1/{type}/frontend/{frontend}", "GET, PUT, DELETE",
	  { { "GET", READ, frontend_get }, { "PUT", STAGE, frontend_replace }, { "DELETE", STAGE, frontend_delete } } },
};

#define MAX_SEG 8

struct path {
	char buf[512];
	char *seg[MAX_SEG];
	int n;
};

/* The URL's path (query string dropped) in segments; empty ones are skipped. */
static int split(const char *url, struct path *p)
{
	char *save = NULL, *tok;

	if (strlen(url) >= sizeof(p->buf))
		return -1;
	snprintf(p->buf, sizeof(p->buf), "%s", url);
	if ((tok = strchr(p->buf, '?')))
		*tok = 0;
	p->n = 0;
	for (tok = strtok_r(p->buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (p->n == MAX_SEG)
			return -1;
		p->seg[p->n++] = tok;
	}
	return 0;
}

/* The path's segments bound to the pattern's {farm}, {server}, {frontend}. */
struct captures {
	const char *farm, *server, *frontend;
};

static bool bind_segment(const char *name, size_t len, const char *seg, struct api_req *q, struct captures *c)
{
#define IS(s) (len == sizeof(s) - 1 && !memcmp(name, s, len))
	if (IS("{type}")) {
		if (strcmp(seg, "tcp") && strcmp(seg, "udp"))
			return false;
		q->type = !strcmp(seg, "udp") ? TN_L4_UDP : TN_L4_TCP;
	} else if (IS("{farm}")) {
		c->farm = seg;
	} else if (IS("{server}")) {
		c->server = seg;
	} else if (IS("{frontend}")) {
		c->frontend = seg;
	} else if (IS("{task}")) {
		q->task = seg;
	} else {
		return strlen(seg) == len && !memcmp(name, seg, len);
	}
	return true;
#undef IS
}

static bool match(const char *pattern, const struct path *p, struct api_req *q, struct captures *c)
{
	const char *s = pattern;
	int i = 0;

	memset(c, 0, sizeof(*c));
	while (*s == '/') {
		const char *name = ++s;
		size_t len = strcspn(name, "/");

		if (i == p->n || !bind_segment(name, len, p->seg[i++], q, c))
			return false;
		s = name + len;
	}
	return i == p->n;
}

/* The objects the path names, in the staged configuration; false once replied (404). */
static bool lookup(struct api_req *q, const struct captures *c, struct tn_api_response *r)
{
	const struct tn_config *st;
	const char *t = tn_l4_type_name(q->type);

	if (!c->farm && !c->frontend)
		return true;
	st = tn_ctl_staged(q->ctl);
	if (c->farm && (!parse_id(c->farm, &q->farm_id) || !(q->farm = tn_config_farm(st, q->type, q->farm_id)))) {
		reply_error(r, 404, NULL, "no %s farm %s", t, c->farm);
		return false;
	}
	if (c->server && (!parse_id(c->server, &q->server_id) || !(q->server = tn_farm_server(q->farm, q->server_id)))) {
		reply_error(r, 404, NULL, "no server %s in %s farm %u", c->server, t, q->farm_id);
		return false;
	}
	if (c->frontend && (!parse_id(c->frontend, &q->frontend_id) ||
			    !(q->frontend = tn_config_frontend(st, q->type, q->frontend_id)))) {
		reply_error(r, 404, NULL, "no %s frontend %s", t, c->frontend);
		return false;
	}
	return true;
}

static void run(const struct route *rt, struct api_req *q, const struct captures *c, struct tn_api_response *r)
{
	const struct method *m = NULL;
	enum access access;

	for (size_t i = 0; i < sizeof(rt->methods) / sizeof(rt->methods[0]) && rt->methods[i].name; i++)
		if (!strcmp(rt->methods[i].name, q->method))
			m = &rt->methods[i];
	access = m ? m->access : READ; /* a 405 names a missing object first (404) */
	if (access == STAGE)
		tn_ctl_stage_lock(q->ctl);
	else if (access == READ)
		tn_ctl_lock(q->ctl);
	if (lookup(q, c, r)) {
		if (m)
			m->fn(q, r);
		else
			method_not_allowed(r, q->method, rt->allow);
	}
	if (access == STAGE)
		tn_ctl_stage_unlock(q->ctl);
	else if (access == READ)
		tn_ctl_unlock(q->ctl);
}

void tn_api_dispatch(struct tn_ctl *ctl, const char *method, const char *url,
		     const char *body, size_t len, struct tn_api_response *r)
{
	struct api_req q = { .ctl = ctl, .method = method, .url = url, .body = body ? body : "",
			     .len = body ? len : 0 };
	const struct route *rt = NULL;
	struct captures c;
	struct path p;

	memset(r, 0, sizeof(*r));
	if (split(url, &p)) {
		reply_error(r, 404, NULL, "no such resource");
		return;
	}
	for (size_t i = 0; !rt && i < sizeof(routes) / sizeof(routes[0]); i++)
		if (match(routes[i].pattern, &p, &q, &c))
			rt = &routes[i];
	if (!rt) {
		reply_error(r, 404, NULL, "no such resource: %s", url);
		return;
	}
	run(rt, &q, &c, r);
	if (!r->status)
		reply_error(r, 500, NULL, "internal error");
}
