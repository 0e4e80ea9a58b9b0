/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Health-probe engine against real servers: each test starts small servers
 * (threads listening on 127.0.0.1 or ::1, ephemeral ports) that answer well,
 * badly, not at all, or hang up at once, and checks the engine's verdicts,
 * reasons, rise/fall counting and target replacement.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "tenace.h"
#include "probe/probe.h"

/* ---- test servers ---------------------------------------------------------- */

enum srv_mode {
	SRV_CLOSE,   /* accept, close at once */
	SRV_HANG,    /* accept, never answer */
	SRV_GREET,   /* send `reply` at once, then wait for the client to leave */
	SRV_SAY_BYE, /* send `reply` at once, then hang up */
	SRV_SMTP,    /* banner `reply`, answer EHLO with `reply2`, QUIT with 221 */
	SRV_PGSQL,   /* read the SSLRequest, answer `reply` */
	SRV_HTTP,    /* read a request, answer `status` with `body` */
};

struct srv {
	int lfd;
	uint16_t port;
	pthread_t th;
	atomic_int stop;
	enum srv_mode mode;
	const void *reply;
	size_t reply_len;
	const char *reply2;
	atomic_int status;
	const char *body;
	int hung[256];
	int nhung;
	atomic_int conns;
	atomic_int bad_ssl_request;
	char request[256];   /* first line of the last HTTP request */
	pthread_mutex_t lock;
};

static int read_until(int fd, char *buf, size_t cap, const char *end)
{
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);

		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, end))
			return (int)n;
	}
	return (int)n;
}

static void drain_until_close(int fd)
{
	char b[256];

	while (recv(fd, b, sizeof(b), 0) > 0)
		;
}

static void serve(struct srv *s, int fd)
{
	char buf[2048];
	int n;

	switch (s->mode) {
	case SRV_CLOSE:
		break;
	case SRV_HANG:
		if (s->nhung < (int)(sizeof(s->hung) / sizeof(s->hung[0]))) {
			s->hung[s->nhung++] = fd;
			return;
		}
		break;
	case SRV_GREET:
		send(fd, s->reply, s->reply_len, MSG_NOSIGNAL);
		drain_until_close(fd);
		break;
	case SRV_SAY_BYE:
		send(fd, s->reply, s->reply_len, MSG_NOSIGNAL);
		break;
	case SRV_SMTP:
		send(fd, s->reply, s->reply_len, MSG_NOSIGNAL);
		if (read_until(fd, buf, sizeof(buf), "\n") < 0 || strncmp(buf, "EHLO tenace\r\n", 13))
			break;
		send(fd, s->reply2, strlen(s->reply2), MSG_NOSIGNAL);
		if (read_until(fd, buf, sizeof(buf), "\n") >= 0 && !strncmp(buf, "QUIT\r\n", 6))
			send(fd, "221 bye\r\n", 9, MSG_NOSIGNAL);
		break;
	case SRV_PGSQL:
		n = read_until(fd, buf, 9, "\x2f");
		if (n != 8 || memcmp(buf, "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8))
			s->bad_ssl_request++;
		send(fd, s->reply, s->reply_len, MSG_NOSIGNAL);
		drain_until_close(fd);
		break;
	case SRV_HTTP: {
		char resp[1024];
		const char *body = s->body ? s->body : "";
		char *eol;
		int len;

		if (read_until(fd, buf, sizeof(buf), "\r\n\r\n") < 0)
			break;
		eol = strstr(buf, "\r\n");
		if (eol)
			*eol = '\0';
		pthread_mutex_lock(&s->lock);
		snprintf(s->request, sizeof(s->request), "%.200s", buf);
		pthread_mutex_unlock(&s->lock);
		len = snprintf(resp, sizeof(resp),
			       "HTTP/1.1 %d Whatever\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
			       atomic_load(&s->status), strlen(body), strncmp(buf, "HEAD ", 5) ? body : "");
		send(fd, resp, (size_t)len, MSG_NOSIGNAL);
		drain_until_close(fd);
		break;
	}
	}
	close(fd);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	struct pollfd pfd = { .fd = s->lfd, .events = POLLIN };

	while (!atomic_load(&s->stop)) {
		int fd;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		/* accepted sockets are blocking (accept4 does not inherit O_NONBLOCK) */
		while ((fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			struct timeval tv = { .tv_sec = 1 };

			/* a receive timeout: a silent client cannot stall the server */
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			s->conns++;
			serve(s, fd);
			if (atomic_load(&s->stop))
				break;
		}
	}
	return NULL;
}

static struct srv *srv_start6(enum srv_mode mode, const void *reply, size_t reply_len, bool v6)
{
	struct srv *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int one = 1;

	assert_non_null(s);
	s->mode = mode;
	s->reply = reply;
	s->reply_len = reply_len;
	atomic_init(&s->status, 200);
	pthread_mutex_init(&s->lock, NULL);
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	}
	s->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&ss, sl), 0);
	assert_int_equal(listen(s->lfd, 4096), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&ss, &sl), 0);
	s->port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
	return s;
}

