/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "api/api.h"
#include "cli/cli.h"
#include "cli/http_client.h"
#include "cli/internal.h"

/* ---- aligned tables ------------------------------------------------------------ */

void table_init(struct table *t, int ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
}

void table_row(struct table *t, ...)
{
	char **nc = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));
	va_list ap;

	if (!nc)
		return;
	t->cells = nc;
	va_start(ap, t);
	for (int i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);
		t->cells[t->nrows * t->ncols + i] = strdup(s ? s : "-");
	}
	va_end(ap);
	t->nrows++;
}

void table_print(struct table *t)
{
	size_t w[MAX_COLS] = {0}, r;
	int c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t l = s ? strlen(s) : 0;
			if (l > w[c])
				w[c] = l;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			if (c == t->ncols - 1)
				printf("%s\n", s ? s : "");
			else
				printf("%-*s  ", (int)w[c], s ? s : "");
		}
	}
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

/* ---- JSON access ------------------------------------------------------------------ */

json_object *jget(json_object *o, const char *k)
{
	json_object *v = NULL;

	if (o && json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, k, &v);
	return v;
}

/* A field as text ("-" for null/absent); static ring of buffers. */
const char *jstr(json_object *o, const char *k)
{
	static char ring[16][256];
	static int next;
	json_object *v = jget(o, k);
	char *b = ring[next++ % 16];

	if (!v)
		return "-";
	if (json_object_is_type(v, json_type_string))
		snprintf(b, 256, "%s", json_object_get_string(v));
	else if (json_object_is_type(v, json_type_array)) {
		b[0] = 0;
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			size_t l = strlen(b);
			snprintf(b + l, 256 - l, "%s%s", i ? "," : "",
				 json_object_get_string(json_object_array_get_idx(v, i)));
		}
		if (!b[0])
			return "-";
	} else
		snprintf(b, 256, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	return b;
}

const char *fmt_num(double v)
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

double jnum(json_object *o, const char *k)
{
	json_object *v = jget(o, k);

	return v ? json_object_get_double(v) : 0;
}

/* ---- requests ------------------------------------------------------------------ */

static struct tn_client client;
struct tn_cli_opts *opts;

void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* The request; on failure prints the API's message and returns NULL. */
json_object *call(const char *method, const char *path, json_object *body, int *status)
{
	json_object *out = NULL;
	char err[512];
	int st = tn_client_request(&client, method, path, body, &out, NULL, err, sizeof(err));

	if (status)
		*status = st;
	if (st < 0) {
		fprintf(stderr, "tenace: %s\n", err);
		return NULL;
	}
	if (st >= 300) {
		const char *field = jget(out, "field") ? json_object_get_string(jget(out, "field")) : NULL;
		fprintf(stderr, "tenace: error %d: %s%s%s%s\n", st,
			jget(out, "message") ? json_object_get_string(jget(out, "message")) : "request failed",
			field && *field ? " (field: " : "", field && *field ? field : "", field && *field ? ")" : "");
		json_object_put(out);
		return NULL;
	}
	if (!out)
		out = json_object_new_object();
	return out;
}

/* ---- options --------------------------------------------------------------------- */

enum {
	O_TYPE = 1000, O_SOCKET, O_URL, O_TOKEN, O_JSON, O_HELP,
	O_PORT, O_BALANCE, O_STICKINESS, O_NAME, O_ZONE, O_ID,
	O_PROBE_TYPE, O_PROBE_PORT, O_PROBE_INTERVAL, O_PROBE_TIMEOUT, O_PROBE_RISE, O_PROBE_FALL,
	O_PROBE_METHOD, O_PROBE_URL, O_PROBE_MATCH, O_PROBE_PATTERN, O_PROBE_NEGATE, O_PROBE_SSL,
	O_ADDRESS, O_WEIGHT, O_BACKUP, O_NO_BACKUP, O_STATUS, O_MAC, O_PROBE, O_NO_PROBE,
	O_VIP, O_FARM, O_ALLOW, O_DENY, O_DISABLED, O_ENABLED, O_WAIT, O_WATCH,
};

