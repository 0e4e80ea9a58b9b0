/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The HTTP transport (libmicrohttpd, a thread per connection): the Unix
 * socket and the optional TCP listener, the bearer token, the body size
 * limit; each complete request goes to tn_api_dispatch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <microhttpd.h>
#include "api/internal.h"
#include "lib/buf.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/net.h"

struct tn_api {
	struct tn_ctl *ctl;
	struct MHD_Daemon *unix_d, *tcp_d;
	char *socket_path;
	char *token;
};

struct conn {
	struct tn_buf body;
	bool too_big;
	bool refused;
};

/* Constant-time comparison of the bearer token. */
static bool token_ok(const char *header, const char *token)
{
	const char *p = "Bearer ";
	size_t lh, lt, i;
	unsigned char d = 0;

	if (!header || strncmp(header, p, strlen(p)))
		return false;
	header += strlen(p);
	lh = strlen(header);
	lt = strlen(token);
	d = lh != lt;
	for (i = 0; i < lt; i++)
		d |= (unsigned char)token[i] ^ (unsigned char)(i < lh ? header[i] : 0);
	return d == 0;
}

static enum MHD_Result send_response(struct MHD_Connection *c, struct tn_api_response *r)
{
	struct MHD_Response *resp;
	const char *text;
	enum MHD_Result ret;
	char *copy = NULL;
	size_t len;

	if (r->text) {
		text = r->text;
	} else if (r->json) {
		text = json_object_to_json_string_ext(r->json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	} else {
		text = "";
	}
	len = strlen(text);
	copy = malloc(len + 2);
	if (!copy)
		return MHD_NO;
	memcpy(copy, text, len);
	if (!r->text && r->json)
		copy[len++] = '\n';
	resp = MHD_create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(copy);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", r->text ? "text/plain; version=0.0.4" : "application/json");
	if (r->allow)
		MHD_add_response_header(resp, "Allow", r->allow);
	if (r->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	ret = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result simple_error(struct MHD_Connection *c, int status, const char *msg)
{
	struct tn_api_response r = {0};
	enum MHD_Result ret;

	reply_error(&r, status, NULL, "%s", msg);
	ret = send_response(c, &r);
	tn_api_response_free(&r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct tn_api *api = cls;
	struct conn *cn = *con_cls;
	struct tn_api_response r;
	enum MHD_Result ret;

	if (!cn) {
		const char *cl;

		cn = calloc(1, sizeof(*cn));
		if (!cn)
			return MHD_NO;
		*con_cls = cn;
		if (api->token && MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON)->daemon == api->tcp_d &&
		    !token_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"), api->token)) {
			cn->refused = true;
			return simple_error(c, 401, "missing or wrong bearer token (Authorization: Bearer <token>)");
		}
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > TN_API_MAX_BODY) {
			cn->refused = true;
			return simple_error(c, 413, "request body larger than 1 MiB");
		}
		return MHD_YES;
	}
	if (cn->refused) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		if (cn->too_big || cn->body.len + n > TN_API_MAX_BODY)
			cn->too_big = true;
		else if (tn_buf_append(&cn->body, upload_data, n))
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (cn->too_big)
		return simple_error(c, 413, "request body larger than 1 MiB");
	tn_api_dispatch(api->ctl, method, url, cn->body.s, cn->body.len, &r);
	ret = send_response(c, &r);
	tn_api_response_free(&r);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	if (cn) {
		tn_buf_free(&cn->body);
		free(cn);
		*con_cls = NULL;
	}
}

static int unix_listener(const char *path)
{
	mode_t old_mask;
	int rc;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, probe, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		tn_err("socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if ((err = tn_mkdir_parent(path, 0755))) {
		tn_err("cannot create the directory of the socket %s: %s", path, strerror(-err));
		return err;
	}
	/* a live socket means another controller: refuse; a stale one is removed */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			tn_err("another controller is listening on %s", path);
			return -EADDRINUSE;
		}
		close(probe);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* bind creates the socket file: under umask 077 it is never wider than 0600
	 * (umask is process-wide, but meanwhile only tighter files can appear) */
	old_mask = umask(077);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 256) < 0) {
		int e = errno;

		tn_err("cannot listen on %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

static int tcp_listener(const char *spec)
{
	struct sockaddr_storage ss;
	struct tn_addr addr;
	uint16_t port;
	socklen_t sl;
	int fd, one = 1;

	if (tn_hostport_parse(spec, &addr, &port)) {
		tn_err("--listen %s: expected ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)", spec);
		return -EINVAL;
	}
	sl = tn_sockaddr(&addr, port, &ss);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 256) < 0) {
		int e = errno;

		tn_err("cannot listen on %s: %s", spec, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

static struct MHD_Daemon *start_daemon(struct tn_api *api, int fd)
{
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
				0, NULL, NULL, handler, api,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)512,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
				MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				MHD_OPTION_END);
}

int tn_api_start(struct tn_api **out, struct tn_ctl *ctl, const struct tn_api_options *o)
{
	struct tn_api *api = calloc(1, sizeof(*api));
	const char *path = o->socket_path ? o->socket_path : TN_SOCKET_DEFAULT;
	int fd, err;

	if (!api)
		return -ENOMEM;
	api->ctl = ctl;
	if (o->listen && (!o->token || !*o->token)) {
		tn_err("--listen needs --token-file with a non-empty token");
		free(api);
		return -EINVAL;
	}
	api->socket_path = strdup(path);
	api->token = o->token ? strdup(o->token) : NULL;
	fd = unix_listener(path);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	api->unix_d = start_daemon(api, fd);
	if (!api->unix_d) {
		close(fd);
		tn_err("cannot start the HTTP server on %s", path);
		err = -EIO;
		goto fail;
	}
	if (o->listen) {
		fd = tcp_listener(o->listen);
		if (fd < 0) {
			err = fd;
			goto fail;
		}
		api->tcp_d = start_daemon(api, fd);
		if (!api->tcp_d) {
			close(fd);
			tn_err("cannot start the HTTP server on %s", o->listen);
			err = -EIO;
			goto fail;
		}
		tn_info("API listening on %s (bearer token required)", o->listen);
	}
	tn_info("API listening on %s", path);
	*out = api;
	return 0;
fail:
	tn_api_stop(api);
	return err;
}

static void stop_daemon(struct MHD_Daemon *d)
{
	int fd;

	if (!d)
		return;
	fd = MHD_quiesce_daemon(d);
	MHD_stop_daemon(d);
	if (fd >= 0)
		close(fd);
}

void tn_api_stop(struct tn_api *api)
{
	if (!api)
		return;
	stop_daemon(api->tcp_d);
	if (api->unix_d) {
		stop_daemon(api->unix_d);
		unlink(api->socket_path);
	}
	free(api->socket_path);
	if (api->token) {
		explicit_bzero(api->token, strlen(api->token));
		free(api->token);
	}
	free(api);
}

char *tn_read_token_file(const char *path)
{
	char buf[1024], *s, *e;
	FILE *f = fopen(path, "r");

	if (!f) {
		tn_err("cannot read the token file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	for (s = buf; *s == ' ' || *s == '\t'; s++)
		;
	for (e = s + strlen(s); e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = 0;
	if (!*s) {
		tn_err("the token file %s is empty", path);
		explicit_bzero(buf, sizeof(buf));
		return NULL;
	}
	s = strdup(s);
	explicit_bzero(buf, sizeof(buf));
	return s;
}
