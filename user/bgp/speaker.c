/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "bgp/internal.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/time.h"

static const char *routes_path(const struct tn_bgp *b)
{
	return b->cfg && tn_bgp_external(b->cfg) ? b->cfg->bird_include : b->paths.routes;
}

static const char *socket_path(const struct tn_bgp *b)
{
	return b->cfg && tn_bgp_external(b->cfg) ? b->cfg->bird_socket : b->paths.socket;
}

/* One error at a time in status; logged when it is new. */
static void set_error(struct tn_bgp *b, const char *msg)
{
	if (msg[0] && strcmp(msg, b->logged_error))
		tn_err("bgp: %s", msg);
	snprintf(b->logged_error, sizeof(b->logged_error), "%s", msg);
	pthread_mutex_lock(&b->mu);
	snprintf(b->error, sizeof(b->error), "%s", msg);
	pthread_mutex_unlock(&b->mu);
}

static bool connected(struct tn_bgp *b)
{
	char err[300];

	if (b->ctl.fd >= 0)
		return true;
	if (tn_birdc_open(&b->ctl, socket_path(b), CONNECT_MS, err, sizeof(err))) {
		/* our BIRD takes a moment to open its socket after a start */
		if (tn_bgp_external(b->cfg) || tn_monotonic() - b->started_at > 5)
			set_error(b, err);
		return false;
	}
	return true;
}

/* `configure`: BIRD re-reads its configuration and with it the routes file. */
static int reconfigure(struct tn_bgp *b)
{
	char err[300];
	int code = 0, e;

	if (!connected(b))
		return -ENOTCONN;
	e = tn_birdc_cmd(&b->ctl, "configure", CONFIGURE_MS, NULL, &code, err, sizeof(err));
	if (e) {
		set_error(b, err);
		return e;
	}
	return 0;
}

static void log_changes(const struct tn_prefixes *from, const struct tn_prefixes *to)
{
	char text[TN_ADDR_TEXT + 8];

	for (size_t i = 0; i < to->n; i++) {
		if (!tn_prefixes_has(from, &to->v[i])) {
			tn_prefix_format(&to->v[i], text, sizeof(text));
			tn_info("bgp: announcing %s", text);
		}
	}
	for (size_t i = 0; i < from->n; i++) {
		if (!tn_prefixes_has(to, &from->v[i])) {
			tn_prefix_format(&from->v[i], text, sizeof(text));
			tn_info("bgp: withdrawing %s", text);
		}
	}
}

static int write_routes(struct tn_bgp *b, const struct tn_prefixes *p)
{
	struct tn_buf t = {0};
	char msg[TN_BGP_PATH_MAX + 100];
	int e = tn_bird_routes_text(p, &t);

	if (!e)
		e = tn_file_write_atomic(routes_path(b), t.s, t.len, 0644);
	tn_buf_free(&t);
	if (e) {
		snprintf(msg, sizeof(msg), "cannot write the routes file %s: %s", routes_path(b), strerror(-e));
		set_error(b, msg);
	}
	return e;
}

/* Make BIRD announce b->target. */
static void push_routes(struct tn_bgp *b)
{
	bool own = !tn_bgp_external(b->cfg);

	if (write_routes(b, &b->target))
		return;
	/* our BIRD not running: it reads the file when it starts */
	if (!(own && !tn_bird_alive(&b->proc, NULL)) && reconfigure(b))
		return;
	log_changes(&b->sent, &b->target);
	tn_prefixes_free(&b->sent);
	if (tn_prefixes_copy(&b->sent, &b->target))
		return;
	b->routes_ok = true;
	set_error(b, "");
}

static int write_conf(struct tn_bgp *b)
{
	struct tn_buf t = {0};
	char msg[TN_BGP_PATH_MAX + 100];
	int e = tn_bird_conf_text(b->cfg, b->paths.routes, &t);

	if (!e)
		e = tn_file_write_atomic(b->paths.conf, t.s, t.len, 0644);
	tn_buf_free(&t);
	if (e) {
		snprintf(msg, sizeof(msg), "cannot write BIRD's configuration %s: %s", b->paths.conf,
			 e == -EINVAL ? "its directory's path cannot be quoted for BIRD" : strerror(-e));
		set_error(b, msg);
	}
	return e;
}

