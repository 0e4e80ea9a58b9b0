/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Section flood: do established TCP clients keep their server through a SYN
 * flood from spoofed sources and a table change in the middle of it?
 *
 * A data plane of its own (conntrack of `ct_size` entries, one TCP farm of
 * BENCH_SERVERS servers, Maglev on the 5-tuple, VIP4:80 TCP). FLOOD_CLIENTS
 * clients each send a SYN then an ACK through the feeder, one packet per
 * test run, and their server is noted (the destination MAC Tenace wrote).
 * Then `sent` SYNs
 * from pseudo-random sources (the feeder's random_src) in FLOOD_BATCHES test
 * runs at full rate, one server's weight changed with tn_dp_farm_write after
 * half of them (the Maglev table changes). Then every client sends an ACK
 * again: it must reach its own server. With admission a bare SYN inserts
 * nothing (conntrack_deferred), so the flood leaves the conntrack as it was.
 * Last, a tracked run of the clients measures ns per tracked packet: after
 * the check, since entries used just before the flood would be kept by the
 * LRU over the flood's never-used ones even without admission (a flood of
 * inserting segments in their place moved about 5 % of the clients, the
 * share of the table the weight change moved; with the tracked run first, 1).
 *
 * Then the same on a second data plane at the default TCP admission budget
 * and conntrack size, with ACKs in place of the SYNs: a spoofed ACK cannot be
 * told from a handshake, so each CPU tracks at most its budget of them per
 * window (the established clients' handshakes paced within it) and steers
 * the rest by the table (conntrack_refused).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_feeder.skel.h"
#include "tools/bench/common.h"
#include "lib/log.h"

#define FLOOD_CLIENTS 10000
#define FLOOD_CLIENT_BASE 0x0a3c0000u  /* 10.60.0.0: established clients */
#define FLOOD_BATCHES 10
#define FLOOD_WEIGHT_SERVER 0           /* whose weight changes halfway */
#define FLOOD_WEIGHT_TO 50              /* from 100 */

struct flood {
	bool ack;                       /* spoofed ACKs (at the TCP budget) in place of SYNs */
	struct tn_dp *dp;
	struct tn_dp_server srv[BENCH_SERVERS];
	uint32_t ct_size;
	uint64_t sent;                  /* flood packets (SYNs or ACKs) sent */
	uint8_t own[FLOOD_CLIENTS];     /* each client's server (index) */
	uint64_t ct_before, ct_after;   /* conntrack entries around the flood */
	uint64_t deferred, inserted;    /* conntrack_deferred, conntrack_new during it */
	uint64_t refused;               /* conntrack_refused during it (over the budget) */
	uint32_t table_changed;         /* Maglev entries the weight change moved */
	double wall_s, kernel_ns;       /* the flood's runs: wall time, kernel ns per SYN */
	double tracked_ns[64], tracked_path;
	uint32_t moved, delivered, lost;
};

static int flood_farm(struct flood *fl)
{
	struct tn_dp_farm farm = {
		.farm_id = 1, .proto = IPPROTO_TCP, .balance = TN_BALANCE_SOURCE,
		.stickiness = TN_STICKY_NONE, .servers = fl->srv, .nservers = BENCH_SERVERS,
	};

	return tn_dp_farm_write(fl->dp, 0, &farm, NULL);
}

/* The section's data plane: the TCP farm on slot 0 behind VIP4:80. */
static int flood_dp(struct flood *fl)
{
	struct tn_vip_key k = { .family = TN_FAMILY_V4, .port = htons(80), .proto = IPPROTO_TCP };
	struct tn_vip v = { .farm_slot = 0, .vip_index = 0, .frontend_id = 1 };
	struct tn_dp_settings st;
	int err;

	tn_dp_settings_default(&st);
	st.ct_size = fl->ct_size;
	st.udp_timeout_s = st.tcp_timeout_s = 3600;
	st.udp_admit_rate = 0;
	/* the admission of a SYN is not a budget; the ACK flood runs at the default one */
	st.tcp_admit_rate = fl->ack ? TN_TCP_ADMIT_RATE_DEFAULT : 0;
	if ((err = tn_dp_open(&fl->dp, "", &st)))
		return err;
	make_servers(fl->srv, BENCH_SERVERS, 1, LB_MAC);
	inet_pton(AF_INET, VIP4, k.addr);
	if ((err = flood_farm(fl)) || (err = tn_dp_vips_replace(fl->dp, &k, &v, 1)))
		tn_err("bench: flood: cannot configure the data plane: %s", strerror(-err));
	return err;
}

/* The server index a forwarded frame went to, or -1 (not forwarded, not a
 * server's MAC, or the packet itself changed). */
static int out_server(const struct frame *f, const uint8_t *in, const struct run_out *o)
{
	uint8_t m[6];

	server_mac(0, m);
	if (o->retval != XDP_TX_ || o->len != f->len || memcmp(o->data, m, 5) || o->data[5] >= BENCH_SERVERS ||
	    memcmp(o->data + 6, LB_MAC, 6) || memcmp(o->data + 12, in + 12, f->len - 12))
		return -1;
	return o->data[5];
}

/* Client i's packet alone through Tenace: its server, or -1. */
static int client_send(struct bench *b, const struct frame *f, uint32_t i)
{
	uint8_t in[256];
	struct run_out o;

	b->feed->bss->counter = i;
	if (feeder_run(b, f, 1, &o))
		return -1;
	frame_for_client(f, FLOOD_CLIENT_BASE, i, in);
	return out_server(f, in, &o);
}

/* Wait for the next admission window of the program's clock (CLOCK_MONOTONIC_COARSE). */
static void next_window(void)
{
	struct timespec ts;
	uint64_t w, t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	w = ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) >> TN_ADMIT_WINDOW_SHIFT;
	do {
		usleep(1000);
		clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
		t = ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) >> TN_ADMIT_WINDOW_SHIFT;
	} while (t == w);
}

