/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The controller without BPF: a recording backend stands in for the data
 * plane. Staging, pending counts, refresh tasks (per zone), rollback of
 * invalid changes, API routes and errors, health-driven rebuilds, MAC
 * resolution states, take-over of pinned farm slots, and the JSON round
 * trip config -> GET /v1/config -> config.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "api/api.h"
#include "config/config.h"
#include "control/controller.h"
#include "lib/log.h"

#include "ctl_fixture.h"

/* ---- tests ---------------------------------------------------------------------- */

static void start_applies_everything(void **state)
{
	struct rec_farm *f = farm_rec(TN_L4_TCP, 1);

	assert_int_equal(rec.writes, 3);
	assert_int_equal(f->f.nservers, 2);
	assert_int_equal(f->f.proto, IPPROTO_TCP);
	assert_int_equal(f->f.stickiness, TN_STICKY_SOURCE_IP);
	assert_true(f->servers[0].up && f->servers[1].up);
	assert_int_equal(f->servers[0].ifindex, 7);
	assert_int_equal(f->servers[1].mac[5], 2);
	assert_int_equal(f->servers[0].port, 80);
	/* 1 + 2 TCP ports + 1 UDP port */
	assert_int_equal(rec.nvips, 4);
	assert_true(farm_rec(TN_L4_UDP, 1)->servers[0].backup);
	assert_int_equal(farm_rec(TN_L4_UDP, 1)->servers[0].mac[0], 0x02);
	assert_int_equal(farm_rec(TN_L4_UDP, 1)->servers[0].mac[5], 0x55);
	assert_int_equal(pending(NULL), 0);
}

static void change_is_staged_until_refresh(void **state)
{
	json_object *o = NULL;
	int writes = rec.writes;
	uint32_t id;

	assert_int_equal(req("POST", "/v1/tcp/farm/1/server", "{\"address\": \"10.0.0.3\", \"weight\": 5}", &o), 201);
	assert_string_equal(str_field(o, "serverId"), "3");
	json_object_put(o);
	assert_int_equal(rec.writes, writes);
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->f.nservers, 2);
	assert_int_equal(pending("rbx"), 1);
	assert_int_equal(pending("gra"), 0);
	assert_int_equal(req("GET", "/v1/pendingChanges", NULL, &o), 200);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), "[{\"zone\":\"rbx\",\"number\":1}]");
	json_object_put(o);

	assert_int_equal(req("POST", "/v1/refresh", "", &o), 200);
	assert_string_equal(str_field(o, "status"), "todo");
	assert_string_equal(str_field(o, "action"), "refresh");
	id = json_object_get_int(json_object_object_get(o, "id"));
	json_object_put(o);
	run_tasks();
	{
		char url[64];

		snprintf(url, sizeof(url), "/v1/task/%u", id);
		assert_int_equal(req("GET", url, NULL, &o), 200);
		assert_string_equal(str_field(o, "status"), "done");
		assert_non_null(str_field(o, "doneDate"));
		json_object_put(o);
	}
	assert_int_equal(rec.writes, writes + 1); /* only the changed farm */
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->f.nservers, 3);
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->servers[2].weight, 5);
	assert_int_equal(pending(NULL), 0);
}

static void refresh_applies_only_its_zone(void **state)
{
	json_object *o = NULL;
	int w1, w2;

	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"weight\": 3}", NULL), 200);
	assert_int_equal(req("PUT", "/v1/tcp/farm/2", "{\"balance\": \"roundrobin\"}", NULL), 200);
	assert_int_equal(pending("rbx"), 1);
	assert_int_equal(pending("gra"), 1);
	w1 = farm_rec(TN_L4_TCP, 1)->writes;
	w2 = farm_rec(TN_L4_TCP, 2)->writes;
	assert_int_equal(req("POST", "/v1/refresh", "{\"zone\": \"gra\"}", &o), 200);
	assert_string_equal(str_field(o, "zone"), "gra");
	json_object_put(o);
	run_tasks();
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->writes, w1);
	assert_int_equal(farm_rec(TN_L4_TCP, 2)->writes, w2 + 1);
	assert_int_equal(farm_rec(TN_L4_TCP, 2)->f.balance, TN_BALANCE_ROUNDROBIN);
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->servers[0].weight, 1);
	assert_int_equal(pending("gra"), 0);
	assert_int_equal(pending("rbx"), 1);
	assert_int_equal(req("POST", "/v1/refresh", "{\"zone\": \"nowhere\"}", &o), 400);
	assert_string_equal(str_field(o, "field"), "zone");
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/refresh", "{\"zone\": \"rbx\"}", NULL), 200);
	run_tasks();
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->servers[0].weight, 3);
	assert_int_equal(pending(NULL), 0);
}

