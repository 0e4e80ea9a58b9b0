/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tenace node [show|drain|resume], tenace table FARM: this node in a fleet. */
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include "cli/internal.h"
#include "cli/table.h"
#include "lib/num.h"
#include "lib/time.h"

static const char node_usage[] =
	"node [show|drain|resume]\n"
	"  show    drain state, BIRD, BGP sessions and what this node announces\n"
	"  drain   withdraw every route of this node (BGP); the data plane keeps serving what\n"
	"          still arrives while the routers converge; survives a controller restart\n"
	"  resume  announce again (as the health of the farms says)\n";
static const char table_usage[] =
	"table FARM [--type tcp|udp] [-j]\n"
	"  the farm's table as the data plane holds it (generation, size, servers and their\n"
	"  share of the entries) and its digest: the same configuration and hashSeed give the\n"
	"  same digest on every node of a fleet. -j prints every entry.\n";

/* Options after the command (-j, --type, -h; no object options); the
 * positional arguments are left at argv[optind..]. 0 go on, 1 error, 2 help shown. */
static int own_options(struct cli *c, int argc, char **argv, const char *cmd, const char *usage)
{
	struct cli_options o = {0};
	json_object *body = json_object_new_object();
	int rc = cli_parse_options(c, argc, argv, body, body, &o);

	if (!rc && !o.help && cli_stray_options(cmd, body, &o))
		rc = 1;
	json_object_put(body);
	cli_options_free(&o);
	if (o.help) {
		printf("usage: tenace %s", usage);
		return 2;
	}
	return rc;
}

static const char *duration(double s)
{
	static char b[32];

	if (s < 0)
		return "-";
	if (s < 60)
		snprintf(b, sizeof(b), "%.0fs", s);
	else if (s < 3600)
		snprintf(b, sizeof(b), "%dm%02ds", (int)s / 60, (int)s % 60);
	else if (s < 86400)
		snprintf(b, sizeof(b), "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
	else
		snprintf(b, sizeof(b), "%dd%02dh", (int)s / 86400, ((int)s % 86400) / 3600);
	return b;
}

#define S(o, k) tn_term_safe(cli_str((o), (k)))

void cli_print_node(json_object *n)
{
	json_object *bgp = cli_get(n, "bgp"), *bird = cli_get(bgp, "bird"), *sess = cli_get(bgp, "sessions");
	bool own = !strcmp(cli_str(bird, "mode"), "own");
	struct tn_table t;
	char since[32] = "";

	if (cli_get(n, "drainedSince"))
		tn_format_time(cli_num(n, "drainedSince"), since, sizeof(since));
	printf("\nnode: %s%s%s\n", json_object_get_boolean(cli_get(n, "drained")) ? "drained" : "in service",
	       since[0] ? " since " : "", since);
	if (!bgp) {
		printf("bgp: not configured (no \"bgp\" object)\n");
		return;
	}
	printf("bgp: %s BIRD%s%s%s%s (%s), announce %s; announcing: %s\n", own ? "own" : "operator's",
	       cli_get(bird, "pid") ? " pid " : "", cli_get(bird, "pid") ? S(bird, "pid") : "", own ? "" : " at ",
	       own ? "" : S(bird, "socket"), json_object_get_boolean(cli_get(bird, "running")) ? "running" : "NOT RUNNING",
	       S(bgp, "announce"),
	       json_object_array_length(cli_get(bgp, "announced")) ? S(bgp, "announced") : "nothing");
	if (cli_get(bird, "lastError"))
		printf("bgp: last error: %s\n", S(bird, "lastError"));
	tn_table_init(&t, 7);
	tn_table_colour_states(&t, 3);
	tn_table_row(&t, "NEIGHBOR", "AS", "PROTOCOL", "STATE", "UPTIME", "PREFIXES", "LAST ERROR");
	for (size_t i = 0; sess && i < json_object_array_length(sess); i++) {
		json_object *x = json_object_array_get_idx(sess, i);

		tn_table_row(&t, cli_str(x, "neighbor"), cli_str(x, "remoteAs"), cli_str(x, "protocol"),
			     cli_str(x, "state"), cli_get(x, "uptime") ? duration(cli_num(x, "uptime")) : "-",
			     cli_str(x, "prefixesAnnounced"), cli_str(x, "lastError"));
	}
	tn_table_print(&t);
}

int cli_node(struct cli *c, int argc, char **argv)
{
	const char *sub;
	int rc = own_options(c, argc, argv, "node", node_usage);
	json_object *o;

	if (rc)
		return rc == 2 ? 0 : rc;
	sub = optind < argc ? argv[optind] : "show";
	if (optind + 1 < argc || (strcmp(sub, "show") && strcmp(sub, "drain") && strcmp(sub, "resume"))) {
		fprintf(stderr, "usage: tenace %s", node_usage);
		return 1;
	}
	if (cli_setup_client(c))
		return 1;
	if (!strcmp(sub, "show"))
		return cli_done(c, cli_call(c, "GET", "/v1/node", NULL), cli_print_node);
	o = cli_call(c, "POST", !strcmp(sub, "drain") ? "/v1/node/drain" : "/v1/node/resume", NULL);
	if (o && !c->opts->json)
		printf(!strcmp(sub, "drain") ? "node drained: its routes are withdrawn now; the data plane keeps "
					       "serving what still arrives\n"
					     : "node resumed: its VIP addresses are announced again as their farms' "
					       "health says\n");
	return cli_done(c, o, cli_print_node);
}

static void print_table(json_object *o)
{
	json_object *srv = cli_get(o, "servers");
	double size = cli_num(o, "tableSize");
	struct tn_table t;

	printf("%s farm %s: %s entries, generation %s\ndigest %s\n\n", S(o, "type"), S(o, "farmId"),
	       S(o, "tableSize"), S(o, "generation"), S(o, "digest"));
	tn_table_init(&t, 8);
	tn_table_colour_states(&t, 4);
	tn_table_row(&t, "SERVER", "ADDRESS", "PORT", "WEIGHT", "STATE", "BACKUP", "ENTRIES", "SHARE");
	for (size_t i = 0; srv && i < json_object_array_length(srv); i++) {
		json_object *s = json_object_array_get_idx(srv, i);
		char share[16];

		snprintf(share, sizeof(share), "%.1f%%", size > 0 ? 100.0 * cli_num(s, "entries") / size : 0);
		tn_table_row(&t, cli_str(s, "serverId"), cli_str(s, "address"), cli_str(s, "port"),
			     cli_str(s, "weight"), cli_str(s, "state"), cli_str(s, "backup"), cli_str(s, "entries"),
			     share);
	}
	tn_table_print(&t);
}

int cli_table(struct cli *c, int argc, char **argv)
{
	char path[128];
	uint32_t id;
	int rc = own_options(c, argc, argv, "table", table_usage);

	if (rc)
		return rc == 2 ? 0 : rc;
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: tenace %s", table_usage);
		return 1;
	}
	if (tn_parse_id(argv[optind], &id)) {
		fprintf(stderr, "tenace: FARM must be a farm id (1..4294967295), got \"%s\"\n",
			tn_term_safe(argv[optind]));
		return 1;
	}
	if (cli_setup_client(c))
		return 1;
	snprintf(path, sizeof(path), "/v1/%s/farm/%u/table", c->opts->type, id);
	return cli_done(c, cli_call(c, "GET", path, NULL), print_table);
}
