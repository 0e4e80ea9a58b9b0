/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `tenace bench`: see bench.h. Every Tenace figure is measured beside the
 * baseline (swap MACs, XDP_TX) in the same run, interleaved repetition by
 * repetition, and reported as a ratio of medians.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "bench_feeder.skel.h"
#include "baseline.skel.h"
#include "helpers.skel.h"
#include "tools/bench/bench.h"
#include "dataplane/dataplane.h"
#include "dataplane/maglev.h"
#include "lib/log.h"
#include "probe/probe.h"

#define XDP_ABORTED_ 0
#define XDP_DROP_ 1
#define XDP_PASS_ 2
#define XDP_TX_ 3

/* ---- small helpers ---------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double t[64];

	if (n <= 0)
		return NAN;
	if (n > 64)
		n = 64;
	memcpy(t, v, n * sizeof(*t));
	qsort(t, n, sizeof(*t), cmp_double);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static json_object *jarr(const double *v, int n)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_double(v[i]));
	return a;
}

#define JSET(o, k, v) json_object_object_add((o), (k), (v))
#define JD(x) json_object_new_double(x)
#define JI(x) json_object_new_int64(x)
#define JS(x) json_object_new_string(x)
#define JB(x) json_object_new_boolean(x)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible across runs, no libc state */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* The tenace binary whose `pktgen` generates traffic. */
static char tenace_bin[512] = "build/tenace";

struct bench {
	struct bench_feeder *feed;
	struct baseline *base;
	json_object *root;
	int reps;           /* repetitions per figure (median) */
	double seconds;     /* measuring window of an end-to-end run */
	uint32_t repeat;    /* BPF_PROG_TEST_RUN repeat */
	int failures;       /* measurements that could not be made or were wrong */
	int misses;         /* targets missed (reported, not failures) */
	double e2e_max_mpps_10k; /* from the e2e section, for the refresh rate */
};

static const char *pass_miss(struct bench *b, bool ok)
{
	if (!ok)
		b->misses++;
	return ok ? "PASS" : "MISS";
}

/* ---- frames ----------------------------------------------------------------- */

static const uint8_t LB_MAC[6] = { 0x02, 0x54, 0x4e, 0x00, 0x00, 0x01 };
static const uint8_t GEN_MAC[6] = { 0x02, 0x54, 0x4e, 0x00, 0x00, 0x02 };

struct frame {
	uint8_t b[128];
	uint32_t len;       /* whole frame */
	uint32_t hdr_len;   /* bytes the feeder rebuilds (multiple of 8) */
	uint32_t src_off;   /* offset of the source address's last 4 bytes */
};

static uint16_t ip_csum(const uint8_t *p, int len)
{
	uint32_t s = 0;

	for (int i = 0; i < len; i += 2)
		s += (p[i] << 8) | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* A UDP frame to dst:80 from the client base (IPv4 a.b.c.d, IPv6 fd00:1::/96 + base). */
static void build_frame(struct frame *f, int family, bool vlan, const char *dst, uint32_t base)
{
	uint8_t *p = f->b;
	uint32_t l3, l4;

	memset(f, 0, sizeof(*f));
	memcpy(p, LB_MAC, 6);
	memcpy(p + 6, GEN_MAC, 6);
	l3 = 14;
	if (vlan) {
		p[12] = 0x81, p[13] = 0x00;
		p[14] = 0x00, p[15] = 100;   /* VLAN 100 */
		l3 = 18;
	}
	p[l3 - 2] = family == 4 ? 0x08 : 0x86;
	p[l3 - 1] = family == 4 ? 0x00 : 0xdd;
	if (family == 4) {
		uint32_t a = htonl(base);

		f->len = vlan ? 68 : 64;
		l4 = l3 + 20;
		p[l3] = 0x45;
		p[l3 + 2] = (f->len - l3) >> 8, p[l3 + 3] = (f->len - l3) & 0xff;
		p[l3 + 6] = 0x40;            /* DF */
		p[l3 + 8] = 64;
		p[l3 + 9] = IPPROTO_UDP;
		memcpy(p + l3 + 12, &a, 4);
		inet_pton(AF_INET, dst, p + l3 + 16);
		f->src_off = l3 + 12;
		{
			uint16_t c = ip_csum(p + l3, 20);

			p[l3 + 10] = c >> 8, p[l3 + 11] = c & 0xff;
		}
	} else {
		uint32_t a = htonl(base);

		f->len = vlan ? 82 : 78;
		l4 = l3 + 40;
		p[l3] = 0x60;
		p[l3 + 4] = 0, p[l3 + 5] = f->len - l4;
		p[l3 + 6] = IPPROTO_UDP;
		p[l3 + 7] = 64;
		inet_pton(AF_INET6, "fd00:1::", p + l3 + 8);
		memcpy(p + l3 + 20, &a, 4);
		inet_pton(AF_INET6, dst, p + l3 + 24);
		f->src_off = l3 + 20;
	}
	p[l4] = 40000 >> 8, p[l4 + 1] = 40000 & 0xff;  /* source port */
	p[l4 + 2] = 0, p[l4 + 3] = 80;                 /* destination port */
	p[l4 + 4] = (f->len - l4) >> 8, p[l4 + 5] = (f->len - l4) & 0xff;
	f->hdr_len = (l4 + 8 + 7) & ~7u;
}

/* What the feeder puts in front of the program for client number `client`. */
static void frame_for_client(const struct frame *f, uint32_t base, uint32_t client, uint8_t *out)
{
	uint32_t a = htonl(base + client);

	memcpy(out, f->b, f->len);
	memcpy(out + f->src_off, &a, 4);
}

/* Point the feeder at a frame and a client set; the counter is left alone. */
static void feeder_set(struct bench *b, const struct frame *f, uint32_t base, uint32_t nclients, bool fresh)
{
	memset(b->feed->bss->tmpl, 0, sizeof(b->feed->bss->tmpl));
	memcpy(b->feed->bss->tmpl, f->b, f->hdr_len);
	b->feed->bss->tmpl_len = f->hdr_len;
	b->feed->data->src_off = f->src_off;
	b->feed->bss->base_addr = base;
	b->feed->data->nclients = nclients;
	b->feed->bss->fresh_clients = fresh;
}

/* The program the feeder tail-calls; -1: none (the feeder alone). */
static int feeder_target(struct bench *b, int prog_fd)
{
	__u32 zero = 0;
	int fd = bpf_map__fd(b->feed->maps.target);

	b->feed->bss->feeder_only = prog_fd < 0;
	if (prog_fd < 0)
		return 0;
	if (bpf_map_update_elem(fd, &zero, &prog_fd, BPF_ANY)) {
		tn_err("bench: cannot put the program under test into the feeder's prog array: %s",
		       strerror(errno));
		return -errno;
	}
	return 0;
}

struct run_out {
	uint32_t retval;
	uint32_t duration;  /* ns per repetition */
	uint8_t data[256];
	uint32_t len;
};

static int feeder_run(struct bench *b, const struct frame *f, uint32_t repeat, struct run_out *o)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = f->b,
		.data_size_in = f->len,
		.data_out = o->data,
		.data_size_out = sizeof(o->data),
		.repeat = repeat,
	);
	int err = bpf_prog_test_run_opts(bpf_program__fd(b->feed->progs.bench_feeder), &opts);

	if (err) {
		tn_err("bench: BPF_PROG_TEST_RUN of the feeder failed: %s", strerror(errno));
		return -errno;
	}
	o->retval = opts.retval;
	o->duration = opts.duration;
	o->len = opts.data_size_out;
	return 0;
}

/* ---- data plane set-up -------------------------------------------------------- */

#define BENCH_SERVERS 10

static const char *VIP4 = "10.0.0.1", *VIP6 = "fd00::1";

static void server_mac(int i, uint8_t mac[6])
{
	static const uint8_t m[6] = { 0x02, 0x54, 0x4e, 0x00, 0x10, 0x00 };

	memcpy(mac, m, 6);
	mac[5] = (uint8_t)i;
}

static void make_servers(struct tn_dp_server *s, int n, uint32_t ifindex, const uint8_t src_mac[6])
{
	memset(s, 0, n * sizeof(*s));
	for (int i = 0; i < n; i++) {
		s[i].server_id = i + 1;
		s[i].family = 4;
		s[i].addr[0] = 192, s[i].addr[1] = 168, s[i].addr[2] = 50, s[i].addr[3] = (uint8_t)(10 + i);
		s[i].port = 80;
		s[i].weight = 100;
		s[i].up = true;
		server_mac(i, s[i].mac);
		memcpy(s[i].src_mac, src_mac, 6);
		s[i].ifindex = ifindex;
	}
}

