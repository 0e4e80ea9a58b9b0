/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Section encap: what a tunnel to servers on a routed network costs the XDP
 * program per packet, through the feeder (feeder.c) and BPF_PROG_TEST_RUN
 * with repeat. The runs arrive on a veth of a namespace of their own
 * (routed_enter: the node's address, the servers' network routed through a
 * permanent neighbour), so the program's bpf_fib_lookup finds a real route
 * and next hop. Three farms of the same 10 servers and 10,000 tracked
 * clients: DSR (MACs rewritten), IPIP and GUE v0. Each tunnel packet is
 * checked before measuring: outer header to a server through the router's
 * MAC, the client's packet unchanged inside. Reported against the baseline
 * (a MAC swap) of the same run, and against the floor any encapsulation
 * pays: the feeder giving the frame back its length and bench_grow's one
 * bpf_xdp_adjust_head.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <net/ethernet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_feeder.skel.h"
#include "baseline.skel.h"
#include "tools/bench/common.h"
#include "lib/log.h"

#define ENC_CLIENTS 10000
#define ENC_GUE_PORT 6080

struct enc_case {
	const char *name, *label, *vip;
	uint8_t forwarding;      /* TN_FWD_* */
	uint32_t base;           /* first client */
	enum tn_reason reason;   /* the path each packet must take */
	uint32_t overhead;       /* bytes the tunnel adds */
};

static const struct enc_case enc_cases[] = {
	{ "dsr", "DSR, 10,000 tracked", "10.0.0.1", TN_FWD_DSR, 0x0a050000, TN_R_CT_HIT, 0 },
	{ "ipip", "IPIP, 10,000 tracked", "10.0.0.3", TN_FWD_IPIP, 0x0a060000, TN_R_ENCAP_IPIP, 20 },
	{ "gue", "GUE v0, 10,000 tracked", "10.0.0.4", TN_FWD_GUE, 0x0a070000, TN_R_ENCAP_GUE, 20 + 8 + 4 },
};
#define ENC_NCASES (int)(sizeof(enc_cases) / sizeof(enc_cases[0]))

static const uint8_t RT_MAC[6] = { 0x02, 0x54, 0x4e, 0x00, 0x00, 0x11 };
static const uint8_t GW_MAC[6] = { 0x02, 0x54, 0x4e, 0x00, 0x00, 0x12 };

/* Farm slot i+1 forwards as enc_cases[i] (slot 0 is dp_setup's DSR farm); VIPs on every slot. */
static int enc_configure(struct tn_dp *dp, int ifindex)
{
	struct tn_dp_server srv[BENCH_SERVERS];
	struct tn_vip_key k[ENC_NCASES];
	struct tn_vip v[ENC_NCASES];
	int err;

	make_servers(srv, BENCH_SERVERS, (uint32_t)ifindex, RT_MAC);
	for (int i = 0; i < ENC_NCASES; i++) {
		const struct enc_case *c = &enc_cases[i];
		struct tn_dp_farm farm = {
			.farm_id = (uint32_t)i + 1, .proto = IPPROTO_UDP, .balance = TN_BALANCE_SOURCE,
			.stickiness = TN_STICKY_SOURCE_IP, .servers = srv, .nservers = BENCH_SERVERS,
			.encap = { .forwarding = c->forwarding, .gue_version = 0, .gue_port = htons(ENC_GUE_PORT),
				   .flags = c->forwarding ? TN_ENCAP_F_SRC4 : 0 },
		};

		inet_pton(AF_INET, ROUTED_SRC, farm.encap.src4);
		if ((err = tn_dp_farm_write(dp, (uint32_t)i + 1, &farm, NULL)))
			return err;
		memset(&k[i], 0, sizeof(k[i]));
		k[i].family = TN_FAMILY_V4;
		k[i].port = htons(80);
		k[i].proto = IPPROTO_UDP;
		inet_pton(AF_INET, c->vip, k[i].addr);
		v[i] = (struct tn_vip){ .farm_slot = (uint32_t)i + 1, .vip_index = (uint32_t)i, .frontend_id = (uint32_t)i + 1 };
	}
	return tn_dp_vips_replace(dp, k, v, ENC_NCASES);
}

