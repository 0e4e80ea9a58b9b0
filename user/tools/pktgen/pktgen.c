/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `tenace pktgen`: load bpf/pktgen.bpf.c, hand it frame 0 and let
 * BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES run it `repeat` times per call:
 * each run builds frame N (N from a shared counter in the program) and its
 * XDP_TX sends it out of the interface named by ctx.ingress_ifindex.
 * One thread per CPU asked for, each pinned and calling BPF_PROG_RUN itself
 * (send.c); the options in args.c, the frames in frame.c.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "pktgen.skel.h"
#include "tools/pktgen/internal.h"
#include "dataplane/dataplane.h"
#include "lib/log.h"

/* ifindex, MAC, MTU and flags of an interface. */
static int iface_info(const char *name, int *ifindex, __u8 mac[6], int *mtu, bool *up)
{
	struct ifreq ifr = {};
	int fd, err = 0;

	if (strlen(name) >= IFNAMSIZ || !(*ifindex = (int)if_nametoindex(name))) {
		tn_err("unknown interface '%s'", name);
		return -ENODEV;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		tn_err("socket: %s", strerror(errno));
		return err;
	}
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	else
		err = -errno;
	if (!err && ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		*mtu = ifr.ifr_mtu;
	else if (!err)
		err = -errno;
	if (!err && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
		*up = ifr.ifr_flags & IFF_UP;
	else if (!err)
		err = -errno;
	close(fd);
	if (err)
		tn_err("cannot read the settings of interface '%s': %s", name, strerror(-err));
	return err;
}

static int dump_frame(struct pktgen *skel, const __u8 *frame, __u32 size, __u64 n)
{
	__u8 out[TN_PG_SIZE_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = frame,
		.data_size_in = size,
		.data_out = out,
		.data_size_out = sizeof(out),
		.repeat = 1,
	);
	int err;

	skel->bss->next_seq = n;
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.pktgen_xdp), &opts);
	if (err) {
		tn_err("BPF_PROG_RUN of the pktgen program failed: %s", strerror(-err));
		return err;
	}
	if (opts.retval != XDP_TX) {
		tn_err("the pktgen program returned %u instead of XDP_TX", opts.retval);
		return -EINVAL;
	}
	for (__u32 i = 0; i < opts.data_size_out; i++)
		printf("%02x", out[i]);
	printf("\n");
	return 0;
}

