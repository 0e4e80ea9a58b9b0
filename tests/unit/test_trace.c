/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tenace trace without a data plane: the filter options into the session the
 * program reads (addresses, ports and masks in the layout it compares), their
 * errors, and an event printed as a line and as JSON. The traces themselves
 * run against real traffic in tests/integration/trace.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "dataplane/dataplane.h"
#include "lib/log.h"
#include "trace/trace.h"

static void test_vip(void **state)
{
	struct tn_trace_session f;
	uint8_t v6[16];

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(tn_trace_parse_vip("10.0.0.1", &f), 0);
	assert_int_equal(f.flags, TN_TF_VIP);
	assert_int_equal(f.vip_family, 4);
	assert_memory_equal(f.vip_addr, "\x0a\x00\x00\x01\0\0\0\0\0\0\0\0\0\0\0\0", 16);

	memset(&f, 0, sizeof(f));
	assert_int_equal(tn_trace_parse_vip("10.0.0.1:443/udp", &f), 0);
	assert_int_equal(f.flags, TN_TF_VIP | TN_TF_VIP_PORT | TN_TF_VIP_PROTO);
	assert_int_equal(f.vip_port, htons(443));
	assert_int_equal(f.vip_proto, IPPROTO_UDP);

	memset(&f, 0, sizeof(f));
	inet_pton(AF_INET6, "fd00::1", v6);
	assert_int_equal(tn_trace_parse_vip("[fd00::1]:80/tcp", &f), 0);
	assert_int_equal(f.vip_family, 6);
	assert_memory_equal(f.vip_addr, v6, 16);
	assert_int_equal(f.vip_port, htons(80));
	assert_int_equal(f.vip_proto, IPPROTO_TCP);
	memset(&f, 0, sizeof(f));
	assert_int_equal(tn_trace_parse_vip("fd00::1", &f), 0);
	assert_int_equal(f.flags, TN_TF_VIP);

	assert_int_equal(tn_trace_parse_vip("10.0.0.1:0", &f), -EINVAL);
	assert_int_equal(tn_trace_parse_vip("10.0.0.1/sctp", &f), -EINVAL);
	assert_int_equal(tn_trace_parse_vip("10.0.0.300", &f), -EINVAL);
	memset(&f, 0, sizeof(f));
	assert_int_equal(tn_trace_parse_vip("fd00::1:80", &f), 0); /* an IPv6 address, no port: [..]:P for one */
	assert_int_equal(f.flags, TN_TF_VIP);
	assert_int_equal(tn_trace_parse_vip("", &f), -EINVAL);
}

static void test_client_server(void **state)
{
	struct tn_trace_session f;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(tn_trace_parse_client("10.1.2.3/16", &f), 0);
	assert_int_equal(f.flags, TN_TF_CLIENT);
	assert_int_equal(f.client_family, 4);
	assert_int_equal(f.client_prefix, 16);
	assert_memory_equal(f.client_addr, "\x0a\x01\x00\x00", 4); /* host bits cleared */
	memset(&f, 0, sizeof(f));
	assert_int_equal(tn_trace_parse_client("fd00::5", &f), 0);
	assert_int_equal(f.client_prefix, 128);
	assert_int_equal(tn_trace_parse_client("10.1.2.3/33", &f), -EINVAL);
	assert_int_equal(tn_trace_parse_client("nothing", &f), -EINVAL);

	memset(&f, 0, sizeof(f));
	assert_int_equal(tn_trace_parse_server("7/12", &f), 0);
	assert_int_equal(f.flags, TN_TF_SERVER);
	assert_int_equal(f.farm_id, 7);
	assert_int_equal(f.server_id, 12);
	assert_int_equal(tn_trace_parse_server("7", &f), -EINVAL);
	assert_int_equal(tn_trace_parse_server("7/", &f), -EINVAL);
	assert_int_equal(tn_trace_parse_server("a/1", &f), -EINVAL);
	assert_int_equal(tn_trace_parse_server("1/2/3", &f), -EINVAL);
}

static void test_reasons_rate(void **state)
{
	struct tn_trace_session f;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(tn_trace_parse_reasons("drop_filtered,conntrack_new", &f), 0);
	assert_int_equal(f.flags, TN_TF_REASON);
	assert_true(f.reasons == ((1ULL << TN_R_DROP_FILTERED) | (1ULL << TN_R_CT_NEW)));
	assert_int_equal(tn_trace_parse_reasons("conntrack_nwe", &f), -EINVAL);
	assert_int_equal(tn_trace_parse_reasons(",", &f), -EINVAL);
	/* every reason the stats name can be asked for, and fits the mask */
	assert_true(TN_R__COUNT <= 64);
	for (int r = 0; r < TN_R__COUNT; r++) {
		memset(&f, 0, sizeof(f));
		assert_int_equal(tn_trace_parse_reasons(tn_reason_name((enum tn_reason)r), &f), 0);
		assert_true(f.reasons == 1ULL << r);
	}

	memset(&f, 0, sizeof(f));
	assert_int_equal(tn_trace_parse_rate("100/s", &f), 0);
	assert_int_equal(f.flags, TN_TF_RATE);
	assert_int_equal(f.interval_ns, 10000000);
	assert_int_equal(tn_trace_parse_rate("3", &f), 0);
	assert_int_equal(f.interval_ns, 333333333);
	assert_int_equal(tn_trace_parse_rate("0/s", &f), -EINVAL);
	assert_int_equal(tn_trace_parse_rate("10/m", &f), -EINVAL);
	assert_int_equal(tn_trace_parse_rate("/s", &f), -EINVAL);
}