static int farm_write(struct tn_dp *dp, struct tn_dp_server *s, int n)
{
	struct tn_dp_farm farm = {
		.farm_id = 1, .proto = IPPROTO_UDP, .balance = TN_BALANCE_SOURCE,
		.stickiness = TN_STICKY_SOURCE_IP, .servers = s, .nservers = n,
	};

	return tn_dp_farm_write(dp, 0, &farm, NULL);
}

/* VIP4:80 and VIP6:80 (UDP) on farm slot 0, VIP indexes 0 and 1. */
static int vips_set(struct tn_dp *dp)
{
	struct tn_vip_key k[2] = {
		{ .family = TN_FAMILY_V4, .port = htons(80), .proto = IPPROTO_UDP },
		{ .family = TN_FAMILY_V6, .port = htons(80), .proto = IPPROTO_UDP },
	};
	struct tn_vip v[2] = {
		{ .farm_slot = 0, .vip_index = 0, .frontend_id = 1 },
		{ .farm_slot = 0, .vip_index = 1, .frontend_id = 2 },
	};

	inet_pton(AF_INET, VIP4, k[0].addr);
	inet_pton(AF_INET6, VIP6, k[1].addr);
	return tn_dp_vips_replace(dp, k, v, 2);
}

/* A data plane with one UDP farm of BENCH_SERVERS servers (sourceIp
 * stickiness) behind VIP4:80 and VIP6:80; servers reached through ifindex. */
static int dp_setup(struct tn_dp **dp, uint32_t ct_size, uint32_t ifindex, const uint8_t src_mac[6])
{
	struct tn_dp_settings st;
	struct tn_dp_server srv[BENCH_SERVERS];
	int err;

	tn_dp_settings_default(&st);
	st.ct_size = ct_size;
	/* long timeouts: a slow warm-up must not let entries expire mid-run */
	st.udp_timeout_s = st.tcp_timeout_s = 3600;
	if ((err = tn_dp_open(dp, "", &st)))
		return err;
	make_servers(srv, BENCH_SERVERS, ifindex, src_mac);
	if ((err = farm_write(*dp, srv, BENCH_SERVERS)) || (err = vips_set(*dp))) {
		tn_err("bench: cannot configure the data plane: %s", strerror(-err));
		tn_dp_close(*dp);
		*dp = NULL;
		return err;
	}
	return 0;
}

static uint64_t reason_packets(struct tn_dp *dp, enum tn_reason r)
{
	struct tn_counter c[TN_R__COUNT];

	if (tn_dp_reason_counters(dp, c))
		return 0;
	return c[r].packets;
}

/* ---- section 1: ns/packet through BPF_PROG_TEST_RUN --------------------------- */

struct ns_case {
	const char *name, *label;
	int family;
	bool vlan;
	const char *dst;
	uint32_t base;       /* first client address (IPv4) or its last 32 bits (IPv6) */
	uint32_t nclients;
	bool fresh;
	uint32_t expect_ret; /* Tenace's verdict */
	enum tn_reason expect_reason;
	double target;       /* ratio target, 0: none */
};

static const struct ns_case ns_cases[] = {
	{ "tracked_1", "tracked, 1 client", 4, false, "10.0.0.1", 0x0a010000, 1, false, XDP_TX_, TN_R_CT_HIT, 3 },
	{ "tracked_10k", "tracked, 10,000 clients", 4, false, "10.0.0.1", 0x0a020000, 10000, false, XDP_TX_, TN_R_CT_HIT, 3 },
	{ "tracked_1m", "tracked, 1,000,000 clients", 4, false, "10.0.0.1", 0x0a100000, 1000000, false, XDP_TX_, TN_R_CT_HIT, 3 },
	{ "new_client", "new client (lookup + insert)", 4, false, "10.0.0.1", 0x0b000000, 0, true, XDP_TX_, TN_R_CT_NEW, 6 },
	{ "not_vip", "not a VIP (pass)", 4, false, "10.0.0.2", 0x0a030000, 1, false, XDP_PASS_, TN_R_PASS_NOT_VIP, 0 },
	{ "ipv6_tracked", "IPv6 tracked, 10,000 clients", 6, false, "fd00::1", 0x00020000, 10000, false, XDP_TX_, TN_R_CT_HIT, 3 },
	{ "vlan_tracked", "VLAN tracked, 10,000 clients", 4, true, "10.0.0.1", 0x0a040000, 10000, false, XDP_TX_, TN_R_CT_HIT, 3 },
};

/*
 * Repetition 2 must see what repetition 1 saw: run client c alone twice (the
 * counter reset in between), then clients c-1, c with repeat=2, and compare
 * verdicts and output bytes. Also check the bytes themselves: Tenace rewrites
 * the MACs to a server's and the balancer's, the baseline swaps them, a pass
 * leaves the frame alone; everything after the MACs is the input.
 */
static int ns_verify(struct bench *b, const struct ns_case *c, const struct frame *f, const char *prog,
		     bool tenace, uint64_t seq)
{
	struct run_out o[3];
	uint8_t want[256];
	uint32_t client = c->fresh ? (uint32_t)seq : (uint32_t)(seq % c->nclients);
	uint32_t want_ret = tenace ? c->expect_ret : XDP_TX_;
	int i, err;

	b->feed->bss->counter = seq;
	if ((err = feeder_run(b, f, 1, &o[0])))
		return err;
	b->feed->bss->counter = seq;
	if ((err = feeder_run(b, f, 1, &o[1])))
		return err;
	b->feed->bss->counter = seq - 1;
	if ((err = feeder_run(b, f, 2, &o[2])))
		return err;
	frame_for_client(f, c->base, client, want);
	for (i = 0; i < 3; i++) {
		const uint8_t *d = o[i].data;
		bool macs_ok;

		if (o[i].retval != want_ret || o[i].len != f->len ||
		    memcmp(d + 12, want + 12, f->len - 12)) {
			tn_err("bench: %s, %s: run %d gave verdict %u and %u bytes, expected verdict %u and the "
			       "input's %u bytes after the MACs: the feeder or the program is broken",
			       c->label, prog, i + 1, o[i].retval, o[i].len, want_ret, f->len);
			return -EPROTO;
		}
		if (!tenace) {
			macs_ok = !memcmp(d, want + 6, 6) && !memcmp(d + 6, want, 6);
		} else if (c->expect_ret == XDP_PASS_) {
			macs_ok = !memcmp(d, want, 12);
		} else {
			uint8_t m[6];

			server_mac(0, m);
			macs_ok = !memcmp(d, m, 5) && d[5] < BENCH_SERVERS && !memcmp(d + 6, LB_MAC, 6);
		}
		if (!macs_ok) {
			tn_err("bench: %s, %s: run %d rewrote the MACs wrongly", c->label, prog, i + 1);
			return -EPROTO;
		}
		if (i && memcmp(d, o[0].data, f->len)) {
			tn_err("bench: %s, %s: repetition %d's output differs from repetition 1's: "
			       "the frame is not rebuilt between repetitions", c->label, prog, i + 1);
			return -EPROTO;
		}
	}
	return 0;
}

/* The baseline run directly, without the feeder: the test-run loop's own floor
 * (the baseline only swaps MACs, so the frame need not be rebuilt). */
static double baseline_direct(struct bench *b, const struct frame *f)
{
	double v[64];
	uint8_t out[256];

	for (int r = 0; r < b->reps; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = b->repeat);

		if (bpf_prog_test_run_opts(bpf_program__fd(b->base->progs.baseline_xdp), &o))
			return NAN;
		v[r] = o.duration;
	}
	return median(v, b->reps);
}

