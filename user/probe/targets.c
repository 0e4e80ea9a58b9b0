/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The set of targets: one probe per target, built and checked here, and
 * tn_prober_set_targets replacing the whole set in two passes (build the
 * new set, then swap) so that running out of memory changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tenace.h"
#include "probe/internal.h"

static const struct checker *checker_of(enum tn_probe_type t)
{
	switch (t) {
	case TN_PROBE_TCP: return &tn_check_tcp;
	case TN_PROBE_HTTP: return &tn_check_http;
	case TN_PROBE_SMTP: return &tn_check_smtp;
	case TN_PROBE_MYSQL: return &tn_check_mysql;
	case TN_PROBE_PGSQL: return &tn_check_pgsql;
	default: return NULL;
	}
}

static bool str_eq(const char *a, const char *b)
{
	return (!a || !*a) ? (!b || !*b) : (b && !strcmp(a, b));
}

static uint16_t effective_port(const struct tn_probe_target *t)
{
	return t->cfg.port ? t->cfg.port : t->port;
}

static bool same_target(const struct probe *pr, const struct tn_probe_target *t)
{
	size_t alen = pr->addr.family == TN_FAMILY_V6 ? 16 : 4;

	return pr->addr.family == t->addr.family && !memcmp(pr->addr.bytes, t->addr.bytes, alen) &&
	       pr->port == effective_port(t) && tn_probe_cfg_equal(&pr->cfg, &t->cfg);
}

