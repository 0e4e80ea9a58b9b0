/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The controller's side of tunnels (see encap.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include "control/encap.h"
#include "lib/log.h"

void tn_ctl_encap_abi(const struct tn_farm_cfg *f, struct tn_encap *out)
{
	const struct tn_encap_cfg *e = &f->encap;

	memset(out, 0, sizeof(*out));
	out->forwarding = e->forwarding == TN_FORWARD_IPIP ? TN_FWD_IPIP :
			  e->forwarding == TN_FORWARD_GUE ? TN_FWD_GUE : TN_FWD_DSR;
	out->gue_version = (uint8_t)e->gue_version;
	out->gue_port = htons(e->gue_port);
	if (e->source4.family) {
		out->flags |= TN_ENCAP_F_SRC4;
		memcpy(out->src4, e->source4.bytes, 4);
	}
	if (e->source6.family) {
		out->flags |= TN_ENCAP_F_SRC6;
		memcpy(out->src6, e->source6.bytes, 16);
	}
}

static bool listed(const struct tn_addr *v, size_t n, const struct tn_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (tn_addr_equal(&v[i], a))
			return true;
	return false;
}

void tn_ctl_encap_sources_sync(const struct tn_ctl_backend *be, const struct tn_config *c)
{
	struct tn_addr *v;
	size_t n = 0;

	if (!be->encap_sources_set)
		return;
	v = calloc(2 * c->nfarms + 1, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < c->nfarms; i++) {
		const struct tn_encap_cfg *e = &c->farms[i].encap;

		if (!tn_ctl_tunnels(&c->farms[i]))
			continue;
		if (e->source4.family && !listed(v, n, &e->source4))
			v[n++] = e->source4;
		if (e->source6.family && !listed(v, n, &e->source6))
			v[n++] = e->source6;
	}
	be->encap_sources_set(be->ctx, v, n);
	free(v);
}

bool tn_ctl_encap_nexthop(const struct tn_ctl_backend *be, const struct tn_config *c, const struct tn_farm_cfg *f,
			  const struct tn_server_cfg *s, bool trigger, struct tn_nexthop *nh, char *err, size_t errlen)
{
	const struct tn_addr *src = tn_encap_source(&f->encap, s->address.family);
	struct tn_nexthop local;
	char via[TN_ADDR_TEXT];
	uint32_t in;

	nh = nh ? nh : &local;
	memset(nh, 0, sizeof(*nh));
	if (!src) { /* validation refuses it: a farm built in code */
		snprintf(err, errlen, "the farm has no IPv%u encapSource", s->address.family);
		return false;
	}
	in = c->ninterfaces ? if_nametoindex(c->interfaces[0]) : 0;
	if (!in) {
		snprintf(err, errlen, "interface %s: %s", c->ninterfaces ? c->interfaces[0] : "(none)",
			 strerror(ENODEV));
		return false;
	}
	if (!be->nexthop)
		return true; /* no view of the FIB (tests): the data plane decides */
	if (be->nexthop(be->ctx, in, src, &s->address, trigger, nh)) {
		snprintf(err, errlen, "cannot ask the FIB: %s", tn_fib_result_text(nh->rc));
		return false;
	}
	if (nh->rc == BPF_FIB_LKUP_RET_SUCCESS)
		return true;
	tn_addr_format(&nh->via, via, sizeof(via));
	if (nh->rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		snprintf(err, errlen, "next hop %s: %s", via, tn_fib_result_text(nh->rc));
	else
		snprintf(err, errlen, "%s", tn_fib_result_text(nh->rc));
	return false;
}

static json_object *pmtu_json(const struct tn_ctl_backend *be, const struct tn_addr *a)
{
	struct tn_dp_pmtu *v = NULL;
	json_object *o = NULL;
	size_t n = 0;

	if (!be->pmtu_dump || be->pmtu_dump(be->ctx, &v, &n))
		return NULL;
	for (size_t i = 0; i < n && !o; i++) {
		if (!tn_addr_equal(&v[i].server, a))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "mtu", json_object_new_int(v[i].mtu));
		json_object_object_add(o, "expiresIn", json_object_new_int64(v[i].expires_in_s));
	}
	free(v);
	return o;
}

void tn_ctl_encap_server_status(const struct tn_ctl_backend *be, const struct tn_config *c,
				const struct tn_farm_cfg *f, const struct tn_server_cfg *s, json_object *o,
				bool *usable)
{
	struct tn_nexthop nh;
	char err[256] = "", via[TN_ADDR_TEXT], mac[TN_MAC_TEXT], ifname[IF_NAMESIZE] = "";
	json_object *x;

	if (!tn_ctl_encap_nexthop(be, c, f, s, false, &nh, err, sizeof(err))) {
		json_object_object_add(o, "state", json_object_new_string("unresolved"));
		json_object_object_add(o, "lastError", json_object_new_string(err));
		json_object_object_add(o, "nextHop", NULL);
		*usable = false;
	} else if (be->nexthop) {
		x = json_object_new_object();
		tn_addr_format(&nh.via, via, sizeof(via));
		tn_mac_format(nh.dmac, mac);
		json_object_object_add(x, "via", json_object_new_string(via));
		if (if_indextoname(nh.ifindex, ifname))
			json_object_object_add(x, "interface", json_object_new_string(ifname));
		json_object_object_add(x, "mac", json_object_new_string(mac));
		json_object_object_add(o, "nextHop", x);
	}
	json_object_object_add(o, "pathMtu", pmtu_json(be, &s->address));
}

/* ---- the production backend ---------------------------------------------------------- */

/* One FIB probe for the process, opened on first use. */
static pthread_mutex_t fib_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tn_fib *fib;
static bool fib_failed;

static int dp_nexthop(void *ctx, uint32_t in, const struct tn_addr *src, const struct tn_addr *dst, bool trigger,
		      struct tn_nexthop *nh)
{
	int err;

	pthread_mutex_lock(&fib_lock);
	if (!fib && !fib_failed && tn_fib_open(&fib))
		fib_failed = true; /* said once; status then says it per server */
	err = fib ? tn_fib_lookup(fib, in, src, dst, nh) : -ENOSYS;
	pthread_mutex_unlock(&fib_lock);
	if (err)
		nh->rc = err;
	else if (trigger && nh->rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		tn_nexthop_trigger(src, dst);
	return err;
}

static int dp_encap_sources_set(void *ctx, const struct tn_addr *a, size_t n)
{
	return tn_dp_encap_sources_set(ctx, a, n);
}

static int dp_pmtu_dump(void *ctx, struct tn_dp_pmtu **out, size_t *n)
{
	return tn_dp_pmtu_dump(ctx, out, n);
}

void tn_ctl_backend_encap_dp(struct tn_ctl_backend *be)
{
	be->encap_sources_set = dp_encap_sources_set;
	be->nexthop = dp_nexthop;
	be->pmtu_dump = dp_pmtu_dump;
}
