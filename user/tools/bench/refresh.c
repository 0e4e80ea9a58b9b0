/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Section refresh: farm rewrites under load. bench_sink (on the generator's
 * end) remembers each client's server (its destination MAC) and counts every
 * change, so a tracked client that moves, or a packet lost, shows.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_feeder.skel.h"
#include "tools/bench/common.h"
#include "lib/log.h"

#define REFRESH_CLIENTS 10000
#define REFRESH_BASE 0x0a020000
#define REFRESH_REWRITES 100

struct refresh {
	struct testbed t;
	struct tn_dp *dp;
	struct tn_dp_server srv[BENCH_SERVERS];
	int sink_stats_fd;
	double rate_mpps;          /* what the path sustains */
	double wms[128];           /* each rewrite, ms */
	uint64_t gen0, gen1;       /* first and last generation written */
};

/* Counters read before and after the rewrites. */
struct refresh_counts {
	uint64_t sink, moved, tx, redecided;
};

static void counts_read(const struct refresh *r, struct refresh_counts *c)
{
	c->sink = percpu_u64_sum(r->sink_stats_fd, 0);
	c->moved = percpu_u64_sum(r->sink_stats_fd, 1);
	c->tx = reason_packets(r->dp, TN_R_TX);
	c->redecided = reason_packets(r->dp, TN_R_CT_NEW) + reason_packets(r->dp, TN_R_CT_RESCHEDULED) +
		       reason_packets(r->dp, TN_R_DROP_NO_SERVER) + reason_packets(r->dp, TN_R_ABORTED);
}

static int farm_rewrite(struct refresh *r, uint64_t *generation)
{
	struct tn_dp_farm farm = {
		.farm_id = 1, .proto = IPPROTO_UDP, .balance = TN_BALANCE_SOURCE,
		.stickiness = TN_STICKY_SOURCE_IP, .servers = r->srv, .nservers = BENCH_SERVERS,
	};

	return tn_dp_farm_write(r->dp, 0, &farm, generation);
}

/* The test bed with bench_sink on the generator's end and Tenace on the balancer. */
static int refresh_setup(struct bench *b, struct refresh *r)
{
	int err;

	r->sink_stats_fd = bpf_map__fd(b->feed->maps.sink_stats);
	if ((err = net_setup(&r->t)) || (err = dp_setup(&r->dp, 2000000, r->t.lb_ifindex, LB_MAC)))
		return err;
	b->feed->data->sink_src_off = 26;
	if ((err = xdp_put(gen_ns_fd, r->t.gen_ifindex, bpf_program__fd(b->feed->progs.bench_sink))) ||
	    (err = xdp_put(-1, r->t.lb_ifindex, tn_dp_prog_fd(r->dp))))
		return err;
	make_servers(r->srv, BENCH_SERVERS, r->t.lb_ifindex, LB_MAC);
	return 0;
}

/* The e2e section did not run: measure what the path sustains now. */
static int refresh_measure_rate(struct refresh *r)
{
	struct pg g;
	uint64_t s0;
	double t0;
	int err;

	if ((err = pg_start(&g, &r->t, REFRESH_BASE, REFRESH_CLIENTS, 0, 0, 0)))
		return err;
	pg_wait(&g);
	s0 = percpu_u64_sum(r->sink_stats_fd, 0);
	t0 = now_s();
	if ((err = pg_start(&g, &r->t, REFRESH_BASE, REFRESH_CLIENTS, 1.0, 0, 0)) || (err = pg_wait(&g)))
		return err;
	r->rate_mpps = (percpu_u64_sum(r->sink_stats_fd, 0) - s0) / (now_s() - t0) / 1e6;
	return 0;
}

/* The rewrites, 20 ms apart, while the generator sends at half the rate;
 * *sent gets what it sent. */