static struct srv *srv_start(enum srv_mode mode, const void *reply, size_t reply_len)
{
	return srv_start6(mode, reply, reply_len, false);
}

static struct srv *srv_str(enum srv_mode mode, const char *reply)
{
	return srv_start(mode, reply, reply ? strlen(reply) : 0);
}

static struct srv *srv_http(int status, const char *body)
{
	struct srv *s = srv_start(SRV_HTTP, NULL, 0);

	atomic_store(&s->status, status);
	s->body = body;
	return s;
}

static void srv_stop(struct srv *s)
{
	int i;

	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	for (i = 0; i < s->nhung; i++)
		close(s->hung[i]);
	close(s->lfd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* A port nobody listens on: bound then closed, so connecting is refused. */
static uint16_t dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&a, sl), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* ---- recording the callback --------------------------------------------------- */

#define MAX_EV 4096
struct ev {
	uint64_t key;
	bool up;
	int count;
	char reason[200];
	double t;
};

struct rec {
	struct ev ev[MAX_EV];
	int n;
	struct tn_prober *P;
	int set_targets_rc;   /* what set_targets said from inside the callback */
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_change(void *arg, uint64_t key, bool up, const char *reason, int count)
{
	struct rec *r = arg;
	struct ev *e;

	if (r->P)
		r->set_targets_rc = tn_prober_set_targets(r->P, NULL, 0, NULL, 0);
	if (r->n >= MAX_EV)
		return;
	e = &r->ev[r->n++];
	e->key = key;
	e->up = up;
	e->count = count;
	e->t = mono();
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

static struct ev *find_ev(struct rec *r, uint64_t key, int nth)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (r->ev[i].key == key && nth-- == 0)
			return &r->ev[i];
	return NULL;
}

static int count_ev(struct rec *r, uint64_t key)
{
	int i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->ev[i].key == key;
	return n;
}

/* Run the engine until `want` callbacks happened or `seconds` passed. */
static void run_for(struct tn_prober *P, struct rec *r, int want, double seconds)
{
	double end = mono() + seconds;

	while (mono() < end && (want <= 0 || r->n < want))
		assert_true(tn_prober_run_once(P, 20) >= 0);
}

static struct tn_probe_target target(uint64_t key, enum tn_probe_type type, uint16_t port)
{
	struct tn_probe_target t;

	memset(&t, 0, sizeof(t));
	t.key = key;
	t.addr.family = TN_FAMILY_V4;
	t.addr.bytes[0] = 127;
	t.addr.bytes[3] = 1;
	t.port = port;
	t.cfg.type = type;
	t.cfg.interval_s = 0.1;
	t.cfg.timeout_s = 0.3;
	t.cfg.rise = 2;
	t.cfg.fall = 3;
	strcpy(t.cfg.method, "GET");
	return t;
}

static struct tn_prober *prober(struct rec *r)
{
	struct tn_prober *P = NULL;

	memset(r, 0, sizeof(*r));
	assert_int_equal(tn_prober_new(&P, on_change, r), 0);
	return P;
}

static void set(struct tn_prober *P, const struct tn_probe_target *t, size_t n)
{
	char err[200] = "";
	int rc = tn_prober_set_targets(P, t, n, err, sizeof(err));

	if (rc)
		fail_msg("set_targets: %d %s", rc, err);
}

#define assert_has(s, part) do { \
	if (!strstr((s), (part))) \
		fail_msg("\"%s\" does not contain \"%s\"", (s), (part)); \
} while (0)

/* Expect exactly one first-check verdict per key: up/down and a reason part. */
struct expect {
	uint64_t key;
	bool up;
	const char *part;
};

static void check_first(struct rec *r, const struct expect *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct ev *e = find_ev(r, x[i].key, 0);

		if (!e)
			fail_msg("key %llu: no verdict", (unsigned long long)x[i].key);
		if (e->up != x[i].up)
			fail_msg("key %llu: %s, expected %s: %s", (unsigned long long)x[i].key,
				 e->up ? "up" : "down", x[i].up ? "up" : "down", e->reason);
		assert_has(e->reason, x[i].part);
		assert_has(e->reason, "(first check)");
		assert_int_equal(e->count, 1);
	}
}

/* ---- tests ------------------------------------------------------------------ */