static void invalid_changes_roll_back(void **state)
{
	char *before = config_text(), *after;
	json_object *o = NULL;

	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"weight\": 300}", &o), 400);
	assert_string_equal(str_field(o, "field"), "weight");
	assert_non_null(strstr(str_field(o, "message"), "0..256"));
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/tcp/farm", "{\"port\": 99999999999999999999}", &o), 400);
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/tcp/farm", "{\"port\": 80, \"colour\": \"blue\"}", &o), 400);
	assert_string_equal(str_field(o, "field"), "colour");
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/tcp/farm", "{\"port\": \"eighty\"}", NULL), 400);
	assert_int_equal(req("POST", "/v1/tcp/farm", "{\"port\": 80", NULL), 400);
	assert_int_equal(req("POST", "/v1/tcp/farm", "[1,2]", NULL), 400);
	assert_int_equal(req("POST", "/v1/tcp/farm", "{} trailing", NULL), 400);
	assert_int_equal(req("POST", "/v1/tcp/farm", "", NULL), 400);
	assert_int_equal(req("POST", "/v1/tcp/farm", "{\"type\": \"udp\"}", NULL), 400);
	assert_int_equal(req("PUT", "/v1/tcp/farm/1", "{\"farmId\": 9}", NULL), 400);
	assert_int_equal(req("POST", "/v1/tcp/frontend", "{\"vip\": [\"192.0.2.9\"], \"port\": \"80\", \"defaultFarmId\": 77}", &o), 400);
	json_object_put(o);
	/* conflicts */
	assert_int_equal(req("POST", "/v1/tcp/frontend", "{\"vip\": [\"192.0.2.1\"], \"port\": \"70-90\", \"defaultFarmId\": 2}", &o), 409);
	assert_non_null(strstr(str_field(o, "message"), "192.0.2.1"));
	json_object_put(o);
	assert_int_equal(req("DELETE", "/v1/tcp/farm/1", NULL, &o), 409);
	assert_non_null(strstr(str_field(o, "message"), "frontend 1"));
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/tcp/farm", "{\"farmId\": 2}", NULL), 409);
	after = config_text();
	assert_string_equal(before, after);
	assert_int_equal(pending(NULL), 0);
	free(before);
	free(after);
}

static void routes_and_methods(void **state)
{
	struct tn_api_response r;

	assert_int_equal(req("GET", "/v1/tcp/farm/99", NULL, NULL), 404);
	assert_int_equal(req("GET", "/v1/tcp/farm/99999999999999", NULL, NULL), 404);
	assert_int_equal(req("GET", "/v1/tcp/farm/abc", NULL, NULL), 404);
	assert_int_equal(req("GET", "/v1/tcp/farm/1/server/9", NULL, NULL), 404);
	assert_int_equal(req("GET", "/v1/sctp/farm", NULL, NULL), 404);
	assert_int_equal(req("GET", "/v2/status", NULL, NULL), 404);
	assert_int_equal(req("GET", "/v1/task/12345", NULL, NULL), 404);
	assert_int_equal(req("GET", "/v1/tcp/farm/1/server", NULL, NULL), 200);
	assert_int_equal(req("GET", "/v1/udp/frontend/1", NULL, NULL), 200);
	assert_int_equal(req("GET", "/v1/status", NULL, NULL), 200);
	assert_int_equal(req("GET", "/v1/stats", NULL, NULL), 200);
	tn_api_dispatch(ctl, "DELETE", "/v1/tcp/farm", NULL, 0, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET, POST");
	tn_api_response_free(&r);
	tn_api_dispatch(ctl, "POST", "/v1/status", NULL, 0, &r);
	assert_int_equal(r.status, 405);
	tn_api_response_free(&r);
	tn_api_dispatch(ctl, "GET", "/metrics", NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.text, "tenace_packets_total{verdict=\"xdp_tx\"} 0"));
	assert_non_null(strstr(r.text, "tenace_conntrack_lookups_total{result=\"hit\"} 0"));
	assert_null(strstr(r.text, "verdict=\"conntrack_")); /* never counted twice */
	assert_non_null(strstr(r.text, "tenace_server_up{type=\"tcp\",farm=\"1\",server=\"1\"} 1"));
	assert_non_null(strstr(r.text, "tenace_probe_transitions_total{type=\"tcp\",farm=\"1\",server=\"1\"} 0"));
	assert_non_null(strstr(r.text, "tenace_farm_generation{type=\"tcp\",farm=\"1\"} 1"));
	tn_api_response_free(&r);
}

static void crud_and_delete(void **state)
{
	json_object *o = NULL;
	int clears = rec.clears;

	assert_int_equal(req("POST", "/v1/udp/farm", "{\"port\": 5353, \"servers\": [{\"address\": \"10.0.0.31\"}]}", &o), 201);
	assert_string_equal(str_field(o, "farmId"), "2");
	json_object_put(o);
	assert_int_equal(req("PUT", "/v1/udp/farm/2", "{\"displayName\": \"mdns\"}", &o), 200);
	/* servers kept when PUT omits them */
	assert_int_equal(json_object_array_length(json_object_object_get(o, "servers")), 1);
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/udp/frontend", "{\"vip\": [\"192.0.2.7\"], \"port\": \"5353\", \"defaultFarmId\": 2}", NULL), 201);
	assert_int_equal(pending(NULL), 3);
	assert_int_equal(req("POST", "/v1/refresh", "{}", NULL), 200);
	run_tasks();
	assert_int_equal(rec.nvips, 5);
	assert_int_equal(req("DELETE", "/v1/udp/frontend/2", NULL, NULL), 200);
	assert_int_equal(req("DELETE", "/v1/udp/farm/2", NULL, NULL), 200);
	assert_int_equal(req("GET", "/v1/udp/farm/2", NULL, NULL), 404);
	assert_int_equal(pending(NULL), 3);
	assert_int_equal(req("POST", "/v1/refresh", NULL, NULL), 200);
	run_tasks();
	assert_int_equal(rec.nvips, 4);
	assert_int_equal(rec.clears, clears + 1);
}

