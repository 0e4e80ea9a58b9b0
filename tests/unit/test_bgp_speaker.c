/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The BGP speaker with a real BIRD 2, alone in a network namespace of its
 * own (so it never meets another test's BIRD on port 179): BIRD started
 * with our generated configuration, routes added and withdrawn by
 * `configure`, BIRD killed and started again, taken over by a new speaker
 * (no restart, same routes), stopped by a graceful shutdown, and a missing
 * `bird` reported. Needs root (a network namespace) and bird2.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "bgp/bird.h"
#include "bgp/speaker.h"
#include "lib/file.h"
#include "lib/time.h"

static char dir[64];
static struct tn_bgp_neighbor peer;
static struct tn_bgp_cfg cfg;

static struct tn_addr A(const char *s)
{
	struct tn_addr a;

	assert_int_equal(tn_addr_parse(s, &a), 0);
	return a;
}

static int group_setup(void **state)
{
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "# unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
		return -1;
	}
	/* BIRD refuses loopback neighbors: a veth with a neighbor nobody answers for */
	if (system("ip link set lo up && ip link add d0 type veth peer name d1 && ip addr add 10.0.0.2/24 dev d0 && "
		   "ip link set d0 up && ip link set d1 up"))
		return -1;
	peer = (struct tn_bgp_neighbor){ .address = A("10.0.0.1"), .remote_as = 65000, .port = 179 };
	cfg = (struct tn_bgp_cfg){ .local_as = 65010, .has_router_id = true, .router_id = A("10.0.0.2"),
				   .neighbors = &peer, .nneighbors = 1, .hold_time = 3 };
	return 0;
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/tenace-bgp-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

/* Whatever a failed test left: its BIRD, its files. */
static int teardown(void **state)
{
	struct tn_bird_paths p;
	struct tn_bird_proc proc;
	char cmd[128];

	if (tn_bird_paths_in(dir, &p) == 0 && tn_bird_find_running(&proc, &p))
		tn_bird_stop(&proc, 2000);
	snprintf(cmd, sizeof(cmd), "/bin/rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

/* BIRD's own table, through its socket: NULL when it does not answer. */
static char *bird_routes(void)
{
	struct tn_bird_paths p;
	struct tn_birdc c;
	struct tn_buf r = {0};
	char err[300];
	int code;

	assert_int_equal(tn_bird_paths_in(dir, &p), 0);
	if (tn_birdc_open(&c, p.socket, 1000, err, sizeof(err)))
		return NULL;
	if (tn_birdc_cmd(&c, "show route", 2000, &r, &code, err, sizeof(err))) {
		tn_birdc_close(&c);
		tn_buf_free(&r);
		return NULL;
	}
	tn_birdc_close(&c);
	return tn_buf_take(&r);
}

static bool routes_are(const char *want1, const char *want2, const char *absent)
{
	char *r = bird_routes();
	bool ok = r && (!want1 || strstr(r, want1)) && (!want2 || strstr(r, want2)) && (!absent || !strstr(r, absent));

	free(r);
	return ok;
}

#define WAIT_FOR(secs, cond)                                                          \
	do {                                                                          \
		double end_ = tn_monotonic() + (secs);                                \
		while (!(cond) && tn_monotonic() < end_)                              \
			usleep(50 * 1000);                                            \
		if (!(cond))                                                          \
			fail_msg("not within %d s: %s", (int)(secs), #cond);          \
	} while (0)

static json_object *get(json_object *o, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = json_object_object_get(o, k);
	return o;
}

/* A field of the speaker's status, as an integer (-1 when null) */
static long status_int(struct tn_bgp *b, const char *path)
{
	json_object *s = tn_bgp_status_json(b), *v = get(s, path);
	long r = v ? (long)json_object_get_int64(v) : -1;

	json_object_put(s);
	return r;
}

static bool status_has(struct tn_bgp *b, const char *path)
{
	json_object *s = tn_bgp_status_json(b);
	bool has = get(s, path) != NULL;

	json_object_put(s);
	return has;
}

static size_t nsessions(struct tn_bgp *b)
{
	json_object *s = tn_bgp_status_json(b);
	size_t n = json_object_array_length(get(s, "sessions"));

	json_object_put(s);
	return n;
}

static struct tn_prefixes set_of(const char *a, const char *b)
{
	struct tn_prefixes p = {0};
	struct tn_addr x;

	if (a) {
		x = A(a);
		assert_int_equal(tn_prefixes_add(&p, &x), 0);
	}
	if (b) {
		x = A(b);
		assert_int_equal(tn_prefixes_add(&p, &x), 0);
	}
	return p;
}

static void test_speaker_lifecycle(void **state)
{
	struct tn_prefixes p = set_of("10.1.1.1", "fd00::1"), cur = {0};
	struct tn_bgp *b = NULL;
	json_object *st, *sess;
	long pid, pid2;
	char *text = NULL;
	size_t len;

	assert_int_equal(tn_bgp_new(&b, dir), 0);
	assert_int_equal(tn_bgp_configure(b, &cfg), 0);
	assert_int_equal(tn_bgp_announce(b, &p), 0);
	tn_prefixes_free(&p);
	/* BIRD runs our configuration and carries both blackhole routes */
	WAIT_FOR(10, routes_are("10.1.1.1/32          blackhole [tenace4", "fd00::1/128", NULL));
	WAIT_FOR(5, status_int(b, "bird.running") == 1);
	pid = status_int(b, "bird.pid");
	assert_true(pid > 1);
	WAIT_FOR(3, nsessions(b) == 1);
	st = tn_bgp_status_json(b);
	sess = get(st, "sessions");
	assert_int_equal(json_object_array_length(sess), 1);
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(sess, 0), "neighbor")), "10.0.0.1");
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(sess, 0), "protocol")),
			    "peer4_10_0_0_1");
	assert_false(json_object_get_boolean(get(json_object_array_get_idx(sess, 0), "established")));
	assert_string_equal(json_object_to_json_string(get(st, "announced")), "[ \"10.1.1.1\\/32\", \"fd00::1\\/128\" ]");
	json_object_put(st);

	/* withdrawn at once */
	assert_int_equal(tn_bgp_announce(b, &p), 0);
	WAIT_FOR(2, routes_are(NULL, NULL, "10.1.1.1/32"));

	/* BIRD killed: started again, with what it must announce */
	p = set_of("10.1.1.2", NULL);
	assert_int_equal(tn_bgp_announce(b, &p), 0);
	WAIT_FOR(2, routes_are("10.1.1.2/32", NULL, NULL));
	kill((pid_t)pid, SIGKILL);
	WAIT_FOR(10, status_int(b, "bird.restarts") == 1 && status_int(b, "bird.running") == 1 &&
			     status_int(b, "bird.pid") != pid);
	WAIT_FOR(10, routes_are("10.1.1.2/32", NULL, "10.1.1.1/32"));
	pid2 = status_int(b, "bird.pid");

	/* a new speaker (a restarted controller) takes BIRD over: same process, same routes */
	tn_bgp_free(b);
	assert_int_equal(kill((pid_t)pid2, 0), 0);
	assert_int_equal(tn_bgp_new(&b, dir), 0);
	assert_int_equal(tn_bgp_configure(b, &cfg), 0);
	assert_int_equal(tn_bgp_current(b, &cur), 0);
	assert_true(tn_prefixes_equal(&cur, &p));
	tn_prefixes_free(&cur);
	WAIT_FOR(5, status_int(b, "bird.running") == 1);
	assert_int_equal(status_int(b, "bird.pid"), pid2);
	assert_int_equal(status_int(b, "bird.restarts"), 0);
	assert_true(routes_are("10.1.1.2/32", NULL, NULL));

	/* graceful shutdown: routes withdrawn, BIRD stopped */
	tn_bgp_shutdown(b);
	/* it is this test's child (started by the first speaker): exited, not yet reaped */
	assert_int_equal(waitpid((pid_t)pid2, NULL, WNOHANG), pid2);
	{
		struct tn_bird_paths paths;

		assert_int_equal(tn_bird_paths_in(dir, &paths), 0);
		assert_int_equal(tn_file_read(paths.routes, 65536, &text, &len), 0);
		assert_null(strstr(text, "route "));
		free(text);
	}
	tn_prefixes_free(&p);
}

