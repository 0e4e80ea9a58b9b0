/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tenace farm|server|frontend list|show|add|set|del: the three kinds of
 * object the CLI edits, one table row each, driven by one function.
 * Changes are staged until `tenace refresh`.
 */
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "cli/internal.h"
#include "lib/buf.h"

/* ---- output ----------------------------------------------------------------------- */

static const char *probe_text(json_object *f)
{
	json_object *p = cli_get(f, "probe");

	return p && cli_get(p, "type") ? cli_str(p, "type") : "none";
}

/* a probe object as one line: "http port 8080 every 5 s, timeout 2 s, rise 2, fall 3, GET /health, status 200" */
char *cli_probe_line(json_object *p)
{
	static const char *const rest[] = { "method", "url", NULL };
	struct tn_buf b = {0};
	json_object *v;

	if (!p || !cli_get(p, "type"))
		return strdup("none");
	tn_buf_printf(&b, "%s", cli_str(p, "type"));
	if ((v = cli_get(p, "port")) && json_object_get_int(v))
		tn_buf_printf(&b, " port %s", cli_str(p, "port"));
	if (cli_get(p, "interval"))
		tn_buf_printf(&b, " every %s s", cli_str(p, "interval"));
	if (cli_get(p, "timeout"))
		tn_buf_printf(&b, ", timeout %s s", cli_str(p, "timeout"));
	if (cli_get(p, "rise"))
		tn_buf_printf(&b, ", rise %s", cli_str(p, "rise"));
	if (cli_get(p, "fall"))
		tn_buf_printf(&b, ", fall %s", cli_str(p, "fall"));
	for (int i = 0; rest[i]; i++)
		if (cli_get(p, rest[i]))
			tn_buf_printf(&b, "%s %s", i ? "" : ",", cli_str(p, rest[i]));
	if ((v = cli_get(p, "match")) && strcmp(json_object_get_string(v), "default")) {
		tn_buf_printf(&b, ", %s%s", json_object_get_boolean(cli_get(p, "negate")) ? "not " : "",
			      cli_str(p, "match"));
		if (cli_get(p, "pattern"))
			tn_buf_printf(&b, " \"%s\"", cli_str(p, "pattern"));
	}
	if (json_object_get_boolean(cli_get(p, "forceSsl")))
		tn_buf_printf(&b, ", TLS");
	return tn_buf_take(&b);
}

static void print_farms(json_object *arr)
{
	struct tn_table t;

	tn_table_init(&t, 10);
	tn_table_row(&t, "ID", "TYPE", "NAME", "PORT", "BALANCE", "STICKINESS", "FORWARDING", "ZONE", "PROBE",
		     "SERVERS");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *f = json_object_array_get_idx(arr, i);
		char n[16];

		snprintf(n, sizeof(n), "%zu", json_object_array_length(cli_get(f, "servers")));
		tn_table_row(&t, cli_str(f, "farmId"), cli_str(f, "type"), cli_str(f, "displayName"),
			     cli_str(f, "port"), cli_str(f, "balance"),
			     cli_get(f, "stickiness") ? cli_str(f, "stickiness") : "none",
			     cli_get(f, "forwarding") ? cli_str(f, "forwarding") : "dsr",
			     cli_str(f, "zone"), probe_text(f), n);
	}
	tn_table_print(&t);
}

static void print_servers(json_object *arr)
{
	struct tn_table t;

	tn_table_init(&t, 9);
	tn_table_row(&t, "ID", "ADDRESS", "PORT", "WEIGHT", "STATUS", "BACKUP", "PROBE", "MAC", "NAME");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *s = json_object_array_get_idx(arr, i);

		tn_table_row(&t, cli_str(s, "serverId"), cli_str(s, "address"), cli_str(s, "port"),
			     cli_str(s, "weight"), cli_str(s, "status"), cli_str(s, "backup"), cli_str(s, "probe"),
			     cli_str(s, "mac"), cli_str(s, "displayName"));
	}
	tn_table_print(&t);
}

static void print_frontends(json_object *arr)
{
	struct tn_table t;

	tn_table_init(&t, 10);
	tn_table_row(&t, "ID", "TYPE", "NAME", "VIP", "PORT", "FARM", "ZONE", "ALLOW", "DENY", "DISABLED");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *f = json_object_array_get_idx(arr, i);

		tn_table_row(&t, cli_str(f, "frontendId"), cli_str(f, "type"), cli_str(f, "displayName"),
			     cli_str(f, "vip"), cli_get(f, "port") ? cli_str(f, "port") : "*",
			     cli_str(f, "defaultFarmId"), cli_str(f, "zone"), cli_str(f, "allowedSource"),
			     cli_str(f, "deniedSource"), cli_str(f, "disabled"));
	}
	tn_table_print(&t);
}