static void test_args(void **state)
{
	char *ok[] = { "trace", "--vip", "10.0.0.1:80", "--client", "10.9.0.0/16", "--server", "1/2",
		       "--reason", "xdp_tx", "--rate", "5/s", "--count", "10", "-j", "-w", "x.pcap",
		       "--pin-dir", "/sys/fs/bpf/t", NULL };
	char *bad_count[] = { "trace", "--count", "0", NULL };
	char *extra[] = { "trace", "eth0", NULL };
	struct tn_trace_opts o;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(tn_trace_parse_args(18, ok, &o), 0);
	assert_int_equal(o.filter.flags, TN_TF_VIP | TN_TF_VIP_PORT | TN_TF_CLIENT | TN_TF_SERVER | TN_TF_REASON | TN_TF_RATE);
	assert_int_equal(o.count, 10);
	assert_true(o.json);
	assert_string_equal(o.pcap, "x.pcap");
	assert_string_equal(o.pin_dir, "/sys/fs/bpf/t");
	memset(&o, 0, sizeof(o));
	assert_int_equal(tn_trace_parse_args(3, bad_count, &o), -EINVAL);
	memset(&o, 0, sizeof(o));
	assert_int_equal(tn_trace_parse_args(2, extra, &o), -EINVAL);
	assert_string_equal(o.pin_dir, TN_PIN_DIR_DEFAULT);
}

/* A forwarded packet of client 10.1.0.5:40000 to 10.0.0.1:80/tcp, new, to server 3 of farm 2. */
static void make_event(struct tn_trace_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->family = 4;
	ev->proto = IPPROTO_TCP;
	memcpy(ev->client, "\x0a\x01\x00\x05", 4);
	memcpy(ev->vip, "\x0a\x00\x00\x01", 4);
	ev->client_port = htons(40000);
	ev->vip_port = htons(80);
	ev->reason = TN_R_TX;
	ev->reasons = (1ULL << TN_R_CT_NEW) | (1ULL << TN_R_TX);
	ev->ct = TN_R_CT_NEW;
	ev->farm_id = 2;
	ev->generation = 17;
	ev->server_id = 3;
	ev->slot = 1;
	ev->why = TN_WHY_TABLE;
	ev->flags = TN_TE_F_FARM | TN_TE_F_SERVER;
	ev->action = 3;
	ev->sessions = 4;
	ev->in_len = ev->out_len = 74;
}

static void test_format(void **state)
{
	struct tn_trace_event ev;
	char line[512];
	double wall = 1764642311.25; /* 2025-12-02T02:25:11.25Z */

	(void)state;
	make_event(&ev);
	tn_trace_format(&ev, wall, line, sizeof(line));
	assert_string_equal(line, "02:25:11.250000 10.1.0.5:40000 -> 10.0.0.1:80/tcp xdp_tx ct new farm 2 gen 17 "
				  "server 3 (slot 1, table)");
	ev.reason = TN_R_DROP_FILTERED;
	ev.reasons = 1ULL << TN_R_DROP_FILTERED;
	ev.ct = TN_TRACE_CT_NONE;
	ev.flags = 0;
	tn_trace_format(&ev, wall, line, sizeof(line));
	assert_string_equal(line, "02:25:11.250000 10.1.0.5:40000 -> 10.0.0.1:80/tcp drop_filtered ct - farm - server -");
	ev.family = 0;
	tn_trace_format(&ev, wall, line, sizeof(line));
	assert_string_equal(line, "02:25:11.250000 - -> -/- drop_filtered ct - farm - server -");
	assert_string_equal(tn_trace_why_name(TN_WHY_BACKUP), "backup");
	assert_string_equal(tn_trace_why_name(200), "-");
	assert_string_equal(tn_trace_ct_name(TN_R_CT_RESCHEDULED), "rescheduled");
}

static void test_json(void **state)
{
	struct tn_trace_event ev;
	json_object *j;

	(void)state;
	make_event(&ev);
	j = tn_trace_event_json(&ev, 1764642311.25);
	assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
			    "{\"time\":\"2025-12-02T02:25:11.250000Z\",\"ktime_ns\":0,\"client\":\"10.1.0.5\","
			    "\"client_port\":40000,\"vip\":\"10.0.0.1\",\"vip_port\":80,\"proto\":\"tcp\","
			    "\"reason\":\"xdp_tx\",\"reasons\":[\"conntrack_new\",\"xdp_tx\"],\"conntrack\":\"new\","
			    "\"action\":\"tx\",\"farm\":2,\"generation\":17,\"server\":3,\"slot\":1,\"why\":\"table\","
			    "\"fragment\":false,\"icmp_error\":false,\"sessions\":4,\"bytes_in\":74,\"bytes_out\":74,"
			    "\"cpu\":0}");
	json_object_put(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vip),
		cmocka_unit_test(test_client_server),
		cmocka_unit_test(test_reasons_rate),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
