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
 * After Tenace's row `name` (its JSON object is the last of `cases`): time
 * Katran on the same frame and client set, print its line, add katran_ns,
 * tenace_over_katran and target to the row. Rows without a Katran target
 * (IPv6, VLAN) are left alone. A failure is counted in b->failures.
 */
void katran_ns_row(struct bench *b, const char *name, const struct frame *f, uint32_t base,
		   uint32_t nclients, bool fresh, json_object *cases);

/* End of the ns section: the evicting row if the section had none (Katran
 * alone), Katran's configuration under sec's "katran", then close it
 * (sec NULL: the section failed, only close). */
void katran_ns_finish(struct bench *b, json_object *sec);

struct testbed;

/* After Tenace's e2e row (the last of `rows`): Katran attached to the test
 * bed's balancer interface instead, the same windows; katran_mpps,
 * tenace_over_katran and target (>= 1.3 at 1,000,000 clients) in the row. */
void katran_e2e_row(struct bench *b, const struct testbed *t, int sink_fd, uint32_t nclients, uint32_t base,
		    json_object *rows);

/* End of the e2e section: Katran's method under sec's "katran", then close it. */
void katran_e2e_finish(struct bench *b, json_object *sec);

#endif /* TENACE_BENCH_KATRAN_H */