/* Handshake ACKs per window of this clock under a TCP budget: a window of the
 * program's may straddle two, and 2 x 400 stays under the default's 1,100. */
#define FLOOD_ACKS_PER_WINDOW 400

/* Every client's SYN (deferred), then its ACK (tracked, same server). */
static int flood_handshakes(struct bench *b, struct flood *fl)
{
	uint64_t def0 = reason_packets(fl->dp, TN_R_CT_DEFERRED), new0 = reason_packets(fl->dp, TN_R_CT_NEW), n;
	struct frame syn, ack;
	uint32_t bad = 0, i;
	int s;

	build_tcp_frame(&syn, VIP4, FLOOD_CLIENT_BASE, TCP_FLAG_SYN_);
	build_tcp_frame(&ack, VIP4, FLOOD_CLIENT_BASE, TCP_FLAG_ACK_);
	feeder_set(b, &syn, FLOOD_CLIENT_BASE, FLOOD_CLIENTS, false);
	if ((s = feeder_target(b, tn_dp_prog_fd(fl->dp))))
		return s;
	for (i = 0; i < FLOOD_CLIENTS; i++) {
		s = client_send(b, &syn, i);
		bad += s < 0;
		fl->own[i] = (uint8_t)(s < 0 ? 0 : s);
	}
	feeder_set(b, &ack, FLOOD_CLIENT_BASE, FLOOD_CLIENTS, false);
	for (i = 0; i < FLOOD_CLIENTS; i++) {
		if (fl->ack && i % FLOOD_ACKS_PER_WINDOW == 0)
			next_window();
		bad += client_send(b, &ack, i) != fl->own[i];
	}
	if ((s = ct_entries(fl->dp, &n)))
		return s;
	if (bad || reason_packets(fl->dp, TN_R_CT_DEFERRED) - def0 != FLOOD_CLIENTS ||
	    reason_packets(fl->dp, TN_R_CT_NEW) - new0 != FLOOD_CLIENTS || n != FLOOD_CLIENTS) {
		tn_err("bench: flood: %u clients' SYN and ACK: %u not forwarded to one server, conntrack_deferred "
		       "%llu, conntrack_new %llu, %llu entries (expected 0, %u, %u, %u)", FLOOD_CLIENTS, bad,
		       (unsigned long long)(reason_packets(fl->dp, TN_R_CT_DEFERRED) - def0),
		       (unsigned long long)(reason_packets(fl->dp, TN_R_CT_NEW) - new0), (unsigned long long)n,
		       FLOOD_CLIENTS, FLOOD_CLIENTS, FLOOD_CLIENTS);
		return -EPROTO;
	}
	return 0;
}

