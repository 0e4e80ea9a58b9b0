/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Typed access to a parsed JSON document, for readers that report every
 * mistake at once: each getter checks one value and, when it is wrong, adds
 * "PATH: must be X, got Y" to an error list and lets the reader go on.
 */
#ifndef TENACE_LIB_JSONGET_H
#define TENACE_LIB_JSONGET_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* ---- error lists -------------------------------------------------------- */

#define TN_ERROR_PATH_MAX 160
#define TN_ERROR_LABEL_MAX 400
#define TN_ERROR_MESSAGE_MAX 320
struct tn_error {
	char path[TN_ERROR_PATH_MAX];   /* "farms[0].servers[2].weight"; "" for the document */
	/* the same path naming its objects, for people:
	 * "farms[0] (tcp farm 1 \"web\").servers[2] (server 3, 10.0.0.3:80).weight";
	 * "" when there is nothing to name (path says it all) */
	char label[TN_ERROR_LABEL_MAX];
	char message[TN_ERROR_MESSAGE_MAX]; /* "must be 0..256, got 300" */
};

struct tn_errors {
	struct tn_error *v;
	size_t n, cap;
};

void tn_errors_add(struct tn_errors *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tn_errors_vadd(struct tn_errors *e, const char *path, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
void tn_errors_free(struct tn_errors *e);
/* Where an error is, for people: its label, else its path. */
const char *tn_error_where(const struct tn_error *e);
/* "where: message; where: message" (malloc'd) */
char *tn_errors_join(const struct tn_errors *e);

/* ---- a reader's context: counts failures itself, so that one is noticed
 * even when the list could not grow (out of memory) or errs is NULL ------- */

struct tn_jctx {
	struct tn_errors *errs;
	unsigned failed;
};

void tn_jfail(struct tn_jctx *x, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- JSON paths: "parent.key", "parent[i]"; too long ends in "..." ----- */

#define TN_JPATH_LEN TN_ERROR_PATH_MAX
const char *tn_jpath_key(char *buf, const char *parent, const char *key);
const char *tn_jpath_idx(char *buf, const char *parent, size_t i);

/* ---- values -------------------------------------------------------------- */

#define TN_JGOT_LEN 64
/* The value as the user wrote it, short enough for a message ("300", "\"x\""). */
const char *tn_jgot(json_object *v, char *buf);
json_object *tn_jfield(json_object *o, const char *key); /* NULL when absent */
bool tn_jhas(json_object *o, const char *key);
bool tn_jstr_is(json_object *v, const char *s);
/* Index of the string v among names[] (NULL-terminated), or -1 (nothing reported). */
int tn_jstr_index(json_object *v, const char *const *names);
/* " (did you mean \"x\"?)" when the string v is a typo of one of names[], else "". */
const char *tn_jsuggest(json_object *v, const char *const *names, char *buf, size_t len);

/* ---- typed getters: true with *out set, or false with the error reported - */

bool tn_jwant_u32(struct tn_jctx *x, json_object *v, const char *path,
		  uint32_t min, uint32_t max, uint32_t *out);
bool tn_jwant_u16(struct tn_jctx *x, json_object *v, const char *path,
		  uint16_t min, uint16_t max, uint16_t *out);
bool tn_jwant_int(struct tn_jctx *x, json_object *v, const char *path, int min, int max, int *out);
/* A finite number; the caller checks its range with its own words. */
bool tn_jwant_number(struct tn_jctx *x, json_object *v, const char *path, double *out);
bool tn_jwant_bool(struct tn_jctx *x, json_object *v, const char *path, bool *out);
/* A string of at most maxlen bytes, no NUL inside (or null -> NULL when nullable). */
bool tn_jwant_str(struct tn_jctx *x, json_object *v, const char *path, bool nullable,
		  size_t maxlen, const char **out);
bool tn_jwant_object(struct tn_jctx *x, json_object *v, const char *path);
bool tn_jwant_array(struct tn_jctx *x, json_object *v, const char *path);
/* One of names[]: its index, or -1 with "must be one of \"a\", \"b\", \"c\"
 * [or null], got X (did you mean ...?)" reported. or_null only words it: the
 * caller handles null first. */
int tn_jwant_enum(struct tn_jctx *x, json_object *v, const char *path,
		  const char *const *names, bool or_null);

/* *dst = a copy of s (NULL for NULL), the old value freed; false when out of memory. */
bool tn_jset_str(struct tn_jctx *x, const char *path, char **dst, const char *s);
/* Optional string or null field `key`, stored as a copy (left alone when absent). */
void tn_jopt_str(struct tn_jctx *x, json_object *o, const char *parent, const char *key,
		 size_t maxlen, char **dst);
/* Every member of o must be one of keys[]: typos must not pass silently (a
 * misspelt "weigth" would mean weight 1). */
void tn_jcheck_keys(struct tn_jctx *x, json_object *o, const char *path, const char *const *keys);

#endif /* TENACE_LIB_JSONGET_H */
