/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bgp/announce.h"
#include "bgp/speaker.h"
#include "control/controller.h"
#include "control/node.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/time.h"

struct tn_node {
	struct tn_ctl *ctl;      /* set once the controller exists (tn_node_attach) */
	struct tn_bgp *bgp;
	pthread_mutex_t mu;      /* drained, since, ready, cfg */
	bool drained, ready, has_bgp;
	struct tn_bgp_cfg cfg;   /* what the speaker was given, while has_bgp */
	bool warned[2];          /* an IPv4 / IPv6 VIP without a neighbor of its family */
	double drained_since;
	char drain_path[TN_BGP_PATH_MAX];
};

static void farm_health(void *ctx, enum tn_l4_type t, uint32_t farm_id, struct tn_bgp_farm_health *out)
{
	tn_ctl_farm_health(ctx, t, farm_id, &out->up, &out->pending);
}

/* Own BIRD: a VIP of a family no neighbor speaks reaches no router (said once). */
static void warn_unannounced(struct tn_node *n, const struct tn_prefixes *p)
{
	bool has[2] = { false, false }, want[2] = { false, false };
	char text[TN_ADDR_TEXT + 8];

	pthread_mutex_lock(&n->mu);
	if (!n->has_bgp || tn_bgp_external(&n->cfg)) {
		pthread_mutex_unlock(&n->mu);
		return;
	}
	for (size_t i = 0; i < n->cfg.nneighbors; i++)
		has[n->cfg.neighbors[i].address.family == 6] = true;
	for (size_t i = 0; i < p->n; i++) {
		int f = p->v[i].family == 6;

		if (has[f] || want[f] || n->warned[f])
			continue;
		want[f] = n->warned[f] = true;
		tn_prefix_format(&p->v[i], text, sizeof(text));
		tn_warn("bgp: %s reaches no router: no IPv%d neighbor in bgp.neighbors (IPv4 VIPs go to IPv4 "
			"neighbors, IPv6 VIPs to IPv6 ones)", text, f ? 6 : 4);
	}
	pthread_mutex_unlock(&n->mu);
}

/* The speaker's decider: the controller's state lock, briefly. */
static int decide(void *arg, const struct tn_prefixes *current, struct tn_prefixes *out)
{
	struct tn_node *n = arg;
	struct tn_bgp_inputs in = { .health = farm_health, .health_ctx = n->ctl, .current = current };
	int e;

	pthread_mutex_lock(&n->mu);
	in.ready = n->ready && n->ctl;
	in.drained = n->drained;
	if (!in.ready) {
		/* before the data plane serves: nothing new (see tn_bgp_decide) */
		in.bgp = n->has_bgp ? &n->cfg : NULL;
		e = tn_bgp_decide(&in, out);
		pthread_mutex_unlock(&n->mu);
		return e;
	}
	pthread_mutex_unlock(&n->mu);
	tn_ctl_lock(n->ctl);
	in.applied = tn_ctl_applied(n->ctl);
	in.bgp = in.applied->bgp;
	e = tn_bgp_decide(&in, out);
	tn_ctl_unlock(n->ctl);
	if (!e)
		warn_unannounced(n, out);
	return e;
}

/* "1796156568.123\n": when the node was drained. */
static void read_drain(struct tn_node *n)
{
	char *text = NULL;
	size_t len;

	if (tn_file_read(n->drain_path, 64, &text, &len))
		return;
	n->drained = true;
	n->drained_since = strtod(text, NULL);
	free(text);
	tn_warn("this node is drained since an earlier run (%s): nothing is announced until `tenace node resume`",
		n->drain_path);
}

int tn_node_new(struct tn_node **out, const char *state_dir)
{
	struct tn_node *n = calloc(1, sizeof(*n));
	int e;

	if (!n)
		return -ENOMEM;
	if (snprintf(n->drain_path, sizeof(n->drain_path), "%s/%s", state_dir, TN_DRAIN_FILE) >=
	    (int)sizeof(n->drain_path)) {
		tn_err("the state directory %s is too long", state_dir);
		free(n);
		return -ENAMETOOLONG;
	}
	if ((e = tn_bgp_new(&n->bgp, state_dir))) {
		free(n);
		return e;
	}
	pthread_mutex_init(&n->mu, NULL);
	read_drain(n);
	tn_bgp_set_decider(n->bgp, decide, n);
	*out = n;
	return 0;
}

