/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* POST /v1/refresh, GET /v1/task/{id}, GET /v1/pendingChanges (state lock held). */
#include <errno.h>
#include <string.h>
#include "api/internal.h"

/* The body's zone: true with *zone (NULL: every zone), or false once replied. */
static bool refresh_zone(json_object *b, const char **zone, struct tn_api_response *r)
{
	json_object *z = NULL;

	json_object_object_foreach(b, k, v) {
		(void)v;
		if (strcmp(k, "zone")) {
			reply_error(r, 400, k, "unknown field (expected: zone)");
			return false;
		}
	}
	*zone = NULL;
	if (json_object_object_get_ex(b, "zone", &z) && z) {
		if (!json_object_is_type(z, json_type_string)) {
			reply_error(r, 400, "zone", "must be a string");
			return false;
		}
		*zone = json_object_get_string(z);
	}
	return true;
}

void refresh_post(struct api_req *q, struct tn_api_response *r)
{
	const struct tn_config *st = tn_ctl_staged(q->ctl);
	const char *zone;
	json_object *b;
	uint32_t id;
	int err;

	if (!(b = parse_body(q->body, q->len, true, r)))
		return;
	if (refresh_zone(b, &zone, r)) {
		err = tn_ctl_refresh(q->ctl, zone, &id);
		if (err == -ENOENT)
			reply_error(r, 400, "zone", "unknown zone \"%s\": this node serves zone %s", zone,
				    st->zone ? st->zone : "default");
		else if (err == -EBUSY)
			reply_error(r, 409, NULL, "too many refresh tasks queued: wait for them (GET /v1/task/{id})");
		else if (err)
			reply_error(r, 500, NULL, "cannot create the task: %s", strerror(-err));
		else
			reply(r, 200, tn_ctl_task_json(q->ctl, id));
	}
	json_object_put(b);
}

void task_get(struct api_req *q, struct tn_api_response *r)
{
	json_object *o;
	uint32_t id;

	if (!parse_id(q->task, &id) || !(o = tn_ctl_task_json(q->ctl, id)))
		return reply_error(r, 404, NULL, "no task %s", q->task);
	reply(r, 200, o);
}

void pending_get(struct api_req *q, struct tn_api_response *r)
{
	reply(r, 200, tn_ctl_pending_json(q->ctl));
}