static void config_round_trip(void **state)
{
	struct tn_config c = {0};
	struct tn_errors e = {0};
	json_object *o = NULL, *again;
	char *first = config_text();

	assert_int_equal(req("GET", "/v1/config", NULL, &o), 200);
	assert_int_equal(tn_config_from_json(o, &c, &e), 0);
	again = tn_config_to_json(&c);
	assert_string_equal(first, json_object_to_json_string_ext(again, JSON_C_TO_STRING_PLAIN));
	json_object_put(again);
	json_object_put(o);
	tn_config_free(&c);
	free(first);
}

static void health_rebuilds_from_applied_config(void **state)
{
	struct rec_farm *f = farm_rec(TN_L4_TCP, 1);
	int writes = f->writes;

	/* a staged change must not reach the data plane through a probe */
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/2", "{\"weight\": 9}", NULL), 200);
	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 1, false, "connection refused");
	assert_int_equal(f->writes, writes + 1);
	assert_false(f->servers[0].up);
	assert_true(f->servers[1].up);
	assert_int_equal(f->servers[1].weight, 1);
	/* same state again: nothing to do */
	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 1, false, "connection refused");
	assert_int_equal(f->writes, writes + 1);
	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 1, true, NULL);
	assert_true(f->servers[0].up);
	assert_int_equal(pending("rbx"), 1);
}

static void probe_targets_follow_applied(void **state)
{
	struct tn_probe_target *t = NULL;
	size_t n = 0;

	tn_ctl_lock(ctl);
	assert_int_equal(tn_ctl_probe_targets(ctl, &t, &n), 0);
	tn_ctl_unlock(ctl);
	assert_int_equal(n, 2); /* only farm tcp/1 has a probe */
	tn_ctl_probe_targets_free(t, n);
}

static void unresolved_server_is_reported_not_dropped(void **state)
{
	json_object *o = NULL, *farms, *srv;
	struct rec_farm *f;

	rec.resolve_err = -EAGAIN;
	assert_int_equal(req("POST", "/v1/tcp/farm/2/server", "{\"address\": \"10.0.0.66\"}", NULL), 201);
	assert_int_equal(req("POST", "/v1/refresh", "{\"zone\": \"gra\"}", NULL), 200);
	run_tasks();
	f = farm_rec(TN_L4_TCP, 2);
	assert_int_equal(f->f.nservers, 2);
	assert_false(f->servers[1].up);
	assert_true(f->servers[0].up);
	assert_int_equal(req("GET", "/v1/status", NULL, &o), 200);
	farms = json_object_object_get(o, "farms");
	srv = json_object_object_get(json_object_array_get_idx(farms, 1), "servers");
	assert_string_equal(str_field(json_object_array_get_idx(srv, 1), "state"), "unresolved");
	assert_non_null(str_field(json_object_array_get_idx(srv, 1), "lastError"));
	json_object_put(o);
	/* resolution succeeds later: the tick rebuilds the farm */
	rec.resolve_err = 0;
	tn_ctl_tick(ctl);
	/* the tick retries at most once a second */
	for (int i = 0; i < 30 && !f->servers[1].up; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		tn_ctl_tick(ctl);
	}
	assert_true(f->servers[1].up);
}

static void restart_takes_over_slots(void **state)
{
	struct tn_config c = {0};
	struct tn_errors e = {0};
	int slot_udp, slot_tcp2;

	slot_udp = farm_rec(TN_L4_UDP, 1) - rec.farms;
	slot_tcp2 = farm_rec(TN_L4_TCP, 2) - rec.farms;
	tn_ctl_free(ctl);
	/* a new controller, with the farms listed in another order */
	assert_int_equal(tn_config_parse_string(
		"{\"zone\": \"rbx\", \"interfaces\": [\"eth0\"], \"tableSize\": 1021, \"farms\": ["
		" {\"farmId\": 7, \"type\": \"tcp\", \"servers\": [{\"address\": \"10.0.0.7\"}]},"
		" {\"farmId\": 1, \"type\": \"udp\", \"servers\": [{\"address\": \"10.0.0.21\"}]},"
		" {\"farmId\": 2, \"type\": \"tcp\", \"servers\": [{\"address\": \"10.0.0.11\"}]}]}", &c, &e), 0);
	ctl = tn_ctl_new(&backend, NULL);
	assert_int_equal(tn_ctl_start(ctl, &c, NULL), 0);
	tn_config_free(&c);
	assert_int_equal(farm_rec(TN_L4_UDP, 1) - rec.farms, slot_udp);
	assert_int_equal(farm_rec(TN_L4_TCP, 2) - rec.farms, slot_tcp2);
	/* tcp farm 1 is gone: its slot was cleared, and farm 7 did not take a live slot */
	tn_ctl_lock(ctl);
	assert_int_equal(tn_ctl_farm_slot(ctl, TN_L4_TCP, 1), -1);
	tn_ctl_unlock(ctl);
	assert_int_not_equal(farm_rec(TN_L4_TCP, 7) - rec.farms, slot_udp);
	assert_int_equal(rec.nvips, 0);
}

