/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The speaker in GET /v1/status and /metrics. */
#include <stdio.h>
#include <string.h>
#include "bgp/internal.h"
#include "lib/time.h"

static json_object *nullable_string(const char *s)
{
	return s && s[0] ? json_object_new_string(s) : NULL;
}

static double uptime(const struct tn_bgp_session *s, double now)
{
	return s->up && s->since > 0 && now > s->since ? now - s->since : 0;
}

static json_object *session_json(const struct tn_bgp_session *s, double now)
{
	json_object *o = json_object_new_object();
	char addr[TN_ADDR_TEXT];

	if (s->neighbor.family)
		tn_addr_format(&s->neighbor, addr, sizeof(addr));
	json_object_object_add(o, "neighbor", s->neighbor.family ? json_object_new_string(addr) : NULL);
	json_object_object_add(o, "remoteAs", s->remote_as ? json_object_new_int64(s->remote_as) : NULL);
	json_object_object_add(o, "protocol", json_object_new_string(s->protocol));
	json_object_object_add(o, "state", json_object_new_string(s->state[0] ? s->state : "unknown"));
	json_object_object_add(o, "established", json_object_new_boolean(s->up));
	json_object_object_add(o, "since", s->since > 0 ? json_object_new_double(s->since) : NULL);
	json_object_object_add(o, "uptime", s->up ? json_object_new_double(uptime(s, now)) : NULL);
	json_object_object_add(o, "prefixesAnnounced", json_object_new_int64(s->exported));
	json_object_object_add(o, "info", nullable_string(s->info));
	json_object_object_add(o, "lastError", nullable_string(s->last_error));
	return o;
}

json_object *tn_bgp_status_json(struct tn_bgp *b)
{
	json_object *o = json_object_new_object(), *bird = json_object_new_object();
	json_object *ann = json_object_new_array(), *sess = json_object_new_array();
	double now = tn_now();

	pthread_mutex_lock(&b->mu);
	json_object_object_add(bird, "mode", json_object_new_string(b->external ? "operator" : "own"));
	json_object_object_add(bird, "socket", json_object_new_string(b->external && b->want_cfg ?
								      b->want_cfg->bird_socket : b->paths.socket));
	json_object_object_add(bird, "routesFile", json_object_new_string(b->external && b->want_cfg ?
									 b->want_cfg->bird_include : b->paths.routes));
	json_object_object_add(bird, "config", b->external ? NULL : json_object_new_string(b->paths.conf));
	json_object_object_add(bird, "pid", b->pid ? json_object_new_int(b->pid) : NULL);
	json_object_object_add(bird, "running", json_object_new_boolean(b->running));
	json_object_object_add(bird, "restarts", json_object_new_int64(b->restarts));
	json_object_object_add(bird, "lastError", nullable_string(b->error));
	json_object_object_add(o, "bird", bird);
	json_object_object_add(o, "announce", json_object_new_string(
		tn_bgp_announce_name(b->want_cfg ? b->want_cfg->announce : TN_BGP_ANNOUNCE_HEALTHY)));
	for (size_t i = 0; i < b->announced.n; i++) {
		char text[TN_ADDR_TEXT + 8];

		tn_prefix_format(&b->announced.v[i], text, sizeof(text));
		json_object_array_add(ann, json_object_new_string(text));
	}
	json_object_object_add(o, "announced", ann);
	for (size_t i = 0; i < b->nsessions; i++)
		json_object_array_add(sess, session_json(&b->sessions[i], now));
	json_object_object_add(o, "sessions", sess);
	pthread_mutex_unlock(&b->mu);
	return o;
}

void tn_bgp_metrics(struct tn_bgp *b, struct tn_buf *out)
{
	static const char *const names[] = { "up", "uptime_seconds", "prefixes_announced" };
	static const char *const help[] = {
		"1 when the BGP session with the neighbor is established.",
		"Seconds since the BGP session was established (0 when it is not).",
		"Prefixes this node announces to the neighbor.",
	};
	double now = tn_now();

	pthread_mutex_lock(&b->mu);
	tn_buf_printf(out, "# HELP tenace_bgp_prefixes_announced VIP prefixes this node asks BIRD to announce.\n"
		      "# TYPE tenace_bgp_prefixes_announced gauge\ntenace_bgp_prefixes_announced %zu\n",
		      b->announced.n);
	tn_buf_printf(out, "# HELP tenace_bgp_bird_running 1 when BIRD runs (Tenace's own) or answers (an operator's).\n"
		      "# TYPE tenace_bgp_bird_running gauge\ntenace_bgp_bird_running %d\n", b->running ? 1 : 0);
	tn_buf_printf(out, "# HELP tenace_bgp_bird_restarts_total Times Tenace started its BIRD again after it died.\n"
		      "# TYPE tenace_bgp_bird_restarts_total counter\ntenace_bgp_bird_restarts_total %u\n",
		      b->restarts);
	for (size_t k = 0; k < 3; k++) {
		tn_buf_printf(out, "# HELP tenace_bgp_session_%s %s\n# TYPE tenace_bgp_session_%s gauge\n",
			      names[k], help[k], names[k]);
		for (size_t i = 0; i < b->nsessions; i++) {
			const struct tn_bgp_session *s = &b->sessions[i];
			char addr[TN_ADDR_TEXT] = "";

			if (s->neighbor.family)
				tn_addr_format(&s->neighbor, addr, sizeof(addr));
			tn_buf_printf(out, "tenace_bgp_session_%s{neighbor=\"%s\",protocol=\"%s\"} ", names[k], addr,
				      s->protocol);
			if (k == 0)
				tn_buf_printf(out, "%d\n", s->up ? 1 : 0);
			else if (k == 1)
				tn_buf_printf(out, "%.3f\n", uptime(s, now));
			else
				tn_buf_printf(out, "%u\n", s->exported);
		}
	}
	pthread_mutex_unlock(&b->mu);
}
