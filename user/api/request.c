/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Replies, request bodies (the strict JSON reader), PUT overlays, staging. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/internal.h"
#include "lib/json.h"
#include "lib/num.h"

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

void reply_errors(struct tn_api_response *r, int status, const struct tn_errors *e)
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

void reply_oom(struct tn_api_response *r)
{
	reply_error(r, 500, NULL, "out of memory");
}

void tn_api_response_free(struct tn_api_response *r)
{
	if (r->json)
		json_object_put(r->json);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/* The configuration file's strict reader: what is accepted here loads
 * again after a restart. */
json_object *parse_body(const char *body, size_t len, bool allow_empty, struct tn_api_response *r)
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

bool parse_id(const char *s, uint32_t *out)
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

json_object *typed_body(struct api_req *q, struct tn_api_response *r)
{
	json_object *b = parse_body(q->body, q->len, false, r);

	if (b && !check_type(b, q->type, r)) {
		json_object_put(b);
		return NULL;
	}
	return b;
}

bool parsed(int err, json_object *doc, struct tn_errors *errs, struct tn_api_response *r)
{
	json_object_put(doc);
	if (!err)
		return true;
	reply_errors(r, 400, errs);
	tn_errors_free(errs);
	return false;
}

json_object *put_merged(struct api_req *q, json_object *cur, bool typed, const char *id_key, uint32_t id,
			struct tn_api_response *r)
{
	json_object *b, *merged = NULL;

	if (!cur) {
		reply_oom(r);
		return NULL;
	}
	b = parse_body(q->body, q->len, false, r);
	if (b && (!typed || check_type(b, q->type, r)) && check_id(b, id_key, id, r)) {
		merged = overlay(cur, b);
		if (!merged)
			reply_oom(r);
	}
	json_object_put(b);
	json_object_put(cur);
	return merged;
}

bool staged_copy(struct api_req *q, struct tn_config *cand, struct tn_api_response *r)
{
	memset(cand, 0, sizeof(*cand));
	if (tn_config_copy(cand, tn_ctl_staged(q->ctl)) == 0)
		return true;
	reply_oom(r);
	return false;
}

bool stage(struct api_req *q, struct tn_config *cand, struct tn_api_response *r)
{
	struct tn_errors errs = {0};
	int err = tn_ctl_stage(q->ctl, cand, &errs);

	if (err) {
		reply_errors(r, err == -EIO ? 500 : err == -ESTALE ? 409 : 400, &errs);
		tn_errors_free(&errs);
	}
	tn_config_free(cand);
	return err == 0;
}
