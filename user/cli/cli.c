/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The client commands' dispatch, usage and what they share: one option
 * table for every command (the object fields go into the JSON body, the
 * rest into struct cli_options), the request helper and JSON field access.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api/api.h"
#include "cli/internal.h"

/* ---- JSON access ------------------------------------------------------------------ */

json_object *cli_get(json_object *o, const char *k)
{
	json_object *v = NULL;

	if (o && json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, k, &v);
	return v;
}

const char *cli_str(json_object *o, const char *k)
{
	static char ring[16][512];
	static int next;
	json_object *v = cli_get(o, k);
	char *b = ring[next++ % 16];

	if (!v)
		return "-";
	if (json_object_is_type(v, json_type_string)) {
		snprintf(b, 512, "%s", json_object_get_string(v));
	} else if (json_object_is_type(v, json_type_array)) {
		b[0] = 0;
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			size_t l = strlen(b);

			snprintf(b + l, 512 - l, "%s%s", i ? "," : "",
				 json_object_get_string(json_object_array_get_idx(v, i)));
		}
		if (!b[0])
			return "-";
	} else {
		snprintf(b, 512, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
	return b;
}

double cli_num(json_object *o, const char *k)
{
	json_object *v = cli_get(o, k);

	return v ? json_object_get_double(v) : 0;
}

const char *cli_fmt_num(double v)
{
	static char ring[16][32];
	static int next;
	char *b = ring[next++ % 16];

	if (v >= 1e9)
		snprintf(b, 32, "%.1fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(b, 32, "%.1fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(b, 32, "%.1fk", v / 1e3);
	else
		snprintf(b, 32, "%.0f", v);
	return b;
}

/* ---- requests ------------------------------------------------------------------ */

void cli_print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Under -j, a failed request is JSON on stdout, for scripts:
 * {"error": {"status": 404 (0: unreachable), "message", "field"}} */
static void print_json_error(int status, const char *msg, const char *field)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();

	json_object_object_add(e, "status", json_object_new_int(status));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(e, "field", field && *field ? json_object_new_string(field) : NULL);
	json_object_object_add(o, "error", e);
	cli_print_json(o);
	json_object_put(o);
}

int cli_failed(const struct cli *c)
{
	return c->fail ? c->fail : CLI_EXIT_ERROR;
}

json_object *cli_call(struct cli *c, const char *method, const char *path, json_object *body)
{
	json_object *out = NULL;
	char err[512];
	int st = tn_client_request(&c->client, method, path, body, &out, NULL, err, sizeof(err));
	const char *field, *msg;

	if (st < 0) {
		c->fail = CLI_EXIT_UNREACHABLE;
		if (c->opts->json)
			print_json_error(0, err, NULL);
		else
			fprintf(stderr, "tenace: %s\n", err);
		return NULL;
	}
	if (st >= 300) {
		field = cli_get(out, "field") ? json_object_get_string(cli_get(out, "field")) : NULL;
		msg = cli_get(out, "message") ? json_object_get_string(cli_get(out, "message")) : "request failed";
		c->fail = st == 404 ? CLI_EXIT_NOT_FOUND : st == 409 ? CLI_EXIT_CONFLICT :
			  st == 400 || st == 405 || st == 413 ? CLI_EXIT_INVALID : CLI_EXIT_SERVER;
		if (c->opts->json)
			print_json_error(st, msg, field);
		else /* the message may quote what was sent: escaped like any API text */
			fprintf(stderr, "tenace: error %d: %s%s%s%s\n", st, tn_term_safe(msg),
				field && *field ? " (field: " : "", field && *field ? tn_term_safe(field) : "",
				field && *field ? ")" : "");
		json_object_put(out);
		return NULL;
	}
	if (!out)
		out = json_object_new_object();
	return out;
}

int cli_done(struct cli *c, json_object *o, void (*human)(json_object *))
{
	if (!o)
		return cli_failed(c);
	if (c->opts->json)
		cli_print_json(o);
	else
		human(o);
	json_object_put(o);
	return 0;
}

int cli_setup_client(struct cli *c)
{
	struct tn_cli_opts *g = c->opts;

	c->client.socket_path = g->socket_path ? g->socket_path : TN_SOCKET_DEFAULT;
	c->client.url = g->url;
	c->client.cacert = g->cacert;
	if (g->token_file && !c->client.token) {
		c->client.token = tn_read_token_file(g->token_file);
		if (!c->client.token)
			return 1;
	}
	if (strcmp(g->type, "tcp") && strcmp(g->type, "udp")) {
		fprintf(stderr, "tenace: --type must be tcp or udp, got \"%s\"\n", g->type);
		return 1;
	}
	return 0;
}

/* ---- options --------------------------------------------------------------------- */

enum {
	O_TYPE = 1000, O_SOCKET, O_URL, O_TOKEN, O_CACERT,
	O_PORT, O_BALANCE, O_STICKINESS, O_NAME, O_ZONE, O_ID,
	O_PROBE_TYPE, O_PROBE_PORT, O_PROBE_INTERVAL, O_PROBE_TIMEOUT, O_PROBE_RISE, O_PROBE_FALL,
	O_PROBE_METHOD, O_PROBE_URL, O_PROBE_MATCH, O_PROBE_PATTERN, O_PROBE_NEGATE, O_PROBE_SSL,
	O_ADDRESS, O_WEIGHT, O_BACKUP, O_NO_BACKUP, O_STATUS, O_MAC, O_PROBE, O_NO_PROBE,
	O_VIP, O_FARM, O_ALLOW, O_DENY, O_DISABLED, O_ENABLED, O_WAIT, O_WATCH,
	O_FORWARDING, O_GUE_VERSION, O_GUE_PORT, O_ENCAP_SOURCE,
};

static const struct option long_opts[] = {
	{ "type", required_argument, NULL, O_TYPE },
	{ "socket", required_argument, NULL, O_SOCKET },
	{ "url", required_argument, NULL, O_URL },
	{ "token-file", required_argument, NULL, O_TOKEN },
	{ "cacert", required_argument, NULL, O_CACERT },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "port", required_argument, NULL, O_PORT },
	{ "balance", required_argument, NULL, O_BALANCE },
	{ "stickiness", required_argument, NULL, O_STICKINESS },
	{ "name", required_argument, NULL, O_NAME },
	{ "zone", required_argument, NULL, O_ZONE },
	{ "id", required_argument, NULL, O_ID },
	{ "probe-type", required_argument, NULL, O_PROBE_TYPE },
	{ "probe-port", required_argument, NULL, O_PROBE_PORT },
	{ "probe-interval", required_argument, NULL, O_PROBE_INTERVAL },
	{ "probe-timeout", required_argument, NULL, O_PROBE_TIMEOUT },
	{ "probe-rise", required_argument, NULL, O_PROBE_RISE },
	{ "probe-fall", required_argument, NULL, O_PROBE_FALL },
	{ "probe-method", required_argument, NULL, O_PROBE_METHOD },
	{ "probe-url", required_argument, NULL, O_PROBE_URL },
	{ "probe-match", required_argument, NULL, O_PROBE_MATCH },
	{ "probe-pattern", required_argument, NULL, O_PROBE_PATTERN },
	{ "probe-negate", no_argument, NULL, O_PROBE_NEGATE },
	{ "probe-force-ssl", no_argument, NULL, O_PROBE_SSL },
	{ "address", required_argument, NULL, O_ADDRESS },
	{ "weight", required_argument, NULL, O_WEIGHT },
	{ "backup", no_argument, NULL, O_BACKUP },
	{ "no-backup", no_argument, NULL, O_NO_BACKUP },
	{ "status", required_argument, NULL, O_STATUS },
	{ "mac", required_argument, NULL, O_MAC },
	{ "probe", no_argument, NULL, O_PROBE },
	{ "no-probe", no_argument, NULL, O_NO_PROBE },
	{ "vip", required_argument, NULL, O_VIP },
	{ "farm", required_argument, NULL, O_FARM },
	{ "allow", required_argument, NULL, O_ALLOW },
	{ "deny", required_argument, NULL, O_DENY },
	{ "disabled", no_argument, NULL, O_DISABLED },
	{ "enabled", no_argument, NULL, O_ENABLED },
	{ "wait", no_argument, NULL, O_WAIT },
	{ "watch", no_argument, NULL, O_WATCH },
	{ "forwarding", required_argument, NULL, O_FORWARDING },
	{ "gue-version", required_argument, NULL, O_GUE_VERSION },
	{ "gue-port", required_argument, NULL, O_GUE_PORT },
	{ "encap-source", required_argument, NULL, O_ENCAP_SOURCE },
	{ NULL, 0, NULL, 0 },
};

