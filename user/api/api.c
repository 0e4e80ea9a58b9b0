/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <microhttpd.h>
#include "api/api.h"
#include "api/internal.h"
#include "lib/buf.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/num.h"

/* ---- responses ---------------------------------------------------------------- */

void reply(struct tn_api_response *r, int status, json_object *j)
{
	r->status = status;
	r->json = j;
}

void reply_error(struct tn_api_response *r, int status, const char *field, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "message", json_object_new_string(buf));
	json_object_object_add(o, "field", field ? json_object_new_string(field) : NULL);
	reply(r, status, o);
}

static void reply_errors(struct tn_api_response *r, int status, const struct tn_errors *e)
{
	json_object *o = json_object_new_object();
	char *msg = tn_errors_join(e);

	json_object_object_add(o, "message", json_object_new_string(msg ? msg : "invalid request"));
	json_object_object_add(o, "field", e->n ? json_object_new_string(e->v[0].path) : NULL);
	free(msg);
	reply(r, status, o);
}

void method_not_allowed(struct tn_api_response *r, const char *method, const char *allow)
{
	reply_error(r, 405, NULL, "method %s not allowed here (allowed: %s)", method, allow);
	r->allow = allow;
}

void tn_api_response_free(struct tn_api_response *r)
{
	if (r->json)
		json_object_put(r->json);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/* ---- request helpers ------------------------------------------------------------- */

/* Body as a JSON object (an empty body is {} when allow_empty). NULL: replied.
 * The configuration file's strict reader: what is accepted here loads again
 * after a restart. */
static json_object *parse_body(const char *body, size_t len, bool allow_empty, struct tn_api_response *r)
{
	char err[TN_ERROR_MESSAGE_MAX];
	json_object *o;
	size_t i;

	for (i = 0; i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'); i++)
		;
	if (i == len) {
		if (allow_empty)
			return json_object_new_object();
		reply_error(r, 400, "", "a JSON object is required in the request body");
		return NULL;
	}
	o = tn_json_parse(body, len, err, sizeof(err));
	if (!o) {
		reply_error(r, 400, "", "%s", err);
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		reply_error(r, 400, "", "the request body must be a JSON object");
		return NULL;
	}
	return o;
}

static bool parse_id(const char *s, uint32_t *out)
{
	return tn_parse_id(s, out) == 0;
}

/* Overlay every field of `patch` onto a copy of `base`. */
static json_object *overlay(json_object *base, json_object *patch)
{
	json_object *o = NULL;

	if (json_object_deep_copy(base, &o, NULL) != 0)
		return NULL;
	json_object_object_foreach(patch, k, v)
		json_object_object_add(o, k, v ? json_object_get(v) : NULL);
	return o;
}

/* The type named in the body must agree with the URL's. */
static bool check_type(json_object *body, enum tn_l4_type t, struct tn_api_response *r)
{
	json_object *v;

	if (!json_object_object_get_ex(body, "type", &v) || !v) {
		json_object_object_add(body, "type", json_object_new_string(tn_l4_type_name(t)));
		return true;
	}
	if (json_object_is_type(v, json_type_string) && !strcmp(json_object_get_string(v), tn_l4_type_name(t)))
		return true;
	reply_error(r, 400, "type", "must be \"%s\" on this path (or absent)", tn_l4_type_name(t));
	return false;
}

/* An id field given in a body must match the URL's. */
static bool check_id(json_object *body, const char *key, uint32_t id, struct tn_api_response *r)
{
	json_object *v;

	if (!json_object_object_get_ex(body, key, &v) || !v)
		return true;
	if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) == (int64_t)id)
		return true;
	reply_error(r, 400, key, "must be %u (the id in the path) or absent", id);
	return false;
}

/* The result of a tn_*_from_json() on a body's document (consumed): true, or
 * false once the errors have been replied (400). */
static bool parsed(int err, json_object *doc, struct tn_errors *errs, struct tn_api_response *r)
{
	json_object_put(doc);
	if (!err)
		return true;
	reply_errors(r, 400, errs);
	tn_errors_free(errs);
	return false;
}

