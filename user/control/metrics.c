/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* GET /metrics: the Prometheus text format, from memory (state lock held). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "control/internal.h"
#include "control/node.h"
#include "lib/buf.h"

/*
 * The data plane's reasons in three families, each counting a packet once:
 * its verdict (passed, dropped, transmitted, redirected: they sum to every
 * packet seen), the conntrack lookup it made, and how a forwarded packet was
 * forwarded besides (a fragment, an ICMP error steered, a tunnel).
 */
enum family { VERDICT, CONNTRACK, FORWARDED };

static enum family family_of(enum tn_reason r)
{
	switch (r) {
	case TN_R_CT_HIT: case TN_R_CT_NEW: case TN_R_CT_RESCHEDULED: case TN_R_CT_EXPIRED:
	case TN_R_CT_DEFERRED: case TN_R_CT_REFUSED:
		return CONNTRACK;
	case TN_R_FRAGMENT: case TN_R_ICMP_STEERED: case TN_R_ENCAP_IPIP: case TN_R_ENCAP_GUE:
	case TN_R_PMTU_LEARNED:
		return FORWARDED;
	default:
		return VERDICT;
	}
}

static void family(struct tn_ctl *ctl, struct tn_buf *b, enum family fam, const char *name, const char *label,
		   const char *help, bool bytes)
{
	tn_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (int i = 0; i < TN_R__COUNT; i++) {
		const char *n = tn_reason_name(i);

		if (family_of(i) != fam)
			continue;
		/* conntrack results without their prefix: result="hit" */
		if (fam == CONNTRACK && !strncmp(n, "conntrack_", 10))
			n += 10;
		tn_buf_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, n,
			      (unsigned long long)(bytes ? ctl->reasons[i].bytes : ctl->reasons[i].packets));
	}
}

static void reason_metrics(struct tn_ctl *ctl, struct tn_buf *b)
{
	family(ctl, b, VERDICT, "tenace_packets_total", "verdict",
	       "Packets seen by the XDP program, by verdict (each packet once).", false);
	family(ctl, b, VERDICT, "tenace_bytes_total", "verdict",
	       "Bytes seen by the XDP program, by verdict.", true);
	family(ctl, b, CONNTRACK, "tenace_conntrack_lookups_total", "result",
	       "Conntrack lookups of packets to a VIP, by result.", false);
	family(ctl, b, FORWARDED, "tenace_forwarded_kind_total", "kind",
	       "Forwarded packets by the way they were forwarded besides their verdict (fragments, ICMP "
	       "errors steered, tunnels), and path MTUs learnt.", false);
}

static void farm_metrics(struct tn_ctl *ctl, struct tn_buf *b)
{
	tn_buf_printf(b, "# HELP tenace_farm_generation The generation of each farm's table in the data plane.\n"
		      "# TYPE tenace_farm_generation gauge\n");
	for (int i = 0; i < TN_MAX_FARMS; i++)
		if (ctl->slots[i].used)
			tn_buf_printf(b, "tenace_farm_generation{type=\"%s\",farm=\"%u\"} %llu\n",
				      tn_l4_type_name(ctl->slots[i].type), ctl->slots[i].farm_id,
				      (unsigned long long)ctl->slots[i].generation);
}

/* pass 0: packets per VIP, pass 1: bytes. */
static void vip_metrics(struct tn_ctl *ctl, struct tn_buf *b, int pass)
{
	const char *name = pass ? "tenace_vip_bytes_total" : "tenace_vip_packets_total";

	tn_buf_printf(b, "# HELP %s %s forwarded per VIP.\n# TYPE %s counter\n", name, pass ? "Bytes" : "Packets",
		      name);
	for (int i = 0; i < TN_MAX_VIPS; i++) {
		const struct vip_index *v = &ctl->vips[i];
		const struct tn_frontend_cfg *fe;
		char text[64];

		if (!v->used)
			continue;
		fe = tn_config_frontend(&ctl->applied, v->type, v->frontend_id);
		tn_addr_format(&v->addr, text, sizeof(text));
		tn_buf_printf(b, "%s{type=\"%s\",frontend=\"%u\",vip=\"%s\",port=\"%s\"} %llu\n", name,
			      tn_l4_type_name(v->type), v->frontend_id, text, fe && fe->port ? fe->port : "*",
			      (unsigned long long)(pass ? v->cur.bytes : v->cur.packets));
	}
}

