/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Small servers for the probe tests (test_probe.c, test_probe_runner.c):
 * threads listening on 127.0.0.1 or ::1 (ephemeral ports) that answer well,
 * badly, not at all, or hang up at once, and a helper or two.
 */
#ifndef TENACE_TEST_PROBE_SERVERS_H
#define TENACE_TEST_PROBE_SERVERS_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "tenace.h"
#include "probe/probe.h"

/* each test program uses some of these */
#define TEST_FN static __attribute__((unused))

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

TEST_FN int read_until(int fd, char *buf, size_t cap, const char *end)
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

TEST_FN void drain_until_close(int fd)
{
	char b[256];

	while (recv(fd, b, sizeof(b), 0) > 0)
		;
}

TEST_FN void serve(struct srv *s, int fd)
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

TEST_FN void *srv_main(void *arg)
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

TEST_FN struct srv *srv_start6(enum srv_mode mode, const void *reply, size_t reply_len, bool v6)
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

TEST_FN struct srv *srv_start(enum srv_mode mode, const void *reply, size_t reply_len)
{
	return srv_start6(mode, reply, reply_len, false);
}

TEST_FN struct srv *srv_str(enum srv_mode mode, const char *reply)
{
	return srv_start(mode, reply, reply ? strlen(reply) : 0);
}

TEST_FN struct srv *srv_http(int status, const char *body)
{
	struct srv *s = srv_start(SRV_HTTP, NULL, 0);

	atomic_store(&s->status, status);
	s->body = body;
	return s;
}

TEST_FN void srv_stop(struct srv *s)
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
TEST_FN uint16_t dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&a, sl), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
	close(fd);
	return ntohs(a.sin_port);
}

TEST_FN double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST_FN struct tn_probe_target target(uint64_t key, enum tn_probe_type type, uint16_t port)
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

/* A MySQL 8 greeting, as the server sends it. */
TEST_FN size_t mysql_greeting(uint8_t *out)
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

/* descriptors open in this process */
TEST_FN int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#define assert_has(s, part) do { \
	if (!strstr((s), (part))) \
		fail_msg("\"%s\" does not contain \"%s\"", (s), (part)); \
} while (0)

/*
 * Slow servers in a child process (a descriptor table and limits of their
 * own, untouched by a test lowering RLIMIT_NOFILE): every connection is
 * accepted at once and, delay_ms later, gets its listener's reply; the
 * server then reads until the client leaves. Many checks stay in flight.
 */
#define SLOW_MAX_PORTS 4
#define SLOW_MAX_CONNS 4096
struct slow_srv {
	pid_t pid;
	int n;
	uint16_t port[SLOW_MAX_PORTS];
};

struct slow_reply {
	const void *data;
	size_t len;
};

struct slow_conn {
	int fd;
	int port;      /* index of its listener */
	double due;    /* when the reply goes, 0 once sent */
};

TEST_FN void slow_accept(int lfd, int port, int delay_ms, struct slow_conn *c, int *nc)
{
	int fd;

	while (*nc < SLOW_MAX_CONNS && (fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		c[(*nc)++] = (struct slow_conn){ fd, port, mono() + delay_ms / 1e3 };
}

/* One pass over the connections: send due replies, close the ones the client left. */
TEST_FN void slow_pass(struct slow_conn *c, int *nc, const struct slow_reply *reply)
{
	char sink[512];

	for (int i = 0; i < *nc; i++) {
		ssize_t r;

		if (c[i].due && mono() >= c[i].due) {
			send(c[i].fd, reply[c[i].port].data, reply[c[i].port].len, MSG_NOSIGNAL);
			c[i].due = 0;
		}
		while ((r = recv(c[i].fd, sink, sizeof(sink), 0)) > 0)
			;
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			close(c[i].fd);
			c[i--] = c[--*nc];
		}
	}
}

TEST_FN void slow_child(int *lfd, int n, const struct slow_reply *reply, int delay_ms)
{
	static struct slow_conn c[SLOW_MAX_CONNS];
	struct pollfd pfd[SLOW_MAX_PORTS];
	int nc = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = lfd[i], .events = POLLIN };
	for (;;) {
		poll(pfd, (nfds_t)n, 5);
		for (int i = 0; i < n; i++)
			slow_accept(lfd[i], i, delay_ms, c, &nc);
		slow_pass(c, &nc, reply);
	}
}

/* n listeners on 127.0.0.1, listener i answering reply[i]. */
TEST_FN struct slow_srv slow_start(const struct slow_reply *reply, int n, int delay_ms)
{
	struct slow_srv s = { .n = n };
	int lfd[SLOW_MAX_PORTS];

	assert_true(n <= SLOW_MAX_PORTS);
	for (int i = 0; i < n; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t sl = sizeof(a);

		lfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(lfd[i] >= 0);
		assert_int_equal(bind(lfd[i], (struct sockaddr *)&a, sl), 0);
		assert_int_equal(listen(lfd[i], 4096), 0);
		assert_int_equal(getsockname(lfd[i], (struct sockaddr *)&a, &sl), 0);
		s.port[i] = ntohs(a.sin_port);
	}
	s.pid = fork();
	assert_true(s.pid >= 0);
	if (s.pid == 0)
		slow_child(lfd, n, reply, delay_ms); /* never returns */
	assert_true(s.pid > 0);
	for (int i = 0; i < n; i++)
		close(lfd[i]);
	return s;
}

TEST_FN void slow_stop(struct slow_srv *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
}

#endif /* TENACE_TEST_PROBE_SERVERS_H */