static const struct option long_opts[] = {
	{ "type", required_argument, NULL, O_TYPE },
	{ "socket", required_argument, NULL, O_SOCKET },
	{ "url", required_argument, NULL, O_URL },
	{ "token-file", required_argument, NULL, O_TOKEN },
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
	json_object *arr = jget(body, key);
	char *copy = strdup(s), *save = NULL, *tok;

	if (!arr) {
		arr = json_object_new_array();
		json_object_object_add(body, key, arr);
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_object_array_add(arr, json_object_new_string(tok));
	free(copy);
}

/*
 * Parse the options of farm/server/frontend add/set into a JSON body (and
 * probe fields into *probe). Positional arguments left in argv[optind..].
 */
static int parse_object_opts(int argc, char **argv, json_object *body, json_object *probe,
			     bool *wait, bool *watch, const char **zone)
{
	bool bad = false;
	int c;

	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "jh", long_opts, NULL)) != -1) {
		const char *a = optarg;

		switch (c) {
		case 'j': opts->json = true; break;
		case 'h': return 2;
		case O_TYPE: opts->type = a; break;
		case O_SOCKET: opts->socket_path = a; break;
		case O_URL: opts->url = a; break;
		case O_TOKEN: opts->token_file = a; break;
		case O_PORT:
			if (body == NULL)
				goto notapplicable;
			if (jget(body, "__frontend"))
				json_object_object_add(body, "port", json_object_new_string(a));
			else
				json_object_object_add(body, "port", num_arg("port", a, &bad));
			break;
		case O_BALANCE: json_object_object_add(body, "balance", json_object_new_string(a)); break;
		case O_STICKINESS:
			json_object_object_add(body, "stickiness", !strcmp(a, "none") || !strcmp(a, "null") ?
					       NULL : json_object_new_string(a));
			break;
		case O_NAME: json_object_object_add(body, "displayName", json_object_new_string(a)); break;
		case O_ZONE:
			if (zone)
				*zone = a;
			else
				json_object_object_add(body, "zone", json_object_new_string(a));
			break;
		case O_ID: json_object_object_add(body, "__id", num_arg("id", a, &bad)); break;
		case O_PROBE_TYPE:
			json_object_object_add(probe, "type", !strcmp(a, "none") ? NULL : json_object_new_string(a));
			break;
		case O_PROBE_PORT: json_object_object_add(probe, "port", num_arg("probe-port", a, &bad)); break;
		case O_PROBE_INTERVAL: json_object_object_add(probe, "interval", num_arg("probe-interval", a, &bad)); break;
		case O_PROBE_TIMEOUT: json_object_object_add(probe, "timeout", num_arg("probe-timeout", a, &bad)); break;
		case O_PROBE_RISE: json_object_object_add(probe, "rise", num_arg("probe-rise", a, &bad)); break;
		case O_PROBE_FALL: json_object_object_add(probe, "fall", num_arg("probe-fall", a, &bad)); break;
		case O_PROBE_METHOD: json_object_object_add(probe, "method", json_object_new_string(a)); break;
		case O_PROBE_URL: json_object_object_add(probe, "url", json_object_new_string(a)); break;
		case O_PROBE_MATCH: json_object_object_add(probe, "match", json_object_new_string(a)); break;
		case O_PROBE_PATTERN: json_object_object_add(probe, "pattern", json_object_new_string(a)); break;
		case O_PROBE_NEGATE: json_object_object_add(probe, "negate", json_object_new_boolean(1)); break;
		case O_PROBE_SSL: json_object_object_add(probe, "forceSsl", json_object_new_boolean(1)); break;
		case O_ADDRESS: json_object_object_add(body, "address", json_object_new_string(a)); break;
		case O_WEIGHT: json_object_object_add(body, "weight", num_arg("weight", a, &bad)); break;
		case O_BACKUP: json_object_object_add(body, "backup", json_object_new_boolean(1)); break;
		case O_NO_BACKUP: json_object_object_add(body, "backup", json_object_new_boolean(0)); break;
		case O_STATUS: json_object_object_add(body, "status", json_object_new_string(a)); break;
		case O_MAC: json_object_object_add(body, "mac", !strcmp(a, "none") ? NULL : json_object_new_string(a)); break;
		case O_PROBE: json_object_object_add(body, "probe", json_object_new_boolean(1)); break;
		case O_NO_PROBE: json_object_object_add(body, "probe", json_object_new_boolean(0)); break;
		case O_VIP: append_list(body, "vip", a); break;
		case O_FARM: json_object_object_add(body, "defaultFarmId", num_arg("farm", a, &bad)); break;
		case O_ALLOW: append_list(body, "allowedSource", a); break;
		case O_DENY: append_list(body, "deniedSource", a); break;
		case O_DISABLED: json_object_object_add(body, "disabled", json_object_new_boolean(1)); break;
		case O_ENABLED: json_object_object_add(body, "disabled", json_object_new_boolean(0)); break;
		case O_WAIT: if (wait) *wait = true; else goto notapplicable; break;
		case O_WATCH: if (watch) *watch = true; else goto notapplicable; break;
		default:
			return 1;
		}
		continue;
notapplicable:
		fprintf(stderr, "tenace: option %s does not apply to this command\n", argv[optind - 1]);
		return 1;
	}
	return bad ? 1 : 0;
}

