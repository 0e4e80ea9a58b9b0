/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* /v1/{type}/farm/{farmId}/server and .../server/{serverId}. */
#include <stdlib.h>
#include <string.h>
#include "api/internal.h"

static json_object *staged_server_json(struct api_req *q, uint32_t id)
{
	const struct tn_farm_cfg *f = tn_config_farm(tn_ctl_staged(q->ctl), q->type, q->farm_id);

	return tn_server_to_json(tn_farm_server(f, id));
}

void server_list(struct api_req *q, struct tn_api_response *r)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < q->farm->nservers; i++)
		json_object_array_add(arr, tn_server_to_json(&q->farm->servers[i]));
	reply(r, 200, arr);
}

void server_create(struct api_req *q, struct tn_api_response *r)
{
	struct tn_server_cfg ns = {0};
	struct tn_errors errs = {0};
	struct tn_config cand;
	json_object *b;
	uint32_t id;

	if (!(b = parse_body(q->body, q->len, false, r)) || !parsed(tn_server_from_json(b, "", &ns, &errs), b, &errs, r))
		return;
	if (!ns.server_id) {
		ns.server_id = tn_config_next_server_id(q->farm);
	} else if (tn_farm_server(q->farm, ns.server_id)) {
		reply_error(r, 409, "serverId", "server %u already exists in %s farm %u", ns.server_id,
			    tn_l4_type_name(q->type), q->farm_id);
		tn_server_free(&ns);
		return;
	}
	id = ns.server_id;
	if (!staged_copy(q, &cand, r) || tn_farm_add_server(tn_config_farm(&cand, q->type, q->farm_id), &ns)) {
		if (!r->status)
			reply_oom(r);
		tn_server_free(&ns);
		tn_config_free(&cand);
		return;
	}
	if (stage(q, &cand, r))
		reply(r, 201, staged_server_json(q, id));
}

void server_get(struct api_req *q, struct tn_api_response *r)
{
	reply(r, 200, tn_server_to_json(q->server));
}

void server_replace(struct api_req *q, struct tn_api_response *r)
{
	struct tn_server_cfg ns = {0}, *s;
	struct tn_errors errs = {0};
	struct tn_config cand;
	json_object *merged;

	if (!(merged = put_merged(q, tn_server_to_json(q->server), false, "serverId", q->server_id, r)) ||
	    !parsed(tn_server_from_json(merged, "", &ns, &errs), merged, &errs, r))
		return;
	ns.server_id = q->server_id;
	if (!staged_copy(q, &cand, r)) {
		tn_server_free(&ns);
		return;
	}
	s = tn_farm_server(tn_config_farm(&cand, q->type, q->farm_id), q->server_id);
	tn_server_free(s);
	*s = ns;
	if (stage(q, &cand, r))
		reply(r, 200, staged_server_json(q, q->server_id));
}

static void remove_server(struct tn_farm_cfg *f, uint32_t id)
{
	for (size_t i = 0; i < f->nservers; i++) {
		if (f->servers[i].server_id != id)
			continue;
		tn_server_free(&f->servers[i]);
		memmove(&f->servers[i], &f->servers[i + 1], (f->nservers - i - 1) * sizeof(f->servers[0]));
		f->nservers--;
		return;
	}
}

void server_delete(struct api_req *q, struct tn_api_response *r)
{
	json_object *gone = tn_server_to_json(q->server);
	struct tn_config cand;

	if (!staged_copy(q, &cand, r)) {
		json_object_put(gone);
		return;
	}
	remove_server(tn_config_farm(&cand, q->type, q->farm_id), q->server_id);
	if (stage(q, &cand, r))
		reply(r, 200, gone);
	else
		json_object_put(gone);
}