static void test_speaker_no_bird(void **state)
{
	const char *path = getenv("PATH");
	char *saved = strdup(path ? path : "/usr/sbin:/usr/bin");
	struct tn_bgp *b = NULL;
	json_object *st;
	const char *e;

	setenv("PATH", "/nonexistent", 1);
	assert_int_equal(tn_bgp_new(&b, dir), 0);
	assert_int_equal(tn_bgp_configure(b, &cfg), 0);
	WAIT_FOR(5, status_int(b, "bird.running") == 0 && status_has(b, "bird.lastError"));
	st = tn_bgp_status_json(b);
	e = json_object_get_string(get(st, "bird.lastError"));
	if (!e || !strstr(e, "cannot start BIRD: no `bird` in PATH (Debian package bird2)"))
		fail_msg("lastError: %s", e ? e : "null");
	json_object_put(st);
	tn_bgp_shutdown(b);
	setenv("PATH", saved, 1);
	free(saved);
}

/* What the decider returns; what it was told was announced when it first
 * returned a new set. */
static const char *decided_addr, *last_addr = "";
static char seen_current[64];

static int decider(void *arg, const struct tn_prefixes *current, struct tn_prefixes *out)
{
	const char *now = decided_addr ? decided_addr : "";

	if (strcmp(now, last_addr)) {
		seen_current[0] = 0;
		if (current->n)
			tn_prefix_format(&current->v[0], seen_current, sizeof(seen_current));
		last_addr = now;
	}
	*out = set_of(decided_addr, NULL);
	return 0;
}

static void test_speaker_decider(void **state)
{
	struct tn_bgp *b = NULL;

	decided_addr = "10.2.2.1";
	assert_int_equal(tn_bgp_new(&b, dir), 0);
	tn_bgp_set_decider(b, decider, NULL);
	assert_int_equal(tn_bgp_configure(b, &cfg), 0);
	WAIT_FOR(10, routes_are("10.2.2.1/32", NULL, NULL));
	assert_string_equal(seen_current, "");
	/* decided again after a kick (and once a second), told what BIRD carries */
	decided_addr = "10.2.2.2";
	tn_bgp_kick(b);
	WAIT_FOR(3, routes_are("10.2.2.2/32", NULL, "10.2.2.1/32"));
	assert_string_equal(seen_current, "10.2.2.1/32");
	decided_addr = NULL;
	tn_bgp_kick(b);
	WAIT_FOR(3, routes_are(NULL, NULL, "10.2.2.2/32"));
	assert_string_equal(seen_current, "10.2.2.2/32");
	tn_bgp_shutdown(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_speaker_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_speaker_decider, setup, teardown),
		cmocka_unit_test_setup_teardown(test_speaker_no_bird, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