static int check_type(void)
{
	if (strcmp(opts->type, "tcp") && strcmp(opts->type, "udp")) {
		fprintf(stderr, "tenace: --type must be tcp or udp, got \"%s\"\n", opts->type);
		return 1;
	}
	return 0;
}

int setup_client(void)
{
	client.socket_path = opts->socket_path ? opts->socket_path : TN_SOCKET_DEFAULT;
	client.url = opts->url;
	if (opts->token_file) {
		client.token = tn_read_token_file(opts->token_file);
		if (!client.token)
			return 1;
	}
	return check_type();
}

/* ---- output of objects -------------------------------------------------------------- */

static const char *probe_text(json_object *f)
{
	json_object *p = jget(f, "probe");

	return p && jget(p, "type") ? jstr(p, "type") : "none";
}

static void print_farms(json_object *arr)
{
	struct table t;

	table_init(&t, 9);
	table_row(&t, "ID", "TYPE", "NAME", "PORT", "BALANCE", "STICKINESS", "ZONE", "PROBE", "SERVERS");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *f = json_object_array_get_idx(arr, i);
		char n[16];

		snprintf(n, sizeof(n), "%zu", json_object_array_length(jget(f, "servers")));
		table_row(&t, jstr(f, "farmId"), jstr(f, "type"), jstr(f, "displayName"), jstr(f, "port"),
			  jstr(f, "balance"), jget(f, "stickiness") ? jstr(f, "stickiness") : "none",
			  jstr(f, "zone"), probe_text(f), n);
	}
	table_print(&t);
}

static void print_servers(json_object *arr)
{
	struct table t;

	table_init(&t, 9);
	table_row(&t, "ID", "ADDRESS", "PORT", "WEIGHT", "STATUS", "BACKUP", "PROBE", "MAC", "NAME");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *s = json_object_array_get_idx(arr, i);

		table_row(&t, jstr(s, "serverId"), jstr(s, "address"), jstr(s, "port"), jstr(s, "weight"),
			  jstr(s, "status"), jstr(s, "backup"), jstr(s, "probe"), jstr(s, "mac"), jstr(s, "displayName"));
	}
	table_print(&t);
}

