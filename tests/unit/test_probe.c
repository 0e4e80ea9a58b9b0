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
#include "unit/probe_servers.h"

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

static int count_up(struct tn_prober *P, const struct tn_probe_target *t, int n)
{
	struct tn_probe_state st;
	int i, up = 0;

	for (i = 0; i < n; i++)
		up += tn_prober_state(P, t[i].key, &st) == 0 && st.known && st.up;
	return up;
}

/*
 * Out of descriptors is the balancer's problem, not the servers': with
 * RLIMIT_NOFILE at 64 and 200 healthy servers answering after 300 ms (far
 * more checks in flight than descriptors), no server is marked down (fall 1:
 * a single counted failure would), every one comes up, and the local error
 * is counted, shown in the engine's state and logged once.
 */
static void test_local_errors(void **state)
{
	static const char http_ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	struct rec *r = *state;
	enum { N = 200 };
	uint8_t greeting[128];
	size_t glen = mysql_greeting(greeting);
	struct slow_reply replies[2] = { { greeting, glen }, { http_ok, sizeof(http_ok) - 1 } };
	struct slow_srv srv;
	struct tn_probe_target *t = calloc(N, sizeof(*t));
	struct tn_probe_local_error le;
	struct rlimit saved, low;
	int fds_before = open_fds(), fds_low, log_fd, saved_err, set_rc, i, up = 0, down = 0, lines = 0;
	int wrong_reason = 0;
	uint64_t skipped = 0;
	char logbuf[8192] = "", path[] = "/tmp/tenace-test-probe-XXXXXX";
	struct tn_prober *P;
	double end;

	assert_non_null(t);
	srv = slow_start(replies, 2, 300);
	for (i = 0; i < N; i++) {
		t[i] = target((uint64_t)i + 1, i % 2 ? TN_PROBE_HTTP : TN_PROBE_MYSQL, srv.port[i % 2]);
		t[i].cfg.interval_s = 0.5;
		t[i].cfg.timeout_s = 3;
		t[i].cfg.fall = 1;
	}
	/* the engine's log into a file, to count its lines (no assert until stderr is back) */
	log_fd = mkstemp(path);
	assert_true(log_fd >= 0);
	unlink(path);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	fflush(stderr);
	saved_err = dup(2);
	dup2(log_fd, 2);
	P = prober(r);
	fds_low = open_fds();
	low = saved;
	low.rlim_cur = 64;
	setrlimit(RLIMIT_NOFILE, &low);
	set_rc = tn_prober_set_targets(P, t, N, NULL, 0);
	for (end = mono() + 60; mono() < end && up < N; ) {
		run_for(P, r, 0, 0.5);
		up = count_up(P, t, N);
	}
	tn_prober_local_error(P, &le);
	for (i = 0; i < N; i++) {
		struct tn_probe_state st;

		if (tn_prober_state(P, t[i].key, &st) == 0) {
			skipped += st.local_errors;
			wrong_reason += st.local_errors && !strstr(st.local_error, "socket: Too many open files");
		}
	}
	for (i = 0; i < r->n; i++)
		down += !r->ev[i].up;
	tn_prober_free(P);
	setrlimit(RLIMIT_NOFILE, &saved);
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	slow_stop(&srv);
	lseek(log_fd, 0, SEEK_SET);
	assert_true(read(log_fd, logbuf, sizeof(logbuf) - 1) >= 0);
	close(log_fd);
	assert_int_equal(set_rc, 0);
	assert_true(fds_low < 40); /* room for a few checks, not for 200 */
	for (char *l = logbuf; (l = strstr(l, "checks cannot run")); l++)
		lines++;
	print_message("# %d of %d up, %d down; %llu checks skipped for local errors (%llu in the engine), "
		      "%d log line(s):\n%s", up, N, down, (unsigned long long)skipped,
		      (unsigned long long)le.count, lines, logbuf);
	assert_int_equal(down, 0);
	assert_int_equal(up, N);
	assert_true(le.count > 0);
	assert_int_equal(le.count, skipped);
	assert_int_equal(wrong_reason, 0);
	assert_true(le.active);
	assert_has(le.reason, "Too many open files");
	assert_int_equal(lines, 1);
	assert_has(logbuf, "they are skipped, server states are kept");
	assert_has(logbuf, "(first: target 0x");
	free(t);
	assert_int_equal(open_fds(), fds_before);
}

/* the descriptor limit is raised for the targets, up to the hard limit, never lowered */
static void test_reserve_fds(void **state)
{
	struct rlimit saved, rl;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 2 * 1000 + 256)
		skip();
	rl = saved;
	rl.rlim_cur = 100;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(tn_probe_reserve_fds(1000), 2 * 1000 + 256);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(rl.rlim_cur, 2 * 1000 + 256);
	assert_int_equal(rl.rlim_max, saved.rlim_max);
	assert_int_equal(tn_probe_reserve_fds(10), 2 * 1000 + 256); /* never lowered */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
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
		cmocka_unit_test_setup_teardown(test_local_errors, setup, teardown),
		cmocka_unit_test(test_reserve_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
