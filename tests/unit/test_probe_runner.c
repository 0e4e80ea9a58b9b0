/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The probe engine on its own thread (probe/runner.h) against real local
 * servers: state changes arrive through the queue and its eventfd; targets
 * change from another thread while checks run; a main thread blocked for
 * 3 s does not time out checks with a 1 s timeout (it does with the engine
 * on the main thread: the reason the runner exists); stop frees everything.
 */
#include <poll.h>
#include <sys/resource.h>
#include "probe/runner.h"
#include "unit/probe_servers.h"

#define MAX_EVENTS 4096

struct got {
	struct tn_probe_event ev[MAX_EVENTS];
	size_t n;
};

/* Drain the runner into g until it holds `want` events or `seconds` passed,
 * waiting on the runner's fd like the daemon's loop does. */
static void collect(struct tn_probe_runner *r, struct got *g, size_t want, double seconds)
{
	struct pollfd pfd = { .fd = tn_probe_runner_fd(r), .events = POLLIN };
	double end = mono() + seconds;

	while (g->n < want && mono() < end) {
		if (poll(&pfd, 1, 50) > 0)
			g->n += tn_probe_runner_drain(r, g->ev + g->n, MAX_EVENTS - g->n);
	}
}

static size_t count_key(const struct got *g, uint64_t key, int up)
{
	size_t n = 0;

	for (size_t i = 0; i < g->n; i++)
		n += g->ev[i].key == key && (up < 0 || g->ev[i].up == (up > 0));
	return n;
}

static size_t count_down(const struct got *g)
{
	size_t n = 0;

	for (size_t i = 0; i < g->n; i++)
		n += !g->ev[i].up;
	return n;
}

static bool readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) > 0;
}

static bool known(struct tn_probe_runner *r, uint64_t key)
{
	struct tn_probe_state st;

	return tn_probe_runner_state(r, key, &st) == 0 && st.known;
}

static struct tn_probe_runner *runner(void)
{
	struct tn_probe_runner *r = NULL;

	assert_int_equal(tn_probe_runner_start(&r), 0);
	assert_non_null(r);
	return r;
}

/* events come through the queue, its fd is readable exactly while some wait */
static void test_events(void **state)
{
	struct got *g = *state;
	int fds_before = open_fds();
	struct srv *s = srv_str(SRV_CLOSE, NULL);
	struct tn_probe_runner *r = runner();
	struct tn_probe_target t[3] = {
		target(1, TN_PROBE_TCP, s->port),
		target(2, TN_PROBE_TCP, dead_port()),
		target(3, TN_PROBE_TCP, 0),           /* refused: no port */
	};
	struct tn_probe_state st;
	struct tn_probe_event one;
	char err[200];

	assert_false(readable(tn_probe_runner_fd(r)));
	assert_int_equal(tn_probe_runner_drain(r, &one, 1), 0);
	assert_int_equal(tn_probe_runner_set_targets(r, t, 3, err, sizeof(err)), 1);
	assert_string_equal(err, "target 0x3: no port to probe");
	/* both first verdicts queued (a known state means its event is in), then one at a time */
	for (double end = mono() + 5; mono() < end && !(known(r, 1) && known(r, 2));)
		usleep(10000);
	assert_true(readable(tn_probe_runner_fd(r)));
	assert_int_equal(tn_probe_runner_drain(r, g->ev, 1), 1);
	assert_true(readable(tn_probe_runner_fd(r)));
	g->n = 1;
	collect(r, g, 2, 5);
	assert_int_equal(g->n, 2);
	assert_false(readable(tn_probe_runner_fd(r)));
	assert_int_equal(count_key(g, 1, 1), 1);
	assert_int_equal(count_key(g, 2, 0), 1);
	for (size_t i = 0; i < g->n; i++) {
		assert_int_equal(g->ev[i].count, 1);
		assert_has(g->ev[i].reason, g->ev[i].key == 1 ? "tcp connect ok (first check)" :
					    "tcp connect: Connection refused (first check)");
	}
	assert_int_equal(tn_probe_runner_state(r, 2, &st), 0);
	assert_true(st.known && !st.up);
	assert_string_equal(st.last_result, "refused");
	assert_int_equal(tn_probe_runner_state(r, 3, &st), -ENOENT);
	tn_probe_runner_stop(r);
	srv_stop(s);
	assert_int_equal(open_fds(), fds_before);
}

