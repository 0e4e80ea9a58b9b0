/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tenace pending, refresh, status, stats and config. */
#include <signal.h>
#include <stdlib.h>
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

/* One farm of a refresh preview: what moves, then each server's shares. */
static void print_preview_farm(json_object *f)
{
	json_object *srv = cli_get(f, "servers");
	struct tn_table t;

	printf("\n%s farm %s (zone %s): %s", S(f, "type"), S(f, "farmId"), S(f, "zone"), S(f, "change"));
	if (cli_get(f, "error")) {
		printf(", cannot preview: %s\n", S(f, "error"));
		return;
	}
	printf("\n  table entries changing owner: %s of %s (%.2f %%)\n", S(f, "entriesChanged"), S(f, "tableSize"),
	       cli_num(f, "entriesChangedPercent"));
	printf("  tracked clients moving:       %s of %s (%.2f %%); %s expired, %s already rescheduled\n",
	       S(f, "movedClients"), S(f, "trackedClients"), cli_num(f, "movedPercent"), S(f, "expiredClients"),
	       S(f, "staleClients"));
	tn_table_init(&t, 10);
	tn_table_row(&t, "SERVER", "ADDRESS", "PORT", "CHANGE", "WEIGHT", "STATE", "ENTRIES", "NEW CLIENTS",
		     "WEIGHT SHARE", "TRACKED (MOVING)");
	for (size_t j = 0; srv && j < json_object_array_length(srv); j++) {
		json_object *s = json_object_array_get_idx(srv, j);
		char entries[48], share[16], wshare[16], tracked[48];

		snprintf(entries, sizeof(entries), "%s -> %s", cli_str(s, "entriesBefore"), cli_str(s, "entriesAfter"));
		snprintf(share, sizeof(share), "%.2f %%", cli_num(s, "newClientPercent"));
		snprintf(wshare, sizeof(wshare), "%.2f %%", cli_num(s, "weightPercent"));
		snprintf(tracked, sizeof(tracked), "%s (%s)", cli_str(s, "trackedClients"), cli_str(s, "movedClients"));
		tn_table_row(&t, cli_str(s, "serverId"), cli_str(s, "address"), cli_str(s, "port"), cli_str(s, "change"),
			     cli_str(s, "weight"), cli_str(s, "state"), entries, share, wshare, tracked);
	}
	tn_table_print(&t);
}

static void print_preview(json_object *o)
{
	json_object *farms = cli_get(o, "farms");

	if (!farms || !json_object_array_length(farms)) {
		printf("dry run: no farm would be rewritten\n");
		return;
	}
	printf("dry run: nothing applied; a refresh would rewrite %zu farm%s\n", json_object_array_length(farms),
	       json_object_array_length(farms) == 1 ? "" : "s");
	for (size_t i = 0; i < json_object_array_length(farms); i++)
		print_preview_farm(json_object_array_get_idx(farms, i));
	if (cli_get(o, "refused"))
		printf("\nwould be refused: %s\n", S(o, "refused"));
}

static void print_pending_detail(json_object *o)
{
	print_pending(cli_get(o, "changes"));
	printf("\n");
	print_preview(o);
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
	tn_table_init(&t, 11);
	tn_table_colour_states(&t, 5);
	tn_table_colour_states(&t, 6);
	tn_table_row(&t, "SERVER", "ADDRESS", "PORT", "WEIGHT", "BACKUP", "STATE", "HEALTH", "SINCE", "TRACKED",
		     "MAC", "LAST ERROR");
	for (size_t j = 0; srv && j < json_object_array_length(srv); j++) {
		json_object *s = json_object_array_get_idx(srv, j);

		tn_table_row(&t, cli_str(s, "serverId"), cli_str(s, "address"), cli_str(s, "port"),
			     cli_str(s, "weight"), cli_str(s, "backup"), cli_str(s, "state"), cli_str(s, "health"),
			     cli_str(s, "since"), cli_str(s, "trackedClients"), cli_str(s, "mac"), cli_str(s, "lastError"));
	}
	tn_table_print(&t);
}

static void print_status(json_object *o)
{
	json_object *ifs = cli_get(o, "interfaces"), *farms = cli_get(o, "farms"), *ct = cli_get(o, "conntrack");
	struct tn_table t;

	printf("zone %s, pending changes: %s\n", S(o, "zone"), S(o, "pendingChanges"));
	printf("conntrack: %s entries of %s (counted %s)\n", S(ct, "entries"), S(ct, "capacity"), S(ct, "countedAt"));
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

/* --dry-run and --max-moved N[%] (or =N), taken out of argv: 0, or 1 (printed). */
static int refresh_own_options(int *argc, char **argv, bool *dry, double *max_moved)
{
	int n = 0;

	for (int i = 0; i < *argc; i++) {
		const char *v = NULL;
		char *end;

		if (!strcmp(argv[i], "--dry-run")) {
			*dry = true;
			continue;
		}
		if (!strncmp(argv[i], "--max-moved=", 12))
			v = argv[i] + 12;
		else if (!strcmp(argv[i], "--max-moved") && i + 1 < *argc)
			v = argv[++i];
		else if (!strcmp(argv[i], "--max-moved"))
			v = "";
		if (!v) {
			argv[n++] = argv[i];
			continue;
		}
		*max_moved = strtod(v, &end);
		if (!*v || end == v || (*end && strcmp(end, "%")) || *max_moved < 0 || *max_moved > 100) {
			fprintf(stderr, "tenace: --max-moved %s: expected a percentage from 0 to 100 (e.g. 25%%)\n",
				tn_term_safe(v));
			return 1;
		}
	}
	*argc = n;
	argv[n] = NULL;
	return 0;
}

#define REFRESH_USAGE "refresh [--zone Z] [--wait] [--dry-run] [--max-moved N%]"

int cli_refresh(struct cli *c, int argc, char **argv)
{
	struct cli_options opt = { .takes_zone = true, .takes_wait = true };
	double max_moved = -1;
	bool dry = false;
	json_object *body, *o;
	int rc;

	if (refresh_own_options(&argc, argv, &dry, &max_moved))
		return CLI_EXIT_ERROR;
	rc = plain_options(c, argc, argv, REFRESH_USAGE, &opt);
	if (rc) {
		cli_options_free(&opt);
		return rc - 1;
	}
	body = json_object_new_object();
	if (opt.zone)
		json_object_object_add(body, "zone", json_object_new_string(opt.zone));
	if (dry)
		json_object_object_add(body, "dryRun", json_object_new_boolean(true));
	if (max_moved >= 0)
		json_object_object_add(body, "maxMovedPercent", json_object_new_double(max_moved));
	o = cli_call(c, "POST", "/v1/refresh", body);
	json_object_put(body);
	if (dry) {
		cli_options_free(&opt);
		return o ? cli_done(c, o, print_preview) : cli_failed(c);
	}
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
	int n = 0;
	bool detail = false;

	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--detail"))
			detail = true;
		else
			argv[n++] = argv[i];
	argv[n] = NULL;
	if (detail)
		return simple_get(c, n, argv, "/v1/pendingChanges?detail=true", print_pending_detail,
				  "pending [--detail]", false);
	return simple_get(c, n, argv, "/v1/pendingChanges", print_pending, "pending [--detail]", false);
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
