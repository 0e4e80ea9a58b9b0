/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The controller's lock discipline and health batching, against a backend
 * whose farm writes can be held on a gate:
 * - GET /v1/status (and the other reads) answer while a refresh's farm
 *   write is in progress;
 * - a change staged during a refresh is not lost: it stays pending, GET
 *   /v1/config and the configuration file both hold it, the next refresh
 *   applies it;
 * - four API clients staging, reading and queueing refreshes while the
 *   writer runs tasks, ticks and health changes: every answer within the
 *   contract, every created server staged and in the file, then applied;
 * - 100 of 1,000 servers of one farm going down in one batch cost exactly one
 *   farm write (one at a time they cost one each);
 * - the debug assertions fire when a lock is misused.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "api/api.h"
#include "config/config.h"
#include "control/controller.h"
#include "lib/log.h"
#include "probe/probe.h"

/* Generous: only a deadlock or a lock held across the write reaches it. */
#define WAIT_S 30

/* ---- a backend with a gate on farm writes --------------------------------------- */

static struct gate {
	pthread_mutex_t m;
	pthread_cond_t cv;
	bool hold;           /* farm writes wait for release */
	bool inside;         /* a farm write is waiting at the gate */
	bool released;
	int writes;          /* completed farm writes */
	uint32_t last_farm;
	size_t last_n, last_up;
	bool up[1024];       /* by position, of the last write */
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, false, 0, 0, 0, 0, { false } };

static void deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += WAIT_S;
}

/* Wait (gate.m held) until *flag, for WAIT_S at most: whether it came. */
static bool wait_flag(bool *flag)
{
	struct timespec ts;

	deadline(&ts);
	while (!*flag)
		if (pthread_cond_timedwait(&gate.cv, &gate.m, &ts) == ETIMEDOUT)
			return *flag;
	return true;
}

static int gate_farm_write(void *ctx, uint32_t slot, const struct tn_dp_farm *f, uint64_t *gen)
{
	pthread_mutex_lock(&gate.m);
	if (gate.hold) {
		gate.inside = true;
		pthread_cond_broadcast(&gate.cv);
		wait_flag(&gate.released);
		gate.inside = false;
	}
	gate.writes++;
	gate.last_farm = f->farm_id;
	gate.last_n = f->nservers;
	gate.last_up = 0;
	for (size_t i = 0; i < f->nservers && i < 1024; i++) {
		gate.up[i] = f->servers[i].up;
		gate.last_up += f->servers[i].up;
	}
	if (gen)
		*gen = gate.writes;
	pthread_mutex_unlock(&gate.m);
	return 0;
}

static int gate_resolve(void *ctx, const struct tn_addr *a, bool have_mac, bool trigger,
			struct tn_neigh_info *out, char *err, size_t errlen)
{
	out->ifindex = 7;
	memset(out->src_mac, 0xaa, 6);
	memcpy(out->mac, (uint8_t[]){ 2, 0, 0, 0, a->bytes[2], a->bytes[3] }, 6);
	return 0;
}

static const struct tn_ctl_backend backend = {
	.farm_write = gate_farm_write,
	.resolve = gate_resolve,
};

static void gate_reset(void)
{
	pthread_mutex_lock(&gate.m);
	gate.hold = gate.inside = gate.released = false;
	gate.writes = 0;
	pthread_mutex_unlock(&gate.m);
}

static int writes(void)
{
	int n;

	pthread_mutex_lock(&gate.m);
	n = gate.writes;
	pthread_mutex_unlock(&gate.m);
	return n;
}

/* ---- fixtures ------------------------------------------------------------------------ */

static const char *config_text =
	"{\"zone\": \"rbx\", \"interfaces\": [\"eth0\"], \"tableSize\": 1021,"
	" \"farms\": [{\"farmId\": 1, \"type\": \"tcp\", \"port\": 80,"
	"   \"servers\": [{\"serverId\": 1, \"address\": \"10.0.0.1\"}, {\"serverId\": 2, \"address\": \"10.0.0.2\"}]}],"
	" \"frontends\": [{\"frontendId\": 1, \"type\": \"tcp\", \"vip\": [\"192.0.2.1\"], \"port\": \"80\","
	"   \"defaultFarmId\": 1}]}";

static struct tn_ctl *ctl;
static char dir[64], path[96];

static struct tn_ctl *start(const char *text, const char *config_path)
{
	struct tn_config c = {0};
	struct tn_errors e = {0};
	struct tn_ctl *x;

