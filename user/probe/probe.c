/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Health-probe engine (see probe.h). One epoll set holds a timerfd, the raw
 * sockets of tcp/smtp/mysql/pgsql checks (data.ptr = the probe) and libcurl's
 * sockets (data.u64 = fd << 2 | TAG_CURL, never a pointer: curl may close a
 * socket while its event is still in our batch). A min-heap orders every
 * probe by its next due time: the next start when idle, the deadline when a
 * check is in flight; the timerfd is armed at the earliest of the heap top
 * and libcurl's own timer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "tenace.h"
#include "lib/log.h"
#include "lib/net.h"
#include "probe/probe.h"
#include "probe/probe_proto.h"

#define NS_PER_S        1000000000ull
#define NEVER           UINT64_MAX
#define TAG_CURL        1ull
#define TAG_TIMER       2ull
#define RAW_BUF         TN_MYSQL_MAX_GREETING
#define HTTP_BODY_MAX   (64 * 1024)
#define MAX_EVENTS      512

enum phase {
	PH_IDLE = 0,
	PH_CONNECT,
	PH_SMTP_BANNER,
	PH_SMTP_EHLO,
	PH_MYSQL,
	PH_PGSQL,
	PH_LINGER,  /* result recorded; waiting for the server to close after QUIT */
	PH_CURL,
};

enum kind { K_OK = 0, K_TIMEOUT, K_REFUSED, K_RESET, K_CLOSED, K_BAD, K_ERROR };
static const char *const kind_names[] = {
	"ok", "timeout", "refused", "reset", "closed", "bad-reply", "error",
};

struct http {
	CURL *easy;
	struct curl_slist *headers;
	char *url;
	char *body;
	size_t body_len, body_cap;
	bool body_cut;             /* we stopped the transfer on purpose */
	char errbuf[CURL_ERROR_SIZE];
};

struct probe {
	uint64_t key;
	struct tn_addr addr;
	uint16_t port;             /* effective: cfg.port or the target's */
	char *label;
	struct tn_probe_cfg cfg;   /* deep copy (url, pattern owned) */
	uint64_t interval_ns, timeout_ns;
	struct tn_http_matcher match;
	struct http *http;         /* http probes, created at the first check */

	int fd;                    /* raw probes, -1 when none */
	uint8_t *buf;              /* RAW_BUF bytes, kept between checks */
	size_t len;
	enum phase phase;

	uint64_t due;              /* CLOCK_MONOTONIC ns */
	uint64_t started;
	size_t heap_idx;
	bool kept;                 /* set_targets: survives the change */
	bool last_up;              /* last result (state.up is the decided state) */
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
	char why[TN_REASON_MAX];   /* scratch for reasons */
};

static uint64_t now_ns(void)
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

static uint64_t splitmix64(uint64_t x)
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
static void heap_push(struct tn_prober *P, struct probe *pr)
{
	heap_set(P, P->heap_n++, pr);
	heap_up(P, pr->heap_idx);
}

static void heap_remove(struct tn_prober *P, struct probe *pr)
{
	size_t i = pr->heap_idx;
	struct probe *last = P->heap[--P->heap_n];

	if (last == pr)
		return;
	heap_set(P, i, last);
	heap_up(P, i);
	heap_down(P, last->heap_idx);
}

static void reschedule(struct tn_prober *P, struct probe *pr, uint64_t due)
{
	uint64_t old = pr->due;

	pr->due = due;
	if (due < old)
		heap_up(P, pr->heap_idx);
	else
		heap_down(P, pr->heap_idx);
}

/* ---- key index --------------------------------------------------------------- */

static size_t index_slot(struct probe *const *index, size_t cap, uint64_t key)
{
	size_t i = splitmix64(key) & (cap - 1);

	while (index[i] && index[i]->key != key)
		i = (i + 1) & (cap - 1);
	return i;
}

static struct probe *index_find(const struct tn_prober *P, uint64_t key)
{
	if (!P->index_cap)
		return NULL;
	return P->index[index_slot(P->index, P->index_cap, key)];
}

