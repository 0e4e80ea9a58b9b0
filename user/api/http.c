/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The HTTP transport (libmicrohttpd, a thread per connection): the Unix
 * socket and the optional TCP listener, the bearer token (or, for GETs, the
 * session cookie a browser got from POST /v1/session), the body size limit,
 * the live page's files; each complete request goes to tn_api_dispatch.
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
	char *metrics_token;       /* read-only: GET /metrics only (NULL: none) */
	char *tls_cert, *tls_key;  /* PEM text, for the TCP daemon's lifetime */
	struct sessions sessions;
};

struct conn {
	struct tn_buf body;
	bool too_big;
	bool refused;
	bool session;              /* /v1/session on the TCP listener */
};

/* Constant time over the token's length. */
static bool same_token(const char *given, const char *token)
{
	size_t lg = strlen(given), lt = strlen(token);
	unsigned char d = lg != lt;

	for (size_t i = 0; i < lt; i++)
		d |= (unsigned char)token[i] ^ (unsigned char)(i < lg ? given[i] : 0);
	return d == 0;
}

/* The bearer token of an Authorization header. */
static bool token_ok(const char *header, const char *token)
{
	const char *p = "Bearer ";

	return header && !strncmp(header, p, strlen(p)) && same_token(header + strlen(p), token);
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* A TCP request: 0 (the admin token; a session cookie for a GET, since the
 * page only reads and what changes things needs the token; the metrics
 * token asking GET /metrics), 403 (the metrics token asking anything else), 401. */
static int tcp_auth(struct tn_api *api, struct MHD_Connection *c, const char *method, const char *url)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

	if (token_ok(h, api->token))
		return 0;
	if (!strcmp(method, "GET") &&
	    session_valid(&api->sessions, MHD_lookup_connection_value(c, MHD_COOKIE_KIND, TN_SESSION_COOKIE)))
		return 0;
	if (!api->metrics_token || !token_ok(h, api->metrics_token))
		return 401;
	return !strcmp(method, "GET") && !strcmp(url, "/metrics") ? 0 : 403;
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

/* The query MHD took off the URL, put back (percent-encoded) for the routes that read it. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct tn_buf *b = cls;
	const char *parts[2] = { key, value };

	(void)kind;
	tn_buf_append(b, b->len ? "&" : "?", 1);
	for (int i = 0; i < 2 && parts[i]; i++) {
		if (i)
			tn_buf_append(b, "=", 1);
		for (const char *c = parts[i]; *c; c++) {
			char esc[4];

			if (strchr("&=%#+?", *c) || (unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) {
				snprintf(esc, sizeof(esc), "%%%02X", (unsigned char)*c);
				tn_buf_append(b, esc, 3);
			} else {
				tn_buf_append(b, c, 1);
			}
		}
	}
	return MHD_YES;
}

static void dispatch(struct tn_api *api, struct MHD_Connection *c, const char *method, const char *url,
		     struct conn *cn, struct tn_api_response *r)
{
	struct tn_buf q = {0}, full = {0};
	char *u = NULL;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
	if (q.len && !tn_buf_append(&q, "", 1) && !tn_buf_printf(&full, "%s%s", url, q.s))
		u = tn_buf_take(&full);
	tn_api_dispatch(api->ctl, method, u ? u : url, cn->body.s, cn->body.len, r);
	free(u);
	tn_buf_free(&full);
	tn_buf_free(&q);
}

static enum MHD_Result send_asset(struct MHD_Connection *c, const struct tn_page_asset *a)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(*a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", a->type);
	for (size_t i = 0; tn_page_headers[i][0]; i++)
		MHD_add_response_header(resp, tn_page_headers[i][0], tn_page_headers[i][1]);
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* POST /v1/session {"token": T}: the right token gets a session cookie. */
static enum MHD_Result session_post(struct tn_api *api, struct MHD_Connection *c, const char *method,
				    const struct conn *cn)
{
	struct tn_api_response r = {0};
	char id[TN_SESSION_ID_LEN + 1], cookie[200];
	struct MHD_Response *resp;
	json_object *b, *t = NULL;
	enum MHD_Result ret;

	if (strcmp(method, "POST")) {
		method_not_allowed(&r, method, "POST");
		goto out;
	}
	if (!(b = parse_body(cn->body.s ? cn->body.s : "", cn->body.len, false, &r)))
		goto out;
	if (!json_object_object_get_ex(b, "token", &t) || !json_object_is_type(t, json_type_string))
		reply_error(&r, 400, "token", "expected {\"token\": \"...\"}");
	else if (!same_token(json_object_get_string(t), api->token))
		reply_error(&r, 401, "token", "wrong token");
	else if (session_new(&api->sessions, id))
		reply_error(&r, 500, NULL, "no randomness for a session id");
	json_object_put(b);
	if (r.status)
		goto out;
	resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; Max-Age=%d; Secure; HttpOnly; SameSite=Strict",
		 TN_SESSION_COOKIE, id, TN_SESSION_TTL_S);
	explicit_bzero(id, sizeof(id));
	MHD_add_response_header(resp, "Set-Cookie", cookie);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	explicit_bzero(cookie, sizeof(cookie));
	ret = MHD_queue_response(c, 204, resp);
	MHD_destroy_response(resp);
	return ret;
out:
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
		bool tcp = api->token && MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON)->daemon == api->tcp_d;
		const struct tn_page_asset *asset = tn_page_asset(url);
		const char *cl;

		cn = calloc(1, sizeof(*cn));
		if (!cn)
			return MHD_NO;
		*con_cls = cn;
		if (asset && !strcmp(method, "GET")) {
			cn->refused = true;
			return send_asset(c, asset);
		}
		cn->session = tcp && !strcmp(url, "/v1/session");
		if (tcp && !cn->session) {
			int code = tcp_auth(api, c, method, url);

			if (code) {
				cn->refused = true;
				return simple_error(c, code, code == 403 ?
						    "the metrics token may only GET /metrics" :
						    "missing or wrong bearer token (Authorization: Bearer <token>)");
			}
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
	if (cn->session)
		return session_post(api, c, method, cn);
	dispatch(api, c, method, url, cn, &r);
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

/* The socket's path may be taken: too long, a live socket (another
 * controller), or something that is not a socket (never removed). */
static int check_socket_path(const char *path, struct sockaddr_un *sa)
{
	struct stat st;
	int probe;

	if (strlen(path) >= sizeof(sa->sun_path)) {
		tn_err("socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa->sun_path, path);
	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		tn_err("%s exists and is not a socket: not removed (give --socket another path, or remove it)", path);
		return -EEXIST;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)sa, sizeof(*sa)) == 0) {
			close(probe);
			tn_err("another controller is listening on %s", path);
			return -EADDRINUSE;
		}
		close(probe);
	}
	return 0;
}

