/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The controller without BPF, shared by the controller's unit tests: a
 * recording backend stands in for the data plane (it keeps each slot's
 * whole value, built by tn_farm_compose as the data plane builds it, and a
 * conntrack the test fills), the fixture configuration, and API helpers.
 * Include once per test program, after cmocka.h.
 */
#ifndef TENACE_TEST_CTL_FIXTURE_H
#define TENACE_TEST_CTL_FIXTURE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctl_start.h"
#include "api/api.h"
#include "config/config.h"
#include "control/controller.h"
#include "lib/log.h"

/* ---- recording backend ------------------------------------------------------- */

struct rec_farm {
	bool used;
	struct tn_dp_farm f;
	struct tn_dp_server servers[64];
	uint64_t generation;
	int writes;
	struct tn_farm *value;   /* the slot's whole value as the data plane would hold it */
};

#define REC_TABLE_SIZE 1021  /* the fixture's tableSize */
#define REC_SEED 0
#define REC_CT_MAX 512

static struct rec {
	struct rec_farm farms[TN_MAX_FARMS];
	int writes, clears, vip_replaces, filter_sets;
	size_t nvips;
	struct tn_vip_key vip_keys[256];
	struct tn_vip vip_vals[256];
	int resolve_err;     /* what resolve returns for 10.0.0.66 */
	int resolves_66;     /* resolve calls for 10.0.0.66 */
	int fail_writes;
	uint8_t fail_proto;  /* writes of this farm fail (proto 0: none) */
	uint32_t fail_farm;
	int fail_reads;      /* reads of a used slot fail with -EIO this many times */
	int reads_failed;
	const char *snap_from, *snap_to; /* at the next farm write: copy this file (a SIGKILL's view) */
	struct tn_ct_clock clk;          /* the conntrack's clock */
	struct tn_ct_key ct_keys[REC_CT_MAX];
	struct tn_ct_value ct_vals[REC_CT_MAX];
	size_t nct;
	int builds, ct_walks;
} rec;

static inline void copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "r"), *out = fopen(to, "w");
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

static inline int rec_farm_write(void *ctx, uint32_t slot, const struct tn_dp_farm *f, uint64_t *gen)
{
	struct rec_farm *r = &rec.farms[slot];

	if (rec.fail_writes || (rec.fail_proto == f->proto && rec.fail_farm == f->farm_id))
		return -EIO;
	assert_true(f->nservers <= 64);
	if (rec.snap_from) {
		copy_file(rec.snap_from, rec.snap_to);
		rec.snap_from = NULL;
	}
	if (!r->value && !(r->value = calloc(1, sizeof(*r->value))))
		return -ENOMEM;
	if (tn_farm_compose(r->used ? r->value : NULL, f, REC_TABLE_SIZE, REC_SEED, r->value))
		return -EINVAL;
	r->used = true;
	r->f = *f;
	if (f->nservers)
		memcpy(r->servers, f->servers, f->nservers * sizeof(*f->servers));
	r->f.servers = r->servers;
	r->generation++;
	r->writes++;
	rec.writes++;
	if (gen)
		*gen = r->generation;
	return 0;
}

static inline int rec_farm_clear(void *ctx, uint32_t slot)
{
	free(rec.farms[slot].value);
	memset(&rec.farms[slot], 0, sizeof(rec.farms[slot]));
	rec.clears++;
	return 0;
}

static inline int rec_farm_read(void *ctx, uint32_t slot, struct tn_farm_hdr *hdr, struct tn_server *servers)
{
	struct rec_farm *r = &rec.farms[slot];

	if (!r->used)
		return -ENOENT;
	if (rec.fail_reads > 0) {
		rec.fail_reads--;
		rec.reads_failed++;
		return -EIO;
	}
	if (r->value) { /* the whole value, as the data plane holds it (slots, incarnations, flags) */
		if (hdr)
			*hdr = r->value->hdr;
		if (servers)
			memcpy(servers, r->value->servers, sizeof(r->value->servers));
		return 0;
	}
	if (hdr) {
		memset(hdr, 0, sizeof(*hdr));
		hdr->farm_id = r->f.farm_id;
		hdr->proto = r->f.proto;
		hdr->generation = r->generation;
	}
	if (hdr)
		hdr->nservers = (uint16_t)r->f.nservers;
	/* as the data plane keeps them: identity (address, port), up and backup flags */
	if (servers)
		for (size_t i = 0; i < r->f.nservers; i++) {
			const struct tn_dp_server *d = &r->servers[i];

			servers[i].flags = TN_SRV_F_USED | (d->up && !d->backup ? TN_SRV_F_UP : 0) |
					   (d->backup ? TN_SRV_F_BACKUP : 0);
			servers[i].server_id = d->server_id;
			servers[i].family = d->family;
			memcpy(servers[i].addr, d->addr, sizeof(servers[i].addr));
			servers[i].port = d->port;
		}
	return 0;
}