	assert_int_equal(tn_config_parse_string(text, &c, &e), 0);
	x = tn_ctl_new(&backend, config_path);
	assert_non_null(x);
	assert_int_equal(tn_ctl_start(x, &c, NULL), 0);
	tn_config_free(&c);
	return x;
}

/* The configuration file (written back by staging) in a fresh directory. */
static int setup(void **state)
{
	FILE *f;

	tn_log_set_level(TN_LOG_ERROR);
	gate_reset();
	snprintf(dir, sizeof(dir), "/tmp/tenace-locks-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/tenace.json", dir);
	if (!(f = fopen(path, "w")))
		return -1;
	fputs(config_text, f);
	fclose(f);
	ctl = start(config_text, path);
	return 0;
}

static int teardown(void **state)
{
	tn_ctl_free(ctl);
	ctl = NULL;
	unlink(path);
	rmdir(dir);
	return 0;
}

static int req(const char *method, const char *url, const char *body, json_object **out)
{
	struct tn_api_response r;
	int status;

	tn_api_dispatch(ctl, method, url, body, body ? strlen(body) : 0, &r);
	status = r.status;
	if (out)
		*out = r.json ? json_object_get(r.json) : NULL;
	tn_api_response_free(&r);
	return status;
}

static int pending(void)
{
	int n;

	tn_ctl_lock(ctl);
	n = tn_ctl_pending_count(ctl, NULL);
	tn_ctl_unlock(ctl);
	return n;
}

/* ---- threads: the writer (a refresh) and a client ------------------------------------ */

static void *run_tasks_thread(void *arg)
{
	tn_ctl_run_tasks(ctl);
	return NULL;
}

struct client {
	pthread_t thread;
	const char *method, *url, *body;
	int status;
	json_object *json;
	bool done;
};

static void *client_thread(void *arg)
{
	struct client *c = arg;
	json_object *o = NULL;
	int status = req(c->method, c->url, c->body, &o);

	pthread_mutex_lock(&gate.m);
	c->status = status;
	c->json = o;
	c->done = true;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.m);
	return NULL;
}

static void client_start(struct client *c, const char *method, const char *url, const char *body)
{
	memset(c, 0, sizeof(*c));
	c->method = method;
	c->url = url;
	c->body = body;
	assert_int_equal(pthread_create(&c->thread, NULL, client_thread, c), 0);
}

/* Whether the client answered while the farm write still waited at the gate. */
static bool client_answered_during_write(struct client *c)
{
	bool ok;

	pthread_mutex_lock(&gate.m);
	ok = wait_flag(&c->done) && gate.inside;
	pthread_mutex_unlock(&gate.m);
	return ok;
}

/* Hold farm writes, queue a refresh and run it in a thread: returns once its
 * farm write waits at the gate. */
static pthread_t refresh_held_at_the_gate(void)
{
	pthread_t writer;
	bool inside;

	assert_int_equal(req("POST", "/v1/refresh", "{}", NULL), 200);
	pthread_mutex_lock(&gate.m);
	gate.hold = true;
	gate.released = false;
	pthread_mutex_unlock(&gate.m);
	assert_int_equal(pthread_create(&writer, NULL, run_tasks_thread, NULL), 0);
	pthread_mutex_lock(&gate.m);
	inside = wait_flag(&gate.inside);
	pthread_mutex_unlock(&gate.m);
	assert_true(inside);
	return writer;
}

static void gate_release(pthread_t writer)
{
	pthread_mutex_lock(&gate.m);
	gate.released = true;
	gate.hold = false;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.m);
	pthread_join(writer, NULL);
}

static const char *str_field(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void reads_answer_during_a_farm_write(void **state)
{
	static const char *urls[] = { "/v1/status", "/v1/config", "/v1/pendingChanges", "/v1/task/1",
				      "/v1/stats", "/metrics", "/v1/tcp/farm/1" };
	struct client c[sizeof(urls) / sizeof(urls[0])];
	bool answered[sizeof(urls) / sizeof(urls[0])];
	pthread_t writer;
	size_t i;

	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"weight\": 5}", NULL), 200);
	writer = refresh_held_at_the_gate();
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		client_start(&c[i], "GET", urls[i], NULL);
		answered[i] = client_answered_during_write(&c[i]);
	}
	gate_release(writer);
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		pthread_join(c[i].thread, NULL);
		if (!answered[i])
			fail_msg("GET %s did not answer while the farm write was in progress", urls[i]);
		assert_int_equal(c[i].status, 200);
	}
	/* what the reads saw: the refresh running, its change not applied yet */
	assert_string_equal(str_field(c[3].json, "status"), "doing");
	assert_string_equal(json_object_to_json_string_ext(c[2].json, JSON_C_TO_STRING_PLAIN),
			    "[{\"zone\":\"rbx\",\"number\":1}]");
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		json_object_put(c[i].json);
	assert_int_equal(pending(), 0);
	assert_int_equal(req("GET", "/v1/task/1", NULL, NULL), 200);
}