/* ---- targets from another thread --------------------------------------------- */

enum { SET_ROUNDS = 100, SET_N = 40 };

struct setter {
	struct tn_probe_runner *r;
	struct tn_probe_target a[SET_N], b[SET_N];
	int failures;
	char err[200];
};

static void *setter_main(void *arg)
{
	struct setter *s = arg;

	for (int i = 0; i < SET_ROUNDS; i++) {
		if (tn_probe_runner_set_targets(s->r, i % 2 ? s->b : s->a, SET_N, s->err, sizeof(s->err)))
			s->failures++;
		usleep(2000);
	}
	return NULL;
}

/* set_targets from a thread while checks run and the owner drains and reads */
static void test_set_targets_from_thread(void **state)
{
	struct got *g = *state;
	struct srv *s = srv_str(SRV_CLOSE, NULL);
	struct setter *st = calloc(1, sizeof(*st));
	struct tn_probe_state ps;
	pthread_t th;
	int i, up;
	double end;

	assert_non_null(st);
	st->r = runner();
	/* a: keys 1..40; b: keys 21..60, the shared half unchanged (kept across sets) */
	for (i = 0; i < SET_N; i++) {
		st->a[i] = target((uint64_t)i + 1, TN_PROBE_TCP, s->port);
		st->b[i] = target((uint64_t)i + 21, TN_PROBE_TCP, s->port);
		st->a[i].cfg.interval_s = st->b[i].cfg.interval_s = 0.05;
	}
	assert_int_equal(pthread_create(&th, NULL, setter_main, st), 0);
	for (end = mono() + 30; mono() < end;) {
		collect(st->r, g, MAX_EVENTS, 0.01);
		tn_probe_runner_state(st->r, 30, &ps); /* concurrent reads */
		if (pthread_tryjoin_np(th, NULL) == 0)
			break;
	}
	assert_true(mono() < end);
	assert_int_equal(st->failures, 0);
	assert_int_equal(tn_probe_runner_set_targets(st->r, st->a, SET_N, NULL, 0), 0);
	for (end = mono() + 10, up = 0; mono() < end && up < SET_N;) {
		collect(st->r, g, MAX_EVENTS, 0.05);
		for (i = 0, up = 0; i < SET_N; i++)
			up += tn_probe_runner_state(st->r, (uint64_t)i + 1, &ps) == 0 && ps.known && ps.up;
	}
	print_message("# %d set_targets from a thread, %zu events drained meanwhile, %d of %d up\n",
		      SET_ROUNDS + 1, g->n, up, SET_N);
	assert_int_equal(up, SET_N);
	assert_int_equal(tn_probe_runner_state(st->r, 50, &ps), -ENOENT);
	assert_int_equal(count_down(g), 0);
	for (i = 0; i < (int)g->n; i++)
		assert_true(g->ev[i].key >= 1 && g->ev[i].key <= 60);
	/* the unchanged half kept its state through 100 changes: one first verdict each */
	assert_int_equal(count_key(g, 30, -1), 1);
	tn_probe_runner_stop(st->r);
	free(st);
	srv_stop(s);
}

/* ---- a blocked main thread ----------------------------------------------------- */

enum { SLOW_N = 20 };

static void slow_targets(struct tn_probe_target *t, const struct slow_srv *srv)
{
	for (int i = 0; i < SLOW_N; i++) {
		t[i] = target((uint64_t)i + 1, TN_PROBE_HTTP, srv->port[0]);
		t[i].cfg.interval_s = 0.25;
		t[i].cfg.timeout_s = 1;
		t[i].cfg.fall = 1;
	}
}

static uint64_t total(struct tn_probe_state *st, int n, bool failures)
{
	uint64_t sum = 0;

	for (int i = 0; i < n; i++)
		sum += failures ? st[i].failures : st[i].checks;
	return sum;
}

static void on_change(void *arg, uint64_t key, bool up, const char *reason, int count)
{
	(void)key, (void)reason, (void)count;
	*(int *)arg += !up;
}