/* A POST body whose "type" must agree with the URL's; NULL once replied. */
static json_object *typed_body(const char *body, size_t len, enum tn_l4_type t, struct tn_api_response *r)
{
	json_object *b = parse_body(body, len, false, r);

	if (b && !check_type(b, t, r)) {
		json_object_put(b);
		return NULL;
	}
	return b;
}

/* PUT: the body overlays the object's current JSON `cur` (consumed), so
 * absent fields keep their value. t < 0: the object has no "type". Returns
 * the merged document, or NULL once an error has been replied. */
static json_object *put_merged(const char *body, size_t len, json_object *cur, int t,
			       const char *id_key, uint32_t id, struct tn_api_response *r)
{
	json_object *b, *merged = NULL;

	if (!cur) {
		reply_error(r, 500, NULL, "out of memory");
		return NULL;
	}
	b = parse_body(body, len, false, r);
	if (b && (t < 0 || check_type(b, (enum tn_l4_type)t, r)) && check_id(b, id_key, id, r)) {
		merged = overlay(cur, b);
		if (!merged)
			reply_error(r, 500, NULL, "out of memory");
	}
	json_object_put(b);
	json_object_put(cur);
	return merged;
}

/* Stage the candidate (validated), replying 400 on error. Frees it. */
static bool stage(struct tn_ctl *ctl, struct tn_config *cand, struct tn_api_response *r)
{
	struct tn_errors errs = {0};
	int err = tn_ctl_stage(ctl, cand, &errs);

	if (err) {
		reply_errors(r, err == -EIO ? 500 : 400, &errs);
		tn_errors_free(&errs);
		tn_config_free(cand);
		return false;
	}
	tn_config_free(cand);
	return true;
}

/* ---- conflicts ---------------------------------------------------------------- */

/* Another frontend (disabled or not) on one of fe's VIPs and ports: reply
 * 409. The same rule as the config's (tn_ports_overlap), so that a conflict
 * is never left to stage()'s 400. */
static bool frontend_conflict(const struct tn_config *c, const struct tn_frontend_cfg *fe,
			      struct tn_api_response *r)
{
	for (size_t i = 0; i < c->nfrontends; i++) {
		const struct tn_frontend_cfg *o = &c->frontends[i];
		long pt;

		if (o->type != fe->type || o->frontend_id == fe->frontend_id || (pt = tn_ports_overlap(o, fe)) < 0)
			continue;
		for (size_t a = 0; a < fe->nvips; a++) {
			for (size_t b = 0; b < o->nvips; b++) {
				char text[64], port[24];

				if (fe->vips[a].family != o->vips[b].family ||
				    memcmp(fe->vips[a].bytes, o->vips[b].bytes, 16))
					continue;
				tn_addr_format(&fe->vips[a], text, sizeof(text));
				if (pt)
					snprintf(port, sizeof(port), "port %ld", pt);
				else
					snprintf(port, sizeof(port), "every port");
				reply_error(r, 409, "vip", "%s frontend %u%s already takes %s %s",
					    tn_l4_type_name(o->type), o->frontend_id,
					    o->disabled ? " (disabled)" : "", text, port);
				return true;
			}
		}
	}
	return false;
}

/* ---- routes ------------------------------------------------------------------- */

