/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside the probe engine (private to user/probe/). engine.c owns the loop,
 * the min-heap of due times and the verdicts (rise/fall); targets.c builds
 * and replaces the set of probes; each protocol is a checker of its own
 * (check_tcp.c: tcp and the TCP connection every socket checker builds on,
 * check_smtp.c, check_sql.c: mysql and pgsql, check_http.c: http(s) through
 * libcurl's multi interface), reached through the table in struct checker
 * instead of switches on the probe type.
 */
#ifndef TENACE_PROBE_INTERNAL_H
#define TENACE_PROBE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include "probe/probe.h"
#include "probe/probe_proto.h"

#define NS_PER_S        1000000000ull
#define NEVER           UINT64_MAX
/* epoll data of non-probe fds: libcurl's sockets are fd << 2 | TAG_CURL, never a
 * pointer (curl may close a socket while its event is still in our batch) */
#define TAG_CURL        1ull
#define TAG_TIMER       2ull
#define RAW_BUF         TN_MYSQL_MAX_GREETING

enum phase {
	PH_IDLE = 0,
	PH_CONNECT, /* socket checkers: connect() in flight */
	PH_REPLY,   /* socket checkers: waiting for the server (the checker's step says for what) */
	PH_LINGER,  /* result recorded; waiting for the server to close after QUIT */
	PH_CURL,    /* http: the transfer is libcurl's */
};

enum kind { K_OK = 0, K_TIMEOUT, K_REFUSED, K_RESET, K_CLOSED, K_BAD, K_ERROR };

struct tn_prober;
struct probe;
struct http;

/* One protocol. Socket checkers use tn_tcp_start and fill connected/reply;
 * http has its own transport (libcurl). */
struct checker {
	const char *name;   /* "smtp": in reasons ("smtp: read: ...") */
	bool needs_buf;     /* reads a reply into probe.buf (RAW_BUF bytes) */
	/* Begin a check: on return it is in flight, or over (finish/local_error called). */
	void (*start)(struct tn_prober *P, struct probe *pr);
	/* Socket checkers: connected; send what the protocol opens with, set the step. */
	void (*connected)(struct tn_prober *P, struct probe *pr);
	/* Socket checkers: probe.buf holds probe.len bytes; eof: the server closed. */
	void (*reply)(struct tn_prober *P, struct probe *pr, bool eof);
	/* What a check in PH_REPLY waits for, for timeouts: "waiting for the smtp banner". */
	const char *(*waiting)(const struct probe *pr);
	/* Stop the check in flight without recording anything; NULL: nothing beyond the socket. */
	void (*cancel)(struct tn_prober *P, struct probe *pr);
	/* Free the checker's own per-probe resources; NULL: none. */
	void (*release)(struct probe *pr);
};

extern const struct checker tn_check_tcp, tn_check_smtp, tn_check_mysql, tn_check_pgsql, tn_check_http;

struct probe {
	uint64_t key;
	struct tn_addr addr;
	uint16_t port;             /* effective: cfg.port or the target's */
	char *label;
	struct tn_probe_cfg cfg;   /* deep copy (url, pattern owned) */
	const struct checker *chk;
	uint64_t interval_ns, timeout_ns;
	struct tn_http_matcher match;
	struct http *http;         /* http probes, created at the first check */

	int fd;                    /* socket checkers, -1 when none */
	uint8_t *buf;              /* RAW_BUF bytes, kept between checks */
	size_t len;
	enum phase phase;
	int step;                  /* the checker's own sub-state within PH_REPLY */

	uint64_t due;              /* CLOCK_MONOTONIC ns */
	uint64_t started;
	size_t heap_idx;
	bool kept;                 /* set_targets: survives the change */
	bool last_up;              /* last result (st.up is the decided state) */
	struct tn_probe_state st;
};

struct tn_prober {
	int epfd, tfd;
	CURLM *multi;
	tn_probe_change_fn fn;
	void *arg;
	struct probe **all;        /* current targets */
	size_t n;
	struct probe **index;      /* open addressing by key, capacity index_cap (power of 2) */
	size_t index_cap;
	struct probe **heap;
	size_t heap_n, heap_cap;
	uint64_t curl_due;         /* when libcurl wants socket_action(TIMEOUT) */
	uint64_t armed;            /* timerfd expiry, NEVER if disarmed */
	uint64_t seed;
	bool dispatching;
	struct tn_probe_local_error local;
	uint64_t local_last_ns;    /* CLOCK_MONOTONIC of the last local error */
	uint64_t local_logged_count; /* local.count when the episode started */
	char why[TN_REASON_MAX];   /* scratch for reasons */
};

/* engine.c */
uint64_t tn_probe_now_ns(void);
uint64_t tn_probe_mix(uint64_t x);
void tn_probe_heap_push(struct tn_prober *P, struct probe *pr);
void tn_probe_heap_remove(struct tn_prober *P, struct probe *pr);
void tn_probe_reschedule(struct tn_prober *P, struct probe *pr, uint64_t due);
void tn_probe_arm_timer(struct tn_prober *P);
size_t tn_probe_index_slot(struct probe *const *index, size_t cap, uint64_t key);
struct probe *tn_probe_index_find(const struct tn_prober *P, uint64_t key);
/* The server's verdict for this check (counts toward rise/fall). */
void tn_probe_record(struct tn_prober *P, struct probe *pr, bool up, enum kind k, const char *reason);
/* Record (unless already recorded: PH_LINGER), then end the check. */
void tn_probe_finish(struct tn_prober *P, struct probe *pr, bool up, enum kind k, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The check could not run for a reason of the balancer's own (err: EMFILE,
 * ENOMEM, ...): no verdict on the server, counted and logged as a local error. */
void tn_probe_local_error(struct tn_prober *P, struct probe *pr, int err, const char *what);
/* Free what the check in flight holds, without recording anything. */
void tn_probe_cancel(struct tn_prober *P, struct probe *pr);
/* The check is over: free its resources, plan the next one on the cadence. */
void tn_probe_end_check(struct tn_prober *P, struct probe *pr, uint64_t now);
enum kind tn_probe_errno_kind(int err);
/* EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL: the balancer's problem, not the server's. */
bool tn_probe_errno_is_local(int err);

/* targets.c */
void tn_probe_free(struct probe *pr);

/* check_tcp.c: the TCP connection of socket checkers */
void tn_tcp_start(struct tn_prober *P, struct probe *pr);
void tn_tcp_event(struct tn_prober *P, struct probe *pr, uint32_t events);
/* Wait for the reply (EPOLLIN); false: the check is over (finished). */
bool tn_tcp_wait_reply(struct tn_prober *P, struct probe *pr);
/* Send a few bytes on the fresh connection; false: the check is over. */
bool tn_tcp_send(struct tn_prober *P, struct probe *pr, const void *data, size_t len, const char *what);

/* check_http.c: libcurl's side of the loop */
int tn_http_engine_init(struct tn_prober *P);
void tn_http_socket_event(struct tn_prober *P, int fd, uint32_t events);
/* Run libcurl's own timeouts when due. */
void tn_http_run_timers(struct tn_prober *P);

#endif /* TENACE_PROBE_INTERNAL_H */
