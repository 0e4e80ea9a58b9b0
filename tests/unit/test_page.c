/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the live page reads and is built from, without sockets: GET
 * /v1/transitions (health changes, newest first, a bounded ring) and GET
 * /v1/tasks, the page's files built into the binary (and every endpoint
 * app.js polls is one the dashboard forwards), the dashboard's Host check,
 * the session store of the TCP listener.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "ctl_start.h"
#include "api/internal.h"
#include "control/controller.h"
#include "dashboard/dashboard.h"
#include "lib/log.h"

static uint64_t gen;

static int be_farm_write(void *ctx, uint32_t slot, const struct tn_dp_farm *f, uint64_t *g)
{
	*g = ++gen;
	return 0;
}
static int be_farm_clear(void *ctx, uint32_t slot) { return 0; }
static int be_vips(void *ctx, const struct tn_vip_key *k, const struct tn_vip *v, size_t n) { return 0; }
static int be_filters(void *ctx, uint32_t i, bool allow, const struct tn_dp_prefix *p, size_t n) { return 0; }
static int be_resolve(void *ctx, const struct tn_addr *a, bool have_mac, bool trigger, struct tn_neigh_info *out,
		      char *err, size_t errlen)
{
	out->ifindex = 7;
	memcpy(out->mac, (uint8_t[]){ 2, 0, 0, 0, 0, a->bytes[3] }, 6);
	return 0;
}

static struct tn_ctl_backend backend = {
	.farm_write = be_farm_write, .farm_clear = be_farm_clear, .vips_replace = be_vips,
	.filters_set = be_filters, .resolve = be_resolve,
};

static struct tn_ctl *ctl;

static const char *cfg =
	"{\"zone\": \"pg\", \"interfaces\": [\"eth0\"], \"tableSize\": 1021, \"farms\": ["
	" {\"farmId\": 1, \"type\": \"tcp\", \"port\": 80, \"probe\": {\"type\": \"tcp\", \"interval\": 1},"
	"  \"servers\": [{\"serverId\": 1, \"address\": \"10.0.0.1\"}, {\"serverId\": 2, \"address\": \"10.0.0.2\"}]}],"
	" \"frontends\": [{\"frontendId\": 1, \"type\": \"tcp\", \"vip\": [\"192.0.2.1\"], \"port\": \"80\","
	" \"defaultFarmId\": 1}]}";

static int setup(void **state)
{
	tn_log_set_level(TN_LOG_ERROR);
	ctl = ctl_start(cfg, &backend);
	return ctl ? 0 : -1;
}

static int teardown(void **state)
{
	tn_ctl_free(ctl);
	return 0;
}

static json_object *get(const char *url)
{
	struct tn_api_response r;
	json_object *o;

	tn_api_dispatch(ctl, "GET", url, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	o = json_object_get(r.json);
	tn_api_response_free(&r);
	return o;
}

static const char *field(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void transitions_newest_first(void **state)
{
	json_object *o, *a, *x;

	o = get("/v1/transitions");
	assert_int_equal(json_object_array_length(json_object_object_get(o, "transitions")), 0);
	json_object_put(o);
	/* unknown -> up moves nothing and is no transition; unknown -> down is */
	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 1, true, NULL);
	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 2, false, "connection refused");
	tn_ctl_set_health(ctl, TN_L4_TCP, 1, 2, true, "tcp connect ok");
	o = get("/v1/transitions");
	assert_int_equal(json_object_get_int(json_object_object_get(o, "total")), 2);
	a = json_object_object_get(o, "transitions");
	assert_int_equal(json_object_array_length(a), 2);
	x = json_object_array_get_idx(a, 0);
	assert_int_equal(json_object_get_int(json_object_object_get(x, "serverId")), 2);
	assert_string_equal(field(x, "from"), "down");
	assert_string_equal(field(x, "to"), "up");
	x = json_object_array_get_idx(a, 1);
	assert_string_equal(field(x, "from"), "unknown");
	assert_string_equal(field(x, "to"), "down");
	assert_string_equal(field(x, "reason"), "connection refused");
	assert_non_null(field(x, "time"));
	json_object_put(o);
}

static void transitions_ring_keeps_the_latest(void **state)
{
	json_object *o, *a;

	for (int i = 0; i < 300; i++)
		tn_ctl_set_health(ctl, TN_L4_TCP, 1, 1, i % 2, i % 2 ? "ok" : "refused");
	o = get("/v1/transitions");
	/* i = 0: unknown -> down, then 299 changes */
	assert_int_equal(json_object_get_int(json_object_object_get(o, "total")), 300);
	a = json_object_object_get(o, "transitions");
	assert_int_equal(json_object_array_length(a), 128);
	assert_string_equal(field(json_object_array_get_idx(a, 0), "to"), "up");   /* i = 299 */
	assert_string_equal(field(json_object_array_get_idx(a, 127), "to"), "down"); /* i = 172 */
	json_object_put(o);
}