static void farms_route(struct tn_ctl *ctl, const char *method, enum tn_l4_type t, char **seg, int nseg,
			const char *body, size_t len, struct tn_api_response *r)
{
	const struct tn_config *st = tn_ctl_staged(ctl);
	struct tn_config cand = {0};
	struct tn_errors errs = {0};
	struct tn_farm_cfg nf = {0}, *f;
	uint32_t farm_id, server_id;
	json_object *b, *merged;

	if (nseg == 0) { /* /v1/{t}/farm */
		if (!strcmp(method, "GET")) {
			json_object *arr = json_object_new_array();

			for (size_t i = 0; i < st->nfarms; i++)
				if (st->farms[i].type == t)
					json_object_array_add(arr, tn_farm_to_json(&st->farms[i]));
			return reply(r, 200, arr);
		}
		if (strcmp(method, "POST"))
			return method_not_allowed(r, method, "GET, POST");
		if (!(b = typed_body(body, len, t, r)))
			return;
		if (!parsed(tn_farm_from_json(b, "", &nf, &errs), b, &errs, r))
			return;
		nf.type = t;
		if (!nf.farm_id)
			nf.farm_id = tn_ctl_next_farm_id(st, t);
		else if (tn_config_farm(st, t, nf.farm_id)) {
			reply_error(r, 409, "farmId", "%s farm %u already exists", tn_l4_type_name(t), nf.farm_id);
			tn_farm_free(&nf);
			return;
		}
		for (size_t i = 0; i < nf.nservers; i++)
			if (!nf.servers[i].server_id)
				nf.servers[i].server_id = tn_ctl_next_server_id(&nf);
		farm_id = nf.farm_id;
		if (tn_config_copy(&cand, st) || tn_config_add_farm(&cand, &nf)) {
			tn_farm_free(&nf);
			tn_config_free(&cand);
			return reply_error(r, 500, NULL, "out of memory");
		}
		if (!stage(ctl, &cand, r))
			return;
		return reply(r, 201, tn_farm_to_json(tn_config_farm(tn_ctl_staged(ctl), t, farm_id)));
	}

	if (!parse_id(seg[0], &farm_id) || !(f = tn_config_farm(st, t, farm_id)))
		return reply_error(r, 404, NULL, "no %s farm %s", tn_l4_type_name(t), seg[0]);

	if (nseg == 1) { /* /v1/{t}/farm/{id} */
		if (!strcmp(method, "GET"))
			return reply(r, 200, tn_farm_to_json(f));
		if (!strcmp(method, "PUT")) {
			if (!(merged = put_merged(body, len, tn_farm_to_json(f), t, "farmId", farm_id, r)))
				return;
			if (!parsed(tn_farm_from_json(merged, "", &nf, &errs), merged, &errs, r))
				return;
			nf.type = t;
			nf.farm_id = farm_id;
			for (size_t i = 0; i < nf.nservers; i++)
				if (!nf.servers[i].server_id)
					nf.servers[i].server_id = tn_ctl_next_server_id(&nf);
			if (tn_config_copy(&cand, st)) {
				tn_farm_free(&nf);
				return reply_error(r, 500, NULL, "out of memory");
			}
			f = tn_config_farm(&cand, t, farm_id);
			tn_farm_free(f);
			*f = nf;
			if (!stage(ctl, &cand, r))
				return;
			return reply(r, 200, tn_farm_to_json(tn_config_farm(tn_ctl_staged(ctl), t, farm_id)));
		}
		if (!strcmp(method, "DELETE")) {
			json_object *gone;
			size_t i;

			for (i = 0; i < st->nfrontends; i++)
				if (st->frontends[i].type == t && st->frontends[i].default_farm_id == farm_id)
					return reply_error(r, 409, "farmId", "%s farm %u is used by frontend %u: change or delete the frontend first",
							   tn_l4_type_name(t), farm_id, st->frontends[i].frontend_id);
			gone = tn_farm_to_json(f);
			if (tn_config_copy(&cand, st)) {
				json_object_put(gone);
				return reply_error(r, 500, NULL, "out of memory");
			}
			for (i = 0; i < cand.nfarms; i++)
				if (cand.farms[i].type == t && cand.farms[i].farm_id == farm_id)
					break;
			tn_farm_free(&cand.farms[i]);
			memmove(&cand.farms[i], &cand.farms[i + 1], (cand.nfarms - i - 1) * sizeof(cand.farms[0]));
			cand.nfarms--;
			if (!stage(ctl, &cand, r)) {
				json_object_put(gone);
				return;
			}
			return reply(r, 200, gone);
		}
		return method_not_allowed(r, method, "GET, PUT, DELETE");
	}

	if (strcmp(seg[1], "server") || nseg > 3)
		return reply_error(r, 404, NULL, "no such resource");

	if (nseg == 2) { /* /v1/{t}/farm/{id}/server */
		struct tn_server_cfg ns = {0};

		if (!strcmp(method, "GET")) {
			json_object *arr = json_object_new_array();

			for (size_t i = 0; i < f->nservers; i++)
				json_object_array_add(arr, tn_server_to_json(&f->servers[i]));
			return reply(r, 200, arr);
		}
		if (strcmp(method, "POST"))
			return method_not_allowed(r, method, "GET, POST");
		if (!(b = parse_body(body, len, false, r)))
			return;
		if (!parsed(tn_server_from_json(b, "", &ns, &errs), b, &errs, r))
			return;
		if (!ns.server_id)
			ns.server_id = tn_ctl_next_server_id(f);
		else if (tn_farm_server(f, ns.server_id)) {
			reply_error(r, 409, "serverId", "server %u already exists in %s farm %u", ns.server_id,
				    tn_l4_type_name(t), farm_id);
			tn_server_free(&ns);
			return;
		}
		server_id = ns.server_id;
		if (tn_config_copy(&cand, st) || tn_farm_add_server(tn_config_farm(&cand, t, farm_id), &ns)) {
			tn_server_free(&ns);
			tn_config_free(&cand);
			return reply_error(r, 500, NULL, "out of memory");
		}
		if (!stage(ctl, &cand, r))
			return;
		f = tn_config_farm(tn_ctl_staged(ctl), t, farm_id);
		return reply(r, 201, tn_server_to_json(tn_farm_server(f, server_id)));
	}

	/* /v1/{t}/farm/{id}/server/{sid} */
	{
		struct tn_server_cfg *s, ns = {0};
		struct tn_farm_cfg *cf;
		size_t i;

		if (!parse_id(seg[2], &server_id) || !(s = tn_farm_server(f, server_id)))
			return reply_error(r, 404, NULL, "no server %s in %s farm %u", seg[2], tn_l4_type_name(t), farm_id);
		if (!strcmp(method, "GET"))
			return reply(r, 200, tn_server_to_json(s));
		if (!strcmp(method, "PUT")) {
			if (!(merged = put_merged(body, len, tn_server_to_json(s), -1, "serverId", server_id, r)))
				return;
			if (!parsed(tn_server_from_json(merged, "", &ns, &errs), merged, &errs, r))
				return;
			ns.server_id = server_id;
			if (tn_config_copy(&cand, st)) {
				tn_server_free(&ns);
				return reply_error(r, 500, NULL, "out of memory");
			}
			s = tn_farm_server(tn_config_farm(&cand, t, farm_id), server_id);
			tn_server_free(s);
			*s = ns;
			if (!stage(ctl, &cand, r))
				return;
			f = tn_config_farm(tn_ctl_staged(ctl), t, farm_id);
			return reply(r, 200, tn_server_to_json(tn_farm_server(f, server_id)));
		}
		if (!strcmp(method, "DELETE")) {
			json_object *gone = tn_server_to_json(s);

			if (tn_config_copy(&cand, st)) {
				json_object_put(gone);
				return reply_error(r, 500, NULL, "out of memory");
			}
			cf = tn_config_farm(&cand, t, farm_id);
			for (i = 0; i < cf->nservers; i++)
				if (cf->servers[i].server_id == server_id)
					break;
			tn_server_free(&cf->servers[i]);
			memmove(&cf->servers[i], &cf->servers[i + 1], (cf->nservers - i - 1) * sizeof(cf->servers[0]));
			cf->nservers--;
			if (!stage(ctl, &cand, r)) {
				json_object_put(gone);
				return;
			}
			return reply(r, 200, gone);
		}
		return method_not_allowed(r, method, "GET, PUT, DELETE");
	}
}