static int refresh_rewrites(struct refresh *r, uint64_t *sent)
{
	struct pg g;
	int err;

	/* the rewrites are the controller's work: keep them off the packet path's CPU,
	 * as a deployment would (otherwise the veth ring overflows while they run) */
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(r->t.gen_cpu == 0 ? 1 : 0, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	if ((err = pg_start(&g, &r->t, REFRESH_BASE, REFRESH_CLIENTS, REFRESH_REWRITES * 0.02 + 1.0, 0,
			    r->rate_mpps * 0.5e6)))
		return err;
	sleep_s(0.4);
	rng_state = 42;
	for (uint32_t i = 0; i < REFRESH_REWRITES; i++) {
		double w0;

		for (int k = BENCH_SERVERS / 2; k < BENCH_SERVERS; k++)
			r->srv[k].weight = (uint16_t)(1 + rng() % 256);
		w0 = now_s();
		err = farm_rewrite(r, i ? &r->gen1 : &r->gen0);
		r->wms[i < 128 ? i : 127] = (now_s() - w0) * 1e3;
		if (err) {
			pg_wait(&g);
			return err;
		}
		sleep_s(0.02);
	}
	err = pg_wait(&g);
	*sent = g.packets;
	return err;
}

/* What the rewrites did to the traffic. */
struct refresh_result {
	uint64_t sent, received, moved, lost, forwarded, redecided;
	double wmed;
};

static void refresh_result(const struct refresh *r, uint64_t sent, const struct refresh_counts *c0,
			   const struct refresh_counts *c1, struct refresh_result *o)
{
	o->sent = sent;
	o->received = c1->sink - c0->sink;
	o->moved = c1->moved - c0->moved;
	o->lost = sent > o->received ? sent - o->received : 0;
	o->forwarded = c1->tx - c0->tx;
	o->redecided = c1->redecided - c0->redecided;
	o->wmed = median(r->wms, REFRESH_REWRITES < 64 ? REFRESH_REWRITES : 64);
}

static void refresh_print(struct bench *b, const struct refresh *r, const struct refresh_result *o)
{
	printf("rate %.3f Mpps (half of what the path sustains), %u rewrites (generations %llu..%llu), "
	       "median rewrite %.2f ms\n", r->rate_mpps / 2, REFRESH_REWRITES, (unsigned long long)r->gen0,
	       (unsigned long long)r->gen1, o->wmed);
	printf("sent %llu, forwarded by Tenace %llu, received by the sink %llu, re-decided by Tenace %llu\n",
	       (unsigned long long)o->sent, (unsigned long long)o->forwarded, (unsigned long long)o->received,
	       (unsigned long long)o->redecided);
	printf("packets lost        %10llu   target 0  %s\n", (unsigned long long)o->lost, pass_miss(b, o->lost == 0));
	printf("clients that moved  %10llu   target 0  %s\n", (unsigned long long)o->moved,
	       pass_miss(b, o->moved == 0));
}

static void refresh_json(const struct refresh *r, const struct refresh_result *o, json_object *sec)
{
	JSET(sec, "clients", JI(REFRESH_CLIENTS));
	JSET(sec, "rewrites", JI(REFRESH_REWRITES));
	JSET(sec, "rate_mpps", JD(r->rate_mpps / 2));
	JSET(sec, "rewrite_ms_median", JD(o->wmed));
	JSET(sec, "first_generation", JI(r->gen0));
	JSET(sec, "last_generation", JI(r->gen1));
	JSET(sec, "sent", JI(o->sent));
	JSET(sec, "forwarded_by_tenace", JI(o->forwarded));
	JSET(sec, "received_by_sink", JI(o->received));
	JSET(sec, "redecided_by_tenace", JI(o->redecided));
	JSET(sec, "lost", JI(o->lost));
	JSET(sec, "clients_moved", JI(o->moved));
	JSET(sec, "pass_lost", JB(o->lost == 0));
	JSET(sec, "pass_moved", JB(o->moved == 0));
}

/* The detector detects: mark server 1 down, its clients must show up as
 * moved. -EPROTO when none did (the figures above then mean nothing). */
static int refresh_detector(struct refresh *r, json_object *sec)
{
	uint64_t c0 = percpu_u64_sum(r->sink_stats_fd, 1), c1;
	struct pg g;
	int err;

	r->srv[0].up = false;
	if ((err = farm_rewrite(r, NULL)) ||
	    (err = pg_start(&g, &r->t, REFRESH_BASE, REFRESH_CLIENTS, 0, REFRESH_CLIENTS, r->rate_mpps * 0.5e6)) ||
	    (err = pg_wait(&g)))
		return err;
	sleep_s(0.1);
	c1 = percpu_u64_sum(r->sink_stats_fd, 1);
	printf("check of the detector: server 1 marked down, %llu clients seen moving (expected about %u)\n",
	       (unsigned long long)(c1 - c0), REFRESH_CLIENTS / BENCH_SERVERS);
	JSET(sec, "detector_check_moved_when_server_down", JI(c1 - c0));
	if (c1 == c0) {
		tn_err("bench: the move detector saw nothing when a server went down: the zero above means nothing");
		return -EPROTO;
	}
	return 0;
}

static void refresh_describe(struct bench *b, json_object *sec)
{
	JSET(sec, "method", JS("Same veth path as end_to_end with bench_sink (bpf/bench_feeder.bpf.c) as the sink: "
			       "it counts frames and, per client (source address % 65536), remembers the destination "
			       "MAC (= server) and counts every change. 10,000 clients are tracked first; then tenace "
			       "pktgen sends at half the rate the path sustains while tn_dp_farm_write rewrites the farm "
			       "100 times, 20 ms apart, each time with new random weights (1..256) for servers 6..10. "
			       "lost = sent - received by the sink; clients_moved = destination MAC changes. "
			       "redecided_by_tenace counts conntrack_new + rescheduled + drop_no_server + aborted."));
	JSET(b->root, "refresh", sec);
}

int refresh_section(struct bench *b)
{
	json_object *sec = json_object_new_object();
	struct refresh r = { .rate_mpps = b->e2e_max_mpps_10k };
	struct refresh_counts c0, c1;
	struct refresh_result res;
	uint64_t sent = 0;
	struct pg g;
	int err;

	printf("\n== refresh under load: %u farm rewrites (weights of servers 6..10 changed, 1..5 kept) while "
	       "%u tracked clients send ==\n", REFRESH_REWRITES, REFRESH_CLIENTS);
	if ((err = refresh_setup(b, &r)) || (!(r.rate_mpps > 0) && (err = refresh_measure_rate(&r))))
		goto out;
	/* every client tracked and seen by the sink once before the refreshes */
	if ((err = pg_start(&g, &r.t, REFRESH_BASE, REFRESH_CLIENTS, 0, 2 * REFRESH_CLIENTS, r.rate_mpps * 0.5e6)) ||
	    (err = pg_wait(&g)))
		goto out;
	sleep_s(0.1);
	counts_read(&r, &c0);
	if ((err = refresh_rewrites(&r, &sent)))
		goto out;
	sleep_s(0.2);
	counts_read(&r, &c1);
	refresh_result(&r, sent, &c0, &c1, &res);
	refresh_print(b, &r, &res);
	err = refresh_detector(&r, sec);
	if (!err || err == -EPROTO)
		refresh_json(&r, &res, sec);
out:
	refresh_describe(b, sec);
	net_cleanup();
	tn_dp_close(r.dp);
	if (err)
		b->failures++;
	return err;
}
