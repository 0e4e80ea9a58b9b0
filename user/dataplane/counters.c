/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Per-CPU counters summed for the CLI, the API and the metrics, and their names. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tenace.skel.h"
#include "dataplane/internal.h"

static const char *const reason_names[TN_R__COUNT] = {
	[TN_R_PASS_NOT_IP] = "pass_not_ip",
	[TN_R_PASS_NOT_VIP] = "pass_not_vip",
	[TN_R_PASS_TRUNCATED] = "pass_truncated",
	[TN_R_DROP_MALFORMED] = "drop_malformed",
	[TN_R_DROP_FILTERED] = "drop_filtered",
	[TN_R_DROP_NO_SERVER] = "drop_no_server",
	[TN_R_DROP_DISABLED] = "drop_disabled",
	[TN_R_DROP_NO_FARM] = "drop_no_farm",
	[TN_R_DROP_NO_ROUTE] = "drop_no_route",
	[TN_R_CT_HIT] = "conntrack_hit",
	[TN_R_CT_NEW] = "conntrack_new",
	[TN_R_CT_RESCHEDULED] = "conntrack_rescheduled",
	[TN_R_CT_EXPIRED] = "conntrack_expired",
	[TN_R_FRAGMENT] = "fragment",
	[TN_R_ICMP_STEERED] = "icmp_steered",
	[TN_R_TX] = "xdp_tx",
	[TN_R_REDIRECT] = "redirect",
	[TN_R_ABORTED] = "aborted",
	[TN_R_ENCAP_IPIP] = "encap_ipip",
	[TN_R_ENCAP_GUE] = "encap_gue",
	[TN_R_DROP_ENCAP_NO_ROUTE] = "drop_encap_no_route",
	[TN_R_DROP_ENCAP_NO_NEIGH] = "drop_encap_no_neigh",
	[TN_R_ICMP_TOO_BIG] = "icmp_too_big",
	[TN_R_DROP_TOO_BIG] = "drop_too_big",
	[TN_R_PMTU_LEARNED] = "pmtu_learned",
	[TN_R_CT_DEFERRED] = "conntrack_deferred",
	[TN_R_CT_REFUSED] = "conntrack_refused",
};

const char *tn_reason_name(enum tn_reason r)
{
	if ((unsigned)r >= TN_R__COUNT || !reason_names[r])
		return "unknown";
	return reason_names[r];
}

static int percpu_sum(struct tn_dp *dp, int fd, uint32_t idx, struct tn_counter *out)
{
	struct tn_counter *v = calloc(dp->ncpus, sizeof(*v));
	int i;

	if (!v)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, &idx, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (i = 0; i < dp->ncpus; i++) {
		out->packets += v[i].packets;
		out->bytes += v[i].bytes;
	}
	free(v);
	return 0;
}

int tn_dp_reason_counters(struct tn_dp *dp, struct tn_counter out[TN_R__COUNT])
{
	struct tn_stats *v = calloc(dp->ncpus, sizeof(*v));
	__u32 zero = 0;
	int err = 0;

	if (!v)
		return -ENOMEM;
	memset(out, 0, sizeof(struct tn_counter) * TN_R__COUNT);
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.stats), &zero, v)) {
		err = -errno;
	} else {
		for (int cpu = 0; cpu < dp->ncpus; cpu++) {
			for (uint32_t r = 0; r < TN_R__COUNT; r++) {
				out[r].packets += v[cpu].reason[r].packets;
				out[r].bytes += v[cpu].reason[r].bytes;
			}
		}
	}
	free(v);
	return err;
}

int tn_dp_vip_counter(struct tn_dp *dp, uint32_t vip_index, struct tn_counter *out)
{
	return percpu_sum(dp, bpf_map__fd(dp->skel->maps.vip_stats), vip_index, out);
}

int tn_dp_server_counter(struct tn_dp *dp, uint32_t farm_slot, uint32_t slot, struct tn_counter *out)
{
	if (farm_slot >= TN_MAX_FARMS || slot >= TN_MAX_SERVERS)
		return -EINVAL;
	return percpu_sum(dp, bpf_map__fd(dp->skel->maps.server_stats),
			  farm_slot * TN_MAX_SERVERS + slot, out);
}
