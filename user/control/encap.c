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
#include "control/internal.h"
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

void tn_ctl_encap_sources_sync(struct tn_ctl *ctl)
{
	const struct tn_config *c = &ctl->applied; /* the writer's: read without the state lock */
	struct tn_addr *v;
	size_t n = 0;

	ASSERT_WRITER();
	ASSERT_STATE_FREE();
	if (!ctl->be.encap_sources_set)
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
	ctl->be.encap_sources_set(ctl->be.ctx, v, n);
	free(v);
}

/* What one next-hop question needs, copied from the configuration. */
struct nh_query {
	struct tn_addr src, dst;
	bool has_src;
	char ifname[IF_NAMESIZE];
};

static void nh_query_of(const struct tn_config *c, const struct tn_farm_cfg *f, const struct tn_server_cfg *s,
			struct nh_query *q)
{
	const struct tn_addr *src = tn_encap_source(&f->encap, s->address.family);

	memset(q, 0, sizeof(*q));
	q->has_src = src != NULL;
	if (src)
		q->src = *src;
	q->dst = s->address;
	if (c->ninterfaces)
		snprintf(q->ifname, sizeof(q->ifname), "%s", c->interfaces[0]);
}

/* No state lock: the next hop of q through its interface. Returns true when
 * resolved; false with err filled ("next hop 10.0.0.1: the next hop's MAC is
 * not resolved"), after asking the kernel to resolve it when trigger. */
static bool nh_ask(const struct tn_ctl_backend *be, const struct nh_query *q, bool trigger, struct tn_nexthop *nh,
		   char *err, size_t errlen)
{
	char via[TN_ADDR_TEXT];
	uint32_t in;

	ASSERT_STATE_FREE();
	memset(nh, 0, sizeof(*nh));
	if (!q->has_src) { /* validation refuses it: a farm built in code */
		snprintf(err, errlen, "the farm has no IPv%u encapSource", q->dst.family);
		return false;
	}
	in = q->ifname[0] ? if_nametoindex(q->ifname) : 0;
	if (!in) {
		snprintf(err, errlen, "interface %s: %s", q->ifname[0] ? q->ifname : "(none)", strerror(ENODEV));
		return false;
	}
	if (!be->nexthop)
		return true; /* no view of the FIB (tests): the data plane decides */
	if (be->nexthop(be->ctx, in, &q->src, &q->dst, trigger, nh)) {
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

static void port_add(uint32_t *out, size_t max, size_t *n, uint32_t ifindex)
{
	for (size_t i = 0; i < *n; i++)
		if (out[i] == ifindex)
			return;
	if (*n < max)
		out[(*n)++] = ifindex;
}

size_t tn_ctl_encap_ports(struct tn_ctl *ctl, const struct tn_farm_cfg *const *farms, size_t n, bool trigger,
			  uint32_t *out, size_t max)
{
	size_t nout = 0;

	ASSERT_WRITER();
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; tn_ctl_tunnels(farms[i]) && k < farms[i]->nservers; k++) {
			struct tn_nexthop nh;
			struct nh_query q;
			char why[256];

			nh_query_of(&ctl->applied, farms[i], &farms[i]->servers[k], &q);
			if (nh_ask(&ctl->be, &q, trigger, &nh, why, sizeof(why)) && nh.ifindex)
				port_add(out, max, &nout, nh.ifindex);
		}
	}
	return nout;
}

void tn_ctl_encap_ports_sync(struct tn_ctl *ctl)
{
	const struct tn_farm_cfg **farms;
	uint32_t ports[TN_MAX_IFACES], added[TN_MAX_IFACES];
	size_t n, nadded = 0;

	ASSERT_WRITER();
	farms = calloc(ctl->applied.nfarms + 1, sizeof(*farms));
	if (!farms)
		return;
	for (size_t i = 0; i < ctl->applied.nfarms; i++)
		farms[i] = &ctl->applied.farms[i];
	n = tn_ctl_encap_ports(ctl, farms, ctl->applied.nfarms, true, ports, TN_MAX_IFACES);
	free(farms);
	for (size_t i = 0; i < n; i++) {
		bool known = false;

		for (size_t j = 0; j < ctl->ntx_ports; j++) /* the writer's: read without the lock */
			known |= ctl->tx_ports[j] == ports[i];
		if (!known && ctl->be.tx_port_add && call_tx_port_add(ctl, ports[i]) == 0)
			added[nadded++] = ports[i];
	}
	if (!nadded)
		return;
	tn_ctl_lock(ctl);
	for (size_t i = 0; i < nadded && ctl->ntx_ports < TN_MAX_IFACES; i++)
		ctl->tx_ports[ctl->ntx_ports++] = added[i];
	tn_ctl_unlock(ctl);
}

