/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Private to user/tools/bench/: what the sections share. common.c: small
 * helpers, the data plane every section configures alike; testbed.c: the
 * veth test bed and the traffic generator of the e2e and refresh sections.
 * One file per section: ns.c, flood.c, e2e.c, refresh.c, maglev.c, probe.c, memory.c,
 * control.c, decap.c, trace.c.
 */
#ifndef TENACE_BENCH_COMMON_H
#define TENACE_BENCH_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>
#include "dataplane/dataplane.h"

#define XDP_ABORTED_ 0
#define XDP_DROP_ 1
#define XDP_PASS_ 2
#define XDP_TX_ 3

#define JSET(o, k, v) json_object_object_add((o), (k), (v))
#define JD(x) json_object_new_double(x)
#define JI(x) json_object_new_int64(x)
#define JS(x) json_object_new_string(x)
#define JB(x) json_object_new_boolean(x)

struct bench_feeder;
struct baseline;

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
	int ingress_ifindex;     /* feeder runs arrive there (0: lo); the encap section's routed netns */
	bool restore_len;        /* feeder runs undo the previous repetition's encapsulation */
	bool quick;              /* --quick: smaller tables where a section scales them */
	const char *cases;       /* --cases: the ns rows to run (comma-separated names), NULL: all */
};

/* ---- common.c ---------------------------------------------------------------- */

double now_s(void);
void sleep_s(double s);
/* Median of the first n (<= 64) values; NAN for none. */
double median(const double *v, int n);
json_object *jarr(const double *v, int n);
/* A number field of o (NULL allowed), NAN when absent or null. */
double jnum(json_object *o, const char *key);
/* xorshift64*: reproducible across runs; rng_state seeds it. */
extern uint64_t rng_state;
uint64_t rng(void);
/* "PASS" or "MISS", counting the miss. */
const char *pass_miss(struct bench *b, bool ok);

/* The tenace binary whose `pktgen` generates traffic. */
extern char tenace_bin[512];

/* The balancer's and the generator's MACs in every frame of the bench. */
extern const uint8_t LB_MAC[6], GEN_MAC[6];

#define BENCH_SERVERS 10
extern const char *const VIP4, *const VIP6;

/* Server i's MAC: 02:54:4e:00:10:i. */
void server_mac(int i, uint8_t mac[6]);
/* BENCH_SERVERS-like servers 192.168.50.10+i:80, weight 100, reached through ifindex. */
void make_servers(struct tn_dp_server *s, int n, uint32_t ifindex, const uint8_t src_mac[6]);
/* A data plane with one UDP farm of BENCH_SERVERS servers (sourceIp
 * stickiness) behind VIP4:80 and VIP6:80; servers reached through ifindex. */
int dp_setup(struct tn_dp **dp, uint32_t ct_size, uint32_t ifindex, const uint8_t src_mac[6]);
uint64_t reason_packets(struct tn_dp *dp, enum tn_reason r);
/* Entries in the conntrack (a walk of the map, expired ones included): 0 or -errno (said). */
int ct_entries(struct tn_dp *dp, uint64_t *n);
/* Sum over CPUs of a per-CPU u64 array entry (0 when unreadable). */
uint64_t percpu_u64_sum(int map_fd, uint32_t key);

/* ---- testbed.c ---------------------------------------------------------------- */

/*
 *   namespace tnbench-gen          root namespace
 *   [generator] -> tnb-gen  <==veth==>  tnb-lb  (Tenace or the baseline, native XDP)
 *   [sink XDP_DROP] <- tnb-gen  <======  XDP_TX
 */
#define NS_GEN "tnbench-gen"
#define IF_LB "tnb-lb"
#define IF_GEN "tnb-gen"

struct testbed {
	int lb_ifindex, gen_ifindex;   /* gen_ifindex: inside NS_GEN */
	int gen_cpu;                   /* the whole path runs there */
};

/* The generator's namespace, open once the test bed is up (-1 before). */
extern int gen_ns_fd;

int net_setup(struct testbed *t);
/* Remove the test bed (also from a signal handler and at exit). */
void net_cleanup(void);
/* Attach prog_fd natively to an interface of the root namespace (ns_fd < 0)
 * or of another one, replacing what is there (NAPI stays: no detach). */