static int unix_listener(const char *path)
{
	mode_t old_mask;
	int rc;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if ((err = tn_mkdir_parent(path, 0755))) {
		tn_err("cannot create the directory of the socket %s: %s", path, strerror(-err));
		return err;
	}
	if ((err = check_socket_path(path, &sa)))
		return err;
	/* a stale socket (its controller gone) is removed */
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
	struct tn_addr addr;
	uint16_t port;
	int fd;

	if (tn_hostport_parse(spec, &addr, &port)) {
		tn_err("--listen %s: expected ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)", spec);
		return -EINVAL;
	}
	fd = tn_tcp_listen(&addr, port, 256);
	if (fd < 0)
		tn_err("cannot listen on %s: %s", spec, strerror(-fd));
	return fd;
}

size_t tn_api_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	if (strstr(s, "%00"))
		return strlen(s);
	return MHD_http_unescape(s);
}

/* poll(), not select(): descriptors past 1024 (a controller probing
 * thousands of servers holds that many) */
#define MHD_FLAGS (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL)

static struct MHD_Daemon *start_unix_daemon(struct tn_api *api, int fd)
{
	return MHD_start_daemon(MHD_FLAGS, 0, NULL, NULL, handler, api,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_UNESCAPE_CALLBACK, tn_api_unescape, NULL,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)512,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
				MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				MHD_OPTION_END);
}

/* The TCP listener: bounded in all and per client, idle and slow clients
 * dropped after TN_TCP_IDLE_S, HTTPS when cert and key are given. */
static struct MHD_Daemon *start_tcp_daemon(struct tn_api *api, int fd, const char *cert, const char *key)
{
	unsigned int flags = MHD_FLAGS | (cert ? MHD_USE_TLS : 0);

	return MHD_start_daemon(flags, 0, NULL, NULL, handler, api,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_UNESCAPE_CALLBACK, tn_api_unescape, NULL,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)TN_TCP_CONN_MAX,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)TN_TCP_CONN_PER_IP,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)TN_TCP_IDLE_S,
				MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
				MHD_OPTION_HTTPS_MEM_KEY, key,
				MHD_OPTION_END);
}

/* A PEM file, whole (NUL-terminated), or NULL with a log line. */
static char *read_pem(const char *what, const char *path)
{
	char *text = NULL;
	size_t len;
	int err = tn_file_read(path, 1 << 20, &text, &len);

	if (err) {
		tn_err("cannot read the TLS %s %s: %s", what, path, strerror(-err));
		return NULL;
	}
	if (!strstr(text, "-----BEGIN ")) {
		tn_err("the TLS %s %s is not a PEM file (no \"-----BEGIN\" line)", what, path);
		free(text);
		return NULL;
	}
	return text;
}