/* ---- timer ----------------------------------------------------------------- */

static void arm_timer(struct tn_prober *P)
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

static void record(struct tn_prober *P, struct probe *pr, bool up, enum kind k, const char *reason)
{
	struct tn_probe_state *st = &pr->st;
	bool was_known = st->known, change;
	int need;

	st->checks++;
	if (!up)
		st->failures++;
	st->last_duration_s = (double)(now_ns() - pr->started) / 1e9;
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

static void close_fd(struct probe *pr)
{
	/* Reset instead of FIN: no TIME_WAIT pile-up at thousands of checks a second. */
	static const struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (pr->fd < 0)
		return;
	setsockopt(pr->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(pr->fd); /* also leaves the epoll set */
	pr->fd = -1;
}

/* Stop whatever is in flight without recording anything. */
static void cancel(struct tn_prober *P, struct probe *pr)
{
	close_fd(pr);
	if (pr->phase == PH_CURL && pr->http)
		curl_multi_remove_handle(P->multi, pr->http->easy);
	pr->phase = PH_IDLE;
	pr->len = 0;
}

/* The check is over: free its resources, plan the next one on the cadence. */
static void end_check(struct tn_prober *P, struct probe *pr, uint64_t now)
{
	uint64_t next = pr->started + pr->interval_ns;

	cancel(P, pr);
	reschedule(P, pr, next > now ? next : now);
}

static void finish(struct tn_prober *P, struct probe *pr, bool up, enum kind k, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void finish(struct tn_prober *P, struct probe *pr, bool up, enum kind k, const char *fmt, ...)
{
	char reason[TN_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (pr->phase != PH_LINGER) /* already recorded */
		record(P, pr, up, k, reason);
	end_check(P, pr, now_ns());
}

static enum kind errno_kind(int err)
{
	switch (err) {
	case ECONNREFUSED: return K_REFUSED;
	case ETIMEDOUT: return K_TIMEOUT;
	case ECONNRESET: case EPIPE: return K_RESET;
	default: return K_ERROR;
	}
}

static const char *phase_doing(const struct probe *pr)
{
	switch (pr->phase) {
	case PH_CONNECT: return "connecting";
	case PH_SMTP_BANNER: return "waiting for the smtp banner";
	case PH_SMTP_EHLO: return "waiting for the smtp EHLO reply";
	case PH_MYSQL: return "waiting for the mysql greeting";
	case PH_PGSQL: return "waiting for the pgsql SSLRequest answer";
	case PH_CURL: return "waiting for the http reply";
	default: return "idle";
	}
}

/* ---- raw socket probes (tcp, smtp, mysql, pgsql) ----------------------------- */

static bool watch(struct tn_prober *P, struct probe *pr, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = pr };

	if (epoll_ctl(P->epfd, op, pr->fd, &ev) == 0)
		return true;
	finish(P, pr, false, K_ERROR, "epoll_ctl: %s", strerror(errno));
	return false;
}

static void raw_start(struct tn_prober *P, struct probe *pr)
{
	struct sockaddr_storage ss;
	socklen_t sl = tn_sockaddr(&pr->addr, pr->port, &ss);

	if (!sl) {
		finish(P, pr, false, K_ERROR, "bad address family %u", pr->addr.family);
		return;
	}
	if (pr->cfg.type != TN_PROBE_TCP && !pr->buf) {
		pr->buf = malloc(RAW_BUF);
		if (!pr->buf) {
			finish(P, pr, false, K_ERROR, "out of memory");
			return;
		}
	}
	pr->len = 0;
	pr->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pr->fd < 0) {
		finish(P, pr, false, K_ERROR, "socket: %s", strerror(errno));
		return;
	}
	pr->phase = PH_CONNECT;
	if (connect(pr->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		int err = errno;

		finish(P, pr, false, errno_kind(err), "tcp connect: %s", strerror(err));
		return;
	}
	watch(P, pr, EPOLLOUT, EPOLL_CTL_ADD);
}

static bool send_all(struct tn_prober *P, struct probe *pr, const void *data, size_t len, const char *what)
{
	ssize_t n = send(pr->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n == (ssize_t)len)
		return true;
	/* a few bytes on a fresh connection: a short write means trouble */
	finish(P, pr, false, n < 0 ? errno_kind(errno) : K_ERROR, "%s: send: %s", what,
	       n < 0 ? strerror(errno) : "short write");
	return false;
}

static void on_connected(struct tn_prober *P, struct probe *pr)
{
	switch (pr->cfg.type) {
	case TN_PROBE_SMTP:
		pr->phase = PH_SMTP_BANNER;
		break;
	case TN_PROBE_MYSQL:
		pr->phase = PH_MYSQL;
		break;
	case TN_PROBE_PGSQL:
		if (!send_all(P, pr, tn_pgsql_ssl_request, sizeof(tn_pgsql_ssl_request), "pgsql SSLRequest"))
			return;
		pr->phase = PH_PGSQL;
		break;
	default:
		finish(P, pr, true, K_OK, "tcp connect ok");
		return;
	}
	watch(P, pr, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
}

/* Read what is there. Returns 0 (eof set on end of stream) or -errno. */
static int raw_read(struct probe *pr, bool *eof, bool discard)
{
	uint8_t sink[512];

	*eof = false;
	for (;;) {
		uint8_t *dst = discard ? sink : pr->buf + pr->len;
		size_t room = discard ? sizeof(sink) : RAW_BUF - pr->len;
		ssize_t n;

		if (!room)
			return 0;
		n = recv(pr->fd, dst, room, 0);
		if (n > 0) {
			if (!discard)
				pr->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			*eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -errno;
	}
}

/* SMTP: QUIT politely, record now, keep the socket until the server hangs up. */
static void smtp_quit(struct tn_prober *P, struct probe *pr, bool up, const char *reason)
{
	static const char quit[] = "QUIT\r\n";

	record(P, pr, up, up ? K_OK : K_BAD, reason);
	if (send(pr->fd, quit, sizeof(quit) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)(sizeof(quit) - 1)) {
		end_check(P, pr, now_ns());
		return;
	}
	pr->phase = PH_LINGER;
}

static void raw_reply(struct tn_prober *P, struct probe *pr, bool eof)
{
	static const char ehlo[] = "EHLO tenace\r\n";
	char reason[TN_REASON_MAX];
	bool full = pr->len == RAW_BUF;
	enum kind down_kind = eof ? K_CLOSED : K_BAD;
	enum tn_pv v;

	switch (pr->phase) {
	case PH_SMTP_BANNER:
	case PH_SMTP_EHLO: {
		bool banner = pr->phase == PH_SMTP_BANNER;
		int expect = banner ? 220 : 250;
		const char *what = banner ? "banner" : "EHLO reply";

		v = tn_smtp_reply((const char *)pr->buf, pr->len, eof, expect, what, reason, sizeof(reason));
		if (v == TN_PV_MORE && full) {
			size_t used = tn_smtp_consumed((const char *)pr->buf, pr->len);

			if (used) {
				memmove(pr->buf, pr->buf + used, pr->len - used);
				pr->len -= used;
			} else {
				v = tn_smtp_reply((const char *)pr->buf, pr->len, true, expect, what,
						  reason, sizeof(reason));
			}
		}
		if (v == TN_PV_MORE)
			return;
		if (eof && banner && v == TN_PV_UP) {
			/* a 220 then a hang-up: the server never got to answer EHLO */
			finish(P, pr, false, K_CLOSED, "smtp: connection closed after the 220 banner, before EHLO");
		} else if (eof) {
			finish(P, pr, v == TN_PV_UP, v == TN_PV_UP ? K_OK : down_kind, "%s", reason);
		} else if (banner && v == TN_PV_UP) {
			if (!send_all(P, pr, ehlo, sizeof(ehlo) - 1, "smtp EHLO"))
				return;
			pr->len = 0;
			pr->phase = PH_SMTP_EHLO;
		} else {
			smtp_quit(P, pr, v == TN_PV_UP, reason);
		}
		return;
	}
	case PH_MYSQL:
		v = tn_mysql_greeting(pr->buf, pr->len, eof || full, reason, sizeof(reason));
		break;
	case PH_PGSQL:
		v = tn_pgsql_ssl_reply(pr->buf, pr->len, eof || full, reason, sizeof(reason));
		break;
	default:
		return;
	}
	if (v == TN_PV_MORE)
		return;
	finish(P, pr, v == TN_PV_UP, v == TN_PV_UP ? K_OK : down_kind, "%s", reason);
}

static void raw_event(struct tn_prober *P, struct probe *pr, uint32_t events)
{
	int err = 0, rc;
	socklen_t sl = sizeof(err);
	bool eof;

	if (pr->fd < 0 || pr->phase == PH_IDLE || pr->phase == PH_CURL)
		return; /* stale */
	if (pr->phase == PH_CONNECT) {
		/* writable without error: connected (saves a getsockopt per check) */
		if ((events & (EPOLLERR | EPOLLHUP)) &&
		    getsockopt(pr->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (!err && (events & (EPOLLERR | EPOLLHUP)))
			err = ECONNRESET;
		if (err) {
			finish(P, pr, false, errno_kind(err), "tcp connect: %s", strerror(err));
			return;
		}
		on_connected(P, pr);
		return;
	}
	rc = raw_read(pr, &eof, pr->phase == PH_LINGER);
	if (pr->phase == PH_LINGER) {
		if (rc < 0 || eof)
			end_check(P, pr, now_ns());
		return;
	}
	if (rc < 0) {
		finish(P, pr, false, errno_kind(-rc), "%s: read: %s",
		       pr->cfg.type == TN_PROBE_SMTP ? "smtp" : pr->cfg.type == TN_PROBE_MYSQL ? "mysql" : "pgsql",
		       strerror(-rc));
		return;
	}
	raw_reply(P, pr, eof);
}

/* ---- http probes through libcurl's multi interface ----------------------------- */

static size_t http_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct probe *pr = userp;
	struct http *h = pr->http;
	size_t n = size * nmemb, room;

	if (!tn_http_matcher_wants_body(&pr->match)) {
		h->body_cut = true; /* the status is known: no need for the body */
		return 0;
	}
	if (h->body_len + n > h->body_cap && h->body_cap < HTTP_BODY_MAX) {
		size_t cap = h->body_cap ? h->body_cap : 4096;
		char *nb;

		while (cap < h->body_len + n && cap < HTTP_BODY_MAX)
			cap *= 2;
		if (cap > HTTP_BODY_MAX)
			cap = HTTP_BODY_MAX;
		nb = realloc(h->body, cap + 1); /* + NUL: regexec reads to it */
		if (!nb) {
			h->body_cut = true;
			return 0;
		}
		h->body = nb;
		h->body_cap = cap;
	}
	room = h->body_cap - h->body_len;
	if (n > room) {
		memcpy(h->body + h->body_len, data, room);
		h->body_len += room;
		h->body[h->body_len] = '\0';
		h->body_cut = true; /* judge the first HTTP_BODY_MAX bytes */
		return 0;
	}
	memcpy(h->body + h->body_len, data, n);
	h->body_len += n;
	h->body[h->body_len] = '\0';
	return n;
}

static int http_setup(struct probe *pr)
{
	struct http *h = calloc(1, sizeof(*h));
	const char *path = pr->cfg.url && *pr->cfg.url ? pr->cfg.url : "/";
	const char *scheme = pr->cfg.force_ssl ? "https" : "http";
	char host[INET6_ADDRSTRLEN + 2], a[INET6_ADDRSTRLEN], hosthdr[300] = "";
	long tmo = (long)(pr->timeout_ns / 1000000);
	CURL *e;
	int len;

	if (!h)
		return -ENOMEM;
	pr->http = h;
	/* A full URL names the virtual host; we still connect to the server. */
	if (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8)) {
		const char *hs = strstr(path, "://") + 3, *slash = strchr(hs, '/');
		size_t hl = slash ? (size_t)(slash - hs) : strlen(hs);

		if (!strncmp(path, "https://", 8))
			scheme = "https";
		if (hl && hl < sizeof(hosthdr) - 7)
			snprintf(hosthdr, sizeof(hosthdr), "Host: %.*s", (int)hl, hs);
		path = slash ? slash : "/";
	}
	if (pr->addr.family == TN_FAMILY_V6) {
		inet_ntop(AF_INET6, pr->addr.bytes, a, sizeof(a));
		snprintf(host, sizeof(host), "[%s]", a);
	} else {
		inet_ntop(AF_INET, pr->addr.bytes, host, sizeof(host));
	}
	len = snprintf(NULL, 0, "%s://%s:%u%s%s", scheme, host, pr->port, *path == '/' ? "" : "/", path);
	h->url = malloc((size_t)len + 1);
	if (!h->url)
		return -ENOMEM;
	snprintf(h->url, (size_t)len + 1, "%s://%s:%u%s%s", scheme, host, pr->port, *path == '/' ? "" : "/", path);
	if (hosthdr[0]) {
		h->headers = curl_slist_append(NULL, hosthdr);
		if (!h->headers)
			return -ENOMEM;
	}
	h->easy = e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	if (tmo < 1)
		tmo = 1;
	curl_easy_setopt(e, CURLOPT_URL, h->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, pr);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, pr);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, tmo);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);   /* every check tests a fresh connection */
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");          /* never through http_proxy from the environment */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "tenace-probe");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L); /* forceSsl: TLS without certificate check */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	if (h->headers)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
	if (!strcmp(pr->cfg.method, "HEAD"))
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (!strcmp(pr->cfg.method, "OPTIONS"))
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "OPTIONS");
	return 0;
}

static void http_start(struct tn_prober *P, struct probe *pr)
{
	CURLMcode mc;

	if (!pr->http && http_setup(pr) < 0) {
		finish(P, pr, false, K_ERROR, "http: cannot set up libcurl (out of memory)");
		return;
	}
	pr->http->body_len = 0;
	pr->http->body_cut = false;
	pr->http->errbuf[0] = '\0';
	mc = curl_multi_add_handle(P->multi, pr->http->easy);
	if (mc != CURLM_OK) {
		finish(P, pr, false, K_ERROR, "http: %s", curl_multi_strerror(mc));
		return;
	}
	pr->phase = PH_CURL;
	/* libcurl enforces the timeout; ours is a safety net behind it */
	reschedule(P, pr, pr->started + pr->timeout_ns + NS_PER_S / 4);
}

static void http_done(struct tn_prober *P, struct probe *pr, CURLcode rc)
{
	struct http *h = pr->http;
	char reason[TN_REASON_MAX];
	const char *msg = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
	long status = 0, oserr = 0;
	enum tn_pv v;

	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && h->body_cut)) {
		v = tn_http_judge(&pr->match, status, h->body, h->body_len, reason, sizeof(reason));
		finish(P, pr, v == TN_PV_UP, v == TN_PV_UP ? K_OK : K_BAD, "%s", reason);
		return;
	}
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		finish(P, pr, false, K_TIMEOUT, "timeout after %.1f s, waiting for the http reply",
		       pr->cfg.timeout_s);
		return;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &oserr);
		if (oserr)
			finish(P, pr, false, errno_kind((int)oserr), "tcp connect: %s", strerror((int)oserr));
		else
			finish(P, pr, false, K_ERROR, "http connect: %s", msg);
		return;
	case CURLE_GOT_NOTHING:
		finish(P, pr, false, K_CLOSED, "http: server closed the connection without a reply");
		return;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		finish(P, pr, false, K_RESET, "http: %s", msg);
		return;
	default:
		finish(P, pr, false, K_BAD, "http: %s", msg);
		return;
	}
}

