/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Section ns: ns/packet through BPF_PROG_TEST_RUN. The feeder
 * (bpf/bench_feeder.bpf.c) rebuilds each frame and tail-calls the program
 * under test, Tenace or the baseline, so both pay the same overhead
 * (feeder.c).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_feeder.skel.h"
#include "baseline.skel.h"
#include "tools/bench/common.h"
#include "tools/bench/katran.h"
#include "lib/log.h"

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

/* What the runs of one case measured. */
struct ns_runs {
	double t[64], bl[64], fe[64], path[64];  /* Tenace, baseline, feeder alone (ns); path share */
};

/* Correctness first, for both programs, then the warm-up: every tracked
 * client once through Tenace. */
static int ns_prepare(struct bench *b, const struct ns_case *c, const struct frame *f, int tenace_fd,
		      uint64_t *fresh_seq)
{
	int base_fd = bpf_program__fd(b->base->progs.baseline_xdp), err;
	struct run_out o;

	feeder_set(b, f, c->base, c->fresh ? 1 : c->nclients, c->fresh);
	if ((err = feeder_target(b, base_fd)) ||
	    (err = ns_verify(b, c, f, "baseline", false, c->fresh ? *fresh_seq + 2 : 7)))
		return err;
	if ((err = feeder_target(b, tenace_fd)) ||
	    (err = ns_verify(b, c, f, "tenace", true, c->fresh ? *fresh_seq + 2 : 7)))
		return err;
	*fresh_seq += 4;
	if (!c->fresh && c->nclients > 1) {
		b->feed->bss->counter = 0;
		if ((err = feeder_run(b, f, c->nclients, &o)))
			return err;
	}
	return 0;
}

/* The runs of one case: feeder alone, baseline, Tenace, interleaved. */
static int ns_measure(struct bench *b, struct tn_dp *dp, const struct ns_case *c, const struct frame *f,
		      uint64_t *fresh_seq, struct ns_runs *m)
{
	int base_fd = bpf_program__fd(b->base->progs.baseline_xdp), tenace_fd = tn_dp_prog_fd(dp), err;
	struct run_out o;

	for (int r = 0; r < b->reps; r++) {
		uint64_t before, after;

		if ((err = feeder_target(b, -1)) || (err = feeder_run(b, f, b->repeat, &o)))
			return err;
		m->fe[r] = o.duration;
		if ((err = feeder_target(b, base_fd)) || (err = feeder_run(b, f, b->repeat, &o)))
			return err;
		m->bl[r] = o.duration;
		if (c->fresh)
			b->feed->bss->counter = *fresh_seq;
		before = reason_packets(dp, c->expect_reason);
		if ((err = feeder_target(b, tenace_fd)) || (err = feeder_run(b, f, b->repeat, &o)))
			return err;
		after = reason_packets(dp, c->expect_reason);
		if (c->fresh)
			*fresh_seq += b->repeat;
		m->t[r] = o.duration;
		m->path[r] = (double)(after - before) / b->repeat;
	}
	return 0;
}

