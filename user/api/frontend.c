/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* /v1/{type}/frontend and /v1/{type}/frontend/{frontendId}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/internal.h"

static json_object *staged_frontend_json(struct api_req *q, uint32_t id)
{
	return tn_frontend_to_json(tn_config_frontend(tn_ctl_staged(q->ctl), q->type, id));
}

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

void frontend_list(struct api_req *q, struct tn_api_response *r)
{
	const struct tn_config *st = tn_ctl_staged(q->ctl);
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < st->nfrontends; i++)
		if (st->frontends[i].type == q->type)
			json_object_array_add(arr, tn_frontend_to_json(&st->frontends[i]));
	reply(r, 200, arr);
}

void frontend_create(struct api_req *q, struct tn_api_response *r)
{
	const struct tn_config *st = tn_ctl_staged(q->ctl);
	struct tn_frontend_cfg nf = {0};
	struct tn_errors errs = {0};
	struct tn_config cand;
	json_object *b;
	uint32_t id;

	if (!(b = typed_body(q, r)) || !parsed(tn_frontend_from_json(b, "", &nf, &errs), b, &errs, r))
		return;
	nf.type = q->type;
	if (!nf.frontend_id) {
		nf.frontend_id = tn_config_next_frontend_id(st, q->type);
	} else if (tn_config_frontend(st, q->type, nf.frontend_id)) {
		reply_error(r, 409, "frontendId", "%s frontend %u already exists", tn_l4_type_name(q->type),
			    nf.frontend_id);
		tn_frontend_free(&nf);
		return;
	}
	if (frontend_conflict(st, &nf, r)) {
		tn_frontend_free(&nf);
		return;
	}
	id = nf.frontend_id;
	if (!staged_copy(q, &cand, r) || tn_config_add_frontend(&cand, &nf)) {
		if (!r->status)
			reply_oom(r);
		tn_frontend_free(&nf);
		tn_config_free(&cand);
		return;
	}
	if (stage(q, &cand, r))
		reply(r, 201, staged_frontend_json(q, id));
}

void frontend_get(struct api_req *q, struct tn_api_response *r)
{
	reply(r, 200, tn_frontend_to_json(q->frontend));
}

void frontend_replace(struct api_req *q, struct tn_api_response *r)
{
	struct tn_frontend_cfg nf = {0}, *fe;
	struct tn_errors errs = {0};
	struct tn_config cand;
	json_object *merged;

	if (!(merged = put_merged(q, tn_frontend_to_json(q->frontend), true, "frontendId", q->frontend_id, r)) ||
	    !parsed(tn_frontend_from_json(merged, "", &nf, &errs), merged, &errs, r))
		return;
	nf.type = q->type;
	nf.frontend_id = q->frontend_id;
	if (frontend_conflict(tn_ctl_staged(q->ctl), &nf, r) || !staged_copy(q, &cand, r)) {
		tn_frontend_free(&nf);
		return;
	}
	fe = tn_config_frontend(&cand, q->type, q->frontend_id);
	tn_frontend_free(fe);
	*fe = nf;
	if (stage(q, &cand, r))
		reply(r, 200, staged_frontend_json(q, q->frontend_id));
}

static void remove_frontend(struct tn_config *c, enum tn_l4_type t, uint32_t id)
{
	for (size_t i = 0; i < c->nfrontends; i++) {
		if (c->frontends[i].type != t || c->frontends[i].frontend_id != id)
			continue;
		tn_frontend_free(&c->frontends[i]);
		memmove(&c->frontends[i], &c->frontends[i + 1], (c->nfrontends - i - 1) * sizeof(c->frontends[0]));
		c->nfrontends--;
		return;
	}
}

void frontend_delete(struct api_req *q, struct tn_api_response *r)
{
	json_object *gone = tn_frontend_to_json(q->frontend);
	struct tn_config cand;

	if (!staged_copy(q, &cand, r)) {
		json_object_put(gone);
		return;
	}
	remove_frontend(&cand, q->type, q->frontend_id);
	if (stage(q, &cand, r))
		reply(r, 200, gone);
	else
		json_object_put(gone);
}
