// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The model to JSON: the one writer of the config file, the API and the CLI's
 * -j, with every default explicit so that what is written reads back alike. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/internal.h"

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
			       json_object_new_string(tn_cfg_probe_names[t - 1]) : NULL);
	json_object_object_add(o, "port", json_object_new_int(p->port));
	json_object_object_add(o, "interval", new_number(p->interval_s));
	json_object_object_add(o, "timeout", new_number(p->timeout_s));
	json_object_object_add(o, "rise", json_object_new_int(p->rise));
	json_object_object_add(o, "fall", json_object_new_int(p->fall));
	if (p->type != TN_PROBE_HTTP)
		return o; /* the other fields only mean something to HTTP probes */
	json_object_object_add(o, "method", json_object_new_string(p->method[0] ? p->method : "GET"));
	json_object_object_add(o, "url", json_object_new_string(p->url && *p->url ? p->url : "/"));
	json_object_object_add(o, "forceSsl", json_object_new_boolean(p->force_ssl));
	json_object_object_add(o, "match", json_object_new_string(
		p->match <= TN_MATCH_MATCHES ? tn_cfg_match_names[p->match] : "default"));
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
		f->balance <= TN_BAL_FIRST ? tn_cfg_balance_names[f->balance] : "source"));
	json_object_object_add(o, "stickiness", f->stickiness == TN_STICK_SOURCE_IP ?
			       json_object_new_string("sourceIp") : NULL);
	tn_cfg_encap_to_json(o, f);
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
	json_object_object_add(ct, "udpAdmitRate", json_object_new_int64(c->udp_admit_rate));
	json_object_object_add(ct, "tcpAdmitRate", json_object_new_int64(c->tcp_admit_rate));
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
