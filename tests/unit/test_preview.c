/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What a refresh will move, before it moves it (control/preview.c), on the
 * recording backend (ctl_fixture.h), whose farm values are composed as the
 * data plane composes them and whose conntrack the test fills: the dry run
 * writes nothing; its counts of tracked clients that move (expired and stale
 * entries apart), of table entries changing owner and of each server's
 * entries are those of the refresh that follows; maxMovedPercent refuses
 * (409 at the API, an error task when it runs) with nothing applied; bad
 * input is a 400 naming the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <unistd.h>
#include <cmocka.h>
#include "ctl_fixture.h"

#define SEC 1000000000ULL

static int slot_of_farm(enum tn_l4_type t, uint32_t id)
{
	return (int)(farm_rec(t, id) - rec.farms);
}

/* The server's slot in the farm's value. */
static int server_slot(const struct rec_farm *r, uint32_t server_id)
{
	for (int s = 0; s < TN_MAX_SERVERS; s++)
		if ((r->value->servers[s].flags & TN_SRV_F_USED) && r->value->servers[s].server_id == server_id)
			return s;
	fail_msg("no server %u in the farm", server_id);
	return -1;
}

/* A tracked client of farm_slot on server slot s (tag: the server's, unless given). */
static void track(int farm_slot, uint32_t client, int s, uint32_t tag, uint64_t age_ns)
{
	struct tn_ct_key *k = &rec.ct_keys[rec.nct];
	struct tn_ct_value *v = &rec.ct_vals[rec.nct];

	assert_true(rec.nct < REC_CT_MAX);
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->family = 4;
	k->src[0] = 10;
	k->src[1] = 1;
	k->src[2] = (uint8_t)(client >> 8);
	k->src[3] = (uint8_t)client;
	k->farm_slot = (uint16_t)farm_slot;
	v->slot = (uint16_t)s;
	v->tag = tag;
	v->last_seen_ns = rec.clk.now_ns - age_ns;
	rec.nct++;
}

/* tcp farm 1: 60 clients on server 1, 40 on server 2, 5 expired, 3 whose
 * server slot holds another tag (stale), 4 of tcp farm 2 (not previewed). */
static void fill_conntrack(void)
{
	struct rec_farm *r = farm_rec(TN_L4_TCP, 1), *r2 = farm_rec(TN_L4_TCP, 2);
	int slot = slot_of_farm(TN_L4_TCP, 1), s1 = server_slot(r, 1), s2 = server_slot(r, 2);
	uint32_t c = 0;

	rec.clk = (struct tn_ct_clock){ .now_ns = 100000 * SEC, .tcp_timeout_ns = 900 * SEC, .udp_timeout_ns = 300 * SEC };
	for (int i = 0; i < 60; i++)
		track(slot, c++, s1, r->value->servers[s1].tag, 10 * SEC);
	for (int i = 0; i < 40; i++)
		track(slot, c++, s2, r->value->servers[s2].tag, (900 - 1) * SEC); /* still alive: within the timeout */
	for (int i = 0; i < 3; i++)
		track(slot, c++, s1, r->value->servers[s1].tag ^ 1, SEC);
	for (int i = 0; i < 4; i++)
		track(slot_of_farm(TN_L4_TCP, 2), c++, server_slot(r2, 1), r2->value->servers[server_slot(r2, 1)].tag, SEC);
}

static json_object *farm_of(json_object *farms, const char *type, int id)
{
	for (size_t i = 0; i < json_object_array_length(farms); i++) {
		json_object *f = json_object_array_get_idx(farms, i);

		if (!strcmp(str_field(f, "type"), type) && json_object_get_int(json_object_object_get(f, "farmId")) == id)
			return f;
	}
	fail_msg("no %s farm %d in the preview", type, id);
	return NULL;
}

static json_object *server_of(json_object *farm, int id, const char *change)
{
	json_object *sv = json_object_object_get(farm, "servers");

	for (size_t i = 0; i < json_object_array_length(sv); i++) {
		json_object *s = json_object_array_get_idx(sv, i);

		if (json_object_get_int(json_object_object_get(s, "serverId")) == id &&
		    (!change || !strcmp(str_field(s, "change"), change)))
			return s;
	}
	fail_msg("no server %d in the preview", id);
	return NULL;
}

static int64_t num(json_object *o, const char *k)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return json_object_get_int64(v);
}

static double dbl(json_object *o, const char *k)
{
	return json_object_get_double(json_object_object_get(o, k));
}

