/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the files of config/ share and nobody else calls: the readers of each
 * object, the rules run both on a parsed document and on a model built in
 * code, the names of enumerations, and the naming of objects in error paths.
 */
#ifndef TENACE_CONFIG_INTERNAL_H
#define TENACE_CONFIG_INTERNAL_H

#include "config/config.h"
#include "lib/jsonget.h"

/* Source filters: each VIP gets its own copy of its frontend's allowedSource
 * and deniedSource lists, in two LPM tries of TN_MAX_FILTERS entries each. */
#define TN_CFG_FILTER_LIST_MAX 1024

/* ---- names of enumerations, in JSON order, indexed by the enum (model.c) -- */

extern const char *const tn_cfg_l4_names[];      /* enum tn_l4_type */
extern const char *const tn_cfg_balance_names[]; /* enum tn_balance */
extern const char *const tn_cfg_probe_names[];   /* enum tn_probe_type - 1 (none is null) */
extern const char *const tn_cfg_match_names[];   /* enum tn_http_match */
extern const char *const tn_cfg_method_names[];

/* ---- what an error's label may say about an object ----------------------- */

/*
 * A field whose parsing failed holds a default (type tcp, id assigned, port
 * 0): names must not show it. The parse errors are errs->v[from..to); a model
 * built in code has none (errs NULL or from == to).
 */
struct tn_cfg_trust {
	const struct tn_errors *errs;
	size_t from, to;
};

/* "farms[0] (tcp farm 1 \"web\")": path, then the object's name when known. */
const char *tn_cfg_farm_ref(char *buf, size_t len, const struct tn_cfg_trust *t,
			    const char *path, const struct tn_farm_cfg *f);
/* "servers[2] (server 3, 10.0.0.3:80)" for the server at path (".servers[2]"
 * is what is shown: the farm is already on the error's own path). */
const char *tn_cfg_server_ref(char *buf, size_t len, const struct tn_cfg_trust *t, const char *path,
			      const struct tn_farm_cfg *f, const struct tn_server_cfg *s);
const char *tn_cfg_frontend_ref(char *buf, size_t len, const struct tn_cfg_trust *t,
				const char *path, const struct tn_frontend_cfg *fe);
/* Give the errors errs->v[start..] their label: their path with the farms,
 * servers and frontends on it named (a document, or a farm at prefix). */
void tn_cfg_label_config(struct tn_errors *errs, size_t start, const struct tn_cfg_trust *t,
			 const struct tn_config *c);
void tn_cfg_label_farm(struct tn_errors *errs, size_t start, const struct tn_cfg_trust *t,
		       const char *prefix, const struct tn_farm_cfg *f);

/* ---- objects (probe.c, farm.c, frontend.c) ------------------------------- */

void tn_cfg_probe_defaults(struct tn_probe_cfg *p);
void tn_cfg_probe_free(struct tn_probe_cfg *p);
/* o may be NULL or null (no probe). */
void tn_cfg_parse_probe(struct tn_jctx *x, json_object *o, const char *path, struct tn_probe_cfg *p);
/* "type" of a farm or a frontend (what: "farms" / "frontends"): required, tcp or udp. */
void tn_cfg_parse_l4_type(struct tn_jctx *x, json_object *o, const char *path, const char *what,
			  enum tn_l4_type *out);
/* Each fills *out (defaults first) even when it fails: free it either way. */
void tn_cfg_parse_server(struct tn_jctx *x, json_object *o, const char *path, struct tn_server_cfg *s);
void tn_cfg_parse_farm(struct tn_jctx *x, json_object *o, const char *path, struct tn_farm_cfg *f);
void tn_cfg_parse_frontend(struct tn_jctx *x, json_object *o, const char *path,
			   struct tn_frontend_cfg *f);

/* Rules on a farm's server list (count, ids, one address and port once): the
 * API runs them on a farm body, validation on every farm. */
void tn_cfg_check_farm_servers(struct tn_jctx *x, const struct tn_cfg_trust *t,
			       const struct tn_farm_cfg *f, const char *path);
/* Every probed server has a port to probe. Run on a farm without other
 * errors (a wrong port leaves 0 and would be blamed twice). */
void tn_cfg_check_probe_port(struct tn_jctx *x, const struct tn_farm_cfg *f, const char *path);
/* A source filter list of at most TN_CFG_FILTER_LIST_MAX entries. */
bool tn_cfg_filter_list_ok(struct tn_jctx *x, const char *path, size_t n);

/* ---- forwarding (encap.c) -------------------------------------------------- */

extern const char *const tn_cfg_forwarding_names[]; /* enum tn_forwarding */
void tn_cfg_encap_defaults(struct tn_encap_cfg *e);
/* forwarding, gueVersion, guePort, encapSource of the farm object o (mssClamp refused). */
void tn_cfg_parse_encap(struct tn_jctx *x, json_object *o, const char *path, struct tn_farm_cfg *f);
/* An encapsulating farm has an encapSource of each of its servers' families. */
void tn_cfg_check_encap(struct tn_jctx *x, const struct tn_cfg_trust *t, const struct tn_farm_cfg *f,
			const char *path);
void tn_cfg_encap_to_json(json_object *o, const struct tn_farm_cfg *f);

/* ---- ids (ids.c) ---------------------------------------------------------- */

/* Give every zero *ids[i] the lowest free id, in array order (ids point into
 * the objects). 0, -ENOMEM, or -ENOSPC when every id is taken. */
int tn_cfg_assign_ids(uint32_t **ids, size_t n);

/* ---- cross-object rules (validate.c) ------------------------------------- */

/* Per-object parse failures, so that cross rules do not repeat their errors. */
struct tn_cfg_marks {
	bool *farm_bad;      /* NULL: none failed (a model built in code) */
	bool *frontend_bad;
	struct tn_cfg_trust trust;
};
int tn_cfg_validate(struct tn_jctx *x, const struct tn_config *c, const struct tn_cfg_marks *m);

#endif /* TENACE_CONFIG_INTERNAL_H */