/* The case's row of the table and its JSON object. */
static void ns_report(struct bench *b, const struct ns_case *c, const struct ns_runs *m, double direct,
		      json_object *cases)
{
	double mt = median(m->t, b->reps), mb = median(m->bl, b->reps), mf = median(m->fe, b->reps);
	double ratio = mt / mb, net = mb - mf > 0.5 ? (mt - mf) / (mb - mf) : NAN;
	double path = median(m->path, b->reps);
	json_object *jc = json_object_new_object();

	printf("%-30s %7.1f ns %6.1f ns %6.2fx ", c->label, mt, mb, ratio);
	if (c->target)
		printf("<=%.0fx %s", c->target, pass_miss(b, ratio <= c->target));
	else
		printf("%8s", "-");
	if (isnan(net))
		printf(" %6.1f ns %9s  %s %.1f%%\n", mf, "-", tn_reason_name(c->expect_reason), 100 * path);
	else
		printf(" %6.1f ns %8.2fx  %s %.1f%%\n", mf, net, tn_reason_name(c->expect_reason), 100 * path);
	if (path < 0.99) {
		tn_err("bench: %s: only %.1f%% of Tenace's packets took the %s path",
		       c->label, 100 * path, tn_reason_name(c->expect_reason));
		b->failures++;
	}
	JSET(jc, "name", JS(c->name));
	JSET(jc, "label", JS(c->label));
	JSET(jc, "clients", c->fresh ? JS("every packet a new client") : JI(c->nclients));
	JSET(jc, "tenace_ns", JD(mt));
	JSET(jc, "baseline_ns", JD(mb));
	JSET(jc, "feeder_ns", JD(mf));
	JSET(jc, "baseline_without_feeder_ns", JD(direct));
	JSET(jc, "ratio", JD(ratio));
	JSET(jc, "net_ratio", isnan(net) ? NULL : JD(net));
	if (c->target) {
		JSET(jc, "target_ratio_max", JD(c->target));
		JSET(jc, "pass", JB(ratio <= c->target));
	}
	JSET(jc, "expected_path", JS(tn_reason_name(c->expect_reason)));
	JSET(jc, "path_fraction", JD(path));
	JSET(jc, "tenace_runs_ns", jarr(m->t, b->reps));
	JSET(jc, "baseline_runs_ns", jarr(m->bl, b->reps));
	JSET(jc, "feeder_runs_ns", jarr(m->fe, b->reps));
	json_object_array_add(cases, jc);
}

static void ns_describe(struct bench *b, json_object *sec, json_object *cases, uint32_t ct_size)
{
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
	JSET(sec, "repeat", JI(b->repeat));
	JSET(sec, "runs", JI(b->reps));
	JSET(sec, "conntrack_size", JI(ct_size));
	JSET(sec, "servers", JI(BENCH_SERVERS));
	JSET(sec, "frame_bytes", JS("64 (IPv4 UDP), 68 (VLAN), 78 (IPv6)"));
	JSET(sec, "cases", cases);
	JSET(b->root, "ns_per_packet", sec);
}

int ns_section(struct bench *b)
{
	struct tn_dp *dp = NULL;
	json_object *sec = json_object_new_object(), *cases = json_object_new_array();
	int err = 0, nc = (int)(sizeof(ns_cases) / sizeof(ns_cases[0]));
	uint64_t fresh_seq = 16;
	/* enough room for every tracked client and every new one without eviction */
	uint32_t ct_size = 1000000 + 2 * 10000 + 1 + (uint32_t)b->reps * b->repeat + 1024;

	ct_size = ct_size * 5 / 4;
	printf("\n== ns/packet through BPF_PROG_TEST_RUN (median of %d runs of %u repetitions; "
	       "the same feeder precedes both programs) ==\n", b->reps, b->repeat);
	if ((err = dp_setup(&dp, ct_size, 1 /* lo: test runs arrive there */, LB_MAC)))
		goto out;
	printf("%-30s %9s %9s %7s %8s %9s %9s  %s\n", "case", "tenace", "baseline", "ratio", "target",
	       "feeder", "net ratio", "path taken (Tenace)");
	for (int ci = 0; ci < nc; ci++) {
		const struct ns_case *c = &ns_cases[ci];
		struct ns_runs m;
		struct frame f;

		build_frame(&f, c->family, c->vlan, c->dst, c->base);
		if ((err = ns_prepare(b, c, &f, tn_dp_prog_fd(dp), &fresh_seq)) ||
		    (err = ns_measure(b, dp, c, &f, &fresh_seq, &m)))
			goto out;
		ns_report(b, c, &m, baseline_direct(b, &f), cases);
		katran_ns_row(b, c->name, &f, c->base, c->nclients, c->fresh, cases);
	}
out:
	katran_ns_finish(b, err ? NULL : sec);
	ns_describe(b, sec, cases, ct_size);
	tn_dp_close(dp);
	if (err)
		b->failures++;
	return err;
}
