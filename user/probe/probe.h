/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Health-probe engine: one epoll loop checks every server (tcp, http/https
 * through libcurl's multi interface, smtp, mysql, pgsql) with non-blocking
 * sockets, per-probe timeouts and a min-heap of due times. No thread per
 * server: 10,000 targets at a 1 s interval cost a few percent of one core.
 *
 * A server goes down after `fall` consecutive failed checks and up after
 * `rise` consecutive successes; the first result of a new target decides at
 * once. The callback fires on state changes only.
 *
 * A check the balancer itself cannot run (no descriptor left, no memory: a
 * local error) is no verdict on the server: its state and its rise/fall
 * count stay as they were; the engine counts it, logs it once and shows it
 * in tn_prober_local_error and the target's state.
 *
 * Not thread-safe: one thread owns a prober (runner.h runs one on a thread
 * of its own). The callback runs inside tn_prober_run_once and may call
 * tn_prober_state, but not tn_prober_set_targets (-EBUSY) nor tn_prober_free.
 */
#ifndef TENACE_PROBE_H
#define TENACE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config/config.h"

struct tn_prober;

struct tn_probe_target {
	uint64_t key;            /* caller's id, e.g. (type<<48)|(farm<<24)|server */
	struct tn_addr addr;     /* server address (IPv4 or IPv6) */
	uint16_t port;           /* server's port; cfg.port != 0 overrides it */
	const char *host_label;  /* for log lines, may be NULL; copied */
	struct tn_probe_cfg cfg; /* deep-copied; type must not be TN_PROBE_NONE */
};

/* State change: up or down, why ("http status 503, expected 200 (3/3)"),
 * and how many consecutive results led to it. */
typedef void (*tn_probe_change_fn)(void *arg, uint64_t key, bool up,
				   const char *reason, int count);

/* 0, or -errno (epoll, timerfd or libcurl could not be set up). */
int tn_prober_new(struct tn_prober **out, tn_probe_change_fn fn, void *arg);
/* Closes every socket and frees everything; NULL is fine. */
void tn_prober_free(struct tn_prober *p);

/*
 * Replace the set of targets. A target whose key, address, port and config
 * are unchanged keeps its state (and its check in flight); a new or changed
 * one starts unknown, its first check due at a random point of its first
 * interval, and its first result decides at once; removed ones are dropped.
 *
 * Per target, not all or nothing: every valid target is applied, and each
 * target the engine refuses (TN_PROBE_NONE, bad address family, no port to
 * probe, http method, bad status list or regex) is skipped: it is not probed
 * and has no state (tn_prober_state: -ENOENT), even if an earlier call had
 * accepted an older version of it. One bad target never costs the others
 * their health checks.
 *
 * Returns:
 *   >= 0     the number of refused targets; the set is applied. If > 0, err
 *            describes the first refused one ("target 0x2a: no port to
 *            probe"); if 0, err is "".
 *   -EINVAL  a key given twice (among all targets, refused ones included):
 *            a bug of the caller's; nothing changed, err says which key.
 *   -ENOMEM  nothing changed.
 *   -EBUSY   called from the callback; nothing changed.
 * So a caller checks `< 0` for failure and `> 0` for targets to report.
 * err may be NULL.
 */
int tn_prober_set_targets(struct tn_prober *p, const struct tn_probe_target *t, size_t n,
			  char *err, size_t errlen);

/* The epoll fd: readable when tn_prober_run_once has work (events or timers). */
int tn_prober_fd(const struct tn_prober *p);

/* Wait up to max_wait_ms (0: poll, -1: forever) for events and due timers,
 * run them. Returns the number of events handled (>= 0) or -errno. */
int tn_prober_run_once(struct tn_prober *p, int max_wait_ms);

struct tn_probe_state {
	bool known;              /* false until the first result */
	bool up;
	double since;            /* CLOCK_REALTIME seconds of the last state change */
	char last_result[16];    /* "ok", "timeout", "refused", "reset", "closed", "bad-reply", "error" */
	char last_error[160];    /* reason of the last failed check ("" if none yet) */
	char last_reason[160];   /* reason of the last check, success or not */
	int consecutive;         /* consecutive results equal to the last one */
	uint64_t checks, failures;
	double last_duration_s;  /* of the last check */
	/* checks skipped for a local error (last_result "local-error"), not counted in checks */
	uint64_t local_errors;
	char local_error[160];   /* the last one, "socket: Too many open files" ("" if none) */
};
/* 0, or -ENOENT for an unknown key. */
int tn_prober_state(const struct tn_prober *p, uint64_t key, struct tn_probe_state *out);
/* A reader of target states: tn_prober_state's contract (runner.h has one). */
typedef int (*tn_probe_state_fn)(void *arg, uint64_t key, struct tn_probe_state *out);

/* The engine's own errors: checks it could not run (descriptors, memory). */
struct tn_probe_local_error {
	bool active;             /* one in the last 10 s */
	uint64_t count;          /* checks skipped since the engine started */
	char reason[160];        /* the last one ("" if none yet) */
	double since;            /* CLOCK_REALTIME seconds: start of the current episode */
	double last;             /* CLOCK_REALTIME seconds of the last one */
};
void tn_prober_local_error(const struct tn_prober *p, struct tn_probe_local_error *out);

/*
 * Raise RLIMIT_NOFILE's soft limit to what probing `targets` servers needs
 * (2 per target and a margin), up to the hard limit; never lowers it.
 * Returns the soft limit now in force; logs when it falls short (checks
 * beyond it become local errors, not failures).
 */
unsigned long tn_probe_reserve_fds(size_t targets);

size_t tn_prober_count(const struct tn_prober *p);

#endif /* TENACE_PROBE_H */
