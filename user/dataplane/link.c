/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What an interface's driver does with the frames XDP sends: whether a veth
 * peer can take them at all, and the driver's own count of those it dropped
 * (which the data plane's xdp_tx counter cannot see).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include "dataplane/internal.h"
#include "dataplane/nl.h"

static int ethtool_ioctl(const char *ifname, void *cmd)
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = cmd;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* GRO on a veth turns its NAPI on, which is what XDP frames need. */
static bool gro_on(const char *ifname)
{
	struct ethtool_value v = { .cmd = ETHTOOL_GGRO };

	return ethtool_ioctl(ifname, &v) == 0 && v.data;
}

int tn_dp_veth_peer_check(int ifindex, char *warn, size_t len)
{
	struct mnl_socket *nl = tn_nl_open();
	struct tn_nl_link self, peer;
	int err;

	warn[0] = 0;
	if (!nl)
		return -errno;
	err = tn_nl_link_get(nl, ifindex, -1, &self);
	if (err || strcmp(self.kind, "veth") || !self.link)
		goto out;
	err = tn_nl_link_get(nl, self.link, self.link_netnsid, &peer);
	if (err) {
		snprintf(warn, len, "the veth peer of %s (ifindex %d%s) cannot be checked (%s): frames sent with "
			 "XDP_TX are dropped unless it has a native XDP program (any XDP_PASS one)", self.name,
			 self.link, self.link_netnsid >= 0 ? " in another network namespace" : "", strerror(-err));
		err = 1;
		goto out;
	}
	if (peer.xdp_drv_prog_id || (self.link_netnsid < 0 && gro_on(peer.name)))
		goto out;
	snprintf(warn, len, "the veth peer of %s (%s%s) has no XDP program: frames sent with XDP_TX are dropped; "
		 "attach one to the peer (any XDP_PASS program)", self.name, peer.name,
		 self.link_netnsid >= 0 ? ", in another network namespace" : "");
	err = 1;
out:
	tn_nl_close(nl);
	return err;
}

/* Driver counters of frames sent by XDP (XDP_TX, redirected in) and dropped. */
static bool xdp_tx_error_stat(const char *name)
{
	static const char *const names[] = { "xdp_tx_err", "tx_xdp_err", "xdp_xmit_err", "xdp_tx_drops" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strstr(name, names[i]))
			return true;
	return false;
}

/* The number of ethtool statistics of an interface: >= 0 or -errno. */
static int stats_count(const char *ifname)
{
	struct {
		struct ethtool_sset_info hdr;
		__u32 buf[1];
	} s = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_STATS } };
	int err = ethtool_ioctl(ifname, &s);

	if (err)
		return err;
	return s.hdr.sset_mask ? (int)s.hdr.data[0] : 0;
}

int tn_dp_xdp_tx_errors(int ifindex, uint64_t *out)
{
	struct ethtool_gstrings *names = NULL;
	struct ethtool_stats *vals = NULL;
	char ifname[IF_NAMESIZE];
	int n, err, found = 0;

	*out = 0;
	if (!if_indextoname(ifindex, ifname))
		return -errno;
	n = stats_count(ifname);
	if (n <= 0)
		return n < 0 ? n : -EOPNOTSUPP;
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	vals = calloc(1, sizeof(*vals) + (size_t)n * sizeof(__u64));
	if (!names || !vals) {
		err = -ENOMEM;
		goto out;
	}
	*names = (struct ethtool_gstrings){ .cmd = ETHTOOL_GSTRINGS, .string_set = ETH_SS_STATS, .len = (__u32)n };
	*vals = (struct ethtool_stats){ .cmd = ETHTOOL_GSTATS, .n_stats = (__u32)n };
	if ((err = ethtool_ioctl(ifname, names)) || (err = ethtool_ioctl(ifname, vals)))
		goto out;
	/* the driver may have fewer statistics by now (queues changed): the least */
	for (__u32 i = 0; i < names->len && i < vals->n_stats; i++) {
		char name[ETH_GSTRING_LEN + 1] = { 0 };

		memcpy(name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		if (xdp_tx_error_stat(name)) {
			*out += vals->data[i];
			found = 1;
		}
	}
	err = found ? 0 : -EOPNOTSUPP;
out:
	free(names);
	free(vals);
	return err;
}