static bool file_equals_staged(void)
{
	struct tn_config c = {0};
	struct tn_errors e = {0};
	bool same;

	if (tn_config_load_file(path, &c, &e)) {
		tn_errors_free(&e);
		return false;
	}
	tn_ctl_lock(ctl);
	same = tn_config_equal(&c, tn_ctl_staged(ctl));
	tn_ctl_unlock(ctl);
	tn_config_free(&c);
	return same;
}

static size_t applied_servers(void)
{
	size_t n;

	tn_ctl_lock(ctl);
	n = tn_config_farm(tn_ctl_applied(ctl), TN_L4_TCP, 1)->nservers;
	tn_ctl_unlock(ctl);
	return n;
}

static void a_stage_during_a_refresh_is_not_lost(void **state)
{
	struct client c;
	pthread_t writer;
	json_object *o = NULL;
	bool answered;

	assert_int_equal(req("PUT", "/v1/tcp/farm/1/server/1", "{\"weight\": 5}", NULL), 200);
	writer = refresh_held_at_the_gate();
	client_start(&c, "POST", "/v1/tcp/farm/1/server", "{\"address\": \"10.0.0.3\"}");
	answered = client_answered_during_write(&c);
	gate_release(writer);
	pthread_join(c.thread, NULL);
	assert_true(answered);             /* staging did not wait for the refresh */
	assert_int_equal(c.status, 201);
	assert_string_equal(str_field(c.json, "serverId"), "3");
	json_object_put(c.json);
	/* the refresh applied what was staged when it started; the POST stays pending */
	assert_int_equal(applied_servers(), 2);
	assert_int_equal(pending(), 1);
	assert_int_equal(req("GET", "/v1/tcp/farm/1/server/3", NULL, NULL), 200);
	assert_true(file_equals_staged());
	/* the next refresh applies it */
	assert_int_equal(req("POST", "/v1/refresh", "{}", &o), 200);
	json_object_put(o);
	tn_ctl_run_tasks(ctl);
	assert_int_equal(applied_servers(), 3);
	assert_int_equal(pending(), 0);
	assert_true(file_equals_staged());
}

/* ---- clients and writers together ------------------------------------------------------- */

#define CLIENTS 4
#define ROUNDS 40

static bool clients_done;

struct client_stats {
	int id, created, refreshed, bad;
};

static void *busy_client(void *arg)
{
	struct client_stats *s = arg;
	char body[128];

	for (int i = 0; i < ROUNDS; i++) {
		int code;

		snprintf(body, sizeof(body), "{\"address\": \"10.3.%d.%d\"}", s->id, i + 1);
		code = req("POST", "/v1/tcp/farm/1/server", body, NULL);
		s->created += code == 201;
		s->bad += code != 201;
		s->bad += req("GET", "/v1/status", NULL, NULL) != 200;
		s->bad += req("GET", "/v1/config", NULL, NULL) != 200;
		snprintf(body, sizeof(body), "{\"weight\": %d}", i % 5 + 1);
		s->bad += req("PUT", "/v1/tcp/farm/1/server/1", body, NULL) != 200;
		code = req("POST", "/v1/refresh", "{}", NULL);
		s->refreshed += code == 200;
		s->bad += code != 200 && code != 409;
	}
	return NULL;
}

static int writer_rounds;

/* The main loop's work meanwhile: tasks, ticks, health changes. It pauses 1 ms between rounds as
 * the real loop waits on its timers: a writer that never lets go starves the clients when threads
 * run one at a time (valgrind), and the test then costs minutes of CPU instead of seconds. */