/* One packet's output: the tunnel to a server through the router, the client's packet inside. */
static int enc_check(const struct enc_case *c, const struct frame *f, const struct run_out *o, uint32_t client)
{
	uint8_t want[256], src[4], *d = (uint8_t *)o->data, *ip = d + 14;

	frame_for_client(f, c->base, client, want);
	inet_pton(AF_INET, ROUTED_SRC, src);
	if (o->retval != XDP_TX_ || o->len != f->len + c->overhead)
		return tn_err("bench: %s: verdict %u with %u bytes, expected XDP_TX with %u", c->label, o->retval,
			      o->len, f->len + c->overhead), -EPROTO;
	if (c->forwarding == TN_FWD_DSR) {
		uint8_t m[6];

		server_mac(0, m);
		if (memcmp(d, m, 5) || d[5] >= BENCH_SERVERS || memcmp(d + 6, RT_MAC, 6) || memcmp(d + 12, want + 12, f->len - 12))
			return tn_err("bench: %s: not the frame to a server's MAC", c->label), -EPROTO;
		return 0;
	}
	if (memcmp(d, GW_MAC, 6) || memcmp(d + 6, RT_MAC, 6) || d[12] != 0x08 || d[13] != 0x00)
		return tn_err("bench: %s: the outer frame is not to the router's MAC from the node's", c->label), -EPROTO;
	if (ip[0] != 0x45 || ip[9] != (c->forwarding == TN_FWD_GUE ? IPPROTO_UDP : IPPROTO_IPIP) ||
	    memcmp(ip + 12, src, 4) || ip[16] != 192 || ip[17] != 168 || ip[18] != 50 ||
	    ip[19] < 10 || ip[19] >= 10 + BENCH_SERVERS || bench_ip_csum(ip, 20) != 0)
		return tn_err("bench: %s: the outer IPv4 header is not from %s to a server", c->label, ROUTED_SRC), -EPROTO;
	if (c->forwarding == TN_FWD_GUE && ((ip[22] << 8) | ip[23]) != ENC_GUE_PORT)
		return tn_err("bench: %s: the GUE port is not %d", c->label, ENC_GUE_PORT), -EPROTO;
	if (memcmp(d + 14 + c->overhead, want + 14, f->len - 14))
		return tn_err("bench: %s: the client's packet is not unchanged inside the tunnel", c->label), -EPROTO;
	return 0;
}

/* Client 7 once, then clients 6 and 7 with repeat 2: the same output (the frame is given back its length). */
static int enc_verify(struct bench *b, const struct enc_case *c, const struct frame *f, int tenace_fd)
{
	struct run_out o1, o2;
	int err;

	if ((err = feeder_target(b, tenace_fd)))
		return err;
	b->feed->bss->counter = 7;
	if ((err = feeder_run(b, f, 1, &o1)) || (err = enc_check(c, f, &o1, 7)))
		return err;
	b->feed->bss->counter = 6;
	if ((err = feeder_run(b, f, 2, &o2)) || (err = enc_check(c, f, &o2, 7)))
		return err;
	if (memcmp(o1.data, o2.data, o1.len)) {
		tn_err("bench: %s: repetition 2's output differs from repetition 1's", c->label);
		return -EPROTO;
	}
	b->feed->bss->counter = 0;
	return feeder_run(b, f, ENC_CLIENTS, &o1); /* every client tracked */
}

struct enc_runs {
	double t[64], bl[64], fe[64], grow[64], path[64];
};

static int enc_run(struct bench *b, const struct frame *f, int fd, double *ns)
{
	struct run_out o;
	int err = feeder_target(b, fd);

	if (!err)
		err = feeder_run(b, f, b->repeat, &o);
	*ns = o.duration;
	return err;
}

static int enc_measure(struct bench *b, struct tn_dp *dp, const struct enc_case *c, const struct frame *f,
		       struct enc_runs *m)
{
	int tenace_fd = tn_dp_prog_fd(dp), base_fd = bpf_program__fd(b->base->progs.baseline_xdp);
	int grow_fd = bpf_program__fd(b->feed->progs.bench_grow), err;

	b->feed->data->grow_len = c->overhead;
	for (int r = 0; r < b->reps; r++) {
		uint64_t before;

		if ((err = enc_run(b, f, -1, &m->fe[r])) || (err = enc_run(b, f, base_fd, &m->bl[r])) ||
		    (err = enc_run(b, f, grow_fd, &m->grow[r])))
			return err;
		before = reason_packets(dp, c->reason);
		if ((err = enc_run(b, f, tenace_fd, &m->t[r])))
			return err;
		m->path[r] = (double)(reason_packets(dp, c->reason) - before) / b->repeat;
	}
	return 0;
}

