/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A farm's table as the data plane holds it, and its digest: what every
 * node of a fleet must agree on, so that a client keeps its server whichever
 * node ECMP sends it to. The digest is SHA-256 over, in this order:
 *
 *   "tenace farm table v1\n"
 *   "<tcp|udp> farm <farmId> size <tableSize>\n"
 *   one line per server, by serverId:
 *   "server <serverId> <address> <port> weight <weight> <up|down> <primary|backup>\n"
 *   "entries\n"
 *   then each table entry's serverId as 4 bytes, big endian (0xffffffff: none)
 *
 * and over nothing that is the node's own: slots, interfaces, MACs and the
 * generation differ from node to node and are left out.
 */
#ifndef TENACE_CONTROL_TABLE_H
#define TENACE_CONTROL_TABLE_H

#include <json-c/json.h>
#include "config/config.h"
#include "tenace.h"

/* {"type", "farmId", "generation", "tableSize", "servers": [{"serverId",
 * "address", "port", "weight", "state", "backup", "entries"}], "entries":
 * [serverId or null, ...], "digest": "sha256:<hex>"}. f (the applied farm)
 * gives each server's address and port; NULL on allocation failure. */
json_object *tn_farm_table_json(enum tn_l4_type t, const struct tn_farm_hdr *hdr, const struct tn_server *servers,
				const uint16_t *table, const struct tn_farm_cfg *f);

#endif /* TENACE_CONTROL_TABLE_H */
