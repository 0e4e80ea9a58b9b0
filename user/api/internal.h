/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The API's insides: one request as the route table resolved it, the reply
 * helpers, and the handlers of each resource.
 *
 * Locking (see control/internal.h): a route's handler runs with the lock its
 * access names, taken by the dispatcher: READ handlers under the state lock
 * (they only read memory), STAGE handlers under the staging lock (they copy
 * the staged configuration, edit and validate the copy, and tn_ctl_stage
 * writes the file and installs it), OWN handlers with no lock (they call
 * functions that take it themselves).
 */
#ifndef TENACE_API_INTERNAL_H
#define TENACE_API_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "api/api.h"

struct api_req {
	struct tn_ctl *ctl;
	const char *method, *url;
	const char *body;
	size_t len;
	/* from the path, resolved in the staged configuration */
	enum tn_l4_type type;
	uint32_t farm_id, server_id, frontend_id;
	struct tn_farm_cfg *farm;
	struct tn_server_cfg *server;
	struct tn_frontend_cfg *frontend;
	const char *task;        /* the {task} segment as given */
};

typedef void (*api_handler)(struct api_req *q, struct tn_api_response *r);

/* ---- replies and bodies (request.c) ---- */

void reply(struct tn_api_response *r, int status, json_object *j);
void reply_error(struct tn_api_response *r, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void reply_errors(struct tn_api_response *r, int status, const struct tn_errors *e);
void method_not_allowed(struct tn_api_response *r, const char *method, const char *allow);
void reply_oom(struct tn_api_response *r);

/* Body as a JSON object (an empty body is {} when allow_empty). NULL: replied. */
json_object *parse_body(const char *body, size_t len, bool allow_empty, struct tn_api_response *r);
bool parse_id(const char *s, uint32_t *out);
/* A POST body whose "type" must agree with the URL's; NULL once replied. */
json_object *typed_body(struct api_req *q, struct tn_api_response *r);
/* The result of a tn_*_from_json() on a body's document (consumed): true,
 * or false once the errors have been replied (400). */
bool parsed(int err, json_object *doc, struct tn_errors *errs, struct tn_api_response *r);
/* PUT: the body overlays the object's current JSON `cur` (consumed), so
 * absent fields keep their value. typed: the object has a "type". Returns
 * the merged document, or NULL once an error has been replied. */
json_object *put_merged(struct api_req *q, json_object *cur, bool typed, const char *id_key, uint32_t id,
			struct tn_api_response *r);

/* Staging lock held. A copy of the staged configuration to edit: false
 * once replied (500). */
bool staged_copy(struct api_req *q, struct tn_config *cand, struct tn_api_response *r);
/* Stage the candidate (freed in every case): false once replied (400, or
 * 500 when the file could not be written). */
bool stage(struct api_req *q, struct tn_config *cand, struct tn_api_response *r);

/* ---- browser sessions of the TCP listener (session.c) ---- */

#define TN_SESSION_ID_LEN 64     /* hex of 32 random bytes */
struct session {
	char id[TN_SESSION_ID_LEN + 1];
	double created;          /* 0: free */
};
struct sessions {
	pthread_mutex_t lock;
	struct session v[TN_SESSION_MAX];
};
void sessions_init(struct sessions *s);
void sessions_destroy(struct sessions *s);
/* A new session's id: 0, or -EIO without randomness. */
int session_new(struct sessions *s, char id[TN_SESSION_ID_LEN + 1]);
bool session_valid(struct sessions *s, const char *id);

/* ---- handlers ---- */

void farm_list(struct api_req *q, struct tn_api_response *r);
void farm_create(struct api_req *q, struct tn_api_response *r);
void farm_get(struct api_req *q, struct tn_api_response *r);
void farm_replace(struct api_req *q, struct tn_api_response *r);
void farm_delete(struct api_req *q, struct tn_api_response *r);
void server_list(struct api_req *q, struct tn_api_response *r);
void server_create(struct api_req *q, struct tn_api_response *r);
void server_get(struct api_req *q, struct tn_api_response *r);
void server_replace(struct api_req *q, struct tn_api_response *r);
void server_delete(struct api_req *q, struct tn_api_response *r);
void frontend_list(struct api_req *q, struct tn_api_response *r);
void frontend_create(struct api_req *q, struct tn_api_response *r);
void frontend_get(struct api_req *q, struct tn_api_response *r);
void frontend_replace(struct api_req *q, struct tn_api_response *r);
void frontend_delete(struct api_req *q, struct tn_api_response *r);
void refresh_post(struct api_req *q, struct tn_api_response *r);
void task_get(struct api_req *q, struct tn_api_response *r);
void pending_get(struct api_req *q, struct tn_api_response *r);
void config_get(struct api_req *q, struct tn_api_response *r);
void status_get(struct api_req *q, struct tn_api_response *r);
void stats_get(struct api_req *q, struct tn_api_response *r);
void metrics_get(struct api_req *q, struct tn_api_response *r);
/* the node in a fleet (api/node.c) */
void node_get(struct api_req *q, struct tn_api_response *r);
void node_drain(struct api_req *q, struct tn_api_response *r);
void node_resume(struct api_req *q, struct tn_api_response *r);
void table_get(struct api_req *q, struct tn_api_response *r);
/* recent refresh tasks and health transitions (api/info.c) */
void tasks_get(struct api_req *q, struct tn_api_response *r);
void transitions_get(struct api_req *q, struct tn_api_response *r);

#endif /* TENACE_API_INTERNAL_H */
