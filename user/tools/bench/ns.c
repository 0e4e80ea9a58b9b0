/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Section ns: ns/packet through BPF_PROG_TEST_RUN. The feeder
 * (bpf/bench_feeder.bpf.c) rebuilds each frame and tail-calls the program
 * under test, Tenace or the baseline, so both pay the same overhead
 * (feeder.c). The memory floor rows tail-call bench_floor instead
 * (bpf/bench_floor.bpf.c: one read of a 64-byte line at a pseudo-random index
 * of an array as large as the conntrack, then the baseline's work): the
 * tracked rows are also reported against the floor of the same size. The
 * "table full" row runs on a second data plane whose conntrack was filled
 * with other clients first, so every insert evicts.
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
#include "bench_floor.skel.h"
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
	bool floor;          /* a floor program instead of Tenace (checked as the baseline) */
	bool full;           /* on the pre-filled table (every insert evicts) */
	const char *floor_of; /* floor rows: the Tenace case reported against this floor */
	bool lru;            /* the floor is bench_lru (the kernel LRU alone), not bench_floor */
};

#define NO_REASON TN_R__COUNT
/* The "table full" row's conntrack, filled with other clients before it runs. */
#define FULL_CT_SIZE 1000000

static const struct ns_case ns_cases[] = {
	{ "tracked_1", "tracked, 1 client", 4, false, "10.0.0.1", 0x0a010000, 1, false, XDP_TX_, TN_R_CT_HIT, 3, false, false, NULL, false },
	{ "lru_1", "kernel LRU alone, 1 entry", 4, false, "10.0.0.1", 0x0a010000, 1, false, XDP_TX_, NO_REASON, 0, true,
	  false, "tracked_1", true },
	{ "tracked_10k", "tracked, 10,000 clients", 4, false, "10.0.0.1", 0x0a020000, 10000, false, XDP_TX_, TN_R_CT_HIT, 3, false, false, NULL, false },
	{ "floor_10k", "memory floor, 10,000 entries", 4, false, "10.0.0.1", 0x0a020000, 10000, false, XDP_TX_, NO_REASON, 0,
	  true, false, "tracked_10k", false },
	{ "lru_10k", "kernel LRU alone, 10,000 entries", 4, false, "10.0.0.1", 0x0a020000, 10000, false, XDP_TX_, NO_REASON,
	  0, true, false, "tracked_10k", true },
	{ "tracked_1m", "tracked, 1,000,000 clients", 4, false, "10.0.0.1", 0x0a100000, 1000000, false, XDP_TX_, TN_R_CT_HIT, 3, false, false, NULL, false },
	{ "floor_1m", "memory floor, 1,000,000 entries", 4, false, "10.0.0.1", 0x0a100000, 1000000, false, XDP_TX_, NO_REASON, 0,
	  true, false, "tracked_1m", false },
	{ "lru_1m", "kernel LRU alone, 1,000,000 entries", 4, false, "10.0.0.1", 0x0a100000, 1000000, false, XDP_TX_,
	  NO_REASON, 0, true, false, "tracked_1m", true },
	{ "new_client_filling", "new client, table filling", 4, false, "10.0.0.1", 0x0b000000, 0, true, XDP_TX_, TN_R_CT_NEW, 6, false, false, NULL, false },
	{ "lru_filling", "kernel LRU alone, insert (filling)", 4, false, "10.0.0.1", 0x0e000000, 0, true, XDP_TX_,
	  NO_REASON, 0, true, false, "new_client_filling", true },
	{ "new_client_full", "new client, table full (evicting)", 4, false, "10.0.0.1", 0x0c000000, 0, true, XDP_TX_,
	  TN_R_CT_NEW, 6, false, true, NULL, false },
	{ "lru_full", "kernel LRU alone, insert (evicting)", 4, false, "10.0.0.1", 0x0f000000, 0, true, XDP_TX_,
	  NO_REASON, 0, true, true, "new_client_full", true },
	{ "not_vip", "not a VIP (pass)", 4, false, "10.0.0.2", 0x0a030000, 1, false, XDP_PASS_, TN_R_PASS_NOT_VIP, 0, false, false, NULL, false },
	{ "ipv6_tracked", "IPv6 tracked, 10,000 clients", 6, false, "fd00::1", 0x00020000, 10000, false, XDP_TX_, TN_R_CT_HIT, 3, false, false, NULL, false },
	{ "vlan_tracked", "VLAN tracked, 10,000 clients", 4, true, "10.0.0.1", 0x0a040000, 10000, false, XDP_TX_, TN_R_CT_HIT, 3, false, false, NULL, false },
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

	if ((err = feeder_run_checks(b, f, seq, o)))
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

/* Correctness first, for the baseline and the program under test (Tenace, or
 * the floor: checked as the baseline), then the warm-up: every tracked client
 * once through it. */
static int ns_prepare(struct bench *b, const struct ns_case *c, const struct frame *f, int prog_fd,
		      uint64_t *fresh_seq)
{
	int base_fd = bpf_program__fd(b->base->progs.baseline_xdp), err;
	struct run_out o;

	feeder_set(b, f, c->base, c->fresh ? 1 : c->nclients, c->fresh);
	if ((err = feeder_target(b, base_fd)) ||
	    (err = ns_verify(b, c, f, "baseline", false, c->fresh ? *fresh_seq + 2 : 7)))
		return err;
	if ((err = feeder_target(b, prog_fd)) ||
	    (err = ns_verify(b, c, f, c->floor ? "memory floor" : "tenace", !c->floor,
			     c->fresh ? *fresh_seq + 2 : 7)))
		return err;
	*fresh_seq += 4;
	if (!c->fresh && c->nclients > 1) {
		b->feed->bss->counter = 0;
		if ((err = feeder_run(b, f, c->nclients, &o)))
			return err;
	}
	return 0;
}

/* The runs of one case: feeder alone, baseline, the program under test,
 * interleaved; dp (NULL for the floor) counts the path Tenace took. */
static int ns_measure(struct bench *b, struct tn_dp *dp, int prog_fd, const struct ns_case *c,
		      const struct frame *f, uint64_t *fresh_seq, struct ns_runs *m, struct katran_row *kr)
{
	int base_fd = bpf_program__fd(b->base->progs.baseline_xdp), err;
	struct run_out o;

	for (int r = 0; r < b->reps; r++) {
		uint64_t before = 0, after = 0;

		if ((err = feeder_target(b, -1)) || (err = feeder_run(b, f, b->repeat, &o)))
			return err;
		m->fe[r] = o.duration;
		if ((err = feeder_target(b, base_fd)) || (err = feeder_run(b, f, b->repeat, &o)))
			return err;
		m->bl[r] = o.duration;
		if (c->fresh)
			b->feed->bss->counter = *fresh_seq;
		if (dp)
			before = reason_packets(dp, c->expect_reason);
		if ((err = feeder_target(b, prog_fd)) || (err = feeder_run(b, f, b->repeat, &o)))
			return err;
		if (dp)
			after = reason_packets(dp, c->expect_reason);
		if (c->fresh)
			*fresh_seq += b->repeat;
		m->t[r] = o.duration;
		m->path[r] = dp ? (double)(after - before) / b->repeat : NAN;
		katran_ns_rep(b, kr, r);
	}
	return 0;
}

#define NS_CASES (sizeof(ns_cases) / sizeof(ns_cases[0]))

/* The section's state: its data planes, the floor program, what the rows measured. */
struct ns_ctx {
	struct tn_dp *dp, *full;         /* the section's data plane; the pre-filled one (lazily) */
	struct bench_floor *floor;       /* its arrays and LRU the conntrack's size */
	struct bench_floor *lru_full;    /* its LRU FULL_CT_SIZE, pre-filled (lazily) */
	uint32_t ct_size;
	uint64_t full_entries;           /* entries in the pre-filled conntrack before its row */
	uint64_t lru_full_entries;       /* and in the pre-filled LRU */
	uint64_t fresh_seq, full_seq;    /* next new client of each */
	json_object *cases, *floors, *lrus;
	json_object *row[NS_CASES];      /* each case's JSON object */
	double ns[NS_CASES];             /* each case's median ns (the program under test) */
};

/* The JSON fields every row has: the three medians, their ratios, the runs. */
static void ns_json_times(json_object *jc, const struct ns_runs *m, int reps, const char *prog_key,
			  const char *runs_key)
{
	double mt = median(m->t, reps), mb = median(m->bl, reps), mf = median(m->fe, reps);
	double net = mb - mf > 0.5 ? (mt - mf) / (mb - mf) : NAN;

	JSET(jc, prog_key, JD(mt));
	JSET(jc, "baseline_ns", JD(mb));
	JSET(jc, "feeder_ns", JD(mf));
	JSET(jc, "ratio", JD(mt / mb));
	JSET(jc, "net_ratio", isnan(net) ? NULL : JD(net));
	JSET(jc, runs_key, jarr(m->t, reps));
	JSET(jc, "baseline_runs_ns", jarr(m->bl, reps));
	JSET(jc, "feeder_runs_ns", jarr(m->fe, reps));
}

/* The first columns of a row: label, program, baseline, ratio, target. */
static void ns_print_head(struct bench *b, const struct ns_case *c, const struct ns_runs *m)
{
	double mt = median(m->t, b->reps), mb = median(m->bl, b->reps), ratio = mt / mb;

	printf("%-34s %7.1f ns %6.1f ns %6.2fx ", c->label, mt, mb, ratio);
	if (c->target)
		printf("<=%.0fx %s", c->target, pass_miss(b, ratio <= c->target));
	else
		printf("%8s", "-");
}

/* The feeder and net-ratio columns, then the last one. */
static void ns_print_tail(struct bench *b, const struct ns_runs *m, const char *last)
{
	double mt = median(m->t, b->reps), mb = median(m->bl, b->reps), mf = median(m->fe, b->reps);
	double net = mb - mf > 0.5 ? (mt - mf) / (mb - mf) : NAN;

	if (isnan(net))
		printf(" %6.1f ns %9s  %s\n", mf, "-", last);
	else
		printf(" %6.1f ns %8.2fx  %s\n", mf, net, last);
}

/* A Tenace case's row of the table and its JSON object. */
static void ns_report(struct bench *b, struct ns_ctx *x, int ci, const struct ns_runs *m, double direct)
{
	const struct ns_case *c = &ns_cases[ci];
	double mt = median(m->t, b->reps), ratio = mt / median(m->bl, b->reps);
	double path = median(m->path, b->reps);
	json_object *jc = json_object_new_object();
	char last[96];

	ns_print_head(b, c, m);
	snprintf(last, sizeof(last), "%s %.1f%%", tn_reason_name(c->expect_reason), 100 * path);
	ns_print_tail(b, m, last);
	if (path < 0.99) {
		tn_err("bench: %s: only %.1f%% of Tenace's packets took the %s path",
		       c->label, 100 * path, tn_reason_name(c->expect_reason));
		b->failures++;
	}
	JSET(jc, "name", JS(c->name));
	JSET(jc, "label", JS(c->label));
	JSET(jc, "clients", c->fresh ? JS("every packet a new client") : JI(c->nclients));
	ns_json_times(jc, m, b->reps, "tenace_ns", "tenace_runs_ns");
	JSET(jc, "baseline_without_feeder_ns", JD(direct));
	if (c->target) {
		JSET(jc, "target_ratio_max", JD(c->target));
		JSET(jc, "pass", JB(ratio <= c->target));
	}
	JSET(jc, "expected_path", JS(tn_reason_name(c->expect_reason)));
	JSET(jc, "path_fraction", JD(path));
	if (c->fresh) {
		JSET(jc, "conntrack_capacity", JI(c->full ? FULL_CT_SIZE : x->ct_size));
		JSET(jc, "conntrack_entries_before", c->full ? JI(x->full_entries) : NULL);
		JSET(jc, "conntrack_ways", JI((int64_t)tn_ct4_nsets(c->full ? FULL_CT_SIZE : x->ct_size) * TN_CT4_WAYS));
		JSET(jc, "evicting", JB(c->full));
	}
	json_object_array_add(x->cases, jc);
	x->row[ci] = jc;
	x->ns[ci] = mt;
}

/* A memory floor row: the table's and its JSON object (in "memory_floor"). */
static void floor_report(struct bench *b, struct ns_ctx *x, int ci, const struct ns_runs *m)
{
	const struct ns_case *c = &ns_cases[ci];
	json_object *jc = json_object_new_object();

	ns_print_head(b, c, m);
	if (!c->lru)
		ns_print_tail(b, m, "(one 64-byte read, then as the baseline)");
	else if (c->fresh)
		ns_print_tail(b, m, "(an LRU lookup that misses, an insert, then as the baseline)");
	else
		ns_print_tail(b, m, "(an LRU lookup that finds, then as the baseline)");
	JSET(jc, "name", JS(c->name));
	JSET(jc, "label", JS(c->label));
	JSET(jc, "entries", c->fresh ? JS("every packet a new client") : JI(c->nclients));
	JSET(jc, c->lru ? "lru_entries" : "array_entries", JI(c->full ? FULL_CT_SIZE : x->ct_size));
	if (c->lru && c->full)
		JSET(jc, "lru_entries_before", JI(x->lru_full_entries));
	if (c->lru)
		JSET(jc, "key_bytes", JI(8));
	JSET(jc, "value_bytes", JI(c->lru ? 8 : 64));
	JSET(jc, "floor_of", JS(c->floor_of));
	ns_json_times(jc, m, b->reps, "floor_ns", "floor_runs_ns");
	json_object_array_add(c->lru ? x->lrus : x->floors, jc);
	x->row[ci] = jc;
	x->ns[ci] = median(m->t, b->reps);
}

/* The Tenace row a floor row (fi) is reported against, when both ran; -1 if not. */
static int floor_of_row(const struct ns_ctx *x, size_t fi)
{
	if (!ns_cases[fi].floor || !x->row[fi])
		return -1;
	for (size_t ti = 0; ti < NS_CASES; ti++)
		if (!strcmp(ns_cases[ti].name, ns_cases[fi].floor_of))
			return x->row[ti] ? (int)ti : -1;
	return -1;
}

/* Each Tenace case over its floor of one kind (the memory floor, or the
 * kernel LRU alone): a line under the table and JSON fields on both rows. */
static void floor_ratios(struct ns_ctx *x, json_object *sec, bool lru)
{
	json_object *r = json_object_new_object();
	const char *sep = "";

	printf(lru ? "Tenace over the kernel LRU alone (same entries):" :
		     "Tenace over the memory floor of the same size:");
	for (size_t fi = 0; fi < NS_CASES; fi++) {
		int ti = floor_of_row(x, fi);

		if (ti < 0 || ns_cases[fi].lru != lru)
			continue;
		printf("%s %s %.2fx (%.1f ns / %.1f ns)", sep, ns_cases[ti].label, x->ns[ti] / x->ns[fi], x->ns[ti],
		       x->ns[fi]);
		sep = ";";
		JSET(x->row[ti], lru ? "kernel_lru_ns" : "memory_floor_ns", JD(x->ns[fi]));
		JSET(x->row[ti], lru ? "ratio_to_kernel_lru" : "ratio_to_floor", JD(x->ns[ti] / x->ns[fi]));
		JSET(x->row[fi], "tenace_ns", JD(x->ns[ti]));
		JSET(x->row[fi], "tenace_to_floor", JD(x->ns[ti] / x->ns[fi]));
		JSET(r, ns_cases[ti].name, JD(x->ns[ti] / x->ns[fi]));
	}
	printf("%s\n", *sep ? "" : " not measured");
	JSET(sec, lru ? "ratio_to_kernel_lru" : "ratio_to_floor", r);
}

/* Katran's targets against the kernel LRU alone: the ns a target allows
 * (its ratio times Katran's ns on the same row) beside what the map Tenace is
 * built on costs by itself there. Where the map alone costs more, no program
 * around it meets that target. */
static void lru_vs_targets(struct ns_ctx *x)
{
	const char *sep = "";

	for (size_t fi = 0; fi < NS_CASES; fi++) {
		int ti = floor_of_row(x, fi);
		double k, t, allowed;

		if (ti < 0 || !ns_cases[fi].lru)
			continue;
		k = jnum(x->row[ti], "katran_ns");
		t = jnum(x->row[ti], "target");
		if (isnan(k) || isnan(t))
			continue;
		allowed = k * t;
		if (!*sep)
			printf("Katran's targets against the kernel LRU alone:");
		printf("%s %s <= %.0f ns (%.1f x %.0f ns), the LRU alone %.0f ns (%.0f%% of it)", sep,
		       ns_cases[ti].label, allowed, t, k, x->ns[fi], 100 * x->ns[fi] / allowed);
		sep = ";";
		JSET(x->row[fi], "katran_target_ns", JD(allowed));
		JSET(x->row[fi], "share_of_katran_target", JD(x->ns[fi] / allowed));
	}
	if (*sep)
		printf("\n");
}

static void ns_describe(struct bench *b, struct ns_ctx *x, json_object *sec)
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
			       "path_fraction is the share of Tenace's packets counted under expected_path. "
			       "new_client_filling runs on the section's conntrack (room for every client); "
			       "new_client_full on a second data plane whose IPv4 conntrack (conntrack4_sets) was first "
			       "filled with other clients until every way of its sets held one (conntrack_entries_before "
			       "of conntrack_ways), so every insert evicts. "
			       "memory_floor: bench_floor (bpf/bench_floor.bpf.c) through the same feeder and clients, "
			       "checked like the baseline: one read of a 64-byte value of a BPF array of "
			       "array_entries entries (the conntrack's size) at a pseudo-random permutation of the "
			       "client over [0, entries), then the baseline's MAC swap and XDP_TX; ratio_to_floor = "
			       "the tracked case's tenace_ns / the floor's floor_ns. "
			       "kernel_lru: bench_lru (same file) through the same feeder and clients, checked alike: "
			       "the client's address as an 8-byte key (conntrack4's) looked up in a BPF LRU_HASH of "
			       "lru_entries entries and 8-byte values (conntrack4's element, one LRU for all CPUs) and "
			       "inserted when absent, then the baseline's work: what the kernel's map alone costs on "
			       "the Tenace row named floor_of (lru_full on an LRU first filled to capacity, "
			       "lru_entries_before); ratio_to_kernel_lru = tenace_ns / its floor_ns; "
			       "katran_target_ns = the Tenace row's target ratio x katran_ns, "
			       "share_of_katran_target = floor_ns / katran_target_ns."));
	JSET(sec, "repeat", JI(b->repeat));
	JSET(sec, "runs", JI(b->reps));
	JSET(sec, "conntrack_size", JI(x->ct_size));
	JSET(sec, "servers", JI(BENCH_SERVERS));
	JSET(sec, "frame_bytes", JS("64 (IPv4 UDP), 68 (VLAN), 78 (IPv6)"));
	JSET(sec, "cases", x->cases);
	JSET(sec, "memory_floor", x->floors);
	JSET(sec, "kernel_lru", x->lrus);
	JSET(b->root, "ns_per_packet", sec);
}

