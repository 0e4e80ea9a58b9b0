/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the files of bgp/ share: the speaker's state. */
#ifndef TENACE_BGP_INTERNAL_H
#define TENACE_BGP_INTERNAL_H

#include <pthread.h>
#include "bgp/bird.h"
#include "bgp/speaker.h"

#define CONNECT_MS 1000
#define CONFIGURE_MS 5000
#define SHOW_MS 2000
#define BACKOFF_MAX 30.0
#define STABLE_RUN 30.0  /* a BIRD up this long resets the restart backoff */

struct tn_bgp {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool thread_started, stop, graceful;
	struct tn_bird_paths paths;

	/* asked for by the controller (under mu) */
	struct tn_bgp_cfg *want_cfg;     /* NULL: no BGP */
	uint64_t cfg_gen;
	struct tn_prefixes want;
	uint64_t want_gen;
	tn_bgp_decide_fn decide;         /* NULL: tn_bgp_announce says */
	void *decide_arg;
	bool kicked;

	/* the speaker thread's own */
	struct tn_bgp_cfg *cfg;
	uint64_t cfg_seen, want_seen;
	struct tn_prefixes target;       /* the last set asked for */
	struct tn_prefixes sent;         /* in the routes file BIRD last read */
	bool routes_ok;                  /* sent == target and BIRD took it */
	struct tn_bird_proc proc;
	struct tn_birdc ctl;
	double started_at, next_start, backoff, next_poll, next_retry, next_decide;
	char logged_error[300];

	/* what status and metrics show (under mu) */
	struct tn_bgp_session *sessions;
	size_t nsessions;
	struct tn_prefixes announced;
	bool external, running, reachable;
	pid_t pid;
	unsigned restarts;
	char error[300];
};

#endif /* TENACE_BGP_INTERNAL_H */
