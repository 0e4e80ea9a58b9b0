/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The servers' side of the tunnels: `tenace decap` loads bpf/decap.bpf.c,
 * attaches it to an interface's TC ingress (decapsulation) and egress (the
 * SYN-ACK MSS clamp) through a clsact qdisc, pins its maps under
 * PIN_DIR/IFACE and exits; the kernel keeps the programs attached.
 *
 * Functions return 0 or a negative errno and log one sentence on failure.
 */
#ifndef TENACE_DECAP_MODULE_H
#define TENACE_DECAP_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tunnel.h"
#include "lib/net.h"

struct tn_decap;

/* TC filter identity of the decap programs (both directions). */
#define TN_DECAP_TC_HANDLE 0x7e4a
#define TN_DECAP_TC_PRIO   0x7e4a

/* Load the programs. pin_dir: the interface's directory (PIN_DIR/IFACE),
 * or "" for no pinning (tests). Pinned maps there are reused (counters
 * survive a re-run). */
int tn_decap_open(struct tn_decap **out, const char *pin_dir);
void tn_decap_close(struct tn_decap *d);
int tn_decap_prog_fd(const struct tn_decap *d, bool egress);
int tn_decap_map_fd(const struct tn_decap *d, const char *name); /* "vips", "stats", ... */

/* The configuration record, if one is pinned: 0 or -ENOENT. */
int tn_decap_config_get(struct tn_decap *d, struct tn_decap_config *out);
/* Write the configuration and replace the VIP set (counters of VIPs that
 * stay are kept). */
int tn_decap_configure(struct tn_decap *d, const struct tn_decap_config *cfg,
		       const struct tn_addr *vips, size_t nvips);

/* Attach both programs to ifindex (creating clsact when absent: *created
 * says so), replacing an earlier decap program without a gap. */
int tn_decap_attach(struct tn_decap *d, int ifindex, bool *created);
/* Remove the filters from ifindex; the clsact qdisc too when own_qdisc. */
int tn_decap_detach(int ifindex, bool own_qdisc);
/* Ids of the programs attached at our filter (0 when none). */
int tn_decap_query(int ifindex, uint32_t *ingress_id, uint32_t *egress_id);

const char *tn_decap_reason_name(enum tn_decap_reason r); /* "decap_ipip4", ... */

/* Every interface with pins under root: its VIPs, settings and counters,
 * as a table or as JSON. 0, or -errno when root cannot be read. */
int tn_decap_status(const char *root, bool json);

/* `tenace decap ...`: argv[0] is "decap"; json from the global -j. */
int tn_decap_main(int argc, char **argv, bool json);

#endif /* TENACE_DECAP_MODULE_H */