static void test_tcp(void **state)
{
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	struct srv *s = srv_str(SRV_CLOSE, NULL);
	struct tn_probe_target t[3] = {
		target(1, TN_PROBE_TCP, s->port),
		target(2, TN_PROBE_TCP, dead_port()),
		target(3, TN_PROBE_TCP, dead_port()), /* cfg.port overrides the target's */
	};
	static const struct expect x[] = {
		{ 1, true, "tcp connect ok" },
		{ 2, false, "tcp connect: Connection refused" },
		{ 3, true, "tcp connect ok" },
	};
	struct tn_probe_state st;

	t[2].cfg.port = s->port;
	set(P, t, 3);
	run_for(P, r, 3, 2);
	check_first(r, x, 3);
	assert_int_equal(tn_prober_state(P, 2, &st), 0);
	assert_true(st.known);
	assert_false(st.up);
	assert_string_equal(st.last_result, "refused");
	assert_string_equal(st.last_error, "tcp connect: Connection refused");
	assert_int_equal(tn_prober_state(P, 99, &st), -ENOENT);
	tn_prober_free(P);
	srv_stop(s);
}

static void test_smtp(void **state)
{
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	struct srv *good = srv_str(SRV_SMTP, "220-mx.example ESMTP\r\n220 ready\r\n");
	struct srv *busy = srv_str(SRV_SMTP, "554 mx.example no service\r\n");
	struct srv *noehlo = srv_str(SRV_SMTP, "220 mx.example\r\n");
	struct srv *closer = srv_str(SRV_CLOSE, NULL);
	struct srv *hang = srv_str(SRV_HANG, NULL);
	struct srv *web = srv_http(200, "hi");
	struct srv *cut = srv_str(SRV_SAY_BYE, "220 mx.exa");
	struct srv *bye = srv_str(SRV_SAY_BYE, "220 mx.example ESMTP\r\n");
	struct tn_probe_target t[] = {
		target(1, TN_PROBE_SMTP, good->port),
		target(2, TN_PROBE_SMTP, busy->port),
		target(3, TN_PROBE_SMTP, noehlo->port),
		target(4, TN_PROBE_SMTP, closer->port),
		target(5, TN_PROBE_SMTP, hang->port),
		target(6, TN_PROBE_SMTP, dead_port()),
		target(7, TN_PROBE_SMTP, web->port),
		target(8, TN_PROBE_SMTP, cut->port),
		target(9, TN_PROBE_SMTP, bye->port),
	};
	static const struct expect x[] = {
		{ 1, true, "smtp EHLO reply 250" },
		{ 2, false, "smtp banner 554, expected 220" },
		{ 3, false, "smtp EHLO reply 502, expected 250" },
		{ 4, false, "smtp banner: connection closed before any reply" },
		{ 5, false, "timeout after 0.3 s, waiting for the smtp banner" },
		{ 6, false, "tcp connect: Connection refused" },
		{ 7, false, "timeout after 0.3 s, waiting for the smtp banner" }, /* http waits for us */
		{ 8, false, "smtp banner truncated at 10 bytes" },
		/* a 220 then a hang-up is down: whether the close or our EHLO's reset is
		 * seen first depends on timing, so only the verdict is checked */
		{ 9, false, "smtp" },
	};

	good->reply2 = "250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
	noehlo->reply2 = "502 5.5.2 Error: command not recognized\r\n";
	set(P, t, sizeof(t) / sizeof(t[0]));
	run_for(P, r, 9, 3);
	check_first(r, x, sizeof(x) / sizeof(x[0]));
	tn_prober_free(P);
	srv_stop(bye);
	srv_stop(good);
	srv_stop(busy);
	srv_stop(noehlo);
	srv_stop(closer);
	srv_stop(hang);
	srv_stop(web);
	srv_stop(cut);
}

/* A MySQL 8 greeting, as the server sends it. */
static size_t mysql_greeting(uint8_t *out)
{
	static const char version[] = "8.0.36";
	size_t n = 4;

	out[n++] = 10;
	memcpy(out + n, version, sizeof(version));
	n += sizeof(version);
	memcpy(out + n, "\x08\x00\x00\x00" "abcdefgh" "\x00" "\xff\xff" "\xff" "\x02\x00" "\xff\xdf" "\x15", 21);
	n += 21;
	memset(out + n, 0, 10);
	n += 10;
	memcpy(out + n, "ijklmnopqrst", 13);
	n += 13;
	memcpy(out + n, "caching_sha2_password", 22);
	n += 22;
	out[0] = (uint8_t)(n - 4);
	out[1] = out[2] = out[3] = 0;
	return n;
}

