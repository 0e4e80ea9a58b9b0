/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Health-probe engine (see probe.h): the loop. One epoll set holds a
 * timerfd, the sockets of socket checkers (data.ptr = the probe) and
 * libcurl's sockets (TAG_CURL). A min-heap orders every probe by its next
 * due time: the next start when idle, the deadline when a check is in
 * flight; the timerfd is armed at the earliest of the heap top and
 * libcurl's own timer. Verdicts go through tn_probe_record (rise/fall);
 * the protocols are the checkers of check_*.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "tenace.h"
#include "lib/log.h"
#include "probe/internal.h"

#define MAX_EVENTS      512
/* a local-error episode ends after this long without one */
#define LOCAL_QUIET_NS  (10 * NS_PER_S)

static const char *const kind_names[] = {
	"ok", "timeout", "refused", "reset", "closed", "bad-reply", "error",
};

uint64_t tn_probe_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static double realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t tn_probe_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* ---- min-heap of due times ------------------------------------------------ */

static void heap_set(struct tn_prober *P, size_t i, struct probe *pr)
{
	P->heap[i] = pr;
	pr->heap_idx = i;
}

static void heap_up(struct tn_prober *P, size_t i)
{
	struct probe *pr = P->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (P->heap[parent]->due <= pr->due)
			break;
		heap_set(P, i, P->heap[parent]);
		i = parent;
	}
	heap_set(P, i, pr);
}

static void heap_down(struct tn_prober *P, size_t i)
{
	struct probe *pr = P->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= P->heap_n)
			break;
		if (c + 1 < P->heap_n && P->heap[c + 1]->due < P->heap[c]->due)
			c++;
		if (P->heap[c]->due >= pr->due)
			break;
		heap_set(P, i, P->heap[c]);
		i = c;
	}
	heap_set(P, i, pr);
}

/* Capacity is reserved by set_targets, so a push cannot fail. */
void tn_probe_heap_push(struct tn_prober *P, struct probe *pr)
{
	heap_set(P, P->heap_n++, pr);
	heap_up(P, pr->heap_idx);
}

void tn_probe_heap_remove(struct tn_prober *P, struct probe *pr)
{
	size_t i = pr->heap_idx;
	struct probe *last = P->heap[--P->heap_n];

	if (last == pr)
		return;
	heap_set(P, i, last);
	heap_up(P, i);
	heap_down(P, last->heap_idx);
}

void tn_probe_reschedule(struct tn_prober *P, struct probe *pr, uint64_t due)
{
	uint64_t old = pr->due;

	pr->due = due;
	if (due < old)
		heap_up(P, pr->heap_idx);
	else
		heap_down(P, pr->heap_idx);
}

/* ---- key index --------------------------------------------------------------- */

size_t tn_probe_index_slot(struct probe *const *index, size_t cap, uint64_t key)
{
	size_t i = tn_probe_mix(key) & (cap - 1);

	while (index[i] && index[i]->key != key)
		i = (i + 1) & (cap - 1);
	return i;
}

struct probe *tn_probe_index_find(const struct tn_prober *P, uint64_t key)
{
	if (!P->index_cap)
		return NULL;
	return P->index[tn_probe_index_slot(P->index, P->index_cap, key)];
}

/* ---- timer ----------------------------------------------------------------- */

