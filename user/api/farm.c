/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* /v1/{type}/farm and /v1/{type}/farm/{farmId}. */
#include <stdlib.h>
#include <string.h>
#include "api/internal.h"

static json_object *staged_farm_json(struct api_req *q, uint32_t id)
{
	return tn_farm_to_json(tn_config_farm(tn_ctl_staged(q->ctl), q->type, id));
}

void farm_list(struct api_req *q, struct tn_api_response *r)
{
	const struct tn_config *st = tn_ctl_staged(q->ctl);
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < st->nfarms; i++)
		if (st->farms[i].type == q->type)
			json_object_array_add(arr, tn_farm_to_json(&st->farms[i]));
	reply(r, 200, arr);
}

/* The body's servers already have their ids: tn_farm_from_json gives the
 * lowest free ones to servers without. */
void farm_create(struct api_req *q, struct tn_api_response *r)
{
	const struct tn_config *st = tn_ctl_staged(q->ctl);
	struct tn_farm_cfg nf = {0};
	struct tn_errors errs = {0};
	struct tn_config cand;
	json_object *b;
	uint32_t id;

	if (!(b = typed_body(q, r)) || !parsed(tn_farm_from_json(b, "", &nf, &errs), b, &errs, r))
		return;
	nf.type = q->type;
	if (!nf.farm_id) {
		nf.farm_id = tn_config_next_farm_id(st, q->type);
	} else if (tn_config_farm(st, q->type, nf.farm_id)) {
		reply_error(r, 409, "farmId", "%s farm %u already exists", tn_l4_type_name(q->type), nf.farm_id);
		tn_farm_free(&nf);
		return;
	}
	id = nf.farm_id;
	if (!staged_copy(q, &cand, r) || tn_config_add_farm(&cand, &nf)) {
		if (!r->status)
			reply_oom(r);
		tn_farm_free(&nf);
		tn_config_free(&cand);
		return;
	}
	if (stage(q, &cand, r))
		reply(r, 201, staged_farm_json(q, id));
}

void farm_get(struct api_req *q, struct tn_api_response *r)
{
	reply(r, 200, tn_farm_to_json(q->farm));
}

void farm_replace(struct api_req *q, struct tn_api_response *r)
{
	struct tn_farm_cfg nf = {0}, *f;
	struct tn_errors errs = {0};
	struct tn_config cand;
	json_object *merged;

	if (!(merged = put_merged(q, tn_farm_to_json(q->farm), true, "farmId", q->farm_id, r)) ||
	    !parsed(tn_farm_from_json(merged, "", &nf, &errs), merged, &errs, r))
		return;
	nf.type = q->type;
	nf.farm_id = q->farm_id;
	if (!staged_copy(q, &cand, r)) {
		tn_farm_free(&nf);
		return;
	}
	f = tn_config_farm(&cand, q->type, q->farm_id);
	tn_farm_free(f);
	*f = nf;
	if (stage(q, &cand, r))
		reply(r, 200, staged_farm_json(q, q->farm_id));
}

static void remove_farm(struct tn_config *c, enum tn_l4_type t, uint32_t id)
{
	for (size_t i = 0; i < c->nfarms; i++) {
		if (c->farms[i].type != t || c->farms[i].farm_id != id)
			continue;
		tn_farm_free(&c->farms[i]);
		memmove(&c->farms[i], &c->farms[i + 1], (c->nfarms - i - 1) * sizeof(c->farms[0]));
		c->nfarms--;
		return;
	}
}

void farm_delete(struct api_req *q, struct tn_api_response *r)
{
	const struct tn_config *st = tn_ctl_staged(q->ctl);
	struct tn_config cand;
	json_object *gone;

	for (size_t i = 0; i < st->nfrontends; i++)
		if (st->frontends[i].type == q->type && st->frontends[i].default_farm_id == q->farm_id)
			return reply_error(r, 409, "farmId", "%s farm %u is used by frontend %u: change or delete the frontend first",
					   tn_l4_type_name(q->type), q->farm_id, st->frontends[i].frontend_id);
	gone = tn_farm_to_json(q->farm);
	if (!staged_copy(q, &cand, r)) {
		json_object_put(gone);
		return;
	}
	remove_farm(&cand, q->type, q->farm_id);
	if (stage(q, &cand, r))
		reply(r, 200, gone);
	else
		json_object_put(gone);
}
