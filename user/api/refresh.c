/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * POST /v1/refresh, GET /v1/task/{id}, GET /v1/pendingChanges. The refresh
 * and pendingChanges handlers take the locks themselves (a preview is a
 * writer's work: Maglev builds and a conntrack walk, never under the state
 * lock); task_get runs under the state lock.
 *
 * POST /v1/refresh body (or query): {"zone", "dryRun": true -> the preview
 * (200, nothing applied), "maxMovedPercent": N -> 409 when a farm would move
 * more than N % of its tracked clients (nothing applied), else the task,
 * which checks the limit again when it runs}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/internal.h"

struct refresh_req {
	const char *zone;        /* NULL: every zone */
	bool dry_run;
	double max_moved;        /* < 0: no limit */
};

/* The raw value of a query parameter of the URL ("" for a bare key), or NULL. */
static const char *query_get(const char *url, const char *key, char *buf, size_t len)
{
	const char *p = strchr(url, '?');
	size_t kl = strlen(key);

	while (p && *p) {
		const char *s = p + 1, *e = s + strcspn(s, "&");

		if ((size_t)(e - s) >= kl && !strncmp(s, key, kl) && (s[kl] == '=' || s + kl == e)) {
			const char *v = s[kl] == '=' ? s + kl + 1 : e;

			snprintf(buf, len, "%.*s", (int)(e - v), v);
			return buf;
		}
		p = *e ? e : NULL;
	}
	return NULL;
}

/* A query flag: true for "true", "1" or a bare key; false once replied (400). */
static bool query_flag(const char *url, const char *key, bool *out, struct tn_api_response *r)
{
	char buf[32];
	const char *v = query_get(url, key, buf, sizeof(buf));

	*out = v && (!*v || !strcmp(v, "true") || !strcmp(v, "1"));
	if (v && !*out && strcmp(v, "false") && strcmp(v, "0")) {
		reply_error(r, 400, key, "query parameter %s must be true or false, not \"%s\"", key, v);
		return false;
	}
	return true;
}

static bool percent_ok(double v, const char *field, struct tn_api_response *r)
{
	if (v >= 0 && v <= 100)
		return true;
	reply_error(r, 400, field, "must be a percentage from 0 to 100");
	return false;
}

/* The query's dryRun and maxMovedPercent. */
static bool refresh_query(const char *url, struct refresh_req *rq, struct tn_api_response *r)
{
	char buf[32], *end;
	const char *v = query_get(url, "maxMovedPercent", buf, sizeof(buf));

	if (!query_flag(url, "dryRun", &rq->dry_run, r))
		return false;
	if (v) {
		rq->max_moved = strtod(v, &end);
		if (!*v || *end) {
			reply_error(r, 400, "maxMovedPercent", "query parameter maxMovedPercent must be a number, not \"%s\"",
				    v);
			return false;
		}
		return percent_ok(rq->max_moved, "maxMovedPercent", r);
	}
	return true;
}

/* The body's fields; false once replied. */
static bool refresh_body(json_object *b, struct refresh_req *rq, struct tn_api_response *r)
{
	json_object_object_foreach(b, k, v) {
		if (!strcmp(k, "zone")) {
			if (v && !json_object_is_type(v, json_type_string)) {
				reply_error(r, 400, "zone", "must be a string");
				return false;
			}
			rq->zone = v ? json_object_get_string(v) : NULL;
		} else if (!strcmp(k, "dryRun")) {
			if (!json_object_is_type(v, json_type_boolean)) {
				reply_error(r, 400, "dryRun", "must be true or false");
				return false;
			}
			rq->dry_run = rq->dry_run || json_object_get_boolean(v);
		} else if (!strcmp(k, "maxMovedPercent")) {
			if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
				reply_error(r, 400, "maxMovedPercent", "must be a number (a percentage)");
				return false;
			}
			rq->max_moved = json_object_get_double(v);
			if (!percent_ok(rq->max_moved, "maxMovedPercent", r))
				return false;
		} else {
			reply_error(r, 400, k, "unknown field (expected: zone, dryRun, maxMovedPercent)");
			return false;
		}
	}
	return true;
}

static void unknown_zone(struct api_req *q, const char *zone, struct tn_api_response *r)
{
	const struct tn_config *st;

	tn_ctl_lock(q->ctl);
	st = tn_ctl_staged(q->ctl);
	reply_error(r, 400, "zone", "unknown zone \"%s\": this node serves zone %s", zone,
		    st->zone ? st->zone : "default");
	tn_ctl_unlock(q->ctl);
}

