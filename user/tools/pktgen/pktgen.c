/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `tenace pktgen`: load bpf/pktgen.bpf.c, hand it frame 0 and let
 * BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES run it `repeat` times per call:
 * each run builds frame N (N from a shared counter in the program) and its
 * XDP_TX sends it out of the interface named by ctx.ingress_ifindex.
 * One thread per CPU asked for, each pinned and calling BPF_PROG_RUN itself.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "pktgen.skel.h"
#include "tools/pktgen/pktgen.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/num.h"

/*
 * Frames per BPF_PROG_RUN call. A call with repeat > 1 swaps the program in
 * and out of the kernel's XDP dispatcher, two synchronize_rcu() that cost
 * 10-30 ms here: calls of 1 << 16 frames spent half their time in them
 * (1.6 Mpps on veth, against 4.7 Mpps with calls of millions). So start at
 * 1 << 16 and then size the calls to last about PG_CALL_NS at the measured
 * speed; a rate-limited thread sends what its schedule owes every
 * 1/PG_RATE_CALLS s, catching up when a call took longer.
 */
#define PG_BATCH_FIRST (1u << 16)
#define PG_BATCH_MAX   (1u << 24)
#define NS_PER_SEC     1000000000ULL
#define PG_CALL_NS     (NS_PER_SEC / 2)
#define PG_RATE_CALLS  20 /* calls per second when rate-limited */

#define PG_ETH_P_IP    0x0800
#define PG_ETH_P_IPV6  0x86DD
#define PG_ETH_P_8021Q 0x8100
#define PG_TCP_SYN     0x02
#define PG_TCP_ACK     0x10

unsigned int tn_pktgen_header_len(const struct tn_pktgen_spec *spec)
{
	return 14 + (spec->vlan >= 0 ? 4 : 0) + (spec->family == 4 ? 20 : 40) +
	       (spec->kind == TN_PG_UDP ? 8 : 20);
}

/* One's complement sum of 16-bit words read in memory order (len even). */
static __u32 sum16(const __u8 *p, size_t len)
{
	__u32 s = 0;
	__u16 w;

	for (size_t i = 0; i + 1 < len; i += 2) {
		memcpy(&w, p + i, 2);
		s += w;
	}
	return s;
}

static void put16(__u8 *p, __u16 v) { v = htons(v); memcpy(p, &v, 2); }
static void put32(__u8 *p, __u32 v) { v = htonl(v); memcpy(p, &v, 4); }