static void print_object(json_object *o)
{
	struct tn_table t;

	tn_table_init(&t, 2);
	json_object_object_foreach(o, k, v) {
		if (!strcmp(k, "servers"))
			continue;
		if (!strcmp(k, "probe")) {
			char *line = cli_probe_line(v);

			tn_table_row(&t, k, line);
			free(line);
		} else if (v && json_object_is_type(v, json_type_object))
			tn_table_row(&t, k, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		else
			tn_table_row(&t, k, cli_str(o, k));
	}
	tn_table_print(&t);
	if (cli_get(o, "servers")) {
		printf("\nservers:\n");
		print_servers(cli_get(o, "servers"));
	}
}

/* ---- the objects ------------------------------------------------------------------- */

static const char farm_usage[] =
	"farm list | show ID | add [OPTIONS] | set ID [OPTIONS] | del ID\n"
	"  OPTIONS: --type tcp|udp --id N --name NAME --port P --balance source|roundrobin|first\n"
	"           --stickiness sourceIp|none --zone Z --probe-type tcp|http|smtp|mysql|pgsql|none\n"
	"           --probe-port P --probe-interval S --probe-timeout S --probe-rise N --probe-fall N\n"
	"           --probe-method GET|HEAD|OPTIONS --probe-url PATH --probe-match default|status|contains|matches\n"
	"           --probe-pattern TEXT --probe-negate --probe-force-ssl\n"
	"           --forwarding dsr|ipip|gue --gue-version 0|1 --gue-port P --encap-source A[,B]";

static const char server_usage[] =
	"server list FARM | show FARM ID | add FARM --address A [OPTIONS] | set FARM ID [OPTIONS] | del FARM ID\n"
	"  OPTIONS: --type tcp|udp --id N --address A --port P --weight 0..256 --backup|--no-backup\n"
	"           --status active|inactive --mac MAC|none --name NAME --probe|--no-probe";

static const char frontend_usage[] =
	"frontend list | show ID | add --vip A --farm ID [OPTIONS] | set ID [OPTIONS] | del ID\n"
	"  OPTIONS: --type tcp|udp --id N --vip A[,B] --port \"80\"|\"80,443\"|\"8000-8100\" --farm ID\n"
	"           --allow CIDR[,CIDR] --deny CIDR[,CIDR] --zone Z --name NAME --disabled|--enabled";

struct resource {
	const char *name;        /* "farm": its path segment and its word */
	const char *usage;
	const char *id_key;      /* "farmId" */
	bool in_farm;            /* servers: the farm's id comes first */
	bool takes_probe;        /* farms: the --probe-* options */
	bool frontend_opts;      /* frontends: --port and --vip mean theirs */
	void (*print_list)(json_object *);
};

static const struct resource farm_resource = {
	"farm", farm_usage, "farmId", false, true, false, print_farms,
};
static const struct resource server_resource = {
	"server", server_usage, "serverId", true, false, false, print_servers,
};
static const struct resource frontend_resource = {
	"frontend", frontend_usage, "frontendId", false, false, true, print_frontends,
};

/* One command on one kind of object: what was parsed, where it goes. */
struct request {
	const struct resource *res;
	json_object *body, *probe;
	struct cli_options o;
	char **sub;              /* verb [FARM] [ID] */
	int nsub;
	const char *id;
	char path[256];
	char what[160];          /* "tcp farm 3", "server 2 of tcp farm 1" */
};

static bool id_ok(const char *s)
{
	if (!*s || strlen(s) > 10)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

static int bad_id(const char *what, const char *s)
{
	fprintf(stderr, "tenace: %s must be a number, got \"%s\"\n", what, tn_term_safe(s));
	return 1;
}

/* The object's path and how messages name it. 0, or 1 (printed). */
static int request_path(struct cli *c, struct request *q)
{
	const struct resource *res = q->res;
	int nfixed = res->in_farm ? 2 : 1; /* verb [FARM] */
	const char *verb = q->sub[0], *type = c->opts->type;
	char what[96];

	if (res->in_farm && !id_ok(q->sub[1]))
		return bad_id("farm id", q->sub[1]);
	if (res->in_farm)
		snprintf(q->path, sizeof(q->path), "/v1/%s/farm/%s/server", type, q->sub[1]);
	else
		snprintf(q->path, sizeof(q->path), "/v1/%s/%s", type, res->name);
	if (strcmp(verb, "list") && strcmp(verb, "add")) {
		if (q->nsub < nfixed + 1) {
			fprintf(stderr, "usage: tenace %s %s %sID\n", res->name, tn_term_safe(verb),
				res->in_farm ? "FARM " : "");
			return 1;
		}
		q->id = q->sub[nfixed];
		snprintf(what, sizeof(what), "%s id", res->name);
		if (!id_ok(q->id))
			return bad_id(what, q->id);
		snprintf(q->path + strlen(q->path), sizeof(q->path) - strlen(q->path), "/%s", q->id);
	}
	if (res->in_farm)
		snprintf(q->what, sizeof(q->what), q->id ? "server %s of %s farm %s" : "%s%s farm %s: server",
			 q->id ? q->id : "", type, q->sub[1]);
	else
		snprintf(q->what, sizeof(q->what), "%s %s%s%s", type, res->name, q->id ? " " : "", q->id ? q->id : "");
	return 0;
}

/* A staged change: send it, then say what changed (or print the API's JSON).
 * A creation learns its id from the answer (id_key). */
static int staged_change(struct cli *c, const char *method, const struct request *q, json_object *body,
			 const char *verb, const char *id_key)
{
	json_object *o = cli_call(c, method, q->path, body);

	if (!o)
		return cli_failed(c);
	if (c->opts->json)
		return cli_done(c, o, print_object);
	printf("%s %s%s%s (pending until `tenace refresh`)\n", verb, q->what,
	       id_key ? " " : "", id_key ? tn_term_safe(cli_str(o, id_key)) : "");
	json_object_put(o);
	return 0;
}

/* farm set with probe options: merge into the farm's current probe object */
static int merge_probe(struct cli *c, struct request *q)
{
	json_object *cur, *p, *new_type, *old_type;
	bool same_type;

	if (!json_object_object_length(q->probe))
		return 0;
	cur = cli_call(c, "GET", q->path, NULL);
	if (!cur)
		return 1;
	p = cli_get(cur, "probe");
	/* a new probe type starts afresh: the old type's fields may not apply */
	new_type = cli_get(q->probe, "type");
	old_type = p ? cli_get(p, "type") : NULL;
	same_type = !new_type || (old_type && !strcmp(json_object_get_string(new_type),
						      json_object_get_string(old_type)));
	if (p && json_object_is_type(p, json_type_object) && same_type) {
		json_object *m = NULL;

		json_object_deep_copy(p, &m, NULL);
		json_object_object_foreach(q->probe, k, v)
			json_object_object_add(m, k, v ? json_object_get(v) : NULL);
		json_object_object_add(q->body, "probe", m);
	} else {
		json_object_object_add(q->body, "probe", json_object_get(q->probe));
	}
	json_object_put(cur);
	return 0;
}

static int run_verb(struct cli *c, struct request *q)
{
	const struct resource *res = q->res;
	const char *verb = q->sub[0];

	if (!strcmp(verb, "list"))
		return cli_done(c, cli_call(c, "GET", q->path, NULL), res->print_list);
	if (!strcmp(verb, "show"))
		return cli_done(c, cli_call(c, "GET", q->path, NULL), print_object);
	if (!strcmp(verb, "add")) {
		if (q->o.id)
			json_object_object_add(q->body, res->id_key, json_object_get(q->o.id));
		if (res->takes_probe && json_object_object_length(q->probe))
			json_object_object_add(q->body, "probe", json_object_get(q->probe));
		return staged_change(c, "POST", q, q->body, "created", res->id_key);
	}
	if (!strcmp(verb, "set")) {
		if (res->takes_probe && merge_probe(c, q))
			return 1;
		return staged_change(c, "PUT", q, q->body, "changed", NULL);
	}
	if (!strcmp(verb, "del") || !strcmp(verb, "delete"))
		return staged_change(c, "DELETE", q, NULL, "deleted", NULL);
	fprintf(stderr, "tenace: unknown %s command \"%s\"\nusage: tenace %s\n", res->name,
		tn_term_safe(verb), res->usage);
	return 1;
}

static int cmd_resource(struct cli *c, const struct resource *res, int argc, char **argv)
{
	struct request q = { .res = res, .o.frontend = res->frontend_opts };
	int rc;

	q.body = json_object_new_object();
	q.probe = json_object_new_object();
	rc = cli_parse_options(c, argc, argv, q.body, q.probe, &q.o);
	q.sub = argv + optind;
	q.nsub = argc - optind;
	if (q.o.help || (!rc && q.nsub < (res->in_farm ? 2 : 1))) {
		printf("usage: tenace %s\n", res->usage);
		rc = !q.o.help;
	} else if (!rc && !(rc = cli_setup_client(c))) {
		if (!res->takes_probe && json_object_object_length(q.probe)) {
			fprintf(stderr, "tenace: probe options apply to farms\n");
			rc = 1;
		} else if (!(rc = request_path(c, &q))) {
			rc = run_verb(c, &q);
		}
	}
	cli_options_free(&q.o);
	json_object_put(q.body);
	json_object_put(q.probe);
	return rc;
}

int cli_farm(struct cli *c, int argc, char **argv)
{
	return cmd_resource(c, &farm_resource, argc, argv);
}

int cli_server(struct cli *c, int argc, char **argv)
{
	return cmd_resource(c, &server_resource, argc, argv);
}

int cli_frontend(struct cli *c, int argc, char **argv)
{
	return cmd_resource(c, &frontend_resource, argc, argv);
}
