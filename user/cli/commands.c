/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tenace pending, refresh, status, stats and config. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/internal.h"
#include "lib/num.h"

#define S(o, k) tn_term_safe(cli_str((o), (k)))

static volatile sig_atomic_t stop;
static void on_sigint(int sig) { (void)sig; stop = 1; }

/* ---- output ----------------------------------------------------------------------- */

static void print_pending(json_object *arr)
{
	struct tn_table t;

	if (!json_object_array_length(arr)) {
		printf("no pending changes\n");
		return;
	}
	tn_table_init(&t, 2);
	tn_table_row(&t, "ZONE", "CHANGES");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *z = json_object_array_get_idx(arr, i);

		tn_table_row(&t, cli_str(z, "zone"), cli_str(z, "number"));
	}
	tn_table_print(&t);
}

static void print_task(json_object *o)
{
	printf("task %s: %s%s%s\n", S(o, "id"), S(o, "status"),
	       cli_get(o, "message") ? ": " : "", cli_get(o, "message") ? S(o, "message") : "");
}

static void print_farm_status(json_object *f)
{
	json_object *srv = cli_get(f, "servers");
	bool named = cli_get(f, "displayName"), failed = cli_get(f, "lastError");
	struct tn_table t;

	printf("\n%s farm %s%s%s%s: %s, slot %s, generation %s%s%s\n", S(f, "type"), S(f, "farmId"),
	       named ? " (" : "", named ? S(f, "displayName") : "", named ? ")" : "", S(f, "state"),
	       S(f, "slot"), S(f, "generation"), failed ? ", error: " : "", failed ? S(f, "lastError") : "");
	tn_table_init(&t, 10);
	tn_table_colour_states(&t, 5);
	tn_table_colour_states(&t, 6);
	tn_table_row(&t, "SERVER", "ADDRESS", "PORT", "WEIGHT", "BACKUP", "STATE", "HEALTH", "SINCE", "MAC",
		     "LAST ERROR");
	for (size_t j = 0; srv && j < json_object_array_length(srv); j++) {
		json_object *s = json_object_array_get_idx(srv, j);

		tn_table_row(&t, cli_str(s, "serverId"), cli_str(s, "address"), cli_str(s, "port"),
			     cli_str(s, "weight"), cli_str(s, "backup"), cli_str(s, "state"), cli_str(s, "health"),
			     cli_str(s, "since"), cli_str(s, "mac"), cli_str(s, "lastError"));
	}
	tn_table_print(&t);
}

static void print_status(json_object *o)
{
	json_object *ifs = cli_get(o, "interfaces"), *farms = cli_get(o, "farms");
	struct tn_table t;

	printf("zone %s, pending changes: %s\n", S(o, "zone"), S(o, "pendingChanges"));
	tn_table_init(&t, 5);
	tn_table_row(&t, "INTERFACE", "IFINDEX", "MODE", "PROGRAM", "XDP TX ERRORS");
	for (size_t i = 0; ifs && i < json_object_array_length(ifs); i++) {
		json_object *x = json_object_array_get_idx(ifs, i);

		tn_table_row(&t, cli_str(x, "name"), cli_str(x, "ifindex"), cli_str(x, "mode"),
			     cli_str(x, "programId"), cli_get(x, "xdpTxErrors") ? cli_str(x, "xdpTxErrors") : "-");
	}
	tn_table_print(&t);
	for (size_t i = 0; farms && i < json_object_array_length(farms); i++)
		print_farm_status(json_object_array_get_idx(farms, i));
	if (cli_get(o, "node"))
		cli_print_node(cli_get(o, "node"));
}

/* One table of counters: "type <group>", two fields, then packets, bytes and rates. */
static void print_counters(json_object *arr, const char *const head[3], const char *group,
			   const char *k2, const char *k3)
{
	struct tn_table t;

	tn_table_init(&t, 7);
	tn_table_row(&t, head[0], head[1], head[2], "PACKETS", "BYTES", "PKT/S", "BIT/S");
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		char label[80];

		snprintf(label, sizeof(label), "%s %s", cli_str(v, "type"), cli_str(v, group));
		tn_table_row(&t, label, cli_str(v, k2), cli_str(v, k3),
			     cli_fmt_num(cli_num(v, "packets")), cli_fmt_num(cli_num(v, "bytes")),
			     cli_fmt_num(cli_num(v, "pps")), cli_fmt_num(cli_num(v, "bps")));
	}
	tn_table_print(&t);
}

static void print_stats(json_object *o)
{
	json_object *r = cli_get(o, "reasons");
	struct tn_table t;

	printf("sampled %s (interval %.3f s)\n\n", S(o, "time"), cli_num(o, "interval"));
	tn_table_init(&t, 5);
	tn_table_row(&t, "REASON", "PACKETS", "BYTES", "PKT/S", "BIT/S");
	json_object_object_foreach(r, k, v) {
		if (!cli_num(v, "packets"))
			continue;
		tn_table_row(&t, k, cli_fmt_num(cli_num(v, "packets")), cli_fmt_num(cli_num(v, "bytes")),
			     cli_fmt_num(cli_num(v, "pps")), cli_fmt_num(cli_num(v, "bps")));
	}
	tn_table_print(&t);
	printf("\n");
	print_counters(cli_get(o, "vips"), (const char *[]){ "FRONTEND", "VIP", "PORT" }, "frontendId", "vip", "port");
	printf("\n");
	print_counters(cli_get(o, "servers"), (const char *[]){ "FARM", "SERVER", "ADDRESS" }, "farmId", "serverId",
		       "address");
}

