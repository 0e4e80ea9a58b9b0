/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Configuration model of Tenace, in the OVHcloud Load Balancer's words:
 * frontends (VIPs) point to farms of servers. One JSON document holds the
 * whole configuration with the same objects and field names as the HTTP API,
 * so GET /v1/config returns what a config file holds.
 *
 * Parsing reports every error at once, each naming the JSON path, the objects
 * on it and the rule ("farms[0] (tcp farm 1 \"web\").servers[2] (server 3,
 * 10.0.0.3:80).weight: must be 0..256, got 300"; struct tn_error keeps the
 * plain path "farms[0].servers[2].weight" apart); a rejected document leaves
 * the caller's configuration untouched.
 */
#ifndef TENACE_CONFIG_H
#define TENACE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "tenace.h"
#include "config/bgp.h"
#include "lib/jsonget.h"
#include "lib/net.h"

#define TN_NAME_MAX 128

enum tn_l4_type { TN_L4_TCP = 0, TN_L4_UDP = 1 };
/* The data plane's values (tenace.h), so the controller copies them as they are. */
enum tn_balance {
	TN_BAL_SOURCE = TN_BALANCE_SOURCE,
	TN_BAL_ROUNDROBIN = TN_BALANCE_ROUNDROBIN,
	TN_BAL_FIRST = TN_BALANCE_FIRST,
};
enum tn_stickiness { TN_STICK_NONE = TN_STICKY_NONE, TN_STICK_SOURCE_IP = TN_STICKY_SOURCE_IP };
_Static_assert(TN_BAL_SOURCE == TN_BALANCE_SOURCE && TN_BAL_ROUNDROBIN == TN_BALANCE_ROUNDROBIN &&
	       TN_BAL_FIRST == TN_BALANCE_FIRST, "enum tn_balance must equal tenace.h's TN_BALANCE_*");
_Static_assert(TN_STICK_NONE == TN_STICKY_NONE && TN_STICK_SOURCE_IP == TN_STICKY_SOURCE_IP,
	       "enum tn_stickiness must equal tenace.h's TN_STICKY_*");
enum tn_probe_type {
	TN_PROBE_NONE = 0, /* no "probe" object, or type absent: servers always up */
	TN_PROBE_TCP, TN_PROBE_HTTP, TN_PROBE_SMTP, TN_PROBE_MYSQL, TN_PROBE_PGSQL,
};
/* Same values as the probe engine's enum tn_http_rule (asserted in config/probe.c). */
enum tn_http_match { TN_MATCH_DEFAULT = 0, TN_MATCH_STATUS, TN_MATCH_CONTAINS, TN_MATCH_MATCHES };

struct tn_port_range {
	uint16_t first, last; /* inclusive; a single port has first == last */
};

struct tn_probe_cfg {
	enum tn_probe_type type;
	uint16_t port;         /* 0: the server's (or farm's) port */
	double interval_s;     /* default 5, minimum 0.1 */
	double timeout_s;      /* default min(interval, 2) */
	int rise;              /* default 2 */
	int fall;              /* default 3 */
	char method[8];        /* http: GET (default) | HEAD | OPTIONS */
	char *url;             /* http: path, default "/" */
	bool force_ssl;        /* http: TLS without certificate check */
	enum tn_http_match match;
	char *pattern;         /* status: "200, 301"; contains: text; matches: POSIX ERE */
	bool negate;
};

struct tn_server_cfg {
	uint32_t server_id;
	char *display_name;    /* may be NULL */
	struct tn_addr address;
	uint16_t port;         /* 0: the farm's port */
	uint16_t weight;       /* 0..256, absent means 1 */
	bool active;           /* "status": "active" (true) | "inactive" */
	bool backup;
	bool probe;            /* false: never probed, always up */
	bool has_mac;
	uint8_t mac[6];
};

/* How a farm reaches its servers (config/encap.c). */
enum tn_forwarding { TN_FORWARD_DSR = 0, TN_FORWARD_IPIP, TN_FORWARD_GUE };
struct tn_encap_cfg {
	enum tn_forwarding forwarding;  /* "forwarding": dsr (default) | ipip | gue */
	uint16_t gue_version;           /* "gueVersion": 0 (default) | 1 */
	uint16_t gue_port;              /* "guePort": default 6080 */
	struct tn_addr source4, source6;/* "encapSource": the node's address per family (family 0: none) */
};

