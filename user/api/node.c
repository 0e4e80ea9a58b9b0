/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* GET /v1/node, POST /v1/node/drain and /v1/node/resume (no lock: the node
 * has its own), GET /v1/{type}/farm/{farm}/table (state lock). */
#include "api/internal.h"
#include "control/node.h"

void node_get(struct api_req *q, struct tn_api_response *r)
{
	struct tn_node *n = tn_ctl_node(q->ctl);

	if (!n)
		return reply_error(r, 404, NULL, "this controller runs no node (no drain state, no BGP)");
	reply(r, 200, tn_node_status_json(n));
}

static void set_drained(struct api_req *q, bool drained, struct tn_api_response *r)
{
	struct tn_node *n = tn_ctl_node(q->ctl);
	char err[TN_BGP_PATH_MAX + 100];

	if (!n)
		return reply_error(r, 404, NULL, "this controller runs no node (no drain state, no BGP)");
	if (tn_node_set_drained(n, drained, err, sizeof(err)))
		return reply_error(r, 500, NULL, "%s", err);
	reply(r, 200, tn_node_status_json(n));
}

void node_drain(struct api_req *q, struct tn_api_response *r)
{
	set_drained(q, true, r);
}

void node_resume(struct api_req *q, struct tn_api_response *r)
{
	set_drained(q, false, r);
}

/* The {farm} is the staged one (the route's lookup); its table is the
 * applied one the data plane holds: 409 while the farm is not applied. */
void table_get(struct api_req *q, struct tn_api_response *r)
{
	char err[256];
	json_object *o = tn_ctl_farm_table_json(q->ctl, q->type, q->farm_id, err, sizeof(err));

	if (!o)
		return reply_error(r, tn_ctl_farm_slot(q->ctl, q->type, q->farm_id) < 0 ? 409 : 500, NULL, "%s", err);
	reply(r, 200, o);
}