int xdp_put(int ns_fd, int ifindex, int prog_fd);

/*
 * The encap section's namespace: IF_ROUTED holds ROUTED_SRC/24, ROUTED_GW is
 * a permanent neighbour (ROUTED_GW_MAC), 192.168.50.0/24 (the servers) is
 * routed through it. routed_enter creates it and moves the bench into it
 * (ifindex: IF_ROUTED's); routed_leave goes back and removes it.
 */
#define NS_ROUTED "tnbench-routed" /* + "-<pid>" */
#define IF_ROUTED "tnb-rt0"
#define ROUTED_SRC "10.250.0.1"
#define ROUTED_GW "10.250.0.2"
#define ROUTED_GW_MAC "02:54:4e:00:00:12"
int routed_enter(int *ifindex);
void routed_leave(void);

/* The generator: `tenace pktgen` in the generator namespace, on its CPU. */
struct pg {
	int pid, out_fd;    /* the child and the read end of its stdout */
	uint64_t packets;   /* sent, from its JSON summary */
	double pps;
};

/* Send for `seconds`, or exactly `count` frames when count > 0; pps 0: flat out. */
int pg_start(struct pg *g, const struct testbed *t, uint32_t base, uint32_t nclients,
	     double seconds, uint64_t count, double pps);
/* Wait for it and read its summary: 0 or -EIO (said). */
int pg_wait(struct pg *g);

/* ---- feeder.c: frames through bpf/bench_feeder.bpf.c ------------------------------- */

struct frame {
	uint8_t b[128];
	uint32_t len;       /* whole frame */
	uint32_t hdr_len;   /* bytes the feeder rebuilds (multiple of 8) */
	uint32_t src_off;   /* offset of the source address's last 4 bytes */
};

struct run_out {
	uint32_t retval;
	uint32_t duration;  /* ns per repetition */
	uint8_t data[256];
	uint32_t len;
};

/* A UDP frame to dst:80 from the client base (IPv4 a.b.c.d, IPv6 fd00:1::/96 + base). */
void build_frame(struct frame *f, int family, bool vlan, const char *dst, uint32_t base);
#define TCP_FLAG_SYN_ 0x02
#define TCP_FLAG_ACK_ 0x10
/* A TCP segment (IPv4, 64 bytes) from port 40000 of client base to dst:80 with these flags. */
void build_tcp_frame(struct frame *f, const char *dst, uint32_t base, uint8_t flags);
/* The source address (host order) the feeder writes for packet `seq` with random_src set. */
uint32_t feeder_random_src(uint64_t seq);
/* What the feeder puts in front of the program for client number `client`. */
void frame_for_client(const struct frame *f, uint32_t base, uint32_t client, uint8_t *out);
/* Point the feeder at a frame and a client set; the counter is left alone,
 * random sources are turned off (set b->feed->bss->random_src after it). */
void feeder_set(struct bench *b, const struct frame *f, uint32_t base, uint32_t nclients, bool fresh);
/* The program the feeder tail-calls; -1: none (the feeder alone). */
int feeder_target(struct bench *b, int prog_fd);
/* One test run of `repeat` repetitions (b->ingress_ifindex, b->restore_len apply). */
int feeder_run(struct bench *b, const struct frame *f, uint32_t repeat, struct run_out *o);
/* The runs a case is checked with before it is timed: client seq alone twice
 * (o[0], o[1]), then clients seq-1 and seq with repeat=2 (o[2], whose output
 * is repetition 2's): 0 or -errno. */
int feeder_run_checks(struct bench *b, const struct frame *f, uint64_t seq, struct run_out o[3]);

/* ---- the sections -------------------------------------------------------------- */

int ns_section(struct bench *b);
int flood_section(struct bench *b);
int e2e_section(struct bench *b);
int refresh_section(struct bench *b);
int maglev_section(struct bench *b);
int probe_section(struct bench *b);
int memory_section(struct bench *b);
int control_section(struct bench *b);
int decap_section(struct bench *b);
int encap_section(struct bench *b);
int trace_section(struct bench *b);
/* The Internet checksum of len bytes (len even), ready to store big endian. */
uint16_t bench_ip_csum(const uint8_t *p, int len);

#endif /* TENACE_BENCH_COMMON_H */