static void curl_drain(struct tn_prober *P)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(P->multi, &left))) {
		CURL *e = m->easy_handle;
		CURLcode rc = m->data.result;
		struct probe *pr;
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
		pr = (struct probe *)priv;
		if (!pr || pr->phase != PH_CURL) {
			curl_multi_remove_handle(P->multi, e);
			continue;
		}
		http_done(P, pr, rc); /* removes the handle (cancel) */
	}
}

static int curl_socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct tn_prober *P = userp;
	struct epoll_event ev = { .data.u64 = ((uint64_t)s << 2) | TAG_CURL };

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (socketp) {
			epoll_ctl(P->epfd, EPOLL_CTL_DEL, s, NULL); /* fails harmlessly if closed */
			curl_multi_assign(P->multi, s, NULL);
		}
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(P->epfd, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) < 0) {
		int op = errno == ENOENT ? EPOLL_CTL_ADD : errno == EEXIST ? EPOLL_CTL_MOD : -1;

		if (op < 0 || epoll_ctl(P->epfd, op, s, &ev) < 0) {
			tn_warn("probe: epoll_ctl on a libcurl socket: %s", strerror(errno));
			return -1;
		}
	}
	if (!socketp)
		curl_multi_assign(P->multi, s, P); /* any non-NULL: "registered" */
	return 0;
}

