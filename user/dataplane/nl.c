/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* rtnetlink requests through libmnl: see nl.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "dataplane/nl.h"

/* Large enough for any one RTM_NEWLINK (statistics, VF lists). */
#define NL_BUF 32768

struct mnl_socket *tn_nl_open(void)
{
	struct timeval tv = { .tv_sec = 2 };
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int e;

	if (!nl)
		return NULL;
	/* a kernel that never answers must not hang the controller */
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	return nl;
}

void tn_nl_close(struct mnl_socket *nl)
{
	if (nl)
		mnl_socket_close(nl);
}

struct talk {
	mnl_cb_t cb;
	void *data;
	int kernel_err;  /* the acknowledgement's error (0: success) */
};

static int talk_data(const struct nlmsghdr *nh, void *p)
{
	struct talk *t = p;

	return t->cb ? t->cb(nh, t->data) : MNL_CB_OK;
}

static int talk_error(const struct nlmsghdr *nh, void *p)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nh);
	struct talk *t = p;

	t->kernel_err = nh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)) ? -EBADMSG : e->error;
	return MNL_CB_STOP;
}

static int talk_done(const struct nlmsghdr *nh, void *p)
{
	(void)nh, (void)p;
	return MNL_CB_STOP;
}

int tn_nl_talk(struct mnl_socket *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data, bool *from_kernel)
{
	static unsigned int seq_counter;
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = talk_error, [NLMSG_DONE] = talk_done };
	struct talk t = { .cb = cb, .data = data };
	unsigned int portid = mnl_socket_get_portid(nl);
	char *buf = malloc(NL_BUF);
	ssize_t n;
	int r = MNL_CB_OK, err = 0;

	if (from_kernel)
		*from_kernel = false;
	if (!buf)
		return -ENOMEM;
	req->nlmsg_flags |= NLM_F_ACK;
	req->nlmsg_seq = __atomic_add_fetch(&seq_counter, 1, __ATOMIC_RELAXED);
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0)
		err = -errno;
	while (!err && r == MNL_CB_OK) {
		n = mnl_socket_recvfrom(nl, buf, NL_BUF);
		if (n < 0) {
			err = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			break;
		}
		errno = 0;
		r = mnl_cb_run2(buf, (size_t)n, req->nlmsg_seq, portid, talk_data, &t, ctl, NLMSG_MIN_TYPE);
		if (r == MNL_CB_ERROR)
			err = errno ? -errno : -EPROTO;
	}
	free(buf);
	if (!err && t.kernel_err) {
		if (from_kernel)
			*from_kernel = true;
		err = t.kernel_err;
	}
	return err;
}

/* ---- RTM_GETLINK ---------------------------------------------------------- */

static int xdp_attr(const struct nlattr *a, void *p)
{
	struct tn_nl_link *l = p;

	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return MNL_CB_OK;
	if (mnl_attr_get_type(a) == IFLA_XDP_DRV_PROG_ID)
		l->xdp_drv_prog_id = mnl_attr_get_u32(a);
	else if (mnl_attr_get_type(a) == IFLA_XDP_SKB_PROG_ID)
		l->xdp_skb_prog_id = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int linkinfo_attr(const struct nlattr *a, void *p)
{
	struct tn_nl_link *l = p;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
		snprintf(l->kind, sizeof(l->kind), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *a, void *p)
{
	struct tn_nl_link *l = p;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
			snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
		break;
	case IFLA_ADDRESS:
		l->mac_len = (int)mnl_attr_get_payload_len(a);
		if (l->mac_len == 6)
			memcpy(l->mac, mnl_attr_get_payload(a), 6);
		break;
	case IFLA_LINK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->link = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_LINK_NETNSID:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->link_netnsid = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_LINKINFO:
		mnl_attr_parse_nested(a, linkinfo_attr, l);
		break;
	case IFLA_XDP:
		mnl_attr_parse_nested(a, xdp_attr, l);
		break;
	}
	return MNL_CB_OK;
}

static int link_msg(const struct nlmsghdr *nh, void *p)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nh);
	struct tn_nl_link *l = p;

	if (nh->nlmsg_type != RTM_NEWLINK || l->ifindex)
		return MNL_CB_OK;
	l->ifindex = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	mnl_attr_parse(nh, sizeof(*ifi), link_attr, l);
	return MNL_CB_OK;
}

int tn_nl_link_get(struct mnl_socket *nl, int ifindex, int netnsid, struct tn_nl_link *out)
{
	char req[256];
	struct nlmsghdr *nh = mnl_nlmsg_put_header(req);
	struct ifinfomsg *ifi;
	int err;

	nh->nlmsg_type = RTM_GETLINK;
	nh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (netnsid >= 0)
		mnl_attr_put_u32(nh, IFLA_TARGET_NETNSID, (uint32_t)netnsid);
	memset(out, 0, sizeof(*out));
	out->link_netnsid = -1;
	err = tn_nl_talk(nl, nh, link_msg, out, NULL);
	if (!err && !out->ifindex)
		err = -ENODEV;
	return err;
}
