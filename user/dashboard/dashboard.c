/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The loopback dashboard: libmicrohttpd in front, libcurl to the Unix socket. */
#include <errno.h>
#include <pthread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include "api/api.h"
#include "cli/client.h"
#include "dashboard/dashboard.h"
#include "lib/log.h"
#include "lib/net.h"

const char *const tn_dashboard_paths[] = {
	"/v1/status", "/v1/stats", "/v1/pendingChanges", "/v1/tasks", "/v1/transitions", NULL,
};

struct dashboard {
	struct tn_client client;
	unsigned port;
};

bool tn_dashboard_host_ok(const char *host, unsigned port)
{
	static const char *const names[] = { "127.0.0.1", "[::1]", "localhost" };
	char want[64];

	if (!host)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(want, sizeof(want), "%s:%u", names[i], port);
		if (!strcasecmp(host, want))
			return true;
	}
	return false;
}

static bool forwarded(const char *url)
{
	for (size_t i = 0; tn_dashboard_paths[i]; i++)
		if (!strcmp(url, tn_dashboard_paths[i]))
			return true;
	return false;
}

static enum MHD_Result send_text(struct MHD_Connection *c, int status, const char *type, const char *text,
				 const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (allow)
		MHD_add_response_header(r, "Allow", allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* {"message": M, "field": null}, as the API words its errors. */
static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *msg, const char *allow)
{
	json_object *o = json_object_new_object();
	enum MHD_Result ret;

	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_object_add(o, "field", NULL);
	ret = send_text(c, status, "application/json", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			allow);
	json_object_put(o);
	return ret;
}

static enum MHD_Result send_asset(struct MHD_Connection *c, const struct tn_page_asset *a)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(*a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", a->type);
	for (size_t i = 0; tn_page_headers[i][0]; i++)
		MHD_add_response_header(r, tn_page_headers[i][0], tn_page_headers[i][1]);
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result forward(struct dashboard *d, struct MHD_Connection *c, const char *url)
{
	char err[300], *text = NULL;
	enum MHD_Result ret;
	int status = tn_client_request(&d->client, "GET", url, NULL, NULL, &text, err, sizeof(err));

	if (status < 0)
		return send_error(c, 502, err, NULL);
	ret = send_text(c, status, "application/json", text ? text : "", NULL);
	free(text);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct dashboard *d = cls;
	const struct tn_page_asset *asset;
	char msg[200];

	/* answered on the first call: a body (of a refused POST) is never read */
	if (!tn_dashboard_host_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host"), d->port))
		return send_error(c, 403, "the dashboard answers only to Host 127.0.0.1, [::1] or localhost with its port",
				  NULL);
	if (strcmp(method, "GET")) {
		snprintf(msg, sizeof(msg), "method %.20s not allowed: the dashboard only reads (GET)", method);
		return send_error(c, 405, msg, "GET");
	}
	if ((asset = tn_page_asset(url)))
		return send_asset(c, asset);
	if (!strchr(url, '?') && forwarded(url))
		return forward(d, c, url);
	snprintf(msg, sizeof(msg), "%.100s is not one of the endpoints the page reads", url);
	return send_error(c, 403, msg, NULL);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tenace [--socket PATH] dashboard --listen 127.0.0.1:PORT\n"
		"  Serve the live page on a loopback address and forward the GET endpoints it reads\n"
		"  (");
	for (size_t i = 0; tn_dashboard_paths[i]; i++)
		fprintf(f, "%s%s", i ? ", " : "", tn_dashboard_paths[i]);
	fprintf(f, ") to the controller's Unix socket; nothing else. Reach it from elsewhere with\n"
		"  ssh -L PORT:127.0.0.1:PORT HOST. --socket here or before the command.\n");
}

/* A loopback listening socket, or -errno (logged). */
static int listen_loopback(const char *spec, unsigned *port_out)
{
	struct tn_addr addr;
	uint16_t port;
	int fd;

	if (tn_hostport_parse(spec, &addr, &port)) {
		tn_err("--listen %s: expected ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)", spec);
		return -EINVAL;
	}
	if (!tn_addr_is_loopback(&addr)) {
		tn_err("--listen %s: the dashboard listens on a loopback address only (127.0.0.1 or [::1]; "
		       "reach it with ssh -L): it serves the controller's state without a token", spec);
		return -EINVAL;
	}
	fd = tn_tcp_listen(&addr, port, 64);
	if (fd < 0) {
		tn_err("cannot listen on %s: %s", spec, strerror(-fd));
		return fd;
	}
	*port_out = port;
	return fd;
}

/* Options: 0 to go on, or 1 + the exit status. */
static int parse(int argc, char **argv, const char **listen, const char **socket_path)
{
	static const struct option o[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", o, NULL)) != -1) {
		switch (c) {
		case 'l': *listen = optarg; break;
		case 'S': *socket_path = optarg; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || !*listen) {
		fprintf(stderr, "tenace dashboard: %s\n", optind < argc ? "unexpected argument" : "--listen is required");
		usage(stderr);
		return 2;
	}
	return 0;
}

int tn_dashboard_main(int argc, char **argv, const char *socket_path)
{
	struct dashboard d = { .client = { .socket_path = socket_path ? socket_path : TN_SOCKET_DEFAULT } };
	const char *listen = NULL;
	struct MHD_Daemon *daemon;
	sigset_t set;
	int fd, sig, rc = parse(argc, argv, &listen, &d.client.socket_path);

	if (rc)
		return rc - 1;
	if ((fd = listen_loopback(listen, &d.port)) < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* the daemon's threads inherit it */
	daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL,
				  0, NULL, NULL, handler, &d, MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_UNESCAPE_CALLBACK, tn_api_unescape, NULL,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
	if (!daemon) {
		tn_err("cannot start the HTTP server on %s", listen);
		close(fd);
		curl_global_cleanup();
		return 1;
	}
	tn_info("dashboard on http://%s/ (the controller at %s)", listen, d.client.socket_path);
	sigwait(&set, &sig);
	MHD_stop_daemon(daemon);
	close(fd);
	curl_global_cleanup();
	return 0;
}
