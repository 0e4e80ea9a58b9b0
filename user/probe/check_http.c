/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The http(s) check through libcurl's multi interface: libcurl's sockets
 * sit in the engine's epoll set (TAG_CURL), its timer in the engine's
 * timerfd; one easy handle per probe, kept between checks, each check on a
 * fresh connection. The reply is judged by tn_http_judge (status, body).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "tenace.h"
#include "lib/log.h"
#include "probe/internal.h"

#define HTTP_BODY_MAX   (64 * 1024)

struct http {
	CURL *easy;
	char *url;
	char *body;
	size_t body_len, body_cap;
	bool body_cut;             /* we stopped the transfer on purpose */
	int socket_errno;          /* socket() failed in http_socket: why (libcurl does not say) */
	char errbuf[CURL_ERROR_SIZE];
};

/* Grow the body buffer toward HTTP_BODY_MAX; false when it cannot. */
static bool body_reserve(struct http *h, size_t want)
{
	size_t cap = h->body_cap ? h->body_cap : 4096;
	char *nb;

	while (cap < want && cap < HTTP_BODY_MAX)
		cap *= 2;
	if (cap > HTTP_BODY_MAX)
		cap = HTTP_BODY_MAX;
	nb = realloc(h->body, cap + 1); /* + NUL: regexec reads to it */
	if (!nb)
		return false;
	h->body = nb;
	h->body_cap = cap;
	return true;
}

static size_t http_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct probe *pr = userp;
	struct http *h = pr->http;
	size_t n = size * nmemb, room;

	if (!tn_http_matcher_wants_body(&pr->match)) {
		h->body_cut = true; /* the status is known: no need for the body */
		return 0;
	}
	if (h->body_len + n > h->body_cap && h->body_cap < HTTP_BODY_MAX && !body_reserve(h, h->body_len + n)) {
		h->body_cut = true;
		return 0;
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

/* scheme://server:port/path: always the server itself; the path is config.c's
 * (it starts with "/", targets.c refuses others). */
static char *http_url(const struct probe *pr)
{
	const char *path = pr->cfg.url && *pr->cfg.url ? pr->cfg.url : "/";
	char host[INET6_ADDRSTRLEN + 2], a[INET6_ADDRSTRLEN], *url;

	if (pr->addr.family == TN_FAMILY_V6) {
		inet_ntop(AF_INET6, pr->addr.bytes, a, sizeof(a));
		snprintf(host, sizeof(host), "[%s]", a);
	} else {
		inet_ntop(AF_INET, pr->addr.bytes, host, sizeof(host));
	}
	if (asprintf(&url, "%s://%s:%u%s", pr->cfg.force_ssl ? "https" : "http", host, pr->port, path) < 0)
		return NULL;
	return url;
}

/* libcurl's socket, opened here: when socket() fails, libcurl reports only
 * "couldn't connect" (CURLINFO_OS_ERRNO 0), but EMFILE is ours, not the server's. */
static curl_socket_t http_socket(void *userp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct probe *pr = userp;
	int fd;

	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd < 0) {
		pr->http->socket_errno = errno;
		return CURL_SOCKET_BAD;
	}
	return fd;
}

static void http_options(struct probe *pr, CURL *e)
{
	long tmo = (long)(pr->timeout_ns / 1000000);

	if (tmo < 1)
		tmo = 1;
	curl_easy_setopt(e, CURLOPT_URL, pr->http->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, pr);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, pr);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, pr->http->errbuf);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, http_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, pr);
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
	if (!strcmp(pr->cfg.method, "HEAD"))
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (!strcmp(pr->cfg.method, "OPTIONS"))
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "OPTIONS");
}

static int http_setup(struct probe *pr)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	pr->http = h;
	h->url = http_url(pr);
	if (!h->url)
		return -ENOMEM;
	h->easy = curl_easy_init();
	if (!h->easy)
		return -ENOMEM;
	http_options(pr, h->easy);
	return 0;
}

static void http_release(struct probe *pr)
{
	if (!pr->http)
		return;
	if (pr->http->easy)
		curl_easy_cleanup(pr->http->easy);
	free(pr->http->url);
	free(pr->http->body);
	free(pr->http);
	pr->http = NULL;
}

