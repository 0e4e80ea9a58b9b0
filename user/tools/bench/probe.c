/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Section probe: CPU of the probe engine with TCP checks at 1 s intervals against local listeners. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "tools/bench/common.h"
#include "lib/log.h"
#include "probe/probe.h"

static volatile int accept_stop;

/* Accept and close whatever the probes open (one listener on every 127.x address). */
static void *accept_thread(void *arg)
{
	int lfd = *(int *)arg;

	while (!accept_stop) {
		int c = accept(lfd, NULL, NULL);

		if (c >= 0)
			close(c);
	}
	return NULL;
}

static void probe_changed(void *arg, uint64_t key, bool up, const char *reason, int count)
{
	(void)key, (void)up, (void)reason, (void)count;
	(*(uint64_t *)arg)++;
}

/* CPU seconds of this thread, user and kernel */
static double thread_cpu_now(double *user)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	*user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	return *user + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The listener every target's checks reach, and the thread accepting them. */
struct listener {
	struct sockaddr_in sa;
	int fd;
	pthread_t th;
	bool th_started;
};

static int listener_start(struct listener *l)
{
	socklen_t sl = sizeof(l->sa);
	int one = 1;

	l->sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l->fd, (struct sockaddr *)&l->sa, sizeof(l->sa)) || listen(l->fd, 4096) ||
	    getsockname(l->fd, (struct sockaddr *)&l->sa, &sl)) {
		tn_err("bench: cannot set up the probe listener: %s", strerror(errno));
		return -errno;
	}
	accept_stop = 0;
	if (pthread_create(&l->th, NULL, accept_thread, &l->fd) == 0)
		l->th_started = true;
	return 0;
}

static void listener_stop(struct listener *l)
{
	accept_stop = 1;
	if (l->th_started) {
		pthread_cancel(l->th);
		pthread_join(l->th, NULL);
	}
	if (l->fd >= 0)
		close(l->fd);
}

/* n TCP targets at distinct 127.x addresses, every 1 s. */
static void targets_fill(struct tn_probe_target *tg, uint32_t n, uint16_t port)
{
	for (uint32_t i = 0; i < n; i++) {
		memset(&tg[i], 0, sizeof(tg[i]));
		tg[i].key = i;
		tg[i].addr.family = 4;
		tg[i].addr.bytes[0] = 127;
		tg[i].addr.bytes[1] = 1 + i / 62500;
		tg[i].addr.bytes[2] = (uint8_t)(i / 250);
		tg[i].addr.bytes[3] = (uint8_t)(1 + i % 250);
		tg[i].port = port;
		tg[i].cfg.type = TN_PROBE_TCP;
		tg[i].cfg.interval_s = 1;
		tg[i].cfg.timeout_s = 1;
		tg[i].cfg.rise = 2;
		tg[i].cfg.fall = 3;
	}
}

/* Checks made so far and targets up, over the n targets. */
static uint64_t checks_made(struct tn_prober *p, uint32_t n, uint32_t *up)
{
	uint64_t checks = 0;

	if (up)
		*up = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct tn_probe_state st;

		if (!tn_prober_state(p, i, &st)) {
			checks += st.checks;
			if (up)
				*up += st.known && st.up;
		}
	}
	return checks;
}

/* What one count of targets cost over the window. */
struct probe_row {
	uint32_t n, up;
	uint64_t changes, checks;      /* checks made in the window */
	double pct, upct, checks_per_s;
	double us_per_check, user_us_per_check; /* the prober thread's CPU (user + kernel; user) per check */
};

/* One interval to spread the first checks, then the window measured. */
static int probe_measure(struct tn_probe_target *tg, double window, struct probe_row *row)
{
	struct tn_prober *p = NULL;
	char errbuf[256] = "";
	uint64_t checks0;
	double c0, c1, u0, u1, t0, t1;
	int err;

	if ((err = tn_prober_new(&p, probe_changed, &row->changes)) ||
	    (err = tn_prober_set_targets(p, tg, row->n, errbuf, sizeof(errbuf)))) {
		tn_err("bench: cannot start the probe engine with %u targets: %s %s", row->n, strerror(-err), errbuf);
		tn_prober_free(p);
		return err;
	}
	t0 = now_s() + 1.5;
	while (now_s() < t0)
		tn_prober_run_once(p, 50);
	checks0 = checks_made(p, row->n, NULL);
	c0 = thread_cpu_now(&u0);
	t0 = now_s();
	while (now_s() < t0 + window)
		tn_prober_run_once(p, 50);
	c1 = thread_cpu_now(&u1);
	t1 = now_s();
	row->checks = checks_made(p, row->n, &row->up) - checks0;
	row->checks_per_s = row->checks / (t1 - t0);
	tn_prober_free(p);
	row->pct = 100 * (c1 - c0) / (t1 - t0);
	row->upct = 100 * (u1 - u0) / (t1 - t0);
	row->us_per_check = row->checks ? 1e6 * (c1 - c0) / row->checks : 0;
	row->user_us_per_check = row->checks ? 1e6 * (u1 - u0) / row->checks : 0;
	return 0;
}

