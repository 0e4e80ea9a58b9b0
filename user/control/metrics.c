/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* GET /metrics: the Prometheus text format, from memory (state lock held). */
#include <stdlib.h>
#include "control/internal.h"
#include "lib/buf.h"

static void reason_metrics(struct tn_ctl *ctl, struct tn_buf *b)
{
	tn_buf_printf(b, "# HELP tenace_packets_total Packets seen by the XDP program, by verdict reason.\n"
		      "# TYPE tenace_packets_total counter\n");
	for (int i = 0; i < TN_R__COUNT; i++)
		tn_buf_printf(b, "tenace_packets_total{reason=\"%s\"} %llu\n", tn_reason_name(i),
			      (unsigned long long)ctl->reasons[i].packets);
	tn_buf_printf(b, "# HELP tenace_bytes_total Bytes seen by the XDP program, by verdict reason.\n"
		      "# TYPE tenace_bytes_total counter\n");
	for (int i = 0; i < TN_R__COUNT; i++)
		tn_buf_printf(b, "tenace_bytes_total{reason=\"%s\"} %llu\n", tn_reason_name(i),
			      (unsigned long long)ctl->reasons[i].bytes);
}

static void vip_metrics(struct tn_ctl *ctl, struct tn_buf *b)
{
	tn_buf_printf(b, "# HELP tenace_vip_packets_total Packets forwarded per VIP.\n"
		      "# TYPE tenace_vip_packets_total counter\n");
	for (int i = 0; i < TN_MAX_VIPS; i++) {
		const struct vip_index *v = &ctl->vips[i];
		const struct tn_frontend_cfg *fe;
		char text[64];

		if (!v->used)
			continue;
		fe = tn_config_frontend(&ctl->applied, v->type, v->frontend_id);
		tn_addr_format(&v->addr, text, sizeof(text));
		tn_buf_printf(b, "tenace_vip_packets_total{type=\"%s\",frontend=\"%u\",vip=\"%s\",port=\"%s\"} %llu\n",
			      tn_l4_type_name(v->type), v->frontend_id, text, fe && fe->port ? fe->port : "*",
			      (unsigned long long)v->cur.packets);
	}
}

/* pass 0: packets per server; pass 1: whether each takes traffic. */
static void server_metrics(struct tn_ctl *ctl, struct tn_buf *b, int pass)
{
	for (size_t i = 0; i < ctl->applied.nfarms; i++) {
		const struct tn_farm_cfg *f = &ctl->applied.farms[i];

		for (size_t j = 0; j < f->nservers; j++) {
			const struct tn_server_cfg *s = &f->servers[j];
			struct server_view v;
			char text[64];

			server_view(ctl, f, s, &v);
			tn_addr_format(&s->address, text, sizeof(text));
			if (pass == 0)
				tn_buf_printf(b, "tenace_server_packets_total{type=\"%s\",farm=\"%u\",server=\"%u\",address=\"%s\"} %llu\n",
					      tn_l4_type_name(f->type), f->farm_id, s->server_id, text,
					      (unsigned long long)(v.st ? v.st->cur.packets : 0));
			else
				tn_buf_printf(b, "tenace_server_up{type=\"%s\",farm=\"%u\",server=\"%u\",address=\"%s\"} %d\n",
					      tn_l4_type_name(f->type), f->farm_id, s->server_id, text, v.up ? 1 : 0);
		}
	}
}

char *tn_ctl_metrics(struct tn_ctl *ctl)
{
	struct tn_buf b = {0};

	ASSERT_STATE_HELD();
	reason_metrics(ctl, &b);
	vip_metrics(ctl, &b);
	tn_buf_printf(&b, "# HELP tenace_server_packets_total Packets forwarded per server.\n"
		      "# TYPE tenace_server_packets_total counter\n");
	server_metrics(ctl, &b, 0);
	tn_buf_printf(&b, "# HELP tenace_server_up 1 when the server takes traffic (resolved, healthy).\n"
		      "# TYPE tenace_server_up gauge\n");
	server_metrics(ctl, &b, 1);
	tn_buf_printf(&b, "# HELP tenace_probe_transitions_total Server health changes seen by the probes.\n"
		      "# TYPE tenace_probe_transitions_total counter\n"
		      "tenace_probe_transitions_total %llu\n", (unsigned long long)ctl->probe_transitions);
	tn_buf_printf(&b, "# HELP tenace_pending_changes Staged changes waiting for a refresh.\n"
		      "# TYPE tenace_pending_changes gauge\n"
		      "tenace_pending_changes %d\n", tn_ctl_pending_count(ctl, NULL));
	return tn_buf_take(&b);
}