/* POST /v1/refresh {"dryRun": true}: the preview's tcp farm 1 (o to put). */
static json_object *dry_run(json_object **o)
{
	assert_int_equal(req("POST", "/v1/refresh", "{\"dryRun\": true}", o), 200);
	assert_true(json_object_get_boolean(json_object_object_get(*o, "dryRun")));
	return farm_of(json_object_object_get(*o, "farms"), "tcp", 1);
}

/* Table entries whose owner (identity tag) differs between two values. */
static int owners_changed(const struct tn_farm *a, const struct tn_farm *b)
{
	int n = 0;

	for (int i = 0; i < REC_TABLE_SIZE; i++) {
		uint32_t ta = a->table[i] < TN_MAX_SERVERS ? a->servers[a->table[i]].tag : 0;
		uint32_t tb = b->table[i] < TN_MAX_SERVERS ? b->servers[b->table[i]].tag : 0;

		n += ta != tb;
	}
	return n;
}

static int entries_of(const struct tn_farm *f, int s)
{
	int n = 0;

	for (int i = 0; i < REC_TABLE_SIZE; i++)
		n += f->table[i] == s;
	return n;
}

static void a_removed_server_moves_its_tracked_clients(void **state)
{
	struct rec_farm *r = farm_rec(TN_L4_TCP, 1);
	struct tn_farm *before = malloc(sizeof(*before));
	json_object *o = NULL, *f;
	int writes, s1 = server_slot(r, 1), s2 = server_slot(r, 2);
	uint64_t gen = r->generation;

	assert_non_null(before);
	fill_conntrack();
	memcpy(before, r->value, sizeof(*before));
	assert_int_equal(req("DELETE", "/v1/tcp/farm/1/server/2", NULL, NULL), 200);
	writes = rec.writes;
	f = dry_run(&o);
	assert_int_equal(json_object_array_length(json_object_object_get(o, "farms")), 1); /* farm 2: untouched */
	assert_string_equal(str_field(f, "change"), "changed");
	assert_int_equal(num(f, "trackedClients"), 100);
	assert_int_equal(num(f, "movedClients"), 40);
	assert_true(dbl(f, "movedPercent") == 40.0);
	assert_int_equal(num(f, "expiredClients"), 0);
	assert_int_equal(num(f, "staleClients"), 3);
	assert_int_equal(num(server_of(f, 1, "kept"), "trackedClients"), 60);
	assert_int_equal(num(server_of(f, 1, "kept"), "movedClients"), 0);
	assert_int_equal(num(server_of(f, 2, "removed"), "trackedClients"), 40);
	assert_int_equal(num(server_of(f, 2, "removed"), "movedClients"), 40);
	assert_int_equal(num(server_of(f, 2, "removed"), "entriesBefore"), entries_of(before, s2));
	assert_int_equal(num(server_of(f, 2, "removed"), "entriesAfter"), 0);
	assert_true(dbl(server_of(f, 1, "kept"), "newClientPercent") == 100.0);
	/* nothing written: the data plane's farm is the one before */
	assert_int_equal(rec.writes, writes);
	assert_int_equal(r->generation, gen);
	assert_int_equal(owners_changed(before, r->value), 0);
	assert_int_equal(pending(NULL), 1);
	assert_true(rec.builds > 0 && rec.ct_walks > 0);

	/* the refresh then does what the preview said */
	refresh_run();
	assert_int_equal(r->generation, gen + 1);
	assert_int_equal(num(f, "entriesChanged"), owners_changed(before, r->value));
	assert_int_equal(num(f, "entriesChanged"), entries_of(before, s2)); /* Maglev: only its entries move */
	assert_int_equal(num(server_of(f, 1, "kept"), "entriesAfter"), entries_of(r->value, s1));
	assert_int_equal(entries_of(r->value, s1), REC_TABLE_SIZE);
	json_object_put(o);
	free(before);
}

static void a_weight_change_moves_entries_not_tracked_clients(void **state)
{
	struct rec_farm *r = farm_rec(TN_L4_TCP, 1);
	struct tn_farm *before = malloc(sizeof(*before));
	json_object *o = NULL, *f;
	int s1 = server_slot(r, 1);

	assert_non_null(before);
	fill_conntrack();
	memcpy(before, r->value, sizeof(*before));
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"weight\": 3}", NULL), 200);
	f = dry_run(&o);
	assert_int_equal(num(f, "trackedClients"), 100);
	assert_int_equal(num(f, "movedClients"), 0);
	assert_true(num(f, "entriesChanged") > 0);
	assert_true(dbl(server_of(f, 1, NULL), "weightPercent") == 75.0);
	assert_true(dbl(server_of(f, 2, NULL), "weightPercent") == 25.0);
	/* Maglev's shares are the weights within an entry */
	assert_true(fabs(dbl(server_of(f, 1, NULL), "newClientPercent") - 75.0) < 0.2);
	refresh_run();
	assert_int_equal(num(f, "entriesChanged"), owners_changed(before, r->value));
	assert_int_equal(num(server_of(f, 1, NULL), "entriesBefore"), entries_of(before, s1));
	assert_int_equal(num(server_of(f, 1, NULL), "entriesAfter"), entries_of(r->value, s1));
	json_object_put(o);
	free(before);
}