static int ns_section(struct bench *b)
{
	struct tn_dp *dp = NULL;
	json_object *sec = json_object_new_object(), *cases = json_object_new_array();
	int tenace_fd, base_fd = bpf_program__fd(b->base->progs.baseline_xdp);
	int err = 0, nc = (int)(sizeof(ns_cases) / sizeof(ns_cases[0]));
	double direct[16];
	uint64_t fresh_seq = 16;
	uint32_t repeat = b->repeat;
	/* enough room for every tracked client and every new one without eviction */
	uint32_t ct_size = 1000000 + 2 * 10000 + 1 + (uint32_t)b->reps * repeat + 1024;

	ct_size = ct_size * 5 / 4;
	printf("\n== ns/packet through BPF_PROG_TEST_RUN (median of %d runs of %u repetitions; "
	       "the same feeder precedes both programs) ==\n", b->reps, repeat);
	if ((err = dp_setup(&dp, ct_size, 1 /* lo: test runs arrive there */, LB_MAC)))
		goto out;
	tenace_fd = tn_dp_prog_fd(dp);
	printf("%-30s %9s %9s %7s %8s %9s %9s  %s\n", "case", "tenace", "baseline", "ratio", "target",
	       "feeder", "net ratio", "path taken (Tenace)");
	for (int ci = 0; ci < nc; ci++) {
		const struct ns_case *c = &ns_cases[ci];
		struct frame f;
		double t[64], bl[64], fe[64], path[64];
		double mt, mb, mf, ratio, net;
		json_object *jc = json_object_new_object();
		struct run_out o;
		int r;

		build_frame(&f, c->family, c->vlan, c->dst, c->base);
		feeder_set(b, &f, c->base, c->fresh ? 1 : c->nclients, c->fresh);

		/* correctness first, for both programs */
		if ((err = feeder_target(b, base_fd)) ||
		    (err = ns_verify(b, c, &f, "baseline", false, c->fresh ? fresh_seq + 2 : 7)))
			goto out;
		if ((err = feeder_target(b, tenace_fd)) ||
		    (err = ns_verify(b, c, &f, "tenace", true, c->fresh ? fresh_seq + 2 : 7)))
			goto out;
		fresh_seq += 4;
		/* warm up: every tracked client once through Tenace */
		if (!c->fresh && c->nclients > 1) {
			b->feed->bss->counter = 0;
			if ((err = feeder_run(b, &f, c->nclients, &o)))
				goto out;
		}
		for (r = 0; r < b->reps; r++) {
			uint64_t before, after;

			if ((err = feeder_target(b, -1)) || (err = feeder_run(b, &f, repeat, &o)))
				goto out;
			fe[r] = o.duration;
			if ((err = feeder_target(b, base_fd)) || (err = feeder_run(b, &f, repeat, &o)))
				goto out;
			bl[r] = o.duration;
			if (c->fresh)
				b->feed->bss->counter = fresh_seq;
			before = reason_packets(dp, c->expect_reason);
			if ((err = feeder_target(b, tenace_fd)) || (err = feeder_run(b, &f, repeat, &o)))
				goto out;
			after = reason_packets(dp, c->expect_reason);
			if (c->fresh)
				fresh_seq += repeat;
			t[r] = o.duration;
			path[r] = (double)(after - before) / repeat;
		}
		mt = median(t, b->reps);
		mb = median(bl, b->reps);
		direct[ci] = baseline_direct(b, &f);
		mf = median(fe, b->reps);
		ratio = mt / mb;
		net = mb - mf > 0.5 ? (mt - mf) / (mb - mf) : NAN;
		printf("%-30s %7.1f ns %6.1f ns %6.2fx ", c->label, mt, mb, ratio);
		if (c->target)
			printf("<=%.0fx %s", c->target, pass_miss(b, ratio <= c->target));
		else
			printf("%8s", "-");
		if (isnan(net))
			printf(" %6.1f ns %9s  %s %.1f%%\n", mf, "-", tn_reason_name(c->expect_reason),
			       100 * median(path, b->reps));
		else
			printf(" %6.1f ns %8.2fx  %s %.1f%%\n", mf, net, tn_reason_name(c->expect_reason),
			       100 * median(path, b->reps));
		if (median(path, b->reps) < 0.99) {
			tn_err("bench: %s: only %.1f%% of Tenace's packets took the %s path",
			       c->label, 100 * median(path, b->reps), tn_reason_name(c->expect_reason));
			b->failures++;
		}
		JSET(jc, "name", JS(c->name));
		JSET(jc, "label", JS(c->label));
		JSET(jc, "clients", c->fresh ? JS("every packet a new client") : JI(c->nclients));
		JSET(jc, "tenace_ns", JD(mt));
		JSET(jc, "baseline_ns", JD(mb));
		JSET(jc, "feeder_ns", JD(mf));
		JSET(jc, "baseline_without_feeder_ns", JD(direct[ci]));
		JSET(jc, "ratio", JD(ratio));
		JSET(jc, "net_ratio", isnan(net) ? NULL : JD(net));
		if (c->target) {
			JSET(jc, "target_ratio_max", JD(c->target));
			JSET(jc, "pass", JB(ratio <= c->target));
		}
		JSET(jc, "expected_path", JS(tn_reason_name(c->expect_reason)));
		JSET(jc, "path_fraction", JD(median(path, b->reps)));
		JSET(jc, "tenace_runs_ns", jarr(t, b->reps));
		JSET(jc, "baseline_runs_ns", jarr(bl, b->reps));
		JSET(jc, "feeder_runs_ns", jarr(fe, b->reps));
		json_object_array_add(cases, jc);
	}
out:
	JSET(sec, "method", JS("BPF_PROG_TEST_RUN of bench_feeder (bpf/bench_feeder.bpf.c), which rebuilds the "
			       "frame's header from a template, writes the client's source address from a counter "
			       "(client = counter % clients, or counter for new clients) and tail-calls the program "
			       "under test. tenace_ns and baseline_ns include the feeder; feeder_ns is the feeder "
			       "alone (it returns XDP_TX); baseline_without_feeder_ns is the baseline run directly "
			       "(the test-run loop's floor). ratio = tenace_ns / baseline_ns (judged against the "
			       "target); net_ratio = (tenace_ns - feeder_ns) / (baseline_ns - feeder_ns). "
			       "Each value is the median over runs of the kernel's average ns per repetition; "
			       "repetitions of Tenace, baseline and feeder alone are interleaved. Verdicts and output "
			       "bytes of repetition 2 are checked equal to repetition 1's before measuring; "
			       "path_fraction is the share of Tenace's packets counted under expected_path."));
	JSET(sec, "repeat", JI(repeat));
	JSET(sec, "runs", JI(b->reps));
	JSET(sec, "conntrack_size", JI(ct_size));
	JSET(sec, "servers", JI(BENCH_SERVERS));
	JSET(sec, "frame_bytes", JS("64 (IPv4 UDP), 68 (VLAN), 78 (IPv6)"));
	JSET(sec, "cases", cases);
	JSET(b->root, "ns_per_packet", sec);
	tn_dp_close(dp);
	if (err)
		b->failures++;
	return err;
}

/* ---- section 4: Maglev ---------------------------------------------------------- */

static double build_ms(uint16_t *table, uint32_t size, const struct tn_maglev_server *s, int n, int reps)
{
	double v[64];

	for (int r = 0; r < reps; r++) {
		double t0 = now_s();

		if (tn_maglev_build(table, size, s, n))
			return NAN;
		v[r] = (now_s() - t0) * 1e3;
	}
	return median(v, reps);
}