/* Leave the old configuration: our BIRD stops (its sessions close, the
 * routers drop our routes), an operator's BIRD gets an empty routes file. */
static void leave(struct tn_bgp *b)
{
	struct tn_prefixes none = {0};

	if (!b->cfg)
		return;
	if (tn_bgp_external(b->cfg)) {
		if (!write_routes(b, &none))
			reconfigure(b);
	} else if (tn_bird_alive(&b->proc, NULL)) {
		tn_info("bgp: stopping BIRD (pid %d)", (int)b->proc.pid);
		tn_bird_stop(&b->proc, 3000);
	}
	tn_birdc_close(&b->ctl);
	tn_prefixes_free(&b->sent);
}

static bool same_bird(const struct tn_bgp_cfg *a, const struct tn_bgp_cfg *c)
{
	if (!a || !c || tn_bgp_external(a) != tn_bgp_external(c))
		return false;
	return !tn_bgp_external(a) ||
	       (!strcmp(a->bird_socket, c->bird_socket) && !strcmp(a->bird_include, c->bird_include));
}

static void switch_config(struct tn_bgp *b, struct tn_bgp_cfg *next)
{
	if (!same_bird(b->cfg, next))
		leave(b);
	if (b->cfg) {
		tn_bgp_cfg_free(b->cfg);
		free(b->cfg);
	}
	b->cfg = next;
	b->routes_ok = false;
	if (!next)
		return;
	if (!tn_bgp_external(next) && !write_conf(b) && tn_bird_alive(&b->proc, NULL))
		reconfigure(b);
}

/* Our BIRD: notice its death, start it again with a growing delay. */
static void supervise(struct tn_bgp *b)
{
	char err[300];
	double now = tn_monotonic();
	int st;

	if (tn_bgp_external(b->cfg))
		return;
	if (b->proc.pid && !tn_bird_alive(&b->proc, &st)) {
		b->restarts++;
		if (now - b->started_at > STABLE_RUN)
			b->backoff = 0;
		b->next_start = now + b->backoff;
		b->backoff = b->backoff ? (b->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : b->backoff * 2) : 1;
		if (st >= 0 && WIFSIGNALED(st))
			snprintf(err, sizeof(err), "BIRD was killed by signal %d; starting it again in %.0f s",
				 WTERMSIG(st), b->next_start - now);
		else if (st >= 0 && WEXITSTATUS(st) == 127)
			/* what a shell or a fork+exec spawn reports for a missing program */
			snprintf(err, sizeof(err), "cannot start BIRD: no `bird` in PATH (Debian package bird2); "
				 "trying again in %.0f s", b->next_start - now);
		else if (st >= 0)
			snprintf(err, sizeof(err), "BIRD exited with status %d (its log is above); starting it "
				 "again in %.0f s", WEXITSTATUS(st), b->next_start - now);
		else
			snprintf(err, sizeof(err), "BIRD is gone; starting it again in %.0f s", b->next_start - now);
		set_error(b, err);
		tn_birdc_close(&b->ctl);
	}
	if (b->proc.pid || now < b->next_start)
		return;
	/* it reads the routes when it starts */
	if (write_conf(b) || write_routes(b, &b->target))
		return;
	if (tn_bird_start(&b->proc, &b->paths, err, sizeof(err))) {
		set_error(b, err);
		b->next_start = now + (b->backoff ? b->backoff : 1);
		return;
	}
	tn_info("bgp: BIRD started (pid %d, socket %s)", (int)b->proc.pid, b->paths.socket);
	b->started_at = now;
	log_changes(&b->sent, &b->target);
	tn_prefixes_free(&b->sent);
	b->routes_ok = tn_prefixes_copy(&b->sent, &b->target) == 0;
}