/* bench_floor with an array of `lines` 64-byte lines and an LRU of `lru` entries. */
static int floor_open(struct bench_floor **out, uint32_t lines, uint32_t lru)
{
	struct bench_floor *s = bench_floor__open();
	int err;

	if (!s || bpf_map__set_max_entries(s->maps.floor_lines, lines) ||
	    bpf_map__set_max_entries(s->maps.floor_lru, lru) || bench_floor__load(s)) {
		err = -errno;
		tn_err("bench: cannot load the floor programs (%u lines, an LRU of %u): %s", lines, lru,
		       strerror(errno));
		bench_floor__destroy(s);
		return err ? err : -EINVAL;
	}
	*out = s;
	return 0;
}

/* The floor's index range, its permutation's domain, its client numbering. */
static void floor_point(struct bench_floor *s, const struct ns_case *c, const struct frame *f)
{
	uint32_t k = 0;

	while (k < 32 && (1ull << k) < c->nclients)
		k++;
	s->bss->entries = c->nclients;
	s->bss->mask = (uint32_t)((1ull << k) - 1);
	s->data->shift = k / 2 + 1;
	s->bss->base_addr = c->base;
	s->bss->src_off = f->src_off;
}

/* Fill a table of FULL_CT_SIZE entries through prog_fd with a quarter more
 * other clients (from base) than it holds, so that every later insert evicts. */
