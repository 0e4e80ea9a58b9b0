/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * BIRD's control socket, as birdc speaks it: one command per line; the reply
 * is lines "NNNN-text" (more follow), " text" (continues the previous code)
 * and ends with "NNNN text". Codes 0xxx: done; 1xxx/2xxx: table data;
 * 8xxx/9xxx: refused (runtime / parse errors).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "bgp/bird.h"
#include "lib/time.h"

#define BIRDC_MAX_REPLY (4 * 1024 * 1024)

static int remaining_ms(double deadline)
{
	double left = deadline - tn_monotonic();

	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

/* Read what is there (waiting until the deadline): 0, -ETIMEDOUT, -EPIPE or -errno. */
static int fill(struct tn_birdc *c, double deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	char chunk[8192];
	ssize_t r;
	int p;

	p = poll(&pfd, 1, remaining_ms(deadline));
	if (p < 0)
		return errno == EINTR ? 0 : -errno;
	if (p == 0)
		return -ETIMEDOUT;
	r = read(c->fd, chunk, sizeof(chunk));
	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (r == 0)
		return -EPIPE;
	if (c->in.len + (size_t)r > BIRDC_MAX_REPLY)
		return -EFBIG;
	return tn_buf_append(&c->in, chunk, (size_t)r);
}

/* The code a line ends a reply with, or -1 ("NNNN-" and " ..." do not). */
static int final_code(const char *line, size_t len)
{
	if (len >= 4 && isdigit((unsigned char)line[0]) && isdigit((unsigned char)line[1]) &&
	    isdigit((unsigned char)line[2]) && isdigit((unsigned char)line[3]) && (len == 4 || line[4] == ' '))
		return (line[0] - '0') * 1000 + (line[1] - '0') * 100 + (line[2] - '0') * 10 + (line[3] - '0');
	return -1;
}

/* Read up to and including the last line of a reply. */
static int read_reply(struct tn_birdc *c, double deadline, struct tn_buf *reply, int *code,
		      char *last, size_t lastlen)
{
	for (;;) {
		char *nl;
		int err;

		while (c->in.len && (nl = memchr(c->in.s, '\n', c->in.len))) {
			size_t len = (size_t)(nl - c->in.s);
			int fc = final_code(c->in.s, len);

			if (reply && (tn_buf_append(reply, c->in.s, len + 1)))
				return -ENOMEM;
			if (fc >= 0) {
				size_t tl = len > 5 ? len - 5 : 0;

				if (tl >= lastlen)
					tl = lastlen - 1;
				memcpy(last, c->in.s + (len > 5 ? 5 : len), tl);
				last[tl] = 0;
				*code = fc;
			}
			memmove(c->in.s, nl + 1, c->in.len - len - 1);
			c->in.len -= len + 1;
			c->in.s[c->in.len] = 0;
			if (fc >= 0)
				return 0;
		}
		err = fill(c, deadline);
		if (err)
			return err;
	}
}

int tn_birdc_open(struct tn_birdc *c, const char *path, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char last[256];
	int code = 0, e;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "BIRD control socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		e = -errno;
		snprintf(err, errlen, "cannot connect to BIRD's control socket %s: %s", path, strerror(-e));
		tn_birdc_close(c);
		return e;
	}
	e = read_reply(c, tn_monotonic() + timeout_ms / 1000.0, NULL, &code, last, sizeof(last));
	if (!e && code != 1) {
		snprintf(err, errlen, "BIRD's control socket %s greeted with %04d %s", path, code, last);
		e = -EPROTO;
	} else if (e) {
		snprintf(err, errlen, "no greeting on BIRD's control socket %s: %s", path,
			 e == -ETIMEDOUT ? "timed out" : strerror(-e));
	}
	if (e)
		tn_birdc_close(c);
	return e;
}

int tn_birdc_cmd(struct tn_birdc *c, const char *cmd, int timeout_ms, struct tn_buf *reply, int *code,
		 char *err, size_t errlen)
{
	double deadline = tn_monotonic() + timeout_ms / 1000.0;
	size_t len = strlen(cmd), off = 0;
	char line[512], last[256] = "";
	int e, rc = 0;

	if (c->fd < 0) {
		snprintf(err, errlen, "not connected to BIRD");
		return -ENOTCONN;
	}
	if (len + 2 > sizeof(line) || strchr(cmd, '\n')) {
		snprintf(err, errlen, "not a BIRD command: %.40s", cmd);
		return -EINVAL;
	}
	memcpy(line, cmd, len);
	line[len++] = '\n';
	while (off < len) {
		ssize_t w = send(c->fd, line + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			e = -errno;
			snprintf(err, errlen, "cannot send `%s` to BIRD: %s", cmd, strerror(-e));
			tn_birdc_close(c);
			return e;
		}
		off += (size_t)w;
	}
	e = read_reply(c, deadline, reply, &rc, last, sizeof(last));
	if (e) {
		snprintf(err, errlen, "no reply from BIRD to `%s`: %s", cmd,
			 e == -ETIMEDOUT ? "timed out" : e == -EPIPE ? "BIRD closed the socket" : strerror(-e));
		tn_birdc_close(c);
		return e;
	}
	if (code)
		*code = rc;
	if (rc >= 8000) {
		snprintf(err, errlen, "BIRD refused `%s`: %s", cmd, last);
		return -EINVAL;
	}
	return 0;
}

void tn_birdc_close(struct tn_birdc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	tn_buf_free(&c->in);
}