/* ns per tracked packet: the clients' ACKs, b->repeat per run, b->reps runs. */
static int flood_tracked(struct bench *b, struct flood *fl)
{
	uint64_t hit0 = reason_packets(fl->dp, TN_R_CT_HIT);
	struct run_out o;
	struct frame ack;
	int err;

	build_tcp_frame(&ack, VIP4, FLOOD_CLIENT_BASE, TCP_FLAG_ACK_);
	feeder_set(b, &ack, FLOOD_CLIENT_BASE, FLOOD_CLIENTS, false);
	for (int r = 0; r < b->reps; r++) {
		b->feed->bss->counter = 0;
		if ((err = feeder_run(b, &ack, b->repeat, &o)))
			return err;
		fl->tracked_ns[r] = o.duration;
	}
	fl->tracked_path = (double)(reason_packets(fl->dp, TN_R_CT_HIT) - hit0) / ((double)b->reps * b->repeat);
	return 0;
}

/* A flood SYN as the feeder sends it, checked like the ns rows: alone twice,
 * then after the one before it in a run of two, the same forwarded frame. */
static int flood_verify(struct bench *b, const struct frame *syn)
{
	const uint64_t seq = 77;
	struct run_out o[3];
	uint8_t in[256];
	uint32_t a = htonl(feeder_random_src(seq));
	int err;

	memcpy(in, syn->b, syn->len);
	memcpy(in + syn->src_off, &a, 4);
	for (int i = 0; i < 3; i++) {
		b->feed->bss->counter = i < 2 ? seq : seq - 1;
		if ((err = feeder_run(b, syn, i < 2 ? 1 : 2, &o[i])))
			return err;
		if (out_server(syn, in, &o[i]) < 0 || (i && memcmp(o[i].data, o[0].data, syn->len))) {
			tn_err("bench: flood: run %d of a flood SYN gave verdict %u and %u bytes, not the input "
			       "forwarded to a server (the same each time): the feeder or the program is broken",
			       i + 1, o[i].retval, o[i].len);
			return -EPROTO;
		}
	}
	return 0;
}

/* One server's weight changed: how many Maglev entries now point elsewhere. */
static int flood_reweigh(struct flood *fl)
{
	uint32_t n = tn_dp_get_settings(fl->dp)->table_size, i;
	uint16_t *t0 = calloc(n, sizeof(*t0)), *t1 = calloc(n, sizeof(*t1));
	int err = -ENOMEM;

	if (t0 && t1 && !(err = tn_dp_farm_read(fl->dp, 0, NULL, NULL, t0))) {
		fl->srv[FLOOD_WEIGHT_SERVER].weight = FLOOD_WEIGHT_TO;
		if (!(err = flood_farm(fl)) && !(err = tn_dp_farm_read(fl->dp, 0, NULL, NULL, t1)))
			for (i = 0; i < n; i++)
				fl->table_changed += t0[i] != t1[i];
	}
	free(t0);
	free(t1);
	if (err)
		tn_err("bench: flood: cannot change a server's weight: %s", strerror(-err));
	return err;
}