/* A server the running data plane had down starts down after a restart:
 * new clients do not reach it before its own probe says it is up. */
static void restart_keeps_the_health_it_knew(void **state)
{
	struct tn_config c = {0};
	struct tn_errors e = {0};
	struct rec_farm *f;
	json_object *o = NULL, *srv;

	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 2, false, "connection refused");
	f = farm_rec(TN_L4_TCP, 1);
	assert_true(f->servers[0].up);
	assert_false(f->servers[1].up);
	tn_ctl_free(ctl);
	assert_int_equal(tn_config_parse_string(base_config, &c, &e), 0);
	ctl = tn_ctl_new(&backend, NULL);
	assert_int_equal(tn_ctl_start(ctl, &c, NULL), 0);
	tn_config_free(&c);
	f = farm_rec(TN_L4_TCP, 1);
	assert_true(f->servers[0].up);
	assert_false(f->servers[1].up); /* not unknown-counted-as-up */
	assert_int_equal(req("GET", "/v1/status", NULL, &o), 200);
	srv = json_object_object_get(json_object_array_get_idx(json_object_object_get(o, "farms"), 0), "servers");
	assert_string_equal(str_field(json_object_array_get_idx(srv, 1), "state"), "down");
	assert_non_null(strstr(str_field(json_object_array_get_idx(srv, 1), "lastError"), "running data plane"));
	json_object_put(o);
	/* its probe says up: it serves again */
	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 2, true, NULL);
	assert_true(f->servers[1].up);
	/* a server whose address changed meanwhile is not the one that was down */
	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 2, false, "connection refused");
	tn_ctl_free(ctl);
	assert_int_equal(tn_config_parse_string(
		"{\"zone\": \"rbx\", \"interfaces\": [\"eth0\"], \"tableSize\": 1021, \"farms\": ["
		" {\"farmId\": 1, \"type\": \"tcp\", \"port\": 80, \"probe\": {\"type\": \"tcp\"},"
		"  \"servers\": [{\"serverId\": 1, \"address\": \"10.0.0.1\"}, {\"serverId\": 2, \"address\": \"10.0.0.42\"}]}]}",
		&c, &e), 0);
	ctl = tn_ctl_new(&backend, NULL);
	assert_int_equal(tn_ctl_start(ctl, &c, NULL), 0);
	tn_config_free(&c);
	assert_true(farm_rec(TN_L4_TCP, 1)->servers[1].up);
}

/* Only "no such farm" frees a slot: a read that fails is tried again, and if
 * it keeps failing the start is refused before anything is written. */
static void unreadable_slots_are_never_taken_for_free(void **state)
{
	struct tn_config c = {0};
	struct tn_errors e = {0};
	int slot = farm_rec(TN_L4_TCP, 2) - rec.farms, writes, clears;
	uint64_t gen = rec.farms[slot].generation;

	tn_ctl_free(ctl);
	/* transient: two failures, then the reads answer */
	rec.fail_reads = 2;
	rec.reads_failed = 0;
	assert_int_equal(tn_config_parse_string(base_config, &c, &e), 0);
	ctl = tn_ctl_new(&backend, NULL);
	assert_int_equal(tn_ctl_start(ctl, &c, NULL), 0);
	tn_config_free(&c);
	assert_int_equal(rec.reads_failed, 2);
	assert_int_equal(farm_rec(TN_L4_TCP, 2) - rec.farms, slot); /* same slot: nobody moved */
	assert_true(rec.farms[slot].generation > gen);
	/* lasting: refused, nothing written or cleared */
	tn_ctl_free(ctl);
	writes = rec.writes;
	clears = rec.clears;
	rec.fail_reads = 1000;
	assert_int_equal(tn_config_parse_string(base_config, &c, &e), 0);
	ctl = tn_ctl_new(&backend, NULL);
	assert_int_equal(tn_ctl_start(ctl, &c, NULL), -EAGAIN);
	tn_config_free(&c);
	assert_int_equal(rec.writes, writes);
	assert_int_equal(rec.clears, clears);
	rec.fail_reads = 0;
}

/* A refresh a SIGKILL cuts short: the next controller finds its task
 * "doing" in the tasks file, shows it as an error with the reason, serves
 * the applied configuration whole, and numbers new tasks after it. */
