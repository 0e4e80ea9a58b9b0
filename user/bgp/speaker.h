/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The BGP speaker: one thread that keeps BIRD announcing what it is asked
 * to. It writes the configuration of Tenace's own BIRD and supervises that
 * process (restarts it with a backoff when it dies), or drives an
 * operator's BIRD; it writes the routes file and reconfigures BIRD at once
 * when the set changes; it polls the sessions once a second for status and
 * metrics. Nothing here blocks the caller: BIRD's socket is only used from
 * the speaker's thread.
 */
#ifndef TENACE_BGP_SPEAKER_H
#define TENACE_BGP_SPEAKER_H

#include <json-c/json.h>
#include "bgp/announce.h"
#include "config/bgp.h"
#include "lib/buf.h"

struct tn_bgp;

/* dir: where Tenace's own BIRD keeps its files (beside the state file).
 * 0 or -errno (logged). */
int tn_bgp_new(struct tn_bgp **out, const char *dir);
/*
 * Use this configuration from now on (copied; NULL: no BGP any more: our
 * BIRD is stopped, an operator's BIRD gets an empty routes file). The first
 * call looks for what an earlier controller left: our BIRD still running
 * (taken over, not restarted) or an operator's routes file, whose routes
 * are the current set until the first tn_bgp_announce. 0 or -ENOMEM.
 */
int tn_bgp_configure(struct tn_bgp *b, const struct tn_bgp_cfg *cfg);
/* What BIRD is told to announce now (a copy). */
int tn_bgp_current(struct tn_bgp *b, struct tn_prefixes *out);
/* Announce exactly this set: the speaker rewrites the routes and
 * reconfigures BIRD at once. 0 or -ENOMEM. */
int tn_bgp_announce(struct tn_bgp *b, const struct tn_prefixes *p);
/*
 * Or let a decider say: the speaker's thread calls it after each
 * tn_bgp_kick and once a second, with the set announced now, and announces
 * what it returns (0 with *out filled; an error keeps the set). It runs
 * without any lock of the speaker's, so it may take the controller's.
 */
typedef int (*tn_bgp_decide_fn)(void *arg, const struct tn_prefixes *current, struct tn_prefixes *out);
void tn_bgp_set_decider(struct tn_bgp *b, tn_bgp_decide_fn fn, void *arg);
/* Something the decision depends on changed: decide again now. Never
 * blocks (any thread, any lock held). */
void tn_bgp_kick(struct tn_bgp *b);
/*
 * Graceful stop: withdraw every route, wait (up to about 2 s) until BIRD
 * has sent the withdrawals, then stop our BIRD (an operator's keeps
 * running, without our routes). Frees b.
 */
void tn_bgp_shutdown(struct tn_bgp *b);
/* Stop the thread, leave BIRD and its routes as they are (tests). */
void tn_bgp_free(struct tn_bgp *b);

/* {"bird": {...}, "announced": [...], "sessions": [...]} */
json_object *tn_bgp_status_json(struct tn_bgp *b);
/* Prometheus lines (tenace_bgp_*). */
void tn_bgp_metrics(struct tn_bgp *b, struct tn_buf *out);

#endif /* TENACE_BGP_SPEAKER_H */