/*
 * Servers answering after 200 ms (checks are in flight most of the time),
 * 1 s timeouts, fall 1. The engine on the main thread, blocked 3 s: checks
 * in flight time out, servers go down. The runner, its owner blocked 3 s:
 * checks go on (more of them), none fails, no server goes down.
 */
static void test_blocked_main_thread(void **state)
{
	static const char http_ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	static const struct slow_reply reply[1] = { { http_ok, sizeof(http_ok) - 1 } };
	struct got *g = *state;
	struct slow_srv srv = slow_start(reply, 1, 200);
	struct tn_probe_target t[SLOW_N];
	struct tn_probe_state before[SLOW_N], after[SLOW_N];
	struct tn_prober *P = NULL;
	struct tn_probe_runner *r;
	int i, bare_down = 0;
	double end;

	slow_targets(t, &srv);
	/* the engine on this thread, for comparison */
	assert_int_equal(tn_prober_new(&P, on_change, &bare_down), 0);
	assert_int_equal(tn_prober_set_targets(P, t, SLOW_N, NULL, 0), 0);
	for (end = mono() + 5; mono() < end;)
		assert_true(tn_prober_run_once(P, 20) >= 0);
	assert_int_equal(bare_down, 0);
	sleep(3);
	for (end = mono() + 1; mono() < end;)
		assert_true(tn_prober_run_once(P, 20) >= 0);
	tn_prober_free(P);
	print_message("# engine on the main thread, blocked 3 s: %d of %d servers went down\n", bare_down, SLOW_N);
	assert_true(bare_down > 0);

	r = runner();
	assert_int_equal(tn_probe_runner_set_targets(r, t, SLOW_N, NULL, 0), 0);
	collect(r, g, SLOW_N, 10);
	assert_int_equal(g->n, SLOW_N);
	for (i = 0; i < SLOW_N; i++)
		assert_int_equal(tn_probe_runner_state(r, t[i].key, &before[i]), 0);
	sleep(3); /* the owner is busy: nothing drained, nothing polled */
	collect(r, g, MAX_EVENTS, 0.5);
	for (i = 0; i < SLOW_N; i++)
		assert_int_equal(tn_probe_runner_state(r, t[i].key, &after[i]), 0);
	tn_probe_runner_stop(r);
	slow_stop(&srv);
	print_message("# runner, owner blocked 3 s: %llu checks meanwhile, %llu failed, %zu down events\n",
		      (unsigned long long)(total(after, SLOW_N, false) - total(before, SLOW_N, false)),
		      (unsigned long long)total(after, SLOW_N, true), count_down(g));
	assert_int_equal(count_down(g), 0);
	assert_int_equal(g->n, SLOW_N);
	assert_int_equal(total(after, SLOW_N, true), 0);
	/* 3 s at 0.25 s: about 12 checks each; at least a few each proves they ran */
	for (i = 0; i < SLOW_N; i++)
		assert_true(after[i].checks >= before[i].checks + 4);
}

/* stop with checks in flight and events unread, again and again: nothing leaks */
static void test_stop_in_flight(void **state)
{
	int fds_before = open_fds();
	struct srv *hang = srv_str(SRV_HANG, NULL);
	struct srv *ok = srv_str(SRV_CLOSE, NULL);

	(void)state;
	for (int round = 0; round < 5; round++) {
		struct tn_probe_runner *r = runner();
		struct tn_probe_target t[4] = {
			target(1, TN_PROBE_SMTP, hang->port),
			target(2, TN_PROBE_HTTP, hang->port),
			target(3, TN_PROBE_TCP, ok->port),
			target(4, TN_PROBE_TCP, ok->port),
		};
		struct pollfd pfd = { .fd = tn_probe_runner_fd(r), .events = POLLIN };

		for (int i = 0; i < 4; i++)
			t[i].cfg.interval_s = 0.1;
		assert_int_equal(tn_probe_runner_set_targets(r, t, 4, NULL, 0), 0);
		assert_int_equal(poll(&pfd, 1, 5000), 1); /* events wait, unread */
		tn_probe_runner_stop(r);
	}
	tn_probe_runner_stop(NULL);
	srv_stop(hang);
	srv_stop(ok);
	assert_int_equal(open_fds(), fds_before);
}

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct got));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_targets_from_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_main_thread, setup, teardown),
		cmocka_unit_test(test_stop_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
