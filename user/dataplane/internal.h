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
#define TN_DP_NPINNED 10
extern const char *const tn_dp_pinned_maps[TN_DP_NPINNED];

struct tn_dp {
	struct tenace *skel;
	char pin_dir[PATH_MAX];
	struct tn_dp_settings settings;
	uint32_t value_size;   /* inner farm map value size */
	int ncpus;
};

/* The name of an interface, or "#N" when it has none (buf: IF_NAMESIZE). */
const char *tn_dp_ifname(int ifindex, char *buf);

/* Pin directories (pins.c), the steps of tn_dp_open that touch bpffs. */
/* The pin directory exists and is on a bpffs: 0 or -errno (logged). */
int tn_dp_pin_dir_check(const struct tn_dp *dp);
/* Point every pinned map of the skeleton at pin_dir. 0 or -errno (logged). */
int tn_dp_pins_prepare(struct tn_dp *dp);

#endif /* TENACE_DATAPLANE_INTERNAL_H */