struct tn_farm_cfg {
	uint32_t farm_id;
	enum tn_l4_type type;
	char *display_name;
	uint16_t port;         /* 0: the client's destination port */
	enum tn_balance balance;
	enum tn_stickiness stickiness;
	char *zone;            /* NULL: the node's zone */
	struct tn_probe_cfg probe;
	struct tn_encap_cfg encap;
	struct tn_server_cfg *servers;
	size_t nservers;
};

struct tn_frontend_cfg {
	uint32_t frontend_id;
	enum tn_l4_type type;
	char *display_name;
	struct tn_addr *vips;
	size_t nvips;
	char *port;            /* as given: "80", "80,443", "8000-8100"; NULL: every port */
	struct tn_port_range *ports;
	size_t nports;
	uint32_t default_farm_id;
	char *zone;
	struct tn_cidr *allowed_source;
	size_t nallowed;
	struct tn_cidr *denied_source;
	size_t ndenied;
	bool disabled;
};

struct tn_config {
	char *zone;            /* this node's zone, default "default" */
	char **interfaces;
	size_t ninterfaces;
	uint32_t hash_seed;
	uint32_t table_size;   /* Maglev table size: a prime, 1021..655373, default 65537 */
	uint32_t ct_size;      /* "conntrack": {"size"} default 1000000 */
	uint32_t tcp_timeout_s;/* "conntrack": {"tcpTimeout"} default 300 */
	uint32_t udp_timeout_s;/* "conntrack": {"udpTimeout"} default 30 */
	uint32_t udp_admit_rate;/* "conntrack": {"udpAdmitRate"}: new UDP clients tracked /s /CPU, default 65536, 0: no limit */
	uint32_t tcp_admit_rate;/* "conntrack": {"tcpAdmitRate"}: new TCP clients (past the SYN) tracked /s /CPU, default 65536 */
	struct tn_farm_cfg *farms;
	size_t nfarms;
	struct tn_frontend_cfg *frontends;
	size_t nfrontends;
	struct tn_bgp_cfg *bgp;  /* "bgp" (config/bgp.h); NULL: no BGP */
};

/* Validation errors (struct tn_error, struct tn_errors, tn_errors_add, _free,
 * _join, tn_error_where): lib/jsonget.h. */

/* Whole documents. Return 0, or -EINVAL with errs filled (out untouched).
 * Errors are appended to errs (start from {0}; errs may be NULL). On success
 * *out is overwritten, not freed: free the previous config yourself. */
int tn_config_from_json(json_object *root, struct tn_config *out, struct tn_errors *errs);
int tn_config_parse_string(const char *text, struct tn_config *out, struct tn_errors *errs);
int tn_config_load_file(const char *path, struct tn_config *out, struct tn_errors *errs);
/* Written atomically: temp file in the same directory, fsync, rename. */
int tn_config_save_file(const struct tn_config *c, const char *path);
json_object *tn_config_to_json(const struct tn_config *c);

/* Cross-object rules (ids unique, frontends' farms exist, no two frontends
 * on one VIP+port+type even if disabled, the data plane's limits, ...). tn_config_from_json already runs it. */
int tn_config_validate(const struct tn_config *c, struct tn_errors *errs);

/* Single objects, for the API's POST/PUT bodies. `path` prefixes error paths
 * (e.g. "" for a body). Ids absent in the body are left 0 (caller assigns). */
int tn_farm_from_json(json_object *o, const char *path, struct tn_farm_cfg *out, struct tn_errors *errs);
int tn_server_from_json(json_object *o, const char *path, struct tn_server_cfg *out, struct tn_errors *errs);
int tn_frontend_from_json(json_object *o, const char *path, struct tn_frontend_cfg *out, struct tn_errors *errs);
json_object *tn_farm_to_json(const struct tn_farm_cfg *f);   /* includes "servers" */
json_object *tn_server_to_json(const struct tn_server_cfg *s);
json_object *tn_frontend_to_json(const struct tn_frontend_cfg *f);

/* Defaults of an empty document (zone "default", table 65537, ...). */
int tn_config_init(struct tn_config *c);

