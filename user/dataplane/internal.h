/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Private to user/dataplane/: the loaded data plane and the few helpers its
 * files share. Nothing outside this folder includes it (dataplane.h is the
 * public header).
 */
#ifndef TENACE_DATAPLANE_INTERNAL_H
#define TENACE_DATAPLANE_INTERNAL_H

#include <limits.h>
#include <net/if.h>
#include <stdint.h>
#include "dataplane/dataplane.h"

struct tenace;

/* Maps that outlive the program: pinned by name under the pin directory. */
#define TN_DP_NPINNED 17
extern const char *const tn_dp_pinned_maps[TN_DP_NPINNED];

struct tn_dp {
	struct tenace *skel;
	char pin_dir[PATH_MAX];
	struct tn_dp_settings settings;
	uint32_t value_size;   /* inner farm map value size */
	int ncpus;
	/* kernel ids of the maps above once loaded: what identifies this
	 * instance in a program attached to an interface */
	uint32_t map_ids[TN_DP_NPINNED];
	/* maps of an older layout moved aside during a load (the settings of
	 * version 1, counters of fewer reasons), put back if the load fails */
	int aside_fd[2];
	const char *aside_name[2];
	int naside;
	/* conntrack4_sets mapped (conntrack.c) */
	struct tn_ct4_set *ct4;
	size_t ct4_len;
	uint32_t ct4_nsets;
};

/* The name of an interface, or "#N" when it has none (buf: IF_NAMESIZE). */
const char *tn_dp_ifname(int ifindex, char *buf);

/* The packet path's clock (clock.c): CLOCK_MONOTONIC_COARSE ns as
 * jiffies * ns_per_jiffy + offset_ns; ns_per_jiffy 0 when unknown. */
struct tn_dp_clock {
	uint64_t ns_per_jiffy, offset_ns;
};
/* 0, or -errno (warned; c left zero: the program reads the coarse clock). */
int tn_dp_clock_probe(struct tn_dp_clock *c);

/* conntrack4_sets mapped into dp (after the load), unmapped; 0 or -errno (logged). */
int tn_dp_ct4_map(struct tn_dp *dp);
void tn_dp_ct4_unmap(struct tn_dp *dp);
/* The clients of an earlier build's IPv4 conntrack (an LRU pinned as
 * conntrack4) written into conntrack4_sets, its pin removed. 0 or -errno. */
int tn_dp_ct4_carry_over(struct tn_dp *dp);

/* Pin directories (pins.c), the steps of tn_dp_open that touch bpffs. */
/* Point every pinned map of the skeleton at pin_dir; migrate or refuse
 * pinned maps of another layout. 0 or -errno (logged). */
int tn_dp_pins_prepare(struct tn_dp *dp);
/* The VIP address bitmap made again from the VIP map (at each open: pins of
 * an older Tenace have none). */
int tn_dp_vip_bits_sync(struct tn_dp *dp);
/* After a failed load: put back what tn_dp_pins_prepare moved aside. */
void tn_dp_pins_restore(struct tn_dp *dp);
/* After a successful load: forget what was moved aside. */
void tn_dp_pins_commit(struct tn_dp *dp);
/* The value of a settings map, version 1 or 2 (version 1 reads with an
 * empty pin_dir): 0, -ENOENT (never written), -EPROTO (unknown layout). */
int tn_dp_settings_read_fd(int fd, struct tn_settings *out);

#endif /* TENACE_DATAPLANE_INTERNAL_H */