static void tasks_newest_first(void **state)
{
	struct tn_api_response r;
	json_object *o;

	o = get("/v1/tasks");
	assert_int_equal(json_object_array_length(o), 0);
	json_object_put(o);
	for (int i = 0; i < 3; i++) {
		tn_api_dispatch(ctl, "POST", "/v1/refresh", "{}", 2, &r);
		assert_int_equal(r.status, 200);
		tn_api_response_free(&r);
	}
	assert_int_equal(tn_ctl_run_tasks(ctl), 3);
	o = get("/v1/tasks");
	assert_int_equal(json_object_array_length(o), 3);
	for (int i = 0; i < 3; i++) {
		json_object *t = json_object_array_get_idx(o, i);

		assert_int_equal(json_object_get_int(json_object_object_get(t, "id")), 3 - i);
		assert_string_equal(field(t, "status"), "done");
	}
	json_object_put(o);
	tn_api_dispatch(ctl, "POST", "/v1/tasks", "{}", 2, &r);
	assert_int_equal(r.status, 405);
	tn_api_response_free(&r);
}

static char *asset_text(const char *url)
{
	const struct tn_page_asset *a = tn_page_asset(url);
	char *s;

	assert_non_null(a);
	s = malloc(*a->len + 1);
	memcpy(s, a->data, *a->len);
	s[*a->len] = 0;
	return s;
}

static void page_files_are_built_in(void **state)
{
	char *html = asset_text("/"), *js = asset_text("/app.js"), *p, *e;
	int polled = 0;

	assert_string_equal(tn_page_asset("/")->type, "text/html; charset=utf-8");
	assert_string_equal(tn_page_asset("/app.js?v=1")->type, "text/javascript; charset=utf-8");
	assert_non_null(tn_page_asset("/style.css"));
	assert_null(tn_page_asset("/v1/status"));
	assert_null(tn_page_asset("/app.jsx"));
	/* every file the page loads is one that is served */
	assert_non_null(strstr(html, "<script src=\"/app.js\""));
	assert_non_null(strstr(html, "href=\"/style.css\""));
	/* every endpoint app.js polls, the dashboard forwards */
	p = strstr(js, "const ENDPOINTS = [");
	assert_non_null(p);
	e = strchr(p, ']');
	for (p = strchr(p, '\''); p && p < e; p = strchr(strchr(p + 1, '\'') + 1, '\'')) {
		char path[64];
		bool found = false;

		snprintf(path, sizeof(path), "/v1/%.*s", (int)(strchr(p + 1, '\'') - p - 1), p + 1);
		for (size_t i = 0; tn_dashboard_paths[i]; i++)
			found |= !strcmp(tn_dashboard_paths[i], path);
		if (!found)
			fail_msg("app.js polls %s, which the dashboard does not forward", path);
		polled++;
	}
	assert_int_equal(polled, 5);
	/* the CSP forbids inline scripts: the page must have none */
	assert_null(strstr(html, "<script>"));
	free(html);
	free(js);
}

static void dashboard_host_check(void **state)
{
	assert_true(tn_dashboard_host_ok("127.0.0.1:8080", 8080));
	assert_true(tn_dashboard_host_ok("localhost:8080", 8080));
	assert_true(tn_dashboard_host_ok("[::1]:8080", 8080));
	assert_false(tn_dashboard_host_ok("127.0.0.1:8081", 8080));
	assert_false(tn_dashboard_host_ok("evil.example:8080", 8080));
	assert_false(tn_dashboard_host_ok("127.0.0.1.evil.example:8080", 8080));
	assert_false(tn_dashboard_host_ok(NULL, 8080));
}

static void a_nul_never_cuts_a_url(void **state)
{
	char a[] = "/%00", b[] = "/v1/tcp/farm/1%00x", c[] = "/v1/tcp/farm/%31";

	assert_int_equal(tn_api_unescape(NULL, NULL, a), 4);
	assert_string_equal(a, "/%00");
	assert_null(tn_page_asset(a));
	assert_int_equal(tn_api_unescape(NULL, NULL, b), strlen("/v1/tcp/farm/1%00x"));
	assert_int_equal(tn_api_unescape(NULL, NULL, c), strlen("/v1/tcp/farm/1"));
	assert_string_equal(c, "/v1/tcp/farm/1");
}

static void sessions_are_random_and_bounded(void **state)
{
	static struct sessions s;
	char first[TN_SESSION_ID_LEN + 1], id[TN_SESSION_ID_LEN + 1], bad[TN_SESSION_ID_LEN + 1];

	sessions_init(&s);
	assert_int_equal(session_new(&s, first), 0);
	assert_int_equal(strlen(first), TN_SESSION_ID_LEN);
	assert_int_equal(strspn(first, "0123456789abcdef"), TN_SESSION_ID_LEN);
	assert_true(session_valid(&s, first));
	memcpy(bad, first, sizeof(bad));
	bad[10] = bad[10] == '0' ? '1' : '0';
	assert_false(session_valid(&s, bad));
	assert_false(session_valid(&s, ""));
	assert_false(session_valid(&s, NULL));
	assert_int_equal(session_new(&s, id), 0);
	assert_string_not_equal(id, first);
	/* TN_SESSION_MAX more: the oldest (first) goes, the newest stays */
	for (int i = 0; i < TN_SESSION_MAX; i++)
		assert_int_equal(session_new(&s, id), 0);
	assert_false(session_valid(&s, first));
	assert_true(session_valid(&s, id));
	sessions_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(transitions_newest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(transitions_ring_keeps_the_latest, setup, teardown),
		cmocka_unit_test_setup_teardown(tasks_newest_first, setup, teardown),
		cmocka_unit_test(page_files_are_built_in),
		cmocka_unit_test(dashboard_host_check),
		cmocka_unit_test(a_nul_never_cuts_a_url),
		cmocka_unit_test(sessions_are_random_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
