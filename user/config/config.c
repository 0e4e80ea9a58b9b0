// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Configuration: JSON <-> struct tn_config.
 *
 * Every rule reports the JSON path and what was expected, and parsing goes on
 * after an error so the operator sees all the mistakes of a file at once.
 * Objects are parsed into temporaries and moved into the caller's struct only
 * when the whole document is valid.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tenace.h"
#include "lib/file.h"
#include "lib/json.h"
#include "config/config.h"
#include "dataplane/maglev.h"
#include "probe/probe_proto.h"

#define PATH_LEN sizeof(((struct tn_error *)0)->path)
#define GOT_LEN 64
#define URL_MAX 1024
#define FILE_MAX (64u << 20) /* a config file larger than this is a mistake */
/* The data plane's VIP map holds TN_MAX_VIPS entries: one per (address,
 * port) of every frontend, enabled or disabled, plus one per VIP address (for
 * fragments); the controller keeps half of the map for the latter. */
#define VIP_PORT_ENTRIES_MAX (TN_MAX_VIPS / 2)
/* Source filters: each VIP gets its own copy of its frontend's allowedSource
 * and deniedSource lists, in two LPM tries of TN_MAX_FILTERS entries each. */
#define FILTER_LIST_MAX 1024

/* ---- errors ------------------------------------------------------------- */

static void errors_vadd(struct tn_errors *e, const char *path, const char *fmt, va_list ap)
{
	struct tn_error *err;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;
		struct tn_error *v = realloc(e->v, cap * sizeof(*v));

		if (!v)
			return;
		e->v = v;
		e->cap = cap;
	}
	err = &e->v[e->n++];
	snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

void tn_errors_add(struct tn_errors *e, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errors_vadd(e, path, fmt, ap);
	va_end(ap);
}

void tn_errors_free(struct tn_errors *e)
{
	free(e->v);
	memset(e, 0, sizeof(*e));
}

char *tn_errors_join(const struct tn_errors *e)
{
	size_t len = 1, i, off = 0;
	char *s;

	for (i = 0; i < e->n; i++)
		len += strlen(e->v[i].path) + strlen(e->v[i].message) + 4;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < e->n; i++) {
		const struct tn_error *err = &e->v[i];

		off += snprintf(s + off, len - off, "%s%s%s%s", i ? "; " : "",
				err->path, err->path[0] ? ": " : "", err->message);
	}
	return s;
}

/*
 * Parsing context: counts failures itself, so that a failure is noticed even
 * when the error list could not grow (out of memory) or errs is NULL.
 */
struct ctx {
	struct tn_errors *errs;
	unsigned failed;
};

__attribute__((format(printf, 3, 4)))
static void fail(struct ctx *x, const char *path, const char *fmt, ...)
{
	va_list ap;

	x->failed++;
	if (!x->errs)
		return;
	va_start(ap, fmt);
	errors_vadd(x->errs, path, fmt, ap);
	va_end(ap);
}

/* ---- JSON paths ----------------------------------------------------------- */

/* A path too long for the buffer ends in "..." rather than misleading. */
static const char *path_mark_cut(char *buf, int n)
{
	if (n >= (int)PATH_LEN)
		memcpy(buf + PATH_LEN - 4, "...", 4);
	return buf;
}

static const char *path_key(char *buf, const char *parent, const char *key)
{
	if (!parent || !parent[0])
		return path_mark_cut(buf, snprintf(buf, PATH_LEN, "%s", key));
	return path_mark_cut(buf, snprintf(buf, PATH_LEN, "%s.%s", parent, key));
}

static const char *path_idx(char *buf, const char *parent, size_t i)
{
	return path_mark_cut(buf, snprintf(buf, PATH_LEN, "%s[%zu]", parent ? parent : "", i));
}

/* ---- typed getters: each reports "must be X, got Y" ------------------- */

/* The value as the user wrote it, short enough for a message. */
static const char *got(json_object *v, char *buf)
{
	const char *s;
	size_t len;

	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_int:
		/* json-c saturates integers beyond 64 bits: the text is lost */
		if (json_object_get_uint64(v) == UINT64_MAX)
			return "a number too large";
		if (json_object_get_int64(v) == INT64_MIN)
			return "a number too small";
		break;
	default:
		break;
	}
	s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(s);
	if (len < GOT_LEN)
		memcpy(buf, s, len + 1);
	else
		snprintf(buf, GOT_LEN, "%.*s...", GOT_LEN - 4, s);
	return buf;
}

