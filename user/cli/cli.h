/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Client commands: farm, server, frontend, pending, refresh, status, stats,
 * config. They talk to a running controller through the API. */
#ifndef TENACE_CLI_H
#define TENACE_CLI_H

#include <stdbool.h>
#include <stdio.h>

struct tn_cli_opts {
	bool json;                /* -j: print the API's JSON */
	const char *socket_path;
	const char *url;
	const char *token_file;
	const char *cacert;       /* --cacert: PEM to verify https:// with */
	const char *type;         /* "tcp" (default) or "udp" */
};

bool tn_cli_is_command(const char *name);
/* argv[0] is the command name. Returns the exit status. */
int tn_cli_main(struct tn_cli_opts *g, int argc, char **argv);
void tn_cli_usage(FILE *f);

#endif /* TENACE_CLI_H */