static void print_summary(bool json, __u64 packets, double seconds, int threads, __u32 clients)
{
	double pps = seconds > 0 ? (double)packets / seconds : 0;
	struct json_object *o;
	char sec[32], rate[32];

	if (!json) {
		printf("%llu packets in %.3f s: %.0f pps (%.3f Mpps), %d thread%s, %u client%s\n",
		       (unsigned long long)packets, seconds, pps, pps / 1e6, threads,
		       threads == 1 ? "" : "s", clients, clients == 1 ? "" : "s");
		return;
	}
	o = json_object_new_object();
	snprintf(sec, sizeof(sec), "%.6f", seconds);
	snprintf(rate, sizeof(rate), "%.0f", pps);
	json_object_object_add(o, "packets", json_object_new_uint64(packets));
	json_object_object_add(o, "seconds", json_object_new_double_s(seconds, sec));
	json_object_object_add(o, "pps", json_object_new_double_s(round(pps), rate));
	json_object_object_add(o, "threads", json_object_new_int(threads));
	json_object_object_add(o, "clients", json_object_new_uint64(clients));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/*
 * The interface: its index, its MAC as the default source, up, room for the
 * frame; and a warning when it is a veth whose peer drops what XDP sends
 * (frames would vanish with nothing counting them).
 */
static int iface_check(struct pg_args *a, int *ifindex)
{
	__u8 mac[6];
	char warn[512];
	int mtu = 0, room;
	bool up = false;

	if (iface_info(a->iface, ifindex, mac, &mtu, &up))
		return -EINVAL;
	if (!a->have_src_mac)
		memcpy(a->spec.src_mac, mac, 6);
	if (!up) {
		tn_err("interface '%s' is down (ip link set dev %s up)", a->iface, a->iface);
		return -ENETDOWN;
	}
	room = mtu + 14 + (a->spec.vlan >= 0 ? 4 : 0);
	if (a->spec.size > (__u32)room) {
		tn_err("frame size %u exceeds what the MTU %d of '%s' allows (%d)", a->spec.size, mtu, a->iface, room);
		return -EMSGSIZE;
	}
	if (tn_dp_veth_peer_check(*ifindex, warn, sizeof(warn)) == 1)
		tn_warn("%s", warn);
	return 0;
}

/*
 * --dump shows the frame that would be sent: with -i, from that interface's
 * MAC (as a real run would use), else from --src-mac or 00:00:00:00:00:00, said.
 */
static int dump_source_mac(struct pg_args *a)
{
	int ifindex, mtu;
	bool up;
	__u8 mac[6];

	if (a->have_src_mac)
		return 0;
	if (!a->iface) {
		tn_warn("no -i IFACE or --src-mac: the frame's source MAC is 00:00:00:00:00:00");
		return 0;
	}
	if (iface_info(a->iface, &ifindex, mac, &mtu, &up))
		return -ENODEV;
	memcpy(a->spec.src_mac, mac, 6);
	return 0;
}

/* The program with the spec's template in .rodata, and frame 0: NULL (said). */
static struct pktgen *pg_load(const struct tn_pktgen_spec *spec, __u8 *frame)
{
	struct pktgen *skel = pktgen__open();
	char msg[256];
	int err;

	if (!skel) {
		tn_err("cannot open the pktgen BPF object: %s", strerror(errno));
		return NULL;
	}
	if (tn_pktgen_prepare(skel, spec, frame, msg, sizeof(msg))) {
		tn_err("%s", msg);
		pktgen__destroy(skel);
		return NULL;
	}
	err = pktgen__load(skel);
	if (err) {
		tn_err("cannot load the pktgen BPF program: %s", strerror(-err));
		pktgen__destroy(skel);
		return NULL;
	}
	return skel;
}

int tn_pktgen_main(int argc, char **argv)
{
	struct pg_args a = {};
	struct pg_send s = {};
	struct pktgen *skel;
	__u8 frame[TN_PG_SIZE_MAX];
	unsigned int hdr;
	int ifindex = 0, err;

	tn_log_set_plain(1);
	tn_log_libbpf();
	err = tn_pg_parse_args(argc, argv, &a);
	if (err)
		return err > 0 ? 0 : 2;
	hdr = tn_pktgen_header_len(&a.spec);
	if (!a.have_size)
		a.spec.size = hdr > 64 ? hdr : 64;
	if (!a.dump && iface_check(&a, &ifindex))
		return 1;
	if (a.dump && dump_source_mac(&a))
		return 1;
	skel = pg_load(&a.spec, frame);
	if (!skel)
		return 1;
	if (a.dump) {
		err = dump_frame(skel, frame, a.spec.size, a.dump_n) ? 1 : 0;
		pktgen__destroy(skel);
		return err;
	}
	s.prog_fd = bpf_program__fd(skel->progs.pktgen_xdp);
	s.frame = frame;
	s.size = a.spec.size;
	s.ifindex = ifindex;
	s.args = &a;
	s.next_seq = &skel->bss->next_seq;
	err = tn_pg_send(&s);
	/* the program's counter is the exact number of frames built and sent */
	if (err >= 0)
		print_summary(a.json, __atomic_load_n(&skel->bss->next_seq, __ATOMIC_RELAXED),
			      (double)(s.t_end - s.t_start) / 1e9, s.nthreads, a.spec.clients);
	pktgen__destroy(skel);
	return err ? 1 : 0;
}