/* One family over every applied server, labelled by type, farm and server
 * (the address is the server's identity, not a label of its samples). */
enum server_metric { SRV_PACKETS, SRV_BYTES, SRV_UP, SRV_TRANSITIONS, SRV_TRACKED, SRV_PROBE_SECONDS,
		     SRV_PROBE_CHECKS, SRV_PROBE_FAILURES, SRV__COUNT };

/* The sample of metric m for one server; false: none (a probe metric of a server without checks). */
static bool server_sample(const struct server_view *v, enum server_metric m, char *out, size_t len)
{
	const struct srv_state *st = v->st;

	if (m >= SRV_PROBE_SECONDS && (!st || !st->check.known))
		return false;
	switch (m) {
	case SRV_PACKETS: snprintf(out, len, "%llu", st ? (unsigned long long)st->cur.packets : 0ULL); break;
	case SRV_BYTES: snprintf(out, len, "%llu", st ? (unsigned long long)st->cur.bytes : 0ULL); break;
	case SRV_UP: snprintf(out, len, "%d", v->up ? 1 : 0); break;
	case SRV_TRANSITIONS: snprintf(out, len, "%llu", st ? (unsigned long long)st->transitions : 0ULL); break;
	case SRV_TRACKED: snprintf(out, len, "%llu", st ? (unsigned long long)st->tracked : 0ULL); break;
	case SRV_PROBE_SECONDS: snprintf(out, len, "%.6f", st->check.last_duration_s); break;
	case SRV_PROBE_CHECKS: snprintf(out, len, "%llu", (unsigned long long)st->check.checks); break;
	default: snprintf(out, len, "%llu", (unsigned long long)st->check.failures); break;
	}
	return true;
}

static void server_metrics(struct tn_ctl *ctl, struct tn_buf *b, enum server_metric m)
{
	static const char *const names[] = { "tenace_server_packets_total", "tenace_server_bytes_total",
					     "tenace_server_up", "tenace_probe_transitions_total",
					     "tenace_server_tracked_clients", "tenace_probe_duration_seconds", "tenace_probe_checks_total",
					     "tenace_probe_failures_total" };
	static const char *const helps[] = { "Packets forwarded per server.", "Bytes forwarded per server.",
					     "1 when the server takes traffic (resolved, healthy).",
					     "Health changes of each server seen by its probe.",
					     "Clients the conntrack still sends to each server (counted every few seconds).",
					     "How long the server's last health check took.",
					     "Health checks made of each server.",
					     "Health checks of each server that failed." };
	bool gauge = m == SRV_UP || m == SRV_PROBE_SECONDS || m == SRV_TRACKED;

	tn_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", names[m], helps[m], names[m], gauge ? "gauge" : "counter");
	for (size_t i = 0; i < ctl->applied.nfarms; i++) {
		const struct tn_farm_cfg *f = &ctl->applied.farms[i];

		for (size_t j = 0; j < f->nservers; j++) {
			const struct tn_server_cfg *s = &f->servers[j];
			struct server_view v;
			char x[32];

			server_view(ctl, f, s, &v);
			if (server_sample(&v, m, x, sizeof(x)))
				tn_buf_printf(b, "%s{type=\"%s\",farm=\"%u\",server=\"%u\"} %s\n", names[m],
					      tn_l4_type_name(f->type), f->farm_id, s->server_id, x);
		}
	}
}