static void frontends_route(struct tn_ctl *ctl, const char *method, enum tn_l4_type t, char **seg, int nseg,
			    const char *body, size_t len, struct tn_api_response *r)
{
	const struct tn_config *st = tn_ctl_staged(ctl);
	struct tn_config cand = {0};
	struct tn_errors errs = {0};
	struct tn_frontend_cfg nf = {0}, *fe;
	uint32_t id;
	json_object *b, *merged;

	if (nseg == 0) {
		if (!strcmp(method, "GET")) {
			json_object *arr = json_object_new_array();

			for (size_t i = 0; i < st->nfrontends; i++)
				if (st->frontends[i].type == t)
					json_object_array_add(arr, tn_frontend_to_json(&st->frontends[i]));
			return reply(r, 200, arr);
		}
		if (strcmp(method, "POST"))
			return method_not_allowed(r, method, "GET, POST");
		if (!(b = typed_body(body, len, t, r)))
			return;
		if (!parsed(tn_frontend_from_json(b, "", &nf, &errs), b, &errs, r))
			return;
		nf.type = t;
		if (!nf.frontend_id)
			nf.frontend_id = tn_ctl_next_frontend_id(st, t);
		else if (tn_config_frontend(st, t, nf.frontend_id)) {
			reply_error(r, 409, "frontendId", "%s frontend %u already exists", tn_l4_type_name(t), nf.frontend_id);
			tn_frontend_free(&nf);
			return;
		}
		if (frontend_conflict(st, &nf, r)) {
			tn_frontend_free(&nf);
			return;
		}
		id = nf.frontend_id;
		if (tn_config_copy(&cand, st) || tn_config_add_frontend(&cand, &nf)) {
			tn_frontend_free(&nf);
			tn_config_free(&cand);
			return reply_error(r, 500, NULL, "out of memory");
		}
		if (!stage(ctl, &cand, r))
			return;
		return reply(r, 201, tn_frontend_to_json(tn_config_frontend(tn_ctl_staged(ctl), t, id)));
	}
	if (nseg > 1)
		return reply_error(r, 404, NULL, "no such resource");
	if (!parse_id(seg[0], &id) || !(fe = tn_config_frontend(st, t, id)))
		return reply_error(r, 404, NULL, "no %s frontend %s", tn_l4_type_name(t), seg[0]);
	if (!strcmp(method, "GET"))
		return reply(r, 200, tn_frontend_to_json(fe));
	if (!strcmp(method, "PUT")) {
		if (!(merged = put_merged(body, len, tn_frontend_to_json(fe), t, "frontendId", id, r)))
			return;
		if (!parsed(tn_frontend_from_json(merged, "", &nf, &errs), merged, &errs, r))
			return;
		nf.type = t;
		nf.frontend_id = id;
		if (frontend_conflict(st, &nf, r)) {
			tn_frontend_free(&nf);
			return;
		}
		if (tn_config_copy(&cand, st)) {
			tn_frontend_free(&nf);
			return reply_error(r, 500, NULL, "out of memory");
		}
		fe = tn_config_frontend(&cand, t, id);
		tn_frontend_free(fe);
		*fe = nf;
		if (!stage(ctl, &cand, r))
			return;
		return reply(r, 200, tn_frontend_to_json(tn_config_frontend(tn_ctl_staged(ctl), t, id)));
	}
	if (!strcmp(method, "DELETE")) {
		json_object *gone = tn_frontend_to_json(fe);
		size_t i;

		if (tn_config_copy(&cand, st)) {
			json_object_put(gone);
			return reply_error(r, 500, NULL, "out of memory");
		}
		for (i = 0; i < cand.nfrontends; i++)
			if (cand.frontends[i].type == t && cand.frontends[i].frontend_id == id)
				break;
		tn_frontend_free(&cand.frontends[i]);
		memmove(&cand.frontends[i], &cand.frontends[i + 1], (cand.nfrontends - i - 1) * sizeof(cand.frontends[0]));
		cand.nfrontends--;
		if (!stage(ctl, &cand, r)) {
			json_object_put(gone);
			return;
		}
		return reply(r, 200, gone);
	}
	method_not_allowed(r, method, "GET, PUT, DELETE");
}

