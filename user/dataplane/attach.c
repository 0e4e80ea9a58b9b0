/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Attaching to interfaces (XDP_FLAGS_REPLACE over our own program: no gap), detaching, querying. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tenace.skel.h"
#include "dataplane/internal.h"
#include "lib/log.h"

int tn_dp_query(int ifindex, uint32_t *prog_id, const char **mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = bpf_xdp_query(ifindex, 0, &q);

	if (err)
		return err;
	if (prog_id)
		*prog_id = q.prog_id;
	if (mode)
		*mode = q.attach_mode == XDP_ATTACHED_DRV ? "native" :
			q.attach_mode == XDP_ATTACHED_SKB ? "skb" :
			q.attach_mode == XDP_ATTACHED_HW ? "hw" :
			q.attach_mode == XDP_ATTACHED_NONE ? "none" : "multi";
	return 0;
}

const char *tn_dp_ifname(int ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "#%d", ifindex);
	return buf;
}

int tn_dp_attach(struct tn_dp *dp, int ifindex, bool skb_mode)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 mode = skb_mode ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	char name[IF_NAMESIZE];
	int err, old_fd = -1;

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err) {
		tn_err("interface %s: cannot query XDP state: %s", tn_dp_ifname(ifindex, name), strerror(-err));
		return err;
	}
	tn_dp_ifname(ifindex, name);
	if (q.prog_id && q.attach_mode != (skb_mode ? XDP_ATTACHED_SKB : XDP_ATTACHED_DRV)) {
		/* a program in the other mode cannot be replaced in place */
		tn_warn("interface %s: replacing an XDP program attached in another mode (brief gap)",
			tn_dp_ifname(ifindex, name));
		bpf_xdp_detach(ifindex, skb_mode ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE, NULL);
		q.prog_id = 0;
	}
	if (q.prog_id) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		old_fd = bpf_prog_get_fd_by_id(q.prog_id);
		if (old_fd < 0) {
			err = -errno;
			tn_err("interface %s: cannot open the attached program %u: %s",
			       tn_dp_ifname(ifindex, name), q.prog_id, strerror(errno));
			return err;
		}
		/* replace only ourselves: another tool's program is the operator's call */
		if (bpf_obj_get_info_by_fd(old_fd, &info, &len) == 0 &&
		    strcmp(info.name, bpf_program__name(dp->skel->progs.tenace_xdp))) {
			tn_err("interface %s runs another XDP program (%s, id %u): detach it first "
			       "(ip link set dev %s xdp off)", name, info.name, q.prog_id, name);
			close(old_fd);
			return -EBUSY;
		}
		opts.old_prog_fd = old_fd;
		err = bpf_xdp_attach(ifindex, tn_dp_prog_fd(dp), mode | XDP_FLAGS_REPLACE, &opts);
		close(old_fd);
	} else {
		err = bpf_xdp_attach(ifindex, tn_dp_prog_fd(dp), mode | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	}
	if (err) {
		tn_err("interface %s: cannot attach XDP in %s mode: %s%s", tn_dp_ifname(ifindex, name),
		       skb_mode ? "skb" : "native", strerror(-err),
		       skb_mode ? "" : " (try --skb for generic mode)");
		return err;
	}
	return 0;
}

int tn_dp_detach_ifindex(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[IF_NAMESIZE];
	int err;

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return err;
	if (!q.prog_id)
		return 0;
	err = bpf_xdp_detach(ifindex, q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE :
			     XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		tn_err("interface %s: cannot detach XDP: %s", tn_dp_ifname(ifindex, name), strerror(-err));
	return err;
}