static void *busy_writer(void *arg)
{
	const struct timespec pause = { .tv_nsec = 1000000 };
	uint64_t *keys = arg;
	bool up = false;

	while (!__atomic_load_n(&clients_done, __ATOMIC_ACQUIRE)) {
		struct tn_health_change c[2] = { { .key = keys[0], .up = up }, { .key = keys[1], .up = !up } };

		tn_ctl_run_tasks(ctl);
		tn_ctl_health_apply(ctl, c, 2);
		tn_ctl_tick(ctl);
		tn_ctl_prime_staged(ctl);
		up = !up;
		writer_rounds++;
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void clients_and_writers_together(void **state)
{
	struct client_stats s[CLIENTS];
	pthread_t t[CLIENTS], w;
	struct tn_probe_target *targets = NULL;
	uint64_t keys[2];
	size_t n = 0;
	int created = 0;

	/* farm 1 gets a probe so that health changes rewrite it */
	assert_int_equal(req("PUT", "/v1/tcp/farm/1", "{\"probe\": {\"type\": \"tcp\"}}", NULL), 200);
	assert_int_equal(req("POST", "/v1/refresh", "{}", NULL), 200);
	tn_ctl_run_tasks(ctl);
	tn_ctl_lock(ctl);
	assert_int_equal(tn_ctl_probe_targets(ctl, &targets, &n), 0);
	tn_ctl_unlock(ctl);
	assert_int_equal(n, 2);
	keys[0] = targets[0].key;
	keys[1] = targets[1].key;
	tn_ctl_probe_targets_free(targets, n);
	clients_done = false;
	writer_rounds = 0;
	assert_int_equal(pthread_create(&w, NULL, busy_writer, keys), 0);
	for (int i = 0; i < CLIENTS; i++) {
		s[i] = (struct client_stats){ .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, busy_client, &s[i]), 0);
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(s[i].bad, 0);
		created += s[i].created;
	}
	__atomic_store_n(&clients_done, true, __ATOMIC_RELEASE);
	pthread_join(w, NULL);
	assert_true(writer_rounds > 0);
	/* every created server is staged, in the file too; one more refresh applies them all */
	assert_int_equal(created, CLIENTS * ROUNDS);
	tn_ctl_lock(ctl);
	assert_int_equal(tn_config_farm(tn_ctl_staged(ctl), TN_L4_TCP, 1)->nservers, 2 + CLIENTS * ROUNDS);
	tn_ctl_unlock(ctl);
	assert_true(file_equals_staged());
	assert_int_equal(req("POST", "/v1/refresh", "{}", NULL), 200);
	tn_ctl_run_tasks(ctl);
	assert_int_equal(pending(), 0);
	assert_int_equal(applied_servers(), 2 + CLIENTS * ROUNDS);
}

/* ---- health batches ------------------------------------------------------------------- */

static char *big_config(void)
{
	size_t cap = 1 << 17, len = 0;
	char *s = malloc(cap);

	len += snprintf(s + len, cap - len, "{\"interfaces\": [\"eth0\"], \"tableSize\": 65537, \"farms\": ["
			"{\"farmId\": 1, \"type\": \"tcp\", \"port\": 80, \"probe\": {\"type\": \"tcp\"}, \"servers\": [");
	for (int i = 0; i < 1000; i++)
		len += snprintf(s + len, cap - len, "%s{\"address\": \"10.1.%d.%d\"}", i ? "," : "", i / 250, i % 250 + 1);
	len += snprintf(s + len, cap - len, "]}, {\"farmId\": 2, \"type\": \"tcp\", \"port\": 81, "
			"\"probe\": {\"type\": \"tcp\"}, \"servers\": [");
	for (int i = 0; i < 10; i++)
		len += snprintf(s + len, cap - len, "%s{\"address\": \"10.2.0.%d\"}", i ? "," : "", i + 1);
	snprintf(s + len, cap - len, "]}]}");
	return s;
}

/* The probe keys of farm 1's 1000 servers then farm 2's 10, in order. */
static uint64_t *probe_keys(void)
{
	struct tn_probe_target *t = NULL;
	uint64_t *keys;
	size_t n = 0;

	tn_ctl_lock(ctl);
	assert_int_equal(tn_ctl_probe_targets(ctl, &t, &n), 0);
	tn_ctl_unlock(ctl);
	assert_int_equal(n, 1010);
	keys = calloc(n, sizeof(*keys));
	for (size_t i = 0; i < n; i++)
		keys[i] = t[i].key;
	tn_ctl_probe_targets_free(t, n);
	return keys;
}

static void health_batch_costs_one_write_per_farm(void **state)
{
	struct tn_health_change *v = calloc(1010, sizeof(*v));
	char *text = big_config();
	uint64_t *keys;
	int before;

	tn_ctl_free(ctl);
	ctl = start(text, NULL);
	free(text);
	keys = probe_keys();
	/* first results, all up: unknown counts as up, nothing to rewrite */
	for (int i = 0; i < 1010; i++)
		v[i] = (struct tn_health_change){ .key = keys[i], .up = true, .reason = "connected" };
	before = writes();
	tn_ctl_health_apply(ctl, v, 1010);
	assert_int_equal(writes(), before);

	/* 100 of farm 1's 1000 servers fail together: one write of farm 1 */
	for (int i = 0; i < 100; i++)
		v[i] = (struct tn_health_change){ .key = keys[i * 10], .up = false, .reason = "connection refused" };
	tn_ctl_health_apply(ctl, v, 100);
	assert_int_equal(writes(), before + 1);
	assert_int_equal(gate.last_farm, 1);
	assert_int_equal(gate.last_n, 1000);
	assert_int_equal(gate.last_up, 900);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(gate.up[i], i % 10 != 0);

	/* the same states again: nothing changes, nothing is written */
	tn_ctl_health_apply(ctl, v, 100);
	assert_int_equal(writes(), before + 1);

	/* changes in two farms: one write each */
	v[0] = (struct tn_health_change){ .key = keys[0], .up = true, .reason = "connected" };
	v[1] = (struct tn_health_change){ .key = keys[1000], .up = false, .reason = "timeout" };
	v[2] = (struct tn_health_change){ .key = keys[1001], .up = false, .reason = "timeout" };
	v[3] = (struct tn_health_change){ .key = 999999, .up = false, .reason = "unknown key" };
	tn_ctl_health_apply(ctl, v, 4);
	assert_int_equal(writes(), before + 3);

	/* one at a time (tn_ctl_probe_result), ten changes cost ten writes */
	for (int i = 0; i < 10; i++)
		tn_ctl_probe_result(ctl, keys[i * 10 + 1], false, "connection refused");
	assert_int_equal(writes(), before + 13);
	assert_int_equal(gate.last_up, 1000 - 100 + 1 - 10);
	free(keys);
	free(v);
}

/* ---- the assertions ------------------------------------------------------------------- */

enum misuse { WRITER_UNDER_STATE_LOCK, STATUS_UNDER_STATE_LOCK, READ_WITHOUT_LOCK, STAGE_WITHOUT_STAGING_LOCK };

static void misuse(enum misuse m)
{
	struct tn_config c = {0};
	struct tn_errors e = {0};

	switch (m) {
	case WRITER_UNDER_STATE_LOCK:
		tn_ctl_lock(ctl);
		tn_ctl_tick(ctl);
		break;
	case STATUS_UNDER_STATE_LOCK:
		tn_ctl_lock(ctl);
		json_object_put(tn_ctl_status_json(ctl));
		break;
	case READ_WITHOUT_LOCK:
		(void)tn_ctl_applied(ctl);
		break;
	case STAGE_WITHOUT_STAGING_LOCK:
		tn_config_parse_string(config_text, &c, &e);
		tn_ctl_stage(ctl, &c, &e);
		break;
	}
}

/* In a child: the misuse must abort it. */
static bool aborts(enum misuse m)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		fclose(stderr); /* the assertion's message is expected */
		misuse(m);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void misused_locks_are_caught(void **state)
{
#ifdef NDEBUG
	skip();
#endif
	assert_true(aborts(WRITER_UNDER_STATE_LOCK));
	assert_true(aborts(STATUS_UNDER_STATE_LOCK));
	assert_true(aborts(READ_WITHOUT_LOCK));
	assert_true(aborts(STAGE_WITHOUT_STAGING_LOCK));
	/* and the right use runs */
	tn_ctl_tick(ctl);
	tn_ctl_lock(ctl);
	assert_non_null(tn_ctl_applied(ctl));
	tn_ctl_unlock(ctl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reads_answer_during_a_farm_write, setup, teardown),
		cmocka_unit_test_setup_teardown(a_stage_during_a_refresh_is_not_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(clients_and_writers_together, setup, teardown),
		cmocka_unit_test_setup_teardown(health_batch_costs_one_write_per_farm, setup, teardown),
		cmocka_unit_test_setup_teardown(misused_locks_are_caught, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
