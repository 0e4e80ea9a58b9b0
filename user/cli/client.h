/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The client side of the API: libcurl over the Unix socket, or over TCP
 * with a bearer token. */
#ifndef TENACE_CLI_CLIENT_H
#define TENACE_CLI_CLIENT_H

#include <stddef.h>
#include <json-c/json.h>

struct tn_client {
	const char *socket_path; /* used when url is NULL */
	const char *url;         /* "http://host:port", or NULL */
	char *token;             /* bearer token, or NULL */
	const char *cacert;      /* PEM bundle to verify an https:// url with, or NULL (system CAs) */
};

/*
 * One request. body may be NULL. Returns the HTTP status (>= 100), or -errno
 * when the controller could not be reached (err says why). *out gets the
 * parsed JSON body (NULL when none or not JSON); *text the raw body.
 */
int tn_client_request(const struct tn_client *c, const char *method, const char *path,
		      json_object *body, json_object **out, char **text, char *err, size_t errlen);

#endif /* TENACE_CLI_CLIENT_H */