static void log_sessions(const struct tn_bgp_session *old, size_t nold, const struct tn_bgp_session *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool was_up = false;
		char addr[TN_ADDR_TEXT] = "?";

		for (size_t j = 0; j < nold; j++)
			if (!strcmp(old[j].protocol, s[i].protocol))
				was_up = old[j].up;
		if (was_up == s[i].up)
			continue;
		if (s[i].neighbor.family)
			tn_addr_format(&s[i].neighbor, addr, sizeof(addr));
		if (s[i].up)
			tn_info("bgp: session with %s (AS %u) established", addr, s[i].remote_as);
		else
			tn_warn("bgp: session with %s (AS %u) is %s%s%s", addr, s[i].remote_as, s[i].state,
				s[i].last_error[0] ? ": " : "", s[i].last_error);
	}
}

/* The sessions, for status: `show protocols all`. */
static void poll_sessions(struct tn_bgp *b)
{
	struct tn_buf reply = {0};
	struct tn_bgp_session *s = NULL;
	size_t n = 0;
	char err[300];
	bool ok = false;

	if (connected(b) &&
	    tn_birdc_cmd(&b->ctl, "show protocols all", SHOW_MS, &reply, NULL, err, sizeof(err)) == 0 &&
	    reply.s && tn_bird_parse_protocols(reply.s, tn_now(), &s, &n) == 0)
		ok = true;
	tn_buf_free(&reply);
	pthread_mutex_lock(&b->mu);
	if (ok) {
		log_sessions(b->sessions, b->nsessions, s, n);
		free(b->sessions);
		b->sessions = s;
		b->nsessions = n;
	}
	b->reachable = ok;
	pthread_mutex_unlock(&b->mu);
}

static void publish(struct tn_bgp *b)
{
	pthread_mutex_lock(&b->mu);
	b->external = b->cfg && tn_bgp_external(b->cfg);
	b->running = b->external ? b->reachable : tn_bird_alive(&b->proc, NULL);
	b->pid = b->external ? 0 : b->proc.pid;
	tn_prefixes_free(&b->announced);
	if (b->cfg)
		tn_prefixes_copy(&b->announced, &b->sent);
	if (!b->cfg) {
		free(b->sessions);
		b->sessions = NULL;
		b->nsessions = 0;
	}
	pthread_mutex_unlock(&b->mu);
}

/* Until the withdrawals are out: no session carries a route of ours. */
static void withdraw_all(struct tn_bgp *b)
{
	double end = tn_monotonic() + 1.5;

	tn_prefixes_free(&b->target);
	push_routes(b);
	if (!tn_bgp_external(b->cfg) && !tn_bird_alive(&b->proc, NULL))
		return;
	while (b->routes_ok && tn_monotonic() < end) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		bool out = true;

		poll_sessions(b);
		pthread_mutex_lock(&b->mu);
		for (size_t i = 0; i < b->nsessions; i++)
			out &= !b->sessions[i].up || b->sessions[i].exported == 0;
		pthread_mutex_unlock(&b->mu);
		if (out)
			break;
		nanosleep(&ts, NULL);
	}
}

static void wait_for_work(struct tn_bgp *b)
{
	double now = tn_monotonic(), wake = b->next_poll;
	struct timespec ts;
	double abs;

	if (b->cfg && !b->routes_ok && b->next_retry < wake)
		wake = b->next_retry;
	if (b->cfg && !tn_bgp_external(b->cfg) && !b->proc.pid && b->next_start < wake)
		wake = b->next_start;
	if (b->cfg && b->decide && b->next_decide < wake)
		wake = b->next_decide;
	if (b->stop || b->kicked || b->cfg_gen != b->cfg_seen || b->want_gen != b->want_seen || wake <= now)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	abs = ts.tv_sec + ts.tv_nsec / 1e9 + (wake - now);
	ts.tv_sec = (time_t)abs;
	ts.tv_nsec = (long)((abs - (double)ts.tv_sec) * 1e9);
	pthread_cond_timedwait(&b->cv, &b->mu, &ts);
}

/* Under mu: take what the controller asked for. */
static struct tn_bgp_cfg *take_requests(struct tn_bgp *b, bool *cfg_changed)
{
	struct tn_bgp_cfg *next = NULL;