static inline int rec_vips_replace(void *ctx, const struct tn_vip_key *k, const struct tn_vip *v, size_t n)
{
	assert_true(n <= 256);
	if (n) {
		memcpy(rec.vip_keys, k, n * sizeof(*k));
		memcpy(rec.vip_vals, v, n * sizeof(*v));
	}
	rec.nvips = n;
	rec.vip_replaces++;
	return 0;
}

static inline int rec_filters_set(void *ctx, uint32_t idx, bool allow, const struct tn_dp_prefix *p, size_t n)
{
	rec.filter_sets++;
	return 0;
}

static inline int rec_resolve(void *ctx, const struct tn_addr *a, bool have_mac, bool trigger,
		       struct tn_neigh_info *out, char *err, size_t errlen)
{
	if (a->family == 4 && a->bytes[3] == 66)
		rec.resolves_66++;
	if (a->family == 4 && a->bytes[3] == 66 && rec.resolve_err) {
		snprintf(err, errlen, "MAC address of 10.0.0.66 not resolved");
		return rec.resolve_err;
	}
	out->ifindex = 7;
	memset(out->src_mac, 0xaa, 6);
	if (!have_mac)
		memcpy(out->mac, (uint8_t[]){ 2, 0, 0, 0, 0, a->bytes[3] }, 6);
	return 0;
}

/* What a write would swap in, from the slot's value: the data plane's own composition. */
static inline int rec_farm_build(void *ctx, int slot, const struct tn_dp_farm *f, struct tn_farm *out)
{
	const struct tn_farm *old = slot >= 0 && rec.farms[slot].used ? rec.farms[slot].value : NULL;

	rec.builds++;
	return tn_farm_compose(old, f, REC_TABLE_SIZE, REC_SEED, out);
}

static inline int rec_farm_table(void *ctx, uint32_t slot, struct tn_farm_hdr *hdr, struct tn_server *servers,
				 uint16_t *table)
{
	const struct rec_farm *r = &rec.farms[slot];

	if (!r->used || !r->value)
		return -ENOENT;
	*hdr = r->value->hdr;
	memcpy(servers, r->value->servers, sizeof(r->value->servers));
	memcpy(table, r->value->table, REC_TABLE_SIZE * sizeof(*table));
	return 0;
}

static inline int rec_ct_foreach(void *ctx, tn_ct_fn fn, void *arg)
{
	int rc = 0;

	rec.ct_walks++;
	for (size_t i = 0; i < rec.nct && !rc; i++)
		rc = fn(arg, &rec.clk, &rec.ct_keys[i], &rec.ct_vals[i]);
	return rc;
}

static struct tn_ctl_backend backend = {
	.farm_write = rec_farm_write,
	.farm_clear = rec_farm_clear,
	.farm_read = rec_farm_read,
	.vips_replace = rec_vips_replace,
	.filters_set = rec_filters_set,
	.resolve = rec_resolve,
	.farm_build = rec_farm_build,
	.farm_table = rec_farm_table,
	.ct_foreach = rec_ct_foreach,
};

/* ---- fixtures -------------------------------------------------------------------- */