static void an_interrupted_refresh_reads_error_after_a_restart(void **state)
{
	char dir[] = "/tmp/tenace-tasks-XXXXXX", path[64], tasks[80], killed[80];
	struct tn_config c = {0}, applied = {0};
	struct tn_errors e = {0};
	json_object *o = NULL;
	uint32_t done_id, cut_id;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/applied.json", dir);
	snprintf(tasks, sizeof(tasks), "%s.tasks", path);
	snprintf(killed, sizeof(killed), "%s/killed.tasks", dir);
	assert_int_equal(tn_ctl_set_state_path(ctl, path), 0);
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"weight\": 4}", NULL), 200);
	done_id = refresh_run();
	assert_int_equal(access(tasks, F_OK), 0);
	/* the next refresh: the tasks file as it is while its first farm is written */
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"weight\": 7}", NULL), 200);
	rec.snap_from = tasks;
	rec.snap_to = killed;
	cut_id = refresh_run();
	assert_null(rec.snap_from);
	tn_ctl_free(ctl);
	/* the restart: that file, the state file as it was before that refresh */
	copy_file(killed, tasks);
	assert_int_equal(tn_config_parse_string(base_config, &applied, &e), 0);
	tn_config_farm(&applied, TN_L4_TCP, 1)->servers[0].weight = 4;
	assert_int_equal(tn_config_parse_string(base_config, &c, &e), 0);
	ctl = tn_ctl_new(&backend, NULL);
	assert_int_equal(tn_ctl_set_state_path(ctl, path), 0);
	assert_int_equal(tn_ctl_start(ctl, &applied, &c), 0);
	tn_config_free(&applied);
	tn_config_free(&c);
	tn_ctl_lock(ctl);
	o = tn_ctl_task_json(ctl, cut_id);
	tn_ctl_unlock(ctl);
	assert_non_null(o);
	assert_string_equal(str_field(o, "status"), "error");
	assert_non_null(strstr(str_field(o, "message"), "interrupted: the controller stopped while this refresh ran"));
	json_object_put(o);
	tn_ctl_lock(ctl);
	o = tn_ctl_task_json(ctl, done_id);
	tn_ctl_unlock(ctl);
	assert_string_equal(str_field(o, "status"), "done");
	json_object_put(o);
	/* what is served is the applied configuration, whole */
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->servers[0].weight, 4);
	/* a new refresh is numbered after the interrupted one */
	assert_int_equal(req("POST", "/v1/refresh", "{}", &o), 200);
	assert_true((uint32_t)json_object_get_int(json_object_object_get(o, "id")) > cut_id);
	json_object_put(o);
	unlink(killed);
	unlink(tasks);
	unlink(path);
	rmdir(dir);
}

static void failed_write_is_an_error_task(void **state)
{
	json_object *o = NULL;
	char url[64];
	uint32_t id;

	assert_int_equal(req("PUT", "/v1/tcp/farm/1", "{\"port\": 81}", NULL), 200);
	assert_int_equal(req("POST", "/v1/refresh", NULL, &o), 200);
	id = json_object_get_int(json_object_object_get(o, "id"));
	json_object_put(o);
	rec.fail_writes = 1;
	run_tasks();
	rec.fail_writes = 0;
	snprintf(url, sizeof(url), "/v1/task/%u", id);
	assert_int_equal(req("GET", url, NULL, &o), 200);
	assert_string_equal(str_field(o, "status"), "error");
	assert_non_null(strstr(str_field(o, "message"), "farm 1"));
	json_object_put(o);
	/* the farm was not applied: it stays pending, the tick rewrites only
	 * what is applied, and the next refresh applies it */
	assert_int_equal(pending("rbx"), 1);
	tn_ctl_tick(ctl);
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->servers[0].port, 80);
	assert_int_equal(refresh_status(NULL, NULL), TN_TEST_DONE);
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->servers[0].port, 81);
	assert_int_equal(pending(NULL), 0);
}

static void failed_farm_write_keeps_the_applied_farm(void **state)
{
	const struct tn_farm_cfg *f;
	struct tn_config c = {0};
	struct tn_errors e = {0};
	char *message = NULL;

	assert_int_equal(req("PUT", "/v1/tcp/farm/1", "{\"port\": 81}", NULL), 200);
	assert_int_equal(req("PUT", "/v1/tcp/farm/2", "{\"balance\": \"roundrobin\"}", NULL), 200);
	rec.fail_proto = IPPROTO_TCP;
	rec.fail_farm = 1;
	assert_int_equal(refresh_status(NULL, &message), TN_TEST_ERROR);
	assert_non_null(strstr(message, "tcp farm 1: Input/output error"));
	assert_null(strstr(message, "farm 2"));
	free(message);
	/* farm 2 went in; farm 1 kept its applied version, in the data plane and
	 * in the controller, and its change is still pending */
	assert_int_equal(farm_rec(TN_L4_TCP, 2)->f.balance, TN_BALANCE_ROUNDROBIN);
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->servers[0].port, 80);
	tn_ctl_lock(ctl);
	f = tn_config_farm(tn_ctl_applied(ctl), TN_L4_TCP, 1);
	assert_int_equal(f->port, 80);
	assert_int_equal(tn_config_farm(tn_ctl_applied(ctl), TN_L4_TCP, 2)->balance, TN_BAL_ROUNDROBIN);
	tn_ctl_unlock(ctl);
	assert_int_equal(pending("rbx"), 1);
	assert_int_equal(pending("gra"), 0);
	/* the same through a reload (SIGHUP) */
	assert_int_equal(tn_config_parse_string(base_config, &c, &e), 0);
	c.farms[0].port = 82;
	tn_ctl_stage_lock(ctl);
	assert_int_equal(tn_ctl_reload(ctl, &c), -EIO);
	tn_ctl_stage_unlock(ctl);
	tn_ctl_lock(ctl);
	assert_int_equal(tn_config_farm(tn_ctl_applied(ctl), TN_L4_TCP, 1)->port, 80);
	assert_int_equal(tn_config_farm(tn_ctl_staged(ctl), TN_L4_TCP, 1)->port, 82);
	tn_ctl_unlock(ctl);
	tn_config_free(&c);
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->servers[0].port, 80);
	/* writes work again: the refresh retries it */
	rec.fail_proto = 0;
	assert_int_equal(refresh_status(NULL, NULL), TN_TEST_DONE);
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->servers[0].port, 82);
	assert_int_equal(pending(NULL), 0);
}

