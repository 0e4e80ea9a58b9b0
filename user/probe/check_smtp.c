/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The smtp check: a 220 banner, EHLO answered 250, then QUIT. The verdict
 * is recorded at the EHLO reply; the socket stays (PH_LINGER) until the
 * server hangs up, so it never sees a reset in the middle of its goodbye.
 */
#include <string.h>
#include <sys/socket.h>
#include "probe/internal.h"

enum { SMTP_BANNER = 0, SMTP_EHLO };

static void smtp_connected(struct tn_prober *P, struct probe *pr)
{
	pr->step = SMTP_BANNER;
	tn_tcp_wait_reply(P, pr);
}

/* QUIT politely, record now, keep the socket until the server hangs up. */
static void smtp_quit(struct tn_prober *P, struct probe *pr, bool up, const char *reason)
{
	static const char quit[] = "QUIT\r\n";

	tn_probe_record(P, pr, up, up ? K_OK : K_BAD, reason);
	if (send(pr->fd, quit, sizeof(quit) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)(sizeof(quit) - 1)) {
		tn_probe_end_check(P, pr, tn_probe_now_ns());
		return;
	}
	pr->phase = PH_LINGER;
}

/* An undecided reply filling the buffer (long EHLO lists): drop its complete
 * lines, or decide on what is there when there are none. */
static enum tn_pv smtp_make_room(struct probe *pr, int expect, const char *what, char *reason, size_t rlen)
{
	size_t used = tn_smtp_consumed((const char *)pr->buf, pr->len);

	if (!used)
		return tn_smtp_reply((const char *)pr->buf, pr->len, true, expect, what, reason, rlen);
	memmove(pr->buf, pr->buf + used, pr->len - used);
	pr->len -= used;
	return TN_PV_MORE;
}

static void smtp_reply(struct tn_prober *P, struct probe *pr, bool eof)
{
	static const char ehlo[] = "EHLO tenace\r\n";
	bool banner = pr->step == SMTP_BANNER;
	int expect = banner ? 220 : 250;
	const char *what = banner ? "banner" : "EHLO reply";
	char reason[TN_REASON_MAX];
	enum tn_pv v;

	v = tn_smtp_reply((const char *)pr->buf, pr->len, eof, expect, what, reason, sizeof(reason));
	if (v == TN_PV_MORE && pr->len == RAW_BUF)
		v = smtp_make_room(pr, expect, what, reason, sizeof(reason));
	if (v == TN_PV_MORE)
		return;
	if (eof && banner && v == TN_PV_UP) {
		/* a 220 then a hang-up: the server never got to answer EHLO */
		tn_probe_finish(P, pr, false, K_CLOSED, "smtp: connection closed after the 220 banner, before EHLO");
	} else if (eof) {
		tn_probe_finish(P, pr, v == TN_PV_UP, v == TN_PV_UP ? K_OK : K_CLOSED, "%s", reason);
	} else if (banner && v == TN_PV_UP) {
		if (!tn_tcp_send(P, pr, ehlo, sizeof(ehlo) - 1, "smtp EHLO"))
			return;
		pr->len = 0;
		pr->step = SMTP_EHLO;
	} else {
		smtp_quit(P, pr, v == TN_PV_UP, reason);
	}
}

static const char *smtp_waiting(const struct probe *pr)
{
	return pr->step == SMTP_BANNER ? "waiting for the smtp banner" : "waiting for the smtp EHLO reply";
}

const struct checker tn_check_smtp = {
	.name = "smtp",
	.needs_buf = true,
	.start = tn_tcp_start,
	.connected = smtp_connected,
	.reply = smtp_reply,
	.waiting = smtp_waiting,
};