void tn_probe_free(struct probe *pr)
{
	if (!pr)
		return;
	if (pr->fd >= 0)
		close(pr->fd);
	if (pr->chk && pr->chk->release)
		pr->chk->release(pr);
	tn_http_matcher_free(&pr->match);
	free(pr->cfg.url);
	free(pr->cfg.pattern);
	free(pr->label);
	free(pr->buf);
	free(pr);
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/*
 * What the engine cannot check at all, whatever the protocol: -EINVAL with
 * err filled. These are the engine's own guard, not the config's validation:
 * the user-facing checks (with JSON paths in their errors) live in config.c,
 * parse_probe() and parse_probe_http(), which already refuse an unknown type,
 * an http method other than GET/HEAD/OPTIONS, a url not starting with "/", a
 * bad status list or regex. What config.c accepts can still fail here (no
 * port at all: port 0 is legal on the farm, the server and the probe), and
 * targets may come from elsewhere (bench, tests, future callers), so every
 * check stays. A refused target is skipped by tn_prober_set_targets, never
 * probed with a guess. A new check here must get its config.c counterpart,
 * or be reachable from a valid config on purpose, like the port one.
 */
static int target_check(const struct tn_probe_target *t, char *err, size_t errlen)
{
	unsigned long long key = (unsigned long long)t->key;

	if (!checker_of(t->cfg.type)) {
		snprintf(err, errlen, "target %#llx: no probe type", key);
		return -EINVAL;
	}
	if (t->addr.family != TN_FAMILY_V4 && t->addr.family != TN_FAMILY_V6) {
		snprintf(err, errlen, "target %#llx: bad address family %u", key, t->addr.family);
		return -EINVAL;
	}
	if (!effective_port(t)) {
		snprintf(err, errlen, "target %#llx: no port to probe", key);
		return -EINVAL;
	}
	return 0;
}

/* http: the method, the path and the match rule (compiled into pr->match). */
static int http_check(struct probe *pr, char *err, size_t errlen)
{
	unsigned long long key = (unsigned long long)pr->key;
	const char *url = pr->cfg.url;
	char why[TN_REASON_MAX];
	int rc;

	/* defensive: config.c's method_names refuse these first */
	if (strcmp(pr->cfg.method, "GET") && strcmp(pr->cfg.method, "HEAD") && strcmp(pr->cfg.method, "OPTIONS")) {
		snprintf(err, errlen, "target %#llx: http method \"%s\", expected GET, HEAD or OPTIONS",
			 key, pr->cfg.method);
		return -EINVAL;
	}
	/* config.c's url rule: a path, which goes verbatim into the request line */
	if (url && *url && (url[0] != '/' || strpbrk(url, " \t\r\n"))) {
		snprintf(err, errlen, "target %#llx: http url \"%.60s\" must be a path starting with \"/\", "
			 "without spaces or line breaks", key, url);
		return -EINVAL;
	}
	rc = tn_http_matcher_init(&pr->match, (enum tn_http_rule)pr->cfg.match, pr->cfg.pattern,
				  pr->cfg.negate, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "target %#llx: %s", key, why);
	return rc;
}

/* The engine's defaults for what a target leaves unset (config.c sets them too). */
static void apply_defaults(struct probe *pr)
{
	pr->cfg.method[sizeof(pr->cfg.method) - 1] = '\0';
	if (!pr->cfg.method[0])
		strcpy(pr->cfg.method, "GET");
	if (!(pr->cfg.interval_s > 0))
		pr->cfg.interval_s = 5;
	if (!(pr->cfg.timeout_s > 0))
		pr->cfg.timeout_s = pr->cfg.interval_s < 2 ? pr->cfg.interval_s : 2;
	if (pr->cfg.rise < 1)
		pr->cfg.rise = 2;
	if (pr->cfg.fall < 1)
		pr->cfg.fall = 3;
	pr->interval_ns = (uint64_t)(pr->cfg.interval_s * 1e9);
	pr->timeout_ns = (uint64_t)(pr->cfg.timeout_s * 1e9);
}

/* A probe for one target, or -EINVAL (err says why) for a target the engine
 * cannot check, -ENOMEM. */
static int probe_new(const struct tn_probe_target *t, struct probe **out, char *err, size_t errlen)
{
	struct probe *pr;
	bool oom = false;
	int rc;

	*out = NULL;
	rc = target_check(t, err, errlen);
	if (rc < 0)
		return rc;
	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return -ENOMEM;
	pr->fd = -1;
	pr->key = t->key;
	pr->addr = t->addr;
	pr->port = effective_port(t);
	pr->chk = checker_of(t->cfg.type);
	pr->cfg = t->cfg;
	pr->cfg.url = dup_or_null(t->cfg.url, &oom);
	pr->cfg.pattern = dup_or_null(t->cfg.pattern, &oom);
	pr->label = dup_or_null(t->host_label, &oom);
	if (oom) {
		tn_probe_free(pr);
		return -ENOMEM;
	}
	apply_defaults(pr);
	if (pr->cfg.type == TN_PROBE_HTTP && (rc = http_check(pr, err, errlen)) < 0) {
		tn_probe_free(pr);
		return rc;
	}
	*out = pr;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A key given twice, among every target (accepted or not): -EINVAL, err says which. */
static int check_unique_keys(const struct tn_probe_target *t, size_t n, char *err, size_t errlen)
{
	uint64_t *keys;
	size_t i;
	int rc = 0;

	if (n < 2)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = t[i].key;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n; i++) {
		if (keys[i] == keys[i - 1]) {
			snprintf(err, errlen, "target %#llx given twice", (unsigned long long)keys[i]);
			rc = -EINVAL;
			break;
		}
	}
	free(keys);
	return rc;
}

/* The new set being built: nothing visible changes until it all worked. */
struct next_set {
	struct probe **all;   /* by target; NULL: refused (or not reached) */
	struct probe **index;
	size_t cap;
};

static int reserve(struct tn_prober *P, struct next_set *s, size_t n)
{
	struct probe **heap;

	s->cap = 16;
	while (s->cap < 2 * n)
		s->cap *= 2;
	s->all = calloc(n ? n : 1, sizeof(*s->all));
	s->index = calloc(s->cap, sizeof(*s->index));
	if (!s->all || !s->index)
		return -ENOMEM;
	if (n > P->heap_cap) {
		heap = realloc(P->heap, n * sizeof(*heap));
		if (!heap)
			return -ENOMEM;
		P->heap = heap;
		P->heap_cap = n;
	}
	return 0;
}

/*
 * Pass 1: an unchanged target keeps its probe, a new or changed one gets a
 * new probe. A target probe_new refuses is left out (all[i] stays NULL),
 * counted, and the first one's reason kept in err. Returns the number of
 * refused targets, or -ENOMEM.
 */
static int build(struct tn_prober *P, struct next_set *s, const struct tn_probe_target *t, size_t n,
		 char *err, size_t errlen)
{
	char why[TN_REASON_MAX];
	int rc, refused = 0;

	for (size_t i = 0; i < n; i++) {
		struct probe *old = tn_probe_index_find(P, t[i].key);

		if (old && same_target(old, &t[i])) {
			old->kept = true;
			s->all[i] = old;
		} else {
			rc = probe_new(&t[i], &s->all[i], why, sizeof(why));
			if (rc == -ENOMEM)
				return rc;
			if (rc < 0) {
				if (!refused++)
					snprintf(err, errlen, "%s", why);
				continue;
			}
		}
		s->index[tn_probe_index_slot(s->index, s->cap, t[i].key)] = s->all[i];
	}
	return refused;
}

/* A kept probe takes the target's new label (a failed copy keeps the old one). */
static void relabel(struct probe *pr, const char *label)
{
	char *l;

	if (str_eq(pr->label, label))
		return;
	l = label ? strdup(label) : NULL;
	if (l || !label) {
		free(pr->label);
		pr->label = l;
	}
}

/* Pass 2: drop the old probes that did not survive, schedule the new ones, swap. */
static void swap_in(struct tn_prober *P, struct next_set *s, const struct tn_probe_target *t, size_t n)
{
	uint64_t now = tn_probe_now_ns();
	size_t i, m;

	for (i = 0; i < P->n; i++) {
		struct probe *pr = P->all[i];

		if (pr->kept)
			continue;
		tn_probe_cancel(P, pr);
		tn_probe_heap_remove(P, pr);
		tn_probe_free(pr);
	}
	for (i = 0, m = 0; i < n; i++) {
		struct probe *pr = s->all[i];

		if (!pr)
			continue; /* refused */
		s->all[m++] = pr;
		if (pr->kept) {
			pr->kept = false;
			relabel(pr, t[i].host_label);
			continue;
		}
		/* spread the first checks over the first interval */
		pr->due = now + tn_probe_mix(pr->key ^ P->seed) % (pr->interval_ns + 1);
		tn_probe_heap_push(P, pr);
	}
	free(P->all);
	free(P->index);
	P->all = s->all;
	P->n = m;
	P->index = s->index;
	P->index_cap = s->cap;
}

/* Out of memory: undo pass 1 (new probes freed, kept ones unmarked). */
static void abandon(struct next_set *s, size_t n)
{
	for (size_t i = 0; s->all && i < n; i++) {
		if (!s->all[i])
			continue; /* refused, or not reached */
		if (s->all[i]->kept)
			s->all[i]->kept = false;
		else
			tn_probe_free(s->all[i]);
	}
	free(s->all);
	free(s->index);
}

int tn_prober_set_targets(struct tn_prober *P, const struct tn_probe_target *t, size_t n,
			  char *err, size_t errlen)
{
	struct next_set s = { 0 };
	char dummy[8];
	int rc;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (P->dispatching) {
		snprintf(err, errlen, "targets cannot change from the probe callback");
		return -EBUSY;
	}
	rc = check_unique_keys(t, n, err, errlen);
	if (rc == 0)
		rc = reserve(P, &s, n);
	if (rc == 0)
		rc = build(P, &s, t, n, err, errlen);
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		abandon(&s, n);
		return rc;
	}
	swap_in(P, &s, t, n);
	tn_probe_arm_timer(P);
	return rc;
}
