/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The database checks, one reply each: mysql (the server speaks first: its
 * handshake greeting, or an ERR packet such as "Too many connections") and
 * pgsql (an SSLRequest, answered 'S' or 'N' by a live server). Neither logs
 * in: no credentials to keep, no session in the server's logs.
 */
#include "probe/internal.h"

/* Judge the reply once the parser can; a full buffer must decide. */
static void judge(struct tn_prober *P, struct probe *pr, bool eof,
		  enum tn_pv (*parse)(const uint8_t *, size_t, bool, char *, size_t))
{
	char reason[TN_REASON_MAX];
	enum tn_pv v = parse(pr->buf, pr->len, eof || pr->len == RAW_BUF, reason, sizeof(reason));

	if (v == TN_PV_MORE)
		return;
	tn_probe_finish(P, pr, v == TN_PV_UP, v == TN_PV_UP ? K_OK : eof ? K_CLOSED : K_BAD, "%s", reason);
}

/* ---- mysql ------------------------------------------------------------------ */

static void mysql_connected(struct tn_prober *P, struct probe *pr)
{
	tn_tcp_wait_reply(P, pr);
}

static void mysql_reply(struct tn_prober *P, struct probe *pr, bool eof)
{
	judge(P, pr, eof, tn_mysql_greeting);
}

static const char *mysql_waiting(const struct probe *pr)
{
	(void)pr;
	return "waiting for the mysql greeting";
}

const struct checker tn_check_mysql = {
	.name = "mysql",
	.needs_buf = true,
	.start = tn_tcp_start,
	.connected = mysql_connected,
	.reply = mysql_reply,
	.waiting = mysql_waiting,
};

/* ---- pgsql ------------------------------------------------------------------ */

static void pgsql_connected(struct tn_prober *P, struct probe *pr)
{
	if (tn_tcp_send(P, pr, tn_pgsql_ssl_request, sizeof(tn_pgsql_ssl_request), "pgsql SSLRequest"))
		tn_tcp_wait_reply(P, pr);
}

static void pgsql_reply(struct tn_prober *P, struct probe *pr, bool eof)
{
	judge(P, pr, eof, tn_pgsql_ssl_reply);
}

static const char *pgsql_waiting(const struct probe *pr)
{
	(void)pr;
	return "waiting for the pgsql SSLRequest answer";
}

const struct checker tn_check_pgsql = {
	.name = "pgsql",
	.needs_buf = true,
	.start = tn_tcp_start,
	.connected = pgsql_connected,
	.reply = pgsql_reply,
	.waiting = pgsql_waiting,
};