/* The listener's checks before anything listens: a token long enough, TLS
 * or a loopback address (plain HTTP elsewhere sends the token in clear). */
static int check_tcp_options(const struct tn_api_options *o)
{
	struct tn_addr addr;
	uint16_t port;

	if (!o->token || strlen(o->token) < TN_TOKEN_MIN) {
		tn_err("--listen needs --token-file with a token of at least %d bytes (this one has %zu)",
		       TN_TOKEN_MIN, o->token ? strlen(o->token) : (size_t)0);
		return -EINVAL;
	}
	if (o->metrics_token && strlen(o->metrics_token) < TN_TOKEN_MIN) {
		tn_err("--metrics-token-file: the token needs at least %d bytes (this one has %zu)", TN_TOKEN_MIN,
		       strlen(o->metrics_token));
		return -EINVAL;
	}
	if (o->metrics_token && !strcmp(o->metrics_token, o->token)) {
		tn_err("--metrics-token-file holds the admin token: give Prometheus a token of its own");
		return -EINVAL;
	}
	if (!o->tls_cert != !o->tls_key) {
		tn_err("--tls-cert and --tls-key go together (HTTPS needs both)");
		return -EINVAL;
	}
	if (tn_hostport_parse(o->listen, &addr, &port)) {
		tn_err("--listen %s: expected ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)", o->listen);
		return -EINVAL;
	}
	if (!o->tls_cert && !tn_addr_is_loopback(&addr)) {
		tn_err("--listen %s without --tls-cert/--tls-key would send the bearer token in clear: "
		       "give a certificate and key, or listen on a loopback address (127.0.0.1, [::1])", o->listen);
		return -EINVAL;
	}
	return 0;
}

int tn_api_preflight(const struct tn_api_options *o)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int err = check_socket_path(o->socket_path ? o->socket_path : TN_SOCKET_DEFAULT, &sa);

	if (!err && o->listen)
		err = check_tcp_options(o);
	if (!err && o->listen && o->tls_cert) {
		char *cert = read_pem("certificate", o->tls_cert), *key = cert ? read_pem("key", o->tls_key) : NULL;

		err = cert && key ? 0 : -EINVAL;
		free(cert);
		if (key) {
			explicit_bzero(key, strlen(key));
			free(key);
		}
	}
	return err;
}

int tn_api_start(struct tn_api **out, struct tn_ctl *ctl, const struct tn_api_options *o)
{
	struct tn_api *api = calloc(1, sizeof(*api));
	const char *path = o->socket_path ? o->socket_path : TN_SOCKET_DEFAULT;
	int fd, err;

	if (!api)
		return -ENOMEM;
	api->ctl = ctl;
	sessions_init(&api->sessions);
	if (o->listen && check_tcp_options(o)) {
		sessions_destroy(&api->sessions);
		free(api);
		return -EINVAL;
	}
	api->socket_path = strdup(path);
	api->token = o->token ? strdup(o->token) : NULL;
	api->metrics_token = o->metrics_token ? strdup(o->metrics_token) : NULL;
	fd = unix_listener(path);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	api->unix_d = start_unix_daemon(api, fd);
	if (!api->unix_d) {
		close(fd);
		tn_err("cannot start the HTTP server on %s", path);
		err = -EIO;
		goto fail;
	}
	if (o->listen) {
		char *cert = NULL, *key = NULL;

		if (o->tls_cert && (!(cert = read_pem("certificate", o->tls_cert)) ||
				    !(key = read_pem("key", o->tls_key)))) {
			free(cert);
			err = -EINVAL;
			goto fail;
		}
		fd = tcp_listener(o->listen);
		if (fd >= 0) {
			/* MHD copies neither: they live as long as the daemon */
			api->tls_cert = cert;
			api->tls_key = key;
			api->tcp_d = start_tcp_daemon(api, fd, cert, key);
			if (!api->tcp_d) {
				close(fd);
				tn_err("cannot start the HTTP%s server on %s%s", cert ? "S" : "", o->listen,
				       cert ? " (is the key the certificate's, both PEM?)" : "");
				err = -EIO;
				goto fail;
			}
		} else {
			free(cert);
			free(key);
			err = fd;
			goto fail;
		}
		tn_info("API listening on %s (%s, bearer token required)", o->listen, cert ? "HTTPS" : "HTTP, loopback");
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
	free(api->tls_cert);
	free_secret(api->tls_key);
	free_secret(api->token);
	free_secret(api->metrics_token);
	sessions_destroy(&api->sessions);
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