static void print_config(json_object *o)
{
	cli_print_json(o);
}

/* ---- commands ---------------------------------------------------------------------- */

/* Options of a command that edits nothing: 0 to go on, else the exit status + 1. */
static int plain_options(struct cli *c, int argc, char **argv, const char *usage, struct cli_options *o)
{
	json_object *body = json_object_new_object();
	int rc = cli_parse_options(c, argc, argv, body, body, o);

	if (!rc && !o->help && cli_stray_options(usage, body, o))
		rc = 1;
	json_object_put(body);
	if (o->help || (!rc && optind < argc)) {
		printf("usage: tenace %s\n", usage);
		rc = !o->help;
	} else if (!rc) {
		return cli_setup_client(c) ? 2 : 0;
	}
	return rc + 1;
}

/* Wait for a refresh task to end (--wait); returns its last state, or NULL. */
static json_object *wait_task(struct cli *c, json_object *o)
{
	char path[64];
	int tries = 0;

	snprintf(path, sizeof(path), "/v1/task/%s", cli_str(o, "id"));
	while (!stop && (!strcmp(cli_str(o, "status"), "todo") || !strcmp(cli_str(o, "status"), "doing"))) {
		json_object *n;

		usleep(tries++ < 20 ? 50000 : 200000);
		n = cli_call(c, "GET", path, NULL);
		json_object_put(o);
		if (!n)
			return NULL;
		o = n;
	}
	return o;
}

int cli_refresh(struct cli *c, int argc, char **argv)
{
	struct cli_options opt = { .takes_zone = true, .takes_wait = true };
	json_object *body, *o;
	int rc = plain_options(c, argc, argv, "refresh [--zone Z] [--wait]", &opt);

	if (rc) {
		cli_options_free(&opt);
		return rc - 1;
	}
	body = json_object_new_object();
	if (opt.zone)
		json_object_object_add(body, "zone", json_object_new_string(opt.zone));
	o = cli_call(c, "POST", "/v1/refresh", body);
	json_object_put(body);
	if (o && opt.wait)
		o = wait_task(c, o);
	cli_options_free(&opt);
	if (!o)
		return cli_failed(c);
	rc = !strcmp(cli_str(o, "status"), "error");
	if (rc && !c->opts->json)
		fprintf(stderr, "tenace: refresh failed: %s\n", S(o, "message"));
	cli_done(c, o, print_task);
	return rc;
}

/* tenace task ID [--wait]: the task a refresh printed, until it ends with --wait;
 * exits 1 when it ended in error. */
int cli_task(struct cli *c, int argc, char **argv)
{
	struct cli_options opt = { .takes_wait = true };
	const char *id_arg = NULL;
	char *rest[8], path[64];
	json_object *o;
	uint32_t id;
	int n = 0, rc;

	/* the ID is the one argument that is not an option */
	for (int i = 0; i < argc && n < 8; i++)
		if (i > 0 && !id_arg && argv[i][0] != '-')
			id_arg = argv[i];
		else
			rest[n++] = argv[i];
	rc = plain_options(c, n, rest, "task ID [--wait]", &opt);
	if (rc) {
		cli_options_free(&opt);
		return rc - 1;
	}
	if (!id_arg || tn_parse_id(id_arg, &id)) {
		fprintf(stderr, "usage: tenace task ID [--wait] (ID: the number `tenace refresh` printed)\n");
		cli_options_free(&opt);
		return CLI_EXIT_ERROR;
	}
	snprintf(path, sizeof(path), "/v1/task/%u", id);
	o = cli_call(c, "GET", path, NULL);
	if (o && opt.wait)
		o = wait_task(c, o);
	cli_options_free(&opt);
	if (!o)
		return cli_failed(c);
	rc = !strcmp(cli_str(o, "status"), "error");
	cli_done(c, o, print_task);
	return rc;
}

/* GET path, printed once, or every second until ^C (--watch). */
static int simple_get(struct cli *c, int argc, char **argv, const char *path, void (*human)(json_object *),
		      const char *usage, bool watchable)
{
	struct cli_options opt = { .takes_watch = watchable };
	int rc = plain_options(c, argc, argv, usage, &opt);

	cli_options_free(&opt);
	if (rc)
		return rc - 1;
	if (!opt.watch)
		return cli_done(c, cli_call(c, "GET", path, NULL), human);
	signal(SIGINT, on_sigint);
	while (!stop) {
		json_object *o = cli_call(c, "GET", path, NULL);

		if (!o)
			return cli_failed(c);
		printf("\033[H\033[2J");
		cli_done(c, o, human);
		fflush(stdout);
		for (int i = 0; i < 10 && !stop; i++)
			usleep(100000);
	}
	return 0;
}

int cli_pending(struct cli *c, int argc, char **argv)
{
	return simple_get(c, argc, argv, "/v1/pendingChanges", print_pending, "pending", false);
}

int cli_status(struct cli *c, int argc, char **argv)
{
	return simple_get(c, argc, argv, "/v1/status", print_status, "status", false);
}

int cli_stats(struct cli *c, int argc, char **argv)
{
	return simple_get(c, argc, argv, "/v1/stats", print_stats, "stats [--watch]", true);
}

int cli_config(struct cli *c, int argc, char **argv)
{
	return simple_get(c, argc, argv, "/v1/config", print_config, "config", false);
}
