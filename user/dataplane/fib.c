/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The FIB probe: what bpf_fib_lookup answers for a tunnel (see fib.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "fib_probe.skel.h"
#include "dataplane/fib.h"
#include "lib/log.h"

struct tn_fib {
	struct fib_probe *skel;
};

int tn_fib_open(struct tn_fib **out)
{
	struct tn_fib *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return -ENOMEM;
	f->skel = fib_probe__open_and_load();
	if (!f->skel) {
		err = -errno;
		tn_err("cannot load the FIB probe program: %s", strerror(-err));
		free(f);
		return err;
	}
	*out = f;
	return 0;
}

void tn_fib_close(struct tn_fib *f)
{
	if (!f)
		return;
	fib_probe__destroy(f->skel);
	free(f);
}

int tn_fib_lookup(struct tn_fib *f, uint32_t in_ifindex, const struct tn_addr *src, const struct tn_addr *dst,
		  struct tn_nexthop *out)
{
	uint8_t frame[64] = { 0 };
	struct xdp_md ctx = { .data_end = sizeof(frame), .ingress_ifindex = in_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
	struct bpf_fib_lookup *in = &f->skel->bss->fib_in, *r = &f->skel->bss->fib_out;
	int v6 = dst->family == 6, err;

	memset(out, 0, sizeof(*out));
	memset(in, 0, sizeof(*in));
	in->family = v6 ? AF_INET6 : AF_INET;
	in->l4_protocol = IPPROTO_UDP;
	if (v6) {
		memcpy(in->ipv6_src, src->bytes, 16);
		memcpy(in->ipv6_dst, dst->bytes, 16);
	} else {
		memcpy(&in->ipv4_src, src->bytes, 4);
		memcpy(&in->ipv4_dst, dst->bytes, 4);
	}
	in->tot_len = 0;
	f->skel->bss->fib_rc = -1;
	err = bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.fib_probe), &o);
	if (err) {
		out->rc = err;
		return err;
	}
	out->rc = f->skel->bss->fib_rc;
	out->ifindex = r->ifindex;
	memcpy(out->smac, r->smac, 6);
	memcpy(out->dmac, r->dmac, 6);
	out->mtu = r->mtu_result;
	/* the lookup leaves the next hop in place of the destination */
	out->via.family = r->family == AF_INET6 ? 6 : 4;
	if (r->family == AF_INET6)
		memcpy(out->via.bytes, r->ipv6_dst, 16);
	else
		memcpy(out->via.bytes, &r->ipv4_dst, 4);
	return 0;
}

const char *tn_fib_result_text(int rc)
{
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS: return "resolved";
	case BPF_FIB_LKUP_RET_BLACKHOLE: return "no route (blackhole)";
	case BPF_FIB_LKUP_RET_UNREACHABLE: return "no route (unreachable)";
	case BPF_FIB_LKUP_RET_PROHIBIT: return "no route (prohibited)";
	case BPF_FIB_LKUP_RET_NOT_FWDED: return "no route (not forwarded: no route, or a local address)";
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		return "forwarding is disabled on the interface (sysctl net.ipv4.conf.IFACE.forwarding / "
		       "net.ipv6.conf.IFACE.forwarding)";
	case BPF_FIB_LKUP_RET_UNSUPP_LWT: return "the route needs an encapsulation the FIB cannot give";
	case BPF_FIB_LKUP_RET_NO_NEIGH: return "the next hop's MAC is not resolved";
	case BPF_FIB_LKUP_RET_FRAG_NEEDED: return "fragmentation needed";
	case BPF_FIB_LKUP_RET_NO_SRC_ADDR: return "no source address";
	default: return rc < 0 ? "the FIB probe could not run" : "unknown FIB answer";
	}
}

int tn_nexthop_trigger(const struct tn_addr *src, const struct tn_addr *dst)
{
	struct sockaddr_storage s, d;
	socklen_t sl = tn_sockaddr(src, 0, &s), dl = tn_sockaddr(dst, 9, &d);
	int fd, err = 0;

	if (!sl || !dl)
		return -EINVAL;
	fd = socket(dst->family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* from the tunnels' source, so the route is theirs (if that fails, any source will do) */
	if (bind(fd, (struct sockaddr *)&s, sl))
		tn_debug("next hop trigger: cannot bind the encapSource: %s", strerror(errno));
	if (sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&d, dl) < 0 && errno != EAGAIN)
		err = -errno;
	close(fd);
	return err;
}