static void print_frontends(json_object *arr)
{
	struct table t;

	table_init(&t, 10);
	table_row(&t, "ID", "TYPE", "NAME", "VIP", "PORT", "FARM", "ZONE", "ALLOW", "DENY", "DISABLED");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *f = json_object_array_get_idx(arr, i);

		table_row(&t, jstr(f, "frontendId"), jstr(f, "type"), jstr(f, "displayName"), jstr(f, "vip"),
			  jget(f, "port") ? jstr(f, "port") : "*", jstr(f, "defaultFarmId"), jstr(f, "zone"),
			  jstr(f, "allowedSource"), jstr(f, "deniedSource"), jstr(f, "disabled"));
	}
	table_print(&t);
}

static void print_object(json_object *o)
{
	struct table t;

	table_init(&t, 2);
	json_object_object_foreach(o, k, v) {
		if (!strcmp(k, "servers"))
			continue;
		if (v && json_object_is_type(v, json_type_object))
			table_row(&t, k, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		else
			table_row(&t, k, jstr(o, k));
	}
	table_print(&t);
	if (jget(o, "servers")) {
		printf("\nservers:\n");
		print_servers(jget(o, "servers"));
	}
}

/* ---- commands -------------------------------------------------------------------- */

int done(json_object *o, void (*human)(json_object *))
{
	if (!o)
		return 1;
	if (opts->json)
		print_json(o);
	else
		human(o);
	json_object_put(o);
	return 0;
}

/* A staged change: send it, then say what changed (or print the API's JSON).
 * The message is "<verb> <what>", with the new object's id_key appended when
 * given (creations learn their id from the answer). */
static int staged_change(const char *method, const char *path, json_object *body,
			 const char *verb, const char *what, const char *id_key)
{
	json_object *o = call(method, path, body, NULL);

	if (!o)
		return 1;
	if (opts->json)
		return done(o, print_object);
	printf("%s %s%s%s (pending until `tenace refresh`)\n", verb, what,
	       id_key ? " " : "", id_key ? jstr(o, id_key) : "");
	json_object_put(o);
	return 0;
}

static void need_args(int n, int have, const char *usage, int *rc)
{
	if (have < n) {
		fprintf(stderr, "usage: tenace %s\n", usage);
		*rc = 1;
	}
}

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
	fprintf(stderr, "tenace: %s must be a number, got \"%s\"\n", what, s);
	return 1;
}

static void move_id(json_object *body, const char *key)
{
	json_object *id = jget(body, "__id");

	if (id) {
		json_object_object_add(body, key, json_object_get(id));
		json_object_object_del(body, "__id");
	}
}

/* farm set with probe options: merge into the farm's current probe object */
static int merge_probe(const char *farm_path, json_object *body, json_object *probe)
{
	json_object *cur, *p;

	if (!json_object_object_length(probe))
		return 0;
	cur = call("GET", farm_path, NULL, NULL);
	if (!cur)
		return 1;
	p = jget(cur, "probe");
	/* a new probe type starts afresh: the old type's fields may not apply */
	json_object *new_type = jget(probe, "type"), *old_type = p ? jget(p, "type") : NULL;
	bool same_type = !new_type || (old_type && !strcmp(json_object_get_string(new_type),
							   json_object_get_string(old_type)));

	if (p && json_object_is_type(p, json_type_object) && same_type) {
		json_object *m = NULL;

		json_object_deep_copy(p, &m, NULL);
		json_object_object_foreach(probe, k, v)
			json_object_object_add(m, k, v ? json_object_get(v) : NULL);
		json_object_object_add(body, "probe", m);
	} else {
		json_object_object_add(body, "probe", json_object_get(probe));
	}
	json_object_put(cur);
	return 0;
}

static const char farm_usage[] =
	"farm list | show ID | add [OPTIONS] | set ID [OPTIONS] | del ID\n"
	"  OPTIONS: --type tcp|udp --id N --name NAME --port P --balance source|roundrobin|first\n"
	"           --stickiness sourceIp|none --zone Z --probe-type tcp|http|smtp|mysql|pgsql|none\n"
	"           --probe-port P --probe-interval S --probe-timeout S --probe-rise N --probe-fall N\n"
	"           --probe-method GET|HEAD|OPTIONS --probe-url PATH --probe-match default|status|contains|matches\n"
	"           --probe-pattern TEXT --probe-negate --probe-force-ssl";