static int fill_full(struct bench *b, int prog_fd, uint32_t base, uint64_t n, uint32_t *retval)
{
	struct run_out o;
	struct frame f;
	int err;

	build_frame(&f, 4, false, VIP4, base);
	feeder_set(b, &f, base, 1, true);
	b->feed->bss->counter = 0;
	if ((err = feeder_target(b, prog_fd)) || (err = feeder_run(b, &f, n, &o)))
		return err;
	*retval = o.retval;
	return 0;
}

static int full_check(const char *what, uint64_t entries, uint64_t capacity, uint32_t retval)
{
	if (retval == XDP_TX_ && entries >= capacity / 100 * 99)
		return 0;
	tn_err("bench: filling %s of %llu entries left %llu in it (verdict %u): it is not full", what,
	       (unsigned long long)capacity, (unsigned long long)entries, retval);
	return -EPROTO;
}

/* The "table full" row's data plane, its IPv4 conntrack filled (fill_full)
 * until every way of every set holds a client: with 4 times as many
 * clients as ways, a set is left with a free way about once in 10,000. */
static int full_setup(struct bench *b, struct ns_ctx *x)
{
	uint64_t ways = (uint64_t)tn_ct4_nsets(FULL_CT_SIZE) * TN_CT4_WAYS;
	uint32_t ret;
	int err;

	if ((err = dp_setup(&x->full, FULL_CT_SIZE, 1, LB_MAC)) ||
	    (err = fill_full(b, tn_dp_prog_fd(x->full), 0x0d000000, 4 * ways, &ret)) ||
	    (err = ct_entries(x->full, &x->full_entries)))
		return err;
	return full_check("the IPv4 conntrack", x->full_entries, ways, ret);
}

