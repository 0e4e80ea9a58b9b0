/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Trace events as one line of text or one JSON object. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include "dataplane/dataplane.h"
#include "lib/net.h"
#include "trace/trace.h"

const char *tn_trace_ct_name(uint8_t ct)
{
	switch (ct) {
	case TN_R_CT_HIT: return "hit";
	case TN_R_CT_NEW: return "new";
	case TN_R_CT_RESCHEDULED: return "rescheduled";
	case TN_R_CT_EXPIRED: return "expired";
	case TN_R_CT_DEFERRED: return "deferred";
	case TN_R_CT_REFUSED: return "refused";
	}
	return "-";
}

const char *tn_trace_why_name(uint8_t why)
{
	static const char *const names[] = {
		[TN_WHY_NONE] = "-", [TN_WHY_TRACKED] = "tracked", [TN_WHY_TABLE] = "table",
		[TN_WHY_BACKUP] = "backup", [TN_WHY_ROUNDROBIN] = "round_robin",
	};

	return why < sizeof(names) / sizeof(names[0]) ? names[why] : "-";
}

static const char *action_name(uint32_t a)
{
	switch (a) {
	case XDP_ABORTED: return "aborted";
	case XDP_DROP: return "drop";
	case XDP_PASS: return "pass";
	case XDP_TX: return "tx";
	case XDP_REDIRECT: return "redirect";
	}
	return "unknown";
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : p == IPPROTO_ICMP ? "icmp" :
	       p == IPPROTO_ICMPV6 ? "icmpv6" : "other";
}

static void endpoint(const uint8_t *addr, uint8_t family, uint16_t port_be, char *buf, size_t len)
{
	struct tn_addr a = { .family = family };

	memcpy(a.bytes, addr, 16);
	tn_addr_port_format(&a, ntohs(port_be), buf, len);
}

static void address(const uint8_t *addr, uint8_t family, char *buf, size_t len)
{
	struct tn_addr a = { .family = family };

	memcpy(a.bytes, addr, 16);
	tn_addr_format(&a, buf, len);
}

/* "HH:MM:SS.uuuuuu" (UTC) or, iso, "YYYY-MM-DDTHH:MM:SS.uuuuuuZ". */
static void when(double wall, bool iso, char *buf, size_t len)
{
	time_t s = (time_t)wall;
	long us = (long)((wall - (double)s) * 1e6);
	struct tm tm;
	char t[32];

	if (us > 999999)
		us = 999999;
	gmtime_r(&s, &tm);
	strftime(t, sizeof(t), iso ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06ld%s", t, us, iso ? "Z" : "");
}

void tn_trace_format(const struct tn_trace_event *ev, double wall, char *buf, size_t len)
{
	char t[40], cl[64], vip[64], farm[48] = "farm -", srv[64] = "server -";
	const char *proto = ev->family ? proto_name(ev->proto) : "-";

	when(wall, false, t, sizeof(t));
	if (!ev->family) {
		snprintf(cl, sizeof(cl), "-");
		snprintf(vip, sizeof(vip), "-");
	} else if (ev->flags & TN_TE_F_FRAGMENT || (ev->proto != IPPROTO_TCP && ev->proto != IPPROTO_UDP)) {
		address(ev->client, ev->family, cl, sizeof(cl));
		address(ev->vip, ev->family, vip, sizeof(vip));
	} else {
		endpoint(ev->client, ev->family, ev->client_port, cl, sizeof(cl));
		endpoint(ev->vip, ev->family, ev->vip_port, vip, sizeof(vip));
	}
	if (ev->flags & TN_TE_F_FARM)
		snprintf(farm, sizeof(farm), "farm %u gen %llu", ev->farm_id, (unsigned long long)ev->generation);
	if (ev->flags & TN_TE_F_SERVER)
		snprintf(srv, sizeof(srv), "server %u (slot %u, %s)", ev->server_id, ev->slot,
			 tn_trace_why_name(ev->why));
	snprintf(buf, len, "%s %s -> %s/%s %s ct %s %s %s%s%s", t, cl, vip, proto,
		 tn_reason_name((enum tn_reason)ev->reason), tn_trace_ct_name(ev->ct), farm, srv,
		 ev->flags & TN_TE_F_ICMP ? " icmp_error" : "", ev->flags & TN_TE_F_FRAGMENT ? " fragment" : "");
}

static json_object *reasons_json(uint64_t mask)
{
	json_object *a = json_object_new_array();

	for (int r = 0; r < TN_R__COUNT; r++)
		if (mask & (1ULL << r))
			json_object_array_add(a, json_object_new_string(tn_reason_name((enum tn_reason)r)));
	return a;
}

#define JADD(o, k, v) json_object_object_add(o, k, v)

json_object *tn_trace_event_json(const struct tn_trace_event *ev, double wall)
{
	json_object *o = json_object_new_object();
	char t[40], a[64];

	when(wall, true, t, sizeof(t));
	JADD(o, "time", json_object_new_string(t));
	JADD(o, "ktime_ns", json_object_new_uint64(ev->time_ns));
	if (ev->family) {
		address(ev->client, ev->family, a, sizeof(a));
		JADD(o, "client", json_object_new_string(a));
		JADD(o, "client_port", json_object_new_int(ntohs(ev->client_port)));
		address(ev->vip, ev->family, a, sizeof(a));
		JADD(o, "vip", json_object_new_string(a));
		JADD(o, "vip_port", json_object_new_int(ntohs(ev->vip_port)));
		JADD(o, "proto", json_object_new_string(proto_name(ev->proto)));
	}
	JADD(o, "reason", json_object_new_string(tn_reason_name((enum tn_reason)ev->reason)));
	JADD(o, "reasons", reasons_json(ev->reasons));
	JADD(o, "conntrack", ev->ct == TN_TRACE_CT_NONE ? NULL : json_object_new_string(tn_trace_ct_name(ev->ct)));
	JADD(o, "action", json_object_new_string(action_name(ev->action)));
	if (ev->flags & TN_TE_F_FARM) {
		JADD(o, "farm", json_object_new_int64(ev->farm_id));
		JADD(o, "generation", json_object_new_uint64(ev->generation));
	}
	if (ev->flags & TN_TE_F_SERVER) {
		JADD(o, "server", json_object_new_int64(ev->server_id));
		JADD(o, "slot", json_object_new_int(ev->slot));
		JADD(o, "why", json_object_new_string(tn_trace_why_name(ev->why)));
	}
	JADD(o, "fragment", json_object_new_boolean(!!(ev->flags & TN_TE_F_FRAGMENT)));
	JADD(o, "icmp_error", json_object_new_boolean(!!(ev->flags & TN_TE_F_ICMP)));
	JADD(o, "sessions", json_object_new_int64(ev->sessions));
	JADD(o, "bytes_in", json_object_new_int64(ev->in_len));
	JADD(o, "bytes_out", json_object_new_int64(ev->out_len));
	JADD(o, "cpu", json_object_new_int64(ev->cpu));
	return o;
}