int tn_pktgen_prepare(struct pktgen *skel, const struct tn_pktgen_spec *s,
		      __u8 *frame, char *err, size_t errlen)
{
	unsigned int hdr = tn_pktgen_header_len(s);
	unsigned int l3 = 14 + (s->vlan >= 0 ? 4 : 0);
	unsigned int l4 = l3 + (s->family == 4 ? 20 : 40);
	unsigned int min = hdr > TN_PG_SIZE_MIN ? hdr : TN_PG_SIZE_MIN;
	__u8 proto = s->kind == TN_PG_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	__u8 pseudo[20] = {};
	__u8 *eth = frame, *ip = frame + l3, *th = frame + l4;
	__u32 l4_len, src4;

	if (s->family != 4 && s->family != 6)
		return snprintf(err, errlen, "address family must be IPv4 or IPv6"), -EINVAL;
	if (s->size < min || s->size > TN_PG_SIZE_MAX)
		return snprintf(err, errlen, "frame size %u out of range: %s %s needs %u..%u bytes",
				s->size, s->family == 4 ? "IPv4" : "IPv6",
				s->kind == TN_PG_UDP ? "UDP" : "TCP", min, TN_PG_SIZE_MAX), -EINVAL;
	if (hdr > sizeof(skel->rodata->tmpl))
		return snprintf(err, errlen, "headers of %u bytes exceed the template", hdr), -EINVAL;
	if (s->clients < 1)
		return snprintf(err, errlen, "--clients must be at least 1"), -EINVAL;
	if (s->ports < 1 || s->src_port + (__u64)s->ports - 1 > 65535)
		return snprintf(err, errlen, "source ports %u + %u distinct ports go past 65535",
				s->src_port, s->ports), -EINVAL;
	if (s->dst_port > 65535)
		return snprintf(err, errlen, "destination port %u is not in 0..65535", s->dst_port), -EINVAL;
	if (s->vlan > 4094)
		return snprintf(err, errlen, "VLAN id %d is not in 0..4094", s->vlan), -EINVAL;
	memcpy(&src4, s->src, 4);
	src4 = ntohl(src4);
	if (s->family == 4 && src4 + (__u64)s->clients - 1 > 0xffffffffULL)
		return snprintf(err, errlen, "%u clients from the first source address go past 255.255.255.255",
				s->clients), -EINVAL;

	memset(frame, 0, s->size);
	memcpy(eth, s->dst_mac, 6);
	memcpy(eth + 6, s->src_mac, 6);
	if (s->vlan >= 0) {
		put16(eth + 12, PG_ETH_P_8021Q);
		put16(eth + 14, (__u16)s->vlan);
	}
	put16(frame + l3 - 2, s->family == 4 ? PG_ETH_P_IP : PG_ETH_P_IPV6);

	l4_len = s->size - l4;
	if (s->family == 4) {
		ip[0] = 0x45;
		put16(ip + 2, (__u16)(s->size - l3));
		put16(ip + 6, 0x4000); /* don't fragment */
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, s->src, 4);
		memcpy(ip + 16, s->dst, 4);
		/* checksum left zero: the program computes it over the header */
		memcpy(pseudo, s->dst, 4);
		pseudo[5] = proto;
		put16(pseudo + 6, (__u16)l4_len);
		skel->rodata->l4_fixed_sum = sum16(pseudo, 8);
	} else {
		put32(ip, 6u << 28);
		put16(ip + 4, (__u16)l4_len);
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, s->src, 16);
		memcpy(ip + 24, s->dst, 16);
		memcpy(pseudo, s->dst, 16);
		put16(pseudo + 16, (__u16)l4_len); /* upper 16 bits of the 32-bit length are 0 */
		pseudo[19] = proto;                /* as the last byte of a zero word */
		skel->rodata->l4_fixed_sum = sum16(pseudo, 20);
	}

	put16(th, (__u16)s->src_port);
	put16(th + 2, (__u16)s->dst_port);
	if (s->kind == TN_PG_UDP) {
		put16(th + 4, (__u16)l4_len);
	} else {
		if (s->kind == TN_PG_ACK)
			put32(th + 8, 1);
		th[12] = 5 << 4;
		th[13] = s->kind == TN_PG_SYN ? PG_TCP_SYN : PG_TCP_ACK;
		put16(th + 14, 64240);
	}

	memset((void *)skel->rodata->tmpl, 0, sizeof(skel->rodata->tmpl));
	memcpy((void *)skel->rodata->tmpl, frame, hdr);
	skel->rodata->hdr_len = hdr;
	skel->rodata->l3_off = l3;
	skel->rodata->l4_off = l4;
	skel->rodata->family = (__u8)s->family;
	skel->rodata->l4_proto = proto;
	skel->rodata->clients = s->clients;
	skel->rodata->ports = s->ports;
	skel->rodata->src_port = s->src_port;
	skel->rodata->src4 = src4;
	if (s->family == 6) {
		__u64 hi = 0, lo = 0;

		for (int i = 0; i < 8; i++) {
			hi = hi << 8 | s->src[i];
			lo = lo << 8 | s->src[8 + i];
		}
		skel->rodata->src6_hi = hi;
		skel->rodata->src6_lo = lo;
	}
	return 0;
}

/* ---- the command --------------------------------------------------------- */

