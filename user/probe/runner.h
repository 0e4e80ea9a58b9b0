/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The probe engine on a thread of its own (keepalived runs its checker
 * apart for the same reason): a refresh, a reload or a slow fsync on the
 * daemon's main loop never delays a check into a timeout.
 *
 * The thread waits on the engine's fd without any lock, then runs it under
 * the runner's lock; every other access to the engine takes that lock, so
 * all of these may be called from any thread. State changes go into a queue
 * the owner drains when tn_probe_runner_fd() is readable.
 */
#ifndef TENACE_PROBE_RUNNER_H
#define TENACE_PROBE_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "probe/probe.h"
#include "probe/probe_proto.h"

struct tn_probe_runner;

/* One state change, as tn_probe_change_fn reports it. */
struct tn_probe_event {
	uint64_t key;
	bool up;
	int count;                   /* consecutive results that led to it */
	char reason[TN_REASON_MAX];  /* "http status 503, expected 200 (3/3)" */
};

/* A prober and its thread, running (no targets yet). 0, or -errno. */
int tn_probe_runner_start(struct tn_probe_runner **out);
/* Stop and join the thread, free the engine and the queue; NULL is fine. */
void tn_probe_runner_stop(struct tn_probe_runner *r);

/* tn_prober_set_targets, under the runner's lock: the same per-target
 * contract and return value; the targets are copied before it returns. */
int tn_probe_runner_set_targets(struct tn_probe_runner *r, const struct tn_probe_target *t, size_t n,
				char *err, size_t errlen);

/* An eventfd, readable while state changes wait in the queue. */
int tn_probe_runner_fd(const struct tn_probe_runner *r);
/* Pop up to max events, oldest first. Returns how many. */
size_t tn_probe_runner_drain(struct tn_probe_runner *r, struct tn_probe_event *ev, size_t max);

/* A target's latest check (tn_prober_state under the lock): 0 or -ENOENT. */
int tn_probe_runner_state(struct tn_probe_runner *r, uint64_t key, struct tn_probe_state *out);
void tn_probe_runner_local_error(struct tn_probe_runner *r, struct tn_probe_local_error *out);

#endif /* TENACE_PROBE_RUNNER_H */