static void failed_new_farm_holds_back_the_frontends(void **state)
{
	char *message = NULL;
	int clears = rec.clears, n;

	/* a new farm and its frontend, and the removal of tcp frontend 2 and farm 2 */
	assert_int_equal(req("POST", "/v1/udp/farm", "{\"port\": 5353, \"servers\": [{\"address\": \"10.0.0.31\"}]}", NULL), 201);
	assert_int_equal(req("POST", "/v1/udp/frontend", "{\"vip\": [\"192.0.2.7\"], \"port\": \"5353\", \"defaultFarmId\": 2}", NULL), 201);
	assert_int_equal(req("DELETE", "/v1/tcp/frontend/2", NULL, NULL), 200);
	assert_int_equal(req("DELETE", "/v1/tcp/farm/2", NULL, NULL), 200);
	n = pending(NULL);
	rec.fail_proto = IPPROTO_UDP;
	rec.fail_farm = 2;
	assert_int_equal(refresh_status(NULL, &message), TN_TEST_ERROR);
	assert_non_null(strstr(message, "udp farm 2: Input/output error"));
	assert_non_null(strstr(message, "udp frontend 2: udp farm 2 is not in the data plane"));
	free(message);
	/* nothing else moved: the VIPs, tcp farm 2 still served, no slot for udp farm 2 */
	assert_int_equal(rec.nvips, 4);
	assert_int_equal(rec.clears, clears);
	tn_ctl_lock(ctl);
	assert_int_equal(tn_ctl_farm_slot(ctl, TN_L4_UDP, 2), -1);
	assert_non_null(tn_config_farm(tn_ctl_applied(ctl), TN_L4_TCP, 2));
	assert_non_null(tn_config_frontend(tn_ctl_applied(ctl), TN_L4_TCP, 2));
	assert_null(tn_config_farm(tn_ctl_applied(ctl), TN_L4_UDP, 2));
	tn_ctl_unlock(ctl);
	assert_true(farm_rec(TN_L4_TCP, 2)->used);
	assert_int_equal(pending(NULL), n);
	/* the next refresh applies everything */
	rec.fail_proto = 0;
	assert_int_equal(refresh_status(NULL, NULL), TN_TEST_DONE);
	assert_int_equal(rec.nvips, 3);
	assert_int_equal(rec.clears, clears + 1);
	assert_int_equal(pending(NULL), 0);
}

static void restart_keeps_staged_changes_pending(void **state)
{
	struct tn_config applied = {0}, staged = {0};
	struct tn_errors e = {0};

	/* the state file (applied) and a configuration file with one staged
	 * change, as a controller restarted before the refresh finds them */
	assert_int_equal(tn_config_parse_string(base_config, &applied, &e), 0);
	assert_int_equal(tn_config_parse_string(base_config, &staged, &e), 0);
	staged.farms[0].servers[0].weight = 7;
	tn_ctl_free(ctl);
	ctl = tn_ctl_new(&backend, NULL);
	assert_int_equal(tn_ctl_start(ctl, &applied, &staged), 0);
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->servers[0].weight, 1);
	assert_int_equal(pending("rbx"), 1);
	assert_int_equal(pending(NULL), 1);
	assert_int_equal(refresh_status(NULL, NULL), TN_TEST_DONE);
	assert_int_equal(farm_rec(TN_L4_TCP, 1)->servers[0].weight, 7);
	assert_int_equal(pending(NULL), 0);
}

static bool state_file_is_applied(const char *path)
{
	struct tn_config c = {0};
	struct tn_errors e = {0};
	bool same;

	if (tn_config_load_file(path, &c, &e)) {
		tn_errors_free(&e);
		return false;
	}
	tn_ctl_lock(ctl);
	same = tn_config_equal(&c, tn_ctl_applied(ctl));
	tn_ctl_unlock(ctl);
	tn_config_free(&c);
	return same;
}