static const char server_usage[] =
	"server list FARM | show FARM ID | add FARM --address A [OPTIONS] | set FARM ID [OPTIONS] | del FARM ID\n"
	"  OPTIONS: --type tcp|udp --id N --address A --port P --weight 0..256 --backup|--no-backup\n"
	"           --status active|inactive --mac MAC|none --name NAME --probe|--no-probe";

static const char frontend_usage[] =
	"frontend list | show ID | add --vip A --farm ID [OPTIONS] | set ID [OPTIONS] | del ID\n"
	"  OPTIONS: --type tcp|udp --id N --vip A[,B] --port \"80\"|\"80,443\"|\"8000-8100\" --farm ID\n"
	"           --allow CIDR[,CIDR] --deny CIDR[,CIDR] --zone Z --name NAME --disabled|--enabled";

/* The three kinds of object the CLI edits, driven by one function. */
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

/* tenace farm|server|frontend list|show|add|set|del ...: staged changes */
static int cmd_resource(const struct resource *res, int argc, char **argv)
{
	json_object *body = json_object_new_object(), *probe = json_object_new_object();
	char path[256], what[160], usage[96];
	int rc, sub_argc, nfixed = res->in_farm ? 2 : 1; /* verb [FARM] */
	const char *verb, *id = NULL;
	char **sub;

	if (res->frontend_opts)
		json_object_object_add(body, "__frontend", json_object_new_boolean(1));
	rc = parse_object_opts(argc, argv, body, probe, NULL, NULL, NULL);
	json_object_object_del(body, "__frontend");
	sub = argv + optind;
	sub_argc = argc - optind;
	if (rc == 2 || (!rc && sub_argc < nfixed)) {
		printf("usage: tenace %s\n", res->usage);
		rc = rc == 2 ? 0 : 1;
		goto out;
	}
	if (rc || (rc = setup_client()))
		goto out;
	if (!res->takes_probe && json_object_object_length(probe)) {
		fprintf(stderr, "tenace: probe options apply to farms\n");
		rc = 1;
		goto out;
	}
	verb = sub[0];
	if (res->in_farm) {
		if (!id_ok(sub[1])) {
			rc = bad_id("farm id", sub[1]);
			goto out;
		}
		snprintf(path, sizeof(path), "/v1/%s/farm/%s/server", opts->type, sub[1]);
	} else {
		snprintf(path, sizeof(path), "/v1/%s/%s", opts->type, res->name);
	}
	if (strcmp(verb, "list") && strcmp(verb, "add")) {
		snprintf(usage, sizeof(usage), "%s %s %sID", res->name, verb, res->in_farm ? "FARM " : "");
		need_args(nfixed + 1, sub_argc, usage, &rc);
		if (rc)
			goto out;
		id = sub[nfixed];
		if (!id_ok(id)) {
			snprintf(usage, sizeof(usage), "%s id", res->name);
			rc = bad_id(usage, id);
			goto out;
		}
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s", id);
	}
	/* how the object is named in messages: "tcp farm 3", "server 2 of tcp farm 1" */
	if (res->in_farm)
		snprintf(what, sizeof(what), id ? "server %s of %s farm %s" : "%s%s farm %s: server",
			 id ? id : "", opts->type, sub[1]);
	else
		snprintf(what, sizeof(what), "%s %s%s%s", opts->type, res->name, id ? " " : "", id ? id : "");

	if (!strcmp(verb, "list")) {
		rc = done(call("GET", path, NULL, NULL), res->print_list);
	} else if (!strcmp(verb, "show")) {
		rc = done(call("GET", path, NULL, NULL), print_object);
	} else if (!strcmp(verb, "add")) {
		move_id(body, res->id_key);
		if (res->takes_probe && json_object_object_length(probe))
			json_object_object_add(body, "probe", json_object_get(probe));
		rc = staged_change("POST", path, body, "created", what, res->id_key);
	} else if (!strcmp(verb, "set")) {
		if (res->takes_probe && (rc = merge_probe(path, body, probe)))
			goto out;
		rc = staged_change("PUT", path, body, "changed", what, NULL);
	} else if (!strcmp(verb, "del") || !strcmp(verb, "delete")) {
		rc = staged_change("DELETE", path, NULL, "deleted", what, NULL);
	} else {
		fprintf(stderr, "tenace: unknown %s command \"%s\"\nusage: tenace %s\n", res->name, verb, res->usage);
		rc = 1;
	}
out:
	json_object_put(body);
	json_object_put(probe);
	return rc;
}