static void test_mysql(void **state)
{
	static const char err[] = "\x17\0\0\0\xff\x10\x04Too many connections";
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	uint8_t greeting[128];
	size_t glen = mysql_greeting(greeting);
	struct srv *good = srv_start(SRV_GREET, greeting, glen);
	struct srv *full = srv_start(SRV_GREET, err, sizeof(err) - 1);
	struct srv *half = srv_start(SRV_SAY_BYE, greeting, 20);
	struct srv *hang = srv_str(SRV_HANG, NULL);
	struct srv *smtp = srv_str(SRV_GREET, "220 mx.example ESMTP\r\n");
	struct tn_probe_target t[] = {
		target(1, TN_PROBE_MYSQL, good->port),
		target(2, TN_PROBE_MYSQL, full->port),
		target(3, TN_PROBE_MYSQL, half->port),
		target(4, TN_PROBE_MYSQL, hang->port),
		target(5, TN_PROBE_MYSQL, smtp->port),
		target(6, TN_PROBE_MYSQL, dead_port()),
	};
	static const struct expect x[] = {
		{ 1, true, "mysql 8.0.36 greeting" },
		{ 2, false, "mysql error 1040: Too many connections" },
		{ 3, false, "mysql greeting truncated at 20 bytes" },
		{ 4, false, "timeout after 0.3 s, waiting for the mysql greeting" },
		{ 5, false, "mysql: not a greeting packet" },
		{ 6, false, "tcp connect: Connection refused" },
	};

	set(P, t, sizeof(t) / sizeof(t[0]));
	run_for(P, r, 6, 3);
	check_first(r, x, sizeof(x) / sizeof(x[0]));
	tn_prober_free(P);
	srv_stop(good);
	srv_stop(full);
	srv_stop(half);
	srv_stop(hang);
	srv_stop(smtp);
}

static void test_mysql_closed_at_once(void **state)
{
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	struct srv *closer = srv_str(SRV_CLOSE, NULL);
	struct tn_probe_target t = target(1, TN_PROBE_MYSQL, closer->port);
	static const struct expect x[] = { { 1, false, "mysql: connection closed before the greeting" } };

	set(P, &t, 1);
	run_for(P, r, 1, 2);
	check_first(r, x, 1);
	tn_prober_free(P);
	srv_stop(closer);
}

static void test_pgsql(void **state)
{
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	struct srv *n = srv_str(SRV_PGSQL, "N");
	struct srv *s = srv_str(SRV_PGSQL, "S");
	struct srv *garbage = srv_str(SRV_PGSQL, "HTTP/1.1 400 Bad Request\r\n\r\n");
	struct srv *closer = srv_str(SRV_CLOSE, NULL);
	struct srv *hang = srv_str(SRV_HANG, NULL);
	struct tn_probe_target t[] = {
		target(1, TN_PROBE_PGSQL, n->port),
		target(2, TN_PROBE_PGSQL, s->port),
		target(3, TN_PROBE_PGSQL, garbage->port),
		target(4, TN_PROBE_PGSQL, closer->port),
		target(5, TN_PROBE_PGSQL, hang->port),
		target(6, TN_PROBE_PGSQL, dead_port()),
	};
	static const struct expect x[] = {
		{ 1, true, "pgsql answered 'N' to SSLRequest" },
		{ 2, true, "pgsql answered 'S' to SSLRequest" },
		{ 3, false, "pgsql answered 0x48 'H' to SSLRequest, expected 'S' or 'N'" },
		{ 4, false, "pgsql" }, /* closed, or reset if our request arrived after the close */
		{ 5, false, "timeout after 0.3 s, waiting for the pgsql SSLRequest answer" },
		{ 6, false, "tcp connect: Connection refused" },
	};

	set(P, t, sizeof(t) / sizeof(t[0]));
	run_for(P, r, 6, 3);
	check_first(r, x, sizeof(x) / sizeof(x[0]));
	assert_int_equal(atomic_load(&n->bad_ssl_request), 0);
	tn_prober_free(P);
	srv_stop(n);
	srv_stop(s);
	srv_stop(garbage);
	srv_stop(closer);
	srv_stop(hang);
}

