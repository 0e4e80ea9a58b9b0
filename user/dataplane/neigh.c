/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Route, interface and neighbour lookups over rtnetlink (libmnl): see neigh.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "dataplane/neigh.h"
#include "dataplane/nl.h"
#include "lib/net.h"

static int addr_len(const struct tn_addr *a)
{
	return a->family == 4 ? 4 : 16;
}

static int af_of(const struct tn_addr *a)
{
	return a->family == 4 ? AF_INET : AF_INET6;
}

static int iface_mac(struct mnl_socket *nl, uint32_t ifindex, uint8_t mac[6])
{
	struct tn_nl_link l;
	int err = tn_nl_link_get(nl, (int)ifindex, -1, &l);

	if (err)
		return err;
	if (l.mac_len != 6)
		return -EOPNOTSUPP; /* not an Ethernet interface */
	memcpy(mac, l.mac, 6);
	return 0;
}

int tn_iface_mac(uint32_t ifindex, uint8_t mac[6])
{
	struct mnl_socket *nl = tn_nl_open();
	int err;

	if (!nl)
		return -errno;
	err = iface_mac(nl, ifindex, mac);
	tn_nl_close(nl);
	return err;
}

/* ---- RTM_GETROUTE ---------------------------------------------------------- */

struct route_answer {
	bool found;
	uint8_t type;      /* RTN_* */
	uint32_t oif;
	bool gateway;
};

static int route_attr(const struct nlattr *a, void *p)
{
	struct route_answer *r = p;

	switch (mnl_attr_get_type(a)) {
	case RTA_OIF:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			r->oif = mnl_attr_get_u32(a);
		break;
	case RTA_GATEWAY:
	case RTA_VIA:
		r->gateway = true;
		break;
	}
	return MNL_CB_OK;
}

static int route_msg(const struct nlmsghdr *nh, void *p)
{
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nh);
	struct route_answer *r = p;

	if (nh->nlmsg_type != RTM_NEWROUTE || r->found)
		return MNL_CB_OK;
	r->found = true;
	r->type = rt->rtm_type;
	mnl_attr_parse(nh, sizeof(*rt), route_attr, r);
	return MNL_CB_OK;
}

/* Outgoing interface for a; -EHOSTUNREACH (with err) when not on a link. */
static int route_lookup(struct mnl_socket *nl, const struct tn_addr *a, uint32_t *oif, char *err, size_t errlen)
{
	char req[128], text[INET6_ADDRSTRLEN];
	struct nlmsghdr *nh = mnl_nlmsg_put_header(req);
	struct route_answer r = { 0 };
	struct rtmsg *rt;
	bool from_kernel;
	int e;

	tn_addr_format(a, text, sizeof(text));
	nh->nlmsg_type = RTM_GETROUTE;
	nh->nlmsg_flags = NLM_F_REQUEST;
	rt = mnl_nlmsg_put_extra_header(nh, sizeof(*rt));
	rt->rtm_family = af_of(a);
	rt->rtm_dst_len = addr_len(a) * 8;
	mnl_attr_put(nh, RTA_DST, addr_len(a), a->bytes);
	e = tn_nl_talk(nl, nh, route_msg, &r, &from_kernel);
	if (e && from_kernel) {
		snprintf(err, errlen, "no route to %s: %s", text, strerror(-e));
		return e;
	}
	if (e) {
		snprintf(err, errlen, "route lookup for %s: %s", text, strerror(-e));
		return e;
	}
	if (!r.found) {
		snprintf(err, errlen, "no route to %s", text);
		return -EHOSTUNREACH;
	}
	if (r.type == RTN_LOCAL) {
		snprintf(err, errlen, "%s is an address of this host", text);
		return -EINVAL;
	}
	if (r.type != RTN_UNICAST) {
		snprintf(err, errlen, "no route to %s", text);
		return -EHOSTUNREACH;
	}
	if (r.gateway) {
		snprintf(err, errlen, "%s is reached through a gateway; direct server return needs it on a "
			 "directly connected network", text);
		return -EHOSTUNREACH;
	}
	if (!r.oif) {
		snprintf(err, errlen, "no outgoing interface towards %s", text);
		return -EHOSTUNREACH;
	}
	*oif = r.oif;
	return 0;
}

