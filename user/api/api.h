/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The HTTP API (libmicrohttpd): a Unix socket (mode 0600) and an optional
 * TCP listener that requires "Authorization: Bearer <token>". Routing is a
 * pure function over the controller (tn_api_dispatch), so tests can drive
 * it without sockets.
 */
#ifndef TENACE_API_H
#define TENACE_API_H

#include <stddef.h>
#include <json-c/json.h>
#include "control/controller.h"

#define TN_SOCKET_DEFAULT "/run/tenace/tenace.sock"
#define TN_API_MAX_BODY (1024 * 1024)

struct tn_api_response {
	int status;
	json_object *json;          /* body, or NULL */
	char *text;                 /* plain-text body (metrics), or NULL */
	const char *allow;          /* for 405 */
};

/* Route one request; takes the controller's lock. */
void tn_api_dispatch(struct tn_ctl *ctl, const char *method, const char *url,
		     const char *body, size_t len, struct tn_api_response *r);
void tn_api_response_free(struct tn_api_response *r);

struct tn_api;
struct tn_api_options {
	const char *socket_path;    /* NULL: TN_SOCKET_DEFAULT */
	const char *listen;         /* "ADDR:PORT" / "[v6]:PORT", or NULL */
	const char *token;          /* required with listen, TN_TOKEN_MIN bytes at least */
	const char *metrics_token;  /* optional: a second token that may only GET /metrics */
	const char *tls_cert;       /* PEM files: HTTPS on the listener; without them */
	const char *tls_key;        /* only a loopback address is accepted */
};

/* The shortest bearer token the TCP listener accepts. */
#define TN_TOKEN_MIN 16
/* TCP listener: connections in all, per client address, idle seconds. */
#define TN_TCP_CONN_MAX 64
#define TN_TCP_CONN_PER_IP 8
#define TN_TCP_IDLE_S 10
/* What tn_api_start would refuse, checked before the daemon touches
 * anything (the socket's path, the TCP options): 0 or -errno (logged). */
int tn_api_preflight(const struct tn_api_options *o);
/* 0 or -errno (logged). */
int tn_api_start(struct tn_api **out, struct tn_ctl *ctl, const struct tn_api_options *o);
void tn_api_stop(struct tn_api *api);

/* The live page (api/page.c): GET /, /app.js, /style.css, served without
 * a token (they hold no data; every request the page makes needs one). */
struct tn_page_asset {
	const char *path, *type;
	const unsigned char *data;
	const unsigned int *len;
};
/* The asset a URL names (query string ignored), or NULL. */
const struct tn_page_asset *tn_page_asset(const char *url);
/* {name, value} headers for the page's responses, ending with {NULL, NULL}. */
extern const char *const tn_page_headers[][2];

/* The session cookie the TCP listener sets once POST /v1/session gets the
 * token (a random id kept in memory, never the token). */
#define TN_SESSION_COOKIE "tenace_session"
#define TN_SESSION_MAX 64
#define TN_SESSION_TTL_S (12 * 3600)

/* libmicrohttpd's unescape callback (MHD_OPTION_UNESCAPE_CALLBACK): %HH
 * decoded, except that a URL holding %00 is left as sent, so that a NUL
 * never cuts a path short ("/%00" is not "/"). */
struct MHD_Connection;
size_t tn_api_unescape(void *cls, struct MHD_Connection *c, char *s);

/* Read a token file (first line, trimmed): malloc'd, or NULL with a log line. */
char *tn_read_token_file(const char *path);

#endif /* TENACE_API_H */