static void test_http(void **state)
{
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	struct srv *ok = srv_http(200, "status: all good\n");
	struct srv *sick = srv_http(503, "down for maintenance");
	struct srv *moved = srv_http(301, "");
	struct srv *closer = srv_str(SRV_CLOSE, NULL);
	struct srv *hang = srv_str(SRV_HANG, NULL);
	struct srv *head = srv_http(200, "x");
	struct srv *opts = srv_http(204, "");
	struct tn_probe_target t[] = {
		target(1, TN_PROBE_HTTP, ok->port),
		target(2, TN_PROBE_HTTP, sick->port),
		target(3, TN_PROBE_HTTP, moved->port),
		target(4, TN_PROBE_HTTP, sick->port),
		target(5, TN_PROBE_HTTP, ok->port),
		target(6, TN_PROBE_HTTP, ok->port),
		target(7, TN_PROBE_HTTP, ok->port),
		target(8, TN_PROBE_HTTP, sick->port),
		target(9, TN_PROBE_HTTP, closer->port),
		target(10, TN_PROBE_HTTP, hang->port),
		target(11, TN_PROBE_HTTP, dead_port()),
		target(12, TN_PROBE_HTTP, head->port),
		target(13, TN_PROBE_HTTP, opts->port),
		target(14, TN_PROBE_HTTP, sick->port),
	};
	static const struct expect x[] = {
		{ 1, true, "http status 200" },
		{ 2, false, "http status 503, expected 2xx/3xx" },
		{ 3, true, "http status 301" },
		{ 4, false, "http status 503, expected 200" },
		{ 5, true, "body contains \"all good\"" },
		{ 6, false, "body lacks \"maintenance\"" },
		{ 7, true, "body matches \"^status: (all|some) good\"" },
		{ 8, false, "body contains \"maintenance\" (negated match)" },
		{ 9, false, "http: " },
		{ 10, false, "timeout after 0.3 s, waiting for the http reply" },
		{ 11, false, "tcp connect: Connection refused" },
		{ 12, true, "http status 200" },
		{ 13, true, "http status 204" },
		{ 14, true, "http status 503" },
	};
	size_t i;

	t[2].cfg.match = TN_MATCH_STATUS;
	t[2].cfg.pattern = "200, 301";
	t[3].cfg.match = TN_MATCH_STATUS;
	t[3].cfg.pattern = "200";
	t[4].cfg.match = TN_MATCH_CONTAINS;
	t[4].cfg.pattern = "all good";
	t[5].cfg.match = TN_MATCH_CONTAINS;
	t[5].cfg.pattern = "maintenance";
	t[6].cfg.match = TN_MATCH_MATCHES;
	t[6].cfg.pattern = "^status: (all|some) good";
	t[6].cfg.url = "/health?full=1";
	t[7].cfg.match = TN_MATCH_CONTAINS;
	t[7].cfg.pattern = "maintenance";
	t[7].cfg.negate = true;
	strcpy(t[11].cfg.method, "HEAD");
	t[11].cfg.url = "/ping";
	strcpy(t[12].cfg.method, "OPTIONS");
	t[13].cfg.match = TN_MATCH_STATUS;    /* negated: anything but a 200 */
	t[13].cfg.pattern = "200";
	t[13].cfg.negate = true;
	set(P, t, sizeof(t) / sizeof(t[0]));
	run_for(P, r, 14, 3);
	check_first(r, x, sizeof(x) / sizeof(x[0]));
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct tn_probe_state st;

		assert_int_equal(tn_prober_state(P, t[i].key, &st), 0);
		assert_true(st.checks >= 1);
	}
	tn_prober_free(P);
	assert_string_equal(head->request, "HEAD /ping HTTP/1.1");
	assert_string_equal(opts->request, "OPTIONS / HTTP/1.1");
	srv_stop(ok);
	srv_stop(sick);
	srv_stop(moved);
	srv_stop(closer);
	srv_stop(hang);
	srv_stop(head);
	srv_stop(opts);
}

/* each bad http config refuses its own target only; a duplicate key refuses the set */
static void test_http_bad_config(void **state)
{
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	struct tn_probe_target t[2] = { target(1, TN_PROBE_HTTP, 80), target(2, TN_PROBE_TCP, 80) };
	struct tn_probe_state st;
	char err[200];

	t[0].cfg.match = TN_MATCH_MATCHES;
	t[0].cfg.pattern = "(oops";
	assert_int_equal(tn_prober_set_targets(P, t, 2, err, sizeof(err)), 1);
	assert_has(err, "target 0x1: bad regular expression");
	assert_int_equal(tn_prober_count(P), 1);
	assert_int_equal(tn_prober_state(P, 1, &st), -ENOENT);
	assert_int_equal(tn_prober_state(P, 2, &st), 0);
	t[0].cfg.match = TN_MATCH_STATUS;
	t[0].cfg.pattern = "2OO";
	assert_int_equal(tn_prober_set_targets(P, t, 2, err, sizeof(err)), 1);
	assert_has(err, "target 0x1: bad status code list");
	t[0].cfg.match = TN_MATCH_DEFAULT;
	strcpy(t[0].cfg.method, "POST");
	assert_int_equal(tn_prober_set_targets(P, t, 2, err, sizeof(err)), 1);
	assert_has(err, "target 0x1: http method \"POST\"");
	assert_int_equal(tn_prober_count(P), 1);
	strcpy(t[0].cfg.method, "GET");
	/* config.c allows a path only: an absolute URL or a space is refused, not guessed at */
	t[0].cfg.url = "http://www.example.com/ping";
	assert_int_equal(tn_prober_set_targets(P, t, 2, err, sizeof(err)), 1);
	assert_has(err, "target 0x1: http url \"http://www.example.com/ping\" must be a path");
	t[0].cfg.url = "/a b";
	assert_int_equal(tn_prober_set_targets(P, t, 2, err, sizeof(err)), 1);
	assert_has(err, "must be a path starting with \"/\"");
	assert_int_equal(tn_prober_state(P, 1, &st), -ENOENT);
	t[0].cfg.url = "/ping";
	t[1].key = 1;
	assert_int_equal(tn_prober_set_targets(P, t, 2, err, sizeof(err)), -EINVAL);
	assert_has(err, "given twice");
	assert_int_equal(tn_prober_state(P, 2, &st), 0); /* nothing changed */
	t[1].key = 2;
	t[1].cfg.type = TN_PROBE_NONE;
	assert_int_equal(tn_prober_set_targets(P, t, 2, err, sizeof(err)), 1);
	assert_string_equal(err, "target 0x2: no probe type");
	assert_int_equal(tn_prober_count(P), 1);
	assert_int_equal(tn_prober_state(P, 1, &st), 0);
	assert_int_equal(tn_prober_state(P, 2, &st), -ENOENT);
	tn_prober_free(P);
}