static void print_pending(json_object *arr)
{
	struct table t;

	if (!json_object_array_length(arr)) {
		printf("no pending changes\n");
		return;
	}
	table_init(&t, 2);
	table_row(&t, "ZONE", "CHANGES");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *z = json_object_array_get_idx(arr, i);
		table_row(&t, jstr(z, "zone"), jstr(z, "number"));
	}
	table_print(&t);
}

static void print_task(json_object *o)
{
	printf("task %s: %s%s%s\n", jstr(o, "id"), jstr(o, "status"),
	       jget(o, "message") ? ": " : "", jget(o, "message") ? jstr(o, "message") : "");
}

static volatile sig_atomic_t stop;
static void on_sigint(int sig) { (void)sig; stop = 1; }

/* Object options (--weight, --vip, ...) given to a command that takes none. */
static bool stray_options(const char *cmd, json_object *parsed)
{
	if (!json_object_object_length(parsed))
		return false;
	json_object_object_foreach(parsed, k, v) {
		(void)v;
		fprintf(stderr, "tenace: %s takes no object options (got one for \"%s\")\n", cmd,
			strcmp(k, "__id") ? k : "id");
		break;
	}
	return true;
}

static int cmd_refresh(int argc, char **argv)
{
	json_object *body = json_object_new_object(), *o;
	const char *zone = NULL;
	bool wait = false;
	int rc;

	rc = parse_object_opts(argc, argv, body, body, &wait, NULL, &zone);
	if (!rc && stray_options("refresh", body))
		rc = 1;
	if (rc == 2 || (!rc && optind < argc)) {
		printf("usage: tenace refresh [--zone Z] [--wait]\n");
		json_object_put(body);
		return rc == 2 ? 0 : 1;
	}
	if (rc || (rc = setup_client())) {
		json_object_put(body);
		return rc;
	}
	if (zone)
		json_object_object_add(body, "zone", json_object_new_string(zone));
	o = call("POST", "/v1/refresh", body, NULL);
	json_object_put(body);
	if (!o)
		return 1;
	if (wait) {
		char path[64];
		int tries = 0;

		snprintf(path, sizeof(path), "/v1/task/%s", jstr(o, "id"));
		while (!stop && (!strcmp(jstr(o, "status"), "todo") || !strcmp(jstr(o, "status"), "doing"))) {
			json_object *n;

			usleep(tries++ < 20 ? 50000 : 200000);
			n = call("GET", path, NULL, NULL);
			if (!n) {
				json_object_put(o);
				return 1;
			}
			json_object_put(o);
			o = n;
		}
	}
	rc = !strcmp(jstr(o, "status"), "error");
	if (rc && !opts->json)
		fprintf(stderr, "tenace: refresh failed: %s\n", jstr(o, "message"));
	done(o, print_task);
	return rc;
}