/* The preview of rq: true with *farms (and *over, msg), false once replied. */
static bool preview(struct api_req *q, const struct refresh_req *rq, json_object **farms, bool *over, char *msg,
		    size_t len, struct tn_api_response *r)
{
	int err = 0;

	*farms = tn_ctl_preview_json(q->ctl, rq->zone, rq->max_moved, over, msg, len, &err);
	if (*farms)
		return true;
	if (err == -ENOENT)
		unknown_zone(q, rq->zone, r);
	else
		reply_error(r, 500, NULL, "cannot preview the refresh: %s", strerror(-err));
	return false;
}

static void dry_run(struct api_req *q, const struct refresh_req *rq, struct tn_api_response *r)
{
	json_object *farms, *o;
	char msg[600] = "";
	bool over;

	if (!preview(q, rq, &farms, &over, msg, sizeof(msg), r))
		return;
	o = json_object_new_object();
	json_object_object_add(o, "dryRun", json_object_new_boolean(true));
	json_object_object_add(o, "zone", rq->zone ? json_object_new_string(rq->zone) : NULL);
	if (rq->max_moved >= 0) {
		json_object_object_add(o, "maxMovedPercent", json_object_new_double(rq->max_moved));
		json_object_object_add(o, "refused", over ? json_object_new_string(msg) : NULL);
	}
	json_object_object_add(o, "farms", farms);
	reply(r, 200, o);
}

static void queue(struct api_req *q, const struct refresh_req *rq, struct tn_api_response *r)
{
	uint32_t id;
	int err;

	tn_ctl_lock(q->ctl);
	err = tn_ctl_refresh_max_moved(q->ctl, rq->zone, rq->max_moved, &id);
	tn_ctl_unlock(q->ctl);
	if (err == -ENOENT)
		return unknown_zone(q, rq->zone, r);
	if (err == -EBUSY)
		return reply_error(r, 409, NULL, "too many refresh tasks queued: wait for them (GET /v1/task/{id})");
	if (err)
		return reply_error(r, 500, NULL, "cannot create the task: %s", strerror(-err));
	tn_ctl_lock(q->ctl);
	reply(r, 200, tn_ctl_task_json(q->ctl, id));
	tn_ctl_unlock(q->ctl);
}

void refresh_post(struct api_req *q, struct tn_api_response *r)
{
	struct refresh_req rq = { .max_moved = -1 };
	json_object *b, *farms;
	char msg[600] = "";
	bool over = false;

	if (!refresh_query(q->url, &rq, r) || !(b = parse_body(q->body, q->len, true, r)))
		return;
	if (!refresh_body(b, &rq, r)) {
		json_object_put(b);
		return;
	}
	if (rq.dry_run) {
		dry_run(q, &rq, r);
	} else if (rq.max_moved < 0) {
		queue(q, &rq, r);
	} else if (preview(q, &rq, &farms, &over, msg, sizeof(msg), r)) {
		json_object_put(farms);
		if (over)
			reply_error(r, 409, "maxMovedPercent", "refresh refused: %s; nothing applied", msg);
		else
			queue(q, &rq, r);
	}
	json_object_put(b); /* rq.zone points into it */
}

void task_get(struct api_req *q, struct tn_api_response *r)
{
	json_object *o;
	uint32_t id;

	if (!parse_id(q->task, &id) || !(o = tn_ctl_task_json(q->ctl, id)))
		return reply_error(r, 404, NULL, "no task %s", q->task);
	reply(r, 200, o);
}

/* ?detail=true: {"changes": the plain body, "farms": the preview of refreshing every zone}. */
void pending_get(struct api_req *q, struct tn_api_response *r)
{
	struct refresh_req rq = { .max_moved = -1 };
	json_object *changes, *farms, *o;
	char msg[8];
	bool detail, over;

	if (!query_flag(q->url, "detail", &detail, r))
		return;
	tn_ctl_lock(q->ctl);
	changes = tn_ctl_pending_json(q->ctl);
	tn_ctl_unlock(q->ctl);
	if (!detail)
		return reply(r, 200, changes);
	if (!preview(q, &rq, &farms, &over, msg, sizeof(msg), r)) {
		json_object_put(changes);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "changes", changes);
	json_object_object_add(o, "farms", farms);
	reply(r, 200, o);
}
