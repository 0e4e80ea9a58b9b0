// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A farm's "probe" object: type, timing, and for http the request and the
 * rule its reply must pass. What is refused here is what the probe engine
 * could not run (probe/probe_proto.h), so both headers meet in this file.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "probe/probe_proto.h"

/* The probe engine casts a farm's match to its rule: a reorder must not build. */
_Static_assert((int)TN_MATCH_DEFAULT == (int)TN_HTTP_DEFAULT &&
	       (int)TN_MATCH_STATUS == (int)TN_HTTP_STATUS &&
	       (int)TN_MATCH_CONTAINS == (int)TN_HTTP_CONTAINS &&
	       (int)TN_MATCH_MATCHES == (int)TN_HTTP_MATCHES,
	       "enum tn_http_match must equal probe_proto.h's enum tn_http_rule");

#define URL_MAX 1024

static const char *const probe_keys[] = {
	"type", "port", "interval", "timeout", "rise", "fall", "method", "url",
	"forceSsl", "match", "pattern", "negate", NULL
};
static const char *const probe_http_keys[] = {
	"method", "url", "forceSsl", "match", "pattern", "negate", NULL
};

void tn_cfg_probe_defaults(struct tn_probe_cfg *p)
{
	memset(p, 0, sizeof(*p));
	p->interval_s = 5;
	p->timeout_s = 2;
	p->rise = 2;
	p->fall = 3;
	snprintf(p->method, sizeof(p->method), "GET");
	p->match = TN_MATCH_DEFAULT;
}

void tn_cfg_probe_free(struct tn_probe_cfg *p)
{
	free(p->url);
	free(p->pattern);
	p->url = p->pattern = NULL;
}

/* false when "type" was given but wrong (its error already reported) */
static bool parse_probe_type(struct tn_jctx *x, json_object *o, const char *path, struct tn_probe_cfg *p)
{
	json_object *v = tn_jfield(o, "type");
	int i;

	if (!v || json_object_get_type(v) == json_type_null)
		return true;
	if (tn_jstr_is(v, "oco") || tn_jstr_is(v, "internal")) {
		tn_jfail(x, path, "\"%s\" probes are not supported; supported types: "
			 "\"tcp\", \"http\", \"smtp\", \"mysql\", \"pgsql\"", json_object_get_string(v));
		return false;
	}
	i = tn_jwant_enum(x, v, path, tn_cfg_probe_names, true);
	if (i < 0)
		return false;
	p->type = (enum tn_probe_type)(i + 1);
	return true;
}