static void print_status(json_object *o)
{
	json_object *ifs = jget(o, "interfaces"), *farms = jget(o, "farms");
	struct table t;

	printf("zone %s, pending changes: %s\n", jstr(o, "zone"), jstr(o, "pendingChanges"));
	table_init(&t, 4);
	table_row(&t, "INTERFACE", "IFINDEX", "MODE", "PROGRAM");
	for (size_t i = 0; ifs && i < json_object_array_length(ifs); i++) {
		json_object *x = json_object_array_get_idx(ifs, i);
		table_row(&t, jstr(x, "name"), jstr(x, "ifindex"), jstr(x, "mode"), jstr(x, "programId"));
	}
	table_print(&t);
	for (size_t i = 0; farms && i < json_object_array_length(farms); i++) {
		json_object *f = json_object_array_get_idx(farms, i), *srv = jget(f, "servers");

		printf("\n%s farm %s%s%s%s: %s, slot %s, generation %s%s%s\n", jstr(f, "type"), jstr(f, "farmId"),
		       jget(f, "displayName") ? " (" : "", jget(f, "displayName") ? jstr(f, "displayName") : "",
		       jget(f, "displayName") ? ")" : "", jstr(f, "state"), jstr(f, "slot"), jstr(f, "generation"),
		       jget(f, "lastError") ? ", error: " : "", jget(f, "lastError") ? jstr(f, "lastError") : "");
		table_init(&t, 10);
		table_row(&t, "SERVER", "ADDRESS", "PORT", "WEIGHT", "BACKUP", "STATE", "HEALTH", "SINCE", "MAC", "LAST ERROR");
		for (size_t j = 0; srv && j < json_object_array_length(srv); j++) {
			json_object *s = json_object_array_get_idx(srv, j);
			table_row(&t, jstr(s, "serverId"), jstr(s, "address"), jstr(s, "port"), jstr(s, "weight"),
				  jstr(s, "backup"), jstr(s, "state"), jstr(s, "health"), jstr(s, "since"),
				  jstr(s, "mac"), jstr(s, "lastError"));
		}
		table_print(&t);
	}
	if (jget(o, "node"))
		print_node(jget(o, "node"));
}

static void print_stats(json_object *o)
{
	json_object *r = jget(o, "reasons"), *vips = jget(o, "vips"), *srv = jget(o, "servers");
	struct table t;

	printf("sampled %s (interval %.3f s)\n\n", jstr(o, "time"), jnum(o, "interval"));
	table_init(&t, 5);
	table_row(&t, "REASON", "PACKETS", "BYTES", "PKT/S", "BIT/S");
	json_object_object_foreach(r, k, v) {
		if (!jnum(v, "packets"))
			continue;
		table_row(&t, k, fmt_num(jnum(v, "packets")), fmt_num(jnum(v, "bytes")), fmt_num(jnum(v, "pps")),
			  fmt_num(jnum(v, "bps")));
	}
	table_print(&t);
	printf("\n");
	table_init(&t, 7);
	table_row(&t, "FRONTEND", "VIP", "PORT", "PACKETS", "BYTES", "PKT/S", "BIT/S");
	for (size_t i = 0; vips && i < json_object_array_length(vips); i++) {
		json_object *v = json_object_array_get_idx(vips, i);
		char fe[40];

		snprintf(fe, sizeof(fe), "%s %s", jstr(v, "type"), jstr(v, "frontendId"));
		table_row(&t, fe, jstr(v, "vip"), jstr(v, "port"), fmt_num(jnum(v, "packets")),
			  fmt_num(jnum(v, "bytes")), fmt_num(jnum(v, "pps")), fmt_num(jnum(v, "bps")));
	}
	table_print(&t);
	printf("\n");
	table_init(&t, 7);
	table_row(&t, "FARM", "SERVER", "ADDRESS", "PACKETS", "BYTES", "PKT/S", "BIT/S");
	for (size_t i = 0; srv && i < json_object_array_length(srv); i++) {
		json_object *s = json_object_array_get_idx(srv, i);
		char fa[40];

		snprintf(fa, sizeof(fa), "%s %s", jstr(s, "type"), jstr(s, "farmId"));
		table_row(&t, fa, jstr(s, "serverId"), jstr(s, "address"), fmt_num(jnum(s, "packets")),
			  fmt_num(jnum(s, "bytes")), fmt_num(jnum(s, "pps")), fmt_num(jnum(s, "bps")));
	}
	table_print(&t);
}