	*cfg_changed = b->cfg_gen != b->cfg_seen;
	if (*cfg_changed) {
		if (b->want_cfg && (!(next = calloc(1, sizeof(*next))) || tn_bgp_cfg_copy(next, b->want_cfg))) {
			free(next);
			*cfg_changed = false; /* out of memory: try again at the next wake-up */
			return NULL;
		}
		b->cfg_seen = b->cfg_gen;
	}
	if (b->want_gen != b->want_seen) {
		struct tn_prefixes t;

		if (tn_prefixes_copy(&t, &b->want) == 0) {
			tn_prefixes_free(&b->target);
			b->target = t;
			b->want_seen = b->want_gen;
			b->routes_ok = b->routes_ok && tn_prefixes_equal(&b->target, &b->sent);
		}
	}
	return next;
}

/* Ask the decider (no lock of ours held: it takes the controller's). */
static void decide(struct tn_bgp *b)
{
	struct tn_prefixes out = {0};

	b->next_decide = tn_monotonic() + 1;
	if (b->decide(b->decide_arg, &b->target, &out)) {
		tn_prefixes_free(&out);
		return;
	}
	if (!tn_prefixes_equal(&out, &b->target)) {
		pthread_mutex_lock(&b->mu);
		tn_prefixes_free(&b->want);
		if (tn_prefixes_copy(&b->want, &out) == 0)
			b->want_seen = ++b->want_gen;
		pthread_mutex_unlock(&b->mu);
		tn_prefixes_free(&b->target);
		b->target = out;
		b->routes_ok = b->routes_ok && tn_prefixes_equal(&b->target, &b->sent);
		return;
	}
	tn_prefixes_free(&out);
}

static void *speaker_main(void *arg)
{
	struct tn_bgp *b = arg;

	pthread_mutex_lock(&b->mu);
	while (!b->stop) {
		struct tn_bgp_cfg *next;
		bool cfg_changed, kicked;

		wait_for_work(b);
		if (b->stop)
			break;
		next = take_requests(b, &cfg_changed);
		kicked = b->kicked;
		b->kicked = false;
		pthread_mutex_unlock(&b->mu);
		if (cfg_changed)
			switch_config(b, next);
		if (b->cfg) {
			if (b->decide && (kicked || cfg_changed || tn_monotonic() >= b->next_decide))
				decide(b);
			supervise(b);
			if (!b->routes_ok && tn_monotonic() >= b->next_retry) {
				push_routes(b);
				if (!b->routes_ok)
					b->next_retry = tn_monotonic() + (b->ctl.fd < 0 ? 0.2 : 1);
			}
			if (tn_monotonic() >= b->next_poll) {
				if (tn_bgp_external(b->cfg) || tn_bird_alive(&b->proc, NULL))
					poll_sessions(b);
				b->next_poll = tn_monotonic() + 1;
			}
		} else {
			b->next_poll = tn_monotonic() + 1;
		}
		publish(b);
		pthread_mutex_lock(&b->mu);
	}
	pthread_mutex_unlock(&b->mu);
	if (b->graceful && b->cfg) {
		withdraw_all(b);
		if (tn_bgp_external(b->cfg)) {
			tn_info("bgp: routes withdrawn from the BIRD at %s", socket_path(b));
		} else if (tn_bird_alive(&b->proc, NULL)) {
			tn_info("bgp: routes withdrawn; stopping BIRD (pid %d)", (int)b->proc.pid);
			tn_bird_stop(&b->proc, 3000);
		}
	}
	return NULL;
}

