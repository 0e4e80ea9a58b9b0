/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The controller's tunnel hooks without BPF: a recording backend answers
 * the FIB. A tunnelling farm is written with its forwarding and no MAC
 * resolution, its servers up whatever their next hop; the encapSource set
 * reaches the data plane; the next hops' interfaces become redirect ports;
 * status names each next hop, or why it is unresolved (counted out of
 * serversUp); the tick asks the kernel to resolve a missing next hop.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include "ctl_start.h"
#include "api/api.h"
#include "config/config.h"
#include "control/controller.h"
#include "lib/log.h"

static struct {
	struct tn_dp_farm f;
	struct tn_dp_server servers[8];
	int writes, resolves, nsources, triggers;
	struct tn_addr sources[4];
	uint32_t tx[8];
	size_t ntx;
} rec;

static int rec_farm_write(void *ctx, uint32_t slot, const struct tn_dp_farm *f, uint64_t *gen)
{
	assert_true(f->nservers <= 8);
	rec.f = *f;
	memcpy(rec.servers, f->servers, f->nservers * sizeof(*f->servers));
	rec.writes++;
	*gen = (uint64_t)rec.writes;
	return 0;
}

static int rec_resolve(void *ctx, const struct tn_addr *a, bool have_mac, bool trigger,
		       struct tn_neigh_info *out, char *err, size_t errlen)
{
	rec.resolves++;
	snprintf(err, errlen, "no MAC wanted for a tunnel");
	return -EHOSTUNREACH;
}

static int rec_tx_port_add(void *ctx, uint32_t ifindex)
{
	if (rec.ntx < 8)
		rec.tx[rec.ntx++] = ifindex;
	return 0;
}

static int rec_sources_set(void *ctx, const struct tn_addr *a, size_t n)
{
	assert_true(n <= 4);
	memcpy(rec.sources, a, n * sizeof(*a));
	rec.nsources = (int)n;
	return 0;
}

/* 10.1.0.1 resolved through ifindex 9 via 10.0.0.254; 10.1.0.2: no MAC yet */
static int rec_nexthop(void *ctx, uint32_t in, const struct tn_addr *src, const struct tn_addr *dst, bool trigger,
		       struct tn_nexthop *nh)
{
	memset(nh, 0, sizeof(*nh));
	assert_int_equal(tn_addr_parse("10.0.0.254", &nh->via), 0);
	nh->ifindex = 9;
	nh->rc = dst->bytes[3] == 1 ? BPF_FIB_LKUP_RET_SUCCESS : BPF_FIB_LKUP_RET_NO_NEIGH;
	rec.triggers += trigger && nh->rc;
	return 0;
}

static struct tn_ctl_backend backend = {
	.farm_write = rec_farm_write,
	.resolve = rec_resolve,
	.tx_port_add = rec_tx_port_add,
	.encap_sources_set = rec_sources_set,
	.nexthop = rec_nexthop,
};

static const char *config =
	"{\"interfaces\": [\"lo\"], \"tableSize\": 1021,"
	" \"farms\": [{\"farmId\": 1, \"type\": \"tcp\", \"port\": 80, \"forwarding\": \"gue\","
	"   \"encapSource\": [\"192.0.2.100\"],"
	"   \"servers\": [{\"serverId\": 1, \"address\": \"10.1.0.1\"}, {\"serverId\": 2, \"address\": \"10.1.0.2\"}]}],"
	" \"frontends\": [{\"frontendId\": 1, \"type\": \"tcp\", \"vip\": [\"192.0.2.1\"], \"port\": \"80\","
	"   \"defaultFarmId\": 1}]}";

static struct tn_ctl *ctl;

static int setup(void **state)
{
	memset(&rec, 0, sizeof(rec));
	tn_log_set_level(TN_LOG_ERROR);
	ctl = ctl_start(config, &backend);
	return ctl ? 0 : -1;
}

static int teardown(void **state)
{
	tn_ctl_free(ctl);
	ctl = NULL;
	return 0;
}

static const char *str_field(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

static void farm_written_without_macs(void **state)
{
	char a[TN_ADDR_TEXT];

	assert_true(rec.writes >= 1);
	assert_int_equal(rec.f.encap.forwarding, TN_FWD_GUE);
	assert_int_equal(rec.f.encap.gue_port, htons(6080));
	assert_true(rec.f.encap.flags & TN_ENCAP_F_SRC4);
	assert_int_equal(rec.f.nservers, 2);
	assert_true(rec.servers[0].up);
	assert_true(rec.servers[1].up); /* kept in the table: the data plane counts the drops */
	assert_int_equal(rec.resolves, 0);
	assert_int_equal(rec.nsources, 1);
	tn_addr_format(&rec.sources[0], a, sizeof(a));
	assert_string_equal(a, "192.0.2.100");
}

static void status_names_next_hops(void **state)
{
	json_object *o = NULL, *farm, *srv, *nh, *up;
	struct tn_api_response r;

	tn_api_dispatch(ctl, "GET", "/v1/status", NULL, 0, &r);
	assert_int_equal(r.status, 200);
	o = json_object_get(r.json);
	tn_api_response_free(&r);
	farm = json_object_array_get_idx(json_object_object_get(o, "farms"), 0);
	assert_string_equal(str_field(farm, "forwarding"), "gue");
	assert_true(json_object_object_get_ex(farm, "serversUp", &up));
	assert_int_equal(json_object_get_int(up), 1);
	srv = json_object_object_get(farm, "servers");
	nh = json_object_object_get(json_object_array_get_idx(srv, 0), "nextHop");
	assert_non_null(nh);
	assert_string_equal(str_field(nh, "via"), "10.0.0.254");
	assert_string_equal(str_field(json_object_array_get_idx(srv, 1), "state"), "unresolved");
	assert_string_equal(str_field(json_object_array_get_idx(srv, 1), "lastError"),
			    "next hop 10.0.0.254: the next hop's MAC is not resolved");
	json_object_put(o);
}

static void tick_resolves_and_adds_ports(void **state)
{
	assert_int_equal(rec.ntx, 1); /* once applied */
	assert_int_equal(rec.tx[0], 9);
	rec.triggers = 0;
	tn_ctl_tick(ctl);
	assert_int_equal(rec.triggers, 1);
	assert_int_equal(rec.ntx, 1); /* known already */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(farm_written_without_macs, setup, teardown),
		cmocka_unit_test_setup_teardown(status_names_next_hops, setup, teardown),
		cmocka_unit_test_setup_teardown(tick_resolves_and_adds_ports, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
