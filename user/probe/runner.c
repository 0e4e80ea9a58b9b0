/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The probe engine on its own thread (see runner.h). Two locks: `lock`
 * guards the engine (the thread holds it only while running a batch, never
 * while waiting), `qlock` the queue of state changes, so that draining never
 * waits for a batch of checks. The queue's eventfd is written when the
 * queue becomes non-empty and read when it is emptied, both under qlock.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "lib/log.h"
#include "probe/runner.h"

struct tn_probe_runner {
	pthread_mutex_t lock;        /* the engine */
	struct tn_prober *P;
	pthread_t thread;
	bool thread_started;
	int stop_fd;                 /* eventfd: written by stop */

	pthread_mutex_t qlock;       /* the queue */
	struct tn_probe_event *q;    /* a ring: head .. head + qn */
	size_t head, qn, qcap;
	uint64_t dropped;            /* events lost for want of memory */
	int queue_fd;                /* eventfd: readable while qn > 0 */
};

/* Grow the ring to at least want entries, keeping their order. qlock held. */
static int queue_reserve(struct tn_probe_runner *r, size_t want)
{
	struct tn_probe_event *nq;
	size_t cap = r->qcap ? r->qcap : 64, i;

	if (want <= r->qcap)
		return 0;
	while (cap < want)
		cap *= 2;
	nq = malloc(cap * sizeof(*nq));
	if (!nq)
		return -ENOMEM;
	for (i = 0; i < r->qn; i++)
		nq[i] = r->q[(r->head + i) % r->qcap];
	free(r->q);
	r->q = nq;
	r->qcap = cap;
	r->head = 0;
	return 0;
}

/* The engine's callback, on the runner's thread (lock held). */
static void on_change(void *arg, uint64_t key, bool up, const char *reason, int count)
{
	struct tn_probe_runner *r = arg;
	struct tn_probe_event *e;
	uint64_t one = 1;

	pthread_mutex_lock(&r->qlock);
	if (r->qn == r->qcap && queue_reserve(r, r->qn + 1) < 0) {
		/* the state is still right in tn_probe_runner_state; only the event is lost */
		if (!r->dropped++)
			tn_err("probe: out of memory queueing a state change (target %#llx %s)",
			       (unsigned long long)key, up ? "up" : "down");
		pthread_mutex_unlock(&r->qlock);
		return;
	}
	e = &r->q[(r->head + r->qn) % r->qcap];
	e->key = key;
	e->up = up;
	e->count = count;
	snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
	if (r->qn++ == 0 && write(r->queue_fd, &one, sizeof(one)) < 0)
		tn_warn("probe: cannot wake the daemon: %s", strerror(errno));
	pthread_mutex_unlock(&r->qlock);
}

size_t tn_probe_runner_drain(struct tn_probe_runner *r, struct tn_probe_event *ev, size_t max)
{
	size_t n = 0;
	uint64_t v;

	pthread_mutex_lock(&r->qlock);
	while (n < max && r->qn) {
		ev[n++] = r->q[r->head];
		r->head = (r->head + 1) % r->qcap;
		r->qn--;
	}
	if (!r->qn)
		(void)!read(r->queue_fd, &v, sizeof(v)); /* empty: not readable any more */
	pthread_mutex_unlock(&r->qlock);
	return n;
}

int tn_probe_runner_fd(const struct tn_probe_runner *r)
{
	return r->queue_fd;
}

/* Wait for the engine's fd outside the lock, run what is ready under it. */
static void *runner_main(void *arg)
{
	struct tn_probe_runner *r = arg;
	struct pollfd pfd[2] = {
		{ .fd = tn_prober_fd(r->P), .events = POLLIN },
		{ .fd = r->stop_fd, .events = POLLIN },
	};

	for (;;) {
		int n = poll(pfd, 2, -1);

		if (n < 0 && errno != EINTR) {
			tn_err("probe: poll: %s; health checks stop", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if (n <= 0 || !pfd[0].revents)
			continue;
		pthread_mutex_lock(&r->lock);
		n = tn_prober_run_once(r->P, 0);
		pthread_mutex_unlock(&r->lock);
		if (n < 0)
			tn_warn("probe: %s", strerror(-n));
	}
	return NULL;
}

int tn_probe_runner_set_targets(struct tn_probe_runner *r, const struct tn_probe_target *t, size_t n,
				char *err, size_t errlen)
{
	int rc;

	/* room for every target to change state once without growing in the callback */
	pthread_mutex_lock(&r->qlock);
	queue_reserve(r, n);
	pthread_mutex_unlock(&r->qlock);
	pthread_mutex_lock(&r->lock);
	rc = tn_prober_set_targets(r->P, t, n, err, errlen);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int tn_probe_runner_state(struct tn_probe_runner *r, uint64_t key, struct tn_probe_state *out)
{
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = tn_prober_state(r->P, key, out);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void tn_probe_runner_local_error(struct tn_probe_runner *r, struct tn_probe_local_error *out)
{
	pthread_mutex_lock(&r->lock);
	tn_prober_local_error(r->P, out);
	pthread_mutex_unlock(&r->lock);
}

/* The thread takes no signal: the daemon's signalfd gets them all. */
static int start_thread(struct tn_probe_runner *r)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&r->thread, NULL, runner_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	r->thread_started = true;
	return 0;
}

int tn_probe_runner_start(struct tn_probe_runner **out)
{
	struct tn_probe_runner *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->qlock, NULL);
	r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->queue_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->stop_fd < 0 || r->queue_fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = tn_prober_new(&r->P, on_change, r);
	if (rc == 0)
		rc = start_thread(r);
	if (rc < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	tn_probe_runner_stop(r);
	return rc;
}

void tn_probe_runner_stop(struct tn_probe_runner *r)
{
	uint64_t one = 1;

	if (!r)
		return;
	if (r->thread_started) {
		/* an eventfd counter from 0 cannot overflow with one write */
		(void)!write(r->stop_fd, &one, sizeof(one));
		pthread_join(r->thread, NULL);
	}
	tn_prober_free(r->P);
	if (r->stop_fd >= 0)
		close(r->stop_fd);
	if (r->queue_fd >= 0)
		close(r->queue_fd);
	free(r->q);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->qlock);
	free(r);
}