/* Each configured interface: is our program on it, replaced, how often detached behind our back. */
static void interface_metrics(struct tn_ctl *ctl, struct tn_buf *b)
{
	static const char *const names[] = { "tenace_interface_attached", "tenace_interface_foreign_program",
					     "tenace_interface_detaches_total" };
	static const char *const helps[] = {
		"1 when Tenace's XDP program is on the interface (at the last check, once a second).",
		"1 when another XDP program replaced Tenace's on the interface.",
		"Times the program was found detached behind the controller's back." };

	for (int m = 0; m < 3; m++) {
		tn_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", names[m], helps[m], names[m], m == 2 ? "counter" : "gauge");
		for (size_t i = 0; i < ctl->applied.ninterfaces; i++) {
			const char *name = ctl->applied.interfaces[i];
			const struct seen_iface *x = observed_iface(ctl, name);
			unsigned long long v = !x ? 0 : m == 0 ? x->state == TN_ATTACH_OURS :
					       m == 1 ? x->state == TN_ATTACH_FOREIGN : x->detaches;

			tn_buf_printf(b, "%s{interface=\"%s\"} %llu\n", names[m], name, v);
		}
	}
}

static void reload_metrics(struct tn_ctl *ctl, struct tn_buf *b)
{
	static const char *const results[] = { "applied", "partial", "rejected" };

	tn_buf_printf(b, "# HELP tenace_config_reloads_total Configuration reloads (SIGHUP) by result: applied, "
		      "partial (what failed stays pending), rejected (the file is invalid, nothing changed).\n"
		      "# TYPE tenace_config_reloads_total counter\n");
	for (int r = 0; r < TN_RELOAD__COUNT; r++)
		tn_buf_printf(b, "tenace_config_reloads_total{result=\"%s\"} %llu\n", results[r],
			      (unsigned long long)ctl->reloads[r]);
	tn_buf_printf(b, "# HELP tenace_config_last_reload_successful 1 unless the last reload was partial or rejected.\n"
		      "# TYPE tenace_config_last_reload_successful gauge\n"
		      "tenace_config_last_reload_successful %d\n"
		      "# HELP tenace_config_last_reload_timestamp_seconds When the last reload happened (0: none yet).\n"
		      "# TYPE tenace_config_last_reload_timestamp_seconds gauge\n"
		      "tenace_config_last_reload_timestamp_seconds %.3f\n",
		      !ctl->last_reload || ctl->last_reload_ok, ctl->last_reload);
}

char *tn_ctl_metrics(struct tn_ctl *ctl)
{
	struct tn_buf b = {0};

	ASSERT_STATE_HELD();
	reason_metrics(ctl, &b);
	vip_metrics(ctl, &b, 0);
	vip_metrics(ctl, &b, 1);
	farm_metrics(ctl, &b);
	for (int m = SRV_PACKETS; m < SRV__COUNT; m++)
		server_metrics(ctl, &b, m);
	interface_metrics(ctl, &b);
	reload_metrics(ctl, &b);
	tn_buf_printf(&b, "# HELP tenace_conntrack_entries Conntrack entries, live or not, at the last count.\n"
		      "# TYPE tenace_conntrack_entries gauge\ntenace_conntrack_entries %llu\n"
		      "# HELP tenace_conntrack_capacity The configured conntrack size (the IPv4 sourceIp sets hold 2 to 4 times as many ways; the LRUs evict past it).\n"
		      "# TYPE tenace_conntrack_capacity gauge\ntenace_conntrack_capacity %u\n",
		      (unsigned long long)ctl->census.entries, ctl->census.capacity);
	tn_buf_printf(&b, "# HELP tenace_pending_changes Staged changes waiting for a refresh.\n"
		      "# TYPE tenace_pending_changes gauge\n"
		      "tenace_pending_changes %d\n", tn_ctl_pending_count(ctl, NULL));
	if (ctl->node)
		tn_node_metrics(ctl->node, &b);
	return tn_buf_take(&b);
}