/* Idle past the timeout, a client keeps a server still in the table (it is
 * tracked, and moves when the refresh drains that server); once its server
 * is out of the table it is decided again at its next packet anyway. */
static void idle_clients_follow_the_table_their_server_is_in(void **state)
{
	struct rec_farm *r = farm_rec(TN_L4_TCP, 1);
	int slot = slot_of_farm(TN_L4_TCP, 1), s1 = server_slot(r, 1), s2 = server_slot(r, 2);
	json_object *o = NULL, *f;

	rec.clk = (struct tn_ct_clock){ .now_ns = 100000 * SEC, .tcp_timeout_ns = 900 * SEC, .udp_timeout_ns = 300 * SEC };
	for (uint32_t i = 0; i < 20; i++)
		track(slot, i, i < 10 ? s1 : s2, r->value->servers[i < 10 ? s1 : s2].tag, (900 + 2) * SEC);
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/2", "{\"weight\": 0}", NULL), 200);
	f = dry_run(&o);
	assert_int_equal(num(f, "trackedClients"), 20);
	assert_int_equal(num(f, "expiredClients"), 0);
	assert_int_equal(num(f, "movedClients"), 10);
	assert_int_equal(num(server_of(f, 1, NULL), "movedClients"), 0);
	assert_int_equal(num(server_of(f, 2, NULL), "movedClients"), 10);
	json_object_put(o);
	refresh_run();
	/* server 2 drained now: its idle clients are past keeping */
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"weight\": 2}", NULL), 200);
	f = dry_run(&o);
	assert_int_equal(num(f, "trackedClients"), 10);
	assert_int_equal(num(f, "expiredClients"), 10);
	assert_int_equal(num(f, "movedClients"), 0);
	json_object_put(o);
}

static json_object *status_server(json_object *st, int id)
{
	json_object *farms = json_object_object_get(st, "farms");

	for (size_t i = 0; i < json_object_array_length(farms); i++) {
		json_object *f = json_object_array_get_idx(farms, i);

		if (!strcmp(str_field(f, "type"), "tcp") && num(f, "farmId") == 1)
			return server_of(f, id, NULL);
	}
	fail_msg("no tcp farm 1 in the status");
	return NULL;
}

/* Draining needs to know when it is done: status counts each server's
 * tracked clients from the conntrack, as the data plane would send them. */
static void status_counts_tracked_clients(void **state)
{
	struct rec_farm *r = farm_rec(TN_L4_TCP, 1);
	int slot = slot_of_farm(TN_L4_TCP, 1), s2 = server_slot(r, 2);
	json_object *o = NULL;

	assert_int_equal(req("GET", "/v1/status", NULL, &o), 200);
	assert_true(json_object_is_type(json_object_object_get(status_server(o, 1), "trackedClients"), json_type_null));
	json_object_put(o);
	fill_conntrack();
	tn_ctl_tick(ctl);
	assert_int_equal(req("GET", "/v1/status", NULL, &o), 200);
	assert_int_equal(num(status_server(o, 1), "trackedClients"), 60);      /* the 3 stale ones not */
	assert_int_equal(num(status_server(o, 2), "trackedClients"), 40);
	assert_int_equal(num(json_object_object_get(o, "conntrack"), "entries"), 107);
	json_object_put(o);
	/* server 2 drained: its clients stay until idle past the timeout, then it is done */
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/2", "{\"weight\": 0}", NULL), 200);
	refresh_run();
	for (uint32_t i = 0; i < 10; i++)
		track(slot, 1000 + i, s2, r->value->servers[s2].tag, 10 * SEC);  /* 10 of them busy again */
	usleep(2100 * 1000);                            /* the next count comes after 2 s at the soonest */
	tn_ctl_tick(ctl);
	assert_int_equal(req("GET", "/v1/status", NULL, &o), 200);
	assert_int_equal(num(status_server(o, 2), "trackedClients"), 50);
	json_object_put(o);
	rec.clk.now_ns += 900 * SEC;                    /* every entry idle past the timeout */
	usleep(2100 * 1000);
	tn_ctl_tick(ctl);
	assert_int_equal(req("GET", "/v1/status", NULL, &o), 200);
	assert_int_equal(num(status_server(o, 2), "trackedClients"), 0);       /* drained: done */
	assert_int_equal(num(status_server(o, 1), "trackedClients"), 60);      /* in the table: kept */
	json_object_put(o);
}