static void refresh_route(struct tn_ctl *ctl, const char *method, const char *body, size_t len,
			  struct tn_api_response *r)
{
	json_object *b, *z = NULL;
	const char *zone = NULL;
	uint32_t id;
	int err;

	if (strcmp(method, "POST"))
		return method_not_allowed(r, method, "POST");
	if (!(b = parse_body(body, len, true, r)))
		return;
	json_object_object_foreach(b, k, v) {
		(void)v;
		if (strcmp(k, "zone")) {
			reply_error(r, 400, k, "unknown field (expected: zone)");
			json_object_put(b);
			return;
		}
	}
	if (json_object_object_get_ex(b, "zone", &z) && z) {
		if (!json_object_is_type(z, json_type_string)) {
			json_object_put(b);
			return reply_error(r, 400, "zone", "must be a string");
		}
		zone = json_object_get_string(z);
	}
	err = tn_ctl_refresh(ctl, zone, &id);
	if (err == -ENOENT)
		reply_error(r, 400, "zone", "unknown zone \"%s\": this node serves zone %s", zone,
			    tn_ctl_staged(ctl)->zone ? tn_ctl_staged(ctl)->zone : "default");
	else if (err == -EBUSY)
		reply_error(r, 409, NULL, "too many refresh tasks queued: wait for them (GET /v1/task/{id})");
	else if (err)
		reply_error(r, 500, NULL, "cannot create the task: %s", strerror(-err));
	else
		reply(r, 200, tn_ctl_task_json(ctl, id));
	json_object_put(b);
}