/* ---- status ------------------------------------------------------------------------------ */

struct encap_status_job {
	struct nh_query q;
	bool usable;
	json_object *farm, *server; /* references held until run */
};

void tn_ctl_encap_status_add(struct tn_ctl_encap_status *es, const struct tn_config *c,
			     const struct tn_farm_cfg *f, const struct tn_server_cfg *s, bool usable,
			     json_object *farm, json_object *server)
{
	struct encap_status_job *j;

	if (es->n == es->cap) {
		size_t cap = es->cap ? 2 * es->cap : 16;
		struct encap_status_job *v = realloc(es->v, cap * sizeof(*v));

		if (!v)
			return; /* out of memory: this server shows without its next hop */
		es->v = v;
		es->cap = cap;
	}
	j = &es->v[es->n++];
	nh_query_of(c, f, s, &j->q);
	j->usable = usable;
	j->farm = json_object_get(farm);
	j->server = json_object_get(server);
}

static json_object *pmtu_json(const struct tn_dp_pmtu *v, size_t n, const struct tn_addr *a)
{
	json_object *o;

	for (size_t i = 0; i < n; i++) {
		if (!tn_addr_equal(&v[i].server, a))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "mtu", json_object_new_int(v[i].mtu));
		json_object_object_add(o, "expiresIn", json_object_new_int64(v[i].expires_in_s));
		return o;
	}
	return NULL;
}

static json_object *nexthop_json(const struct tn_nexthop *nh)
{
	char via[TN_ADDR_TEXT], mac[TN_MAC_TEXT], ifname[IF_NAMESIZE] = "";
	json_object *x = json_object_new_object();

	tn_addr_format(&nh->via, via, sizeof(via));
	tn_mac_format(nh->dmac, mac);
	json_object_object_add(x, "via", json_object_new_string(via));
	if (if_indextoname(nh->ifindex, ifname))
		json_object_object_add(x, "interface", json_object_new_string(ifname));
	json_object_object_add(x, "mac", json_object_new_string(mac));
	return x;
}

/* An unresolved next hop: its server no longer counts in its farm's serversUp. */
static void count_out(json_object *farm)
{
	json_object *up;
	int n;

	if (!json_object_object_get_ex(farm, "serversUp", &up))
		return;
	n = json_object_get_int(up) - 1;
	json_object_object_add(farm, "serversUp", json_object_new_int(n > 0 ? n : 0));
	if (n <= 0)
		json_object_object_add(farm, "state", json_object_new_string("down"));
}

static void status_one(const struct tn_ctl_backend *be, const struct encap_status_job *j,
		       const struct tn_dp_pmtu *pm, size_t npm)
{
	struct tn_nexthop nh;
	char err[256] = "";

	if (!nh_ask(be, &j->q, false, &nh, err, sizeof(err))) {
		json_object_object_add(j->server, "state", json_object_new_string("unresolved"));
		json_object_object_add(j->server, "lastError", json_object_new_string(err));
		json_object_object_add(j->server, "nextHop", NULL);
		if (j->usable)
			count_out(j->farm);
	} else if (be->nexthop) {
		json_object_object_add(j->server, "nextHop", nexthop_json(&nh));
	}
	json_object_object_add(j->server, "pathMtu", pmtu_json(pm, npm, &j->q.dst));
}

void tn_ctl_encap_status_run(struct tn_ctl *ctl, struct tn_ctl_encap_status *es)
{
	struct tn_dp_pmtu *pm = NULL;
	size_t npm = 0;

	ASSERT_STATE_FREE();
	if (es->n && ctl->be.pmtu_dump && ctl->be.pmtu_dump(ctl->be.ctx, &pm, &npm)) {
		pm = NULL;
		npm = 0;
	}
	for (size_t i = 0; i < es->n; i++) {
		status_one(&ctl->be, &es->v[i], pm, npm);
		json_object_put(es->v[i].farm);
		json_object_put(es->v[i].server);
	}
	free(pm);
	free(es->v);
	memset(es, 0, sizeof(*es));
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
