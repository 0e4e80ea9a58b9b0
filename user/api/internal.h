/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The API's insides shared by its files: reply helpers and handlers. */
#ifndef TENACE_API_INTERNAL_H
#define TENACE_API_INTERNAL_H

#include <stdbool.h>
#include "api/api.h"

void reply(struct tn_api_response *r, int status, json_object *j);
void reply_error(struct tn_api_response *r, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void method_not_allowed(struct tn_api_response *r, const char *method, const char *allow);

/* /v1/node, /v1/node/drain, /v1/node/resume and /v1/{type}/farm/{id}/table
 * (api/node.c): true when the path is one of them (r then filled). */
bool node_route(struct tn_ctl *ctl, const char *method, char **seg, int nseg, struct tn_api_response *r);

#endif /* TENACE_API_INTERNAL_H */
