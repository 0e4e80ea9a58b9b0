/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "dataplane/neigh.h"
#include "lib/net.h"

#define NL_BUF 65536

static int nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int addr_len(const struct tn_addr *a)
{
	return a->family == 4 ? 4 : 16;
}

static int af_of(const struct tn_addr *a)
{
	return a->family == 4 ? AF_INET : AF_INET6;
}

int tn_iface_mac(uint32_t ifindex, uint8_t mac[6])
{
	struct ifreq ifr = {0};
	int fd, r = 0;

	if (!if_indextoname(ifindex, ifr.ifr_name))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		r = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return r;
}

/* Outgoing interface for a; -EHOSTUNREACH (with err) when not on a link. */
static int route_lookup(int fd, const struct tn_addr *a, uint32_t *oif, char *err, size_t errlen)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req;
	static __thread char buf[NL_BUF];
	char text[INET6_ADDRSTRLEN];
	struct rtattr *rta;
	struct nlmsghdr *nh;
	ssize_t n;
	int alen = addr_len(a);

	tn_addr_format(a, text, sizeof(text));
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 1;
	req.rt.rtm_family = af_of(a);
	req.rt.rtm_dst_len = alen * 8;
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = RTA_DST;
	rta->rta_len = RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), a->bytes, alen);
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		snprintf(err, errlen, "route lookup for %s: %s", text, strerror(errno));
		return -errno;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		snprintf(err, errlen, "route lookup for %s: %s", text, strerror(errno));
		return -errno;
	}
	for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
		struct rtmsg *rt;
		int len, have_gw = 0;

		if (nh->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(nh);
			snprintf(err, errlen, "no route to %s: %s", text, strerror(-e->error));
			return e->error ? e->error : -EHOSTUNREACH;
		}
		if (nh->nlmsg_type != RTM_NEWROUTE)
			continue;
		rt = NLMSG_DATA(nh);
		if (rt->rtm_type == RTN_LOCAL) {
			snprintf(err, errlen, "%s is an address of this host", text);
			return -EINVAL;
		}
		if (rt->rtm_type != RTN_UNICAST) {
			snprintf(err, errlen, "no route to %s", text);
			return -EHOSTUNREACH;
		}
		*oif = 0;
		len = RTM_PAYLOAD(nh);
		for (rta = RTM_RTA(rt); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
			if (rta->rta_type == RTA_OIF)
				*oif = *(uint32_t *)RTA_DATA(rta);
			else if (rta->rta_type == RTA_GATEWAY)
				have_gw = 1;
		}
		if (have_gw) {
			snprintf(err, errlen, "%s is reached through a gateway; direct server return needs it on a directly connected network", text);
			return -EHOSTUNREACH;
		}
		if (!*oif) {
			snprintf(err, errlen, "no outgoing interface towards %s", text);
			return -EHOSTUNREACH;
		}
		return 0;
	}
	snprintf(err, errlen, "no route to %s", text);
	return -EHOSTUNREACH;
}

/* 1 and mac when the neighbour table knows a on oif, 0 when not. One
 * targeted RTM_GETNEIGH (not a dump: its cost must not grow with the table). */
static int neigh_lookup(int fd, const struct tn_addr *a, uint32_t oif, uint8_t mac[6])
{
	struct {
		struct nlmsghdr nh;
		struct ndmsg nd;
		struct rtattr rta;
		uint8_t dst[16];
	} req;
	static __thread char buf[NL_BUF];
	int alen = addr_len(a);
	struct nlmsghdr *nh;
	ssize_t n;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg)) + RTA_LENGTH(alen);
	req.nh.nlmsg_type = RTM_GETNEIGH;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 2;
	req.nd.ndm_family = af_of(a);
	req.nd.ndm_ifindex = (int)oif;
	req.rta.rta_type = NDA_DST;
	req.rta.rta_len = RTA_LENGTH(alen);
	memcpy(req.dst, a->bytes, alen);
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -errno;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
		struct ndmsg *nd;
		struct rtattr *rta;
		int len;

		if (nh->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(nh);

			return e->error == -ENOENT || e->error == 0 ? 0 : e->error;
		}
		if (nh->nlmsg_type != RTM_NEWNEIGH)
			continue;
		nd = NLMSG_DATA(nh);
		if (!(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE |
				       NUD_PERMANENT | NUD_NOARP)))
			return 0;
		len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*nd));
		for (rta = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd)));
		     RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
			if (rta->rta_type == NDA_LLADDR && RTA_PAYLOAD(rta) == 6) {
				memcpy(mac, RTA_DATA(rta), 6);
				return 1;
			}
		}
		return 0;
	}
	return 0;
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
	uint32_t oif = 0;
	int fd, r;

	err[0] = 0;
	fd = nl_open();
	if (fd < 0) {
		snprintf(err, errlen, "netlink socket: %s", strerror(-fd));
		return fd;
	}
	r = route_lookup(fd, a, &oif, err, errlen);
	if (r)
		goto out;
	out->ifindex = oif;
	r = tn_iface_mac(oif, out->src_mac);
	if (r) {
		snprintf(err, errlen, "MAC of interface %u: %s", oif, strerror(-r));
		goto out;
	}
	if (have_mac)
		goto out;
	r = neigh_lookup(fd, a, oif, out->mac);
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
	close(fd);
	return r;
}
