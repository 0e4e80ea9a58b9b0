// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A farm's forwarding: dsr, or tunnels to servers anywhere (forwarding,
 * gueVersion, guePort, encapSource): JSON to model and back, equality and the
 * rules that tie it to the farm's servers. */
#include <string.h>

#include "tenace.h"
#include "config/internal.h"

#define GUE_PORT_DEFAULT 6080 /* TN_GUE_PORT_DEFAULT (headers/tunnel.h) */

const char *const tn_cfg_forwarding_names[] = {
	[TN_FORWARD_DSR] = "dsr", [TN_FORWARD_IPIP] = "ipip", [TN_FORWARD_GUE] = "gue", NULL
};

const char *tn_forwarding_name(enum tn_forwarding f)
{
	return f <= TN_FORWARD_GUE ? tn_cfg_forwarding_names[f] : "dsr";
}

void tn_cfg_encap_defaults(struct tn_encap_cfg *e)
{
	memset(e, 0, sizeof(*e));
	e->forwarding = TN_FORWARD_DSR;
	e->gue_port = GUE_PORT_DEFAULT;
}

bool tn_encap_cfg_equal(const struct tn_encap_cfg *a, const struct tn_encap_cfg *b)
{
	return a->forwarding == b->forwarding && a->gue_version == b->gue_version &&
	       a->gue_port == b->gue_port && tn_addr_equal(&a->source4, &b->source4) &&
	       tn_addr_equal(&a->source6, &b->source6);
}

const struct tn_addr *tn_encap_source(const struct tn_encap_cfg *e, uint8_t family)
{
	const struct tn_addr *a = family == TN_FAMILY_V6 ? &e->source6 : &e->source4;

	return a->family ? a : NULL;
}

/* "only with forwarding ..." for a field a farm of another kind sets */
static bool only_with(struct tn_jctx *x, const char *path, bool ok, const char *which)
{
	if (!ok)
		tn_jfail(x, path, "only for farms with forwarding %s", which);
	return ok;
}

static bool unicast(const struct tn_addr *a)
{
	static const uint8_t zero[16];

	if (!memcmp(a->bytes, zero, 16))
		return false;
	return a->family == TN_FAMILY_V4 ? a->bytes[0] < 224 : a->bytes[0] != 0xff;
}

static void parse_sources(struct tn_jctx *x, json_object *v, const char *path, struct tn_encap_cfg *e)
{
	char pi[TN_JPATH_LEN], g[TN_JGOT_LEN];
	size_t i, n;

	if (!tn_jwant_array(x, v, path))
		return;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(v, i);
		struct tn_addr a, *slot;
		const char *str;

		tn_jpath_idx(pi, path, i);
		if (!tn_jwant_str(x, s, pi, false, 64, &str))
			continue;
		if (tn_addr_parse(str, &a) || !unicast(&a)) {
			tn_jfail(x, pi, "must be a unicast IPv4 or IPv6 address of this node, got %s", tn_jgot(s, g));
			continue;
		}
		slot = a.family == TN_FAMILY_V6 ? &e->source6 : &e->source4;
		if (slot->family) {
			char have[TN_ADDR_TEXT];

			tn_addr_format(slot, have, sizeof(have));
			tn_jfail(x, pi, "a second IPv%u address (the first is %s): at most one per family",
				 a.family, have);
			continue;
		}
		*slot = a;
	}
}

void tn_cfg_parse_encap(struct tn_jctx *x, json_object *o, const char *path, struct tn_farm_cfg *f)
{
	struct tn_encap_cfg *e = &f->encap;
	char p[TN_JPATH_LEN];
	json_object *v;
	int i;

	v = tn_jfield(o, "forwarding");
	if (v) {
		i = tn_jwant_enum(x, v, tn_jpath_key(p, path, "forwarding"), tn_cfg_forwarding_names, false);
		if (i < 0)
			return; /* the other fields' rules depend on it: no second-hand errors */
		e->forwarding = (enum tn_forwarding)i;
	}
	v = tn_jfield(o, "gueVersion");
	if (v && only_with(x, tn_jpath_key(p, path, "gueVersion"), e->forwarding == TN_FORWARD_GUE, "\"gue\""))
		tn_jwant_u16(x, v, p, 0, 1, &e->gue_version);
	v = tn_jfield(o, "guePort");
	if (v && only_with(x, tn_jpath_key(p, path, "guePort"), e->forwarding == TN_FORWARD_GUE, "\"gue\""))
		tn_jwant_u16(x, v, p, 1, 65535, &e->gue_port);
	v = tn_jfield(o, "encapSource");
	if (v && json_object_get_type(v) != json_type_null &&
	    only_with(x, tn_jpath_key(p, path, "encapSource"), e->forwarding != TN_FORWARD_DSR,
		      "\"ipip\" or \"gue\""))
		parse_sources(x, v, p, e);
	if (tn_jfield(o, "mssClamp"))
		tn_jfail(x, tn_jpath_key(p, path, "mssClamp"),
			 "is a setting of the servers, not of the farm: their SYN-ACKs never reach the balancer; "
			 "run tenace decap IFACE --vip ... --mss-clamp on|off on each server (on by default)");
}

/* An encapsulating farm has an encapSource of each of its servers' families. */
void tn_cfg_check_encap(struct tn_jctx *x, const struct tn_cfg_trust *t, const struct tn_farm_cfg *f,
			const char *path)
{
	char p[TN_JPATH_LEN], pl[TN_JPATH_LEN], ps[TN_JPATH_LEN], ref[TN_ERROR_LABEL_MAX];
	bool seen[2] = { false, false };
	size_t i;

	if (f->encap.forwarding == TN_FORWARD_DSR)
		return;
	tn_jpath_key(p, path, "encapSource");
	for (i = 0; i < f->nservers; i++) {
		const struct tn_server_cfg *s = &f->servers[i];
		int v6 = s->address.family == TN_FAMILY_V6;

		if (!s->address.family || seen[v6] || tn_encap_source(&f->encap, s->address.family))
			continue;
		seen[v6] = true;
		tn_jpath_idx(ps, tn_jpath_key(pl, path, "servers"), i);
		tn_cfg_server_ref(ref, sizeof(ref), t, ps, f, s);
		tn_jfail(x, p, "needs an IPv%u address of this node (the outer source of its tunnels): the farm "
			 "forwards with %s to IPv%u servers such as %s", s->address.family,
			 tn_forwarding_name(f->encap.forwarding), s->address.family, ref);
	}
}

void tn_cfg_encap_to_json(json_object *o, const struct tn_farm_cfg *f)
{
	const struct tn_encap_cfg *e = &f->encap;
	char a[TN_ADDR_TEXT];
	json_object *src;

	json_object_object_add(o, "forwarding", json_object_new_string(tn_forwarding_name(e->forwarding)));
	if (e->forwarding == TN_FORWARD_DSR)
		return;
	if (e->forwarding == TN_FORWARD_GUE) {
		json_object_object_add(o, "gueVersion", json_object_new_int(e->gue_version));
		json_object_object_add(o, "guePort", json_object_new_int(e->gue_port));
	}
	src = json_object_new_array();
	if (e->source4.family) {
		tn_addr_format(&e->source4, a, sizeof(a));
		json_object_array_add(src, json_object_new_string(a));
	}
	if (e->source6.family) {
		tn_addr_format(&e->source6, a, sizeof(a));
		json_object_array_add(src, json_object_new_string(a));
	}
	json_object_object_add(o, "encapSource", src);
}