#define MAX_SEG 8

static void dispatch_locked(struct tn_ctl *ctl, const char *method, const char *url,
			    const char *body, size_t len, struct tn_api_response *r)
{
	char path[512], *seg[MAX_SEG], *save = NULL, *tok;
	int nseg = 0;
	enum tn_l4_type t;

	if (strlen(url) >= sizeof(path))
		return reply_error(r, 404, NULL, "no such resource");
	snprintf(path, sizeof(path), "%s", url);
	if ((tok = strchr(path, '?')))
		*tok = 0;
	for (tok = strtok_r(path, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (nseg == MAX_SEG)
			return reply_error(r, 404, NULL, "no such resource");
		seg[nseg++] = tok;
	}
	if (nseg == 1 && !strcmp(seg[0], "metrics")) {
		if (strcmp(method, "GET"))
			return method_not_allowed(r, method, "GET");
		r->status = 200;
		r->text = tn_ctl_metrics(ctl);
		if (!r->text)
			reply_error(r, 500, NULL, "out of memory");
		return;
	}
	if (nseg < 2 || strcmp(seg[0], "v1"))
		return reply_error(r, 404, NULL, "no such resource: %s", url);
	if (nseg == 2) {
		const char *n = seg[1];

		if (!strcmp(n, "pendingChanges") || !strcmp(n, "config") || !strcmp(n, "status") || !strcmp(n, "stats")) {
			if (strcmp(method, "GET"))
				return method_not_allowed(r, method, "GET");
			if (!strcmp(n, "pendingChanges"))
				return reply(r, 200, tn_ctl_pending_json(ctl));
			if (!strcmp(n, "config"))
				return reply(r, 200, tn_config_to_json(tn_ctl_staged(ctl)));
			if (!strcmp(n, "status"))
				return reply(r, 200, tn_ctl_status_json(ctl));
			return reply(r, 200, tn_ctl_stats_json(ctl));
		}
		if (!strcmp(n, "refresh"))
			return refresh_route(ctl, method, body, len, r);
	}
	if (nseg == 3 && !strcmp(seg[1], "task")) {
		uint32_t id;
		json_object *o;

		if (strcmp(method, "GET"))
			return method_not_allowed(r, method, "GET");
		if (!parse_id(seg[2], &id) || !(o = tn_ctl_task_json(ctl, id)))
			return reply_error(r, 404, NULL, "no task %s", seg[2]);
		return reply(r, 200, o);
	}
	if (node_route(ctl, method, seg, nseg, r))
		return;
	if (nseg >= 3 && (!strcmp(seg[1], "tcp") || !strcmp(seg[1], "udp"))) {
		t = !strcmp(seg[1], "udp") ? TN_L4_UDP : TN_L4_TCP;
		if (!strcmp(seg[2], "farm"))
			return farms_route(ctl, method, t, seg + 3, nseg - 3, body, len, r);
		if (!strcmp(seg[2], "frontend"))
			return frontends_route(ctl, method, t, seg + 3, nseg - 3, body, len, r);
	}
	reply_error(r, 404, NULL, "no such resource: %s", url);
}

void tn_api_dispatch(struct tn_ctl *ctl, const char *method, const char *url,
		     const char *body, size_t len, struct tn_api_response *r)
{
	memset(r, 0, sizeof(*r));
	tn_ctl_lock(ctl);
	dispatch_locked(ctl, method, url, body ? body : "", body ? len : 0, r);
	tn_ctl_unlock(ctl);
	if (!r->status)
		reply_error(r, 500, NULL, "internal error");
}

/* ---- HTTP transport ---------------------------------------------------------------- */

struct tn_api {
	struct tn_ctl *ctl;
	struct MHD_Daemon *unix_d, *tcp_d;
	char *socket_path;
	char *token;
};

struct conn {
	struct tn_buf body;
	bool too_big;
	bool refused;
};

/* Constant-time comparison of the bearer token. */
static bool token_ok(const char *header, const char *token)
{
	const char *p = "Bearer ";
	size_t lh, lt, i;
	unsigned char d = 0;

	if (!header || strncmp(header, p, strlen(p)))
		return false;
	header += strlen(p);
	lh = strlen(header);
	lt = strlen(token);
	d = lh != lt;
	for (i = 0; i < lt; i++)
		d |= (unsigned char)token[i] ^ (unsigned char)(i < lh ? header[i] : 0);
	return d == 0;
}

static enum MHD_Result send_response(struct MHD_Connection *c, struct tn_api_response *r)
{
	struct MHD_Response *resp;
	const char *text;
	enum MHD_Result ret;
	char *copy = NULL;
	size_t len;

	if (r->text) {
		text = r->text;
	} else if (r->json) {
		text = json_object_to_json_string_ext(r->json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	} else {
		text = "";
	}
	len = strlen(text);
	copy = malloc(len + 2);
	if (!copy)
		return MHD_NO;
	memcpy(copy, text, len);
	if (!r->text && r->json)
		copy[len++] = '\n';
	resp = MHD_create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(copy);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", r->text ? "text/plain; version=0.0.4" : "application/json");
	if (r->allow)
		MHD_add_response_header(resp, "Allow", r->allow);
	if (r->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	ret = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result simple_error(struct MHD_Connection *c, int status, const char *msg)
{
	struct tn_api_response r = {0};
	enum MHD_Result ret;

	reply_error(&r, status, NULL, "%s", msg);
	ret = send_response(c, &r);
	tn_api_response_free(&r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct tn_api *api = cls;
	struct conn *cn = *con_cls;
	struct tn_api_response r;
	enum MHD_Result ret;

	if (!cn) {
		const char *cl;

		cn = calloc(1, sizeof(*cn));
		if (!cn)
			return MHD_NO;
		*con_cls = cn;
		if (api->token && MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON)->daemon == api->tcp_d &&
		    !token_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"), api->token)) {
			cn->refused = true;
			return simple_error(c, 401, "missing or wrong bearer token (Authorization: Bearer <token>)");
		}
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > TN_API_MAX_BODY) {
			cn->refused = true;
			return simple_error(c, 413, "request body larger than 1 MiB");
		}
		return MHD_YES;
	}
	if (cn->refused) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		if (cn->too_big || cn->body.len + n > TN_API_MAX_BODY)
			cn->too_big = true;
		else if (tn_buf_append(&cn->body, upload_data, n))
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (cn->too_big)
		return simple_error(c, 413, "request body larger than 1 MiB");
	tn_api_dispatch(api->ctl, method, url, cn->body.s, cn->body.len, &r);
	ret = send_response(c, &r);
	tn_api_response_free(&r);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	if (cn) {
		tn_buf_free(&cn->body);
		free(cn);
		*con_cls = NULL;
	}
}

static int unix_listener(const char *path)
{
	mode_t old_mask;
	int rc;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, probe, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		tn_err("socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if ((err = tn_mkdir_parent(path, 0755))) {
		tn_err("cannot create the directory of the socket %s: %s", path, strerror(-err));
		return err;
	}
	/* a live socket means another controller: refuse; a stale one is removed */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			tn_err("another controller is listening on %s", path);
			return -EADDRINUSE;
		}
		close(probe);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* bind creates the socket file: under umask 077 it is never wider than 0600
	 * (umask is process-wide, but meanwhile only tighter files can appear) */
	old_mask = umask(077);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 256) < 0) {
		int e = errno;

		tn_err("cannot listen on %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

static int tcp_listener(const char *spec)
{
	struct sockaddr_storage ss;
	struct tn_addr addr;
	uint16_t port;
	socklen_t sl;
	int fd, one = 1;

	if (tn_hostport_parse(spec, &addr, &port)) {
		tn_err("--listen %s: expected ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)", spec);
		return -EINVAL;
	}
	sl = tn_sockaddr(&addr, port, &ss);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 256) < 0) {
		int e = errno;

		tn_err("cannot listen on %s: %s", spec, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

static struct MHD_Daemon *start_daemon(struct tn_api *api, int fd)
{
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
				0, NULL, NULL, handler, api,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)512,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
				MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				MHD_OPTION_END);
}

int tn_api_start(struct tn_api **out, struct tn_ctl *ctl, const struct tn_api_options *o)
{
	struct tn_api *api = calloc(1, sizeof(*api));
	const char *path = o->socket_path ? o->socket_path : TN_SOCKET_DEFAULT;
	int fd, err;

	if (!api)
		return -ENOMEM;
	api->ctl = ctl;
	if (o->listen && (!o->token || !*o->token)) {
		tn_err("--listen needs --token-file with a non-empty token");
		free(api);
		return -EINVAL;
	}
	api->socket_path = strdup(path);
	api->token = o->token ? strdup(o->token) : NULL;
	fd = unix_listener(path);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	api->unix_d = start_daemon(api, fd);
	if (!api->unix_d) {
		close(fd);
		tn_err("cannot start the HTTP server on %s", path);
		err = -EIO;
		goto fail;
	}
	if (o->listen) {
		fd = tcp_listener(o->listen);
		if (fd < 0) {
			err = fd;
			goto fail;
		}
		api->tcp_d = start_daemon(api, fd);
		if (!api->tcp_d) {
			close(fd);
			tn_err("cannot start the HTTP server on %s", o->listen);
			err = -EIO;
			goto fail;
		}
		tn_info("API listening on %s (bearer token required)", o->listen);
	}
	tn_info("API listening on %s", path);
	*out = api;
	return 0;
fail:
	tn_api_stop(api);
	return err;
}

static void stop_daemon(struct MHD_Daemon *d)
{
	int fd;

	if (!d)
		return;
	fd = MHD_quiesce_daemon(d);
	MHD_stop_daemon(d);
	if (fd >= 0)
		close(fd);
}

void tn_api_stop(struct tn_api *api)
{
	if (!api)
		return;
	stop_daemon(api->tcp_d);
	if (api->unix_d) {
		stop_daemon(api->unix_d);
		unlink(api->socket_path);
	}
	free(api->socket_path);
	if (api->token) {
		explicit_bzero(api->token, strlen(api->token));
		free(api->token);
	}
	free(api);
}

char *tn_read_token_file(const char *path)
{
	char buf[1024], *s, *e;
	FILE *f = fopen(path, "r");

	if (!f) {
		tn_err("cannot read the token file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (s = buf; *s == ' ' || *s == '\t'; s++)
		;
	for (e = s + strlen(s); e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = 0;
	if (!*s) {
		tn_err("the token file %s is empty", path);
		explicit_bzero(buf, sizeof(buf));
		return NULL;
	}
	s = strdup(s);
	explicit_bzero(buf, sizeof(buf));
	return s;
}
