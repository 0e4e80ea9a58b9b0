/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The tcp check (a connection accepted is up) and the TCP connection every
 * socket checker builds on: a non-blocking connect watched in the engine's
 * epoll set, then the checker's connected() and reply() steps as bytes come.
 */
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "lib/net.h"
#include "probe/internal.h"

static bool watch(struct tn_prober *P, struct probe *pr, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = pr };

	if (epoll_ctl(P->epfd, op, pr->fd, &ev) == 0)
		return true;
	if (tn_probe_errno_is_local(errno))
		tn_probe_local_error(P, pr, errno, "epoll_ctl");
	else
		tn_probe_finish(P, pr, false, K_ERROR, "epoll_ctl: %s", strerror(errno));
	return false;
}

bool tn_tcp_wait_reply(struct tn_prober *P, struct probe *pr)
{
	pr->phase = PH_REPLY;
	return watch(P, pr, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
}

void tn_tcp_start(struct tn_prober *P, struct probe *pr)
{
	struct sockaddr_storage ss;
	socklen_t sl = tn_sockaddr(&pr->addr, pr->port, &ss);

	if (!sl) {
		tn_probe_finish(P, pr, false, K_ERROR, "bad address family %u", pr->addr.family);
		return;
	}
	if (pr->chk->needs_buf && !pr->buf) {
		pr->buf = malloc(RAW_BUF);
		if (!pr->buf) {
			tn_probe_local_error(P, pr, ENOMEM, "reply buffer");
			return;
		}
	}
	pr->len = 0;
	pr->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pr->fd < 0) {
		if (tn_probe_errno_is_local(errno))
			tn_probe_local_error(P, pr, errno, "socket");
		else
			tn_probe_finish(P, pr, false, K_ERROR, "socket: %s", strerror(errno));
		return;
	}
	pr->phase = PH_CONNECT;
	if (connect(pr->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		int err = errno;

		if (tn_probe_errno_is_local(err))
			tn_probe_local_error(P, pr, err, "tcp connect");
		else
			tn_probe_finish(P, pr, false, tn_probe_errno_kind(err), "tcp connect: %s", strerror(err));
		return;
	}
	watch(P, pr, EPOLLOUT, EPOLL_CTL_ADD);
}

bool tn_tcp_send(struct tn_prober *P, struct probe *pr, const void *data, size_t len, const char *what)
{
	ssize_t n = send(pr->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n == (ssize_t)len)
		return true;
	if (n < 0 && tn_probe_errno_is_local(errno)) {
		tn_probe_local_error(P, pr, errno, what);
		return false;
	}
	/* a few bytes on a fresh connection: a short write means trouble */
	tn_probe_finish(P, pr, false, n < 0 ? tn_probe_errno_kind(errno) : K_ERROR, "%s: send: %s", what,
			n < 0 ? strerror(errno) : "short write");
	return false;
}

/* Read what is there. Returns 0 (eof set on end of stream) or -errno. */
static int tcp_read(struct probe *pr, bool *eof, bool discard)
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

static void on_connect_event(struct tn_prober *P, struct probe *pr, uint32_t events)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	/* writable without error: connected (saves a getsockopt per check) */
	if ((events & (EPOLLERR | EPOLLHUP)) && getsockopt(pr->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		err = errno;
	if (!err && (events & (EPOLLERR | EPOLLHUP)))
		err = ECONNRESET;
	if (err) {
		tn_probe_finish(P, pr, false, tn_probe_errno_kind(err), "tcp connect: %s", strerror(err));
		return;
	}
	pr->chk->connected(P, pr);
}

void tn_tcp_event(struct tn_prober *P, struct probe *pr, uint32_t events)
{
	bool eof;
	int rc;

	if (pr->fd < 0 || pr->phase == PH_IDLE || pr->phase == PH_CURL)
		return; /* stale */
	if (pr->phase == PH_CONNECT) {
		on_connect_event(P, pr, events);
		return;
	}
	rc = tcp_read(pr, &eof, pr->phase == PH_LINGER);
	if (pr->phase == PH_LINGER) {
		if (rc < 0 || eof)
			tn_probe_end_check(P, pr, tn_probe_now_ns());
		return;
	}
	if (rc < 0) {
		tn_probe_finish(P, pr, false, tn_probe_errno_kind(-rc), "%s: read: %s", pr->chk->name,
				strerror(-rc));
		return;
	}
	pr->chk->reply(P, pr, eof);
}

/* ---- the tcp check ------------------------------------------------------------ */

static void tcp_connected(struct tn_prober *P, struct probe *pr)
{
	tn_probe_finish(P, pr, true, K_OK, "tcp connect ok");
}

static const char *tcp_waiting(const struct probe *pr)
{
	(void)pr;
	return "connecting";
}

const struct checker tn_check_tcp = {
	.name = "tcp",
	.start = tn_tcp_start,
	.connected = tcp_connected,
	.waiting = tcp_waiting,
};