static void http_start(struct tn_prober *P, struct probe *pr)
{
	CURLMcode mc;

	if (!pr->http && http_setup(pr) < 0) {
		http_release(pr); /* the next check tries again */
		tn_probe_local_error(P, pr, ENOMEM, "http: libcurl set-up");
		return;
	}
	pr->http->body_len = 0;
	pr->http->body_cut = false;
	pr->http->socket_errno = 0;
	pr->http->errbuf[0] = '\0';
	mc = curl_multi_add_handle(P->multi, pr->http->easy);
	if (mc == CURLM_OUT_OF_MEMORY) {
		tn_probe_local_error(P, pr, ENOMEM, "http: curl_multi_add_handle");
		return;
	}
	if (mc != CURLM_OK) {
		tn_probe_finish(P, pr, false, K_ERROR, "http: %s", curl_multi_strerror(mc));
		return;
	}
	pr->phase = PH_CURL;
	/* libcurl enforces the timeout; ours is a safety net behind it */
	tn_probe_reschedule(P, pr, pr->started + pr->timeout_ns + NS_PER_S / 4);
}

/* A transfer that did not end with a reply to judge. */
static void http_failed(struct tn_prober *P, struct probe *pr, CURLcode rc)
{
	struct http *h = pr->http;
	const char *msg = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
	long oserr = 0;

	if (h->socket_errno && tn_probe_errno_is_local(h->socket_errno)) {
		tn_probe_local_error(P, pr, h->socket_errno, "http: socket");
		return;
	}
	if (rc == CURLE_OUT_OF_MEMORY) {
		tn_probe_local_error(P, pr, ENOMEM, "http");
		return;
	}
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		tn_probe_finish(P, pr, false, K_TIMEOUT, "timeout after %.1f s, waiting for the http reply",
				pr->cfg.timeout_s);
		return;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &oserr);
		if (oserr && tn_probe_errno_is_local((int)oserr))
			tn_probe_local_error(P, pr, (int)oserr, "tcp connect");
		else if (oserr)
			tn_probe_finish(P, pr, false, tn_probe_errno_kind((int)oserr), "tcp connect: %s",
					strerror((int)oserr));
		else
			tn_probe_finish(P, pr, false, K_ERROR, "http connect: %s", msg);
		return;
	case CURLE_GOT_NOTHING:
		tn_probe_finish(P, pr, false, K_CLOSED, "http: server closed the connection without a reply");
		return;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		tn_probe_finish(P, pr, false, K_RESET, "http: %s", msg);
		return;
	default:
		tn_probe_finish(P, pr, false, K_BAD, "http: %s", msg);
		return;
	}
}

static void http_done(struct tn_prober *P, struct probe *pr, CURLcode rc)
{
	struct http *h = pr->http;
	char reason[TN_REASON_MAX];
	long status = 0;
	enum tn_pv v;

	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && h->body_cut)) {
		http_failed(P, pr, rc);
		return;
	}
	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
	v = tn_http_judge(&pr->match, status, h->body, h->body_len, reason, sizeof(reason));
	tn_probe_finish(P, pr, v == TN_PV_UP, v == TN_PV_UP ? K_OK : K_BAD, "%s", reason);
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

static const char *http_waiting(const struct probe *pr)
{
	(void)pr;
	return "waiting for the http reply";
}

static void http_cancel(struct tn_prober *P, struct probe *pr)
{
	if (pr->phase == PH_CURL && pr->http)
		curl_multi_remove_handle(P->multi, pr->http->easy);
}

const struct checker tn_check_http = {
	.name = "http",
	.start = http_start,
	.waiting = http_waiting,
	.cancel = http_cancel,
	.release = http_release,
};

/* ---- libcurl's side of the engine's loop --------------------------------------- */

void tn_http_socket_event(struct tn_prober *P, int fd, uint32_t events)
{
	int mask = 0, running;

	if (events & EPOLLIN)
		mask |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(P->multi, (curl_socket_t)fd, mask, &running);
	curl_drain(P);
}

void tn_http_run_timers(struct tn_prober *P)
{
	int rounds, running;

	for (rounds = 0; rounds < 4 && P->curl_due <= tn_probe_now_ns(); rounds++) {
		P->curl_due = NEVER;
		curl_multi_socket_action(P->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		curl_drain(P);
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
	P->curl_due = timeout_ms < 0 ? NEVER : tn_probe_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	return 0;
}

int tn_http_engine_init(struct tn_prober *P)
{
	P->multi = curl_multi_init();
	if (!P->multi)
		return -ENOMEM;
	curl_multi_setopt(P->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(P->multi, CURLMOPT_SOCKETDATA, P);
	curl_multi_setopt(P->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(P->multi, CURLMOPT_TIMERDATA, P);
	return 0;
}