/* The kernel LRU's evicting row: its own bench_lru, the LRU filled alike. */
static int lru_full_setup(struct bench *b, struct ns_ctx *x)
{
	int fd, err;
	uint64_t key, next, n = 0;
	struct frame f;
	uint32_t ret;

	if ((err = floor_open(&x->lru_full, 1, FULL_CT_SIZE)))
		return err;
	build_frame(&f, 4, false, VIP4, 0x10000000);
	x->lru_full->bss->src_off = f.src_off; /* where bench_lru reads the client (fill_full's frames) */
	if ((err = fill_full(b, bpf_program__fd(x->lru_full->progs.bench_lru), 0x10000000,
			     FULL_CT_SIZE + FULL_CT_SIZE / 4, &ret)))
		return err;
	fd = bpf_map__fd(x->lru_full->maps.floor_lru);
	for (void *k = NULL; !bpf_map_get_next_key(fd, k, &next); k = &key, n++)
		key = next;
	x->lru_full_entries = n;
	return full_check("the kernel LRU", n, FULL_CT_SIZE, ret);
}

/* Whether --cases (a comma-separated list of names) asks for this row. */
static bool case_wanted(const struct bench *b, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = b->cases; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ','))
		if (strcspn(p, ",") == n && !strncmp(p, name, n))
			return true;
	return !b->cases;
}