static int maglev_section(struct bench *b)
{
	static const uint32_t sizes[] = { 65537, 655373 };
	static const int counts[] = { 10, 100, 1000 };
	json_object *sec = json_object_new_object(), *rows = json_object_new_array();
	uint16_t *t1 = malloc(655373 * 2), *t2 = malloc(655373 * 2);
	struct tn_maglev_server *s = calloc(1000, sizeof(*s));
	uint32_t *cnt = calloc(1000, sizeof(*cnt));
	int err = 0;

	if (!t1 || !t2 || !s || !cnt) {
		err = -ENOMEM;
		goto out;
	}
	printf("\n== Maglev (tn_maglev_build, median of %d builds; weights random 1..256 for time and share; "
	       "equal weights for moves) ==\n", b->reps);
	printf("%-8s %-7s %10s %20s %13s %13s %12s\n", "entries", "servers", "build", "share error (rel)",
	       "moved", "ideal 1/N", "moved needlessly");
	for (size_t si = 0; si < 2; si++) {
		for (size_t ni = 0; ni < 3; ni++) {
			uint32_t size = sizes[si];
			int n = counts[ni], leave = n / 2;
			double ms, err_pp = 0, err_rel = 0, wsum = 0, moved = 0, needless = 0;
			json_object *row = json_object_new_object();
			bool time_ok = true;

			rng_state = 0x9e3779b97f4a7c15ull + size + n;
			for (int i = 0; i < n; i++) {
				s[i].tag = (uint32_t)rng() | 1;
				s[i].slot = (uint16_t)i;
				s[i].weight = (uint16_t)(1 + rng() % 256);
				wsum += s[i].weight;
			}
			ms = build_ms(t1, size, s, n, b->reps);
			if (isnan(ms)) {
				tn_err("bench: tn_maglev_build failed for %u entries and %d servers", size, n);
				err = -EINVAL;
				goto out;
			}
			memset(cnt, 0, n * sizeof(*cnt));
			for (uint32_t e = 0; e < size; e++)
				if (t1[e] < n)
					cnt[t1[e]]++;
			for (int i = 0; i < n; i++) {
				double share = (double)cnt[i] / size, want = s[i].weight / wsum;

				if (fabs(share - want) * 100 > err_pp)
					err_pp = fabs(share - want) * 100;
				if (fabs(share / want - 1) > err_rel)
					err_rel = fabs(share / want - 1);
			}
			/* one of N equal servers leaves */
			for (int i = 0; i < n; i++)
				s[i].weight = 100;
			if (tn_maglev_build(t1, size, s, n)) {
				err = -EINVAL;
				goto out;
			}
			s[leave].weight = 0;
			if (tn_maglev_build(t2, size, s, n)) {
				err = -EINVAL;
				goto out;
			}
			for (uint32_t e = 0; e < size; e++) {
				if (t1[e] == t2[e])
					continue;
				moved++;
				if (t1[e] != s[leave].slot)
					needless++;
			}
			moved /= size;
			needless /= size;
			if (size == 65537 && n == 1000)
				time_ok = ms < 10;
			printf("%-8u %-7d %7.2f ms%s %8.3f pp (%5.1f%%) %11.3f%% %12.3f%% %14.3f%%\n", size, n, ms,
			       size == 65537 && n == 1000 ? (time_ok ? " PASS(<10ms)" : " MISS(<10ms)") : "",
			       err_pp, 100 * err_rel, 100 * moved, 100.0 / n, 100 * needless);
			if (size == 65537 && n == 1000)
				pass_miss(b, time_ok);
			JSET(row, "entries", JI(size));
			JSET(row, "servers", JI(n));
			JSET(row, "build_ms", JD(ms));
			if (size == 65537 && n == 1000) {
				JSET(row, "target_build_ms_max", JD(10));
				JSET(row, "pass", JB(time_ok));
			}
			JSET(row, "share_error_max_pp", JD(err_pp));
			JSET(row, "share_error_max_relative", JD(err_rel));
			JSET(row, "moved_fraction_one_leaves", JD(moved));
			JSET(row, "ideal_fraction", JD(1.0 / n));
			JSET(row, "moved_needlessly_fraction", JD(needless));
			json_object_array_add(rows, row);
		}
	}
out:
	JSET(sec, "method", JS("tn_maglev_build on one core, median of the runs. share_error: max over servers of "
			       "|entries share - weight share| with weights random 1..256 (in percentage points, "
			       "and relative to the weight share). moved: fraction of all entries whose server "
			       "changed when server N/2 of N equal-weight servers leaves (ideal 1/N); "
			       "moved_needlessly: entries that changed although their server stayed."));
	JSET(sec, "runs", JI(b->reps));
	JSET(sec, "rows", rows);
	JSET(b->root, "maglev", sec);
	free(t1);
	free(t2);
	free(s);
	free(cnt);
	if (err)
		b->failures++;
	return err;
}

/* ---- the command ---------------------------------------------------------------- */

enum { SEC_NS = 1, SEC_E2E = 2, SEC_REFRESH = 4, SEC_MAGLEV = 8, SEC_PROBE = 16, SEC_MEMORY = 32, SEC_ALL = 63 };

static const struct { const char *name; int bit; } section_names[] = {
	{ "ns", SEC_NS }, { "e2e", SEC_E2E }, { "refresh", SEC_REFRESH },
	{ "maglev", SEC_MAGLEV }, { "probe", SEC_PROBE }, { "memory", SEC_MEMORY },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tenace bench [-s SECTION[,SECTION...]] [-o FILE] [-r RUNS] [--repeat N] [--seconds S] [--quick]\n"
		"       tenace bench --plot-data FILE DIR\n"
		"Measure Tenace beside the baseline (swap MACs, XDP_TX) in the same run.\n"
		"  -s, --section LIST  ns, e2e, refresh, maglev, probe, memory (default: all)\n"
		"  -o, --output FILE   JSON results (default build/bench.json; sections not run are kept)\n"
		"  -r, --runs N        repetitions per figure, the median is reported (default 5)\n"
		"      --repeat N      BPF_PROG_TEST_RUN repetitions per run (default 1000000)\n"
		"      --seconds S     measuring window of an end-to-end run (default 2)\n"
		"      --quick         3 runs, 200000 repetitions, 1 s windows (a smoke test)\n"
		"      --tenace PATH   the tenace binary whose pktgen generates traffic (default: this one)\n"
		"      --plot-data     write gnuplot data files from a results file into DIR\n");
}

static void machine_info(json_object *root)
{
	json_object *m = json_object_new_object();
	struct utsname u;
	char line[256], model[256] = "unknown", date[64];
	FILE *f = fopen("/proc/cpuinfo", "r");
	time_t t = time(NULL);

	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && p) {
			snprintf(model, sizeof(model), "%s", p + 2);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	JSET(m, "cpu", JS(model));
	JSET(m, "cpus", JI(sysconf(_SC_NPROCESSORS_ONLN)));
	JSET(m, "kernel", JS(u.release));
	JSET(m, "date", JS(date));
	JSET(root, "machine", m);
	printf("machine: %s, %ld CPUs, Linux %s, %s\n", model, sysconf(_SC_NPROCESSORS_ONLN), u.release, date);
}

static int e2e_section(struct bench *b);
static int refresh_section(struct bench *b);
static int probe_section(struct bench *b);
static int memory_section(struct bench *b);
static int plot_data(const char *file, const char *dir);
static void net_cleanup(void);