int tn_bgp_new(struct tn_bgp **out, const char *dir)
{
	struct tn_bgp *b = calloc(1, sizeof(*b));
	int e;

	if (!b)
		return -ENOMEM;
	if ((e = tn_bird_paths_in(dir, &b->paths))) {
		tn_err("bgp: the state directory %s is too long for BIRD's files", dir);
		free(b);
		return e;
	}
	pthread_mutex_init(&b->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	b->ctl.fd = -1;
	*out = b;
	return 0;
}

/* What an earlier controller left announced: its routes file, when the BIRD
 * that reads it still runs. */
static void find_previous(struct tn_bgp *b, const struct tn_bgp_cfg *cfg)
{
	const char *path = tn_bgp_external(cfg) ? cfg->bird_include : b->paths.routes;
	struct tn_prefixes p = {0};
	char *text = NULL;
	size_t len;

	if (!tn_bgp_external(cfg)) {
		if (!tn_bird_find_running(&b->proc, &b->paths))
			return;
		b->started_at = tn_monotonic() - STABLE_RUN;
		tn_info("bgp: taking over BIRD (pid %d) left running by an earlier controller", (int)b->proc.pid);
	}
	if (tn_file_read(path, 4 * 1024 * 1024, &text, &len) == 0 && tn_bird_routes_parse(text, &p) == 0) {
		b->want = p;
		tn_prefixes_copy(&b->sent, &p);
		tn_prefixes_copy(&b->target, &p);
		tn_prefixes_copy(&b->announced, &p);
		b->want_seen = b->want_gen;
	}
	free(text);
}

int tn_bgp_configure(struct tn_bgp *b, const struct tn_bgp_cfg *cfg)
{
	struct tn_bgp_cfg *copy = NULL;

	pthread_mutex_lock(&b->mu);
	if (b->thread_started && tn_bgp_cfg_equal(b->want_cfg, cfg)) {
		pthread_mutex_unlock(&b->mu);
		return 0; /* BIRD is not reconfigured for nothing */
	}
	pthread_mutex_unlock(&b->mu);
	if (cfg && (!(copy = calloc(1, sizeof(*copy))) || tn_bgp_cfg_copy(copy, cfg))) {
		free(copy);
		return -ENOMEM;
	}
	pthread_mutex_lock(&b->mu);
	/* before the thread runs: what it finds is the thread's to keep */
	if (!b->thread_started) {
		int e;

		if (cfg)
			find_previous(b, cfg);
		if ((e = pthread_create(&b->thread, NULL, speaker_main, b))) {
			pthread_mutex_unlock(&b->mu);
			tn_err("bgp: cannot start the speaker thread: %s", strerror(e));
			if (copy) {
				tn_bgp_cfg_free(copy);
				free(copy);
			}
			return -e;
		}
		b->thread_started = true;
	}
	if (b->want_cfg) {
		tn_bgp_cfg_free(b->want_cfg);
		free(b->want_cfg);
	}
	b->want_cfg = copy;
	b->cfg_gen++;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	return 0;
}

void tn_bgp_set_decider(struct tn_bgp *b, tn_bgp_decide_fn fn, void *arg)
{
	pthread_mutex_lock(&b->mu);
	b->decide = fn;
	b->decide_arg = arg;
	b->kicked = true;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

void tn_bgp_kick(struct tn_bgp *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	b->kicked = true;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

int tn_bgp_current(struct tn_bgp *b, struct tn_prefixes *out)
{
	int e;

	pthread_mutex_lock(&b->mu);
	e = tn_prefixes_copy(out, &b->want);
	pthread_mutex_unlock(&b->mu);
	return e;
}

int tn_bgp_announce(struct tn_bgp *b, const struct tn_prefixes *p)
{
	struct tn_prefixes c;

	pthread_mutex_lock(&b->mu);
	if (tn_prefixes_equal(&b->want, p)) {
		pthread_mutex_unlock(&b->mu);
		return 0;
	}
	if (tn_prefixes_copy(&c, p)) {
		pthread_mutex_unlock(&b->mu);
		return -ENOMEM;
	}
	tn_prefixes_free(&b->want);
	b->want = c;
	b->want_gen++;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	return 0;
}

static void finish(struct tn_bgp *b, bool graceful)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	b->stop = true;
	b->graceful = graceful;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	if (b->thread_started)
		pthread_join(b->thread, NULL);
	tn_birdc_close(&b->ctl);
	if (b->proc.pid && b->proc.child)
		waitpid(b->proc.pid, NULL, WNOHANG);
	for (struct tn_bgp_cfg **c = (struct tn_bgp_cfg *[]){ b->cfg, b->want_cfg }, **e = c + 2; c < e; c++) {
		if (*c) {
			tn_bgp_cfg_free(*c);
			free(*c);
		}
	}
	tn_prefixes_free(&b->want);
	tn_prefixes_free(&b->target);
	tn_prefixes_free(&b->sent);
	tn_prefixes_free(&b->announced);
	free(b->sessions);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b);
}

void tn_bgp_shutdown(struct tn_bgp *b)
{
	finish(b, true);
}

void tn_bgp_free(struct tn_bgp *b)
{
	finish(b, false);
}