static void enc_report(struct bench *b, const struct enc_case *c, const struct enc_runs *m, double dsr_ns,
		       json_object *cases)
{
	double mt = median(m->t, b->reps), mb = median(m->bl, b->reps), mf = median(m->fe, b->reps);
	double mg = median(m->grow, b->reps), path = median(m->path, b->reps);
	json_object *jc = json_object_new_object();

	printf("%-26s %7.1f ns %7.1f ns %6.2fx %7.1f ns %7.1f ns ", c->label, mt, mb, mt / mb, mf, mg);
	if (isnan(dsr_ns))
		printf("%9s  %s %.1f%%\n", "-", tn_reason_name(c->reason), 100 * path);
	else
		printf("%+7.1f ns  %s %.1f%%\n", mt - dsr_ns, tn_reason_name(c->reason), 100 * path);
	if (path < 0.99) {
		tn_err("bench: %s: only %.1f%% of the packets took the %s path", c->label, 100 * path,
		       tn_reason_name(c->reason));
		b->failures++;
	}
	JSET(jc, "name", JS(c->name));
	JSET(jc, "label", JS(c->label));
	JSET(jc, "tenace_ns", JD(mt));
	JSET(jc, "baseline_ns", JD(mb));
	JSET(jc, "ratio", JD(mt / mb));
	JSET(jc, "feeder_ns", JD(mf));
	JSET(jc, "grow_floor_ns", JD(mg));
	JSET(jc, "above_dsr_ns", isnan(dsr_ns) ? NULL : JD(mt - dsr_ns));
	JSET(jc, "expected_path", JS(tn_reason_name(c->reason)));
	JSET(jc, "path_fraction", JD(path));
	JSET(jc, "tenace_runs_ns", jarr(m->t, b->reps));
	JSET(jc, "baseline_runs_ns", jarr(m->bl, b->reps));
	json_object_array_add(cases, jc);
}

static void enc_describe(struct bench *b, json_object *sec, json_object *cases)
{
	JSET(sec, "method", JS("BPF_PROG_TEST_RUN of bench_feeder arriving on a veth of a namespace where the "
			       "servers' network is routed through a permanent neighbour (the program's FIB lookup "
			       "is real). Farms of the same 10 servers with DSR, IPIP and GUE v0 forwarding, 10,000 "
			       "tracked clients each. The feeder gives every repetition the frame's own length back "
			       "(bpf_xdp_adjust_head) before rebuilding it. ratio = tenace_ns / baseline_ns (the MAC "
			       "swap, through the same feeder); grow_floor_ns = the feeder plus bench_grow's one "
			       "bpf_xdp_adjust_head of the tunnel's size; above_dsr_ns = tenace_ns minus the DSR "
			       "farm's. Medians over runs of the kernel's ns per repetition. Every case's output is "
			       "checked first (outer header to a server via the router's MAC, inner packet unchanged)."));
	JSET(sec, "repeat", JI(b->repeat));
	JSET(sec, "runs", JI(b->reps));
	JSET(sec, "clients", JI(ENC_CLIENTS));
	JSET(sec, "cases", cases);
	JSET(b->root, "encap", sec);
}

int encap_section(struct bench *b)
{
	json_object *sec = json_object_new_object(), *cases = json_object_new_array();
	struct tn_dp *dp = NULL;
	double dsr_ns = NAN;
	int ifindex = 0, err;

	printf("\n== encap: ns/packet of DSR and of tunnels to routed servers (median of %d runs of %u "
	       "repetitions, FIB lookups through a real route) ==\n", b->reps, b->repeat);
	if ((err = routed_enter(&ifindex)))
		goto out;
	if ((err = dp_setup(&dp, ENC_CLIENTS * 4 * ENC_NCASES, (uint32_t)ifindex, RT_MAC)) ||
	    (err = enc_configure(dp, ifindex))) {
		tn_err("bench: encap: cannot configure the data plane: %s", strerror(-err));
		goto out;
	}
	b->ingress_ifindex = ifindex;
	b->restore_len = true;
	printf("%-26s %10s %10s %7s %10s %10s %10s  %s\n", "case", "tenace", "baseline", "ratio", "feeder",
	       "grow floor", "above DSR", "path taken");
	for (int i = 0; i < ENC_NCASES; i++) {
		const struct enc_case *c = &enc_cases[i];
		struct enc_runs m;
		struct frame f;

		build_frame(&f, 4, false, c->vip, c->base);
		feeder_set(b, &f, c->base, ENC_CLIENTS, false);
		if ((err = enc_verify(b, c, &f, tn_dp_prog_fd(dp))) || (err = enc_measure(b, dp, c, &f, &m)))
			goto out;
		enc_report(b, c, &m, dsr_ns, cases);
		if (c->forwarding == TN_FWD_DSR)
			dsr_ns = median(m.t, b->reps);
	}
out:
	b->ingress_ifindex = 0;
	b->restore_len = false;
	enc_describe(b, sec, cases);
	tn_dp_close(dp);
	routed_leave();
	if (err)
		b->failures++;
	return err;
}
