/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Section control: the controller itself, on a real (unpinned, unattached)
 * data plane, its farm writes the production ones (Maglev builds, map
 * swaps); only neighbour resolution is stood in for (every server resolved
 * at once). Two figures, each against a baseline of the same run:
 *  - health: 100 of 1,000 servers failing together, reported as one batch
 *    (what the probe thread's queue gives the controller) against the same
 *    100 reported one at a time: time to the data plane serving the new
 *    table, and farm writes;
 *  - api: GET /v1/status and a POST (a staged server) while a refresh
 *    rewrites 10 farms of 1,000 servers, against the same requests idle.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tools/bench/common.h"
#include "api/api.h"
#include "config/config.h"
#include "control/controller.h"
#include "lib/buf.h"
#include "lib/log.h"

#define HEALTH_SERVERS 1000
#define HEALTH_DOWN 100
#define API_FARMS 10
#define API_SERVERS 1000      /* per farm */

/* Every server resolved at once (the bench has no neighbours to ask). */
static int fake_resolve(void *ctx, const struct tn_addr *a, bool have_mac, bool trigger,
			struct tn_neigh_info *out, char *err, size_t errlen)
{
	(void)ctx, (void)trigger, (void)err, (void)errlen;
	out->ifindex = 1;
	memset(out->src_mac, 0xaa, 6);
	if (!have_mac)
		memcpy(out->mac, (uint8_t[]){ 2, 0, a->bytes[1], a->bytes[2], a->bytes[3], 1 }, 6);
	return 0;
}

static int no_tx_port(void *ctx, uint32_t ifindex)
{
	(void)ctx, (void)ifindex;
	return 0;
}

/* nfarms tcp farms of nservers each (10.F.x.y), a tcp probe each; and a frontend. */
static char *farms_config(int nfarms, int nservers)
{
	struct tn_buf b = {0};

	tn_buf_printf(&b, "{\"interfaces\": [\"lo\"], \"farms\": [");
	for (int f = 0; f < nfarms; f++) {
		tn_buf_printf(&b, "%s{\"farmId\": %d, \"type\": \"tcp\", \"port\": 80, \"probe\": {\"type\": \"tcp\"},"
			      " \"servers\": [", f ? "," : "", f + 1);
		for (int i = 0; i < nservers; i++)
			tn_buf_printf(&b, "%s{\"address\": \"10.%d.%d.%d\"}", i ? "," : "", f + 1, i / 250, i % 250 + 1);
		tn_buf_printf(&b, "]}");
	}
	tn_buf_printf(&b, "], \"frontends\": [{\"frontendId\": 1, \"type\": \"tcp\", \"vip\": [\"192.0.2.1\"],"
		      " \"port\": \"80\", \"defaultFarmId\": 1}]}");
	return tn_buf_take(&b);
}

static struct tn_ctl *ctl_start(struct tn_dp *dp, int nfarms, int nservers)
{
	struct tn_ctl_backend be;
	struct tn_config c = {0};
	struct tn_errors e = {0};
	char *text = farms_config(nfarms, nservers);
	struct tn_ctl *ctl;

	tn_ctl_backend_dp(&be, dp);
	be.resolve = fake_resolve;
	be.tx_port_add = no_tx_port;
	if (!text || tn_config_parse_string(text, &c, &e)) {
		tn_errors_free(&e);
		free(text);
		return NULL;
	}
	free(text);
	ctl = tn_ctl_new(&be, NULL);
	if (ctl && tn_ctl_start(ctl, &c, NULL)) {
		tn_ctl_free(ctl);
		ctl = NULL;
	}
	tn_config_free(&c);
	return ctl;
}

static uint64_t farm_generation(struct tn_ctl *ctl, struct tn_dp *dp, uint32_t farm_id)
{
	struct tn_farm_hdr hdr;
	int slot;

	tn_ctl_lock(ctl);
	slot = tn_ctl_farm_slot(ctl, TN_L4_TCP, farm_id);
	tn_ctl_unlock(ctl);
	if (slot < 0 || tn_dp_farm_read(dp, (uint32_t)slot, &hdr, NULL, NULL))
		return 0;
	return hdr.generation;
}

/* ---- health: one batch against one change at a time --------------------------------- */

struct health_row {
	double batch_ms, single_ms;
	uint64_t batch_writes, single_writes;
};

static void set_all(struct tn_ctl *ctl, const struct tn_probe_target *t, size_t from, size_t n, bool up,
		    bool batch)
{
	struct tn_health_change *v = calloc(n, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		v[i].key = t[from + i].key;
		v[i].up = up;
		snprintf(v[i].reason, sizeof(v[i].reason), "%s", up ? "bench: up" : "bench: connection refused");
		if (!batch || !v)
			tn_ctl_probe_result(ctl, t[from + i].key, up, v ? v[i].reason : "bench");
	}
	if (batch && v)
		tn_ctl_health_apply(ctl, v, n);
	free(v);
}

static int health_measure(struct bench *b, struct tn_dp *dp, struct health_row *row)
{
	struct tn_ctl *ctl = ctl_start(dp, 1, HEALTH_SERVERS);
	struct tn_probe_target *t = NULL;
	double ms[2][16];
	uint64_t writes[2] = { 0, 0 };
	size_t n = 0;
	int reps = b->reps < 16 ? b->reps : 16;

	if (!ctl)
		return -EIO;
	tn_ctl_lock(ctl);
	tn_ctl_probe_targets(ctl, &t, &n);
	tn_ctl_unlock(ctl);
	if (n != HEALTH_SERVERS) {
		tn_ctl_probe_targets_free(t, n);
		tn_ctl_free(ctl);
		return -EIO;
	}
	set_all(ctl, t, 0, n, true, true); /* first results: all up */
	for (int r = 0; r < reps; r++)
		for (int mode = 0; mode < 2; mode++) { /* 0 batch, 1 one at a time */
			uint64_t g0 = farm_generation(ctl, dp, 1);
			double t0 = now_s();

			set_all(ctl, t, 0, HEALTH_DOWN, false, mode == 0);
			ms[mode][r] = (now_s() - t0) * 1e3;
			writes[mode] += farm_generation(ctl, dp, 1) - g0;
			set_all(ctl, t, 0, HEALTH_DOWN, true, true);
		}
	row->batch_ms = median(ms[0], reps);
	row->single_ms = median(ms[1], reps);
	row->batch_writes = writes[0] / reps;
	row->single_writes = writes[1] / reps;
	tn_ctl_probe_targets_free(t, n);
	tn_ctl_free(ctl);
	return 0;
}

/* ---- api: requests during a refresh against the same requests idle ------------------- */

struct api_row {
	double idle_get_ms, idle_post_ms, busy_get_max_ms, busy_post_max_ms, busy_get_med_ms, refresh_s;
	double idle_get_max_ms, idle_post_max_ms;
	int busy_requests;
};

static double request_ms(struct tn_ctl *ctl, const char *method, const char *url, const char *body, int *status)
{
	struct tn_api_response r;
	double t0 = now_s();

	tn_api_dispatch(ctl, method, url, body, body ? strlen(body) : 0, &r);
	*status = r.status;
	tn_api_response_free(&r);
	return (now_s() - t0) * 1e3;
}

static void *refresh_thread(void *arg)
{
	tn_ctl_run_tasks(arg);
	return NULL;
}

static int api_measure(struct tn_dp *dp, struct api_row *row)
{
	struct tn_ctl *ctl = ctl_start(dp, API_FARMS, API_SERVERS);
	double idle_get[20], idle_post[20], busy_get[4096];
	char url[80], body[160];
	int st, nb = 0, nbp = 0, err = 0;
	pthread_t th;
	double t0;

	if (!ctl)
		return -EIO;
	row->busy_get_max_ms = row->busy_post_max_ms = row->idle_get_max_ms = row->idle_post_max_ms = 0;
	request_ms(ctl, "GET", "/v1/status", NULL, &st); /* warm-up, not timed: the first is 4x slower */
	request_ms(ctl, "POST", "/v1/tcp/farm/1/server", "{\"address\": \"10.200.1.1\"}", &st);
	err |= st != 201;
	for (int i = 0; i < 20; i++) {
		idle_get[i] = request_ms(ctl, "GET", "/v1/status", NULL, &st);
		snprintf(body, sizeof(body), "{\"address\": \"10.200.0.%d\"}", i + 1);
		idle_post[i] = request_ms(ctl, "POST", "/v1/tcp/farm/1/server", body, &st);
		err |= st != 201;
		if (idle_get[i] > row->idle_get_max_ms)
			row->idle_get_max_ms = idle_get[i];
		if (idle_post[i] > row->idle_post_max_ms)
			row->idle_post_max_ms = idle_post[i];
	}
	/* every farm changed (one server's weight each), then one refresh of all */
	for (int f = 1; f <= API_FARMS; f++) {
		snprintf(url, sizeof(url), "/v1/tcp/farm/%d/server/1", f);
		request_ms(ctl, "PUT", url, "{\"weight\": 3}", &st);
		err |= st != 200;
	}
	request_ms(ctl, "POST", "/v1/refresh", "{}", &st);
	err |= st != 200;
	t0 = now_s();
	if (err || pthread_create(&th, NULL, refresh_thread, ctl)) {
		tn_ctl_free(ctl);
		return -EIO;
	}
	/* while it runs: a GET, then a POST, in turn (bounded: the refresh ends) */
	while (nb < 4096) {
		struct tn_api_response r;
		bool running;
		double ms;

		busy_get[nb] = request_ms(ctl, "GET", "/v1/status", NULL, &st);
		if (busy_get[nb] > row->busy_get_max_ms)
			row->busy_get_max_ms = busy_get[nb];
		nb++;
		snprintf(body, sizeof(body), "{\"address\": \"10.201.%d.%d\"}", nbp / 250, nbp % 250 + 1);
		ms = request_ms(ctl, "POST", "/v1/tcp/farm/2/server", body, &st);
		if (ms > row->busy_post_max_ms)
			row->busy_post_max_ms = ms;
		nbp++;
		tn_api_dispatch(ctl, "GET", "/v1/task/1", NULL, 0, &r);
		running = r.json && json_object_object_get(r.json, "status") &&
			  (!strcmp(json_object_get_string(json_object_object_get(r.json, "status")), "doing") ||
			   !strcmp(json_object_get_string(json_object_object_get(r.json, "status")), "todo"));
		tn_api_response_free(&r);
		if (!running)
			break;
	}
	pthread_join(th, NULL);
	row->refresh_s = now_s() - t0;
	row->idle_get_ms = median(idle_get, 20);
	row->idle_post_ms = median(idle_post, 20);
	row->busy_get_med_ms = median(busy_get, nb);
	row->busy_requests = nb + nbp;
	tn_ctl_free(ctl);
	return 0;
}

int control_section(struct bench *b)
{
	json_object *sec = json_object_new_object(), *h = json_object_new_object(), *a = json_object_new_object();
	struct health_row hr = {0};
	struct api_row ar = {0};
	struct tn_dp *dp = NULL;
	struct tn_dp_settings st;
	int err;

	printf("\n== control: the controller on a real data plane (farm writes are the production ones) ==\n");
	tn_dp_settings_default(&st);
	if ((err = tn_dp_open(&dp, "", &st))) {
		b->failures++;
		return err;
	}
	tn_log_set_level(TN_LOG_ERROR);
	err = health_measure(b, dp, &hr);
	if (!err) {
		bool ok = hr.batch_writes <= 1;

		printf("health: %d of %d servers down together: one batch %.1f ms (%llu farm write), one at a time "
		       "%.1f ms (%llu writes): %.1fx faster\n", HEALTH_DOWN, HEALTH_SERVERS, hr.batch_ms,
		       (unsigned long long)hr.batch_writes, hr.single_ms, (unsigned long long)hr.single_writes,
		       hr.single_ms / (hr.batch_ms > 0 ? hr.batch_ms : 1e-3));
		printf("target: one farm write for the batch: %s\n", pass_miss(b, ok));
		JSET(h, "batch_ms", JD(hr.batch_ms));
		JSET(h, "one_at_a_time_ms", JD(hr.single_ms));
		JSET(h, "batch_farm_writes", JI(hr.batch_writes));
		JSET(h, "one_at_a_time_farm_writes", JI(hr.single_writes));
		JSET(h, "speedup", JD(hr.single_ms / (hr.batch_ms > 0 ? hr.batch_ms : 1e-3)));
		JSET(h, "pass_one_write", JB(ok));
	}
	if (!err)
		err = api_measure(dp, &ar);
	if (!err) {
		/* a reader or a writer never waits for a farm write: what a
		 * request takes during the refresh beyond its slowest idle run
		 * (the wait) stays far under the refresh. The request's own
		 * cost is not the question (a status of 10,000 servers takes
		 * tens of ms, and a faster refresh must not turn it into a miss) */
		double get_wait = ar.busy_get_max_ms - ar.idle_get_max_ms, post_wait = ar.busy_post_max_ms - ar.idle_post_max_ms;
		bool ok = get_wait < ar.refresh_s * 1e3 / 4 && post_wait < ar.refresh_s * 1e3 / 4;

		printf("api: %d farms x %d servers; refresh of all %.2f s; during it %d requests: GET /v1/status "
		       "median %.1f ms (idle %.1f), max %.1f ms (idle %.1f); POST server max %.1f ms (idle median %.1f, "
		       "max %.1f)\n",
		       API_FARMS, API_SERVERS, ar.refresh_s, ar.busy_requests, ar.busy_get_med_ms, ar.idle_get_ms,
		       ar.busy_get_max_ms, ar.idle_get_max_ms, ar.busy_post_max_ms, ar.idle_post_ms, ar.idle_post_max_ms);
		printf("target: no request waits for the refresh (its max beyond its idle max under a quarter of the "
		       "refresh: GET %+.1f ms, POST %+.1f ms, against %.1f ms): %s\n", get_wait, post_wait,
		       ar.refresh_s * 1e3 / 4, pass_miss(b, ok));
		JSET(a, "servers", JI(API_FARMS * API_SERVERS));
		JSET(a, "refresh_s", JD(ar.refresh_s));
		JSET(a, "requests_during_refresh", JI(ar.busy_requests));
		JSET(a, "get_status_idle_ms", JD(ar.idle_get_ms));
		JSET(a, "get_status_during_median_ms", JD(ar.busy_get_med_ms));
		JSET(a, "get_status_during_max_ms", JD(ar.busy_get_max_ms));
		JSET(a, "get_status_idle_max_ms", JD(ar.idle_get_max_ms));
		JSET(a, "post_server_idle_max_ms", JD(ar.idle_post_max_ms));
		JSET(a, "post_server_idle_ms", JD(ar.idle_post_ms));
		JSET(a, "post_server_during_max_ms", JD(ar.busy_post_max_ms));
		JSET(a, "pass_no_wait", JB(ok));
	}
	tn_log_set_level(TN_LOG_INFO);
	tn_dp_close(dp);
	JSET(sec, "method", JS("tn_ctl on an unpinned tn_dp (tn_ctl_backend_dp; neighbours stood in for). health: "
			       "tn_ctl_health_apply of 100 changes vs 100 tn_ctl_probe_result, medians of the "
			       "repetitions, farm writes from the farm's generation. api: tn_api_dispatch on this "
			       "thread while tn_ctl_run_tasks runs a refresh of every farm on another."));
	JSET(sec, "health", h);
	JSET(sec, "api", a);
	JSET(b->root, "control", sec);
	if (err) {
		tn_err("bench: the control section failed: %s", strerror(-err));
		b->failures++;
	}
	return err;
}