static const char *base_config =
	"{\"zone\": \"rbx\", \"interfaces\": [\"eth0\"], \"tableSize\": 1021,"
	" \"farms\": ["
	"  {\"farmId\": 1, \"type\": \"tcp\", \"port\": 80, \"stickiness\": \"sourceIp\","
	"   \"probe\": {\"type\": \"tcp\", \"interval\": 1},"
	"   \"servers\": [{\"serverId\": 1, \"address\": \"10.0.0.1\"}, {\"serverId\": 2, \"address\": \"10.0.0.2\"}]},"
	"  {\"farmId\": 2, \"type\": \"tcp\", \"zone\": \"gra\", \"port\": 443,"
	"   \"servers\": [{\"serverId\": 1, \"address\": \"10.0.0.11\"}]},"
	"  {\"farmId\": 1, \"type\": \"udp\", \"port\": 53,"
	"   \"servers\": [{\"serverId\": 1, \"address\": \"10.0.0.21\", \"backup\": true, \"mac\": \"02:11:22:33:44:55\"}]}"
	" ],"
	" \"frontends\": ["
	"  {\"frontendId\": 1, \"type\": \"tcp\", \"vip\": [\"192.0.2.1\"], \"port\": \"80\", \"defaultFarmId\": 1,"
	"   \"deniedSource\": [\"198.51.100.0/24\"]},"
	"  {\"frontendId\": 2, \"type\": \"tcp\", \"vip\": [\"192.0.2.2\"], \"port\": \"443,8443\", \"defaultFarmId\": 2, \"zone\": \"gra\"},"
	"  {\"frontendId\": 1, \"type\": \"udp\", \"vip\": [\"192.0.2.1\"], \"port\": \"53\", \"defaultFarmId\": 1}"
	" ]}";

static struct tn_ctl *ctl;

static inline int setup(void **state)
{
	memset(&rec, 0, sizeof(rec));
	tn_log_set_level(TN_LOG_ERROR);
	ctl = ctl_start(base_config, &backend);
	return ctl ? 0 : -1;
}

static inline int teardown(void **state)
{
	tn_ctl_free(ctl);
	ctl = NULL;
	for (int i = 0; i < TN_MAX_FARMS; i++)
		free(rec.farms[i].value);
	memset(&rec, 0, sizeof(rec));
	return 0;
}

/* One API request; returns the status, *out the JSON (caller puts). */
static inline int req(const char *method, const char *url, const char *body, json_object **out)
{
	struct tn_api_response r;
	int status;

	tn_api_dispatch(ctl, method, url, body, body ? strlen(body) : 0, &r);
	status = r.status;
	if (out)
		*out = r.json ? json_object_get(r.json) : NULL;
	tn_api_response_free(&r);
	return status;
}

static inline char *config_text(void)
{
	json_object *o = NULL;
	char *s;

	assert_int_equal(req("GET", "/v1/config", NULL, &o), 200);
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static inline const char *str_field(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

static inline int pending(const char *zone)
{
	int n;

	tn_ctl_lock(ctl);
	n = tn_ctl_pending_count(ctl, zone);
	tn_ctl_unlock(ctl);
	return n;
}

static inline void run_tasks(void)
{
	tn_ctl_run_tasks(ctl);
}

enum { TN_TEST_DONE, TN_TEST_ERROR };

/* POST /v1/refresh (zone NULL: all), run it; the task's status, and its
 * message in *message (malloc'd) when asked. */
static inline int refresh_status(const char *zone, char **message)
{
	json_object *o = NULL;
	char body[128], url[64];
	uint32_t id;
	int done;

	snprintf(body, sizeof(body), zone ? "{\"zone\": \"%s\"}" : "{}", zone);
	assert_int_equal(req("POST", "/v1/refresh", body, &o), 200);
	id = json_object_get_int(json_object_object_get(o, "id"));
	json_object_put(o);
	run_tasks();
	snprintf(url, sizeof(url), "/v1/task/%u", id);
	assert_int_equal(req("GET", url, NULL, &o), 200);
	done = !strcmp(str_field(o, "status"), "done");
	if (!done)
		assert_string_equal(str_field(o, "status"), "error");
	if (message)
		*message = strdup(str_field(o, "message") ? str_field(o, "message") : "");
	json_object_put(o);
	return done ? TN_TEST_DONE : TN_TEST_ERROR;
}

/* A refresh of every zone, run: its task id. */
static inline uint32_t refresh_run(void)
{
	json_object *o = NULL;
	uint32_t id;

	assert_int_equal(req("POST", "/v1/refresh", "{}", &o), 200);
	id = (uint32_t)json_object_get_int(json_object_object_get(o, "id"));
	json_object_put(o);
	run_tasks();
	return id;
}

static inline struct rec_farm *farm_rec(enum tn_l4_type t, uint32_t id)
{
	int slot;

	tn_ctl_lock(ctl);
	slot = tn_ctl_farm_slot(ctl, t, id);
	tn_ctl_unlock(ctl);
	assert_true(slot >= 0);
	return &rec.farms[slot];
}

#endif /* TENACE_TEST_CTL_FIXTURE_H */