static json_object *field(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static bool present(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static bool want_u32(struct ctx *x, json_object *v, const char *path,
		     uint32_t min, uint32_t max, uint32_t *out)
{
	char g[GOT_LEN];
	int64_t i;
	double d;

	switch (json_object_get_type(v)) {
	case json_type_int:
		i = json_object_get_int64(v);
		if (i < min || i > max)
			goto range;
		*out = (uint32_t)i;
		return true;
	case json_type_double:
		d = json_object_get_double(v);
		if (!isfinite(d) || d < min || d > max)
			goto range;
		if (d != (double)(int64_t)d)
			break; /* 2.5 is a number, but not an integer */
		*out = (uint32_t)d;
		return true;
	default:
		break;
	}
	fail(x, path, "must be an integer %u..%u, got %s", min, max, got(v, g));
	return false;
range:
	fail(x, path, "must be %u..%u, got %s", min, max, got(v, g));
	return false;
}

static bool want_u16(struct ctx *x, json_object *v, const char *path,
		     uint16_t min, uint16_t max, uint16_t *out)
{
	uint32_t u;

	if (!want_u32(x, v, path, min, max, &u))
		return false;
	*out = (uint16_t)u;
	return true;
}

static bool want_int(struct ctx *x, json_object *v, const char *path, int min, int max, int *out)
{
	uint32_t u;

	if (!want_u32(x, v, path, (uint32_t)min, (uint32_t)max, &u))
		return false;
	*out = (int)u;
	return true;
}

/* A finite number; the caller checks its range with its own words. */
static bool want_number(struct ctx *x, json_object *v, const char *path, double *out)
{
	char g[GOT_LEN];
	enum json_type t = json_object_get_type(v);

	if (t != json_type_int && t != json_type_double) {
		fail(x, path, "must be a number, got %s", got(v, g));
		return false;
	}
	*out = json_object_get_double(v);
	if (!isfinite(*out)) {
		fail(x, path, "must be a finite number, got %s", got(v, g));
		return false;
	}
	return true;
}

static bool want_bool(struct ctx *x, json_object *v, const char *path, bool *out)
{
	char g[GOT_LEN];

	if (json_object_get_type(v) != json_type_boolean) {
		fail(x, path, "must be true or false, got %s", got(v, g));
		return false;
	}
	*out = json_object_get_boolean(v);
	return true;
}

/* A string (or, when nullable, null -> *out = NULL) of at most maxlen bytes. */
static bool want_str(struct ctx *x, json_object *v, const char *path, bool nullable,
		     size_t maxlen, const char **out)
{
	char g[GOT_LEN];
	const char *s;
	size_t len;

	if (nullable && json_object_get_type(v) == json_type_null) {
		*out = NULL;
		return true;
	}
	if (json_object_get_type(v) != json_type_string) {
		fail(x, path, "must be a string%s, got %s", nullable ? " or null" : "", got(v, g));
		return false;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len) {
		/* C strings end at the first NUL: refuse rather than truncate */
		fail(x, path, "must not contain a NUL character");
		return false;
	}
	if (len > maxlen) {
		fail(x, path, "must be at most %zu characters, got %zu", maxlen, len);
		return false;
	}
	*out = s;
	return true;
}

static bool set_str(struct ctx *x, const char *path, char **dst, const char *s)
{
	char *d = NULL;

	if (s) {
		d = strdup(s);
		if (!d) {
			fail(x, path, "out of memory");
			return false;
		}
	}
	free(*dst);
	*dst = d;
	return true;
}

/* Optional string field, stored as a copy (NULL when null or absent). */
static void opt_str(struct ctx *x, json_object *o, const char *parent, const char *key,
		    size_t maxlen, char **dst)
{
	char p[PATH_LEN];
	const char *s;

	if (!present(o, key))
		return;
	path_key(p, parent, key);
	if (want_str(x, field(o, key), p, true, maxlen, &s))
		set_str(x, p, dst, s);
}

static bool want_object(struct ctx *x, json_object *v, const char *path)
{
	char g[GOT_LEN];

	if (json_object_get_type(v) == json_type_object)
		return true;
	fail(x, path, "must be an object, got %s", got(v, g));
	return false;
}

static bool want_array(struct ctx *x, json_object *v, const char *path)
{
	char g[GOT_LEN];

	if (json_object_get_type(v) == json_type_array)
		return true;
	fail(x, path, "must be an array, got %s", got(v, g));
	return false;
}

/* Typos must not pass silently: a misspelt "weigth" would mean weight 1. */
static void check_keys(struct ctx *x, json_object *o, const char *path, const char *const *keys)
{
	struct json_object_iterator it = json_object_iter_begin(o);
	struct json_object_iterator end = json_object_iter_end(o);
	char p[PATH_LEN];

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *name = json_object_iter_peek_name(&it);
		const char *const *k;

		for (k = keys; *k; k++)
			if (!strcmp(*k, name))
				break;
		if (!*k)
			fail(x, path_key(p, path, name), "unknown field");
	}
}

/* Index of the string v among names[], or -1 (no error reported). */
static int str_index(json_object *v, const char *const *names)
{
	const char *s;
	int i;

	if (json_object_get_type(v) != json_type_string)
		return -1;
	s = json_object_get_string(v);
	for (i = 0; names[i]; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static bool str_is(json_object *v, const char *s)
{
	return json_object_get_type(v) == json_type_string && !strcmp(json_object_get_string(v), s);
}

/* ---- small parsers ---------------------------------------------------------- */

/* One port 1..65535 from [s, e): digits only. */
static int port_number(const char *s, const char *e, uint16_t *out)
{
	unsigned long v = 0;

	if (s == e || e - s > 5)
		return -EINVAL;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < 1 || v > 65535)
		return -ERANGE;
	*out = (uint16_t)v;
	return 0;
}

static const char *trim(const char *s, const char **e)
{
	while (s < *e && (*s == ' ' || *s == '\t'))
		s++;
	while (*e > s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
	return s;
}

/* One comma-separated item: "80" or "8000-8100". */
static int port_item(const char *s, const char *e, struct tn_port_range *r, char *err, size_t errlen)
{
	const char *dash = memchr(s, '-', (size_t)(e - s));
	const char *a_end = dash ? dash : e, *b = dash ? dash + 1 : e;
	int rc;

	s = trim(s, &a_end);
	rc = port_number(s, a_end, &r->first);
	if (!rc && dash) {
		b = trim(b, &e);
		rc = port_number(b, e, &r->last);
	} else {
		r->last = r->first;
	}
	if (rc == -ERANGE) {
		snprintf(err, errlen, "\"%.*s\": ports must be 1..65535", (int)(e - s), s);
		return -EINVAL;
	}
	if (rc) {
		snprintf(err, errlen, "\"%.*s\" is not a port (1..65535) or a range (8000-8100)",
			 (int)(e - s), s);
		return -EINVAL;
	}
	if (r->first > r->last) {
		snprintf(err, errlen, "\"%.*s\": range is reversed", (int)(e - s), s);
		return -EINVAL;
	}
	return 0;
}

static int port_spec_check_overlap(const struct tn_port_range *r, size_t n, char *err, size_t errlen)
{
	size_t i, j;

	/* an overlap would install the same VIP entry twice */
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (r[i].first <= r[j].last && r[j].first <= r[i].last) {
				snprintf(err, errlen, "port %u is listed twice",
					 r[i].first > r[j].first ? r[i].first : r[j].first);
				return -EINVAL;
			}
	return 0;
}

int tn_port_spec_parse(const char *s, struct tn_port_range **out, size_t *n, char *err, size_t errlen)
{
	struct tn_port_range *r = NULL;
	size_t cnt = 0, cap = 0;
	const char *p = s;

	if (!s || !*s) {
		snprintf(err, errlen, "must not be empty (null means every port)");
		return -EINVAL;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *e = comma ? comma : p + strlen(p);

		if (cnt == cap) {
			struct tn_port_range *nr;

			cap = cap ? cap * 2 : 4;
			nr = realloc(r, cap * sizeof(*r));
			if (!nr) {
				snprintf(err, errlen, "out of memory");
				free(r);
				return -ENOMEM;
			}
			r = nr;
		}
		if (port_item(p, e, &r[cnt], err, errlen))
			goto bad;
		cnt++;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (port_spec_check_overlap(r, cnt, err, errlen))
		goto bad;
	*out = r;
	*n = cnt;
	return 0;
bad:
	free(r);
	return -EINVAL;
}

const char *tn_l4_type_name(enum tn_l4_type t)
{
	return t == TN_L4_UDP ? "udp" : "tcp";
}

uint16_t tn_server_port(const struct tn_farm_cfg *f, const struct tn_server_cfg *s)
{
	return s->port ? s->port : f->port;
}

/* ---- names of enumerations, in JSON order ---------------------------------- */

static const char *const l4_names[] = { "tcp", "udp", NULL };
static const char *const balance_names[] = { "source", "roundrobin", "first", NULL };
/* indexed by enum tn_probe_type; TN_PROBE_NONE is JSON null */
static const char *const probe_names[] = { "", "tcp", "http", "smtp", "mysql", "pgsql", NULL };
static const char *const match_names[] = { "default", "status", "contains", "matches", NULL };
static const char *const method_names[] = { "GET", "HEAD", "OPTIONS", NULL };

/* ---- probe ---------------------------------------------------------------------- */

static const char *const probe_keys[] = {
	"type", "port", "interval", "timeout", "rise", "fall", "method", "url",
	"forceSsl", "match", "pattern", "negate", NULL
};
static const char *const probe_http_keys[] = {
	"method", "url", "forceSsl", "match", "pattern", "negate", NULL
};

static void probe_defaults(struct tn_probe_cfg *p)
{
	memset(p, 0, sizeof(*p));
	p->interval_s = 5;
	p->timeout_s = 2;
	p->rise = 2;
	p->fall = 3;
	snprintf(p->method, sizeof(p->method), "GET");
	p->match = TN_MATCH_DEFAULT;
}

static void probe_free(struct tn_probe_cfg *p)
{
	free(p->url);
	free(p->pattern);
	p->url = p->pattern = NULL;
}

/* false when "type" was given but wrong (its error already reported) */
static bool parse_probe_type(struct ctx *x, json_object *o, const char *path, struct tn_probe_cfg *p)
{
	json_object *v = field(o, "type");
	char g[GOT_LEN];
	int i;

	if (!v || json_object_get_type(v) == json_type_null)
		return true;
	if (str_is(v, "oco") || str_is(v, "internal")) {
		fail(x, path, "\"%s\" probes are not supported; supported types: "
		     "\"tcp\", \"http\", \"smtp\", \"mysql\", \"pgsql\"", json_object_get_string(v));
		return false;
	}
	i = str_index(v, probe_names);
	if (i > 0) {
		p->type = (enum tn_probe_type)i;
		return true;
	}
	fail(x, path, "must be one of \"tcp\", \"http\", \"smtp\", \"mysql\", \"pgsql\" or null, got %s",
	     got(v, g));
	return false;
}

static void parse_probe_timing(struct ctx *x, json_object *o, const char *path, struct tn_probe_cfg *p)
{
	char pp[PATH_LEN], g[GOT_LEN];
	json_object *v;
	double d;

	v = field(o, "interval");
	if (v && want_number(x, v, path_key(pp, path, "interval"), &d)) {
		if (d < 0.1 || d > 86400)
			fail(x, pp, "must be 0.1..86400 seconds, got %s", got(v, g));
		else
			p->interval_s = d;
	}
	/* a probe outliving its interval would overlap the next one */
	p->timeout_s = p->interval_s < 2 ? p->interval_s : 2;
	v = field(o, "timeout");
	if (v && want_number(x, v, path_key(pp, path, "timeout"), &d)) {
		if (d <= 0 || d > 60)
			fail(x, pp, "must be more than 0 and at most 60 seconds, got %s", got(v, g));
		else
			p->timeout_s = d;
	}
	v = field(o, "rise");
	if (v)
		want_int(x, v, path_key(pp, path, "rise"), 1, 100, &p->rise);
	v = field(o, "fall");
	if (v)
		want_int(x, v, path_key(pp, path, "fall"), 1, 100, &p->fall);
	v = field(o, "port");
	if (v)
		want_u16(x, v, path_key(pp, path, "port"), 0, 65535, &p->port);
}

/* "200, 301,404": 3-digit codes 100..599. Returns how many, 0 if malformed. */
static size_t status_list_count(const char *s)
{
	int digits = 0, code = 0;
	size_t items = 0;

	for (;; s++) {
		if (*s >= '0' && *s <= '9') {
			if (digits == 3)
				return 0;
			code = code * 10 + (*s - '0');
			digits++;
		} else if (*s == ' ' || *s == '\t') {
			continue;
		} else if (*s == ',' || !*s) {
			if (digits != 3 || code < 100 || code > 599)
				return 0;
			items++;
			digits = code = 0;
			if (!*s)
				return items;
		} else {
			return 0;
		}
	}
}

static void check_pattern(struct ctx *x, const char *path, struct tn_probe_cfg *p)
{
	char msg[200];
	regex_t re;
	size_t n;
	int rc;

	switch (p->match) {
	case TN_MATCH_STATUS:
		n = status_list_count(p->pattern);
		if (!n)
			fail(x, path, "must be a comma-separated list of HTTP status codes 100..599, "
			     "got \"%.60s\"", p->pattern);
		else if (n > TN_HTTP_MAX_CODES) /* what the probe engine takes */
			fail(x, path, "at most %d status codes, got %zu", TN_HTTP_MAX_CODES, n);
		break;
	case TN_MATCH_CONTAINS:
		if (!p->pattern[0])
			fail(x, path, "must not be empty");
		break;
	case TN_MATCH_MATCHES:
		rc = regcomp(&re, p->pattern, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			regerror(rc, &re, msg, sizeof(msg));
			fail(x, path, "is not a valid regular expression: %s", msg);
		} else {
			regfree(&re);
		}
		break;
	default:
		break;
	}
}

static void parse_probe_http(struct ctx *x, json_object *o, const char *path, struct tn_probe_cfg *p)
{
	char pp[PATH_LEN], g[GOT_LEN];
	bool match_ok = true;
	const char *s;
	json_object *v;
	int i;

	v = field(o, "method");
	if (v) {
		i = str_index(v, method_names);
		if (i >= 0)
			snprintf(p->method, sizeof(p->method), "%s", method_names[i]);
		else
			fail(x, path_key(pp, path, "method"),
			     "must be one of \"GET\", \"HEAD\", \"OPTIONS\", got %s", got(v, g));
	}
	v = field(o, "url");
	if (v && want_str(x, v, path_key(pp, path, "url"), false, URL_MAX, &s)) {
		if (s[0] != '/')
			fail(x, pp, "must start with \"/\", got %s", got(v, g));
		else if (strpbrk(s, " \t\r\n"))
			/* it goes verbatim into the request line */
			fail(x, pp, "must not contain spaces or line breaks");
		else
			set_str(x, pp, &p->url, s);
	}
	v = field(o, "forceSsl");
	if (v)
		want_bool(x, v, path_key(pp, path, "forceSsl"), &p->force_ssl);
	v = field(o, "negate");
	if (v)
		want_bool(x, v, path_key(pp, path, "negate"), &p->negate);
	v = field(o, "match");
	if (v) {
		i = str_index(v, match_names);
		if (i >= 0)
			p->match = (enum tn_http_match)i;
		else
			fail(x, path_key(pp, path, "match"), "must be one of \"default\", \"status\", "
			     "\"contains\", \"matches\", got %s", got(v, g));
		match_ok = i >= 0;
	}
	path_key(pp, path, "pattern");
	v = field(o, "pattern");
	if (v && want_str(x, v, pp, true, URL_MAX, &s))
		set_str(x, pp, &p->pattern, s);
	if (!match_ok)
		return; /* the pattern's meaning depends on the wrong "match" */
	if (p->match != TN_MATCH_DEFAULT && !p->pattern)
		fail(x, pp, "is required when \"match\" is \"%s\"", match_names[p->match]);
	else if (p->match == TN_MATCH_DEFAULT && p->pattern)
		fail(x, pp, "only applies when \"match\" is \"status\", \"contains\" or \"matches\"");
	else if (p->pattern)
		check_pattern(x, pp, p);
	if ((p->match == TN_MATCH_CONTAINS || p->match == TN_MATCH_MATCHES) && !strcmp(p->method, "HEAD"))
		fail(x, path_key(pp, path, "method"), "a HEAD request gets no response body, and match "
		     "\"%s\" reads the body: use \"GET\" or \"OPTIONS\"", match_names[p->match]);
}

static void parse_probe(struct ctx *x, json_object *o, const char *path, struct tn_probe_cfg *p)
{
	const char *const *k;
	char pp[PATH_LEN];
	bool type_ok;

	if (!o || json_object_get_type(o) == json_type_null || !want_object(x, o, path))
		goto out;
	check_keys(x, o, path, probe_keys);
	type_ok = parse_probe_type(x, o, path_key(pp, path, "type"), p);
	parse_probe_timing(x, o, path, p);
	if (p->type == TN_PROBE_HTTP) {
		parse_probe_http(x, o, path, p);
	} else if (type_ok) {
		/* with a wrong "type", its own error is enough */
		for (k = probe_http_keys; *k; k++)
			if (present(o, *k))
				fail(x, path_key(pp, path, *k), "only applies to \"http\" probes");
	}
out:
	if (!p->url)
		set_str(x, path, &p->url, "/");
}

/* ---- server ------------------------------------------------------------------- */

static const char *const server_keys[] = {
	"serverId", "displayName", "address", "port", "weight", "status", "backup",
	"probe", "mac", NULL
};

static void server_defaults(struct tn_server_cfg *s)
{
	memset(s, 0, sizeof(*s));
	s->weight = 1;
	s->active = true;
	s->probe = true;
}

void tn_server_free(struct tn_server_cfg *s)
{
	if (!s)
		return;
	free(s->display_name);
	memset(s, 0, sizeof(*s));
}

static void parse_server_address(struct ctx *x, json_object *o, const char *path, struct tn_server_cfg *s)
{
	char p[PATH_LEN], g[GOT_LEN];
	json_object *v = field(o, "address");
	const char *str;

	path_key(p, path, "address");
	if (!v) {
		fail(x, p, "is required");
		return;
	}
	if (!want_str(x, v, p, false, 64, &str))
		return;
	if (tn_addr_parse(str, &s->address))
		fail(x, p, "must be an IPv4 or IPv6 address, got %s", got(v, g));
}

static void parse_server_flags(struct ctx *x, json_object *o, const char *path, struct tn_server_cfg *s)
{
	char p[PATH_LEN], g[GOT_LEN];
	const char *str;
	json_object *v;

	v = field(o, "status");
	if (v) {
		if (str_is(v, "active") || str_is(v, "inactive"))
			s->active = str_is(v, "active");
		else
			fail(x, path_key(p, path, "status"),
			     "must be \"active\" or \"inactive\", got %s", got(v, g));
	}
	v = field(o, "backup");
	if (v)
		want_bool(x, v, path_key(p, path, "backup"), &s->backup);
	v = field(o, "probe");
	if (v)
		want_bool(x, v, path_key(p, path, "probe"), &s->probe);
	v = field(o, "mac");
	if (v && want_str(x, v, path_key(p, path, "mac"), true, 64, &str) && str) {
		if (tn_mac_parse(str, s->mac))
			fail(x, p, "must be a MAC address like \"aa:bb:cc:dd:ee:ff\", got %s", got(v, g));
		else
			s->has_mac = true;
	}
}

static void parse_server(struct ctx *x, json_object *o, const char *path, struct tn_server_cfg *s)
{
	char p[PATH_LEN];
	json_object *v;

	server_defaults(s);
	if (!want_object(x, o, path))
		return;
	check_keys(x, o, path, server_keys);
	v = field(o, "serverId");
	if (v)
		want_u32(x, v, path_key(p, path, "serverId"), 0, UINT32_MAX, &s->server_id);
	opt_str(x, o, path, "displayName", TN_NAME_MAX, &s->display_name);
	parse_server_address(x, o, path, s);
	v = field(o, "port");
	if (v)
		want_u16(x, v, path_key(p, path, "port"), 0, 65535, &s->port);
	v = field(o, "weight");
	if (v)
		want_u16(x, v, path_key(p, path, "weight"), 0, 256, &s->weight);
	parse_server_flags(x, o, path, s);
}

int tn_server_from_json(json_object *o, const char *path, struct tn_server_cfg *out, struct tn_errors *errs)
{
	struct ctx x = { .errs = errs };
	struct tn_server_cfg s;

	parse_server(&x, o, path ? path : "", &s);
	if (x.failed) {
		tn_server_free(&s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

/* ---- ids ---------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Give every zero id the lowest id > 0 not taken, in array order. ids[] points
 * into the objects; ids taken explicitly anywhere in the array are skipped.
 */
static int assign_ids(uint32_t **ids, size_t n)
{
	uint32_t *used, next = 1;
	size_t i, m = 0, j = 0;

	used = malloc((n ? n : 1) * sizeof(*used));
	if (!used)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (*ids[i])
			used[m++] = *ids[i];
	qsort(used, m, sizeof(*used), cmp_u32);
	for (i = 0; i < n; i++) {
		if (*ids[i])
			continue;
		for (;;) {
			while (j < m && used[j] < next)
				j++;
			if (j < m && used[j] == next) {
				next++;
				continue;
			}
			break;
		}
		*ids[i] = next++;
	}
	free(used);
	return 0;
}

static void assign_server_ids(struct ctx *x, const char *path, struct tn_farm_cfg *f)
{
	uint32_t **ids;
	size_t i;

	ids = malloc((f->nservers ? f->nservers : 1) * sizeof(*ids));
	if (!ids) {
		fail(x, path, "out of memory");
		return;
	}
	for (i = 0; i < f->nservers; i++)
		ids[i] = &f->servers[i].server_id;
	if (assign_ids(ids, f->nservers))
		fail(x, path, "out of memory");
	free(ids);
}

/* ---- farm ---------------------------------------------------------------------- */

static const char *const farm_keys[] = {
	"farmId", "type", "displayName", "port", "balance", "stickiness", "zone",
	"probe", "servers", NULL
};

void tn_farm_free(struct tn_farm_cfg *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nservers; i++)
		tn_server_free(&f->servers[i]);
	free(f->servers);
	free(f->display_name);
	free(f->zone);
	probe_free(&f->probe);
	memset(f, 0, sizeof(*f));
}

static void farm_defaults(struct tn_farm_cfg *f)
{
	memset(f, 0, sizeof(*f));
	f->type = TN_L4_TCP;
	f->balance = TN_BAL_SOURCE;
	f->stickiness = TN_STICK_NONE;
	probe_defaults(&f->probe);
}

/* "type" of a farm or a frontend: required, tcp or udp. */
static void parse_l4_type(struct ctx *x, json_object *o, const char *path, const char *what,
			  enum tn_l4_type *out)
{
	json_object *v = field(o, "type");
	char p[PATH_LEN], g[GOT_LEN];
	int i;

	path_key(p, path, "type");
	if (!v) {
		fail(x, p, "is required (\"tcp\" or \"udp\")");
		return;
	}
	if (str_is(v, "http")) {
		fail(x, p, "\"http\" is not supported: HTTP %s need an L7 proxy, which Tenace is not; "
		     "use \"tcp\" or \"udp\"", what);
		return;
	}
	i = str_index(v, l4_names);
	if (i < 0)
		fail(x, p, "must be \"tcp\" or \"udp\", got %s", got(v, g));
	else
		*out = (enum tn_l4_type)i;
}

static void parse_balance(struct ctx *x, json_object *o, const char *path, struct tn_farm_cfg *f)
{
	json_object *v = field(o, "balance");
	char p[PATH_LEN], g[GOT_LEN];
	int i;

	if (!v)
		return;
	path_key(p, path, "balance");
	if (str_is(v, "leastconn")) {
		fail(x, p, "\"leastconn\" is not supported: a direct-server-return L4 balancer never "
		     "sees connections end, so it cannot count them; use \"source\", \"roundrobin\" "
		     "or \"first\"");
		return;
	}
	i = str_index(v, balance_names);
	if (i < 0)
		fail(x, p, "must be one of \"source\", \"roundrobin\", \"first\", got %s", got(v, g));
	else
		f->balance = (enum tn_balance)i;
}

static void parse_stickiness(struct ctx *x, json_object *o, const char *path, struct tn_farm_cfg *f)
{
	json_object *v = field(o, "stickiness");
	char p[PATH_LEN], g[GOT_LEN];

	if (!v || json_object_get_type(v) == json_type_null)
		return;
	path_key(p, path, "stickiness");
	if (str_is(v, "cookie"))
		fail(x, p, "\"cookie\" is not supported: cookies need an L7 (HTTP) proxy, which Tenace "
		     "is not; use \"sourceIp\" or null");
	else if (str_is(v, "sourceIp"))
		f->stickiness = TN_STICK_SOURCE_IP;
	else
		fail(x, p, "must be \"sourceIp\" or null, got %s", got(v, g));
}

static void parse_farm_servers(struct ctx *x, json_object *o, const char *path, struct tn_farm_cfg *f)
{
	json_object *v = field(o, "servers");
	char p[PATH_LEN], pi[PATH_LEN];
	size_t i, n;

	if (!v || json_object_get_type(v) == json_type_null)
		return;
	if (!want_array(x, v, path_key(p, path, "servers")))
		return;
	n = json_object_array_length(v);
	if (!n)
		return;
	f->servers = calloc(n, sizeof(*f->servers));
	if (!f->servers) {
		fail(x, p, "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		parse_server(x, json_object_array_get_idx(v, i), path_idx(pi, p, i), &f->servers[i]);
	f->nservers = n;
	assign_server_ids(x, p, f);
}

static void parse_farm(struct ctx *x, json_object *o, const char *path, struct tn_farm_cfg *f)
{
	char p[PATH_LEN];
	json_object *v;

	farm_defaults(f);
	if (!want_object(x, o, path)) {
		set_str(x, path, &f->probe.url, "/");
		return;
	}
	check_keys(x, o, path, farm_keys);
	v = field(o, "farmId");
	if (v)
		want_u32(x, v, path_key(p, path, "farmId"), 0, UINT32_MAX, &f->farm_id);
	parse_l4_type(x, o, path, "farms", &f->type);
	opt_str(x, o, path, "displayName", TN_NAME_MAX, &f->display_name);
	v = field(o, "port");
	if (v)
		want_u16(x, v, path_key(p, path, "port"), 0, 65535, &f->port);
	parse_balance(x, o, path, f);
	parse_stickiness(x, o, path, f);
	opt_str(x, o, path, "zone", TN_NAME_MAX, &f->zone);
	parse_probe(x, field(o, "probe"), path_key(p, path, "probe"), &f->probe);
	parse_farm_servers(x, o, path, f);
}

/* Two servers of one farm on one address and effective port: the data plane
 * could not tell them apart. */
static void check_server_duplicate(struct ctx *x, const struct tn_farm_cfg *f, size_t i,
				   const char *p, const char *ps)
{
	const struct tn_server_cfg *s = &f->servers[i];
	char a[INET6_ADDRSTRLEN];
	uint16_t port = tn_server_port(f, s);
	size_t j;

	if (!s->address.family)
		return; /* its address is already wrong */
	for (j = 0; j < i; j++) {
		const struct tn_server_cfg *o = &f->servers[j];

		if (memcmp(&o->address, &s->address, sizeof(s->address)) || tn_server_port(f, o) != port)
			continue;
		tn_addr_format(&s->address, a, sizeof(a));
		if (port)
			fail(x, ps, "same address and port as %s[%zu] (%s port %u): a farm cannot list "
			     "one server twice", p, j, a, port);
		else
			fail(x, ps, "same address as %s[%zu] (%s), and neither they nor the farm set a "
			     "port: a farm cannot list one server twice", p, j, a);
		return;
	}
}

/* Rules on a farm's server list: the API also runs them after adding a server. */
static void check_farm_servers(struct ctx *x, const struct tn_farm_cfg *f, const char *path)
{
	char p[PATH_LEN], ps[PATH_LEN], pid[PATH_LEN];
	size_t i, j;

	path_key(p, path, "servers");
	if (f->nservers > TN_MAX_SERVERS) {
		fail(x, p, "at most %u servers per farm, got %zu", TN_MAX_SERVERS, f->nservers);
		return;
	}
	for (i = 0; i < f->nservers; i++) {
		path_key(pid, path_idx(ps, p, i), "serverId");
		check_server_duplicate(x, f, i, p, ps);
		if (!f->servers[i].server_id) {
			fail(x, pid, "must be 1..%u, got 0", UINT32_MAX);
			continue;
		}
		for (j = 0; j < i; j++)
			if (f->servers[j].server_id == f->servers[i].server_id) {
				fail(x, pid, "serverId %u is already used by %s[%zu]",
				     f->servers[i].server_id, p, j);
				break;
			}
	}
}

/* The probe engine needs a port for every server it probes: probe.port,
 * else the server's, else the farm's. Run on a farm without other errors
 * (a wrong port leaves 0 and would be blamed twice). */
static void check_probe_port(struct ctx *x, const struct tn_farm_cfg *f, const char *path)
{
	static const char msg[] = "no port to probe: set probe.port, the farm's port or the server's port";
	char p[PATH_LEN], ps[PATH_LEN], pp[PATH_LEN];
	size_t i, probed = 0, portless = 0;

	if (f->probe.type == TN_PROBE_NONE || f->probe.port || f->port)
		return;
	for (i = 0; i < f->nservers; i++) {
		if (!f->servers[i].probe)
			continue;
		probed++;
		portless += !f->servers[i].port;
	}
	if (!portless)
		return;
	if (portless == probed) { /* nothing says which port: one error at the probe */
		fail(x, path_key(pp, path_key(p, path, "probe"), "port"), "%s", msg);
		return;
	}
	/* some servers have a port: name those that do not */
	path_key(p, path, "servers");
	for (i = 0; i < f->nservers; i++)
		if (f->servers[i].probe && !f->servers[i].port)
			fail(x, path_key(pp, path_idx(ps, p, i), "port"), "%s", msg);
}

int tn_farm_from_json(json_object *o, const char *path, struct tn_farm_cfg *out, struct tn_errors *errs)
{
	struct ctx x = { .errs = errs };
	struct tn_farm_cfg f;

	path = path ? path : "";
	parse_farm(&x, o, path, &f);
	check_farm_servers(&x, &f, path);
	if (!x.failed)
		check_probe_port(&x, &f, path);
	if (x.failed) {
		tn_farm_free(&f);
		return -EINVAL;
	}
	*out = f;
	return 0;
}

/* ---- frontend ------------------------------------------------------------------ */

static const char *const frontend_keys[] = {
	"frontendId", "type", "displayName", "vip", "port", "defaultFarmId", "zone",
	"allowedSource", "deniedSource", "disabled", NULL
};

void tn_frontend_free(struct tn_frontend_cfg *f)
{
	if (!f)
		return;
	free(f->display_name);
	free(f->vips);
	free(f->port);
	free(f->ports);
	free(f->zone);
	free(f->allowed_source);
	free(f->denied_source);
	memset(f, 0, sizeof(*f));
}

static void parse_vip_one(struct ctx *x, json_object *v, const char *path, struct tn_frontend_cfg *f)
{
	char g[GOT_LEN], a[INET6_ADDRSTRLEN];
	struct tn_addr addr;
	const char *s;
	size_t i;

	if (!want_str(x, v, path, false, 64, &s))
		return;
	if (tn_addr_parse(s, &addr)) {
		fail(x, path, "must be an IPv4 or IPv6 address, got %s", got(v, g));
		return;
	}
	for (i = 0; i < f->nvips; i++)
		if (!memcmp(&f->vips[i], &addr, sizeof(addr))) {
			tn_addr_format(&addr, a, sizeof(a));
			fail(x, path, "%s is listed twice", a);
			return;
		}
	f->vips[f->nvips++] = addr;
}

static void parse_vips(struct ctx *x, json_object *o, const char *path, struct tn_frontend_cfg *f)
{
	json_object *v = field(o, "vip");
	char p[PATH_LEN], pi[PATH_LEN];
	size_t i, n;

	path_key(p, path, "vip");
	if (!v) {
		fail(x, p, "is required");
		return;
	}
	if (json_object_get_type(v) == json_type_string) {
		f->vips = calloc(1, sizeof(*f->vips));
		if (!f->vips)
			fail(x, p, "out of memory");
		else
			parse_vip_one(x, v, p, f);
		return;
	}
	if (json_object_get_type(v) != json_type_array) {
		char g[GOT_LEN];

		fail(x, p, "must be an address or an array of addresses, got %s", got(v, g));
		return;
	}
	n = json_object_array_length(v);
	if (!n) {
		fail(x, p, "must list at least one address");
		return;
	}
	f->vips = calloc(n, sizeof(*f->vips));
	if (!f->vips) {
		fail(x, p, "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		parse_vip_one(x, json_object_array_get_idx(v, i), path_idx(pi, p, i), f);
}

static void parse_frontend_port(struct ctx *x, json_object *o, const char *path, struct tn_frontend_cfg *f)
{
	json_object *v = field(o, "port");
	char p[PATH_LEN], g[GOT_LEN], err[200], num[8];
	const char *s;
	uint16_t port;

	if (!v || json_object_get_type(v) == json_type_null)
		return;
	path_key(p, path, "port");
	if (json_object_get_type(v) == json_type_int || json_object_get_type(v) == json_type_double) {
		/* a bare number is a single port, kept as its string form */
		if (!want_u16(x, v, p, 1, 65535, &port))
			return;
		snprintf(num, sizeof(num), "%u", port);
		s = num;
	} else if (json_object_get_type(v) != json_type_string) {
		fail(x, p, "must be a string like \"80\", \"80,443\" or \"8000-8100\", or null, got %s",
		     got(v, g));
		return;
	} else if (!want_str(x, v, p, false, 1024, &s)) {
		return;
	}
	if (tn_port_spec_parse(s, &f->ports, &f->nports, err, sizeof(err))) {
		fail(x, p, "%s", err);
		return;
	}
	set_str(x, p, &f->port, s);
}

static bool filter_list_ok(struct ctx *x, const char *path, size_t n)
{
	if (n <= FILTER_LIST_MAX)
		return true;
	fail(x, path, "at most %u entries, got %zu", FILTER_LIST_MAX, n);
	return false;
}

static void parse_cidrs(struct ctx *x, json_object *o, const char *path, const char *key,
			struct tn_cidr **out, size_t *nout)
{
	json_object *v = field(o, key);
	char p[PATH_LEN], pi[PATH_LEN], g[GOT_LEN];
	const char *s;
	size_t i, n;

	if (!v || json_object_get_type(v) == json_type_null)
		return;
	if (!want_array(x, v, path_key(p, path, key)))
		return;
	n = json_object_array_length(v);
	if (!n || !filter_list_ok(x, p, n))
		return;
	*out = calloc(n, sizeof(**out));
	if (!*out) {
		fail(x, p, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);

		path_idx(pi, p, i);
		if (!want_str(x, e, pi, false, 64, &s))
			continue;
		if (tn_cidr_parse(s, &(*out)[*nout]))
			fail(x, pi, "must be an IPv4 or IPv6 address or prefix (\"10.0.0.0/8\"), got %s",
			     got(e, g));
		else
			(*nout)++;
	}
}

static void parse_frontend(struct ctx *x, json_object *o, const char *path, struct tn_frontend_cfg *f)
{
	char p[PATH_LEN];
	json_object *v;

	memset(f, 0, sizeof(*f));
	if (!want_object(x, o, path))
		return;
	check_keys(x, o, path, frontend_keys);
	v = field(o, "frontendId");
	if (v)
		want_u32(x, v, path_key(p, path, "frontendId"), 0, UINT32_MAX, &f->frontend_id);
	parse_l4_type(x, o, path, "frontends", &f->type);
	opt_str(x, o, path, "displayName", TN_NAME_MAX, &f->display_name);
	parse_vips(x, o, path, f);
	parse_frontend_port(x, o, path, f);
	v = field(o, "defaultFarmId");
	path_key(p, path, "defaultFarmId");
	if (!v)
		fail(x, p, "is required");
	else
		want_u32(x, v, p, 1, UINT32_MAX, &f->default_farm_id);
	opt_str(x, o, path, "zone", TN_NAME_MAX, &f->zone);
	parse_cidrs(x, o, path, "allowedSource", &f->allowed_source, &f->nallowed);
	parse_cidrs(x, o, path, "deniedSource", &f->denied_source, &f->ndenied);
	v = field(o, "disabled");
	if (v)
		want_bool(x, v, path_key(p, path, "disabled"), &f->disabled);
}

int tn_frontend_from_json(json_object *o, const char *path, struct tn_frontend_cfg *out,
			  struct tn_errors *errs)
{
	struct ctx x = { .errs = errs };
	struct tn_frontend_cfg f;

	parse_frontend(&x, o, path ? path : "", &f);
	if (x.failed) {
		tn_frontend_free(&f);
		return -EINVAL;
	}
	*out = f;
	return 0;
}

/* ---- whole document ----------------------------------------------------------- */

static const char *const config_keys[] = {
	"zone", "interfaces", "hashSeed", "tableSize", "conntrack", "farms", "frontends", "bgp", NULL
};
static const char *const conntrack_keys[] = { "size", "tcpTimeout", "udpTimeout", NULL };

void tn_config_free(struct tn_config *c)
{
	size_t i;

	if (!c)
		return;
	free(c->zone);
	for (i = 0; i < c->ninterfaces; i++)
		free(c->interfaces[i]);
	free(c->interfaces);
	for (i = 0; i < c->nfarms; i++)
		tn_farm_free(&c->farms[i]);
	free(c->farms);
	for (i = 0; i < c->nfrontends; i++)
		tn_frontend_free(&c->frontends[i]);
	free(c->frontends);
	tn_config_bgp_free(c);
	memset(c, 0, sizeof(*c));
}

int tn_config_init(struct tn_config *c)
{
	memset(c, 0, sizeof(*c));
	c->zone = strdup("default");
	if (!c->zone)
		return -ENOMEM;
	c->table_size = TN_TABLE_SIZE_DEFAULT;
	c->ct_size = TN_CT_SIZE_DEFAULT;
	c->tcp_timeout_s = TN_TCP_TIMEOUT_DEFAULT;
	c->udp_timeout_s = TN_UDP_TIMEOUT_DEFAULT;
	return 0;
}

/* What the kernel accepts as a device name (dev_valid_name). */
static bool ifname_ok(const char *s)
{
	if (!*s || strlen(s) > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || *s == '\t' || *s == '\n' ||
		    (unsigned char)*s < 0x20)
			return false;
	return true;
}

static void parse_interfaces(struct ctx *x, json_object *v, struct tn_config *c)
{
	char p[PATH_LEN], g[GOT_LEN];
	const char *s;
	size_t i, j, n;

	if (!v || !want_array(x, v, "interfaces"))
		return;
	n = json_object_array_length(v);
	if (n > TN_MAX_IFACES) {
		fail(x, "interfaces", "at most %u interfaces, got %zu", TN_MAX_IFACES, n);
		return;
	}
	if (!n)
		return;
	c->interfaces = calloc(n, sizeof(*c->interfaces));
	if (!c->interfaces) {
		fail(x, "interfaces", "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);

		path_idx(p, "interfaces", i);
		if (!want_str(x, e, p, false, 64, &s))
			continue;
		if (!ifname_ok(s)) {
			fail(x, p, "must be an interface name of 1..15 characters, got %s", got(e, g));
			continue;
		}
		for (j = 0; j < c->ninterfaces; j++)
			if (!strcmp(c->interfaces[j], s))
				break;
		if (j < c->ninterfaces) {
			fail(x, p, "%s is listed twice", got(e, g));
			continue;
		}
		if (set_str(x, p, &c->interfaces[c->ninterfaces], s))
			c->ninterfaces++;
	}
}

static void parse_conntrack(struct ctx *x, json_object *v, struct tn_config *c)
{
	json_object *f;

	if (!v || !want_object(x, v, "conntrack"))
		return;
	check_keys(x, v, "conntrack", conntrack_keys);
	f = field(v, "size");
	if (f)
		want_u32(x, f, "conntrack.size", 1024, 100000000, &c->ct_size);
	f = field(v, "tcpTimeout");
	if (f)
		want_u32(x, f, "conntrack.tcpTimeout", 1, 86400, &c->tcp_timeout_s);
	f = field(v, "udpTimeout");
	if (f)
		want_u32(x, f, "conntrack.udpTimeout", 1, 86400, &c->udp_timeout_s);
}

static void parse_settings(struct ctx *x, json_object *root, struct tn_config *c)
{
	json_object *v;
	const char *s;

	v = field(root, "zone");
	if (v && want_str(x, v, "zone", false, TN_NAME_MAX, &s)) {
		if (!s[0])
			fail(x, "zone", "must not be empty");
		else
			set_str(x, "zone", &c->zone, s);
	}
	parse_interfaces(x, field(root, "interfaces"), c);
	v = field(root, "hashSeed");
	if (v)
		want_u32(x, v, "hashSeed", 0, UINT32_MAX, &c->hash_seed);
	v = field(root, "tableSize");
	if (v && want_u32(x, v, "tableSize", 1021, TN_TABLE_SIZE_MAX, &c->table_size) &&
	    !tn_is_prime(c->table_size)) {
		/* Maglev needs a prime so that every permutation covers the table */
		fail(x, "tableSize", "must be a prime number, got %u", c->table_size);
		c->table_size = TN_TABLE_SIZE_DEFAULT;
	}
	parse_conntrack(x, field(root, "conntrack"), c);
}

/* Per-object failure marks, so that cross rules do not repeat their errors. */
struct marks {
	bool *farm_bad;
	bool *frontend_bad;
};

static void parse_farms(struct ctx *x, json_object *v, struct tn_config *c, struct marks *m)
{
	char p[PATH_LEN];
	size_t i, n;

	if (!v || json_object_get_type(v) == json_type_null || !want_array(x, v, "farms"))
		return;
	n = json_object_array_length(v);
	if (!n)
		return;
	c->farms = calloc(n, sizeof(*c->farms));
	m->farm_bad = calloc(n, sizeof(bool));
	if (!c->farms || !m->farm_bad) {
		fail(x, "farms", "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned before = x->failed;

		parse_farm(x, json_object_array_get_idx(v, i), path_idx(p, "farms", i), &c->farms[i]);
		m->farm_bad[i] = x->failed != before;
		c->nfarms++;
	}
}

static void parse_frontends(struct ctx *x, json_object *v, struct tn_config *c, struct marks *m)
{
	char p[PATH_LEN];
	size_t i, n;

	if (!v || json_object_get_type(v) == json_type_null || !want_array(x, v, "frontends"))
		return;
	n = json_object_array_length(v);
	if (!n)
		return;
	c->frontends = calloc(n, sizeof(*c->frontends));
	m->frontend_bad = calloc(n, sizeof(bool));
	if (!c->frontends || !m->frontend_bad) {
		fail(x, "frontends", "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned before = x->failed;

		parse_frontend(x, json_object_array_get_idx(v, i), path_idx(p, "frontends", i),
			       &c->frontends[i]);
		m->frontend_bad[i] = x->failed != before;
		c->nfrontends++;
	}
}

/* Farm and frontend ids are per type (a tcp farm 1 and a udp farm 1 coexist). */
static void assign_config_ids(struct ctx *x, struct tn_config *c)
{
	size_t n = c->nfarms > c->nfrontends ? c->nfarms : c->nfrontends, i, k;
	uint32_t **ids = malloc((n ? n : 1) * sizeof(*ids));
	int t;

	if (!ids) {
		fail(x, "", "out of memory");
		return;
	}
	for (t = TN_L4_TCP; t <= TN_L4_UDP; t++) {
		for (i = k = 0; i < c->nfarms; i++)
			if (c->farms[i].type == (enum tn_l4_type)t)
				ids[k++] = &c->farms[i].farm_id;
		if (assign_ids(ids, k))
			fail(x, "farms", "out of memory");
		for (i = k = 0; i < c->nfrontends; i++)
			if (c->frontends[i].type == (enum tn_l4_type)t)
				ids[k++] = &c->frontends[i].frontend_id;
		if (assign_ids(ids, k))
			fail(x, "frontends", "out of memory");
	}
	free(ids);
}

/* ---- cross-object rules -------------------------------------------------------- */

/* "frontend 2 (\"web\")" or "frontend 2": how messages name an object. */
static const char *describe(char *buf, size_t len, const char *kind, uint32_t id, const char *name)
{
	if (name && name[0])
		snprintf(buf, len, "%s %u (\"%.40s\")", kind, id, name);
	else
		snprintf(buf, len, "%s %u", kind, id);
	return buf;
}

static void check_farms(struct ctx *x, const struct tn_config *c, const struct marks *m)
{
	char p[PATH_LEN], pid[PATH_LEN];
	size_t i, j;

	if (c->nfarms > TN_MAX_FARMS)
		fail(x, "farms", "at most %u farms, got %zu", TN_MAX_FARMS, c->nfarms);
	for (i = 0; i < c->nfarms; i++) {
		const struct tn_farm_cfg *f = &c->farms[i];

		path_idx(p, "farms", i);
		check_farm_servers(x, f, p);
		if (!(m && m->farm_bad && m->farm_bad[i]))
			check_probe_port(x, f, p);
		path_key(pid, p, "farmId");
		if (!f->farm_id) {
			fail(x, pid, "must be 1..%u, got 0", UINT32_MAX);
			continue;
		}
		for (j = 0; j < i; j++)
			if (c->farms[j].farm_id == f->farm_id && c->farms[j].type == f->type) {
				fail(x, pid, "%s farm %u is already defined by farms[%zu]",
				     tn_l4_type_name(f->type), f->farm_id, j);
				break;
			}
	}
}

static bool farm_has_family(const struct tn_farm_cfg *f, uint8_t family)
{
	size_t i;

	for (i = 0; i < f->nservers; i++)
		if (f->servers[i].address.family == family)
			return true;
	return false;
}

static void check_frontend_farm(struct ctx *x, const struct tn_config *c, size_t i, const struct marks *m)
{
	const struct tn_frontend_cfg *fe = &c->frontends[i];
	char p[PATH_LEN], pv[PATH_LEN], pk[PATH_LEN], d1[80], d2[80], a[INET6_ADDRSTRLEN];
	const struct tn_farm_cfg *farm = NULL;
	size_t j, k;

	path_key(p, path_idx(pv, "frontends", i), "defaultFarmId");
	for (j = 0; j < c->nfarms; j++) {
		if (c->farms[j].farm_id != fe->default_farm_id)
			continue;
		/* the farm's own errors already explain a mismatch */
		if (m && m->farm_bad && m->farm_bad[j])
			return;
		if (c->farms[j].type == fe->type) {
			farm = &c->farms[j];
			break;
		}
	}
	if (!farm) {
		const struct tn_farm_cfg *other = tn_config_farm(c, !fe->type, fe->default_farm_id);

		if (other)
			fail(x, p, "farm %u is a %s farm; a %s frontend needs a %s farm",
			     fe->default_farm_id, tn_l4_type_name(other->type),
			     tn_l4_type_name(fe->type), tn_l4_type_name(fe->type));
		else
			fail(x, p, "no %s farm has farmId %u", tn_l4_type_name(fe->type), fe->default_farm_id);
		return;
	}
	/* an empty farm is allowed: servers are added after (the API's order) */
	if (!farm->nservers)
		return;
	for (k = 0; k < fe->nvips; k++) {
		uint8_t fam = fe->vips[k].family;

		if (farm_has_family(farm, fam))
			continue;
		tn_addr_format(&fe->vips[k], a, sizeof(a));
		fail(x, path_idx(p, path_key(pk, pv, "vip"), k),
		     "%s has VIP %s (IPv%u) but its %s has no IPv%u server",
		     describe(d1, sizeof(d1), "frontend", fe->frontend_id, fe->display_name), a, fam,
		     describe(d2, sizeof(d2), "farm", farm->farm_id, farm->display_name), fam);
	}
}

/* First port the two frontends both take, or -1; 0 means "every port" on both. */
long tn_ports_overlap(const struct tn_frontend_cfg *a, const struct tn_frontend_cfg *b)
{
	size_t i, j;

	if (!a->nports && !b->nports)
		return 0;
	if (!a->nports)
		return b->ports[0].first;
	if (!b->nports)
		return a->ports[0].first;
	for (i = 0; i < a->nports; i++)
		for (j = 0; j < b->nports; j++)
			if (a->ports[i].first <= b->ports[j].last &&
			    b->ports[j].first <= a->ports[i].last)
				return a->ports[i].first > b->ports[j].first ?
				       a->ports[i].first : b->ports[j].first;
	return -1;
}

static const struct tn_addr *shared_vip(const struct tn_frontend_cfg *a, const struct tn_frontend_cfg *b)
{
	size_t i, j;

	for (i = 0; i < a->nvips; i++)
		for (j = 0; j < b->nvips; j++)
			if (!memcmp(&a->vips[i], &b->vips[j], sizeof(a->vips[i])))
				return &a->vips[i];
	return NULL;
}

static void check_vip_overlap(struct ctx *x, const struct tn_config *c, size_t i, const struct marks *m)
{
	const struct tn_frontend_cfg *a = &c->frontends[i];
	char p[PATH_LEN], d1[80], d2[80], addr[INET6_ADDRSTRLEN], port[24];
	size_t j;

	for (j = 0; j < i; j++) {
		const struct tn_frontend_cfg *b = &c->frontends[j];
		const struct tn_addr *shared;
		long pt;

		/* a disabled frontend holds its VIP entries too (they drop as
		 * "disabled"): it conflicts like an enabled one */
		if (b->type != a->type || (m && m->frontend_bad && m->frontend_bad[j]))
			continue;
		shared = shared_vip(a, b);
		if (!shared)
			continue;
		pt = tn_ports_overlap(a, b);
		if (pt < 0)
			continue;
		tn_addr_format(shared, addr, sizeof(addr));
		if (pt)
			snprintf(port, sizeof(port), "port %ld", pt);
		else
			snprintf(port, sizeof(port), "every port");
		fail(x, path_idx(p, "frontends", i), "%s and %s (frontends[%zu]) both take %s %s %s",
		     describe(d1, sizeof(d1), "frontend", a->frontend_id, a->display_name),
		     describe(d2, sizeof(d2), "frontend", b->frontend_id, b->display_name), j,
		     tn_l4_type_name(a->type), addr, port);
	}
}

static uint64_t frontend_vip_entries(const struct tn_frontend_cfg *f)
{
	uint64_t ports = 0;
	size_t i;

	for (i = 0; i < f->nports; i++)
		ports += (uint64_t)f->ports[i].last - f->ports[i].first + 1;
	return (uint64_t)f->nvips * (f->nports ? ports : 1);
}

static void check_frontends(struct ctx *x, const struct tn_config *c, const struct marks *m)
{
	char p[PATH_LEN], pid[PATH_LEN], pl[PATH_LEN];
	uint64_t entries = 0, allowed = 0, denied = 0;
	size_t i, j;

	for (i = 0; i < c->nfrontends; i++) {
		const struct tn_frontend_cfg *fe = &c->frontends[i];

		entries += frontend_vip_entries(fe);
		allowed += (uint64_t)fe->nvips * fe->nallowed;
		denied += (uint64_t)fe->nvips * fe->ndenied;
		path_key(pid, path_idx(p, "frontends", i), "frontendId");
		if (!fe->frontend_id)
			fail(x, pid, "must be 1..%u, got 0", UINT32_MAX);
		for (j = 0; j < i && fe->frontend_id; j++)
			if (c->frontends[j].frontend_id == fe->frontend_id &&
			    c->frontends[j].type == fe->type) {
				fail(x, pid, "%s frontend %u is already defined by frontends[%zu]",
				     tn_l4_type_name(fe->type), fe->frontend_id, j);
				break;
			}
		if (m && m->frontend_bad && m->frontend_bad[i])
			continue;
		/* parsing already checked these; a model built in code was not parsed */
		filter_list_ok(x, path_key(pl, p, "allowedSource"), fe->nallowed);
		filter_list_ok(x, path_key(pl, p, "deniedSource"), fe->ndenied);
		check_frontend_farm(x, c, i, m);
		check_vip_overlap(x, c, i, m);
	}
	if (entries > VIP_PORT_ENTRIES_MAX)
		fail(x, "frontends", "at most %u VIP entries (address, port), got %llu "
		     "(each port of a range counts)", VIP_PORT_ENTRIES_MAX, (unsigned long long)entries);
	if (allowed > TN_MAX_FILTERS)
		fail(x, "frontends", "at most %u allowedSource entries in all, got %llu "
		     "(the list of a frontend counts once per VIP)", TN_MAX_FILTERS,
		     (unsigned long long)allowed);
	if (denied > TN_MAX_FILTERS)
		fail(x, "frontends", "at most %u deniedSource entries in all, got %llu "
		     "(the list of a frontend counts once per VIP)", TN_MAX_FILTERS,
		     (unsigned long long)denied);
}

static int validate(struct ctx *x, const struct tn_config *c, const struct marks *m)
{
	unsigned before = x->failed;

	check_farms(x, c, m);
	check_frontends(x, c, m);
	return x->failed != before ? -EINVAL : 0;
}

int tn_config_validate(const struct tn_config *c, struct tn_errors *errs)
{
	struct ctx x = { .errs = errs };

	return validate(&x, c, NULL);
}

int tn_config_from_json(json_object *root, struct tn_config *out, struct tn_errors *errs)
{
	struct ctx x = { .errs = errs };
	struct marks m = { 0 };
	struct tn_config c;

	if (tn_config_init(&c)) {
		fail(&x, "", "out of memory");
		return -ENOMEM;
	}
	if (!want_object(&x, root, ""))
		goto bad;
	check_keys(&x, root, "", config_keys);
	parse_settings(&x, root, &c);
	parse_farms(&x, field(root, "farms"), &c, &m);
	parse_frontends(&x, field(root, "frontends"), &c, &m);
	x.failed += tn_config_bgp_parse(root, &c, x.errs);
	assign_config_ids(&x, &c);
	validate(&x, &c, &m);
	free(m.farm_bad);
	free(m.frontend_bad);
	if (x.failed)
		goto bad;
	*out = c;
	return 0;
bad:
	tn_config_free(&c);
	return -EINVAL;
}

/* ---- text and files ------------------------------------------------------------- */

static int parse_text(const char *text, size_t len, const char *origin, struct tn_config *out,
		      struct tn_errors *errs)
{
	struct ctx x = { .errs = errs };
	char err[TN_ERROR_MESSAGE_MAX];
	json_object *root;
	int rc;

	/* the one strict reader files and API bodies share (lib/json.h) */
	root = tn_json_parse(text, len, err, sizeof(err));
	if (!root) {
		fail(&x, origin, "%s", err);
		return -EINVAL;
	}
	rc = tn_config_from_json(root, out, errs);
	json_object_put(root);
	return rc;
}

int tn_config_parse_string(const char *text, struct tn_config *out, struct tn_errors *errs)
{
	return parse_text(text ? text : "", text ? strlen(text) : 0, NULL, out, errs);
}

int tn_config_load_file(const char *path, struct tn_config *out, struct tn_errors *errs)
{
	struct ctx x = { .errs = errs };
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = tn_file_read(path, FILE_MAX, &text, &len);
	if (rc) {
		fail(&x, path, "cannot read: %s", strerror(-rc));
		return rc;
	}
	rc = parse_text(text, len, path, out, errs);
	free(text);
	return rc;
}

int tn_config_save_file(const struct tn_config *c, const char *path)
{
	json_object *j = tn_config_to_json(c);
	const char *text;
	char *copy = NULL;
	int rc;

	if (!j)
		return -ENOMEM;
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = text && asprintf(&copy, "%s\n", text) >= 0 ?
	     tn_file_write_atomic(path, copy, strlen(copy), 0644) : -ENOMEM;
	free(copy);
	json_object_put(j);
	return rc;
}

/* ---- to JSON ----------------------------------------------------------------------- */

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* Shortest text that reads back as the same double: 0.1, not 0.10000000000000001. */
static json_object *new_number(double d)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, sizeof(buf), "%.17g", d);
	return json_object_new_double_s(d, buf);
}

static json_object *addr_json(const struct tn_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	tn_addr_format(a, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static json_object *cidrs_json(const struct tn_cidr *v, size_t n)
{
	json_object *arr = json_object_new_array();
	char buf[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN + 8];
	size_t i;

	for (i = 0; i < n; i++) {
		tn_addr_format(&v[i].addr, buf, sizeof(buf));
		snprintf(s, sizeof(s), "%s/%u", buf, v[i].prefixlen);
		json_object_array_add(arr, json_object_new_string(s));
	}
	return arr;
}

static json_object *probe_json(const struct tn_probe_cfg *p)
{
	json_object *o = json_object_new_object();
	int t = p->type;

	json_object_object_add(o, "type", t > 0 && t <= TN_PROBE_PGSQL ?
			       json_object_new_string(probe_names[t]) : NULL);
	json_object_object_add(o, "port", json_object_new_int(p->port));
	json_object_object_add(o, "interval", new_number(p->interval_s));
	json_object_object_add(o, "timeout", new_number(p->timeout_s));
	json_object_object_add(o, "rise", json_object_new_int(p->rise));
	json_object_object_add(o, "fall", json_object_new_int(p->fall));
	if (p->type != TN_PROBE_HTTP)
		return o; /* the other fields only mean something to HTTP probes */
	json_object_object_add(o, "method", json_object_new_string(p->method[0] ? p->method : "GET"));
	json_object_object_add(o, "url", json_object_new_string(p->url ? p->url : "/"));
	json_object_object_add(o, "forceSsl", json_object_new_boolean(p->force_ssl));
	json_object_object_add(o, "match", json_object_new_string(
		p->match <= TN_MATCH_MATCHES ? match_names[p->match] : "default"));
	json_object_object_add(o, "pattern", str_or_null(p->pattern));
	json_object_object_add(o, "negate", json_object_new_boolean(p->negate));
	return o;
}

json_object *tn_server_to_json(const struct tn_server_cfg *s)
{
	json_object *o = json_object_new_object();
	char mac[TN_MAC_TEXT];

	if (!o)
		return NULL;
	json_object_object_add(o, "serverId", json_object_new_int64(s->server_id));
	json_object_object_add(o, "displayName", str_or_null(s->display_name));
	json_object_object_add(o, "address", addr_json(&s->address));
	json_object_object_add(o, "port", json_object_new_int(s->port));
	json_object_object_add(o, "weight", json_object_new_int(s->weight));
	json_object_object_add(o, "status", json_object_new_string(s->active ? "active" : "inactive"));
	json_object_object_add(o, "backup", json_object_new_boolean(s->backup));
	json_object_object_add(o, "probe", json_object_new_boolean(s->probe));
	tn_mac_format(s->mac, mac);
	json_object_object_add(o, "mac", s->has_mac ? json_object_new_string(mac) : NULL);
	return o;
}

json_object *tn_farm_to_json(const struct tn_farm_cfg *f)
{
	json_object *o = json_object_new_object(), *servers;
	size_t i;

	if (!o)
		return NULL;
	json_object_object_add(o, "farmId", json_object_new_int64(f->farm_id));
	json_object_object_add(o, "type", json_object_new_string(tn_l4_type_name(f->type)));
	json_object_object_add(o, "displayName", str_or_null(f->display_name));
	json_object_object_add(o, "port", json_object_new_int(f->port));
	json_object_object_add(o, "balance", json_object_new_string(
		f->balance <= TN_BAL_FIRST ? balance_names[f->balance] : "source"));
	json_object_object_add(o, "stickiness", f->stickiness == TN_STICK_SOURCE_IP ?
			       json_object_new_string("sourceIp") : NULL);
	json_object_object_add(o, "zone", str_or_null(f->zone));
	json_object_object_add(o, "probe", probe_json(&f->probe));
	servers = json_object_new_array();
	for (i = 0; i < f->nservers; i++)
		json_object_array_add(servers, tn_server_to_json(&f->servers[i]));
	json_object_object_add(o, "servers", servers);
	return o;
}

json_object *tn_frontend_to_json(const struct tn_frontend_cfg *f)
{
	json_object *o = json_object_new_object(), *vips;
	size_t i;

	if (!o)
		return NULL;
	json_object_object_add(o, "frontendId", json_object_new_int64(f->frontend_id));
	json_object_object_add(o, "type", json_object_new_string(tn_l4_type_name(f->type)));
	json_object_object_add(o, "displayName", str_or_null(f->display_name));
	vips = json_object_new_array();
	for (i = 0; i < f->nvips; i++)
		json_object_array_add(vips, addr_json(&f->vips[i]));
	json_object_object_add(o, "vip", vips);
	json_object_object_add(o, "port", str_or_null(f->port));
	json_object_object_add(o, "defaultFarmId", json_object_new_int64(f->default_farm_id));
	json_object_object_add(o, "zone", str_or_null(f->zone));
	json_object_object_add(o, "allowedSource", cidrs_json(f->allowed_source, f->nallowed));
	json_object_object_add(o, "deniedSource", cidrs_json(f->denied_source, f->ndenied));
	json_object_object_add(o, "disabled", json_object_new_boolean(f->disabled));
	return o;
}

json_object *tn_config_to_json(const struct tn_config *c)
{
	json_object *o = json_object_new_object(), *arr, *ct;
	size_t i;

	if (!o)
		return NULL;
	json_object_object_add(o, "zone", json_object_new_string(c->zone ? c->zone : "default"));
	arr = json_object_new_array();
	for (i = 0; i < c->ninterfaces; i++)
		json_object_array_add(arr, json_object_new_string(c->interfaces[i]));
	json_object_object_add(o, "interfaces", arr);
	json_object_object_add(o, "hashSeed", json_object_new_int64(c->hash_seed));
	json_object_object_add(o, "tableSize", json_object_new_int64(c->table_size));
	ct = json_object_new_object();
	json_object_object_add(ct, "size", json_object_new_int64(c->ct_size));
	json_object_object_add(ct, "tcpTimeout", json_object_new_int64(c->tcp_timeout_s));
	json_object_object_add(ct, "udpTimeout", json_object_new_int64(c->udp_timeout_s));
	json_object_object_add(o, "conntrack", ct);
	arr = json_object_new_array();
	for (i = 0; i < c->nfarms; i++)
		json_object_array_add(arr, tn_farm_to_json(&c->farms[i]));
	json_object_object_add(o, "farms", arr);
	arr = json_object_new_array();
	for (i = 0; i < c->nfrontends; i++)
		json_object_array_add(arr, tn_frontend_to_json(&c->frontends[i]));
	json_object_object_add(o, "frontends", arr);
	tn_config_bgp_to_json(o, c);
	return o;
}

/* ---- copies ----------------------------------------------------------------------- */

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static int dup_mem(void **dst, const void *src, size_t n, size_t size)
{
	*dst = NULL;
	if (!n)
		return 0;
	*dst = malloc(n * size);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, n * size);
	return 0;
}

int tn_server_copy(struct tn_server_cfg *dst, const struct tn_server_cfg *src)
{
	struct tn_server_cfg s = *src;

	if (dup_str(&s.display_name, src->display_name))
		return -ENOMEM;
	*dst = s;
	return 0;
}

int tn_farm_copy(struct tn_farm_cfg *dst, const struct tn_farm_cfg *src)
{
	struct tn_farm_cfg f = *src;
	size_t i;

	/* NULL everything first so that tn_farm_free can undo a partial copy */
	f.display_name = f.zone = f.probe.url = f.probe.pattern = NULL;
	f.servers = NULL;
	f.nservers = 0;
	if (dup_str(&f.display_name, src->display_name) || dup_str(&f.zone, src->zone) ||
	    dup_str(&f.probe.url, src->probe.url) || dup_str(&f.probe.pattern, src->probe.pattern))
		goto nomem;
	if (src->nservers) {
		f.servers = calloc(src->nservers, sizeof(*f.servers));
		if (!f.servers)
			goto nomem;
	}
	for (i = 0; i < src->nservers; i++, f.nservers++)
		if (tn_server_copy(&f.servers[i], &src->servers[i]))
			goto nomem;
	*dst = f;
	return 0;
nomem:
	tn_farm_free(&f);
	return -ENOMEM;
}

int tn_frontend_copy(struct tn_frontend_cfg *dst, const struct tn_frontend_cfg *src)
{
	struct tn_frontend_cfg f = *src;

	f.display_name = f.port = f.zone = NULL;
	f.vips = NULL;
	f.ports = NULL;
	f.allowed_source = f.denied_source = NULL;
	if (dup_str(&f.display_name, src->display_name) || dup_str(&f.port, src->port) ||
	    dup_str(&f.zone, src->zone) ||
	    dup_mem((void **)&f.vips, src->vips, src->nvips, sizeof(*f.vips)) ||
	    dup_mem((void **)&f.ports, src->ports, src->nports, sizeof(*f.ports)) ||
	    dup_mem((void **)&f.allowed_source, src->allowed_source, src->nallowed,
		    sizeof(*f.allowed_source)) ||
	    dup_mem((void **)&f.denied_source, src->denied_source, src->ndenied,
		    sizeof(*f.denied_source))) {
		tn_frontend_free(&f);
		return -ENOMEM;
	}
	*dst = f;
	return 0;
}

int tn_config_copy(struct tn_config *dst, const struct tn_config *src)
{
	struct tn_config c = *src;
	size_t i;

	c.zone = NULL;
	c.interfaces = NULL;
	c.farms = NULL;
	c.frontends = NULL;
	c.bgp = NULL;
	c.ninterfaces = c.nfarms = c.nfrontends = 0;
	if (dup_str(&c.zone, src->zone))
		goto nomem;
	if (src->ninterfaces && !(c.interfaces = calloc(src->ninterfaces, sizeof(char *))))
		goto nomem;
	for (i = 0; i < src->ninterfaces; i++, c.ninterfaces++)
		if (dup_str(&c.interfaces[i], src->interfaces[i]))
			goto nomem;
	if (src->nfarms && !(c.farms = calloc(src->nfarms, sizeof(*c.farms))))
		goto nomem;
	for (i = 0; i < src->nfarms; i++, c.nfarms++)
		if (tn_farm_copy(&c.farms[i], &src->farms[i]))
			goto nomem;
	if (src->nfrontends && !(c.frontends = calloc(src->nfrontends, sizeof(*c.frontends))))
		goto nomem;
	for (i = 0; i < src->nfrontends; i++, c.nfrontends++)
		if (tn_frontend_copy(&c.frontends[i], &src->frontends[i]))
			goto nomem;
	if (tn_config_bgp_copy(&c, src))
		goto nomem;
	*dst = c;
	return 0;
nomem:
	tn_config_free(&c);
	return -ENOMEM;
}

/* ---- equality ---------------------------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool addr_eq(const struct tn_addr *a, const struct tn_addr *b)
{
	return a->family == b->family && !memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

static bool cidrs_eq(const struct tn_cidr *a, const struct tn_cidr *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].prefixlen != b[i].prefixlen || !addr_eq(&a[i].addr, &b[i].addr))
			return false;
	return true;
}

static bool probe_eq(const struct tn_probe_cfg *a, const struct tn_probe_cfg *b)
{
	return a->type == b->type && a->port == b->port && a->interval_s == b->interval_s &&
	       a->timeout_s == b->timeout_s && a->rise == b->rise && a->fall == b->fall &&
	       !strncmp(a->method, b->method, sizeof(a->method)) && str_eq(a->url, b->url) &&
	       a->force_ssl == b->force_ssl && a->match == b->match &&
	       str_eq(a->pattern, b->pattern) && a->negate == b->negate;
}

bool tn_server_equal(const struct tn_server_cfg *a, const struct tn_server_cfg *b)
{
	return a->server_id == b->server_id && str_eq(a->display_name, b->display_name) &&
	       addr_eq(&a->address, &b->address) && a->port == b->port &&
	       a->weight == b->weight && a->active == b->active && a->backup == b->backup &&
	       a->probe == b->probe && a->has_mac == b->has_mac &&
	       (!a->has_mac || !memcmp(a->mac, b->mac, sizeof(a->mac)));
}

bool tn_farm_equal(const struct tn_farm_cfg *a, const struct tn_farm_cfg *b)
{
	size_t i;

	if (a->farm_id != b->farm_id || a->type != b->type ||
	    !str_eq(a->display_name, b->display_name) || a->port != b->port ||
	    a->balance != b->balance || a->stickiness != b->stickiness ||
	    !str_eq(a->zone, b->zone) || !probe_eq(&a->probe, &b->probe) ||
	    a->nservers != b->nservers)
		return false;
	for (i = 0; i < a->nservers; i++)
		if (!tn_server_equal(&a->servers[i], &b->servers[i]))
			return false;
	return true;
}

bool tn_frontend_equal(const struct tn_frontend_cfg *a, const struct tn_frontend_cfg *b)
{
	size_t i;

	if (a->frontend_id != b->frontend_id || a->type != b->type ||
	    !str_eq(a->display_name, b->display_name) || a->nvips != b->nvips ||
	    !str_eq(a->port, b->port) || a->nports != b->nports ||
	    a->default_farm_id != b->default_farm_id || !str_eq(a->zone, b->zone) ||
	    a->nallowed != b->nallowed || a->ndenied != b->ndenied || a->disabled != b->disabled)
		return false;
	for (i = 0; i < a->nvips; i++)
		if (!addr_eq(&a->vips[i], &b->vips[i]))
			return false;
	for (i = 0; i < a->nports; i++)
		if (a->ports[i].first != b->ports[i].first || a->ports[i].last != b->ports[i].last)
			return false;
	return cidrs_eq(a->allowed_source, b->allowed_source, a->nallowed) &&
	       cidrs_eq(a->denied_source, b->denied_source, a->ndenied);
}

bool tn_config_equal(const struct tn_config *a, const struct tn_config *b)
{
	size_t i;

	if (!str_eq(a->zone, b->zone) || a->ninterfaces != b->ninterfaces ||
	    a->hash_seed != b->hash_seed || a->table_size != b->table_size ||
	    a->ct_size != b->ct_size || a->tcp_timeout_s != b->tcp_timeout_s ||
	    a->udp_timeout_s != b->udp_timeout_s || a->nfarms != b->nfarms ||
	    a->nfrontends != b->nfrontends || !tn_config_bgp_equal(a, b))
		return false;
	for (i = 0; i < a->ninterfaces; i++)
		if (!str_eq(a->interfaces[i], b->interfaces[i]))
			return false;
	for (i = 0; i < a->nfarms; i++)
		if (!tn_farm_equal(&a->farms[i], &b->farms[i]))
			return false;
	for (i = 0; i < a->nfrontends; i++)
		if (!tn_frontend_equal(&a->frontends[i], &b->frontends[i]))
			return false;
	return true;
}

/* ---- lookups ------------------------------------------------------------------------- */

struct tn_farm_cfg *tn_config_farm(const struct tn_config *c, enum tn_l4_type t, uint32_t farm_id)
{
	size_t i;

	for (i = 0; i < c->nfarms; i++)
		if (c->farms[i].type == t && c->farms[i].farm_id == farm_id)
			return &c->farms[i];
	return NULL;
}

struct tn_frontend_cfg *tn_config_frontend(const struct tn_config *c, enum tn_l4_type t, uint32_t id)
{
	size_t i;

	for (i = 0; i < c->nfrontends; i++)
		if (c->frontends[i].type == t && c->frontends[i].frontend_id == id)
			return &c->frontends[i];
	return NULL;
}

struct tn_server_cfg *tn_farm_server(const struct tn_farm_cfg *f, uint32_t server_id)
{
	size_t i;

	for (i = 0; i < f->nservers; i++)
		if (f->servers[i].server_id == server_id)
			return &f->servers[i];
	return NULL;
}

/* ---- appending ---------------------------------------------------------------- */

static int append_moved(void **arr, size_t *n, size_t size, void *item)
{
	char *nv = realloc(*arr, (*n + 1) * size);

	if (!nv)
		return -ENOMEM;
	*arr = nv;
	memcpy(nv + *n * size, item, size);
	memset(item, 0, size);
	(*n)++;
	return 0;
}

int tn_config_add_farm(struct tn_config *c, struct tn_farm_cfg *f)
{
	return append_moved((void **)&c->farms, &c->nfarms, sizeof(*f), f);
}

int tn_config_add_frontend(struct tn_config *c, struct tn_frontend_cfg *f)
{
	return append_moved((void **)&c->frontends, &c->nfrontends, sizeof(*f), f);
}

int tn_farm_add_server(struct tn_farm_cfg *f, struct tn_server_cfg *s)
{
	return append_moved((void **)&f->servers, &f->nservers, sizeof(*s), s);
}