struct pg_run {
	pthread_mutex_t lock;  /* guards done and wakes the progress loop */
	pthread_cond_t cond;
	int done;              /* threads finished */
	int prog_fd;
	const __u8 *frame;
	__u32 size;
	int ifindex;
	bool counted;          /* -n given: threads claim from `remaining` */
	__u64 remaining;
	__u64 deadline_ns;     /* -d given: CLOCK_MONOTONIC end, else 0 */
};

struct pg_worker {
	pthread_t thread;
	struct pg_run *run;
	int cpu;
	bool limited;          /* -r given */
	__u64 rate;            /* this thread's share of -r */
	int err;               /* -errno of a failed BPF_PROG_RUN */
	__u64 end_ns;          /* when it sent its last frame */
};

static volatile sig_atomic_t pg_stop;

static void pg_on_signal(int sig) { (void)sig; pg_stop = 1; }

static bool stopping(void) { return __atomic_load_n(&pg_stop, __ATOMIC_RELAXED); }

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NS_PER_SEC + (__u64)ts.tv_nsec;
}

static void sleep_until(__u64 t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / NS_PER_SEC), .tv_nsec = (long)(t % NS_PER_SEC) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stopping())
		;
}

/* Claim up to `want` frames of a -n budget shared by the threads. */
static __u64 claim(struct pg_run *r, __u64 want)
{
	__u64 cur = __atomic_load_n(&r->remaining, __ATOMIC_RELAXED), take;

	do {
		if (cur == 0)
			return 0;
		take = cur < want ? cur : want;
	} while (!__atomic_compare_exchange_n(&r->remaining, &cur, cur - take, false,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return take;
}

static __u64 clamp_u64(__u64 v, __u64 lo, __u64 hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void *pg_worker_main(void *arg)
{
	struct pg_worker *w = arg;
	struct pg_run *r = w->run;
	struct xdp_md ctx = { .data = 0, .data_end = r->size, .ingress_ifindex = (__u32)r->ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = r->frame,
		.data_size_in = r->size,
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
	);
	__u64 batch = PG_BATCH_FIRST, sent = 0, t0;
	double ns_per_frame = 0;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (w->limited && w->rate == 0)
		goto out;
	t0 = now_ns();
	while (!stopping()) {
		__u64 take = batch, t;
		int err;

		if (w->limited) {
			/* what the schedule owes by the end of the next interval */
			__u64 until = now_ns() + NS_PER_SEC / PG_RATE_CALLS, due;

			if (r->deadline_ns && until > r->deadline_ns)
				until = r->deadline_ns;
			due = until > t0 ? (__u64)((double)(until - t0) * (double)w->rate / NS_PER_SEC) : 0;
			take = clamp_u64(due > sent ? due - sent : 1, 1, PG_BATCH_MAX);
		}
		if (r->deadline_ns) {
			t = now_ns();
			if (t >= r->deadline_ns)
				break;
			if (ns_per_frame > 0)
				take = clamp_u64((__u64)((double)(r->deadline_ns - t) / ns_per_frame), 1, take);
		}
		if (r->counted && !(take = claim(r, take)))
			break;
		opts.repeat = (int)take;
		t = now_ns();
		err = bpf_prog_test_run_opts(r->prog_fd, &opts);
		if (err) {
			if (err == -EINTR && stopping())
				break;
			w->err = err;
			pg_stop = 1;
			break;
		}
		sent += take;
		if (w->limited) {
			sleep_until(t0 + (__u64)((double)sent * NS_PER_SEC / (double)w->rate));
		} else {
			ns_per_frame = (double)(now_ns() - t) / (double)take;
			if (ns_per_frame > 0)
				batch = clamp_u64((__u64)(PG_CALL_NS / ns_per_frame), PG_BATCH_FIRST, PG_BATCH_MAX);
		}
	}
out:
	w->end_ns = now_ns();
	pthread_mutex_lock(&r->lock);
	r->done++;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: tenace pktgen -i IFACE --dst-mac MAC --dst IP [options]\n"
"Send frames out of IFACE with BPF_PROG_RUN live frames (XDP_TX).\n"
"  -i, --iface IFACE     interface to send from (required)\n"
"      --dst-mac MAC     destination MAC, the next hop (required)\n"
"      --src-mac MAC     source MAC (default: IFACE's)\n"
"      --dst IP          destination address, IPv4 or IPv6 (required)\n"
"      --dst-port N      destination port (default 80)\n"
"      --src IP          first client address (default 10.0.0.1 or fd00::1)\n"
"      --clients N       clients: source addresses src .. src+N-1 (default 1)\n"
"      --src-port N      first source port (default 1024)\n"
"      --ports N         distinct source ports per client (default 1)\n"
"      --proto P         syn, ack or udp (default syn)\n"
"      --size BYTES      frame size without FCS, %u..%u (default 64, or the headers)\n"
"      --vlan ID         add an 802.1Q tag\n"
"  -n, --count N         send N frames\n"
"  -d, --duration SECS   send for SECS seconds (default: until Ctrl-C)\n"
"  -r, --rate PPS        at most PPS frames per second (0: as fast as possible)\n"
"  -t, --threads N       sending threads, each pinned to a CPU (default 1)\n"
"  -j, --json            summary as JSON on stdout\n"
"  -q, --quiet           no progress line\n"
"      --dump N          print frame N in hex (plain BPF_PROG_RUN, nothing sent)\n"
"Frame N comes from client N %% clients and port (N / clients) %% ports.\n",
		TN_PG_SIZE_MIN, TN_PG_SIZE_MAX);
}

static int parse_u64(const char *opt, const char *s, __u64 min, __u64 max, __u64 *out)
{
	uint64_t v;

	if (tn_parse_u64(s, min, max, &v)) {
		tn_err("%s: '%s' is not a number in %llu..%llu", opt, s,
		       (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_mac(const char *opt, const char *s, __u8 mac[6])
{
	if (tn_mac_parse(s, mac)) {
		tn_err("%s: '%s' is not a MAC address (like 02:00:00:00:00:01)", opt, s);
		return -EINVAL;
	}
	return 0;
}

/* 4 or 6, or 0 with an error printed. */
static int parse_ip(const char *opt, const char *s, __u8 addr[16])
{
	struct tn_addr a;

	if (tn_addr_parse(s, &a)) {
		tn_err("%s: '%s' is not an IPv4 or IPv6 address", opt, s);
		return 0;
	}
	memcpy(addr, a.bytes, 16);
	return a.family;
}

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

enum {
	OPT_DST_MAC = 256, OPT_SRC_MAC, OPT_DST, OPT_DST_PORT, OPT_SRC, OPT_CLIENTS,
	OPT_SRC_PORT, OPT_PORTS, OPT_PROTO, OPT_SIZE, OPT_VLAN, OPT_DUMP,
};

static const struct option pg_options[] = {
	{ "iface",    required_argument, NULL, 'i' },
	{ "dst-mac",  required_argument, NULL, OPT_DST_MAC },
	{ "src-mac",  required_argument, NULL, OPT_SRC_MAC },
	{ "dst",      required_argument, NULL, OPT_DST },
	{ "dst-port", required_argument, NULL, OPT_DST_PORT },
	{ "src",      required_argument, NULL, OPT_SRC },
	{ "clients",  required_argument, NULL, OPT_CLIENTS },
	{ "src-port", required_argument, NULL, OPT_SRC_PORT },
	{ "ports",    required_argument, NULL, OPT_PORTS },
	{ "proto",    required_argument, NULL, OPT_PROTO },
	{ "size",     required_argument, NULL, OPT_SIZE },
	{ "vlan",     required_argument, NULL, OPT_VLAN },
	{ "count",    required_argument, NULL, 'n' },
	{ "duration", required_argument, NULL, 'd' },
	{ "rate",     required_argument, NULL, 'r' },
	{ "threads",  required_argument, NULL, 't' },
	{ "json",     no_argument,       NULL, 'j' },
	{ "quiet",    no_argument,       NULL, 'q' },
	{ "dump",     required_argument, NULL, OPT_DUMP },
	{ "help",     no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct pg_args {
	struct tn_pktgen_spec spec;
	const char *iface;
	bool have_dst_mac, have_src_mac, have_src, have_size, json, quiet, dump;
	__u64 count, rate, threads, dump_n;
	double duration;
	int src_family;
};

/* 0, 1 for --help, or -EINVAL with the error printed. */
static int parse_args(int argc, char **argv, struct pg_args *a)
{
	struct tn_pktgen_spec *s = &a->spec;
	__u64 v;
	char *end;
	int c;

	s->kind = TN_PG_SYN;
	s->clients = 1;
	s->ports = 1;
	s->src_port = 1024;
	s->dst_port = 80;
	s->vlan = -1;
	a->threads = 1;
	optind = 0; /* the dispatcher may have run getopt already */
	while ((c = getopt_long(argc, argv, "i:n:d:r:t:jqh", pg_options, NULL)) != -1) {
		switch (c) {
		case 'i': a->iface = optarg; break;
		case OPT_DST_MAC:
			if (parse_mac("--dst-mac", optarg, s->dst_mac))
				return -EINVAL;
			a->have_dst_mac = true;
			break;
		case OPT_SRC_MAC:
			if (parse_mac("--src-mac", optarg, s->src_mac))
				return -EINVAL;
			a->have_src_mac = true;
			break;
		case OPT_DST:
			if (!(s->family = parse_ip("--dst", optarg, s->dst)))
				return -EINVAL;
			break;
		case OPT_SRC:
			if (!(a->src_family = parse_ip("--src", optarg, s->src)))
				return -EINVAL;
			a->have_src = true;
			break;
		case OPT_DST_PORT:
			if (parse_u64("--dst-port", optarg, 0, 65535, &v))
				return -EINVAL;
			s->dst_port = (__u32)v;
			break;
		case OPT_SRC_PORT:
			if (parse_u64("--src-port", optarg, 0, 65535, &v))
				return -EINVAL;
			s->src_port = (__u32)v;
			break;
		case OPT_PORTS:
			if (parse_u64("--ports", optarg, 1, 65536, &v))
				return -EINVAL;
			s->ports = (__u32)v;
			break;
		case OPT_CLIENTS:
			if (parse_u64("--clients", optarg, 1, UINT32_MAX, &v))
				return -EINVAL;
			s->clients = (__u32)v;
			break;
		case OPT_PROTO:
			if (!strcmp(optarg, "syn"))
				s->kind = TN_PG_SYN;
			else if (!strcmp(optarg, "ack"))
				s->kind = TN_PG_ACK;
			else if (!strcmp(optarg, "udp"))
				s->kind = TN_PG_UDP;
			else {
				tn_err("--proto: '%s' is not syn, ack or udp", optarg);
				return -EINVAL;
			}
			break;
		case OPT_SIZE:
			if (parse_u64("--size", optarg, TN_PG_SIZE_MIN, TN_PG_SIZE_MAX, &v))
				return -EINVAL;
			s->size = (__u32)v;
			a->have_size = true;
			break;
		case OPT_VLAN:
			if (parse_u64("--vlan", optarg, 0, 4094, &v))
				return -EINVAL;
			s->vlan = (int)v;
			break;
		case 'n':
			if (parse_u64("--count", optarg, 1, UINT64_MAX, &a->count))
				return -EINVAL;
			break;
		case 'd':
			errno = 0;
			a->duration = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(a->duration > 0) || a->duration > 1e9) {
				tn_err("--duration: '%s' is not a positive number of seconds", optarg);
				return -EINVAL;
			}
			break;
		case 'r':
			if (parse_u64("--rate", optarg, 0, UINT64_MAX / NS_PER_SEC, &a->rate))
				return -EINVAL;
			break;
		case 't':
			if (parse_u64("--threads", optarg, 1, CPU_SETSIZE, &a->threads))
				return -EINVAL;
			break;
		case 'j': a->json = true; break;
		case 'q': a->quiet = true; break;
		case OPT_DUMP:
			if (parse_u64("--dump", optarg, 0, UINT64_MAX, &a->dump_n))
				return -EINVAL;
			a->dump = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			tn_err("try 'tenace pktgen --help'");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		tn_err("unexpected argument '%s' (try 'tenace pktgen --help')", argv[optind]);
		return -EINVAL;
	}
	if (!s->family) {
		tn_err("--dst IP is required: the address to send to (the VIP)");
		return -EINVAL;
	}
	if (a->have_src && a->src_family != s->family) {
		tn_err("--src is IPv%d but --dst is IPv%d", a->src_family, s->family);
		return -EINVAL;
	}
	if (!a->have_src)
		parse_ip("--src", s->family == 4 ? "10.0.0.1" : "fd00::1", s->src);
	if (a->dump)
		return 0;
	if (!a->iface) {
		tn_err("-i/--iface IFACE is required: the interface to send from");
		return -EINVAL;
	}
	if (!a->have_dst_mac) {
		tn_err("--dst-mac MAC is required: the MAC of the next hop (the balancer's interface)");
		return -EINVAL;
	}
	if (a->count && a->duration > 0) {
		tn_err("give either -n/--count or -d/--duration, not both");
		return -EINVAL;
	}
	return 0;
}

int tn_pktgen_main(int argc, char **argv)
{
	struct pg_args a = {};
	struct pg_run run = {};
	struct pg_worker *workers = NULL;
	struct pktgen *skel = NULL;
	struct sigaction sa = {}, old_int, old_term;
	cpu_set_t allowed;
	int cpus[CPU_SETSIZE], ncpus = 0, ifindex = 0, mtu = 0, nthreads, started = 0, err;
	__u8 frame[TN_PG_SIZE_MAX], iface_mac[6];
	char msg[256];
	bool up = false, printed = false, forwarded = false;
	pthread_condattr_t cattr;
	__u64 t_start, t_end, next_print, last_pkts = 0, last_t, packets;
	unsigned int hdr;

	tn_log_set_plain(1);
	tn_log_libbpf();
	err = parse_args(argc, argv, &a);
	if (err)
		return err > 0 ? 0 : 2;
	hdr = tn_pktgen_header_len(&a.spec);
	if (!a.have_size)
		a.spec.size = hdr > 64 ? hdr : 64;

	if (!a.dump) {
		if (iface_info(a.iface, &ifindex, iface_mac, &mtu, &up))
			return 1;
		if (!a.have_src_mac)
			memcpy(a.spec.src_mac, iface_mac, 6);
		if (!up) {
			tn_err("interface '%s' is down (ip link set dev %s up)", a.iface, a.iface);
			return 1;
		}
		if (a.spec.size > (__u32)mtu + 14 + (a.spec.vlan >= 0 ? 4 : 0)) {
			tn_err("frame size %u exceeds what the MTU %d of '%s' allows (%d)", a.spec.size,
			       mtu, a.iface, mtu + 14 + (a.spec.vlan >= 0 ? 4 : 0));
			return 1;
		}
	}

	skel = pktgen__open();
	if (!skel) {
		tn_err("cannot open the pktgen BPF object: %s", strerror(errno));
		return 1;
	}
	if (tn_pktgen_prepare(skel, &a.spec, frame, msg, sizeof(msg))) {
		tn_err("%s", msg);
		err = 1;
		goto out;
	}
	err = pktgen__load(skel);
	if (err) {
		tn_err("cannot load the pktgen BPF program: %s", strerror(-err));
		err = 1;
		goto out;
	}
	if (a.dump) {
		err = dump_frame(skel, frame, a.spec.size, a.dump_n) ? 1 : 0;
		goto out;
	}

	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &allowed))
				cpus[ncpus++] = c;
	}
	if (!ncpus)
		cpus[ncpus++] = 0;
	nthreads = (int)a.threads;
	if (nthreads > ncpus)
		tn_warn("%d threads on %d CPUs: some CPUs get two", nthreads, ncpus);

	run.prog_fd = bpf_program__fd(skel->progs.pktgen_xdp);
	run.frame = frame;
	run.size = a.spec.size;
	run.ifindex = ifindex;
	run.counted = a.count > 0;
	run.remaining = a.count;
	workers = calloc((size_t)nthreads, sizeof(*workers));
	if (!workers) {
		tn_err("out of memory");
		err = 1;
		goto out;
	}

	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&run.cond, &cattr);
	pthread_condattr_destroy(&cattr);
	pthread_mutex_init(&run.lock, NULL);
	pg_stop = 0;
	sa.sa_handler = pg_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	t_start = now_ns();
	if (a.duration > 0)
		run.deadline_ns = t_start + (__u64)(a.duration * NS_PER_SEC);
	for (int i = 0; i < nthreads; i++) {
		struct pg_worker *w = &workers[i];

		w->run = &run;
		w->cpu = cpus[i % ncpus];
		w->limited = a.rate > 0;
		w->rate = a.rate / (__u64)nthreads + ((__u64)i < a.rate % (__u64)nthreads);
		err = pthread_create(&w->thread, NULL, pg_worker_main, w);
		if (err) {
			tn_err("cannot start thread %d: %s", i, strerror(err));
			pg_stop = 1;
			break;
		}
		started++;
	}

	/* progress line every second until every thread is done */
	last_t = t_start;
	next_print = t_start + NS_PER_SEC;
	pthread_mutex_lock(&run.lock);
	while (run.done < started) {
		__u64 t = now_ns(), wake = t + NS_PER_SEC / 10;
		struct timespec ts;

		if (stopping() && !forwarded) {
			/* interrupt the threads' long BPF_PROG_RUN calls (-EINTR) */
			for (int i = 0; i < started; i++)
				pthread_kill(workers[i].thread, SIGINT);
			forwarded = true;
		}
		if (!a.quiet && t >= next_print) {
			__u64 p = __atomic_load_n(&skel->bss->next_seq, __ATOMIC_RELAXED);

			fprintf(stderr, "\r%llu packets sent, %.3f Mpps   ", (unsigned long long)p,
				(double)(p - last_pkts) * 1e3 / (double)(t - last_t));
			fflush(stderr);
			printed = true;
			last_pkts = p;
			last_t = t;
			next_print += NS_PER_SEC;
		}
		if (wake > next_print)
			wake = next_print;
		ts.tv_sec = (time_t)(wake / NS_PER_SEC);
		ts.tv_nsec = (long)(wake % NS_PER_SEC);
		pthread_cond_timedwait(&run.cond, &run.lock, &ts);
	}
	pthread_mutex_unlock(&run.lock);
	t_end = t_start;
	for (int i = 0; i < started; i++) {
		pthread_join(workers[i].thread, NULL);
		if (workers[i].end_ns > t_end)
			t_end = workers[i].end_ns;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (printed)
		fputc('\n', stderr);

	err = started == nthreads ? 0 : 1;
	for (int i = 0; i < started; i++) {
		if (workers[i].err) {
			tn_err("BPF_PROG_RUN with live frames on '%s' (thread %d, CPU %d) failed: %s",
			       a.iface, i, workers[i].cpu, strerror(-workers[i].err));
			err = 1;
			break;
		}
	}
	/* the program's counter is the exact number of frames built and sent */
	packets = __atomic_load_n(&skel->bss->next_seq, __ATOMIC_RELAXED);
	print_summary(a.json, packets, (double)(t_end - t_start) / 1e9, nthreads, a.spec.clients);
	pthread_cond_destroy(&run.cond);
	pthread_mutex_destroy(&run.lock);
out:
	free(workers);
	pktgen__destroy(skel);
	return err;
}