/* The flood: `sent` random-source SYNs (or ACKs) in FLOOD_BATCHES runs, the weight change halfway. */
static int flood_run(struct bench *b, struct flood *fl)
{
	uint32_t batch = (uint32_t)(fl->sent / FLOOD_BATCHES);
	uint64_t def0, new0, ref0;
	struct run_out o;
	struct frame syn;
	int err;

	build_tcp_frame(&syn, VIP4, 0, fl->ack ? TCP_FLAG_ACK_ : TCP_FLAG_SYN_);
	feeder_set(b, &syn, 0, 1, true);
	b->feed->bss->random_src = 1;
	if ((err = flood_verify(b, &syn)) || (err = ct_entries(fl->dp, &fl->ct_before)))
		return err;
	def0 = reason_packets(fl->dp, TN_R_CT_DEFERRED);
	new0 = reason_packets(fl->dp, TN_R_CT_NEW);
	ref0 = reason_packets(fl->dp, TN_R_CT_REFUSED);
	b->feed->bss->counter = 1000;
	fl->sent = 0;
	for (int i = 0; i < FLOOD_BATCHES; i++) {
		double t0;

		if (i == FLOOD_BATCHES / 2 && (err = flood_reweigh(fl)))
			return err;
		t0 = now_s();
		if ((err = feeder_run(b, &syn, batch, &o)))
			return err;
		fl->wall_s += now_s() - t0;
		fl->kernel_ns += (double)o.duration * batch;
		fl->sent += batch;
	}
	b->feed->bss->random_src = 0;
	fl->kernel_ns /= (double)fl->sent;
	fl->deferred = reason_packets(fl->dp, TN_R_CT_DEFERRED) - def0;
	fl->inserted = reason_packets(fl->dp, TN_R_CT_NEW) - new0;
	fl->refused = reason_packets(fl->dp, TN_R_CT_REFUSED) - ref0;
	return ct_entries(fl->dp, &fl->ct_after);
}

/* Every client's ACK once more: its own server, another (moved), or none (lost). */
static void flood_after(struct bench *b, struct flood *fl)
{
	struct frame ack;

	build_tcp_frame(&ack, VIP4, FLOOD_CLIENT_BASE, TCP_FLAG_ACK_);
	feeder_set(b, &ack, FLOOD_CLIENT_BASE, FLOOD_CLIENTS, false);
	for (uint32_t i = 0; i < FLOOD_CLIENTS; i++) {
		int s = client_send(b, &ack, i);

		if (s < 0)
			fl->lost++;
		else if (s == fl->own[i])
			fl->delivered++;
		else
			fl->moved++;
	}
}

/* The most entries the TCP budget lets the flood insert: its per-window share
 * over the windows its runs can span (their wall time, one more per run). */
static uint64_t ack_bound(const struct flood *fl)
{
	uint64_t per_window = tn_dp_admit_per_window(TN_TCP_ADMIT_RATE_DEFAULT);
	double window_s = (double)(1ULL << TN_ADMIT_WINDOW_SHIFT) / 1e9;

	return per_window * ((uint64_t)(fl->wall_s / window_s) + 1 + FLOOD_BATCHES);
}

