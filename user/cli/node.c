/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tenace node [show|drain|resume], tenace table FARM: this node in a fleet. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/internal.h"
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

/* -j, --type, -h after the command; the positional arguments are left at argv[optind..]. */
static int own_options(int argc, char **argv, const char *usage)
{
	static const struct option o[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jh", o, NULL)) != -1) {
		switch (c) {
		case 'j': opts->json = true; break;
		case 't': opts->type = optarg; break;
		case 'h': printf("usage: tenace %s", usage); return 2;
		default:
			fprintf(stderr, "tenace: unknown option %s\nusage: tenace %s", argv[optind - 1], usage);
			return 1;
		}
	}
	return 0;
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

void print_node(json_object *n)
{
	json_object *bgp = jget(n, "bgp"), *bird = jget(bgp, "bird"), *sess = jget(bgp, "sessions");
	struct table t;
	char since[32] = "";

	if (jget(n, "drainedSince"))
		tn_format_time(jnum(n, "drainedSince"), since, sizeof(since));
	printf("\nnode: %s%s%s\n", jget(n, "drained") && json_object_get_boolean(jget(n, "drained")) ? "drained" : "in service",
	       since[0] ? " since " : "", since);
	if (!bgp) {
		printf("bgp: not configured (no \"bgp\" object)\n");
		return;
	}
	printf("bgp: %s BIRD%s%s%s (%s), announce %s; announcing: %s\n",
	       !strcmp(jstr(bird, "mode"), "own") ? "own" : "operator's",
	       jget(bird, "pid") ? " pid " : "", jget(bird, "pid") ? jstr(bird, "pid") : "",
	       !strcmp(jstr(bird, "mode"), "own") ? "" : jstr(bird, "socket"),
	       json_object_get_boolean(jget(bird, "running")) ? "running" : "NOT RUNNING",
	       jstr(bgp, "announce"), json_object_array_length(jget(bgp, "announced")) ? jstr(bgp, "announced") : "nothing");
	if (jget(bird, "lastError"))
		printf("bgp: last error: %s\n", jstr(bird, "lastError"));
	table_init(&t, 7);
	table_row(&t, "NEIGHBOR", "AS", "PROTOCOL", "STATE", "UPTIME", "PREFIXES", "LAST ERROR");
	for (size_t i = 0; sess && i < json_object_array_length(sess); i++) {
		json_object *s = json_object_array_get_idx(sess, i);

		table_row(&t, jstr(s, "neighbor"), jstr(s, "remoteAs"), jstr(s, "protocol"), jstr(s, "state"),
			  jget(s, "uptime") ? duration(jnum(s, "uptime")) : "-", jstr(s, "prefixesAnnounced"),
			  jstr(s, "lastError"));
	}
	table_print(&t);
}

static void print_node_only(json_object *n)
{
	print_node(n);
}

int cli_node(int argc, char **argv)
{
	const char *sub;
	int rc = own_options(argc, argv, node_usage);
	json_object *o;

	if (rc)
		return rc == 2 ? 0 : rc;
	sub = optind < argc ? argv[optind] : "show";
	if (optind + 1 < argc || (strcmp(sub, "show") && strcmp(sub, "drain") && strcmp(sub, "resume"))) {
		fprintf(stderr, "usage: tenace %s", node_usage);
		return 1;
	}
	if ((rc = setup_client()))
		return rc;
	if (!strcmp(sub, "show"))
		return done(call("GET", "/v1/node", NULL, NULL), print_node_only);
	o = call("POST", !strcmp(sub, "drain") ? "/v1/node/drain" : "/v1/node/resume", NULL, NULL);
	if (o && !opts->json)
		printf(!strcmp(sub, "drain") ? "node drained: its routes are withdrawn now; the data plane keeps "
					       "serving what still arrives\n"
					     : "node resumed: its VIP addresses are announced again as their farms' "
					       "health says\n");
	return done(o, print_node_only);
}

static void print_table(json_object *o)
{
	json_object *srv = jget(o, "servers");
	double size = jnum(o, "tableSize");
	struct table t;

	printf("%s farm %s: %s entries, generation %s\ndigest %s\n\n", jstr(o, "type"), jstr(o, "farmId"),
	       jstr(o, "tableSize"), jstr(o, "generation"), jstr(o, "digest"));
	table_init(&t, 8);
	table_row(&t, "SERVER", "ADDRESS", "PORT", "WEIGHT", "STATE", "BACKUP", "ENTRIES", "SHARE");
	for (size_t i = 0; srv && i < json_object_array_length(srv); i++) {
		json_object *s = json_object_array_get_idx(srv, i);
		char share[16];

		snprintf(share, sizeof(share), "%.1f%%", size > 0 ? 100.0 * jnum(s, "entries") / size : 0);
		table_row(&t, jstr(s, "serverId"), jstr(s, "address"), jstr(s, "port"), jstr(s, "weight"),
			  jstr(s, "state"), jstr(s, "backup"), jstr(s, "entries"), share);
	}
	table_print(&t);
}

int cli_table(int argc, char **argv)
{
	char path[128];
	uint32_t id;
	int rc = own_options(argc, argv, table_usage);

	if (rc)
		return rc == 2 ? 0 : rc;
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: tenace %s", table_usage);
		return 1;
	}
	if (tn_parse_id(argv[optind], &id)) {
		fprintf(stderr, "tenace: FARM must be a farm id (1..4294967295), got \"%s\"\n", argv[optind]);
		return 1;
	}
	if ((rc = setup_client()))
		return rc;
	snprintf(path, sizeof(path), "/v1/%s/farm/%u/table", opts->type, id);
	return done(call("GET", path, NULL, NULL), print_table);
}