/* A number for the body: kept as JSON so the API judges the range. */
static json_object *num_arg(const char *opt, const char *s, bool *bad)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (!*s || *end || errno) {
		fprintf(stderr, "tenace: --%s expects a number, got \"%s\"\n", opt, s);
		*bad = true;
		return NULL;
	}
	if (d == (double)(long long)d)
		return json_object_new_int64((long long)d);
	return json_object_new_double(d);
}

static void append_list(json_object *body, const char *key, const char *s)
{
	json_object *arr = cli_get(body, key);
	char *copy = strdup(s), *save = NULL, *tok;

	if (!arr) {
		arr = json_object_new_array();
		json_object_object_add(body, key, arr);
	}
	for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save))
		json_object_array_add(arr, json_object_new_string(tok));
	free(copy);
}

static void add(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

static json_object *str(const char *s)
{
	return json_object_new_string(s);
}

/* --probe-*: fields of the farm's probe object. */
static void probe_option(int c, const char *a, json_object *probe, bool *bad)
{
	switch (c) {
	case O_PROBE_TYPE: add(probe, "type", !strcmp(a, "none") ? NULL : str(a)); break;
	case O_PROBE_PORT: add(probe, "port", num_arg("probe-port", a, bad)); break;
	case O_PROBE_INTERVAL: add(probe, "interval", num_arg("probe-interval", a, bad)); break;
	case O_PROBE_TIMEOUT: add(probe, "timeout", num_arg("probe-timeout", a, bad)); break;
	case O_PROBE_RISE: add(probe, "rise", num_arg("probe-rise", a, bad)); break;
	case O_PROBE_FALL: add(probe, "fall", num_arg("probe-fall", a, bad)); break;
	case O_PROBE_METHOD: add(probe, "method", str(a)); break;
	case O_PROBE_URL: add(probe, "url", str(a)); break;
	case O_PROBE_MATCH: add(probe, "match", str(a)); break;
	case O_PROBE_PATTERN: add(probe, "pattern", str(a)); break;
	case O_PROBE_NEGATE: add(probe, "negate", json_object_new_boolean(1)); break;
	case O_PROBE_SSL: add(probe, "forceSsl", json_object_new_boolean(1)); break;
	}
}

/* Fields of the object itself (farm, server, frontend). */
static void object_option(int c, const char *a, json_object *body, const struct cli_options *o, bool *bad)
{
	switch (c) {
	case O_PORT: add(body, "port", o->frontend ? str(a) : num_arg("port", a, bad)); break;
	case O_BALANCE: add(body, "balance", str(a)); break;
	case O_STICKINESS: add(body, "stickiness", !strcmp(a, "none") || !strcmp(a, "null") ? NULL : str(a)); break;
	case O_NAME: add(body, "displayName", str(a)); break;
	case O_ZONE: add(body, "zone", str(a)); break;
	case O_ADDRESS: add(body, "address", str(a)); break;
	case O_WEIGHT: add(body, "weight", num_arg("weight", a, bad)); break;
	case O_BACKUP: add(body, "backup", json_object_new_boolean(1)); break;
	case O_NO_BACKUP: add(body, "backup", json_object_new_boolean(0)); break;
	case O_STATUS: add(body, "status", str(a)); break;
	case O_MAC: add(body, "mac", !strcmp(a, "none") ? NULL : str(a)); break;
	case O_PROBE: add(body, "probe", json_object_new_boolean(1)); break;
	case O_NO_PROBE: add(body, "probe", json_object_new_boolean(0)); break;
	case O_VIP: append_list(body, "vip", a); break;
	case O_FARM: add(body, "defaultFarmId", num_arg("farm", a, bad)); break;
	case O_ALLOW: append_list(body, "allowedSource", a); break;
	case O_DENY: append_list(body, "deniedSource", a); break;
	case O_DISABLED: add(body, "disabled", json_object_new_boolean(1)); break;
	case O_ENABLED: add(body, "disabled", json_object_new_boolean(0)); break;
	case O_FORWARDING: add(body, "forwarding", str(a)); break;
	case O_GUE_VERSION: add(body, "gueVersion", num_arg("gue-version", a, bad)); break;
	case O_GUE_PORT: add(body, "guePort", num_arg("gue-port", a, bad)); break;
	case O_ENCAP_SOURCE: append_list(body, "encapSource", a); break;
	}
}

/* Options that are not object fields: 1 when c was one, -1 when it does not
 * apply to this command, 0 when it is an object field. */
static int command_option(struct cli *c, int opt, const char *a, struct cli_options *o, bool *bad)
{
	switch (opt) {
	case 'j': c->opts->json = true; return 1;
	case 'h': o->help = true; return 1;
	case O_TYPE: c->opts->type = a; return 1;
	case O_SOCKET: c->opts->socket_path = a; return 1;
	case O_URL: c->opts->url = a; return 1;
	case O_TOKEN: c->opts->token_file = a; return 1;
	case O_CACERT: c->opts->cacert = a; return 1;
	case O_ID:
		json_object_put(o->id);
		o->id = num_arg("id", a, bad);
		return 1;
	case O_ZONE:
		if (!o->takes_zone)
			return 0;
		o->zone = a;
		return 1;
	case O_WAIT: o->wait = true; return o->takes_wait ? 1 : -1;
	case O_WATCH: o->watch = true; return o->takes_watch ? 1 : -1;
	default: return 0;
	}
}

int cli_parse_options(struct cli *c, int argc, char **argv, json_object *body, json_object *probe,
		      struct cli_options *o)
{
	bool bad = false;
	int opt, r;

	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "jh", long_opts, NULL)) != -1) {
		if (opt == '?')
			return 1;
		r = command_option(c, opt, optarg, o, &bad);
		if (o->help)
			return 0;
		if (r < 0) {
			fprintf(stderr, "tenace: option %s does not apply to this command\n", argv[optind - 1]);
			return 1;
		}
		if (r)
			continue;
		if (opt >= O_PROBE_TYPE && opt <= O_PROBE_SSL)
			probe_option(opt, optarg, probe, &bad);
		else
			object_option(opt, optarg, body, o, &bad);
	}
	return bad ? 1 : 0;
}