/* One case: set up, check, measure, report. */
static int ns_case_run(struct bench *b, struct ns_ctx *x, int ci)
{
	const struct ns_case *c = &ns_cases[ci];
	struct tn_dp *dp;
	struct bench_floor *fl;
	uint64_t *seq = c->full ? &x->full_seq : &x->fresh_seq;
	struct katran_row *kr = NULL;
	int prog_fd, err;
	struct ns_runs m;
	struct frame f;

	if (c->full && !c->floor && !x->full && (err = full_setup(b, x)))
		return err;
	if (c->full && c->lru && !x->lru_full && (err = lru_full_setup(b, x)))
		return err;
	dp = c->full ? x->full : x->dp;
	fl = c->full ? x->lru_full : x->floor;
	build_frame(&f, c->family, c->vlan, c->dst, c->base);
	if (c->floor) {
		floor_point(fl, c, &f);
		prog_fd = bpf_program__fd(c->lru ? fl->progs.bench_lru : fl->progs.bench_floor);
	} else {
		prog_fd = tn_dp_prog_fd(dp);
	}
	if ((err = ns_prepare(b, c, &f, prog_fd, seq)))
		return err;
	if (!c->floor)
		kr = katran_ns_begin(b, c->name, &f, c->base, c->nclients, c->fresh);
	if ((err = ns_measure(b, c->floor ? NULL : dp, prog_fd, c, &f, seq, &m, kr))) {
		free(kr);
		return err;
	}
	if (c->floor)
		floor_report(b, x, ci, &m);
	else
		ns_report(b, x, ci, &m, baseline_direct(b, &f));
	katran_ns_end(b, kr, x->cases);
	return 0;
}