static void state_file_holds_the_applied_config(void **state)
{
	char dir[] = "/tmp/tenace-state-XXXXXX", path[64];
	struct tn_config c = {0};
	struct tn_errors e = {0};

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/applied.json", dir);
	assert_int_equal(tn_ctl_set_state_path(ctl, path), 0);
	/* staging does not touch it */
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"weight\": 4}", NULL), 200);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(refresh_status(NULL, NULL), TN_TEST_DONE);
	assert_true(state_file_is_applied(path));
	/* a failed write: the file keeps the farm's applied version */
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"weight\": 5}", NULL), 200);
	rec.fail_proto = IPPROTO_TCP;
	rec.fail_farm = 1;
	assert_int_equal(refresh_status(NULL, NULL), TN_TEST_ERROR);
	rec.fail_proto = 0;
	assert_true(state_file_is_applied(path));
	assert_int_equal(tn_config_load_file(path, &c, &e), 0);
	assert_int_equal(tn_config_farm(&c, TN_L4_TCP, 1)->servers[0].weight, 4);
	tn_config_free(&c);
	/* a reload writes it too */
	assert_int_equal(tn_config_parse_string(base_config, &c, &e), 0);
	tn_ctl_stage_lock(ctl);
	assert_int_equal(tn_ctl_reload(ctl, &c), 0);
	tn_ctl_stage_unlock(ctl);
	assert_true(state_file_is_applied(path));
	assert_int_equal(tn_config_load_file(path, &c, &e), 0);
	assert_int_equal(tn_config_farm(&c, TN_L4_TCP, 1)->servers[0].weight, 1);
	tn_config_free(&c);
	unlink(path);
	rmdir(dir);
}

static void tick_after_a_second(void)
{
	struct timespec ts = { 1, 100 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	tn_ctl_tick(ctl);
}

/* The status of tcp farm FARM's server SERVER: its "health" field. */
static char *server_health(int farm, int server)
{
	json_object *o = NULL, *farms, *srv;
	char *h = NULL;

	assert_int_equal(req("GET", "/v1/status", NULL, &o), 200);
	farms = json_object_object_get(o, "farms");
	for (size_t i = 0; i < json_object_array_length(farms); i++) {
		json_object *f = json_object_array_get_idx(farms, i);

		if (strcmp(str_field(f, "type"), "tcp") || atoi(str_field(f, "farmId")) != farm)
			continue;
		srv = json_object_object_get(f, "servers");
		for (size_t j = 0; j < json_object_array_length(srv); j++)
			if (atoi(str_field(json_object_array_get_idx(srv, j), "serverId")) == server)
				h = strdup(str_field(json_object_array_get_idx(srv, j), "health"));
	}
	json_object_put(o);
	return h;
}

static void removed_servers_are_forgotten(void **state)
{
	char *h;
	int n;

	/* an unresolvable server is retried every second while configured */
	rec.resolve_err = -EAGAIN;
	assert_int_equal(req("POST", "/v1/tcp/farm/2/server", "{\"address\": \"10.0.0.66\"}", NULL), 201);
	assert_int_equal(refresh_status("gra", NULL), TN_TEST_DONE);
	n = rec.resolves_66;
	tick_after_a_second();
	assert_true(rec.resolves_66 > n);
	/* removed and refreshed: no longer */
	assert_int_equal(req("DELETE", "/v1/tcp/farm/2/server/2", NULL, NULL), 200);
	assert_int_equal(refresh_status("gra", NULL), TN_TEST_DONE);
	n = rec.resolves_66;
	tick_after_a_second();
	assert_int_equal(rec.resolves_66, n);

	/* a server down, removed only in the staged config: still known */
	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 2, false, "connection refused");
	assert_int_equal(req("DELETE", "/v1/tcp/farm/1/server/2", NULL, NULL), 200);
	h = server_health(1, 2);
	assert_string_equal(h, "down");
	free(h);
	/* removed from both, added again: it starts with a fresh health */
	assert_int_equal(refresh_status(NULL, NULL), TN_TEST_DONE);
	assert_int_equal(req("POST", "/v1/tcp/farm/1/server", "{\"serverId\": 2, \"address\": \"10.0.0.2\"}", NULL), 201);
	assert_int_equal(refresh_status(NULL, NULL), TN_TEST_DONE);
	h = server_health(1, 2);
	assert_string_equal(h, "unknown");
	free(h);
	assert_true(farm_rec(TN_L4_TCP, 1)->servers[1].up);
}

static void a_server_with_a_new_address_starts_afresh(void **state)
{
	char *h;

	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 2, false, "connection refused");
	assert_false(farm_rec(TN_L4_TCP, 1)->servers[1].up);
	/* the same serverId, another address: another server */
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/2", "{\"address\": \"10.0.0.9\"}", NULL), 200);
	assert_int_equal(refresh_status(NULL, NULL), TN_TEST_DONE);
	assert_true(farm_rec(TN_L4_TCP, 1)->servers[1].up);
	h = server_health(1, 2);
	assert_string_equal(h, "unknown");
	free(h);
	/* a weight change keeps the health */
	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 2, false, "connection refused");
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/2", "{\"weight\": 2}", NULL), 200);
	assert_int_equal(refresh_status(NULL, NULL), TN_TEST_DONE);
	assert_false(farm_rec(TN_L4_TCP, 1)->servers[1].up);
}

