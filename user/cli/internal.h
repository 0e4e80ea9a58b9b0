/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the files of the CLI share: options, requests, JSON access, tables. */
#ifndef TENACE_CLI_INTERNAL_H
#define TENACE_CLI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "cli/cli.h"

#define MAX_COLS 12

struct table {
	int ncols;
	char **cells; /* rows * ncols */
	size_t nrows;
};

void table_init(struct table *t, int ncols);
void table_row(struct table *t, ...);
void table_print(struct table *t);

extern struct tn_cli_opts *opts;
json_object *jget(json_object *o, const char *k);
const char *jstr(json_object *o, const char *k);
double jnum(json_object *o, const char *k);
const char *fmt_num(double v);
void print_json(json_object *o);
/* The request; on failure prints the API's message and returns NULL. */
json_object *call(const char *method, const char *path, json_object *body, int *status);
int setup_client(void);
/* Print (-j: JSON, else human) and release o: 0, or 1 for NULL. */
int done(json_object *o, void (*human)(json_object *));

/* cli/node.c */
int cli_node(int argc, char **argv);
int cli_table(int argc, char **argv);
/* The "node" object of GET /v1/status (drain, BGP sessions). */
void print_node(json_object *node);

#endif /* TENACE_CLI_INTERNAL_H */
