/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The production backend: it only forwards to user/dataplane (maps, farm
 * writes, counters) and to rtnetlink's neighbour lookup. */
#include <string.h>
#include "control/controller.h"
#include "control/encap.h"

static int dp_farm_write(void *ctx, uint32_t slot, const struct tn_dp_farm *f, uint64_t *gen)
{
	return tn_dp_farm_write(ctx, slot, f, gen);
}

static int dp_farm_clear(void *ctx, uint32_t slot)
{
	return tn_dp_farm_clear(ctx, slot);
}

static int dp_farm_read(void *ctx, uint32_t slot, struct tn_farm_hdr *hdr, struct tn_server *servers)
{
	return tn_dp_farm_read(ctx, slot, hdr, servers, NULL);
}

static int dp_vips_replace(void *ctx, const struct tn_vip_key *keys, const struct tn_vip *vals, size_t n)
{
	return tn_dp_vips_replace(ctx, keys, vals, n);
}

static int dp_vips_dump(void *ctx, struct tn_vip_key **keys, struct tn_vip **vals, size_t *n)
{
	return tn_dp_vips_dump(ctx, keys, vals, n);
}

static int dp_filters_set(void *ctx, uint32_t idx, bool allow, const struct tn_dp_prefix *p, size_t n)
{
	return tn_dp_filters_set(ctx, idx, allow, p, n);
}

static int dp_tx_port_add(void *ctx, uint32_t ifindex)
{
	return tn_dp_tx_port_add(ctx, ifindex);
}

static int dp_resolve(void *ctx, const struct tn_addr *a, bool have_mac, bool trigger,
		      struct tn_neigh_info *out, char *err, size_t errlen)
{
	return tn_neigh_resolve(a, have_mac, trigger, out, err, errlen);
}

static int dp_reason_counters(void *ctx, struct tn_counter out[TN_R__COUNT])
{
	return tn_dp_reason_counters(ctx, out);
}

static int dp_vip_counter(void *ctx, uint32_t idx, struct tn_counter *out)
{
	return tn_dp_vip_counter(ctx, idx, out);
}

static int dp_server_counter(void *ctx, uint32_t farm_slot, uint32_t slot, struct tn_counter *out)
{
	return tn_dp_server_counter(ctx, farm_slot, slot, out);
}

static int dp_farm_table(void *ctx, uint32_t slot, struct tn_farm_hdr *hdr, struct tn_server *servers,
			 uint16_t *table)
{
	return tn_dp_farm_read(ctx, slot, hdr, servers, table);
}

static int dp_farm_build(void *ctx, int slot, const struct tn_dp_farm *f, struct tn_farm *out)
{
	return tn_dp_farm_build(ctx, slot, f, out);
}

static int dp_ct_foreach(void *ctx, tn_ct_fn fn, void *arg)
{
	return tn_dp_ct_foreach(ctx, fn, arg);
}

void tn_ctl_backend_dp(struct tn_ctl_backend *be, struct tn_dp *dp)
{
	memset(be, 0, sizeof(*be));
	be->ctx = dp;
	be->farm_write = dp_farm_write;
	be->farm_clear = dp_farm_clear;
	be->farm_read = dp_farm_read;
	be->vips_replace = dp_vips_replace;
	be->vips_dump = dp_vips_dump;
	be->filters_set = dp_filters_set;
	be->tx_port_add = dp_tx_port_add;
	be->resolve = dp_resolve;
	be->reason_counters = dp_reason_counters;
	be->vip_counter = dp_vip_counter;
	be->server_counter = dp_server_counter;
	be->farm_table = dp_farm_table;
	be->farm_build = dp_farm_build;
	be->ct_foreach = dp_ct_foreach;
	tn_ctl_backend_encap_dp(be);
}