static int curl_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct tn_prober *P = userp;

	(void)m;
	P->curl_due = timeout_ms < 0 ? NEVER : now_ns() + (uint64_t)timeout_ms * 1000000ull;
	return 0;
}

/* ---- scheduling ----------------------------------------------------------------- */

static void start_check(struct tn_prober *P, struct probe *pr, uint64_t now)
{
	pr->started = now;
	/* deadline first: the start may finish at once and reschedule */
	reschedule(P, pr, now + pr->timeout_ns);
	if (pr->cfg.type == TN_PROBE_HTTP)
		http_start(P, pr);
	else
		raw_start(P, pr);
}

static void expire(struct tn_prober *P, struct probe *pr)
{
	if (pr->phase == PH_LINGER) {
		end_check(P, pr, now_ns());
		return;
	}
	finish(P, pr, false, K_TIMEOUT, "timeout after %.1f s, %s", pr->cfg.timeout_s, phase_doing(pr));
}

static void run_due(struct tn_prober *P)
{
	uint64_t now = now_ns();

	while (P->heap_n && P->heap[0]->due <= now) {
		struct probe *pr = P->heap[0];

		if (pr->phase == PH_IDLE)
			start_check(P, pr, now);
		else
			expire(P, pr);
	}
}

int tn_prober_run_once(struct tn_prober *P, int max_wait_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int n, i, running, rounds;

	if (P->dispatching)
		return -EBUSY;
	arm_timer(P);
	n = epoll_wait(P->epfd, evs, MAX_EVENTS, max_wait_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	P->dispatching = true;
	for (i = 0; i < n; i++) {
		uint64_t u = evs[i].data.u64;

		if (u == TAG_TIMER) {
			uint64_t ticks;

			if (read(P->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				tn_warn("probe: timerfd read: %s", strerror(errno));
			P->armed = NEVER - 1; /* expired: re-arm whatever comes next */
		} else if ((u & 3) == TAG_CURL) {
			int mask = 0;

			if (evs[i].events & EPOLLIN)
				mask |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				mask |= CURL_CSELECT_OUT;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				mask |= CURL_CSELECT_ERR;
			curl_multi_socket_action(P->multi, (curl_socket_t)(u >> 2), mask, &running);
			curl_drain(P);
		} else {
			raw_event(P, evs[i].data.ptr, evs[i].events);
		}
	}
	run_due(P);
	for (rounds = 0; rounds < 4 && P->curl_due <= now_ns(); rounds++) {
		P->curl_due = NEVER;
		curl_multi_socket_action(P->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		curl_drain(P);
	}
	P->dispatching = false;
	arm_timer(P);
	return n;
}

/* ---- targets ------------------------------------------------------------------- */

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
	const struct tn_probe_cfg *a = &pr->cfg, *b = &t->cfg;
	size_t alen = pr->addr.family == TN_FAMILY_V6 ? 16 : 4;

	return pr->addr.family == t->addr.family && !memcmp(pr->addr.bytes, t->addr.bytes, alen) &&
	       pr->port == effective_port(t) && a->type == b->type && a->port == b->port &&
	       a->interval_s == b->interval_s && a->timeout_s == b->timeout_s &&
	       a->rise == b->rise && a->fall == b->fall &&
	       !strncmp(a->method, b->method, sizeof(a->method)) && str_eq(a->url, b->url) &&
	       a->force_ssl == b->force_ssl && a->match == b->match &&
	       str_eq(a->pattern, b->pattern) && a->negate == b->negate;
}

static void probe_free(struct probe *pr)
{
	if (!pr)
		return;
	if (pr->fd >= 0)
		close(pr->fd);
	if (pr->http) {
		if (pr->http->easy)
			curl_easy_cleanup(pr->http->easy);
		curl_slist_free_all(pr->http->headers);
		free(pr->http->url);
		free(pr->http->body);
		free(pr->http);
	}
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
 * A probe for one target, or -EINVAL (err says why) for a target the engine
 * cannot check, -ENOMEM.
 *
 * These checks are the engine's own guard, not the config's validation: the
 * user-facing checks (with JSON paths in their errors) live in config.c,
 * parse_probe() and parse_probe_http(), which already refuse an unknown type,
 * an http method other than GET/HEAD/OPTIONS, a bad status list or regex. What
 * config.c accepts can still fail here (no port at all: port 0 is legal on the
 * farm, the server and the probe), and targets may come from elsewhere (bench,
 * tests, future callers), so every check stays. A refused target is skipped
 * by tn_prober_set_targets, never probed with a guess. A new check here must
 * get its config.c counterpart, or be reachable from a valid config on
 * purpose, like the port one.
 */
static int probe_new(const struct tn_probe_target *t, struct probe **out, char *err, size_t errlen)
{
	struct probe *pr;
	bool oom = false;
	int rc;

	*out = NULL;
	if (t->cfg.type < TN_PROBE_TCP || t->cfg.type > TN_PROBE_PGSQL) {
		snprintf(err, errlen, "target %#llx: no probe type", (unsigned long long)t->key);
		return -EINVAL;
	}
	if (t->addr.family != TN_FAMILY_V4 && t->addr.family != TN_FAMILY_V6) {
		snprintf(err, errlen, "target %#llx: bad address family %u", (unsigned long long)t->key, t->addr.family);
		return -EINVAL;
	}
	if (!effective_port(t)) {
		snprintf(err, errlen, "target %#llx: no port to probe", (unsigned long long)t->key);
		return -EINVAL;
	}
	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return -ENOMEM;
	pr->fd = -1;
	pr->key = t->key;
	pr->addr = t->addr;
	pr->port = effective_port(t);
	pr->cfg = t->cfg;
	pr->cfg.url = dup_or_null(t->cfg.url, &oom);
	pr->cfg.pattern = dup_or_null(t->cfg.pattern, &oom);
	pr->label = dup_or_null(t->host_label, &oom);
	if (oom) {
		probe_free(pr);
		return -ENOMEM;
	}
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
	if (pr->cfg.type == TN_PROBE_HTTP) {
		char why[TN_REASON_MAX];

		/* defensive: config.c's method_names refuse these first */
		if (strcmp(pr->cfg.method, "GET") && strcmp(pr->cfg.method, "HEAD") &&
		    strcmp(pr->cfg.method, "OPTIONS")) {
			snprintf(err, errlen, "target %#llx: http method \"%s\", expected GET, HEAD or OPTIONS",
				 (unsigned long long)t->key, pr->cfg.method);
			probe_free(pr);
			return -EINVAL;
		}
		rc = tn_http_matcher_init(&pr->match, (enum tn_http_rule)pr->cfg.match, pr->cfg.pattern,
					  pr->cfg.negate, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "target %#llx: %s", (unsigned long long)t->key, why);
			probe_free(pr);
			return rc;
		}
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

int tn_prober_set_targets(struct tn_prober *P, const struct tn_probe_target *t, size_t n,
			  char *err, size_t errlen)
{
	struct probe **all = NULL, **index = NULL, **heap;
	size_t cap = 16, i, m;
	uint64_t now;
	char dummy[8], why[TN_REASON_MAX];
	int rc = 0, refused = 0;

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
	if (rc < 0)
		goto fail;
	while (cap < 2 * n)
		cap *= 2;
	all = calloc(n ? n : 1, sizeof(*all));
	index = calloc(cap, sizeof(*index));
	if (!all || !index) {
		rc = -ENOMEM;
		goto fail;
	}
	if (n > P->heap_cap) {
		heap = realloc(P->heap, n * sizeof(*heap));
		if (!heap) {
			rc = -ENOMEM;
			goto fail;
		}
		P->heap = heap;
		P->heap_cap = n;
	}
	/*
	 * Pass 1: build the new set; nothing visible changes until it all worked
	 * (out of memory undoes everything). A target probe_new refuses is left
	 * out (all[i] stays NULL), counted, and the first one's reason kept.
	 */
	for (i = 0; i < n; i++) {
		struct probe *old = index_find(P, t[i].key);

		if (old && same_target(old, &t[i])) {
			old->kept = true;
			all[i] = old;
		} else {
			rc = probe_new(&t[i], &all[i], why, sizeof(why));
			if (rc == -ENOMEM)
				goto fail;
			if (rc < 0) {
				if (!refused++)
					snprintf(err, errlen, "%s", why);
				continue;
			}
		}
		index[index_slot(index, cap, t[i].key)] = all[i];
	}
	rc = 0;
	/* Pass 2: drop the old probes that did not survive, schedule the new ones. */
	for (i = 0; i < P->n; i++) {
		struct probe *pr = P->all[i];

		if (pr->kept)
			continue;
		cancel(P, pr);
		heap_remove(P, pr);
		probe_free(pr);
	}
	now = now_ns();
	for (i = 0, m = 0; i < n; i++) {
		struct probe *pr = all[i];

		if (!pr)
			continue; /* refused */
		all[m++] = pr;
		if (pr->kept) {
			pr->kept = false;
			if (!str_eq(pr->label, t[i].host_label)) {
				char *l = t[i].host_label ? strdup(t[i].host_label) : NULL;

				if (l || !t[i].host_label) {
					free(pr->label);
					pr->label = l;
				}
			}
			continue;
		}
		/* spread the first checks over the first interval */
		pr->due = now + splitmix64(pr->key ^ P->seed) % (pr->interval_ns + 1);
		heap_push(P, pr);
	}
	free(P->all);
	free(P->index);
	P->all = all;
	P->n = m;
	P->index = index;
	P->index_cap = cap;
	arm_timer(P);
	return refused;

fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	for (i = 0; all && i < n; i++) {
		if (!all[i])
			continue; /* refused, or not reached */
		if (all[i]->kept)
			all[i]->kept = false;
		else
			probe_free(all[i]);
	}
	free(all);
	free(index);
	return rc;
}

int tn_prober_state(const struct tn_prober *P, uint64_t key, struct tn_probe_state *out)
{
	const struct probe *pr = index_find(P, key);

	if (!pr)
		return -ENOENT;
	*out = pr->st;
	return 0;
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
	P->seed = splitmix64((uint64_t)getpid() ^ now_ns());
	P->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (P->epfd < 0)
		goto fail_errno;
	P->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (P->tfd < 0)
		goto fail_errno;
	if (epoll_ctl(P->epfd, EPOLL_CTL_ADD, P->tfd, &ev) < 0)
		goto fail_errno;
	P->multi = curl_multi_init();
	if (!P->multi) {
		rc = -ENOMEM;
		goto fail;
	}
	curl_multi_setopt(P->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(P->multi, CURLMOPT_SOCKETDATA, P);
	curl_multi_setopt(P->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(P->multi, CURLMOPT_TIMERDATA, P);
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
		cancel(P, P->all[i]);
		probe_free(P->all[i]);
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