void cli_options_free(struct cli_options *o)
{
	json_object_put(o->id);
	o->id = NULL;
}

bool cli_stray_options(const char *cmd, json_object *body, const struct cli_options *o)
{
	const char *k = o->id ? "id" : NULL;

	if (!k) {
		json_object_object_foreach(body, key, v) {
			(void)v;
			k = key;
			break;
		}
	}
	if (!k)
		return false;
	fprintf(stderr, "tenace: %s takes no object options (got one for \"%s\")\n", cmd, k);
	return true;
}

/* ---- dispatch ---------------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *help;
} commands[] = {
	{ "farm", cli_farm, "list|show|add|set|del farms (staged)" },
	{ "server", cli_server, "list|show|add|set|del servers of a farm (staged)" },
	{ "frontend", cli_frontend, "list|show|add|set|del frontends (staged)" },
	{ "pending", cli_pending, "staged changes per zone [--detail: what a refresh would move]" },
	{ "refresh", cli_refresh, "apply staged changes [--zone Z] [--wait] [--dry-run] [--max-moved N%]" },
	{ "task", cli_task, "a refresh task's state: task ID [--wait]" },
	{ "status", cli_status, "interfaces, farms, servers' state and health" },
	{ "stats", cli_stats, "counters and rates [--watch]" },
	{ "config", cli_config, "the staged configuration document" },
	{ "node", cli_node, "this node in a fleet: show|drain|resume (BGP announcements)" },
	{ "table", cli_table, "FARM: a farm's table and its digest (compare nodes)" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

bool tn_cli_is_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return true;
	return false;
}

void tn_cli_usage(FILE *f)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int tn_cli_main(struct tn_cli_opts *g, int argc, char **argv)
{
	struct cli c = { .opts = g };
	int rc = -1;

	if (!g->type)
		g->type = "tcp";
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, argv[0]))
			rc = commands[i].run(&c, argc, argv);
	if (rc < 0) {
		fprintf(stderr, "tenace: unknown command \"%s\"\n", argv[0]);
		rc = 1;
	}
	if (c.client.token) {
		explicit_bzero(c.client.token, strlen(c.client.token));
		free(c.client.token);
	}
	tn_term_safe_free();
	return rc;
}