/* one refused target costs the others nothing, and has no state of its own */
static void test_refused_target(void **state)
{
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	struct srv *s = srv_str(SRV_CLOSE, NULL);
	struct tn_probe_target t[3] = {
		target(1, TN_PROBE_TCP, s->port),
		target(0x2a, TN_PROBE_TCP, 0),    /* no port on the target nor in its probe */
		target(3, TN_PROBE_TCP, s->port),
	};
	static const struct expect x[] = {
		{ 1, true, "tcp connect ok" },
		{ 3, true, "tcp connect ok" },
	};
	struct tn_probe_state st;
	uint64_t checks1;
	char err[200];

	assert_int_equal(tn_prober_set_targets(P, t, 3, err, sizeof(err)), 1);
	assert_string_equal(err, "target 0x2a: no port to probe");
	assert_int_equal(tn_prober_count(P), 2);
	run_for(P, r, 2, 2);
	check_first(r, x, 2);
	run_for(P, r, 0, 0.3);
	assert_int_equal(count_ev(r, 0x2a), 0);
	assert_int_equal(tn_prober_state(P, 0x2a, &st), -ENOENT);
	assert_int_equal(tn_prober_state(P, 3, &st), 0);
	assert_true(st.known && st.up);
	assert_int_equal(tn_prober_state(P, 1, &st), 0);
	assert_true(st.known && st.up);
	assert_true(st.checks >= 2);
	checks1 = st.checks;

	/* the same set again: still one refused, the others keep their state */
	assert_int_equal(tn_prober_set_targets(P, t, 3, NULL, 0), 1);
	assert_int_equal(tn_prober_state(P, 1, &st), 0);
	assert_true(st.known && st.up);
	assert_true(st.checks >= checks1);
	run_for(P, r, 0, 0.3);
	assert_int_equal(count_ev(r, 1), 1);
	assert_int_equal(count_ev(r, 3), 1);

	/* fixed: probed like the others */
	t[1].cfg.port = s->port;
	assert_int_equal(tn_prober_set_targets(P, t, 3, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	run_for(P, r, 3, 2);
	assert_non_null(find_ev(r, 0x2a, 0));
	assert_true(find_ev(r, 0x2a, 0)->up);
	assert_int_equal(tn_prober_state(P, 0x2a, &st), 0);

	/* broken again: dropped, not kept with its old config and state */
	t[1].cfg.port = 0;
	assert_int_equal(tn_prober_set_targets(P, t, 3, err, sizeof(err)), 1);
	assert_string_equal(err, "target 0x2a: no port to probe");
	assert_int_equal(tn_prober_state(P, 0x2a, &st), -ENOENT);
	assert_int_equal(tn_prober_count(P), 2);

	/* two refused: counted, err names the first */
	t[0].cfg.type = TN_PROBE_NONE;
	assert_int_equal(tn_prober_set_targets(P, t, 3, err, sizeof(err)), 2);
	assert_string_equal(err, "target 0x1: no probe type");
	assert_int_equal(tn_prober_count(P), 1);
	assert_int_equal(tn_prober_state(P, 3, &st), 0);
	assert_true(st.known && st.up);

	/* a key given twice, even by a refused target, refuses the whole set */
	t[0].cfg.type = TN_PROBE_TCP;
	t[1].key = 3;
	assert_int_equal(tn_prober_set_targets(P, t, 3, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "target 0x3 given twice");
	assert_int_equal(tn_prober_count(P), 1);
	assert_int_equal(tn_prober_state(P, 1, &st), -ENOENT);
	tn_prober_free(P);
	srv_stop(s);
}

static void test_http_ipv6_and_tcp_ipv6(void **state)
{
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	struct srv *s = srv_start6(SRV_HTTP, NULL, 0, true);
	struct tn_probe_target t[2] = { target(1, TN_PROBE_HTTP, s->port), target(2, TN_PROBE_TCP, s->port) };
	static const struct expect x[] = {
		{ 1, true, "http status 200" },
		{ 2, true, "tcp connect ok" },
	};
	int i;

	for (i = 0; i < 2; i++) {
		memset(&t[i].addr, 0, sizeof(t[i].addr));
		t[i].addr.family = TN_FAMILY_V6;
		t[i].addr.bytes[15] = 1;
	}
	s->body = "six";
	set(P, t, 2);
	run_for(P, r, 2, 2);
	check_first(r, x, 2);
	tn_prober_free(P);
	srv_stop(s);
}

/* down after `fall` failures, up after `rise` successes, nothing in between */
static void test_rise_fall(void **state)
{
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	struct srv *s = srv_http(200, "ok");
	struct tn_probe_target t = target(1, TN_PROBE_HTTP, s->port);
	struct tn_probe_state st;
	struct ev *e;

	t.cfg.interval_s = 0.05;
	t.cfg.match = TN_MATCH_STATUS;
	t.cfg.pattern = "200";
	set(P, &t, 1);
	run_for(P, r, 1, 2);
	assert_int_equal(r->n, 1);
	assert_true(r->ev[0].up);

	atomic_store(&s->status, 503);
	run_for(P, r, 2, 3);
	assert_int_equal(r->n, 2);
	e = &r->ev[1];
	assert_false(e->up);
	assert_int_equal(e->count, 3);
	assert_string_equal(e->reason, "http status 503, expected 200 (3/3)");
	assert_int_equal(tn_prober_state(P, 1, &st), 0);
	assert_false(st.up);
	assert_int_equal(st.failures, 3);
	assert_int_equal(st.consecutive, 3);
	assert_string_equal(st.last_result, "bad-reply");

	atomic_store(&s->status, 200);
	run_for(P, r, 3, 3);
	assert_int_equal(r->n, 3);
	e = &r->ev[2];
	assert_true(e->up);
	assert_int_equal(e->count, 2);
	assert_string_equal(e->reason, "http status 200 (2/2)");
	assert_int_equal(tn_prober_state(P, 1, &st), 0);
	assert_true(st.up);
	assert_int_equal(st.consecutive, 2);
	assert_int_equal(st.failures, 3);
	assert_string_equal(st.last_error, "http status 503, expected 200");

	/* a single failure (fall 3) changes nothing */
	atomic_store(&s->status, 503);
	while (tn_prober_state(P, 1, &st) == 0 && st.failures < 4)
		assert_true(tn_prober_run_once(P, 20) >= 0);
	atomic_store(&s->status, 200);
	run_for(P, r, 0, 0.3);
	assert_int_equal(r->n, 3);
	assert_int_equal(tn_prober_state(P, 1, &st), 0);
	assert_true(st.up);
	tn_prober_free(P);
	srv_stop(s);
}

/* unchanged targets keep their state, changed ones start over, removed ones go */
static void test_set_targets(void **state)
{
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	struct srv *s = srv_str(SRV_CLOSE, NULL);
	struct tn_probe_target t[3] = {
		target(1, TN_PROBE_TCP, s->port),
		target(2, TN_PROBE_TCP, s->port),
		target(3, TN_PROBE_TCP, s->port),
	};
	struct tn_probe_target u[3];
	struct tn_probe_state st1, st2, st;
	uint64_t checks1;
	struct ev *e;

	set(P, t, 3);
	run_for(P, r, 3, 2);
	assert_int_equal(r->n, 3);
	run_for(P, r, 0, 0.25);
	assert_int_equal(tn_prober_state(P, 1, &st1), 0);
	assert_true(st1.checks >= 2);
	checks1 = st1.checks;

	/* 1 unchanged (new label only), 2 changed (rise), 3 removed, 4 new */
	u[0] = t[0];
	u[0].host_label = "renamed";
	u[1] = t[1];
	u[1].cfg.rise = 5;
	u[2] = target(4, TN_PROBE_TCP, dead_port());
	set(P, u, 3);
	assert_int_equal(tn_prober_state(P, 3, &st), -ENOENT);
	assert_int_equal(tn_prober_state(P, 1, &st), 0);
	assert_true(st.known);
	assert_true(st.checks >= checks1);
	assert_int_equal(tn_prober_state(P, 2, &st2), 0);
	assert_false(st2.known);
	assert_int_equal(st2.checks, 0);
	assert_int_equal(tn_prober_count(P), 3);

	run_for(P, r, 5, 2);
	assert_int_equal(count_ev(r, 1), 1);  /* no new verdict for the unchanged one */
	assert_int_equal(count_ev(r, 2), 2);  /* a new first check */
	e = find_ev(r, 2, 1);
	assert_non_null(e);
	assert_true(e->up);
	assert_non_null(strstr(e->reason, "(first check)"));
	assert_int_equal(count_ev(r, 3), 1);
	assert_int_equal(count_ev(r, 4), 1);
	e = find_ev(r, 4, 0);
	assert_non_null(e);
	assert_false(e->up);
	run_for(P, r, 0, 0.25); /* two more intervals: the kept target goes on */
	assert_int_equal(tn_prober_state(P, 1, &st), 0);
	assert_true(st.checks > checks1);
	assert_int_equal(count_ev(r, 1), 1);

	/* the callback may not change the targets */
	r->P = P;
	r->set_targets_rc = 0;
	{
		struct tn_probe_target v = target(9, TN_PROBE_TCP, s->port);

		set(P, &v, 1);
	}
	run_for(P, r, 6, 2);
	assert_int_equal(r->set_targets_rc, -EBUSY);
	r->P = NULL;
	assert_int_equal(tn_prober_count(P), 1);

	set(P, NULL, 0);
	assert_int_equal(tn_prober_count(P), 0);
	assert_int_equal(tn_prober_run_once(P, 0), 0);
	tn_prober_free(P);
	srv_stop(s);
}

/* the epoll fd can sit in another loop: poll it, then run without waiting */
static void test_external_loop(void **state)
{
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	struct srv *s = srv_http(200, "ok");
	struct tn_probe_target t[2] = { target(1, TN_PROBE_HTTP, s->port), target(2, TN_PROBE_TCP, s->port) };
	struct pollfd pfd = { .fd = tn_prober_fd(P), .events = POLLIN };
	double end = mono() + 2;

	set(P, t, 2);
	while (r->n < 2 && mono() < end) {
		if (poll(&pfd, 1, 100) > 0)
			assert_true(tn_prober_run_once(P, 0) >= 0);
	}
	assert_int_equal(r->n, 2);
	assert_true(r->ev[0].up && r->ev[1].up);
	tn_prober_free(P);
	srv_stop(s);
}

/* first checks are spread over the first interval, not fired together */
static void test_jitter(void **state)
{
	struct rec *r = *state;
	struct tn_prober *P = prober(r);
	struct srv *s = srv_str(SRV_CLOSE, NULL);
	enum { N = 300 };
	struct tn_probe_target *t = calloc(N, sizeof(*t));
	int buckets[10] = { 0 }, i, maxb = 0;
	double t0;

	assert_non_null(t);
	for (i = 0; i < N; i++) {
		t[i] = target((uint64_t)i + 1, TN_PROBE_TCP, s->port);
		t[i].cfg.interval_s = 1.0;
	}
	t0 = mono();
	set(P, t, N);
	run_for(P, r, N, 3);
	assert_int_equal(r->n, N);
	for (i = 0; i < N; i++) {
		int b = (int)((r->ev[i].t - t0) * 10);

		assert_true(r->ev[i].up);
		assert_true(b >= 0);
		buckets[b > 9 ? 9 : b]++;
	}
	for (i = 0; i < 10; i++)
		if (buckets[i] > maxb)
			maxb = buckets[i];
	print_message("# first checks per 100 ms: %d %d %d %d %d %d %d %d %d %d\n", buckets[0], buckets[1],
		      buckets[2], buckets[3], buckets[4], buckets[5], buckets[6], buckets[7], buckets[8], buckets[9]);
	assert_true(maxb < N / 4);
	assert_true(buckets[0] > 0 && buckets[9] > 0);
	tn_prober_free(P);
	free(t);
	srv_stop(s);
}

/* many targets: all up, cheap, and nothing left open afterwards */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_many_targets(void **state)
{
	struct rec *r = *state;
	int fds_before = open_fds();
	struct tn_prober *P = prober(r);
	struct srv *s = srv_str(SRV_CLOSE, NULL);
	enum { N = 1000 };
	struct tn_probe_target *t = calloc(N, sizeof(*t));
	struct rusage ru0, ru1;
	double cpu, t0, wall;
	int i, up = 0;

	assert_non_null(t);
	for (i = 0; i < N; i++) {
		t[i] = target((uint64_t)i + 1, TN_PROBE_TCP, s->port);
		t[i].cfg.interval_s = 0.25;
		t[i].cfg.timeout_s = 1.0;
	}
	set(P, t, N);
	getrusage(RUSAGE_THREAD, &ru0);
	t0 = mono();
	run_for(P, r, 0, 1.5);
	wall = mono() - t0;
	getrusage(RUSAGE_THREAD, &ru1);
	cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	      (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	for (i = 0; i < N; i++) {
		struct tn_probe_state st;

		assert_int_equal(tn_prober_state(P, (uint64_t)i + 1, &st), 0);
		up += st.known && st.up;
	}
	print_message("# %d targets at 4 checks/s: %d up, engine thread cpu %.1f%% over %.1f s\n",
		      N, up, 100 * cpu / wall, wall);
	assert_int_equal(up, N);
	tn_prober_free(P);
	free(t);
	srv_stop(s);
	assert_int_equal(open_fds(), fds_before);
}

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct rec));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smtp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mysql, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mysql_closed_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pgsql, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_bad_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_ipv6_and_tcp_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rise_fall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_external_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jitter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_targets, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
