/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside the CLI (private to user/cli/): cli.c dispatches and holds what
 * every command shares (options, the request helper), resources.c the
 * table-driven farm/server/frontend commands, commands.c pending, refresh,
 * status, stats and config; table.c prints; client.c talks HTTP.
 */
#ifndef TENACE_CLI_INTERNAL_H
#define TENACE_CLI_INTERNAL_H

#include <stdbool.h>
#include <json-c/json.h>
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"

/* One run of a client command. */
struct cli {
	struct tn_cli_opts *opts;    /* global options (and those given after the command) */
	struct tn_client client;
	int fail;                    /* the exit status of the last failed request (CLI_EXIT_*) */
};

/* Exit statuses, as `tenace --help` lists them. */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_ERROR = 1,          /* usage, or a failure of the command itself */
	CLI_EXIT_UNREACHABLE = 2,    /* no controller answered (or the socket is not ours to use) */
	CLI_EXIT_INVALID = 3,        /* 400, 405, 413: the request was refused as invalid */
	CLI_EXIT_NOT_FOUND = 4,      /* 404 */
	CLI_EXIT_CONFLICT = 5,       /* 409 */
	CLI_EXIT_SERVER = 6,         /* 5xx, or any other status */
};
/* The failure status of the last request, or CLI_EXIT_ERROR. */
int cli_failed(const struct cli *c);

/*
 * What a command's options say besides its JSON body, which holds only
 * fields the API knows. in: what the command accepts; out: what was given.
 */
struct cli_options {
	bool frontend;               /* in: --port is a frontend's port list (a string) */
	bool takes_zone;             /* in: --zone is the command's (refresh), not a field */
	bool takes_wait, takes_watch;
	json_object *id;             /* out: --id N (owned), the id a creation asks for */
	const char *zone;            /* out: --zone, when takes_zone */
	bool wait, watch;            /* out */
	bool help;                   /* out: -h */
};

/* A farm's probe object as one readable line (malloc'd; "none" without a type). */
char *cli_probe_line(json_object *probe);

/* Parse argv[0..] (argv[0] is the command) into body, probe (the --probe-*
 * fields; may be body) and o; positional arguments are left at argv[optind..].
 * 0, or 1 (the error is printed). */
int cli_parse_options(struct cli *c, int argc, char **argv, json_object *body, json_object *probe,
		      struct cli_options *o);
void cli_options_free(struct cli_options *o);
/* Object options given to a command that takes none: true (printed). */
bool cli_stray_options(const char *cmd, json_object *body, const struct cli_options *o);

/* The client from the options (token read, --type checked): 0, or 1 (printed). */
int cli_setup_client(struct cli *c);
/* One request; on failure prints the API's message and returns NULL. */
json_object *cli_call(struct cli *c, const char *method, const char *path, json_object *body);
/* Print o (-j: the API's JSON, else human(o)) and release it: 0, or 1 for NULL. */
int cli_done(struct cli *c, json_object *o, void (*human)(json_object *));
void cli_print_json(json_object *o);

/* JSON fields as raw text: "-" for null/absent, arrays joined with ","; one
 * of 16 buffers reused in turn. Escape with tn_term_safe before printf. */
json_object *cli_get(json_object *o, const char *k);
const char *cli_str(json_object *o, const char *k);
double cli_num(json_object *o, const char *k);
const char *cli_fmt_num(double v);

/* resources.c */
int cli_farm(struct cli *c, int argc, char **argv);
int cli_server(struct cli *c, int argc, char **argv);
int cli_frontend(struct cli *c, int argc, char **argv);

/* commands.c */
int cli_refresh(struct cli *c, int argc, char **argv);
int cli_task(struct cli *c, int argc, char **argv);
int cli_pending(struct cli *c, int argc, char **argv);
int cli_status(struct cli *c, int argc, char **argv);
int cli_stats(struct cli *c, int argc, char **argv);
int cli_config(struct cli *c, int argc, char **argv);

/* node.c: tenace node [show|drain|resume], tenace table FARM; the "node"
 * object of GET /v1/status and /v1/node (drain, BIRD, BGP sessions) */
int cli_node(struct cli *c, int argc, char **argv);
int cli_table(struct cli *c, int argc, char **argv);
void cli_print_node(json_object *node);

#endif /* TENACE_CLI_INTERNAL_H */
