/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* GET /v1/{type}/farm/{id}/table: a farm's table and its digest. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "control/controller.h"
#include "control/table.h"
#include "lib/sha256.h"

struct row {
	uint32_t server_id;
	uint16_t slot;
	char addr[TN_ADDR_TEXT];
	uint16_t port, weight;
	bool up, backup;
	uint32_t entries;
};

static int by_id(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return x->server_id < y->server_id ? -1 : x->server_id > y->server_id;
}

/* The servers in the data plane's slots, by serverId, with their address and
 * port from the applied farm. */
static size_t rows_of(const struct tn_server *servers, size_t nslots, const struct tn_farm_cfg *f, struct row *rows)
{
	size_t n = 0;

	for (size_t i = 0; i < nslots; i++) {
		const struct tn_server *s = &servers[i];
		const struct tn_server_cfg *c;
		struct row *r = &rows[n];

		if (!(s->flags & TN_SRV_F_USED))
			continue;
		memset(r, 0, sizeof(*r));
		r->server_id = s->server_id;
		r->slot = (uint16_t)i;
		r->weight = s->weight;
		r->up = s->flags & TN_SRV_F_UP;
		r->backup = s->flags & TN_SRV_F_BACKUP;
		c = f ? tn_farm_server(f, s->server_id) : NULL;
		if (c) {
			tn_addr_format(&c->address, r->addr, sizeof(r->addr));
			r->port = tn_server_port(f, c);
		} else {
			snprintf(r->addr, sizeof(r->addr), "unknown");
		}
		n++;
	}
	qsort(rows, n, sizeof(*rows), by_id);
	return n;
}

static void digest_text(struct tn_sha256 *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void digest_text(struct tn_sha256 *h, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	tn_sha256_update(h, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

json_object *tn_farm_table_json(enum tn_l4_type t, const struct tn_farm_hdr *hdr, const struct tn_server *servers,
				const uint16_t *table, const struct tn_farm_cfg *f)
{
	struct row *rows = calloc(TN_MAX_SERVERS, sizeof(*rows));
	uint32_t *id_of_slot = calloc(TN_MAX_SERVERS, sizeof(*id_of_slot));
	uint32_t *count = calloc(TN_MAX_SERVERS, sizeof(*count));
	json_object *o, *sv, *ev;
	struct tn_sha256 h;
	uint8_t d[TN_SHA256_LEN];
	char hex[TN_SHA256_HEX], text[8 + TN_SHA256_HEX];
	size_t n, nslots = hdr->nservers < TN_MAX_SERVERS ? hdr->nservers : TN_MAX_SERVERS;

	if (!rows || !id_of_slot || !count) {
		free(rows);
		free(id_of_slot);
		free(count);
		return NULL;
	}
	n = rows_of(servers, nslots, f, rows);
	memset(id_of_slot, 0xff, TN_MAX_SERVERS * sizeof(*id_of_slot));
	tn_sha256_init(&h);
	digest_text(&h, "tenace farm table v1\n%s farm %u size %u\n", tn_l4_type_name(t), hdr->farm_id,
		    hdr->table_size);
	for (size_t i = 0; i < n; i++) {
		id_of_slot[rows[i].slot] = rows[i].server_id;
		digest_text(&h, "server %u %s %u weight %u %s %s\n", rows[i].server_id, rows[i].addr, rows[i].port,
			    rows[i].weight, rows[i].up ? "up" : "down", rows[i].backup ? "backup" : "primary");
	}
	digest_text(&h, "entries\n");
	ev = json_object_new_array_ext((int)hdr->table_size);
	for (uint32_t i = 0; i < hdr->table_size; i++) {
		uint32_t id = table[i] < TN_MAX_SERVERS ? id_of_slot[table[i]] : UINT32_MAX;
		uint8_t be[4] = { (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id };

		tn_sha256_update(&h, be, 4);
		json_object_array_add(ev, id == UINT32_MAX ? NULL : json_object_new_int64(id));
		if (id != UINT32_MAX)
			count[table[i]]++;
	}
	for (size_t i = 0; i < n; i++)
		rows[i].entries = count[rows[i].slot];
	tn_sha256_final(&h, d);
	tn_sha256_hex(d, hex);
	snprintf(text, sizeof(text), "sha256:%s", hex);
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(tn_l4_type_name(t)));
	json_object_object_add(o, "farmId", json_object_new_int64(hdr->farm_id));
	json_object_object_add(o, "generation", json_object_new_int64((int64_t)hdr->generation));
	json_object_object_add(o, "tableSize", json_object_new_int64(hdr->table_size));
	sv = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_new_object();

		json_object_object_add(s, "serverId", json_object_new_int64(rows[i].server_id));
		json_object_object_add(s, "address", json_object_new_string(rows[i].addr));
		json_object_object_add(s, "port", json_object_new_int(rows[i].port));
		json_object_object_add(s, "weight", json_object_new_int(rows[i].weight));
		json_object_object_add(s, "state", json_object_new_string(rows[i].up ? "up" : "down"));
		json_object_object_add(s, "backup", json_object_new_boolean(rows[i].backup));
		json_object_object_add(s, "entries", json_object_new_int64(rows[i].entries));
		json_object_array_add(sv, s);
	}
	json_object_object_add(o, "servers", sv);
	json_object_object_add(o, "entries", ev);
	json_object_object_add(o, "digest", json_object_new_string(text));
	free(rows);
	free(id_of_slot);
	free(count);
	return o;
}

json_object *tn_ctl_farm_table_json(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id, char *err, size_t errlen)
{
	const struct tn_farm_cfg *f = tn_config_farm(tn_ctl_applied(ctl), t, farm_id);
	int slot = tn_ctl_farm_slot(ctl, t, farm_id);
	struct tn_server *servers = calloc(TN_MAX_SERVERS, sizeof(*servers));
	uint16_t *table = calloc(TN_TABLE_SIZE_MAX, sizeof(*table));
	struct tn_farm_hdr hdr;
	json_object *o = NULL;
	int e;

	if (!servers || !table) {
		snprintf(err, errlen, "out of memory");
	} else if (!f || slot < 0) {
		snprintf(err, errlen, "%s farm %u is not in the data plane (not applied yet: tenace refresh)",
			 tn_l4_type_name(t), farm_id);
	} else if ((e = tn_ctl_read_farm(ctl, slot, &hdr, servers, table))) {
		snprintf(err, errlen, "cannot read %s farm %u (slot %d) from the data plane: %s", tn_l4_type_name(t),
			 farm_id, slot, strerror(-e));
	} else if (hdr.table_size > TN_TABLE_SIZE_MAX) {
		snprintf(err, errlen, "%s farm %u: the data plane reports a table of %u entries", tn_l4_type_name(t),
			 farm_id, hdr.table_size);
	} else if (!(o = tn_farm_table_json(t, &hdr, servers, table, f))) {
		snprintf(err, errlen, "out of memory");
	}
	free(servers);
	free(table);
	return o;
}
