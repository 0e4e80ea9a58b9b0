/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Section e2e: Mpps delivered end to end over the veth test bed, Tenace beside the baseline. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "baseline.skel.h"
#include "helpers.skel.h"
#include "tools/bench/common.h"
#include "tools/bench/katran.h"
#include "lib/log.h"

/* One row: a number of clients, their first address. */
struct e2e_case {
	uint32_t nclients, base;
};

/* Where the section sends, what counts the frames. */
struct e2e_bed {
	struct testbed t;
	struct tn_dp *dp;
	int sink_fd, base_fd;
};

/* What the runs of one row measured. */
struct e2e_runs {
	double mt[64], mb[64], hit[64], offered[64];
};

/* One window of one program (which: 0 the baseline, 1 Tenace). */
static int e2e_window(struct bench *b, struct e2e_bed *e, const struct e2e_case *c, int which, int r,
		      struct e2e_runs *m)
{
	uint64_t c0, c1, h0, h1, a0, a1;
	double t0, t1, mpps;
	struct pg g;
	int err, prog = which ? tn_dp_prog_fd(e->dp) : e->base_fd;

	if ((err = xdp_put(-1, e->t.lb_ifindex, prog)) ||
	    (err = pg_start(&g, &e->t, c->base, c->nclients, b->seconds + 0.6, 0, 0)))
		return err;
	sleep_s(0.3);
	c0 = percpu_u64_sum(e->sink_fd, 0);
	h0 = reason_packets(e->dp, TN_R_CT_HIT);
	a0 = reason_packets(e->dp, TN_R_TX);
	t0 = now_s();
	sleep_s(b->seconds);
	c1 = percpu_u64_sum(e->sink_fd, 0);
	h1 = reason_packets(e->dp, TN_R_CT_HIT);
	a1 = reason_packets(e->dp, TN_R_TX);
	t1 = now_s();
	if ((err = pg_wait(&g)))
		return err;
	mpps = (c1 - c0) / (t1 - t0) / 1e6;
	if (which) {
		m->mt[r] = mpps;
		m->hit[r] = a1 > a0 ? (double)(h1 - h0) / (a1 - a0) : 0;
	} else {
		m->mb[r] = mpps;
	}
	m->offered[r] = g.pps / 1e6;
	return 0;
}

/* Warm-up (every client once through Tenace, at a rate it keeps up with;
 * then through Katran, when given), then the runs, baseline, Tenace and
 * Katran alternating. */
static int e2e_measure(struct bench *b, struct e2e_bed *e, const struct e2e_case *c, struct e2e_runs *m,
		       struct katran_e2e **ke)
{
	struct pg g;
	int err;

	if ((err = xdp_put(-1, e->t.lb_ifindex, tn_dp_prog_fd(e->dp))) ||
	    (err = pg_start(&g, &e->t, c->base, c->nclients, 0, c->nclients, 300000)) || (err = pg_wait(&g)))
		return err;
	*ke = katran_e2e_begin(b, &e->t, e->sink_fd, c->nclients, c->base);
	for (int r = 0; r < b->reps; r++) {
		for (int which = 0; which < 2; which++)
			if ((err = e2e_window(b, e, c, which, r, m)))
				return err;
		katran_e2e_rep(b, *ke, r);
	}
	return 0;
}

static void e2e_report(struct bench *b, const struct e2e_case *c, const struct e2e_runs *m, json_object *rows)
{
	double med_t = median(m->mt, b->reps), med_b = median(m->mb, b->reps);
	double ratio = med_t / med_b, added = 1e3 / med_t - 1e3 / med_b;
	json_object *row = json_object_new_object();
	bool ok = ratio >= 0.8;

	printf("%-9u %6.3f Mpps %6.3f Mpps %5.0f%% >=80%% %s %8.0f ns  conntrack_hit %.1f%%\n",
	       c->nclients, med_t, med_b, 100 * ratio, pass_miss(b, ok), added, 100 * median(m->hit, b->reps));
	if (c->nclients == 10000)
		b->e2e_max_mpps_10k = med_t;
	JSET(row, "clients", JI(c->nclients));
	JSET(row, "tenace_mpps", JD(med_t));
	JSET(row, "baseline_mpps", JD(med_b));
	JSET(row, "ratio", JD(ratio));
	JSET(row, "target_ratio_min", JD(0.8));
	JSET(row, "pass", JB(ok));
	JSET(row, "added_ns_per_packet", JD(added));
	JSET(row, "tenace_conntrack_hit_fraction", JD(median(m->hit, b->reps)));
	JSET(row, "generator_offered_mpps_median", JD(median(m->offered, b->reps)));
	JSET(row, "tenace_runs_mpps", jarr(m->mt, b->reps));
	JSET(row, "baseline_runs_mpps", jarr(m->mb, b->reps));
	json_object_array_add(rows, row);
}

static void e2e_describe(struct bench *b, json_object *sec, json_object *rows)
{
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
}

/* The test bed, the sink on the generator's end, the baseline on the balancer. */
static int e2e_setup(struct bench *b, struct helpers *h, struct e2e_bed *e)
{
	int err;

	if (!h) {
		tn_err("bench: cannot load build/helpers.bpf.o's sink: %s", strerror(errno));
		return -errno;
	}
	e->sink_fd = bpf_map__fd(h->maps.sink_count);
	e->base_fd = bpf_program__fd(b->base->progs.baseline_xdp);
	if ((err = net_setup(&e->t)) || (err = dp_setup(&e->dp, 2000000, e->t.lb_ifindex, LB_MAC)))
		return err;
	if ((err = xdp_put(gen_ns_fd, e->t.gen_ifindex, bpf_program__fd(h->progs.sink_xdp))) ||
	    (err = xdp_put(-1, e->t.lb_ifindex, e->base_fd)))
		return err;
	return 0;
}

int e2e_section(struct bench *b)
{
	static const struct e2e_case cases[] = {
		{ 1, 0x0a010000 }, { 10000, 0x0a020000 }, { 1000000, 0x0a100000 },
	};
	json_object *sec = json_object_new_object(), *rows = json_object_new_array();
	struct helpers *h = helpers__open_and_load();
	struct e2e_bed e = { 0 };
	int err;

	printf("\n== end to end over veth, generator + balancer + sink on one CPU (Mpps delivered to the sink, median of %d "
	       "runs of %.1f s) ==\n", b->reps, b->seconds);
	if ((err = e2e_setup(b, h, &e)))
		goto out;
	printf("%-9s %11s %11s %6s %11s %11s  %s\n", "clients", "tenace", "baseline", "ratio",
	       "target", "added/pkt", "Tenace path");
	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		struct katran_e2e *ke = NULL;
		struct e2e_runs m;

		if ((err = e2e_measure(b, &e, &cases[ci], &m, &ke))) {
			free(ke);
			goto out;
		}
		e2e_report(b, &cases[ci], &m, rows);
		katran_e2e_end(b, ke, rows);
	}
out:
	katran_e2e_finish(b, sec);
	e2e_describe(b, sec, rows);
	net_cleanup();
	tn_dp_close(e.dp);
	helpers__destroy(h);
	if (err)
		b->failures++;
	return err;
}