static void probe_report(struct bench *b, const struct probe_row *r, json_object *rows)
{
	json_object *row = json_object_new_object();

	printf("%-8u %8.1f%% %8.1f%% %8.1f%% %12.0f %9.1f us %9.1f us %10u %8llu\n", r->n, r->pct, r->upct,
	       r->pct - r->upct, r->checks_per_s, r->us_per_check, r->user_us_per_check, r->up,
	       (unsigned long long)r->changes);
	JSET(row, "servers", JI(r->n));
	JSET(row, "cpu_percent_of_one_core", JD(r->pct));
	JSET(row, "user_cpu_percent", JD(r->upct));
	JSET(row, "kernel_cpu_percent", JD(r->pct - r->upct));
	JSET(row, "checks_per_s", JD(r->checks_per_s));
	JSET(row, "checks_in_window", JI(r->checks));
	JSET(row, "cpu_us_per_check", JD(r->us_per_check));
	JSET(row, "user_cpu_us_per_check", JD(r->user_us_per_check));
	JSET(row, "kernel_cpu_us_per_check", JD(r->us_per_check - r->user_us_per_check));
	JSET(row, "up_at_end", JI(r->up));
	JSET(row, "state_changes", JI(r->changes));
	if (r->n == 10000) {
		bool ok = r->pct < 10.0;

		printf("target: 10,000 servers at 1 s under 10%% of one core: %.1f%% %s\n", r->pct, pass_miss(b, ok));
		JSET(row, "pass_under_10_percent", JB(ok));
	}
	json_object_array_add(rows, row);
	if (r->up != r->n) {
		tn_err("bench: only %u of %u probe targets were up: the engine did not keep up", r->up, r->n);
		b->failures++;
	}
}

int probe_section(struct bench *b)
{
	static const uint32_t counts[] = { 1000, 10000 };
	const double window = b->seconds >= 2 ? 10 : 5;
	json_object *sec = json_object_new_object(), *rows = json_object_new_array();
	struct tn_probe_target *tg = calloc(10000, sizeof(*tg));
	struct rlimit rl = { 65536, 65536 };
	struct listener l = { .fd = -1 };
	int err = 0;

	printf("\n== probe engine: TCP checks at 1 s intervals against local listeners on 127.x, %.0f s ==\n",
	       window);
	setrlimit(RLIMIT_NOFILE, &rl);
	if (!tg) {
		tn_err("bench: cannot set up the probe listener: %s", strerror(ENOMEM));
		err = -ENOMEM;
		goto out;
	}
	if ((err = listener_start(&l)))
		goto out;
	printf("%-8s %9s %9s %9s %12s %12s %12s %10s %8s\n", "servers", "CPU", "user", "kernel", "checks/s",
	       "CPU/check", "user/check", "up at end", "changes");
	for (size_t ci = 0; ci < 2; ci++) {
		struct probe_row row = { .n = counts[ci] };

		targets_fill(tg, row.n, ntohs(l.sa.sin_port));
		if ((err = probe_measure(tg, window, &row)))
			goto out;
		probe_report(b, &row, rows);
	}
out:
	listener_stop(&l);
	free(tg);
	JSET(sec, "method", JS("tn_prober (user/probe.c) with TCP checks every 1 s (timeout 1 s) against one listener "
			       "on INADDR_ANY reached at distinct 127.x addresses, accepted and closed by another "
			       "thread. CPU = getrusage(RUSAGE_THREAD) of the thread running tn_prober_run_once over "
			       "the window (user + system), after 1.5 s to spread the first checks. cpu_us_per_check = "
			       "that CPU time / checks_in_window (the checks the engine counted over the window), "
			       "user_cpu_us_per_check its user-space part."));
	JSET(sec, "window_s", JD(window));
	JSET(sec, "rows", rows);
	JSET(b->root, "probe", sec);
	if (err)
		b->failures++;
	return err;
}
