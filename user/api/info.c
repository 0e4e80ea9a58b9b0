/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* GET /v1/config, /v1/status, /v1/stats, /v1/tasks, /v1/transitions and /metrics. */
#include "api/internal.h"

void config_get(struct api_req *q, struct tn_api_response *r)
{
	reply(r, 200, tn_config_to_json(tn_ctl_staged(q->ctl)));
}

/* No lock held: the controller takes it and asks the kernel without it. */
void status_get(struct api_req *q, struct tn_api_response *r)
{
	reply(r, 200, tn_ctl_status_json(q->ctl));
}

void stats_get(struct api_req *q, struct tn_api_response *r)
{
	reply(r, 200, tn_ctl_stats_json(q->ctl));
}

void metrics_get(struct api_req *q, struct tn_api_response *r)
{
	r->status = 200;
	r->text = tn_ctl_metrics(q->ctl);
	if (!r->text)
		reply_oom(r);
}

void tasks_get(struct api_req *q, struct tn_api_response *r)
{
	reply(r, 200, tn_ctl_tasks_json(q->ctl, 0));
}

void transitions_get(struct api_req *q, struct tn_api_response *r)
{
	reply(r, 200, tn_ctl_transitions_json(q->ctl, 0));
}