void tn_probe_arm_timer(struct tn_prober *P)
{
	uint64_t want = P->heap_n ? P->heap[0]->due : NEVER;
	struct itimerspec its = { 0 };

	if (P->curl_due < want)
		want = P->curl_due;
	if (want == P->armed)
		return;
	if (want != NEVER) {
		its.it_value.tv_sec = (time_t)(want / NS_PER_S);
		its.it_value.tv_nsec = (long)(want % NS_PER_S);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(P->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		tn_warn("probe: timerfd_settime: %s", strerror(errno));
		P->armed = NEVER - 1; /* force a retry next time */
		return;
	}
	P->armed = want;
}

/* ---- results ---------------------------------------------------------------- */

void tn_probe_record(struct tn_prober *P, struct probe *pr, bool up, enum kind k, const char *reason)
{
	struct tn_probe_state *st = &pr->st;
	bool was_known = st->known, change;
	int need;

	st->checks++;
	if (!up)
		st->failures++;
	st->last_duration_s = (double)(tn_probe_now_ns() - pr->started) / 1e9;
	snprintf(st->last_result, sizeof(st->last_result), "%s", kind_names[k]);
	snprintf(st->last_reason, sizeof(st->last_reason), "%s", reason);
	if (!up)
		snprintf(st->last_error, sizeof(st->last_error), "%s", reason);
	if (was_known && up == pr->last_up)
		st->consecutive++;
	else
		st->consecutive = 1;
	pr->last_up = up;

	need = up ? pr->cfg.rise : pr->cfg.fall;
	change = !was_known || (up != st->up && st->consecutive >= need);
	if (!change)
		return;
	st->known = true;
	st->up = up;
	st->since = realtime_s();
	if (!was_known)
		snprintf(P->why, sizeof(P->why), "%s (first check)", reason);
	else
		snprintf(P->why, sizeof(P->why), "%s (%d/%d)", reason, st->consecutive, need);
	if (P->fn)
		P->fn(P->arg, pr->key, up, P->why, st->consecutive);
}

void tn_probe_cancel(struct tn_prober *P, struct probe *pr)
{
	/* Reset instead of FIN: no TIME_WAIT pile-up at thousands of checks a second. */
	static const struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (pr->fd >= 0) {
		setsockopt(pr->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(pr->fd); /* also leaves the epoll set */
		pr->fd = -1;
	}
	if (pr->chk->cancel)
		pr->chk->cancel(P, pr);
	pr->phase = PH_IDLE;
	pr->step = 0;
	pr->len = 0;
}

void tn_probe_end_check(struct tn_prober *P, struct probe *pr, uint64_t now)
{
	uint64_t next = pr->started + pr->interval_ns;

	tn_probe_cancel(P, pr);
	tn_probe_reschedule(P, pr, next > now ? next : now);
}

void tn_probe_finish(struct tn_prober *P, struct probe *pr, bool up, enum kind k, const char *fmt, ...)
{
	char reason[TN_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (pr->phase != PH_LINGER) /* already recorded */
		tn_probe_record(P, pr, up, k, reason);
	tn_probe_end_check(P, pr, tn_probe_now_ns());
}

enum kind tn_probe_errno_kind(int err)
{
	switch (err) {
	case ECONNREFUSED: return K_REFUSED;
	case ETIMEDOUT: return K_TIMEOUT;
	case ECONNRESET: case EPIPE: return K_RESET;
	default: return K_ERROR;
	}
}

bool tn_probe_errno_is_local(int err)
{
	switch (err) {
	case EMFILE: case ENFILE:     /* descriptors: ours or the system's */
	case ENOBUFS: case ENOMEM:    /* kernel or process memory */
	case ENOSPC:                  /* epoll: max_user_watches */
	case EADDRNOTAVAIL:           /* connect: no ephemeral port left */
		return true;
	default:
		return false;
	}
}

/* ---- local errors: the balancer's own, logged once per episode ---------------- */

void tn_probe_local_error(struct tn_prober *P, struct probe *pr, int err, const char *what)
{
	struct tn_probe_local_error *le = &P->local;
	struct tn_probe_state *st = &pr->st;
	uint64_t now = tn_probe_now_ns();

	snprintf(le->reason, sizeof(le->reason), "%s: %s", what, strerror(err));
	le->count++;
	le->last = realtime_s();
	st->local_errors++;
	snprintf(st->local_error, sizeof(st->local_error), "%s", le->reason);
	snprintf(st->last_result, sizeof(st->last_result), "local-error");
	snprintf(st->last_reason, sizeof(st->last_reason), "not checked: %s (the balancer's own error)",
		 le->reason);
	if (!le->active) {
		char who[48];

		le->active = true;
		le->since = le->last;
		P->local_logged_count = le->count - 1;
		snprintf(who, sizeof(who), "target %#llx", (unsigned long long)pr->key);
		tn_warn("probe: checks cannot run: %s (first: %s); they are skipped, server states are kept%s",
			le->reason, pr->label ? pr->label : who,
			err == EMFILE || err == ENFILE ? "; raise the descriptor limit (LimitNOFILE=)" : "");
	}
	P->local_last_ns = now;
	tn_probe_cancel(P, pr);
	/* retry at a random point of the next interval: on the usual cadence, the
	 * same targets would keep finding every descriptor taken */
	tn_probe_reschedule(P, pr, now + 1 + tn_probe_mix(pr->key ^ le->count) % pr->interval_ns);
}

/* An episode is over once a while passed without a local error. */
static void local_error_quiet(struct tn_prober *P, uint64_t now)
{
	struct tn_probe_local_error *le = &P->local;

	if (!le->active || now < P->local_last_ns + LOCAL_QUIET_NS)
		return;
	le->active = false;
	tn_info("probe: checks run again; %llu were skipped for local errors (last: %s)",
		(unsigned long long)(le->count - P->local_logged_count), le->reason);
}

/* ---- scheduling ----------------------------------------------------------------- */

static void start_check(struct tn_prober *P, struct probe *pr, uint64_t now)
{
	pr->started = now;
	/* deadline first: the start may finish at once and reschedule */
	tn_probe_reschedule(P, pr, now + pr->timeout_ns);
	pr->chk->start(P, pr);
}

static void expire(struct tn_prober *P, struct probe *pr)
{
	const char *doing;

	if (pr->phase == PH_LINGER) {
		tn_probe_end_check(P, pr, tn_probe_now_ns());
		return;
	}
	doing = pr->phase == PH_CONNECT ? "connecting" : pr->chk->waiting(pr);
	tn_probe_finish(P, pr, false, K_TIMEOUT, "timeout after %.1f s, %s", pr->cfg.timeout_s, doing);
}

static void run_due(struct tn_prober *P)
{
	uint64_t now = tn_probe_now_ns();

	while (P->heap_n && P->heap[0]->due <= now) {
		struct probe *pr = P->heap[0];

		if (pr->phase == PH_IDLE)
			start_check(P, pr, now);
		else
			expire(P, pr);
	}
	local_error_quiet(P, now);
}

static void dispatch(struct tn_prober *P, const struct epoll_event *ev)
{
	uint64_t u = ev->data.u64;

	if (u == TAG_TIMER) {
		uint64_t ticks;

		if (read(P->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
			tn_warn("probe: timerfd read: %s", strerror(errno));
		P->armed = NEVER - 1; /* expired: re-arm whatever comes next */
	} else if ((u & 3) == TAG_CURL) {
		tn_http_socket_event(P, (int)(u >> 2), ev->events);
	} else {
		tn_tcp_event(P, ev->data.ptr, ev->events);
	}
}

int tn_prober_run_once(struct tn_prober *P, int max_wait_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int n, i;

	if (P->dispatching)
		return -EBUSY;
	tn_probe_arm_timer(P);
	n = epoll_wait(P->epfd, evs, MAX_EVENTS, max_wait_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	P->dispatching = true;
	for (i = 0; i < n; i++)
		dispatch(P, &evs[i]);
	run_due(P);
	tn_http_run_timers(P);
	P->dispatching = false;
	tn_probe_arm_timer(P);
	return n;
}

/* ---- reading ---------------------------------------------------------------------- */

int tn_prober_state(const struct tn_prober *P, uint64_t key, struct tn_probe_state *out)
{
	const struct probe *pr = tn_probe_index_find(P, key);

	if (!pr)
		return -ENOENT;
	*out = pr->st;
	return 0;
}

void tn_prober_local_error(const struct tn_prober *P, struct tn_probe_local_error *out)
{
	*out = P->local;
}

size_t tn_prober_count(const struct tn_prober *P)
{
	return P->n;
}

int tn_prober_fd(const struct tn_prober *P)
{
	return P->epfd;
}

/* ---- life cycle ------------------------------------------------------------------ */

int tn_prober_new(struct tn_prober **out, tn_probe_change_fn fn, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_TIMER };
	struct tn_prober *P;
	int rc;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	P = calloc(1, sizeof(*P));
	if (!P) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	P->fn = fn;
	P->arg = arg;
	P->curl_due = NEVER;
	P->armed = NEVER;
	P->tfd = -1;
	P->seed = tn_probe_mix((uint64_t)getpid() ^ tn_probe_now_ns());
	P->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (P->epfd < 0)
		goto fail_errno;
	P->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (P->tfd < 0)
		goto fail_errno;
	if (epoll_ctl(P->epfd, EPOLL_CTL_ADD, P->tfd, &ev) < 0)
		goto fail_errno;
	rc = tn_http_engine_init(P);
	if (rc < 0)
		goto fail;
	*out = P;
	return 0;

fail_errno:
	rc = -errno;
fail:
	tn_prober_free(P);
	return rc;
}

void tn_prober_free(struct tn_prober *P)
{
	size_t i;

	if (!P)
		return;
	for (i = 0; i < P->n; i++) {
		tn_probe_cancel(P, P->all[i]);
		tn_probe_free(P->all[i]);
	}
	if (P->multi)
		curl_multi_cleanup(P->multi);
	if (P->tfd >= 0)
		close(P->tfd);
	if (P->epfd >= 0)
		close(P->epfd);
	free(P->all);
	free(P->index);
	free(P->heap);
	free(P);
	curl_global_cleanup();
}