/* A new address is a new identity: its tracked clients move. */
static void a_new_address_moves_the_servers_clients(void **state)
{
	json_object *o = NULL, *f;

	fill_conntrack();
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"address\": \"10.0.0.5\"}", NULL), 200);
	f = dry_run(&o);
	assert_int_equal(num(f, "trackedClients"), 100);
	assert_int_equal(num(f, "movedClients"), 60);
	assert_int_equal(num(server_of(f, 1, "removed"), "movedClients"), 60);
	assert_string_equal(str_field(server_of(f, 1, "added"), "address"), "10.0.0.5");
	json_object_put(o);
}

/* A down server given a new address starts afresh (health unknown: up), in
 * the preview as in the refresh. */
static void a_down_server_readdressed_is_previewed_up(void **state)
{
	struct rec_farm *r = farm_rec(TN_L4_TCP, 1);
	json_object *o = NULL, *f, *s;

	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 1, false, "connection refused");
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"address\": \"10.0.0.5\"}", NULL), 200);
	f = dry_run(&o);
	s = server_of(f, 1, "added");
	assert_string_equal(str_field(s, "state"), "up");
	assert_true(num(s, "entriesAfter") > 0);
	refresh_run();
	assert_int_equal(num(s, "entriesAfter"), entries_of(r->value, server_slot(r, 1)));
	json_object_put(o);
}

/* A server down already: its clients are rescheduled at their next packet
 * whatever the refresh does (stale), not moved by it. */
static void clients_of_a_down_server_are_not_counted_as_moved(void **state)
{
	json_object *o = NULL, *f;

	fill_conntrack();
	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 2, false, "connection refused");
	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"weight\": 2}", NULL), 200);
	f = dry_run(&o);
	assert_int_equal(num(f, "trackedClients"), 60);
	assert_int_equal(num(f, "staleClients"), 43);
	assert_int_equal(num(f, "movedClients"), 0);
	assert_string_equal(str_field(server_of(f, 2, NULL), "state"), "down");
	assert_int_equal(num(server_of(f, 2, NULL), "entriesAfter"), 0);
	json_object_put(o);
}

static void max_moved_refuses_with_nothing_applied(void **state)
{
	struct rec_farm *r = farm_rec(TN_L4_TCP, 1);
	json_object *o = NULL;
	uint64_t gen = r->generation;
	uint32_t id;
	int writes;

	fill_conntrack();
	assert_int_equal(req("DELETE", "/v1/tcp/farm/1/server/2", NULL, NULL), 200);
	writes = rec.writes;
	assert_int_equal(req("POST", "/v1/refresh", "{\"maxMovedPercent\": 39.5}", &o), 409);
	assert_non_null(strstr(str_field(o, "message"), "tcp farm 1 would move 40 of its 100 tracked clients (40.00 %)"));
	assert_string_equal(str_field(o, "field"), "maxMovedPercent");
	json_object_put(o);
	run_tasks();
	assert_int_equal(rec.writes, writes);
	assert_int_equal(r->generation, gen);
	assert_int_equal(pending(NULL), 1);

	/* a dry run with the limit says it would be refused, and applies nothing either */
	assert_int_equal(req("POST", "/v1/refresh?dryRun=true&maxMovedPercent=10", "{}", &o), 200);
	assert_non_null(strstr(str_field(o, "refused"), "tcp farm 1 would move 40"));
	json_object_put(o);

	/* the task checks again when it runs: a change staged after the API's check is held to it */
	tn_ctl_lock(ctl);
	assert_int_equal(tn_ctl_refresh_max_moved(ctl, NULL, 10, &id), 0);
	tn_ctl_unlock(ctl);
	run_tasks();
	assert_int_equal(rec.writes, writes);
	assert_int_equal(pending(NULL), 1);
	tn_ctl_lock(ctl);
	o = tn_ctl_task_json(ctl, id);
	tn_ctl_unlock(ctl);
	assert_string_equal(str_field(o, "status"), "error");
	assert_non_null(strstr(str_field(o, "message"), "refused: tcp farm 1 would move 40"));
	assert_non_null(strstr(str_field(o, "message"), "nothing applied"));
	json_object_put(o);

	/* at the share itself it applies (more than N % is refused, not N %) */
	assert_int_equal(refresh_status(NULL, NULL), TN_TEST_DONE);
}

