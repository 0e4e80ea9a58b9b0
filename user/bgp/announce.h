/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which VIP addresses this node announces: a pure function of the applied
 * configuration, the farms' health, the drain state and whether the data
 * plane serves yet, so that every rule is unit-tested without BIRD.
 *
 * Each announced prefix is a whole address (/32 or /128); the set is kept
 * sorted (IPv4 first, then by bytes) and without duplicates.
 */
#ifndef TENACE_BGP_ANNOUNCE_H
#define TENACE_BGP_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include "config/bgp.h"
#include "config/config.h"
#include "lib/net.h"

struct tn_prefixes {
	struct tn_addr *v;
	size_t n;
};

/* What the controller knows about one farm's servers. */
struct tn_bgp_farm_health {
	int up;       /* servers taking new clients whose health is known good
		       * (probed up, or not probed): resolved, active, weight > 0 */
	bool pending; /* a probed server has no result yet (first probe round) */
};

typedef void (*tn_bgp_health_fn)(void *ctx, enum tn_l4_type t, uint32_t farm_id,
				 struct tn_bgp_farm_health *out);

struct tn_bgp_inputs {
	const struct tn_bgp_cfg *bgp;     /* NULL: no BGP, nothing announced */
	const struct tn_config *applied;  /* what the data plane serves */
	tn_bgp_health_fn health;
	void *health_ctx;
	bool ready;                       /* the data plane serves `applied` */
	bool drained;                     /* tenace node drain */
	const struct tn_prefixes *current;/* announced now (NULL: none) */
};

/*
 * The set to announce. announce "always": every address of an enabled
 * frontend. "healthy": an address while one of its enabled frontends has a
 * farm with a server up; an address whose farms have no server up but are
 * still waiting for their first probe result keeps its current state (so a
 * restarted controller neither announces early nor withdraws a route BIRD
 * still carries). Before ready, the current set stays (nothing for a fresh
 * start; what a BIRD taken over carries for a restart over a running data
 * plane). Nothing while drained, nothing without bgp.
 * 0 (out replaced; free with tn_prefixes_free), or -ENOMEM (out untouched).
 */
int tn_bgp_decide(const struct tn_bgp_inputs *in, struct tn_prefixes *out);

bool tn_prefixes_has(const struct tn_prefixes *p, const struct tn_addr *a);
bool tn_prefixes_equal(const struct tn_prefixes *a, const struct tn_prefixes *b);
/* Add keeping the order and uniqueness: 0 or -ENOMEM. */
int tn_prefixes_add(struct tn_prefixes *p, const struct tn_addr *a);
int tn_prefixes_copy(struct tn_prefixes *dst, const struct tn_prefixes *src);
void tn_prefixes_free(struct tn_prefixes *p);
/* "10.0.0.1/32" or "fd00::1/128". */
void tn_prefix_format(const struct tn_addr *a, char *buf, size_t len);

#endif /* TENACE_BGP_ANNOUNCE_H */