static void flood_report(struct bench *b, const struct flood *fl, json_object *sec)
{
	double tns = median(fl->tracked_ns, b->reps), mpps = fl->sent / fl->wall_s / 1e6;
	const char *what = fl->ack ? "ACK" : "SYN";
	bool ok = fl->moved == 0 && fl->lost == 0, within = !fl->ack || fl->inserted <= ack_bound(fl);

	printf("established: %u TCP clients (SYN then ACK each; conntrack_new %u, %u entries), "
	       "%.1f ns per tracked packet (conntrack_hit %.1f%%)\n", FLOOD_CLIENTS, FLOOD_CLIENTS, FLOOD_CLIENTS,
	       tns, 100 * fl->tracked_path);
	printf("flood: %llu %ss from random sources in %d runs: %.2f Mpps, %.1f ns per %s (%.2fx a tracked "
	       "packet)\n", (unsigned long long)fl->sent, what, FLOOD_BATCHES, mpps, fl->kernel_ns, what,
	       fl->kernel_ns / tns);
	if (fl->ack)
		printf("during it: conntrack_new %llu (budget %u/s per CPU: at most %llu in %.2f s), "
		       "conntrack_refused %llu; the weight change moved %u Maglev entries\n",
		       (unsigned long long)fl->inserted, TN_TCP_ADMIT_RATE_DEFAULT, (unsigned long long)ack_bound(fl),
		       fl->wall_s, (unsigned long long)fl->refused, fl->table_changed);
	else
		printf("during it: conntrack_deferred %llu, conntrack_new %llu; the weight change moved %u Maglev "
		       "entries\n", (unsigned long long)fl->deferred, (unsigned long long)fl->inserted,
		       fl->table_changed);
	printf("conntrack occupancy: %llu entries before, %llu after (capacity %u)\n",
	       (unsigned long long)fl->ct_before, (unsigned long long)fl->ct_after, fl->ct_size);
	printf("established clients after it: %u moved, %u lost, %.1f%% delivered to their own server: %s\n",
	       fl->moved, fl->lost, 100.0 * fl->delivered / FLOOD_CLIENTS, ok && within ? "PASS" : "FAIL");
	JSET(sec, "established_clients", JI(FLOOD_CLIENTS));
	JSET(sec, "tracked_ns", JD(tns));
	JSET(sec, "tracked_runs_ns", jarr(fl->tracked_ns, b->reps));
	JSET(sec, "tracked_path_fraction", JD(fl->tracked_path));
	if (fl->ack) {
		JSET(sec, "flood_acks_sent", JI(fl->sent));
		JSET(sec, "flood_ns_per_ack", JD(fl->kernel_ns));
		JSET(sec, "tcp_admit_rate_per_cpu", JI(TN_TCP_ADMIT_RATE_DEFAULT));
		JSET(sec, "admitted_bound", JI(ack_bound(fl)));
		JSET(sec, "conntrack_refused_during_flood", JI(fl->refused));
		JSET(sec, "flood_wall_s", JD(fl->wall_s));
	} else {
		JSET(sec, "flood_syns_sent", JI(fl->sent));
		JSET(sec, "flood_ns_per_syn", JD(fl->kernel_ns));
		JSET(sec, "conntrack_deferred_during_flood", JI(fl->deferred));
	}
	JSET(sec, "flood_mpps", JD(mpps));
	JSET(sec, "flood_to_tracked_ratio", JD(fl->kernel_ns / tns));
	JSET(sec, "conntrack_new_during_flood", JI(fl->inserted));
	JSET(sec, "table_entries_changed", JI(fl->table_changed));
	JSET(sec, "occupancy_before", JI(fl->ct_before));
	JSET(sec, "occupancy_after", JI(fl->ct_after));
	JSET(sec, "moved", JI(fl->moved));
	JSET(sec, "lost", JI(fl->lost));
	JSET(sec, "delivered_share", JD((double)fl->delivered / FLOOD_CLIENTS));
	JSET(sec, "pass", JB(ok && within));
	if (!ok) {
		tn_err("bench: flood: after the %s flood %u established clients reached another server and %u none",
		       what, fl->moved, fl->lost);
		b->failures++;
	}
	if (!within) {
		tn_err("bench: flood: the ACK flood inserted %llu entries, over the TCP budget's %llu",
		       (unsigned long long)fl->inserted, (unsigned long long)ack_bound(fl));
		b->failures++;
	}
}