static void on_signal(int sig)
{
	net_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

int tn_bench_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "section", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "runs", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'R' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "quick", no_argument, NULL, 'q' },
		{ "plot-data", no_argument, NULL, 'P' },
		{ "tenace", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct bench b = { .reps = 5, .seconds = 2, .repeat = 1000000 };
	const char *out = "build/bench.json";
	int sections = 0, c, err = 0;
	bool plot = false;

	/* the generator is the `tenace` beside this tenace-bench (with the same
	 * suffix: tenace-bench-san uses tenace-san), whose `pktgen` runs tenace-pktgen */
	{
		char self[400];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		char *slash, *base;

		if (n > 0) {
			self[n] = 0;
			slash = strrchr(self, '/');
			base = slash ? slash + 1 : self;
			if (slash && !strncmp(base, "tenace-bench", 12)) {
				*slash = 0;
				snprintf(tenace_bin, sizeof(tenace_bin), "%s/tenace%s", self, base + 12);
			}
		}
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:o:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': {
			char *list = strdup(optarg), *save = NULL, *tok;

			for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				size_t i;

				for (i = 0; i < sizeof(section_names) / sizeof(section_names[0]); i++)
					if (!strcmp(tok, section_names[i].name))
						break;
				if (i == sizeof(section_names) / sizeof(section_names[0])) {
					fprintf(stderr, "tenace bench: unknown section '%s' (ns, e2e, refresh, maglev, "
						"probe, memory)\n", tok);
					free(list);
					return 2;
				}
				sections |= section_names[i].bit;
			}
			free(list);
			break;
		}
		case 'o': out = optarg; break;
		case 'r': b.reps = atoi(optarg); break;
		case 'R': b.repeat = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'S': b.seconds = atof(optarg); break;
		case 'q': b.reps = 3, b.repeat = 200000, b.seconds = 1; break;
		case 'P': plot = true; break;
		case 'T': snprintf(tenace_bin, sizeof(tenace_bin), "%s", optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (plot) {
		if (argc - optind != 2) {
			usage(stderr);
			return 2;
		}
		return plot_data(argv[optind], argv[optind + 1]) ? 1 : 0;
	}
	if (b.reps < 1 || b.reps > 64 || b.repeat < 1000 || b.seconds <= 0) {
		fprintf(stderr, "tenace bench: runs must be 1..64, repeat at least 1000, seconds positive\n");
		return 2;
	}
	if (!sections)
		sections = SEC_ALL;

	tn_log_libbpf();
	json_c_set_serialization_double_format("%.6g", JSON_C_OPTION_GLOBAL);
	/* keep what an earlier run measured for the sections not run now */
	if (sections != SEC_ALL && access(out, R_OK) == 0)
		b.root = json_object_from_file(out);
	if (!b.root)
		b.root = json_object_new_object();
	machine_info(b.root);

	b.feed = bench_feeder__open_and_load();
	b.base = baseline__open_and_load();
	if (!b.feed || !b.base) {
		tn_err("bench: cannot load the feeder or the baseline program: %s (run as root)", strerror(errno));
		err = 1;
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	atexit(net_cleanup);

	if (sections & SEC_NS)
		ns_section(&b);
	if (sections & SEC_E2E)
		e2e_section(&b);
	if (sections & SEC_REFRESH)
		refresh_section(&b);
	if (sections & SEC_MAGLEV)
		maglev_section(&b);
	if (sections & SEC_PROBE)
		probe_section(&b);
	if (sections & SEC_MEMORY)
		memory_section(&b);

	JSET(b.root, "targets_missed", JI(b.misses));
	JSET(b.root, "measurement_failures", JI(b.failures));
	if (json_object_to_file_ext(out, b.root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) {
		tn_err("bench: cannot write %s: %s", out, json_util_get_last_err());
		err = 1;
	} else {
		printf("\n%d target(s) missed, %d measurement failure(s); results in %s\n", b.misses,
		       b.failures, out);
	}
	if (b.failures)
		err = 1;
out:
	bench_feeder__destroy(b.feed);
	baseline__destroy(b.base);
	json_object_put(b.root);
	return err;
}

/* ---- the veth test bed (sections e2e and refresh) ----------------------------
 *
 *   namespace tnbench-gen          root namespace
 *   [generator] -> tnb-gen  <==veth==>  tnb-lb  (Tenace or the baseline, native XDP)
 *   [sink XDP_DROP] <- tnb-gen  <======  XDP_TX
 *
 * Both programs answer with XDP_TX, so the frame goes back over the same
 * veth and the sink on the generator's end counts it: Tenace and the
 * baseline stand in exactly the same position. veth runs its receive NAPI
 * where frames are sent, so generator, balancer and sink all run on the
 * generator's CPU: one core for the whole path, no frame lost in a ring.
 * (Threaded NAPI pinned to the other CPU was tried: on this class of VM the
 * wake-ups cost more than the work and the 256-frame rings overflow.)
 */
#define NS_GEN "tnbench-gen"
#define IF_LB "tnb-lb"
#define IF_GEN "tnb-gen"

static int root_ns_fd = -1, gen_ns_fd = -1;
static bool net_made;

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		tn_err("bench: command failed (status %d): %s", rc, cmd);
	return rc ? -EIO : 0;
}

static void net_cleanup(void)
{
	if (!net_made)
		return;
	net_made = false;
	if (system("ip link del " IF_LB " 2>/dev/null; ip netns del " NS_GEN " 2>/dev/null")) {
		/* nothing more to do: it may be gone already */
	}
}

static int enter_ns(int fd)
{
	if (setns(fd, CLONE_NEWNET)) {
		tn_err("bench: cannot enter a network namespace: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

struct testbed {
	int lb_ifindex, gen_ifindex;   /* gen_ifindex: inside NS_GEN */
	int gen_cpu;                   /* the whole path runs there */
};

static int net_setup(struct testbed *t)
{
	int err;

	if (system("ip link del " IF_LB " 2>/dev/null; ip netns del " NS_GEN " 2>/dev/null")) {
		/* leftovers of an interrupted run, if any, are gone now */
	}
	net_made = true;
	if ((err = sh("ip netns add " NS_GEN)) ||
	    (err = sh("ip link add " IF_LB " address 02:54:4e:00:00:01 type veth peer name " IF_GEN
		      " address 02:54:4e:00:00:02 netns " NS_GEN)) ||
	    (err = sh("ip link set " IF_LB " up")) ||
	    (err = sh("ip -n " NS_GEN " link set " IF_GEN " up")) ||
	    (err = sh("ip -n " NS_GEN " link set lo up")))
		return err;
	if (root_ns_fd < 0)
		root_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (gen_ns_fd >= 0)
		close(gen_ns_fd);
	gen_ns_fd = open("/run/netns/" NS_GEN, O_RDONLY | O_CLOEXEC);
	if (root_ns_fd < 0 || gen_ns_fd < 0) {
		tn_err("bench: cannot open the network namespaces: %s", strerror(errno));
		return -errno;
	}
	t->lb_ifindex = if_nametoindex(IF_LB);
	if ((err = enter_ns(gen_ns_fd)))
		return err;
	t->gen_ifindex = if_nametoindex(IF_GEN);
	if ((err = enter_ns(root_ns_fd)))
		return err;
	if (!t->lb_ifindex || !t->gen_ifindex) {
		tn_err("bench: the veth pair " IF_LB "/" IF_GEN " did not appear");
		return -ENODEV;
	}
	t->gen_cpu = 0;
	return 0;
}

/* Attach prog_fd natively to an interface of the root namespace (ns_fd < 0)
 * or of another one, replacing what is there (NAPI stays: no detach). */
static int xdp_put(int ns_fd, int ifindex, int prog_fd)
{
	int err;

	if (ns_fd >= 0 && (err = enter_ns(ns_fd)))
		return err;
	err = bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL);
	if (ns_fd >= 0)
		enter_ns(root_ns_fd);
	if (err)
		tn_err("bench: cannot attach XDP natively to ifindex %d: %s", ifindex, strerror(-err));
	return err;
}

/*
 * The generator: `tenace pktgen` (BPF_PROG_RUN live frames, XDP_TX out of
 * tnb-gen) in the generator namespace, confined to the generator's CPU.
 */
struct pg {
	FILE *p;
	uint64_t packets;   /* sent, from its JSON summary */
	double pps;
};

/* Send for `seconds`, or exactly `count` frames when count > 0; pps 0: flat out. */
static int pg_start(struct pg *g, const struct testbed *t, uint32_t base, uint32_t nclients,
		    double seconds, uint64_t count, double pps)
{
	char cmd[1024], src[INET_ADDRSTRLEN], amount[64];
	uint32_t a = htonl(base);

	inet_ntop(AF_INET, &a, src, sizeof(src));
	if (count)
		snprintf(amount, sizeof(amount), "-n %llu", (unsigned long long)count);
	else
		snprintf(amount, sizeof(amount), "-d %.3f", seconds);
	snprintf(cmd, sizeof(cmd),
		 "ip netns exec " NS_GEN " taskset -c %d %s pktgen -i " IF_GEN " --dst-mac 02:54:4e:00:00:01 "
		 "--dst %s --dst-port 80 --proto udp --src %s --clients %u %s -r %.0f -t 1 -q -j",
		 t->gen_cpu, tenace_bin, VIP4, src, nclients, amount, pps);
	g->p = popen(cmd, "r");
	if (!g->p) {
		tn_err("bench: cannot run %s: %s", cmd, strerror(errno));
		return -errno;
	}
	return 0;
}

static int pg_wait(struct pg *g)
{
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, g->p);
	int rc = pclose(g->p);
	json_object *j, *v;

	buf[n] = 0;
	g->packets = 0;
	g->pps = 0;
	j = json_tokener_parse(buf);
	if (rc || !j) {
		tn_err("bench: tenace pktgen failed (status %d)%s%s", rc, n ? ": " : "", buf);
		json_object_put(j);
		return -EIO;
	}
	if (json_object_object_get_ex(j, "packets", &v))
		g->packets = json_object_get_int64(v);
	if (json_object_object_get_ex(j, "pps", &v))
		g->pps = json_object_get_double(v);
	json_object_put(j);
	return 0;
}

static uint64_t percpu_u64_sum(int map_fd, uint32_t key)
{
	int n = libbpf_num_possible_cpus();
	uint64_t v[256] = { 0 }, s = 0;

	if (n > 256 || bpf_map_lookup_elem(map_fd, &key, v))
		return 0;
	for (int i = 0; i < n; i++)
		s += v[i];
	return s;
}

/* ---- section 2: end to end over veth ------------------------------------------ */

static int e2e_section(struct bench *b)
{
	static const uint32_t nclients[] = { 1, 10000, 1000000 };
	static const uint32_t bases[] = { 0x0a010000, 0x0a020000, 0x0a100000 };
	json_object *sec = json_object_new_object(), *rows = json_object_new_array();
	struct helpers *h = helpers__open_and_load();
	struct tn_dp *dp = NULL;
	struct testbed t = { 0 };
	int err = 0, sink_fd, base_fd = bpf_program__fd(b->base->progs.baseline_xdp);

	printf("\n== end to end over veth, generator + balancer + sink on one CPU (Mpps delivered to the sink, median of %d "
	       "runs of %.1f s) ==\n", b->reps, b->seconds);
	if (!h) {
		tn_err("bench: cannot load build/helpers.bpf.o's sink: %s", strerror(errno));
		err = -errno;
		goto out;
	}
	sink_fd = bpf_map__fd(h->maps.sink_count);
	if ((err = net_setup(&t)))
		goto out;
	if ((err = dp_setup(&dp, 2000000, t.lb_ifindex, LB_MAC)))
		goto out;
	if ((err = xdp_put(gen_ns_fd, t.gen_ifindex, bpf_program__fd(h->progs.sink_xdp))) ||
	    (err = xdp_put(-1, t.lb_ifindex, base_fd)))
		goto out;
	printf("%-9s %11s %11s %6s %11s %11s  %s\n", "clients", "tenace", "baseline", "ratio",
	       "target", "added/pkt", "Tenace path");
	for (size_t ci = 0; ci < sizeof(nclients) / sizeof(nclients[0]); ci++) {
		double mt[64], mb[64], hit[64], offered[64], med_t, med_b, ratio, added;
		json_object *row = json_object_new_object();
		struct pg g;
		bool ok;

		/* warm up: every client once through Tenace, at a rate it keeps up with */
		if ((err = xdp_put(-1, t.lb_ifindex, tn_dp_prog_fd(dp))))
			goto out;
		if ((err = pg_start(&g, &t, bases[ci], nclients[ci], 0, nclients[ci], 300000)) ||
		    (err = pg_wait(&g)))
			goto out;
		for (int r = 0; r < b->reps; r++) {
			for (int which = 0; which < 2; which++) {
				uint64_t c0, c1, h0, h1, a0, a1;
				double t0, t1, mpps;
				int prog = which ? tn_dp_prog_fd(dp) : base_fd;

				if ((err = xdp_put(-1, t.lb_ifindex, prog)))
					goto out;
						if ((err = pg_start(&g, &t, bases[ci], nclients[ci], b->seconds + 0.6, 0, 0)))
					goto out;
				sleep_s(0.3);
				c0 = percpu_u64_sum(sink_fd, 0);
				h0 = reason_packets(dp, TN_R_CT_HIT);
				a0 = reason_packets(dp, TN_R_TX);
				t0 = now_s();
				sleep_s(b->seconds);
				c1 = percpu_u64_sum(sink_fd, 0);
				h1 = reason_packets(dp, TN_R_CT_HIT);
				a1 = reason_packets(dp, TN_R_TX);
				t1 = now_s();
				if ((err = pg_wait(&g)))
					goto out;
				mpps = (c1 - c0) / (t1 - t0) / 1e6;
				if (which) {
					mt[r] = mpps;
					hit[r] = a1 > a0 ? (double)(h1 - h0) / (a1 - a0) : 0;
				} else {
					mb[r] = mpps;
				}
				offered[r] = g.pps / 1e6;
			}
		}
		med_t = median(mt, b->reps);
		med_b = median(mb, b->reps);
		ratio = med_t / med_b;
		added = 1e3 / med_t - 1e3 / med_b;
		ok = ratio >= 0.8;
		printf("%-9u %6.3f Mpps %6.3f Mpps %5.0f%% >=80%% %s %8.0f ns  conntrack_hit %.1f%%\n",
		       nclients[ci], med_t, med_b, 100 * ratio, pass_miss(b, ok), added,
		       100 * median(hit, b->reps));
		if (nclients[ci] == 10000)
			b->e2e_max_mpps_10k = med_t;
		JSET(row, "clients", JI(nclients[ci]));
		JSET(row, "tenace_mpps", JD(med_t));
		JSET(row, "baseline_mpps", JD(med_b));
		JSET(row, "ratio", JD(ratio));
		JSET(row, "target_ratio_min", JD(0.8));
		JSET(row, "pass", JB(ok));
		JSET(row, "added_ns_per_packet", JD(added));
		JSET(row, "tenace_conntrack_hit_fraction", JD(median(hit, b->reps)));
		JSET(row, "generator_offered_mpps_median", JD(median(offered, b->reps)));
		JSET(row, "tenace_runs_mpps", jarr(mt, b->reps));
		JSET(row, "baseline_runs_mpps", jarr(mb, b->reps));
		json_object_array_add(rows, row);
	}
out:
	JSET(sec, "method", JS("Generator: tenace pktgen (BPF_PROG_RUN live frames, 64-byte IPv4 UDP frames, "
			       "client = N % clients) out of tnb-gen in namespace tnbench-gen, confined to CPU 0. "
			       "Balancer: Tenace or the baseline attached natively to tnb-lb (the "
			       "veth peer, root namespace); both answer with XDP_TX, back to tnb-gen, where sink_xdp "
			       "(build/helpers.bpf.o) counts and drops. veth runs NAPI where frames are sent, so the "
			       "generator, the balancer and the sink share CPU 0: one core for the whole path. Mpps = frames counted by the sink per second over the window, after "
			       "0.3 s of ramp-up; repetitions alternate baseline and Tenace; Tenace's clients are "
			       "tracked before measuring (one frame per client at 0.3 Mpps). added_ns_per_packet = "
			       "1/tenace_mpps - 1/baseline_mpps: what Tenace adds to the baseline on this core."));
	JSET(sec, "runs", JI(b->reps));
	JSET(sec, "window_s", JD(b->seconds));
	JSET(sec, "rows", rows);
	JSET(b->root, "end_to_end", sec);
	net_cleanup();
	tn_dp_close(dp);
	helpers__destroy(h);
	if (err)
		b->failures++;
	return err;
}

/* ---- section 3: refresh under load -------------------------------------------- */

static int refresh_section(struct bench *b)
{
	const uint32_t nclients = 10000, base = 0x0a020000, nref = 100;
	json_object *sec = json_object_new_object();
	struct tn_dp_server srv[BENCH_SERVERS];
	struct tn_dp *dp = NULL;
	struct testbed t = { 0 };
	struct pg g;
	double rate_mpps = b->e2e_max_mpps_10k, wms[128], t0;
	uint64_t s0, s1, m0, m1, x0, x1, d0, d1, gen0 = 0, gen1 = 0, sent, received, moved, lost;
	int sink_stats_fd = bpf_map__fd(b->feed->maps.sink_stats), err;
	bool loss_ok, move_ok;

	printf("\n== refresh under load: %u farm rewrites (weights of servers 6..10 changed, 1..5 kept) while "
	       "%u tracked clients send ==\n", nref, nclients);
	if ((err = net_setup(&t)) || (err = dp_setup(&dp, 2000000, t.lb_ifindex, LB_MAC)))
		goto out;
	b->feed->data->sink_src_off = 26;
	if ((err = xdp_put(gen_ns_fd, t.gen_ifindex, bpf_program__fd(b->feed->progs.bench_sink))) ||
	    (err = xdp_put(-1, t.lb_ifindex, tn_dp_prog_fd(dp))))
		goto out;
	if (!(rate_mpps > 0)) {
		/* the e2e section did not run: measure what the path sustains now */
		if ((err = pg_start(&g, &t, base, nclients, 0, 0, 0)))
			goto out;
		pg_wait(&g);
		s0 = percpu_u64_sum(sink_stats_fd, 0);
		t0 = now_s();
		if ((err = pg_start(&g, &t, base, nclients, 1.0, 0, 0)) || (err = pg_wait(&g)))
			goto out;
		rate_mpps = (percpu_u64_sum(sink_stats_fd, 0) - s0) / (now_s() - t0) / 1e6;
	}
	/* every client tracked and seen by the sink once before the refreshes */
	if ((err = pg_start(&g, &t, base, nclients, 0, 2 * nclients, rate_mpps * 0.5e6)) || (err = pg_wait(&g)))
		goto out;
	sleep_s(0.1);
	s0 = percpu_u64_sum(sink_stats_fd, 0);
	m0 = percpu_u64_sum(sink_stats_fd, 1);
	x0 = reason_packets(dp, TN_R_TX);
	d0 = reason_packets(dp, TN_R_CT_NEW) + reason_packets(dp, TN_R_CT_RESCHEDULED) +
	     reason_packets(dp, TN_R_DROP_NO_SERVER) + reason_packets(dp, TN_R_ABORTED);
	make_servers(srv, BENCH_SERVERS, t.lb_ifindex, LB_MAC);
	/* the rewrites are the controller's work: keep them off the packet path's CPU,
	 * as a deployment would (otherwise the veth ring overflows while they run) */
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(t.gen_cpu == 0 ? 1 : 0, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	if ((err = pg_start(&g, &t, base, nclients, nref * 0.02 + 1.0, 0, rate_mpps * 0.5e6)))
		goto out;
	sleep_s(0.4);
	rng_state = 42;
	for (uint32_t i = 0; i < nref; i++) {
		struct tn_dp_farm farm = {
			.farm_id = 1, .proto = IPPROTO_UDP, .balance = TN_BALANCE_SOURCE,
			.stickiness = TN_STICKY_SOURCE_IP, .servers = srv, .nservers = BENCH_SERVERS,
		};
		double w0;

		for (int k = BENCH_SERVERS / 2; k < BENCH_SERVERS; k++)
			srv[k].weight = (uint16_t)(1 + rng() % 256);
		w0 = now_s();
		err = tn_dp_farm_write(dp, 0, &farm, i ? &gen1 : &gen0);
		wms[i < 128 ? i : 127] = (now_s() - w0) * 1e3;
		if (err) {
			pg_wait(&g);
			goto out;
		}
		sleep_s(0.02);
	}
	if ((err = pg_wait(&g)))
		goto out;
	sleep_s(0.2);
	s1 = percpu_u64_sum(sink_stats_fd, 0);
	m1 = percpu_u64_sum(sink_stats_fd, 1);
	x1 = reason_packets(dp, TN_R_TX);
	d1 = reason_packets(dp, TN_R_CT_NEW) + reason_packets(dp, TN_R_CT_RESCHEDULED) +
	     reason_packets(dp, TN_R_DROP_NO_SERVER) + reason_packets(dp, TN_R_ABORTED);
	sent = g.packets;
	received = s1 - s0;
	moved = m1 - m0;
	lost = sent > received ? sent - received : 0;
	loss_ok = lost == 0;
	move_ok = moved == 0;
	printf("rate %.3f Mpps (half of what the path sustains), %u rewrites (generations %llu..%llu), "
	       "median rewrite %.2f ms\n", rate_mpps / 2, nref, (unsigned long long)gen0,
	       (unsigned long long)gen1, median(wms, nref < 64 ? nref : 64));
	printf("sent %llu, forwarded by Tenace %llu, received by the sink %llu, re-decided by Tenace %llu\n",
	       (unsigned long long)sent, (unsigned long long)(x1 - x0), (unsigned long long)received,
	       (unsigned long long)(d1 - d0));
	printf("packets lost        %10llu   target 0  %s\n", (unsigned long long)lost, pass_miss(b, loss_ok));
	printf("clients that moved  %10llu   target 0  %s\n", (unsigned long long)moved, pass_miss(b, move_ok));
	/* the detector detects: mark server 1 down, its clients must show up as moved */
	{
		struct tn_dp_farm farm = {
			.farm_id = 1, .proto = IPPROTO_UDP, .balance = TN_BALANCE_SOURCE,
			.stickiness = TN_STICKY_SOURCE_IP, .servers = srv, .nservers = BENCH_SERVERS,
		};
		uint64_t c0 = percpu_u64_sum(sink_stats_fd, 1), c1;

		srv[0].up = false;
		if ((err = tn_dp_farm_write(dp, 0, &farm, NULL)) ||
		    (err = pg_start(&g, &t, base, nclients, 0, nclients, rate_mpps * 0.5e6)) || (err = pg_wait(&g)))
			goto out;
		sleep_s(0.1);
		c1 = percpu_u64_sum(sink_stats_fd, 1);
		printf("check of the detector: server 1 marked down, %llu clients seen moving (expected about %u)\n",
		       (unsigned long long)(c1 - c0), nclients / BENCH_SERVERS);
		JSET(sec, "detector_check_moved_when_server_down", JI(c1 - c0));
		if (c1 == c0) {
			tn_err("bench: the move detector saw nothing when a server went down: the zero above means nothing");
			err = -EPROTO;
		}
	}
	JSET(sec, "clients", JI(nclients));
	JSET(sec, "rewrites", JI(nref));
	JSET(sec, "rate_mpps", JD(rate_mpps / 2));
	JSET(sec, "rewrite_ms_median", JD(median(wms, nref < 64 ? nref : 64)));
	JSET(sec, "first_generation", JI(gen0));
	JSET(sec, "last_generation", JI(gen1));
	JSET(sec, "sent", JI(sent));
	JSET(sec, "forwarded_by_tenace", JI(x1 - x0));
	JSET(sec, "received_by_sink", JI(received));
	JSET(sec, "redecided_by_tenace", JI(d1 - d0));
	JSET(sec, "lost", JI(lost));
	JSET(sec, "clients_moved", JI(moved));
	JSET(sec, "pass_lost", JB(loss_ok));
	JSET(sec, "pass_moved", JB(move_ok));
out:
	JSET(sec, "method", JS("Same veth path as end_to_end with bench_sink (bpf/bench_feeder.bpf.c) as the sink: "
			       "it counts frames and, per client (source address % 65536), remembers the destination "
			       "MAC (= server) and counts every change. 10,000 clients are tracked first; then tenace "
			       "pktgen sends at half the rate the path sustains while tn_dp_farm_write rewrites the farm "
			       "100 times, 20 ms apart, each time with new random weights (1..256) for servers 6..10. "
			       "lost = sent - received by the sink; clients_moved = destination MAC changes. "
			       "redecided_by_tenace counts conntrack_new + rescheduled + drop_no_server + aborted."));
	JSET(b->root, "refresh", sec);
	net_cleanup();
	tn_dp_close(dp);
	if (err)
		b->failures++;
	return err;
}

/* ---- section 5: probe engine CPU, map memory ---------------------------------- */

static volatile int accept_stop;

/* Accept and close whatever the probes open (one listener on every 127.x address). */
static void *accept_thread(void *arg)
{
	int lfd = *(int *)arg;

	while (!accept_stop) {
		int c = accept(lfd, NULL, NULL);

		if (c >= 0)
			close(c);
	}
	return NULL;
}

static void probe_changed(void *arg, uint64_t key, bool up, const char *reason, int count)
{
	(void)key, (void)up, (void)reason, (void)count;
	(*(uint64_t *)arg)++;
}

/* CPU seconds of this thread, user and kernel */
static double thread_cpu_now(double *user)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	*user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	return *user + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int probe_section(struct bench *b)
{
	static const uint32_t counts[] = { 1000, 10000 };
	const double window = b->seconds >= 2 ? 10 : 5;
	json_object *sec = json_object_new_object(), *rows = json_object_new_array();
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	struct tn_probe_target *tg = calloc(10000, sizeof(*tg));
	struct rlimit rl = { 65536, 65536 };
	socklen_t sl = sizeof(sa);
	pthread_t th;
	int lfd = -1, one = 1, err = 0;
	bool th_started = false;

	printf("\n== probe engine: TCP checks at 1 s intervals against local listeners on 127.x, %.0f s ==\n",
	       window);
	setrlimit(RLIMIT_NOFILE, &rl);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!tg || lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		tn_err("bench: cannot set up the probe listener: %s", strerror(errno));
		err = -errno;
		goto out;
	}
	accept_stop = 0;
	if (pthread_create(&th, NULL, accept_thread, &lfd) == 0)
		th_started = true;
	printf("%-8s %9s %9s %9s %12s %12s %10s\n", "servers", "CPU", "user", "kernel", "checks/s", "up at end", "changes");
	for (size_t ci = 0; ci < 2; ci++) {
		struct tn_prober *p = NULL;
		uint64_t changes = 0, checks0 = 0, checks1 = 0;
		uint32_t n = counts[ci], up = 0;
		double c0, c1, u0, u1, t0, t1, pct, upct;
		char errbuf[256] = "";
		json_object *row = json_object_new_object();

		for (uint32_t i = 0; i < n; i++) {
			memset(&tg[i], 0, sizeof(tg[i]));
			tg[i].key = i;
			tg[i].addr.family = 4;
			tg[i].addr.bytes[0] = 127;
			tg[i].addr.bytes[1] = 1 + i / 62500;
			tg[i].addr.bytes[2] = (uint8_t)(i / 250);
			tg[i].addr.bytes[3] = (uint8_t)(1 + i % 250);
			tg[i].port = ntohs(sa.sin_port);
			tg[i].cfg.type = TN_PROBE_TCP;
			tg[i].cfg.interval_s = 1;
			tg[i].cfg.timeout_s = 1;
			tg[i].cfg.rise = 2;
			tg[i].cfg.fall = 3;
		}
		if ((err = tn_prober_new(&p, probe_changed, &changes)) ||
		    (err = tn_prober_set_targets(p, tg, n, errbuf, sizeof(errbuf)))) {
			tn_err("bench: cannot start the probe engine with %u targets: %s %s", n, strerror(-err), errbuf);
			tn_prober_free(p);
			goto out;
		}
		/* one interval to spread the first checks, then measure */
		t0 = now_s() + 1.5;
		while (now_s() < t0)
			tn_prober_run_once(p, 50);
		for (uint32_t i = 0; i < n; i++) {
			struct tn_probe_state st;

			if (!tn_prober_state(p, i, &st))
				checks0 += st.checks;
		}
		c0 = thread_cpu_now(&u0);
		t0 = now_s();
		while (now_s() < t0 + window)
			tn_prober_run_once(p, 50);
		c1 = thread_cpu_now(&u1);
		t1 = now_s();
		for (uint32_t i = 0; i < n; i++) {
			struct tn_probe_state st;

			if (!tn_prober_state(p, i, &st)) {
				checks1 += st.checks;
				up += st.known && st.up;
			}
		}
		tn_prober_free(p);
		pct = 100 * (c1 - c0) / (t1 - t0);
		upct = 100 * (u1 - u0) / (t1 - t0);
		printf("%-8u %8.1f%% %8.1f%% %8.1f%% %12.0f %12u %10llu\n", n, pct, upct, pct - upct,
		       (checks1 - checks0) / (t1 - t0), up, (unsigned long long)changes);
		JSET(row, "servers", JI(n));
		JSET(row, "cpu_percent_of_one_core", JD(pct));
		JSET(row, "user_cpu_percent", JD(upct));
		JSET(row, "kernel_cpu_percent", JD(pct - upct));
		JSET(row, "checks_per_s", JD((checks1 - checks0) / (t1 - t0)));
		JSET(row, "up_at_end", JI(up));
		JSET(row, "state_changes", JI(changes));
		if (n == 10000) {
			bool ok = pct < 10.0;

			printf("target: 10,000 servers at 1 s under 10%% of one core: %.1f%% %s\n", pct, pass_miss(b, ok));
			JSET(row, "pass_under_10_percent", JB(ok));
		}
		json_object_array_add(rows, row);
		if (up != n) {
			tn_err("bench: only %u of %u probe targets were up: the engine did not keep up", up, n);
			b->failures++;
		}
	}
out:
	accept_stop = 1;
	if (th_started) {
		pthread_cancel(th);
		pthread_join(th, NULL);
	}
	if (lfd >= 0)
		close(lfd);
	free(tg);
	JSET(sec, "method", JS("tn_prober (user/probe.c) with TCP checks every 1 s (timeout 1 s) against one listener "
			       "on INADDR_ANY reached at distinct 127.x addresses, accepted and closed by another "
			       "thread. CPU = getrusage(RUSAGE_THREAD) of the thread running tn_prober_run_once over "
			       "the window (user + system), after 1.5 s to spread the first checks."));
	JSET(sec, "window_s", JD(window));
	JSET(sec, "rows", rows);
	JSET(b->root, "probe", sec);
	if (err)
		b->failures++;
	return err;
}

/* memlock of a map fd, as bpftool reports it (bytes_memlock). */
static long long fd_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static int memory_section(struct bench *b)
{
	static const char *const names[] = {
		"vips", "farms", "conntrack", "filter_allow", "filter_deny", "tx_ports", "stats",
		"vip_stats", "server_stats", "settings",
	};
	json_object *sec = json_object_new_object(), *maps = json_object_new_object();
	struct tn_dp *dp = NULL;
	long long total = 0, v;
	__u32 zero = 0, id;
	int err, inner;
	char line[256];
	long rss_kb = -1;
	FILE *f;

	printf("\n== memory: BPF maps at the default settings (table 65537, conntrack 1,000,000), one farm ==\n");
	if ((err = dp_setup(&dp, TN_CT_SIZE_DEFAULT, 1, LB_MAC)))
		goto out;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = fd_memlock(tn_dp_map_fd(dp, names[i]));
		JSET(maps, names[i], JI(v));
		printf("%-14s %10.2f MiB\n", names[i], v / 1048576.0);
		total += v > 0 ? v : 0;
	}
	if (!bpf_map_lookup_elem(tn_dp_map_fd(dp, "farms"), &zero, &id) && (inner = bpf_map_get_fd_by_id(id)) >= 0) {
		v = fd_memlock(inner);
		close(inner);
		JSET(maps, "farm (inner map, per farm)", JI(v));
		printf("%-14s %10.2f MiB (per farm)\n", "farm table", v / 1048576.0);
		total += v > 0 ? v : 0;
	}
	printf("%-14s %10.2f MiB with one farm\n", "total", total / 1048576.0);
	f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &rss_kb) == 1)
			break;
	if (f)
		fclose(f);
	printf("RSS of this bench process with the data plane loaded: %.1f MiB (the controller's own RSS is "
	       "not measured here)\n", rss_kb / 1024.0);
	JSET(sec, "maps_bytes_memlock", maps);
	JSET(sec, "total_bytes_memlock_one_farm", JI(total));
	JSET(sec, "bench_process_rss_kb", JI(rss_kb));
	JSET(sec, "controller_rss_kb", NULL);