/* Deep copies and frees. */
int tn_config_copy(struct tn_config *dst, const struct tn_config *src);
void tn_config_free(struct tn_config *c);
int tn_farm_copy(struct tn_farm_cfg *dst, const struct tn_farm_cfg *src);
void tn_farm_free(struct tn_farm_cfg *f);
int tn_server_copy(struct tn_server_cfg *dst, const struct tn_server_cfg *src);
void tn_server_free(struct tn_server_cfg *s);
int tn_frontend_copy(struct tn_frontend_cfg *dst, const struct tn_frontend_cfg *src);
void tn_frontend_free(struct tn_frontend_cfg *f);
/* Structural equality (used to find which farms a refresh must rebuild). */
bool tn_farm_equal(const struct tn_farm_cfg *a, const struct tn_farm_cfg *b);
bool tn_frontend_equal(const struct tn_frontend_cfg *a, const struct tn_frontend_cfg *b);
bool tn_server_equal(const struct tn_server_cfg *a, const struct tn_server_cfg *b);
bool tn_config_equal(const struct tn_config *a, const struct tn_config *b);
/* Whether two probes probe alike (the fields that mean nothing for their type,
 * and NULL / "" / default strings, do not count): what a farm's equality and
 * the probe engine's "did this target change" both ask. */
bool tn_probe_cfg_equal(const struct tn_probe_cfg *a, const struct tn_probe_cfg *b);

/* Append an object to a configuration, moving it: the caller's copy is left
 * zeroed (nothing to free). 0 or -ENOMEM (the object is then untouched). */
int tn_config_add_farm(struct tn_config *c, struct tn_farm_cfg *f);
int tn_config_add_frontend(struct tn_config *c, struct tn_frontend_cfg *f);
int tn_farm_add_server(struct tn_farm_cfg *f, struct tn_server_cfg *s);

/* Lookups */
struct tn_farm_cfg *tn_config_farm(const struct tn_config *c, enum tn_l4_type t, uint32_t farm_id);
struct tn_frontend_cfg *tn_config_frontend(const struct tn_config *c, enum tn_l4_type t, uint32_t id);
struct tn_server_cfg *tn_farm_server(const struct tn_farm_cfg *f, uint32_t server_id);

/* A farm's servers sorted by serverId, for code that looks many of them up
 * (the pending diff, validation): O(log n) a lookup where tn_farm_server
 * walks the farm. The farm must not change while the index is used. Built
 * without memory, it walks the farm instead: same answers. */
struct tn_server_pos {
	uint32_t id;
	uint32_t pos; /* in farm->servers */
};
struct tn_server_index {
	const struct tn_farm_cfg *farm;
	struct tn_server_pos *v; /* by (id, pos); NULL: walk */
};
void tn_server_index_init(struct tn_server_index *ix, const struct tn_farm_cfg *f);
/* The first server (lowest position) with this id, or NULL. */
const struct tn_server_cfg *tn_server_index_find(const struct tn_server_index *ix, uint32_t server_id);
void tn_server_index_free(struct tn_server_index *ix);

/* The lowest id from 1 no object of its kind uses (farms and frontends: per
 * type), so a deleted object's id is used again; never past 4294967295, 0 only
 * when every id is taken. What a document's absent ids get, in file order. */
uint32_t tn_config_next_farm_id(const struct tn_config *c, enum tn_l4_type t);
uint32_t tn_config_next_frontend_id(const struct tn_config *c, enum tn_l4_type t);
uint32_t tn_config_next_server_id(const struct tn_farm_cfg *f);

/* Small parsers shared with the CLI and API (addresses: lib/net.h). */
int tn_port_spec_parse(const char *s, struct tn_port_range **out, size_t *n, char *err, size_t errlen);
const char *tn_l4_type_name(enum tn_l4_type t);                  /* "tcp" / "udp" */
uint16_t tn_server_port(const struct tn_farm_cfg *f, const struct tn_server_cfg *s); /* server's, else farm's */
/* Whether two frontends' port specs share a port: -1 no, else the first
 * shared port, 0 when both take every port. "Every port" (no port) overlaps
 * every port: two frontends of one type on one VIP address always conflict
 * when this is >= 0, whether disabled or not (the data plane holds one entry
 * per VIP, port and protocol). The API's 409 and the config rule both use it. */
long tn_ports_overlap(const struct tn_frontend_cfg *a, const struct tn_frontend_cfg *b);

/* Forwarding (config/encap.c): "dsr", "ipip", "gue"; the farm's encapSource
 * of a family (NULL when it has none); equality of two farms' settings. */
const char *tn_forwarding_name(enum tn_forwarding f);
const struct tn_addr *tn_encap_source(const struct tn_encap_cfg *e, uint8_t family);
bool tn_encap_cfg_equal(const struct tn_encap_cfg *a, const struct tn_encap_cfg *b);

#endif /* TENACE_CONFIG_H */