/* Refresh tasks queue up to a limit; past it the API says to wait, and no
 * queued refresh is ever dropped. */
static void queued_refreshes_are_never_dropped(void **state)
{
	json_object *o = NULL;
	uint32_t first = 0;
	int code = 200, n = 0;

	while (code == 200 && n < 1000) {
		code = req("POST", "/v1/refresh", "{}", &o);
		if (code == 200 && !first)
			first = json_object_get_int(json_object_object_get(o, "id"));
		json_object_put(o);
		o = NULL;
		n++;
	}
	assert_int_equal(code, 409);
	assert_true(n > 100);
	run_tasks();
	char url[64];
	snprintf(url, sizeof(url), "/v1/task/%u", first);
	assert_int_equal(req("GET", url, NULL, &o), 200);
	assert_string_equal(str_field(o, "status"), "done");
	json_object_put(o);
	assert_int_equal(refresh_status(NULL, NULL), TN_TEST_DONE);
}

static void new_ids_are_the_lowest_free(void **state)
{
	json_object *o = NULL;
	struct tn_config c = {0};
	struct tn_errors e = {0};

	/* the highest id in use does not overflow the next one */
	assert_int_equal(req("POST", "/v1/tcp/farm/1/server", "{\"serverId\": 4294967295, \"address\": \"10.0.0.5\"}", NULL), 201);
	assert_int_equal(req("POST", "/v1/tcp/farm/1/server", "{\"address\": \"10.0.0.6\"}", &o), 201);
	assert_string_equal(str_field(o, "serverId"), "3");
	json_object_put(o);
	/* a gap is filled */
	assert_int_equal(req("DELETE", "/v1/tcp/farm/1/server/1", NULL, NULL), 200);
	assert_int_equal(req("POST", "/v1/tcp/farm/1/server", "{\"address\": \"10.0.0.7\"}", &o), 201);
	assert_string_equal(str_field(o, "serverId"), "1");
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/tcp/farm", "{\"farmId\": 4294967295}", NULL), 201);
	assert_int_equal(req("POST", "/v1/tcp/farm", "{}", &o), 201);
	assert_string_equal(str_field(o, "farmId"), "3");
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/tcp/frontend", "{\"frontendId\": 4294967295, \"vip\": [\"192.0.2.8\"], \"defaultFarmId\": 3}", NULL), 201);
	assert_int_equal(req("POST", "/v1/tcp/frontend", "{\"vip\": [\"192.0.2.9\"], \"defaultFarmId\": 3}", &o), 201);
	assert_string_equal(str_field(o, "frontendId"), "3");
	json_object_put(o);
	/* per type */
	assert_int_equal(tn_config_parse_string(
		"{\"interfaces\": [\"eth0\"], \"farms\": [{\"farmId\": 1, \"type\": \"udp\"}, {\"farmId\": 2, \"type\": \"tcp\"},"
		" {\"farmId\": 4294967295, \"type\": \"udp\"}]}", &c, &e), 0);
	assert_int_equal(tn_config_next_farm_id(&c, TN_L4_UDP), 2);
	assert_int_equal(tn_config_next_farm_id(&c, TN_L4_TCP), 1);
	assert_int_equal(tn_config_next_frontend_id(&c, TN_L4_TCP), 1);
	assert_int_equal(tn_config_next_server_id(&c.farms[0]), 1);
	tn_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(start_applies_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(change_is_staged_until_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(refresh_applies_only_its_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(invalid_changes_roll_back, setup, teardown),
		cmocka_unit_test_setup_teardown(routes_and_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(crud_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(config_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(health_rebuilds_from_applied_config, setup, teardown),
		cmocka_unit_test_setup_teardown(probe_targets_follow_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(unresolved_server_is_reported_not_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(restart_takes_over_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_write_is_an_error_task, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_farm_write_keeps_the_applied_farm, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_new_farm_holds_back_the_frontends, setup, teardown),
		cmocka_unit_test_setup_teardown(restart_keeps_staged_changes_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(state_file_holds_the_applied_config, setup, teardown),
		cmocka_unit_test_setup_teardown(removed_servers_are_forgotten, setup, teardown),
		cmocka_unit_test_setup_teardown(a_server_with_a_new_address_starts_afresh, setup, teardown),
		cmocka_unit_test_setup_teardown(new_ids_are_the_lowest_free, setup, teardown),
		cmocka_unit_test_setup_teardown(restart_keeps_the_health_it_knew, setup, teardown),
		cmocka_unit_test_setup_teardown(unreadable_slots_are_never_taken_for_free, setup, teardown),
		cmocka_unit_test_setup_teardown(an_interrupted_refresh_reads_error_after_a_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(queued_refreshes_are_never_dropped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