static void parse_probe_timing(struct tn_jctx *x, json_object *o, const char *path, struct tn_probe_cfg *p)
{
	char pp[TN_JPATH_LEN], g[TN_JGOT_LEN];
	json_object *v;
	double d;

	v = tn_jfield(o, "interval");
	if (v && tn_jwant_number(x, v, tn_jpath_key(pp, path, "interval"), &d)) {
		if (d < 0.1 || d > 86400)
			tn_jfail(x, pp, "must be 0.1..86400 seconds, got %s", tn_jgot(v, g));
		else
			p->interval_s = d;
	}
	/* a probe outliving its interval would overlap the next one */
	p->timeout_s = p->interval_s < 2 ? p->interval_s : 2;
	v = tn_jfield(o, "timeout");
	if (v && tn_jwant_number(x, v, tn_jpath_key(pp, path, "timeout"), &d)) {
		if (d <= 0 || d > 60)
			tn_jfail(x, pp, "must be more than 0 and at most 60 seconds, got %s", tn_jgot(v, g));
		else
			p->timeout_s = d;
	}
	v = tn_jfield(o, "rise");
	if (v)
		tn_jwant_int(x, v, tn_jpath_key(pp, path, "rise"), 1, 100, &p->rise);
	v = tn_jfield(o, "fall");
	if (v)
		tn_jwant_int(x, v, tn_jpath_key(pp, path, "fall"), 1, 100, &p->fall);
	v = tn_jfield(o, "port");
	if (v)
		tn_jwant_u16(x, v, tn_jpath_key(pp, path, "port"), 0, 65535, &p->port);
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

static void check_pattern(struct tn_jctx *x, const char *path, struct tn_probe_cfg *p)
{
	char msg[200];
	regex_t re;
	size_t n;
	int rc;

	switch (p->match) {
	case TN_MATCH_STATUS:
		n = status_list_count(p->pattern);
		if (!n)
			tn_jfail(x, path, "must be a comma-separated list of HTTP status codes 100..599, "
				 "got \"%.60s\"", p->pattern);
		else if (n > TN_HTTP_MAX_CODES) /* what the probe engine takes */
			tn_jfail(x, path, "at most %d status codes, got %zu", TN_HTTP_MAX_CODES, n);
		break;
	case TN_MATCH_CONTAINS:
		if (!p->pattern[0])
			tn_jfail(x, path, "must not be empty");
		break;
	case TN_MATCH_MATCHES:
		rc = regcomp(&re, p->pattern, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			regerror(rc, &re, msg, sizeof(msg));
			tn_jfail(x, path, "is not a valid regular expression: %s", msg);
		} else {
			regfree(&re);
		}
		break;
	default:
		break;
	}
}

/* "method", "url", "forceSsl", "negate": the request itself. */
static void parse_http_request(struct tn_jctx *x, json_object *o, const char *path, struct tn_probe_cfg *p)
{
	char pp[TN_JPATH_LEN], g[TN_JGOT_LEN];
	const char *s;
	json_object *v;
	int i;

	v = tn_jfield(o, "method");
	if (v && (i = tn_jwant_enum(x, v, tn_jpath_key(pp, path, "method"), tn_cfg_method_names, false)) >= 0)
		snprintf(p->method, sizeof(p->method), "%s", tn_cfg_method_names[i]);
	v = tn_jfield(o, "url");
	if (v && tn_jwant_str(x, v, tn_jpath_key(pp, path, "url"), false, URL_MAX, &s)) {
		if (s[0] != '/')
			tn_jfail(x, pp, "must start with \"/\", got %s", tn_jgot(v, g));
		else if (strpbrk(s, " \t\r\n"))
			/* it goes verbatim into the request line */
			tn_jfail(x, pp, "must not contain spaces or line breaks");
		else
			tn_jset_str(x, pp, &p->url, s);
	}
	v = tn_jfield(o, "forceSsl");
	if (v)
		tn_jwant_bool(x, v, tn_jpath_key(pp, path, "forceSsl"), &p->force_ssl);
	v = tn_jfield(o, "negate");
	if (v)
		tn_jwant_bool(x, v, tn_jpath_key(pp, path, "negate"), &p->negate);
}

/* "match" and "pattern": the rule the reply must pass. */
static void parse_http_match(struct tn_jctx *x, json_object *o, const char *path, struct tn_probe_cfg *p)
{
	char pp[TN_JPATH_LEN];
	const char *s;
	json_object *v;
	int i;

	v = tn_jfield(o, "match");
	if (v) {
		i = tn_jwant_enum(x, v, tn_jpath_key(pp, path, "match"), tn_cfg_match_names, false);
		if (i < 0)
			v = NULL;
		else
			p->match = (enum tn_http_match)i;
	}
	tn_jpath_key(pp, path, "pattern");
	if (tn_jfield(o, "pattern") && tn_jwant_str(x, tn_jfield(o, "pattern"), pp, true, URL_MAX, &s))
		tn_jset_str(x, pp, &p->pattern, s);
	if (tn_jfield(o, "match") && !v)
		return; /* the pattern's meaning depends on the wrong "match" */
	if (p->match != TN_MATCH_DEFAULT && !p->pattern)
		tn_jfail(x, pp, "is required when \"match\" is \"%s\"", tn_cfg_match_names[p->match]);
	else if (p->match == TN_MATCH_DEFAULT && p->pattern)
		tn_jfail(x, pp, "only applies when \"match\" is \"status\", \"contains\" or \"matches\"");
	else if (p->pattern)
		check_pattern(x, pp, p);
	if ((p->match == TN_MATCH_CONTAINS || p->match == TN_MATCH_MATCHES) && !strcmp(p->method, "HEAD"))
		tn_jfail(x, tn_jpath_key(pp, path, "method"), "a HEAD request gets no response body, and "
			 "match \"%s\" reads the body: use \"GET\" or \"OPTIONS\"", tn_cfg_match_names[p->match]);
}

void tn_cfg_parse_probe(struct tn_jctx *x, json_object *o, const char *path, struct tn_probe_cfg *p)
{
	const char *const *k;
	char pp[TN_JPATH_LEN];
	bool type_ok;

	if (!o || json_object_get_type(o) == json_type_null || !tn_jwant_object(x, o, path))
		goto out;
	tn_jcheck_keys(x, o, path, probe_keys);
	type_ok = parse_probe_type(x, o, tn_jpath_key(pp, path, "type"), p);
	parse_probe_timing(x, o, path, p);
	if (p->type == TN_PROBE_HTTP) {
		parse_http_request(x, o, path, p);
		parse_http_match(x, o, path, p);
	} else if (type_ok) {
		/* with a wrong "type", its own error is enough */
		for (k = probe_http_keys; *k; k++)
			if (tn_jhas(o, *k))
				tn_jfail(x, tn_jpath_key(pp, path, *k), "only applies to \"http\" probes");
	}
out:
	if (!p->url)
		tn_jset_str(x, path, &p->url, "/");
}
