// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Typed JSON access with paths: error lists, paths, getters (lib/jsonget.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonget.h"
#include "lib/strdist.h"

/* ---- error lists -------------------------------------------------------- */

void tn_errors_vadd(struct tn_errors *e, const char *path, const char *fmt, va_list ap)
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
	err->label[0] = '\0';
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

void tn_errors_add(struct tn_errors *e, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tn_errors_vadd(e, path, fmt, ap);
	va_end(ap);
}

void tn_errors_free(struct tn_errors *e)
{
	free(e->v);
	memset(e, 0, sizeof(*e));
}

const char *tn_error_where(const struct tn_error *e)
{
	return e->label[0] ? e->label : e->path;
}

char *tn_errors_join(const struct tn_errors *e)
{
	size_t len = 1, i, off = 0;
	char *s;

	for (i = 0; i < e->n; i++)
		len += strlen(tn_error_where(&e->v[i])) + strlen(e->v[i].message) + 4;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < e->n; i++) {
		const char *where = tn_error_where(&e->v[i]);

		off += snprintf(s + off, len - off, "%s%s%s%s", i ? "; " : "",
				where, where[0] ? ": " : "", e->v[i].message);
	}
	return s;
}

void tn_jfail(struct tn_jctx *x, const char *path, const char *fmt, ...)
{
	va_list ap;

	x->failed++;
	if (!x->errs)
		return;
	va_start(ap, fmt);
	tn_errors_vadd(x->errs, path, fmt, ap);
	va_end(ap);
}

/* ---- JSON paths ----------------------------------------------------------- */

/* A path too long for the buffer ends in "..." rather than misleading. */
static const char *path_mark_cut(char *buf, int n)
{
	if (n >= TN_JPATH_LEN)
		memcpy(buf + TN_JPATH_LEN - 4, "...", 4);
	return buf;
}

const char *tn_jpath_key(char *buf, const char *parent, const char *key)
{
	if (!parent || !parent[0])
		return path_mark_cut(buf, snprintf(buf, TN_JPATH_LEN, "%s", key));
	return path_mark_cut(buf, snprintf(buf, TN_JPATH_LEN, "%s.%s", parent, key));
}

const char *tn_jpath_idx(char *buf, const char *parent, size_t i)
{
	return path_mark_cut(buf, snprintf(buf, TN_JPATH_LEN, "%s[%zu]", parent ? parent : "", i));
}

/* ---- values -------------------------------------------------------------- */

const char *tn_jgot(json_object *v, char *buf)
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
	if (len < TN_JGOT_LEN)
		memcpy(buf, s, len + 1);
	else
		snprintf(buf, TN_JGOT_LEN, "%.*s...", TN_JGOT_LEN - 4, s);
	return buf;
}