static void print_config(json_object *o)
{
	print_json(o);
}

static int simple_get(int argc, char **argv, const char *path, void (*human)(json_object *), const char *usage)
{
	json_object *dummy = json_object_new_object();
	bool watch = false;
	int rc;

	rc = parse_object_opts(argc, argv, dummy, dummy, NULL, human == print_stats ? &watch : NULL, NULL);
	if (!rc && stray_options(usage, dummy))
		rc = 1;
	json_object_put(dummy);
	if (rc == 2 || (!rc && optind < argc)) {
		printf("usage: tenace %s\n", usage);
		return rc == 2 ? 0 : 1;
	}
	if (rc || (rc = setup_client()))
		return rc;
	if (!watch)
		return done(call("GET", path, NULL, NULL), human);
	signal(SIGINT, on_sigint);
	while (!stop) {
		json_object *o = call("GET", path, NULL, NULL);

		if (!o)
			return 1;
		printf("\033[H\033[2J");
		done(o, human);
		fflush(stdout);
		for (int i = 0; i < 10 && !stop; i++)
			usleep(100000);
	}
	return 0;
}

static const struct {
	const char *name;
	const char *help;
} commands[] = {
	{ "farm", "list|show|add|set|del farms (staged)" },
	{ "server", "list|show|add|set|del servers of a farm (staged)" },
	{ "frontend", "list|show|add|set|del frontends (staged)" },
	{ "pending", "staged changes per zone" },
	{ "refresh", "apply staged changes [--zone Z] [--wait]" },
	{ "status", "interfaces, farms, servers' state and health" },
	{ "stats", "counters and rates [--watch]" },
	{ "config", "the staged configuration document" },
	{ "node", "this node in a fleet: show|drain|resume (BGP announcements)" },
	{ "table", "FARM: a farm's table and its digest (compare nodes)" },
};

bool tn_cli_is_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return true;
	return false;
}

void tn_cli_usage(FILE *f)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int tn_cli_main(struct tn_cli_opts *g, int argc, char **argv)
{
	const char *cmd = argv[0];
	int rc;

	opts = g;
	if (!opts->type)
		opts->type = "tcp";
	if (!strcmp(cmd, "farm"))
		rc = cmd_resource(&farm_resource, argc, argv);
	else if (!strcmp(cmd, "server"))
		rc = cmd_resource(&server_resource, argc, argv);
	else if (!strcmp(cmd, "frontend"))
		rc = cmd_resource(&frontend_resource, argc, argv);
	else if (!strcmp(cmd, "refresh"))
		rc = cmd_refresh(argc, argv);
	else if (!strcmp(cmd, "pending"))
		rc = simple_get(argc, argv, "/v1/pendingChanges", print_pending, "pending");
	else if (!strcmp(cmd, "status"))
		rc = simple_get(argc, argv, "/v1/status", print_status, "status");
	else if (!strcmp(cmd, "stats"))
		rc = simple_get(argc, argv, "/v1/stats", print_stats, "stats [--watch]");
	else if (!strcmp(cmd, "config"))
		rc = simple_get(argc, argv, "/v1/config", print_config, "config");
	else if (!strcmp(cmd, "node"))
		rc = cli_node(argc, argv);
	else if (!strcmp(cmd, "table"))
		rc = cli_table(argc, argv);
	else {
		fprintf(stderr, "tenace: unknown command \"%s\"\n", cmd);
		rc = 1;
	}
	if (client.token) {
		explicit_bzero(client.token, strlen(client.token));
		free(client.token);
		client.token = NULL;
	}
	return rc;
}
