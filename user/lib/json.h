/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one JSON reader of Tenace: configuration files, the state file and API
 * bodies all go through it, so whatever the API accepts loads again after a
 * restart. Strict RFC 8259: UTF-8 checked, no comments, no trailing commas,
 * no single quotes, no NUL byte, nothing after the document, and no key twice
 * in one object (json-c would silently keep the last one).
 */
#ifndef TENACE_LIB_JSON_H
#define TENACE_LIB_JSON_H

#include <stddef.h>
#include <json-c/json.h>

/* The document, or NULL with err set ("line 3: duplicate key \"port\"",
 * "line 1: invalid JSON: invalid utf-8 string"). */
json_object *tn_json_parse(const char *text, size_t len, char *err, size_t errlen);

#endif /* TENACE_LIB_JSON_H */