int ns_section(struct bench *b)
{
	struct ns_ctx x = { .fresh_seq = 16, .full_seq = 16 };
	json_object *sec = json_object_new_object();
	int err = 0;

	x.cases = json_object_new_array();
	x.floors = json_object_new_array();
	x.lrus = json_object_new_array();
	/* enough room for every tracked client and every new one without eviction */
	x.ct_size = 1000000 + 2 * 10000 + 1 + (uint32_t)b->reps * b->repeat + 1024;
	x.ct_size = x.ct_size * 5 / 4;
	for (const char *p = b->cases; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		size_t ci, n = strcspn(p, ",");

		for (ci = 0; ci < NS_CASES; ci++)
			if (strlen(ns_cases[ci].name) == n && !strncmp(p, ns_cases[ci].name, n))
				break;
		if (ci == NS_CASES) {
			tn_err("bench: --cases: no ns row is named '%.*s'", (int)n, p);
			b->failures++;
			json_object_put(sec);
			json_object_put(x.cases);
			json_object_put(x.floors);
			json_object_put(x.lrus);
			return -EINVAL;
		}
	}
	printf("\n== ns/packet through BPF_PROG_TEST_RUN (median of %d runs of %u repetitions; "
	       "the same feeder precedes both programs) ==\n", b->reps, b->repeat);
	if ((err = dp_setup(&x.dp, x.ct_size, 1 /* lo: test runs arrive there */, LB_MAC)) ||
	    (err = floor_open(&x.floor, x.ct_size, x.ct_size)))
		goto out;
	printf("%-34s %9s %9s %7s %8s %9s %9s  %s\n", "case", "tenace", "baseline", "ratio", "target",
	       "feeder", "net ratio", "path taken (Tenace)");
	for (size_t ci = 0; ci < NS_CASES && !err; ci++)
		if (case_wanted(b, ns_cases[ci].name))
			err = ns_case_run(b, &x, (int)ci);
	floor_ratios(&x, sec, false);
	floor_ratios(&x, sec, true);
	lru_vs_targets(&x);
out:
	katran_ns_finish(b, err ? NULL : sec);
	ns_describe(b, &x, sec);
	bench_floor__destroy(x.floor);
	bench_floor__destroy(x.lru_full);
	tn_dp_close(x.full);
	tn_dp_close(x.dp);
	if (err)
		b->failures++;
	return err;
}