static void flood_describe(struct bench *b, const struct flood *fl, json_object *sec)
{
	if (fl->ack)
		JSET(sec, "method", JS("As the SYN flood, on a data plane of its own at the default TCP "
				       "admission budget (tcp_admit_rate_per_cpu) and the default conntrack "
				       "size: the established clients' handshake ACKs paced at 400 per 16.8 ms "
				       "window (within the budget), then flood_acks_sent ACKs from random "
				       "sources, the bench pinned to one CPU. Each CPU tracks at most its budget "
				       "of new clients per window; "
				       "admitted_bound = the budget's share per window x (the flood runs' wall "
				       "time in windows + 1 per run); the rest are steered untracked "
				       "(conntrack_refused)."));
	else
		JSET(sec, "method", JS("A data plane of its own: conntrack of conntrack_capacity entries, one TCP farm of "
			       "10 servers (Maglev on the 5-tuple) behind 10.0.0.1:80. Every established client "
			       "sends a SYN then an ACK through bench_feeder, one packet per BPF_PROG_TEST_RUN, its "
			       "server noted from the destination MAC. The flood: flood_syns_sent SYNs (5 x repeat) whose sources the feeder "
			       "draws from a hash of its counter (64.0.0.0/2), in 10 test runs, one server's weight "
			       "changed from 100 to 50 with tn_dp_farm_write after 5 (table_entries_changed Maglev "
			       "entries moved); flood_mpps = SYNs / wall time of those runs, flood_ns_per_syn the "
			       "kernel's. Counters are deltas over the flood runs; occupancy counts the conntrack "
			       "by walking it. Then each established client's ACK once: moved = reached another "
			       "server (must be 0), delivered_share = reached its own / sent. Last, tracked_ns: "
			       "their ACKs in runs of repeat (median), after the check so that the flood meets "
			       "entries not used since the handshake."));
	JSET(sec, "conntrack_capacity", JI(fl->ct_size));
	JSET(sec, "servers", JI(BENCH_SERVERS));
	JSET(sec, "repeat", JI(b->repeat));
	JSET(sec, "runs", JI(b->reps));
	JSET(b->root, fl->ack ? "ack_flood" : "flood", sec);
}

/* One flood scenario on its own data plane. The ACK flood runs on one CPU:
 * the budget is per CPU, and its bound (ack_bound) counts one CPU's share. */
static int flood_one(struct bench *b, bool ack)
{
	struct flood *fl = calloc(1, sizeof(*fl));
	json_object *sec = json_object_new_object();
	cpu_set_t one, saved;
	bool pinned = false;
	int err = -ENOMEM;

	if (ack && sched_getaffinity(0, sizeof(saved), &saved) == 0) {
		CPU_ZERO(&one);
		CPU_SET(sched_getcpu(), &one);
		pinned = sched_setaffinity(0, sizeof(one), &one) == 0;
	}
	if (!fl)
		goto out;
	fl->ack = ack;
	fl->ct_size = ack ? TN_CT_SIZE_DEFAULT : b->quick ? 16384 : 65536;
	fl->sent = (uint64_t)b->repeat * 5;
	printf("\n== %s: %u established TCP clients, then %llu %ss from random sources (conntrack %u "
	       "entries%s; a server's weight changed halfway) ==\n", ack ? "ACK flood" : "flood", FLOOD_CLIENTS,
	       (unsigned long long)fl->sent, ack ? "ACK" : "SYN", fl->ct_size,
	       ack ? ", the default TCP admission budget" : "");
	if ((err = flood_dp(fl)) || (err = flood_handshakes(b, fl)) || (err = flood_run(b, fl)))
		goto out;
	flood_after(b, fl);
	if ((err = flood_tracked(b, fl)))
		goto out;
	flood_report(b, fl, sec);
out:
	if (fl) {
		flood_describe(b, fl, sec);
		tn_dp_close(fl->dp);
	} else {
		json_object_put(sec);
	}
	b->feed->bss->random_src = 0;
	free(fl);
	if (pinned)
		sched_setaffinity(0, sizeof(saved), &saved);
	if (err)
		b->failures++;
	return err;
}

int flood_section(struct bench *b)
{
	int err = flood_one(b, false);

	return flood_one(b, true) ?: err;
}