json_object *tn_jfield(json_object *o, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

bool tn_jhas(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

bool tn_jstr_is(json_object *v, const char *s)
{
	return json_object_get_type(v) == json_type_string && !strcmp(json_object_get_string(v), s);
}

int tn_jstr_index(json_object *v, const char *const *names)
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

const char *tn_jsuggest(json_object *v, const char *const *names, char *buf, size_t len)
{
	const char *best = NULL;

	if (json_object_get_type(v) == json_type_string)
		best = tn_closest_name(json_object_get_string(v), names);
	if (!best)
		return "";
	snprintf(buf, len, " (did you mean \"%s\"?)", best);
	return buf;
}

/* ---- typed getters -------------------------------------------------------- */

bool tn_jwant_u32(struct tn_jctx *x, json_object *v, const char *path,
		  uint32_t min, uint32_t max, uint32_t *out)
{
	char g[TN_JGOT_LEN];
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
	tn_jfail(x, path, "must be an integer %u..%u, got %s", min, max, tn_jgot(v, g));
	return false;
range:
	tn_jfail(x, path, "must be %u..%u, got %s", min, max, tn_jgot(v, g));
	return false;
}

bool tn_jwant_u16(struct tn_jctx *x, json_object *v, const char *path,
		  uint16_t min, uint16_t max, uint16_t *out)
{
	uint32_t u;

	if (!tn_jwant_u32(x, v, path, min, max, &u))
		return false;
	*out = (uint16_t)u;
	return true;
}

bool tn_jwant_int(struct tn_jctx *x, json_object *v, const char *path, int min, int max, int *out)
{
	uint32_t u;

	if (!tn_jwant_u32(x, v, path, (uint32_t)min, (uint32_t)max, &u))
		return false;
	*out = (int)u;
	return true;
}

bool tn_jwant_number(struct tn_jctx *x, json_object *v, const char *path, double *out)
{
	char g[TN_JGOT_LEN];
	enum json_type t = json_object_get_type(v);

	if (t != json_type_int && t != json_type_double) {
		tn_jfail(x, path, "must be a number, got %s", tn_jgot(v, g));
		return false;
	}
	*out = json_object_get_double(v);
	if (!isfinite(*out)) {
		tn_jfail(x, path, "must be a finite number, got %s", tn_jgot(v, g));
		return false;
	}
	return true;
}

bool tn_jwant_bool(struct tn_jctx *x, json_object *v, const char *path, bool *out)
{
	char g[TN_JGOT_LEN];

	if (json_object_get_type(v) != json_type_boolean) {
		tn_jfail(x, path, "must be true or false, got %s", tn_jgot(v, g));
		return false;
	}
	*out = json_object_get_boolean(v);
	return true;
}

bool tn_jwant_str(struct tn_jctx *x, json_object *v, const char *path, bool nullable,
		  size_t maxlen, const char **out)
{
	char g[TN_JGOT_LEN];
	const char *s;
	size_t len;

	if (nullable && json_object_get_type(v) == json_type_null) {
		*out = NULL;
		return true;
	}
	if (json_object_get_type(v) != json_type_string) {
		tn_jfail(x, path, "must be a string%s, got %s", nullable ? " or null" : "", tn_jgot(v, g));
		return false;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len) {
		/* C strings end at the first NUL: refuse rather than truncate */
		tn_jfail(x, path, "must not contain a NUL character");
		return false;
	}
	if (len > maxlen) {
		tn_jfail(x, path, "must be at most %zu characters, got %zu", maxlen, len);
		return false;
	}
	*out = s;
	return true;
}

bool tn_jwant_object(struct tn_jctx *x, json_object *v, const char *path)
{
	char g[TN_JGOT_LEN];

	if (json_object_get_type(v) == json_type_object)
		return true;
	tn_jfail(x, path, "must be an object, got %s", tn_jgot(v, g));
	return false;
}

bool tn_jwant_array(struct tn_jctx *x, json_object *v, const char *path)
{
	char g[TN_JGOT_LEN];

	if (json_object_get_type(v) == json_type_array)
		return true;
	tn_jfail(x, path, "must be an array, got %s", tn_jgot(v, g));
	return false;
}

/* "\"a\"", "\"a\" or \"b\"", "one of \"a\", \"b\", \"c\"", each "... or null". */
static void enum_words(char *buf, size_t len, const char *const *names, bool or_null)
{
	size_t n = 0, i, off;

	while (names[n])
		n++;
	off = (size_t)snprintf(buf, len, "%s", n + or_null > 2 ? "one of " : "");
	for (i = 0; i < n && off < len; i++) {
		const char *sep = !i ? "" : (i == n - 1 && !or_null && n == 2) ? " or " : ", ";

		off += (size_t)snprintf(buf + off, len - off, "%s\"%s\"", sep, names[i]);
	}
	if (or_null && off < len)
		snprintf(buf + off, len - off, " or null");
}

int tn_jwant_enum(struct tn_jctx *x, json_object *v, const char *path,
		  const char *const *names, bool or_null)
{
	char words[200], g[TN_JGOT_LEN], hint[96];
	int i = tn_jstr_index(v, names);

	if (i >= 0)
		return i;
	enum_words(words, sizeof(words), names, or_null);
	tn_jfail(x, path, "must be %s, got %s%s", words, tn_jgot(v, g),
		 tn_jsuggest(v, names, hint, sizeof(hint)));
	return -1;
}

bool tn_jset_str(struct tn_jctx *x, const char *path, char **dst, const char *s)
{
	char *d = NULL;

	if (s) {
		d = strdup(s);
		if (!d) {
			tn_jfail(x, path, "out of memory");
			return false;
		}
	}
	free(*dst);
	*dst = d;
	return true;
}

void tn_jopt_str(struct tn_jctx *x, json_object *o, const char *parent, const char *key,
		 size_t maxlen, char **dst)
{
	char p[TN_JPATH_LEN];
	const char *s;

	if (!tn_jhas(o, key))
		return;
	tn_jpath_key(p, parent, key);
	if (tn_jwant_str(x, tn_jfield(o, key), p, true, maxlen, &s))
		tn_jset_str(x, p, dst, s);
}

void tn_jcheck_keys(struct tn_jctx *x, json_object *o, const char *path, const char *const *keys)
{
	struct json_object_iterator it = json_object_iter_begin(o);
	struct json_object_iterator end = json_object_iter_end(o);
	char p[TN_JPATH_LEN];

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *name = json_object_iter_peek_name(&it);
		const char *best;
		const char *const *k;

		for (k = keys; *k; k++)
			if (!strcmp(*k, name))
				break;
		if (*k)
			continue;
		best = tn_closest_name(name, keys);
		if (best)
			tn_jfail(x, tn_jpath_key(p, path, name), "unknown field (did you mean \"%s\"?)", best);
		else
			tn_jfail(x, tn_jpath_key(p, path, name), "unknown field");
	}
}