static void max_moved_applies_within_the_limit(void **state)
{
	struct rec_farm *r = farm_rec(TN_L4_TCP, 1);
	json_object *o = NULL;
	uint64_t gen = r->generation;

	fill_conntrack();
	assert_int_equal(req("DELETE", "/v1/tcp/farm/1/server/2", NULL, NULL), 200);
	assert_int_equal(req("POST", "/v1/refresh", "{\"maxMovedPercent\": 40}", &o), 200);
	assert_string_equal(str_field(o, "status"), "todo");
	json_object_put(o);
	run_tasks();
	assert_int_equal(r->generation, gen + 1);
	assert_int_equal(pending(NULL), 0);
}

static void pending_detail_and_bad_input(void **state)
{
	json_object *o = NULL, *f;

	fill_conntrack();
	assert_int_equal(req("GET", "/v1/pendingChanges?detail=true", NULL, &o), 200);
	assert_int_equal(json_object_array_length(json_object_object_get(o, "changes")), 0);
	assert_int_equal(json_object_array_length(json_object_object_get(o, "farms")), 0);
	json_object_put(o);
	assert_int_equal(req("DELETE", "/v1/tcp/farm/1/server/2", NULL, NULL), 200);
	assert_int_equal(req("GET", "/v1/pendingChanges?detail=true", NULL, &o), 200);
	f = farm_of(json_object_object_get(o, "farms"), "tcp", 1);
	assert_int_equal(num(f, "movedClients"), 40);
	assert_string_equal(str_field(json_object_array_get_idx(json_object_object_get(o, "changes"), 0), "zone"),
			    "rbx");
	json_object_put(o);
	/* the plain body is unchanged */
	assert_int_equal(req("GET", "/v1/pendingChanges", NULL, &o), 200);
	assert_true(json_object_is_type(o, json_type_array));
	json_object_put(o);

	assert_int_equal(req("GET", "/v1/pendingChanges?detail=maybe", NULL, &o), 400);
	assert_string_equal(str_field(o, "field"), "detail");
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/refresh", "{\"dryRun\": \"yes\"}", &o), 400);
	assert_string_equal(str_field(o, "field"), "dryRun");
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/refresh", "{\"maxMovedPercent\": 150}", &o), 400);
	assert_string_equal(str_field(o, "field"), "maxMovedPercent");
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/refresh?maxMovedPercent=ten", "{}", &o), 400);
	assert_string_equal(str_field(o, "field"), "maxMovedPercent");
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/refresh", "{\"dryRun\": true, \"zone\": \"nowhere\"}", &o), 400);
	assert_string_equal(str_field(o, "field"), "zone");
	json_object_put(o);
	assert_int_equal(req("POST", "/v1/refresh", "{\"dry\": true}", &o), 400);
	assert_string_equal(str_field(o, "field"), "dry");
	json_object_put(o);
	assert_int_equal(pending(NULL), 1); /* nothing of it applied */
}

/* A zone's dry run previews only that zone's farms. */
static void a_zone_previews_its_own_farms(void **state)
{
	json_object *o = NULL;

	fill_conntrack();
	assert_int_equal(req("PUT", "/v1/tcp/farm/2/server/1", "{\"weight\": 2}", NULL), 200);
	assert_int_equal(req("DELETE", "/v1/tcp/farm/1/server/2", NULL, NULL), 200);
	assert_int_equal(req("POST", "/v1/refresh", "{\"dryRun\": true, \"zone\": \"gra\"}", &o), 200);
	assert_int_equal(json_object_array_length(json_object_object_get(o, "farms")), 1);
	farm_of(json_object_object_get(o, "farms"), "tcp", 2);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_removed_server_moves_its_tracked_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(a_weight_change_moves_entries_not_tracked_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(idle_clients_follow_the_table_their_server_is_in, setup, teardown),
		cmocka_unit_test_setup_teardown(status_counts_tracked_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(a_new_address_moves_the_servers_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(clients_of_a_down_server_are_not_counted_as_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(a_down_server_readdressed_is_previewed_up, setup, teardown),
		cmocka_unit_test_setup_teardown(max_moved_refuses_with_nothing_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(max_moved_applies_within_the_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(pending_detail_and_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(a_zone_previews_its_own_farms, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
