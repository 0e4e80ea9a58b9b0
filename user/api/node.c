/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* GET /v1/node, POST /v1/node/drain and /v1/node/resume, GET /v1/{type}/farm/{id}/table. */
#include <stdlib.h>
#include <string.h>
#include "api/internal.h"
#include "control/node.h"
#include "lib/num.h"

static void node_get(struct tn_ctl *ctl, struct tn_api_response *r)
{
	struct tn_node *n = tn_ctl_node(ctl);

	if (!n)
		return reply_error(r, 404, NULL, "this controller runs no node (no drain state, no BGP)");
	reply(r, 200, tn_node_status_json(n));
}

static void node_drain(struct tn_ctl *ctl, bool drained, struct tn_api_response *r)
{
	struct tn_node *n = tn_ctl_node(ctl);
	char err[TN_BGP_PATH_MAX + 100];

	if (!n)
		return reply_error(r, 404, NULL, "this controller runs no node (no drain state, no BGP)");
	if (tn_node_set_drained(n, drained, err, sizeof(err)))
		return reply_error(r, 500, NULL, "%s", err);
	reply(r, 200, tn_node_status_json(n));
}

static void table_get(struct tn_ctl *ctl, enum tn_l4_type t, const char *id, struct tn_api_response *r)
{
	char err[256];
	uint32_t farm_id;
	json_object *o;

	if (tn_parse_id(id, &farm_id) || !tn_config_farm(tn_ctl_staged(ctl), t, farm_id))
		return reply_error(r, 404, NULL, "no %s farm %s", tn_l4_type_name(t), id);
	o = tn_ctl_farm_table_json(ctl, t, farm_id, err, sizeof(err));
	if (!o)
		return reply_error(r, tn_ctl_farm_slot(ctl, t, farm_id) < 0 ? 409 : 500, NULL, "%s", err);
	reply(r, 200, o);
}

bool node_route(struct tn_ctl *ctl, const char *method, char **seg, int nseg, struct tn_api_response *r)
{
	if (nseg >= 2 && !strcmp(seg[1], "node")) {
		if (nseg == 2) {
			if (strcmp(method, "GET"))
				method_not_allowed(r, method, "GET");
			else
				node_get(ctl, r);
			return true;
		}
		if (nseg == 3 && (!strcmp(seg[2], "drain") || !strcmp(seg[2], "resume"))) {
			if (strcmp(method, "POST"))
				method_not_allowed(r, method, "POST");
			else
				node_drain(ctl, !strcmp(seg[2], "drain"), r);
			return true;
		}
		return false;
	}
	if (nseg == 5 && (!strcmp(seg[1], "tcp") || !strcmp(seg[1], "udp")) && !strcmp(seg[2], "farm") &&
	    !strcmp(seg[4], "table")) {
		if (strcmp(method, "GET"))
			method_not_allowed(r, method, "GET");
		else
			table_get(ctl, !strcmp(seg[1], "udp") ? TN_L4_UDP : TN_L4_TCP, seg[3], r);
		return true;
	}
	return false;
}