/* ---- RTM_GETNEIGH ---------------------------------------------------------- */

struct neigh_answer {
	bool found;
	uint16_t state;    /* NUD_* */
	bool have_mac;
	uint8_t mac[6];
};

static int neigh_attr(const struct nlattr *a, void *p)
{
	struct neigh_answer *n = p;

	if (mnl_attr_get_type(a) == NDA_LLADDR && mnl_attr_get_payload_len(a) == 6) {
		memcpy(n->mac, mnl_attr_get_payload(a), 6);
		n->have_mac = true;
	}
	return MNL_CB_OK;
}

static int neigh_msg(const struct nlmsghdr *nh, void *p)
{
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nh);
	struct neigh_answer *n = p;

	if (nh->nlmsg_type != RTM_NEWNEIGH || n->found)
		return MNL_CB_OK;
	n->found = true;
	n->state = nd->ndm_state;
	mnl_attr_parse(nh, sizeof(*nd), neigh_attr, n);
	return MNL_CB_OK;
}

/* 1 and mac when the neighbour table knows a on oif, 0 when not. One
 * targeted RTM_GETNEIGH (not a dump: its cost must not grow with the table). */
static int neigh_lookup(struct mnl_socket *nl, const struct tn_addr *a, uint32_t oif, uint8_t mac[6])
{
	char req[128];
	struct nlmsghdr *nh = mnl_nlmsg_put_header(req);
	struct neigh_answer n = { 0 };
	struct ndmsg *nd;
	bool from_kernel;
	int e;

	nh->nlmsg_type = RTM_GETNEIGH;
	nh->nlmsg_flags = NLM_F_REQUEST;
	nd = mnl_nlmsg_put_extra_header(nh, sizeof(*nd));
	nd->ndm_family = af_of(a);
	nd->ndm_ifindex = (int)oif;
	mnl_attr_put(nh, NDA_DST, addr_len(a), a->bytes);
	e = tn_nl_talk(nl, nh, neigh_msg, &n, &from_kernel);
	if (e)
		return from_kernel && e == -ENOENT ? 0 : e;
	if (!n.found || !n.have_mac ||
	    !(n.state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)))
		return 0;
	memcpy(mac, n.mac, 6);
	return 1;
}

/* Make the kernel resolve a: a datagram to the discard port. */
static void trigger_resolution(const struct tn_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = tn_sockaddr(a, 9, &ss);
	int fd;

	if (!sl)
		return;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	(void)!sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&ss, sl);
	close(fd);
}

int tn_neigh_resolve(const struct tn_addr *a, bool have_mac, bool trigger,
		     struct tn_neigh_info *out, char *err, size_t errlen)
{
	char text[INET6_ADDRSTRLEN];
	struct mnl_socket *nl;
	uint32_t oif = 0;
	int r;

	err[0] = 0;
	nl = tn_nl_open();
	if (!nl) {
		r = -errno;
		snprintf(err, errlen, "netlink socket: %s", strerror(-r));
		return r;
	}
	r = route_lookup(nl, a, &oif, err, errlen);
	if (r)
		goto out;
	out->ifindex = oif;
	r = iface_mac(nl, oif, out->src_mac);
	if (r) {
		snprintf(err, errlen, "MAC of interface %u: %s", oif, strerror(-r));
		goto out;
	}
	if (have_mac)
		goto out;
	r = neigh_lookup(nl, a, oif, out->mac);
	if (r == 1) {
		r = 0;
		goto out;
	}
	tn_addr_format(a, text, sizeof(text));
	if (r < 0) {
		snprintf(err, errlen, "neighbour table: %s", strerror(-r));
		goto out;
	}
	if (trigger)
		trigger_resolution(a);
	snprintf(err, errlen, "MAC address of %s not resolved (no ARP/NDP answer yet)", text);
	r = -EAGAIN;
out:
	tn_nl_close(nl);
	return r;
}