out:
	JSET(sec, "method", JS("memlock of each map from /proc/self/fdinfo (what bpftool map show -j reports as "
			       "bytes_memlock), data plane opened with default settings and one farm of 10 servers. "
			       "controller_rss_kb: not measured by this bench (null)."));
	JSET(b->root, "memory", sec);
	tn_dp_close(dp);
	if (err)
		b->failures++;
	return err;
}

/* ---- data files for scripts/bench_plot.gp ----------------------------------------- */

static double jnum(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_double(v) : NAN;
}

/* DIR/bench_ns.dat: "label" tenace_ns baseline_ns; DIR/bench_e2e.dat: "clients" tenace baseline Mpps. */
static int plot_data(const char *file, const char *dir)
{
	json_object *root = json_object_from_file(file), *sec, *arr, *v;
	char path[1024];
	FILE *f;

	if (!root) {
		tn_err("bench: cannot read %s: %s", file, json_util_get_last_err());
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/bench_ns.dat", dir);
	f = fopen(path, "w");
	if (f && json_object_object_get_ex(root, "ns_per_packet", &sec) &&
	    json_object_object_get_ex(sec, "cases", &arr)) {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *c = json_object_array_get_idx(arr, i);

			json_object_object_get_ex(c, "label", &v);
			fprintf(f, "\"%s\" %.1f %.1f\n", json_object_get_string(v), jnum(c, "tenace_ns"),
				jnum(c, "baseline_ns"));
		}
	}
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/bench_e2e.dat", dir);
	f = fopen(path, "w");
	if (f && json_object_object_get_ex(root, "end_to_end", &sec) &&
	    json_object_object_get_ex(sec, "rows", &arr)) {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *c = json_object_array_get_idx(arr, i);
			double n = jnum(c, "clients");

			fprintf(f, "\"%s\" %.4f %.4f\n", n >= 1e6 ? "1,000,000" : n >= 1e4 ? "10,000" : "1",
				jnum(c, "tenace_mpps"), jnum(c, "baseline_mpps"));
		}
	}
	if (f)
		fclose(f);
	json_object_put(root);
	if (!f) {
		tn_err("bench: cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}