void tn_node_attach(struct tn_node *n, struct tn_ctl *ctl)
{
	pthread_mutex_lock(&n->mu);
	n->ctl = ctl;
	pthread_mutex_unlock(&n->mu);
	tn_ctl_set_node(ctl, n);
}

void tn_node_set_ready(struct tn_node *n)
{
	pthread_mutex_lock(&n->mu);
	n->ready = n->ctl != NULL;
	pthread_mutex_unlock(&n->mu);
	tn_bgp_kick(n->bgp);
}

int tn_node_configure(struct tn_node *n, const struct tn_bgp_cfg *bgp)
{
	struct tn_bgp_cfg copy = {0};

	if (bgp && tn_bgp_cfg_copy(&copy, bgp))
		return -ENOMEM;
	pthread_mutex_lock(&n->mu);
	tn_bgp_cfg_free(&n->cfg);
	n->cfg = copy;
	n->has_bgp = bgp != NULL;
	pthread_mutex_unlock(&n->mu);
	return tn_bgp_configure(n->bgp, bgp);
}

int tn_node_set_drained(struct tn_node *n, bool drained, char *err, size_t errlen)
{
	double now = tn_now();
	char text[64];
	int e = 0;

	/* at once in memory (the routes go now), then the mark a restart reads */
	pthread_mutex_lock(&n->mu);
	if (n->drained != drained) {
		n->drained = drained;
		n->drained_since = drained ? now : 0;
		tn_info(drained ? "node drained: every route withdrawn, the data plane keeps serving what arrives"
				: "node resumed: announcing again");
	}
	pthread_mutex_unlock(&n->mu);
	tn_bgp_kick(n->bgp);
	if (drained) {
		int len = snprintf(text, sizeof(text), "%.3f\n", now);

		e = tn_file_write_atomic(n->drain_path, text, (size_t)len, 0644);
	} else if (unlink(n->drain_path) && errno != ENOENT) {
		e = -errno;
	}
	if (e) {
		snprintf(err, errlen, "the node is %s, but the drain mark %s could not be %s (%s): a restarted "
			 "controller would %s", drained ? "drained" : "resumed", n->drain_path,
			 drained ? "written" : "removed", strerror(-e), drained ? "announce again" : "stay drained");
		tn_err("%s", err);
	}
	return e;
}

bool tn_node_drained(struct tn_node *n)
{
	bool d;

	pthread_mutex_lock(&n->mu);
	d = n->drained;
	pthread_mutex_unlock(&n->mu);
	return d;
}

void tn_node_kick(struct tn_node *n)
{
	if (n)
		tn_bgp_kick(n->bgp);
}

void tn_node_shutdown(struct tn_node *n)
{
	if (!n)
		return;
	if (n->ctl)
		tn_ctl_set_node(n->ctl, NULL);
	tn_bgp_shutdown(n->bgp);
	tn_bgp_cfg_free(&n->cfg);
	pthread_mutex_destroy(&n->mu);
	free(n);
}

json_object *tn_node_status_json(struct tn_node *n)
{
	json_object *o = json_object_new_object();
	bool has_bgp;

	pthread_mutex_lock(&n->mu);
	json_object_object_add(o, "drained", json_object_new_boolean(n->drained));
	json_object_object_add(o, "drainedSince", n->drained ? json_object_new_double(n->drained_since) : NULL);
	json_object_object_add(o, "ready", json_object_new_boolean(n->ready));
	has_bgp = n->has_bgp;
	pthread_mutex_unlock(&n->mu);
	json_object_object_add(o, "bgp", has_bgp ? tn_bgp_status_json(n->bgp) : NULL);
	return o;
}

void tn_node_metrics(struct tn_node *n, struct tn_buf *out)
{
	bool has_bgp;

	pthread_mutex_lock(&n->mu);
	tn_buf_printf(out, "# HELP tenace_node_drained 1 while the node is drained (tenace node drain).\n"
		      "# TYPE tenace_node_drained gauge\ntenace_node_drained %d\n", n->drained ? 1 : 0);
	has_bgp = n->has_bgp;
	pthread_mutex_unlock(&n->mu);
	if (has_bgp)
		tn_bgp_metrics(n->bgp, out);
}
