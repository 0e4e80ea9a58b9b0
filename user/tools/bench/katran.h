/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Meta's Katran beside Tenace in the ns section (katran.c): `tenace bench
 * --katran PATH` opens a balancer.bpf.o built from Katran's sources (never
 * shipped with Tenace; see README), configures it as Katran's user space does
 * (one VIP, 8 reals, a 65537-entry Maglev ring, one LRU per CPU, IPIP) and
 * times it through the same feeder as Tenace, row by row.
 */
#ifndef TENACE_BENCH_KATRAN_H
#define TENACE_BENCH_KATRAN_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

struct bench;
struct frame;

/* The object given with --katran (NULL: not given, the rows say so). */
extern const char *katran_obj;

/*
 * Katran on Tenace's row `name`, the same frame and client set, its
 * repetitions interleaved with Tenace's (a noisy machine slows both alike):
 * katran_ns_begin verifies and warms it (NULL: the row has no Katran target,
 * as IPv6 and VLAN), katran_ns_rep runs its repetition i after Tenace's,
 * katran_ns_end (after Tenace's JSON object, the last of `cases`) prints its
 * line, adds katran_ns, tenace_over_katran and target to the row, and frees
 * the row. A failure is said and counted in b->failures; Tenace's row goes on.
 */
struct katran_row;
struct katran_row *katran_ns_begin(struct bench *b, const char *name, const struct frame *f, uint32_t base,
				   uint32_t nclients, bool fresh);
void katran_ns_rep(struct bench *b, struct katran_row *kr, int i);
void katran_ns_end(struct bench *b, struct katran_row *kr, json_object *cases);

/* End of the ns section: the evicting row if the section had none (Katran
 * alone), Katran's configuration under sec's "katran", then close it
 * (sec NULL: the section failed, only close). */
void katran_ns_finish(struct bench *b, json_object *sec);

struct testbed;

/* Katran on an e2e row, its windows alternating with the baseline's and
 * Tenace's: katran_e2e_begin attaches it to the test bed's balancer
 * interface and sends every client once (after Tenace's warm-up),
 * katran_e2e_rep runs its window r (attached for it), katran_e2e_end (after
 * Tenace's row, the last of `rows`) prints its line, adds katran_mpps,
 * tenace_over_katran and target (>= 1.3 at 1,000,000 clients) and frees it. */
struct katran_e2e;
struct katran_e2e *katran_e2e_begin(struct bench *b, const struct testbed *t, int sink_fd, uint32_t nclients,
				    uint32_t base);
void katran_e2e_rep(struct bench *b, struct katran_e2e *ke, int r);
void katran_e2e_end(struct bench *b, struct katran_e2e *ke, json_object *rows);

/* End of the e2e section: Katran's method under sec's "katran", then close it. */
void katran_e2e_finish(struct bench *b, json_object *sec);

#endif /* TENACE_BENCH_KATRAN_H */
