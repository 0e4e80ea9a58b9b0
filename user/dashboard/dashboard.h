/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `tenace dashboard --listen 127.0.0.1:PORT [--socket PATH]`: the live page
 * on a loopback address (for an operator behind `ssh -L`), and the GET
 * endpoints it reads forwarded to the controller's Unix socket; nothing
 * else (403 other paths, 405 other methods, 403 a Host that is not the
 * listener's: no DNS rebinding).
 */
#ifndef TENACE_DASHBOARD_H
#define TENACE_DASHBOARD_H

#include <stdbool.h>

/* The API paths the page reads: the only ones forwarded. */
extern const char *const tn_dashboard_paths[];

/* Whether a Host header names the listener (127.0.0.1:PORT, [::1]:PORT,
 * localhost:PORT). */
bool tn_dashboard_host_ok(const char *host, unsigned port);

/* socket_path: the global --socket (NULL: the default; the command's own wins). */
int tn_dashboard_main(int argc, char **argv, const char *socket_path);

#endif /* TENACE_DASHBOARD_H */
