// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of user/config/ (and the lib/jsonget and lib/strdist helpers it
 * reads with): every rule with its exact message, the objects named on error
 * paths, suggestions for typos, defaults, ids, round trips, atomic saves,
 * copies and equality.
 *
 * Documents are written with single quotes and turned into JSON by q(), so
 * that the tests stay readable.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/config.h"
#include "lib/strdist.h"
#include "probe/probe_proto.h"

/* ---- helpers ------------------------------------------------------------ */

/* 'x' -> "x": tests write JSON with single quotes. */
static char *q(const char *s)
{
	char *d = strdup(s), *p;

	assert_non_null(d);
	for (p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

/* Errors of a document joined, or "OK". */
static char *errors_of(const char *doc)
{
	struct tn_errors errs = { 0 };
	struct tn_config c;
	char *text = q(doc), *out;

	if (!tn_config_parse_string(text, &c, &errs)) {
		assert_int_equal(errs.n, 0);
		tn_config_free(&c);
		out = strdup("OK");
	} else {
		assert_true(errs.n > 0);
		out = tn_errors_join(&errs);
	}
	tn_errors_free(&errs);
	free(text);
	return out;
}

static void check_doc(const char *doc, const char *expected)
{
	char *got = errors_of(doc), *want = q(expected);

	if (strcmp(got, want))
		print_error("document: %s\n", doc);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

static void parse_ok(const char *doc, struct tn_config *c)
{
	struct tn_errors errs = { 0 };
	char *text = q(doc);
	int rc = tn_config_parse_string(text, c, &errs);

	if (rc) {
		char *j = tn_errors_join(&errs);

		print_error("unexpected errors: %s\n", j);
		free(j);
	}
	assert_int_equal(rc, 0);
	tn_errors_free(&errs);
	free(text);
}

/* A document must name the interfaces the controller attaches to. */
#define IFACES "'interfaces':['eth0']"
#define EMPTY "{" IFACES "}"
#define FARM1 "{'farmId':1,'type':'tcp','servers':[{'address':'10.0.0.1'}]}"
#define FARMS(x) "{" IFACES ",'farms':[" x "]}"
#define FRONT(x) "{" IFACES ",'farms':[" FARM1 "],'frontends':[" x "]}"
#define SRV(x) FARMS("{'type':'tcp','servers':[" x "]}")
#define PROBE(x) FARMS("{'type':'tcp','probe':" x "}")
/* How error paths name the objects of these documents. */
#define FARM0 "farms[0] (tcp farm 1)"
#define SRV0 FARM0 ".servers[0] (server 1, 10.0.0.1)"
#define FRONT0 "frontends[0] (tcp frontend 1)"

struct doc_case {
	const char *doc;
	const char *expected;
};

static void run_cases(const struct doc_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		check_doc(cases[i].doc, cases[i].expected);
}

#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))

/* ---- defaults ------------------------------------------------------------- */

static void test_document_defaults(void **state)
{
	struct tn_config c;

	parse_ok(EMPTY, &c);
	assert_string_equal(c.zone, "default");
	assert_int_equal(c.ninterfaces, 1);
	assert_string_equal(c.interfaces[0], "eth0");
	assert_int_equal(c.hash_seed, 0);
	assert_int_equal(c.table_size, 65537);
	assert_int_equal(c.ct_size, 1000000);
	assert_int_equal(c.tcp_timeout_s, 300);
	assert_int_equal(c.udp_timeout_s, 30);
	assert_int_equal(c.udp_admit_rate, TN_UDP_ADMIT_RATE_DEFAULT);
	assert_int_equal(c.tcp_admit_rate, TN_TCP_ADMIT_RATE_DEFAULT);
	assert_int_equal(c.nfarms, 0);
	assert_int_equal(c.nfrontends, 0);
	tn_config_free(&c);
}

static void test_object_defaults(void **state)
{
	struct tn_config c;
	const struct tn_farm_cfg *f;
	const struct tn_server_cfg *s;
	const struct tn_frontend_cfg *fe;

	parse_ok("{" IFACES ",'farms':[{'type':'udp','servers':[{'address':'2001:db8::1'}]}],"
		 "'frontends':[{'type':'udp','vip':'2001:db8::100','defaultFarmId':1}]}", &c);
	f = &c.farms[0];
	assert_int_equal(f->farm_id, 1);
	assert_int_equal(f->type, TN_L4_UDP);
	assert_null(f->display_name);
	assert_int_equal(f->port, 0);
	assert_int_equal(f->balance, TN_BAL_SOURCE);
	assert_int_equal(f->stickiness, TN_STICK_NONE);
	assert_null(f->zone);
	assert_int_equal(f->probe.type, TN_PROBE_NONE);
	assert_true(f->probe.interval_s == 5);
	assert_true(f->probe.timeout_s == 2);
	assert_int_equal(f->probe.rise, 2);
	assert_int_equal(f->probe.fall, 3);
	assert_string_equal(f->probe.method, "GET");
	assert_string_equal(f->probe.url, "/");
	assert_int_equal(f->probe.match, TN_MATCH_DEFAULT);
	assert_null(f->probe.pattern);
	s = &f->servers[0];
	assert_int_equal(s->server_id, 1);
	assert_int_equal(s->address.family, 6);
	assert_int_equal(s->port, 0);
	assert_int_equal(s->weight, 1);
	assert_true(s->active);
	assert_false(s->backup);
	assert_true(s->probe);
	assert_false(s->has_mac);
	fe = &c.frontends[0];
	assert_int_equal(fe->frontend_id, 1);
	assert_int_equal(fe->nvips, 1);
	assert_null(fe->port);
	assert_int_equal(fe->nports, 0);
	assert_false(fe->disabled);
	assert_int_equal(tn_server_port(f, s), 0);
	tn_config_free(&c);
}

static void test_probe_timeout_default(void **state)
{
	struct tn_config c;

	/* timeout defaults to min(interval, 2) */
	parse_ok(FARMS("{'type':'tcp','probe':{'type':'tcp','interval':0.5}},"
		       "{'type':'tcp','probe':{'type':'tcp','interval':30}}"), &c);
	assert_true(c.farms[0].probe.timeout_s == 0.5);
	assert_true(c.farms[1].probe.timeout_s == 2);
	tn_config_free(&c);
}

static void test_id_assignment(void **state)
{
	struct tn_config c;

	/* lowest free id > 0 per type, in file order, skipping explicit ids */
	parse_ok("{" IFACES ",'farms':[{'type':'tcp'},{'farmId':1,'type':'tcp'},{'type':'udp'},{'type':'tcp'},"
		 "{'type':'tcp','farmId':3,'servers':[{'address':'10.0.0.1'},"
		 "{'serverId':1,'address':'10.0.0.2'},{'address':'10.0.0.3'}]}]}", &c);
	assert_int_equal(c.farms[0].farm_id, 2);
	assert_int_equal(c.farms[1].farm_id, 1);
	assert_int_equal(c.farms[2].farm_id, 1);
	assert_int_equal(c.farms[3].farm_id, 4);
	assert_int_equal(c.farms[4].servers[0].server_id, 2);
	assert_int_equal(c.farms[4].servers[1].server_id, 1);
	assert_int_equal(c.farms[4].servers[2].server_id, 3);
	assert_ptr_equal(tn_config_farm(&c, TN_L4_UDP, 1), &c.farms[2]);
	assert_ptr_equal(tn_config_farm(&c, TN_L4_TCP, 4), &c.farms[3]);
	assert_null(tn_config_farm(&c, TN_L4_UDP, 2));
	assert_ptr_equal(tn_farm_server(&c.farms[4], 3), &c.farms[4].servers[2]);
	assert_null(tn_farm_server(&c.farms[4], 4));
	tn_config_free(&c);
}

/* ---- document-level rules -------------------------------------------------- */

static const struct doc_case document_cases[] = {
	{ "[]", "must be an object, got an array" },
	{ "{" IFACES ",'zone':''}", "zone: must not be empty" },
	{ "{" IFACES ",'zone':5}", "zone: must be a string, got 5" },
	{ "{" IFACES ",'zoon':'x'}", "zoon: unknown field" },
	{ "{'interfaces':'eth0'}", "interfaces: must be an array, got 'eth0'" },
	{ "{'interfaces':['eth0','']}",
	  "interfaces[1]: must be an interface name of 1..15 characters, got ''" },
	{ "{'interfaces':['a234567890123456']}",
	  "interfaces[0]: must be an interface name of 1..15 characters, got 'a234567890123456'" },
	{ "{'interfaces':['eth0','eth0']}", "interfaces[1]: 'eth0' is listed twice" },
	{ "{" IFACES ",'hashSeed':-1}", "hashSeed: must be 0..4294967295, got -1" },
	{ "{" IFACES ",'hashSeed':4294967296}", "hashSeed: must be 0..4294967295, got 4294967296" },
	{ "{" IFACES ",'tableSize':65536}", "tableSize: must be a prime number, got 65536" },
	{ "{" IFACES ",'tableSize':1000}", "tableSize: must be 1021..655373, got 1000" },
	{ "{" IFACES ",'tableSize':655374}", "tableSize: must be 1021..655373, got 655374" },
	{ "{" IFACES ",'tableSize':'big'}", "tableSize: must be an integer 1021..655373, got 'big'" },
	{ "{" IFACES ",'conntrack':{'size':1023}}", "conntrack.size: must be 1024..100000000, got 1023" },
	{ "{" IFACES ",'conntrack':{'size':100000001}}",
	  "conntrack.size: must be 1024..100000000, got 100000001" },
	{ "{" IFACES ",'conntrack':{'tcpTimeout':0}}", "conntrack.tcpTimeout: must be 1..86400, got 0" },
	{ "{" IFACES ",'conntrack':{'udpTimeout':86401}}",
	  "conntrack.udpTimeout: must be 1..86400, got 86401" },
	{ "{" IFACES ",'conntrack':{'udpAdmitRate':100000001}}",
	  "conntrack.udpAdmitRate: must be 0..100000000, got 100000001" },
	{ "{" IFACES ",'conntrack':{'udpAdmitRate':-1}}",
	  "conntrack.udpAdmitRate: must be 0..100000000, got -1" },
	{ "{" IFACES ",'conntrack':{'tcpAdmitRate':100000001}}",
	  "conntrack.tcpAdmitRate: must be 0..100000000, got 100000001" },
	{ "{" IFACES ",'conntrack':{'tcpAdmitRate':'fast'}}",
	  "conntrack.tcpAdmitRate: must be an integer 0..100000000, got \"fast\"" },
	{ "{" IFACES ",'conntrack':{'ttl':3}}", "conntrack.ttl: unknown field" },
	{ "{" IFACES ",'conntrack':[]}", "conntrack: must be an object, got an array" },
	{ "{" IFACES ",'farms':{}}", "farms: must be an array, got an object" },
	{ "{" IFACES ",'farms':[5]}", "farms[0]: must be an object, got 5" },
	{ "{" IFACES ",'frontends':'x'}", "frontends: must be an array, got 'x'" },
	{ "{'tableSize':1021,'hashSeed':4294967295,'interfaces':['eth0','lo']}", "OK" },
};

static void test_document_rules(void **state)
{
	RUN(document_cases);
}

/* Huge numbers must be refused, never wrapped into a small valid value. */
static const struct doc_case huge_cases[] = {
	{ "{" IFACES ",'hashSeed':99999999999999999999}",
	  "hashSeed: must be 0..4294967295, got a number too large" },
	{ "{" IFACES ",'hashSeed':-99999999999999999999}",
	  "hashSeed: must be 0..4294967295, got a number too small" },
	{ "{" IFACES ",'hashSeed':1e400}", "hashSeed: must be 0..4294967295, got 1e400" },
	{ "{" IFACES ",'hashSeed':18446744073709551617}",
	  "hashSeed: must be 0..4294967295, got a number too large" },
	{ "{" IFACES ",'hashSeed':4294967297}", "hashSeed: must be 0..4294967295, got 4294967297" },
	{ "{" IFACES ",'hashSeed':2.5}", "hashSeed: must be an integer 0..4294967295, got 2.5" },
	{ "{" IFACES ",'hashSeed':NaN}", "hashSeed: must be 0..4294967295, got NaN" },
	{ "{" IFACES ",'hashSeed':7.0}", "OK" },
	{ PROBE("{'interval':1e400}"), FARM0 ".probe.interval: must be a finite number, got 1e400" },
	{ SRV("{'address':'10.0.0.1','weight':1e400}"),
	  SRV0 ".weight: must be 0..256, got 1e400" },
};

static void test_huge_numbers(void **state)
{
	RUN(huge_cases);
}

/* ---- farms ------------------------------------------------------------------- */

static const struct doc_case farm_cases[] = {
	{ FARMS("{}"), "farms[0] (farm 1).type: is required ('tcp' or 'udp')" },
	{ FARMS("{'type':'http'}"),
	  "farms[0] (farm 1).type: 'http' is not supported: HTTP farms need an L7 proxy, which Tenace is not; "
	  "use 'tcp' or 'udp'" },
	{ FARMS("{'type':'sctp'}"), "farms[0] (farm 1).type: must be 'tcp' or 'udp', got 'sctp'" },
	{ FARMS("{'type':'tcp','balance':'leastconn'}"),
	  FARM0 ".balance: 'leastconn' is not supported: a direct-server-return L4 balancer never "
	  "sees connections end, so it cannot count them; use 'source', 'roundrobin' or 'first'" },
	{ FARMS("{'type':'tcp','balance':'random'}"),
	  FARM0 ".balance: must be one of 'source', 'roundrobin', 'first', got 'random'" },
	{ FARMS("{'type':'tcp','stickiness':'cookie'}"),
	  FARM0 ".stickiness: 'cookie' is not supported: cookies need an L7 (HTTP) proxy, which "
	  "Tenace is not; use 'sourceIp' or null" },
	{ FARMS("{'type':'tcp','stickiness':'sourceip'}"),
	  FARM0 ".stickiness: must be 'sourceIp' or null, got 'sourceip' (did you mean 'sourceIp'?)" },
	{ FARMS("{'type':'tcp','port':65536}"), FARM0 ".port: must be 0..65535, got 65536" },
	{ FARMS("{'type':'tcp','port':'80'}"), FARM0 ".port: must be an integer 0..65535, got '80'" },
	{ FARMS("{'type':'tcp','farmId':-1}"), "farms[0].farmId: must be 0..4294967295, got -1" },
	{ FARMS("{'type':'tcp','displayName':7}"),
	  FARM0 ".displayName: must be a string or null, got 7" },
	{ FARMS("{'type':'tcp','zone':true}"), FARM0 ".zone: must be a string or null, got true" },
	{ FARMS("{'type':'tcp','ssl':true}"), FARM0 ".ssl: unknown field" },
	{ FARMS("{'type':'tcp','servers':{}}"), FARM0 ".servers: must be an array, got an object" },
	{ FARMS("{'type':'tcp','farmId':1},{'type':'tcp','farmId':1}"),
	  "farms[1] (tcp farm 1).farmId: tcp farm 1 is already defined by farms[0] (tcp farm 1)" },
	{ FARMS("{'type':'tcp','farmId':1},{'type':'udp','farmId':1}"), "OK" },
	{ FARMS("{'type':'udp','balance':'roundrobin','stickiness':'sourceIp','port':53,"
		"'displayName':'dns','zone':'rbx'}"), "OK" },
	{ FARMS("{'type':'tcp','balance':'first','stickiness':null}"), "OK" },
};

static void test_farm_rules(void **state)
{
	RUN(farm_cases);
}

/* ---- servers --------------------------------------------------------------------- */

static const struct doc_case server_cases[] = {
	{ SRV("{}"), FARM0 ".servers[0] (server 1).address: is required" },
	{ SRV("{'address':'10.0.0.256'}"),
	  FARM0 ".servers[0] (server 1).address: must be an IPv4 or IPv6 address, got '10.0.0.256'" },
	{ SRV("{'address':'10.0.0.1','weight':'heavy'}"),
	  SRV0 ".weight: must be an integer 0..256, got 'heavy'" },
	{ SRV("{'address':'10.0.0.1'},{'address':'10.0.0.2'},{'address':'10.0.0.3','weight':300}"),
	  FARM0 ".servers[2] (server 3, 10.0.0.3).weight: must be 0..256, got 300" },
	{ SRV("{'address':'10.0.0.1','weight':-1}"),
	  SRV0 ".weight: must be 0..256, got -1" },
	{ SRV("{'address':'10.0.0.1','port':70000}"),
	  SRV0 ".port: must be 0..65535, got 70000" },
	{ SRV("{'address':'10.0.0.1','status':'up'}"),
	  SRV0 ".status: must be 'active' or 'inactive', got 'up'" },
	{ SRV("{'address':'10.0.0.1','backup':'yes'}"),
	  SRV0 ".backup: must be true or false, got 'yes'" },
	{ SRV("{'address':'10.0.0.1','probe':1}"),
	  SRV0 ".probe: must be true or false, got 1" },
	{ SRV("{'address':'10.0.0.1','mac':'aa:bb:cc:dd:ee'}"),
	  SRV0 ".mac: must be a MAC address like 'aa:bb:cc:dd:ee:ff', got 'aa:bb:cc:dd:ee'" },
	{ SRV("{'address':'10.0.0.1','ssl':true}"), SRV0 ".ssl: unknown field" },
	{ SRV("{'address':'10.0.0.1','serverId':4},{'address':'10.0.0.2','serverId':4}"),
	  FARM0 ".servers[1] (server 4, 10.0.0.2).serverId: serverId 4 is already used by "
	  "servers[0] (server 4, 10.0.0.1)" },
	/* one address and effective port (server's, else farm's) twice */
	{ SRV("{'address':'10.0.0.1','port':80},{'address':'10.0.0.2','port':80},"
	      "{'address':'10.0.0.1','port':80}"),
	  FARM0 ".servers[2] (server 3, 10.0.0.1:80): same address and port as "
	  "servers[0] (server 1, 10.0.0.1:80): a farm cannot list one server twice" },
	{ FARMS("{'type':'tcp','port':443,'servers':[{'address':'2001:db8::1','port':443},"
		"{'address':'2001:db8::1'}]}"),
	  FARM0 ".servers[1] (server 2, [2001:db8::1]:443): same address and port as "
	  "servers[0] (server 1, [2001:db8::1]:443): a farm cannot list one server twice" },
	{ SRV("{'address':'10.0.0.1'},{'address':'10.0.0.1'}"),
	  FARM0 ".servers[1] (server 2, 10.0.0.1): same address as servers[0] (server 1, 10.0.0.1), "
	  "and neither they nor the farm set a port: a farm cannot list one server twice" },
	{ SRV("{'address':'10.0.0.1','port':80},{'address':'10.0.0.1','port':81},{'address':'10.0.0.1'}"),
	  "OK" },
	/* three on one address: each later one names the first; ids out of order */
	{ SRV("{'address':'10.0.0.1','serverId':5},{'address':'10.0.0.2','serverId':3},"
	      "{'address':'10.0.0.1','serverId':7},{'address':'10.0.0.3','serverId':5},{'address':'10.0.0.1','serverId':2}"),
	  FARM0 ".servers[2] (server 7, 10.0.0.1): same address as servers[0] (server 5, 10.0.0.1), "
	  "and neither they nor the farm set a port: a farm cannot list one server twice; "
	  FARM0 ".servers[3] (server 5, 10.0.0.3).serverId: serverId 5 is already used by servers[0] (server 5, 10.0.0.1); "
	  FARM0 ".servers[4] (server 2, 10.0.0.1): same address as servers[0] (server 5, 10.0.0.1), "
	  "and neither they nor the farm set a port: a farm cannot list one server twice" },
	{ FARMS("{'type':'tcp','servers':[{'address':'10.0.0.1'}]},"
		"{'type':'tcp','servers':[{'address':'10.0.0.1'}]}"), "OK" },
	{ SRV("{'address':'nope'},{'address':'nope'}"),
	  FARM0 ".servers[0] (server 1).address: must be an IPv4 or IPv6 address, "
	  "got 'nope'; farms[0] (tcp farm 1).servers[1] (server 2).address: must be an IPv4 or IPv6 "
	  "address, got 'nope'" },
	{ SRV("{'address':'10.0.0.1','displayName':'a\\u0000b'}"),
	  SRV0 ".displayName: must not contain a NUL character" },
	{ SRV("{'address':'10.0.0.1','weight':0,'port':8080,'status':'inactive','backup':true,"
	      "'probe':false,'displayName':null,'mac':'AA:bb:cc:dd:ee:0f','serverId':9}"), "OK" },
};

static void test_server_rules(void **state)
{
	RUN(server_cases);
}

/* ---- probes -------------------------------------------------------------------- */

static const struct doc_case probe_cases[] = {
	{ PROBE("{'type':'oco'}"),
	  FARM0 ".probe.type: 'oco' probes are not supported; supported types: "
	  "'tcp', 'http', 'smtp', 'mysql', 'pgsql'" },
	{ PROBE("{'type':'internal'}"),
	  FARM0 ".probe.type: 'internal' probes are not supported; supported types: "
	  "'tcp', 'http', 'smtp', 'mysql', 'pgsql'" },
	{ PROBE("{'type':'icmp'}"),
	  FARM0 ".probe.type: must be one of 'tcp', 'http', 'smtp', 'mysql', 'pgsql' or null, "
	  "got 'icmp'" },
	{ PROBE("{'type':'tcp','interval':0.05}"),
	  FARM0 ".probe.interval: must be 0.1..86400 seconds, got 0.05" },
	{ PROBE("{'type':'tcp','interval':'5s'}"), FARM0 ".probe.interval: must be a number, got '5s'" },
	{ PROBE("{'type':'tcp','timeout':0}"),
	  FARM0 ".probe.timeout: must be more than 0 and at most 60 seconds, got 0" },
	{ PROBE("{'type':'tcp','timeout':61}"),
	  FARM0 ".probe.timeout: must be more than 0 and at most 60 seconds, got 61" },
	{ PROBE("{'type':'tcp','rise':0}"), FARM0 ".probe.rise: must be 1..100, got 0" },
	{ PROBE("{'type':'tcp','fall':101}"), FARM0 ".probe.fall: must be 1..100, got 101" },
	{ PROBE("{'type':'tcp','port':-5}"), FARM0 ".probe.port: must be 0..65535, got -5" },
	{ PROBE("{'type':'tcp','url':'/health'}"),
	  FARM0 ".probe.url: only applies to 'http' probes" },
	{ PROBE("{'type':'http','method':'POST'}"),
	  FARM0 ".probe.method: must be one of 'GET', 'HEAD', 'OPTIONS', got 'POST'" },
	{ PROBE("{'type':'http','url':'health'}"),
	  FARM0 ".probe.url: must start with '/', got 'health'" },
	{ PROBE("{'type':'http','url':'/a b'}"),
	  FARM0 ".probe.url: must not contain spaces or line breaks" },
	{ PROBE("{'type':'http','match':'regex','pattern':'x'}"),
	  FARM0 ".probe.match: must be one of 'default', 'status', 'contains', 'matches', got 'regex'" },
	{ PROBE("{'type':'http','match':'status'}"),
	  FARM0 ".probe.pattern: is required when 'match' is 'status'" },
	{ PROBE("{'type':'http','match':'contains'}"),
	  FARM0 ".probe.pattern: is required when 'match' is 'contains'" },
	{ PROBE("{'type':'http','pattern':'ok'}"),
	  FARM0 ".probe.pattern: only applies when 'match' is 'status', 'contains' or 'matches'" },
	{ PROBE("{'type':'http','match':'status','pattern':'200,3xx'}"),
	  FARM0 ".probe.pattern: must be a comma-separated list of HTTP status codes 100..599, "
	  "got '200,3xx'" },
	{ PROBE("{'type':'http','match':'status','pattern':'99'}"),
	  FARM0 ".probe.pattern: must be a comma-separated list of HTTP status codes 100..599, "
	  "got '99'" },
	{ PROBE("{'type':'http','match':'status','pattern':'600'}"),
	  FARM0 ".probe.pattern: must be a comma-separated list of HTTP status codes 100..599, "
	  "got '600'" },
	{ PROBE("{'type':'http','match':'status','pattern':'200,'}"),
	  FARM0 ".probe.pattern: must be a comma-separated list of HTTP status codes 100..599, "
	  "got '200,'" },
	{ PROBE("{'type':'http','match':'contains','pattern':''}"),
	  FARM0 ".probe.pattern: must not be empty" },
	{ PROBE("{'type':'http','match':'matches','pattern':'a('}"),
	  FARM0 ".probe.pattern: is not a valid regular expression: Unmatched ( or \\(" },
	{ PROBE("{'type':'http','forceSsl':'no'}"),
	  FARM0 ".probe.forceSsl: must be true or false, got 'no'" },
	{ PROBE("{'type':'tcp','retries':3}"), FARM0 ".probe.retries: unknown field" },
	{ PROBE("'tcp'"), FARM0 ".probe: must be an object, got 'tcp'" },
	{ PROBE("{'type':'http','match':'status','pattern':'200, 301,404','method':'HEAD',"
		"'url':'/health?x=1','forceSsl':true,'negate':true,'interval':0.1,'timeout':0.1}"), "OK" },
	{ PROBE("{'type':'http','match':'matches','pattern':'^ok|ready$'}"), "OK" },
	/* a HEAD reply has no body: contains/matches could never see the text */
	{ PROBE("{'type':'http','method':'HEAD','match':'contains','pattern':'ok'}"),
	  FARM0 ".probe.method: a HEAD request gets no response body, and match 'contains' reads "
	  "the body: use 'GET' or 'OPTIONS'" },
	{ PROBE("{'type':'http','method':'HEAD','match':'matches','pattern':'^ok'}"),
	  FARM0 ".probe.method: a HEAD request gets no response body, and match 'matches' reads "
	  "the body: use 'GET' or 'OPTIONS'" },
	{ PROBE("{'type':'http','method':'OPTIONS','match':'contains','pattern':'ok'}"), "OK" },
	/* the probe engine takes at most 32 status codes */
	{ PROBE("{'type':'http','match':'status','pattern':'200,201,202,203,204,205,206,207,208,209,"
		"210,211,212,213,214,215,216,217,218,219,220,221,222,223,224,225,226,227,228,229,230,231'}"),
	  "OK" },
	{ PROBE("{'type':'http','match':'status','pattern':'200,201,202,203,204,205,206,207,208,209,"
		"210,211,212,213,214,215,216,217,218,219,220,221,222,223,224,225,226,227,228,229,230,231,"
		"232'}"),
	  FARM0 ".probe.pattern: at most 32 status codes, got 33" },
	{ PROBE("{'type':'smtp','port':25,'rise':100,'fall':1}"), "OK" },
	{ PROBE("{'type':null,'interval':10}"), "OK" },
	{ PROBE("null"), "OK" },
	{ PROBE("{}"), "OK" },
};

static void test_probe_rules(void **state)
{
	RUN(probe_cases);
}

/* Errors of a document against `expected` as is (its apostrophes stay). */
static void check_doc_raw(const char *doc, const char *expected)
{
	char *got = errors_of(doc);

	if (strcmp(got, expected))
		print_error("document: %s\n", doc);
	assert_string_equal(got, expected);
	free(got);
}

static json_object *jparse(const char *s);

#define NO_PORT "no port to probe: set probe.port, the farm's port or the server's port"

/* The probe engine needs a port: probe.port, else the server's, else the farm's. */
static void test_probe_port(void **state)
{
	struct tn_errors errs = { 0 };
	struct tn_config c;
	struct tn_farm_cfg f;
	json_object *o;
	char *j;

	check_doc_raw(FARMS("{'type':'tcp','probe':{'type':'tcp'},'servers':[{'address':'10.0.0.1'},"
			    "{'address':'10.0.0.2','probe':false,'port':80}]}"),
		      FARM0 ".probe.port: " NO_PORT);
	/* some servers have a port: the others are named */
	check_doc_raw(FARMS("{'type':'tcp','probe':{'type':'http'},'servers':[{'address':'10.0.0.1','port':80},"
			    "{'address':'10.0.0.2'},{'address':'10.0.0.3','port':81},{'address':'10.0.0.4'}]}"),
		      FARM0 ".servers[1] (server 2, 10.0.0.2).port: " NO_PORT
		      "; farms[0] (tcp farm 1).servers[3] (server 4, 10.0.0.4).port: " NO_PORT);
	check_doc_raw(FARMS("{'type':'tcp','probe':{'type':'tcp','port':9},'servers':[{'address':'10.0.0.1'}]}"),
		      "OK");
	check_doc_raw(FARMS("{'type':'tcp','port':80,'probe':{'type':'tcp'},'servers':[{'address':'10.0.0.1'}]}"),
		      "OK");
	check_doc_raw(FARMS("{'type':'tcp','probe':{'type':'tcp'},'servers':[{'address':'10.0.0.1','port':80},"
			    "{'address':'10.0.0.2','probe':false}]}"), "OK");
	/* no probe, or no server yet: nothing to probe */
	check_doc_raw(FARMS("{'type':'tcp','servers':[{'address':'10.0.0.1'}]}"), "OK");
	check_doc_raw(FARMS("{'type':'tcp','probe':{'type':'tcp'}}"), "OK");
	/* a wrong port is not blamed twice */
	check_doc_raw(FARMS("{'type':'tcp','probe':{'type':'tcp'},'servers':[{'address':'10.0.0.1','port':70000}]}"),
		      SRV0 ".port: must be 0..65535, got 70000");

	/* an API body (POST farm), and the config after adding a server (POST server) */
	o = jparse("{'type':'tcp','probe':{'type':'tcp'},'servers':[{'address':'10.0.0.1'}]}");
	assert_int_equal(tn_farm_from_json(o, "", &f, &errs), -EINVAL);
	j = tn_errors_join(&errs);
	assert_string_equal(j, "probe.port: " NO_PORT);
	free(j);
	tn_errors_free(&errs);
	json_object_put(o);

	parse_ok(FARMS("{'type':'tcp','probe':{'type':'tcp'},'servers':[{'address':'10.0.0.1','port':80}]}"), &c);
	c.farms[0].servers[0].port = 0;
	assert_int_equal(tn_config_validate(&c, &errs), -EINVAL);
	j = tn_errors_join(&errs);
	assert_string_equal(j, FARM0 ".probe.port: " NO_PORT);
	free(j);
	tn_errors_free(&errs);
	tn_config_free(&c);
}

/* ---- frontends --------------------------------------------------------------- */

static const struct doc_case frontend_cases[] = {
	{ FRONT("{'type':'tcp','defaultFarmId':1}"), FRONT0 ".vip: is required" },
	{ FRONT("{'type':'tcp','vip':[],'defaultFarmId':1}"),
	  FRONT0 ".vip: must list at least one address" },
	{ FRONT("{'type':'tcp','vip':5,'defaultFarmId':1}"),
	  FRONT0 ".vip: must be an address or an array of addresses, got 5" },
	{ FRONT("{'type':'tcp','vip':['10.1.1.1','nope'],'defaultFarmId':1}"),
	  FRONT0 ".vip[1]: must be an IPv4 or IPv6 address, got 'nope'" },
	{ FRONT("{'type':'tcp','vip':['10.1.1.1','10.1.1.1'],'defaultFarmId':1}"),
	  FRONT0 ".vip[1]: 10.1.1.1 is listed twice" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1'}"), FRONT0 ".defaultFarmId: is required" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':0}"),
	  FRONT0 ".defaultFarmId: must be 1..4294967295, got 0" },
	{ FRONT("{'type':'http','vip':'10.1.1.1','defaultFarmId':1}"),
	  "frontends[0] (frontend 1).type: 'http' is not supported: HTTP frontends need an L7 proxy, which "
	  "Tenace is not; use 'tcp' or 'udp'" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':''}"),
	  FRONT0 ".port: must not be empty (null means every port)" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'http'}"),
	  FRONT0 ".port: 'http' is not a port (1..65535) or a range (8000-8100)" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'80,70000'}"),
	  FRONT0 ".port: '70000': ports must be 1..65535" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'0'}"),
	  FRONT0 ".port: '0': ports must be 1..65535" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'8100-8000'}"),
	  FRONT0 ".port: '8100-8000': range is reversed" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'80,70-90'}"),
	  FRONT0 ".port: port 80 is listed twice" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':0}"),
	  FRONT0 ".port: must be 1..65535, got 0" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':true}"),
	  FRONT0 ".port: must be a string like '80', '80,443' or '8000-8100', or null, got true" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'allowedSource':['10.0.0.0/33']}"),
	  FRONT0 ".allowedSource[0]: must be an IPv4 or IPv6 address or prefix ('10.0.0.0/8'), "
	  "got '10.0.0.0/33'" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'deniedSource':['10.0.0.0/8','x']}"),
	  FRONT0 ".deniedSource[1]: must be an IPv4 or IPv6 address or prefix ('10.0.0.0/8'), "
	  "got 'x'" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'disabled':'no'}"),
	  FRONT0 ".disabled: must be true or false, got 'no'" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'ssl':true}"),
	  FRONT0 ".ssl: unknown field" },
	{ FRONT("{'type':'tcp','vip':['10.1.1.1','10.1.1.2'],'defaultFarmId':1,'port':'80, 443,8000-8100',"
		"'allowedSource':['10.0.0.0/8','192.168.1.1'],'deniedSource':['10.9.0.0/16'],"
		"'displayName':'web','zone':'gra','disabled':true,'frontendId':7}"), "OK" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':443}"), "OK" },
};

static void test_frontend_rules(void **state)
{
	RUN(frontend_cases);
}

/* ---- cross-object rules ---------------------------------------------------------- */

static const struct doc_case cross_cases[] = {
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':2}"),
	  FRONT0 ".defaultFarmId: no tcp farm has farmId 2" },
	{ FRONT("{'type':'udp','vip':'10.1.1.1','defaultFarmId':1}"),
	  "frontends[0] (udp frontend 1).defaultFarmId: farmId 1 is farms[0] (tcp farm 1): a udp "
	  "frontend needs a udp farm" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'frontendId':3},"
		"{'type':'tcp','vip':'10.1.1.2','defaultFarmId':1,'frontendId':3}"),
	  "frontends[1] (tcp frontend 3).frontendId: tcp frontend 3 is already defined by "
	  "frontends[0] (tcp frontend 3)" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'80,443','displayName':'a'},"
		"{'type':'tcp','vip':['10.1.1.2','10.1.1.1'],'defaultFarmId':1,'port':'400-500',"
		"'displayName':'b'}"),
	  "frontends[1] (tcp frontend 2 'b'): frontends[0] (tcp frontend 1 'a') already takes tcp "
	  "10.1.1.1 port 443" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'80'},"
		"{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1}"),
	  "frontends[1] (tcp frontend 2): frontends[0] (tcp frontend 1) already takes tcp 10.1.1.1 port 80" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1},"
		"{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1}"),
	  "frontends[1] (tcp frontend 2): frontends[0] (tcp frontend 1) already takes every tcp port "
	  "of 10.1.1.1" },
	/* different ports or different types: no conflict */
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'80'},"
		"{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'81-90'}"), "OK" },
	/* a disabled frontend holds its VIP entries too: it conflicts like an
	 * enabled one, whichever comes first (this case was "OK" before, and the
	 * data plane then kept whichever entry was written last) */
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'80'},"
		"{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'81-90'},"
		"{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'disabled':true}"),
	  "frontends[2] (tcp frontend 3): frontends[0] (tcp frontend 1) already takes tcp 10.1.1.1 "
	  "port 80; frontends[2] (tcp frontend 3): frontends[1] (tcp frontend 2) already takes tcp "
	  "10.1.1.1 port 81" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'80','disabled':true},"
		"{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'80'}"),
	  "frontends[1] (tcp frontend 2): frontends[0] (tcp frontend 1) already takes tcp 10.1.1.1 port 80" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'disabled':true},"
		"{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'disabled':true}"),
	  "frontends[1] (tcp frontend 2): frontends[0] (tcp frontend 1) already takes every tcp port "
	  "of 10.1.1.1" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'80','disabled':true},"
		"{'type':'tcp','vip':'10.1.1.2','defaultFarmId':1,'port':'80'}"), "OK" },
	{ "{" IFACES ",'farms':[" FARM1 ",{'farmId':1,'type':'udp','servers':[{'address':'10.0.0.1'}]}],"
	  "'frontends':[{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1},"
	  "{'type':'udp','vip':'10.1.1.1','defaultFarmId':1}]}", "OK" },
	{ "{" IFACES ",'farms':[{'farmId':1,'type':'tcp','displayName':'pool',"
	  "'servers':[{'address':'10.0.0.1'}]}],"
	  "'frontends':[{'type':'tcp','vip':['10.1.1.1','2001:db8::1'],'defaultFarmId':1,"
	  "'displayName':'web'}]}",
	  "frontends[0] (tcp frontend 1 'web').vip[1]: 2001:db8::1 is IPv6 but the default farm, "
	  "farms[0] (tcp farm 1 'pool'), has no IPv6 server" },
	/* an empty farm is allowed: the API adds servers after creating the frontend */
	{ "{" IFACES ",'farms':[{'farmId':1,'type':'tcp'}],"
	  "'frontends':[{'type':'tcp','vip':'2001:db8::1','defaultFarmId':1}]}", "OK" },
	/* a broken farm does not also produce "no farm" errors */
	{ "{" IFACES ",'farms':[{'farmId':1,'type':'tcp','balance':'x'}],"
	  "'frontends':[{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1}]}",
	  FARM0 ".balance: must be one of 'source', 'roundrobin', 'first', got 'x'" },
	/* VIP entries: the data plane keeps one per (address, port) of every
	 * frontend, enabled or disabled, and one per address, in a map of 4096
	 * (the limit was 4096 before: such a config passed but could not apply) */
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'1-2048'}"), "OK" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'1-2047'},"
		"{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'9000'}"), "OK" },
	{ FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'1-4096'}"),
	  "frontends: at most 2048 VIP entries (address, port), got 4096 (each port of a range counts)" },
	{ FRONT("{'type':'tcp','vip':['10.1.1.1','10.1.1.2'],'defaultFarmId':1,'port':'1-1024'},"
		"{'type':'tcp','vip':'10.1.1.3','defaultFarmId':1,'disabled':true}"),
	  "frontends: at most 2048 VIP entries (address, port), got 2049 (each port of a range counts)" },
};

static void test_cross_rules(void **state)
{
	RUN(cross_cases);
}

/* One rule for the config and the API's 409: "every port" overlaps every port. */
static void test_ports_overlap(void **state)
{
	struct tn_config c;
	const struct tn_frontend_cfg *f;

	parse_ok(FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1,'port':'80,443'},"
		       "{'type':'tcp','vip':'10.1.1.2','defaultFarmId':1,'port':'400-500'},"
		       "{'type':'tcp','vip':'10.1.1.3','defaultFarmId':1},"
		       "{'type':'tcp','vip':'10.1.1.4','defaultFarmId':1,'port':'81-90'},"
		       "{'type':'tcp','vip':'10.1.1.5','defaultFarmId':1}"), &c);
	f = c.frontends;
	assert_int_equal(tn_ports_overlap(&f[0], &f[1]), 443);
	assert_int_equal(tn_ports_overlap(&f[1], &f[0]), 443);
	assert_int_equal(tn_ports_overlap(&f[0], &f[3]), -1);
	assert_int_equal(tn_ports_overlap(&f[0], &f[2]), 80);
	assert_int_equal(tn_ports_overlap(&f[2], &f[3]), 81);
	assert_int_equal(tn_ports_overlap(&f[3], &f[2]), 81);
	assert_int_equal(tn_ports_overlap(&f[2], &f[4]), 0);
	tn_config_free(&c);
}

/* Builds {"farms":[ n farms ]} or one farm of n servers. */
static char *many(const char *head, const char *item_fmt, size_t n, const char *tail)
{
	size_t cap = strlen(head) + strlen(tail) + n * (strlen(item_fmt) + 24) + 1, len;
	char *s = malloc(cap);
	size_t i;

	assert_non_null(s);
	len = (size_t)snprintf(s, cap, "%s", head);
	for (i = 0; i < n; i++) {
		if (i)
			s[len++] = ',';
		len += (size_t)snprintf(s + len, cap - len, item_fmt, (unsigned)(i / 250), (unsigned)(i % 250 + 1));
	}
	snprintf(s + len, cap - len, "%s", tail);
	return s;
}

static void test_limits(void **state)
{
	char *doc, *got;

	doc = many("{" IFACES ",'farms':[", "{'type':'tcp','displayName':'f%u.%u'}", 129, "]}");
	got = errors_of(doc);
	assert_string_equal(got, "farms: at most 128 farms, got 129");
	free(got);
	free(doc);

	doc = many("{" IFACES ",'farms':[", "{'type':'tcp','displayName':'f%u.%u'}", 128, "]}");
	got = errors_of(doc);
	assert_string_equal(got, "OK");
	free(got);
	free(doc);

	doc = many("{" IFACES ",'farms':[{'type':'tcp','servers':[", "{'address':'10.0.%u.%u'}", 1025, "]}]}");
	got = errors_of(doc);
	assert_string_equal(got, FARM0 ".servers: at most 1024 servers per farm, got 1025");
	free(got);
	free(doc);

	doc = many("{" IFACES ",'farms':[{'type':'tcp','servers':[", "{'address':'10.0.%u.%u'}", 1024, "]}]}");
	got = errors_of(doc);
	assert_string_equal(got, "OK");
	free(got);
	free(doc);
}

/* Source filters: at most 1024 per list, and in all (each VIP of a frontend
 * has its own copy of its lists) at most 16384 per kind, the LPM tries' size. */
static char *filter_doc(unsigned nvips, const char *key, size_t n, bool disabled)
{
	char *list = many("", "'10.%u.%u.0/24'", n, ""), *vips = many("", "'192.0.%u.%u'", nvips, ""), *doc;

	assert_true(asprintf(&doc, "{" IFACES ",'farms':[" FARM1 "],'frontends':[{'type':'tcp','vip':[%s],"
			     "'defaultFarmId':1,'disabled':%s,'%s':[%s]}]}", vips,
			     disabled ? "true" : "false", key, list) > 0);
	free(list);
	free(vips);
	return doc;
}

static void check_filter_doc(unsigned nvips, const char *key, size_t n, bool disabled, const char *expected)
{
	char *doc = filter_doc(nvips, key, n, disabled), *got = errors_of(doc);

	assert_string_equal(got, expected);
	free(got);
	free(doc);
}

static void test_filter_limits(void **state)
{
	struct tn_errors errs = { 0 };
	struct tn_config c;
	char *doc, *j;

	check_filter_doc(1, "allowedSource", 1024, false, "OK");
	check_filter_doc(1, "allowedSource", 1025, false,
			 FRONT0 ".allowedSource: at most 1024 entries, got 1025");
	check_filter_doc(1, "deniedSource", 1025, false,
			 FRONT0 ".deniedSource: at most 1024 entries, got 1025");
	check_filter_doc(16, "deniedSource", 1024, false, "OK");
	check_filter_doc(17, "deniedSource", 1024, true,
			 "frontends: at most 16384 deniedSource entries in all, got 17408 "
			 "(the list of a frontend counts once per VIP)");
	check_filter_doc(17, "allowedSource", 964, false,
			 "frontends: at most 16384 allowedSource entries in all, got 16388 "
			 "(the list of a frontend counts once per VIP)");

	/* a model built in code (the API's) gets the per-list rule from validation */
	doc = filter_doc(1, "allowedSource", 1024, false);
	parse_ok(doc, &c);
	c.frontends[0].allowed_source = realloc(c.frontends[0].allowed_source,
						 1025 * sizeof(*c.frontends[0].allowed_source));
	assert_non_null(c.frontends[0].allowed_source);
	c.frontends[0].allowed_source[1024] = c.frontends[0].allowed_source[0];
	c.frontends[0].nallowed = 1025;
	assert_int_equal(tn_config_validate(&c, &errs), -EINVAL);
	j = tn_errors_join(&errs);
	assert_string_equal(j, FRONT0 ".allowedSource: at most 1024 entries, got 1025");
	free(j);
	tn_errors_free(&errs);
	tn_config_free(&c);
	free(doc);
}

/* ---- several errors at once, and a rejected document changes nothing ---------- */

static void test_all_errors_reported(void **state)
{
	struct tn_errors errs = { 0 };
	struct tn_config c;
	char *text = q("{" IFACES ",'tableSize':4,'extra':1,'farms':[{'type':'tcp','balance':'leastconn',"
		       "'servers':[{'address':'x','weight':300}]}],"
		       "'frontends':[{'type':'udp','vip':'10.0.0.1','defaultFarmId':9,'port':'80'},"
		       "{'type':'tcp','vip':'10.0.0.1','defaultFarmId':9,'port':'x'}]}");

	assert_int_equal(tn_config_parse_string(text, &c, &errs), -EINVAL);
	assert_int_equal(errs.n, 7);
	assert_string_equal(errs.v[0].path, "extra");
	assert_string_equal(errs.v[0].message, "unknown field");
	assert_string_equal(errs.v[1].path, "tableSize");
	assert_string_equal(errs.v[1].message, "must be 1021..655373, got 4");
	assert_string_equal(errs.v[2].path, "farms[0].balance");
	assert_string_equal(errs.v[3].path, "farms[0].servers[0].address");
	assert_string_equal(errs.v[4].path, "farms[0].servers[0].weight");
	assert_string_equal(errs.v[4].message, "must be 0..256, got 300");
	assert_string_equal(errs.v[5].path, "frontends[1].port");
	/* cross rules come last; the broken frontends[1] is not looked up again */
	assert_string_equal(errs.v[6].path, "frontends[0].defaultFarmId");
	assert_string_equal(errs.v[6].message, "no udp farm has farmId 9");
	tn_errors_free(&errs);
	free(text);
}

static void test_errors_join_and_append(void **state)
{
	struct tn_errors errs = { 0 };
	char *j;

	tn_errors_add(&errs, "a.b", "must be %d", 1);
	tn_errors_add(&errs, "", "whole %s", "document");
	j = tn_errors_join(&errs);
	assert_string_equal(j, "a.b: must be 1; whole document");
	free(j);
	tn_errors_free(&errs);
	assert_int_equal(errs.n, 0);
	j = tn_errors_join(&errs);
	assert_string_equal(j, "");
	free(j);
}

static void test_rejected_leaves_config_untouched(void **state)
{
	struct tn_errors errs = { 0 };
	struct tn_config c, before;
	char *bad = q("{" IFACES ",'zone':'other','farms':[{'type':'tcp','port':-1}]}");

	parse_ok("{" IFACES ",'zone':'rbx','farms':[" FARM1 "],"
		 "'frontends':[{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1}]}", &c);
	assert_int_equal(tn_config_copy(&before, &c), 0);
	assert_int_equal(tn_config_parse_string(bad, &c, &errs), -EINVAL);
	assert_true(tn_config_equal(&c, &before));
	assert_string_equal(c.zone, "rbx");
	assert_int_equal(tn_config_load_file("/nonexistent/tenace.json", &c, &errs), -ENOENT);
	assert_true(tn_config_equal(&c, &before));
	tn_errors_free(&errs);
	tn_config_free(&c);
	tn_config_free(&before);
	free(bad);
}

/* ---- JSON syntax ----------------------------------------------------------------- */

static const struct doc_case syntax_cases[] = {
	{ "{\n'zone': 'x',\n'farms': [,]\n}", "line 3: invalid JSON: unexpected character" },
	{ "{'zone':'x',}", "line 1: invalid JSON: unexpected character" },
	{ "{'zone':", "line 1: invalid JSON: unexpected end of data" },
	{ "", "line 1: invalid JSON: unexpected end of data" },
	{ "{} {}", "line 1: invalid JSON: unexpected character" },
};

static void test_syntax_errors(void **state)
{
	RUN(syntax_cases);
}

/* ---- round trip ------------------------------------------------------------------- */

static const char *full_doc =
	"{'zone':'rbx','interfaces':['eth0','eth1'],'hashSeed':42,'tableSize':1021,"
	"'conntrack':{'size':2048,'tcpTimeout':600,'udpTimeout':10,'udpAdmitRate':0,'tcpAdmitRate':7},"
	"'farms':[{'farmId':3,'type':'tcp','displayName':'web','port':8080,'balance':'roundrobin',"
	"'stickiness':'sourceIp','zone':'rbx','probe':{'type':'http','port':8081,'interval':0.3,"
	"'timeout':0.25,'rise':4,'fall':5,'method':'HEAD','url':'/health','forceSsl':true,"
	"'match':'status','pattern':'200,204','negate':true},"
	"'servers':[{'serverId':1,'displayName':'s1','address':'10.0.0.1','port':80,'weight':0,"
	"'status':'inactive','backup':true,'probe':false,'mac':'02:00:00:00:00:01'},"
	"{'address':'2001:db8::2'}]},"
	"{'type':'udp','probe':{'type':'tcp','interval':7}}],"
	"'frontends':[{'frontendId':5,'type':'tcp','displayName':'front','vip':['10.1.1.1','2001:db8::1'],"
	"'port':'80,443,8000-8010','defaultFarmId':3,'zone':'rbx','allowedSource':['10.0.0.0/8','10.9.9.9'],"
	"'deniedSource':['2001:db8::/32'],'disabled':true},"
	"{'type':'udp','vip':'10.1.1.2','port':53,'defaultFarmId':1}]}";

static char *to_text(const struct tn_config *c)
{
	json_object *j = tn_config_to_json(c);
	char *s;

	assert_non_null(j);
	s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
	return s;
}

static void test_round_trip(void **state)
{
	struct tn_config a, b;
	char *t1, *t2;

	parse_ok(full_doc, &a);
	t1 = to_text(&a);
	parse_ok(t1, &b); /* no single quotes in JSON output: q() leaves it alone */
	assert_true(tn_config_equal(&a, &b));
	t2 = to_text(&b);
	assert_string_equal(t1, t2);
	/* defaults are explicit, stickiness none is null, weight absent is 1 */
	assert_non_null(strstr(t1, "\"stickiness\": null"));
	assert_non_null(strstr(t1, "\"weight\": 1,"));
	assert_non_null(strstr(t1, "\"interval\": 0.3,"));
	assert_non_null(strstr(t1, "\"allowedSource\": [\n"));
	assert_non_null(strstr(t1, "\"10.9.9.9/32\""));
	assert_non_null(strstr(t1, "\"port\": \"53\""));
	free(t1);
	free(t2);
	tn_config_free(&a);
	tn_config_free(&b);
}

static void test_round_trip_defaults(void **state)
{
	struct tn_config a, b;
	char *t1, *t2;

	parse_ok(EMPTY, &a);
	t1 = to_text(&a);
	assert_string_equal(t1, "{\n  \"zone\": \"default\",\n  \"interfaces\": [\n    \"eth0\"\n  ],\n"
			    "  \"hashSeed\": 0,\n  \"tableSize\": 65537,\n  \"conntrack\": {\n"
			    "    \"size\": 1000000,\n    \"tcpTimeout\": 300,\n    \"udpTimeout\": 30,\n"
			    "    \"udpAdmitRate\": 65536,\n    \"tcpAdmitRate\": 65536\n"
			    "  },\n  \"farms\": [\n  ],\n  \"frontends\": [\n  ]\n}");
	parse_ok(t1, &b);
	t2 = to_text(&b);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	tn_config_free(&a);
	tn_config_free(&b);
}

/* ---- single objects (API bodies) ------------------------------------------------- */

static json_object *jparse(const char *s)
{
	char *t = q(s);
	json_object *o = json_tokener_parse(t);

	free(t);
	assert_non_null(o);
	return o;
}

static void test_single_objects(void **state)
{
	struct tn_errors errs = { 0 };
	struct tn_server_cfg s;
	struct tn_farm_cfg f, f2;
	struct tn_frontend_cfg fe;
	json_object *o, *back;
	char *j;

	o = jparse("{'address':'10.0.0.1','weight':300,'bogus':1}");
	assert_int_equal(tn_server_from_json(o, "", &s, &errs), -EINVAL);
	j = tn_errors_join(&errs);
	assert_string_equal(j, "bogus: unknown field; weight: must be 0..256, got 300");
	free(j);
	tn_errors_free(&errs);
	json_object_put(o);

	/* ids absent in a body stay 0: the caller assigns them */
	o = jparse("{'address':'10.0.0.1'}");
	assert_int_equal(tn_server_from_json(o, "", &s, &errs), 0);
	assert_int_equal(s.server_id, 0);
	assert_int_equal(s.weight, 1);
	tn_server_free(&s);
	json_object_put(o);

	o = jparse("{'type':'tcp','servers':[{'address':'nope'}]}");
	assert_int_equal(tn_farm_from_json(o, "", &f, &errs), -EINVAL);
	j = tn_errors_join(&errs);
	assert_string_equal(j, "servers[0] (server 1).address: must be an IPv4 or IPv6 address, got \"nope\"");
	free(j);
	tn_errors_free(&errs);
	json_object_put(o);

	o = jparse("{'type':'tcp','servers':[{'address':'10.0.0.1'},{'address':'10.0.0.2','serverId':1}]}");
	assert_int_equal(tn_farm_from_json(o, "", &f, &errs), 0);
	assert_int_equal(f.farm_id, 0);
	assert_int_equal(f.servers[0].server_id, 2);
	back = tn_farm_to_json(&f);
	assert_int_equal(tn_farm_from_json(back, "", &f2, &errs), 0);
	assert_true(tn_farm_equal(&f, &f2));
	f2.servers[1].weight = 7;
	assert_false(tn_farm_equal(&f, &f2));
	json_object_put(back);
	tn_farm_free(&f);
	tn_farm_free(&f2);
	json_object_put(o);

	/* a body's paths have no prefix */
	o = jparse("{'type':'tcp','port':80,'servers':[{'address':'10.0.0.1'},{'address':'10.0.0.1','port':80}]}");
	assert_int_equal(tn_farm_from_json(o, "", &f, &errs), -EINVAL);
	j = tn_errors_join(&errs);
	assert_string_equal(j, "servers[1] (server 2, 10.0.0.1:80): same address and port as "
			    "servers[0] (server 1, 10.0.0.1:80): a farm cannot list one server twice");
	free(j);
	tn_errors_free(&errs);
	json_object_put(o);

	o = jparse("{'type':'tcp','vip':'10.0.0.1','port':'x'}");
	assert_int_equal(tn_frontend_from_json(o, "frontends[2]", &fe, &errs), -EINVAL);
	j = tn_errors_join(&errs);
	assert_string_equal(j, "frontends[2].port: \"x\" is not a port (1..65535) or a range (8000-8100)"
			    "; frontends[2].defaultFarmId: is required");
	free(j);
	tn_errors_free(&errs);
	json_object_put(o);
}

/* ---- small parsers ------------------------------------------------------------------ */

static void test_small_parsers(void **state)
{
	struct tn_port_range *r;
	struct tn_addr a;
	struct tn_cidr c;
	uint8_t mac[6];
	char buf[64], err[128];
	size_t n;

	assert_int_equal(tn_addr_parse("192.0.2.1", &a), 0);
	assert_int_equal(a.family, 4);
	assert_int_equal(a.bytes[4], 0);
	tn_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.1");
	assert_int_equal(tn_addr_parse("2001:DB8::1", &a), 0);
	tn_addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1");
	assert_int_equal(tn_addr_parse("192.0.2.1/24", &a), -EINVAL);
	assert_int_equal(tn_addr_parse("", &a), -EINVAL);

	assert_int_equal(tn_cidr_parse("10.1.2.3/8", &c), 0);
	assert_int_equal(c.prefixlen, 8);
	tn_addr_format(&c.addr, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.0"); /* host bits cleared */
	assert_int_equal(tn_cidr_parse("2001:db8::ffff/127", &c), 0);
	tn_addr_format(&c.addr, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::fffe");
	assert_int_equal(tn_cidr_parse("10.0.0.1", &c), 0);
	assert_int_equal(c.prefixlen, 32);
	assert_int_equal(tn_cidr_parse("::1", &c), 0);
	assert_int_equal(c.prefixlen, 128);
	assert_int_equal(tn_cidr_parse("10.0.0.0/", &c), -EINVAL);
	assert_int_equal(tn_cidr_parse("10.0.0.0/+8", &c), -EINVAL);
	assert_int_equal(tn_cidr_parse("10.0.0.0/8x", &c), -EINVAL);
	assert_int_equal(tn_cidr_parse("::/129", &c), -EINVAL);
	assert_int_equal(tn_cidr_parse("::/0", &c), 0);

	assert_int_equal(tn_mac_parse("02:AB:cd:00:11:ff", mac), 0);
	assert_int_equal(mac[1], 0xab);
	assert_int_equal(mac[5], 0xff);
	assert_int_equal(tn_mac_parse("02-ab-cd-00-11-ff", mac), -EINVAL);
	assert_int_equal(tn_mac_parse("02:ab:cd:00:11:f", mac), -EINVAL);

	assert_int_equal(tn_port_spec_parse("80, 443 ,8000-8100", &r, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(r[1].first, 443);
	assert_int_equal(r[1].last, 443);
	assert_int_equal(r[2].first, 8000);
	assert_int_equal(r[2].last, 8100);
	free(r);
	assert_int_equal(tn_port_spec_parse("80,", &r, &n, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "\"\" is not a port (1..65535) or a range (8000-8100)");
	assert_int_equal(tn_port_spec_parse("1-2-3", &r, &n, err, sizeof(err)), -EINVAL);

	assert_string_equal(tn_l4_type_name(TN_L4_TCP), "tcp");
	assert_string_equal(tn_l4_type_name(TN_L4_UDP), "udp");
}

/* ---- copy, equal, free ----------------------------------------------------------------- */

static void test_copy_equal_free(void **state)
{
	struct tn_config a, b;
	struct tn_frontend_cfg fe;

	parse_ok(full_doc, &a);
	assert_int_equal(tn_config_copy(&b, &a), 0);
	assert_true(tn_config_equal(&a, &b));
	/* deep: changing the copy leaves the original alone */
	assert_ptr_not_equal(a.farms[0].servers, b.farms[0].servers);
	b.farms[0].servers[1].weight = 9;
	assert_false(tn_farm_equal(&a.farms[0], &b.farms[0]));
	assert_false(tn_config_equal(&a, &b));
	b.farms[0].servers[1].weight = 1;
	assert_true(tn_config_equal(&a, &b));
	b.frontends[0].ports[2].last = 8011;
	assert_false(tn_frontend_equal(&a.frontends[0], &b.frontends[0]));
	b.frontends[0].ports[2].last = 8010;
	b.farms[0].probe.interval_s = 0.4;
	assert_false(tn_farm_equal(&a.farms[0], &b.farms[0]));
	b.farms[0].probe.interval_s = 0.3;
	free(b.farms[0].probe.pattern);
	b.farms[0].probe.pattern = strdup("200");
	assert_false(tn_farm_equal(&a.farms[0], &b.farms[0]));

	assert_int_equal(tn_frontend_copy(&fe, &a.frontends[0]), 0);
	assert_true(tn_frontend_equal(&fe, &a.frontends[0]));
	tn_frontend_free(&fe);
	assert_null(fe.vips);
	tn_frontend_free(&fe); /* twice is harmless */

	tn_config_free(&a);
	tn_config_free(&b);
	tn_config_free(&b);
}

static void test_validate_programmatic(void **state)
{
	struct tn_errors errs = { 0 };
	struct tn_config c;
	char *j;

	parse_ok(FRONT("{'type':'tcp','vip':'10.1.1.1','defaultFarmId':1}"), &c);
	assert_int_equal(tn_config_validate(&c, &errs), 0);
	/* what the API does: change the model, then validate the whole */
	c.farms[0].servers[0].server_id = 0;
	c.frontends[0].default_farm_id = 5;
	assert_int_equal(tn_config_validate(&c, &errs), -EINVAL);
	j = tn_errors_join(&errs);
	assert_string_equal(j, FARM0 ".servers[0] (server 10.0.0.1).serverId: must be "
			    "1..4294967295, got 0; frontends[0] (tcp frontend 1).defaultFarmId: no tcp farm "
			    "has farmId 5");
	free(j);
	tn_errors_free(&errs);
	tn_config_free(&c);
}

/* ---- ids: the lowest free one, shared by documents and the API ----------------- */

static void test_next_ids(void **state)
{
	struct tn_config c;
	struct tn_farm_cfg *f;

	parse_ok("{" IFACES ",'farms':[{'farmId':1,'type':'tcp'},{'farmId':2,'type':'tcp'},"
		 "{'farmId':4,'type':'tcp','servers':[{'serverId':2,'address':'10.0.0.2'},"
		 "{'serverId':3,'address':'10.0.0.3'}]},{'farmId':1,'type':'udp'}],"
		 "'frontends':[{'frontendId':1,'type':'udp','vip':'10.1.1.1','defaultFarmId':1},"
		 "{'frontendId':2,'type':'udp','vip':'10.1.1.2','defaultFarmId':1}]}", &c);
	/* per type: tcp 1, 2, 4 are taken (3 is free), udp 1 */
	assert_int_equal(tn_config_next_farm_id(&c, TN_L4_TCP), 3);
	assert_int_equal(tn_config_next_farm_id(&c, TN_L4_UDP), 2);
	assert_int_equal(tn_config_next_frontend_id(&c, TN_L4_UDP), 3);
	assert_int_equal(tn_config_next_frontend_id(&c, TN_L4_TCP), 1);
	f = tn_config_farm(&c, TN_L4_TCP, 4);
	assert_non_null(f);
	assert_int_equal(tn_config_next_server_id(f), 1);
	assert_int_equal(tn_config_next_server_id(&c.farms[0]), 1); /* no server */
	/* a deleted object's id is used again */
	c.farms[1].farm_id = 0; /* what the API leaves before assigning */
	assert_int_equal(tn_config_next_farm_id(&c, TN_L4_TCP), 2);
	/* the highest id taken never makes the next one wrap: the lowest free is 1 */
	c.farms[0].farm_id = UINT32_MAX;
	assert_int_equal(tn_config_next_farm_id(&c, TN_L4_TCP), 1);
	f->servers[0].server_id = 1;
	f->servers[1].server_id = UINT32_MAX;
	assert_int_equal(tn_config_next_server_id(f), 2);
	tn_config_free(&c);

	/* a document's absent ids are what the API would give, one after the other */
	parse_ok(FARMS("{'type':'tcp','farmId':4294967295},{'type':'tcp'},{'type':'tcp','farmId':1},"
		       "{'type':'tcp','servers':[{'address':'10.0.0.1','serverId':4294967295},"
		       "{'address':'10.0.0.2'}]}"), &c);
	assert_int_equal(c.farms[1].farm_id, 2);
	assert_int_equal(c.farms[3].farm_id, 3);
	assert_int_equal(c.farms[3].servers[1].server_id, 1);
	assert_int_equal(tn_config_next_farm_id(&c, TN_L4_TCP), 4);
	assert_int_equal(tn_config_next_server_id(&c.farms[3]), 2);
	tn_config_free(&c);

	c = (struct tn_config){ 0 };
	assert_int_equal(tn_config_next_farm_id(&c, TN_L4_TCP), 1);
	assert_int_equal(tn_config_next_frontend_id(&c, TN_L4_UDP), 1);
}

/* ---- probe equality: the farm's and the probe engine's one question -------------- */

static void test_probe_cfg_equal(void **state)
{
	struct tn_config c;
	struct tn_probe_cfg a, b;
	struct tn_farm_cfg f1, f2;
	json_object *j1, *j2;

	parse_ok(FARMS("{'type':'tcp','port':80,'probe':{'type':'http','url':'/health','match':'contains',"
		       "'pattern':'ok','interval':1}}"), &c);
	a = b = c.farms[0].probe; /* shallow: strings shared, so equal */
	assert_true(tn_probe_cfg_equal(&a, &b));
	b.interval_s = 2;
	assert_false(tn_probe_cfg_equal(&a, &b));
	b = a;
	b.rise++;
	assert_false(tn_probe_cfg_equal(&a, &b));
	b = a;
	b.port = 81;
	assert_false(tn_probe_cfg_equal(&a, &b));
	b = a;
	b.url = "/other";
	assert_false(tn_probe_cfg_equal(&a, &b));
	b = a;
	b.pattern = "OK";
	assert_false(tn_probe_cfg_equal(&a, &b));
	b = a;
	b.negate = true;
	assert_false(tn_probe_cfg_equal(&a, &b));
	b = a;
	b.force_ssl = true;
	assert_false(tn_probe_cfg_equal(&a, &b));
	b = a;
	b.match = TN_MATCH_MATCHES;
	assert_false(tn_probe_cfg_equal(&a, &b));
	b = a;
	snprintf(b.method, sizeof(b.method), "OPTIONS");
	assert_false(tn_probe_cfg_equal(&a, &b));
	/* defaults as the probe engine reads them: no method is GET, no url is "/" */
	b = a;
	b.method[0] = '\0';
	assert_true(tn_probe_cfg_equal(&a, &b));
	a.url = NULL;
	b.url = "/";
	assert_true(tn_probe_cfg_equal(&a, &b));
	b.url = "";
	assert_true(tn_probe_cfg_equal(&a, &b));
	/* HTTP fields mean nothing to a tcp probe (and are not saved) */
	a.type = b.type = TN_PROBE_TCP;
	b.url = "/x";
	b.match = TN_MATCH_STATUS;
	b.pattern = "200";
	assert_true(tn_probe_cfg_equal(&a, &b));
	b.type = TN_PROBE_SMTP;
	assert_false(tn_probe_cfg_equal(&a, &b));

	/* a farm's equality asks the same: equal farms write the same JSON */
	assert_int_equal(tn_farm_copy(&f1, &c.farms[0]), 0);
	assert_int_equal(tn_farm_copy(&f2, &c.farms[0]), 0);
	f1.probe.type = f2.probe.type = TN_PROBE_TCP;
	free(f2.probe.url);
	f2.probe.url = strdup("/ignored");
	assert_true(tn_farm_equal(&f1, &f2));
	j1 = tn_farm_to_json(&f1);
	j2 = tn_farm_to_json(&f2);
	assert_string_equal(json_object_to_json_string(j1), json_object_to_json_string(j2));
	json_object_put(j1);
	json_object_put(j2);
	f2.probe.type = TN_PROBE_HTTP;
	f1.probe.type = TN_PROBE_HTTP;
	assert_false(tn_farm_equal(&f1, &f2));
	tn_farm_free(&f1);
	tn_farm_free(&f2);
	tn_config_free(&c);
}

/* ---- enumerations: the data plane's and the probe engine's values ---------------- */

static void test_enum_values(void **state)
{
	static const struct { const char *name; int balance; } balances[] = {
		{ "source", TN_BALANCE_SOURCE }, { "roundrobin", TN_BALANCE_ROUNDROBIN },
		{ "first", TN_BALANCE_FIRST },
	};
	static const struct { const char *name; int rule; } matches[] = {
		{ "default", TN_HTTP_DEFAULT }, { "status", TN_HTTP_STATUS },
		{ "contains", TN_HTTP_CONTAINS }, { "matches", TN_HTTP_MATCHES },
	};
	struct tn_config c;
	char doc[256];
	size_t i;

	/* what the controller copies into the data plane and the probe engine, as is */
	for (i = 0; i < sizeof(balances) / sizeof(balances[0]); i++) {
		snprintf(doc, sizeof(doc), FARMS("{'type':'tcp','balance':'%s','stickiness':'sourceIp'}"),
			 balances[i].name);
		parse_ok(doc, &c);
		assert_int_equal((int)c.farms[0].balance, balances[i].balance);
		assert_int_equal((int)c.farms[0].stickiness, TN_STICKY_SOURCE_IP);
		tn_config_free(&c);
	}
	parse_ok(FARMS("{'type':'tcp'}"), &c);
	assert_int_equal((int)c.farms[0].stickiness, TN_STICKY_NONE);
	tn_config_free(&c);
	for (i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		snprintf(doc, sizeof(doc), PROBE("{'type':'http','match':'%s'%s}"), matches[i].name,
			 i ? ",'pattern':'200'" : "");
		parse_ok(doc, &c);
		assert_int_equal((int)c.farms[0].probe.match, matches[i].rule);
		tn_config_free(&c);
	}
}

/* ---- interfaces: required, not empty --------------------------------------------- */

static const struct doc_case interface_cases[] = {
	{ "{}", "interfaces: required: the interfaces the controller attaches to, e.g. ['eth0']" },
	{ "{'zone':'rbx','farms':[" FARM1 "]}",
	  "interfaces: required: the interfaces the controller attaches to, e.g. ['eth0']" },
	{ "{'interfaces':[]}",
	  "interfaces: must list at least one interface the controller attaches to, e.g. ['eth0']" },
	{ "{'interfaces':null}", "interfaces: required: the interfaces the controller attaches to, e.g. ['eth0']" },
	{ "{'interfaces':['eth0']}", "OK" },
};

static void test_interfaces_required(void **state)
{
	struct tn_errors errs = { 0 };
	struct tn_config c;

	RUN(interface_cases);
	/* the example configuration shipped with Tenace names its interfaces */
	assert_int_equal(tn_config_load_file("scripts/tenace.example.json", &c, &errs), 0);
	assert_true(c.ninterfaces >= 1);
	tn_config_free(&c);
	tn_errors_free(&errs);
}

/* ---- did you mean: unknown fields and values close to a known one ----------------- */

static const struct doc_case suggestion_cases[] = {
	{ FARMS("{'type':'tcp','stickyness':'sourceIp'}"),
	  FARM0 ".stickyness: unknown field (did you mean 'stickiness'?)" },
	{ FARMS("{'type':'tcp','balance':'round robin'}"),
	  FARM0 ".balance: must be one of 'source', 'roundrobin', 'first', got 'round robin' "
	  "(did you mean 'roundrobin'?)" },
	{ FARMS("{'type':'tpc'}"), "farms[0] (farm 1).type: must be 'tcp' or 'udp', got 'tpc' (did you mean 'tcp'?)" },
	{ SRV("{'address':'10.0.0.1','weigth':2}"), SRV0 ".weigth: unknown field (did you mean 'weight'?)" },
	{ SRV("{'address':'10.0.0.1','status':'Active'}"),
	  SRV0 ".status: must be 'active' or 'inactive', got 'Active' (did you mean 'active'?)" },
	{ PROBE("{'type':'HTTP'}"),
	  FARM0 ".probe.type: must be one of 'tcp', 'http', 'smtp', 'mysql', 'pgsql' or null, got 'HTTP' "
	  "(did you mean 'http'?)" },
	{ PROBE("{'type':'http','method':'get'}"),
	  FARM0 ".probe.method: must be one of 'GET', 'HEAD', 'OPTIONS', got 'get' (did you mean 'GET'?)" },
	{ PROBE("{'type':'http','match':'contain','pattern':'x'}"),
	  FARM0 ".probe.match: must be one of 'default', 'status', 'contains', 'matches', got 'contain' "
	  "(did you mean 'contains'?)" },
	{ "{" IFACES ",'conntrack':{'tcptimeout':5}}",
	  "conntrack.tcptimeout: unknown field (did you mean 'tcpTimeout'?)" },
	{ "{" IFACES ",'frontend':[]}", "frontend: unknown field (did you mean 'frontends'?)" },
	/* too far from anything: no guess */
	{ "{" IFACES ",'colour':'blue'}", "colour: unknown field" },
	{ "{" IFACES ",'zoon':'x'}", "zoon: unknown field" },
	{ FARMS("{'type':'tcp','balance':'random'}"),
	  FARM0 ".balance: must be one of 'source', 'roundrobin', 'first', got 'random'" },
	{ FARMS("{'type':'tcp','balance':7}"),
	  FARM0 ".balance: must be one of 'source', 'roundrobin', 'first', got 7" },
};

/* The sorted index answers as the walk does (the first server with the id),
 * on a farm of the most servers with ids out of order and some twice. */
static void test_server_index(void **state)
{
	struct tn_farm_cfg f = {0};
	struct tn_server_index ix;
	size_t n = TN_MAX_SERVERS, found = 0;

	(void)state;
	f.servers = calloc(n, sizeof(*f.servers));
	assert_non_null(f.servers);
	f.nservers = n;
	for (size_t i = 0; i < n; i++) /* a permutation of 1..n, every 100th id given to its neighbour too */
		f.servers[i].server_id = (uint32_t)((i * 7919) % n + 1);
	for (size_t i = 100; i < n; i += 100)
		f.servers[i].server_id = f.servers[i - 1].server_id;
	tn_server_index_init(&ix, &f);
	assert_non_null(ix.v);
	for (uint32_t id = 0; id <= n + 10; id++) {
		const struct tn_server_cfg *want = tn_farm_server(&f, id);

		assert_ptr_equal(tn_server_index_find(&ix, id), want);
		found += want != NULL;
	}
	assert_int_equal(found, n - (n - 1) / 100);
	tn_server_index_free(&ix);
	assert_null(ix.v);
	/* without its sorted copy (no memory), the walk answers */
	assert_ptr_equal(tn_server_index_find(&ix, f.servers[500].server_id), tn_farm_server(&f, f.servers[500].server_id));
	free(f.servers);
	f.servers = NULL;
	f.nservers = 0;
	tn_server_index_init(&ix, &f);
	assert_null(tn_server_index_find(&ix, 1));
	tn_server_index_free(&ix);
}

static void test_did_you_mean(void **state)
{
	static const char *const names[] = { "source", "roundrobin", "first", NULL };

	RUN(suggestion_cases);
	assert_int_equal(tn_edit_distance("", ""), 0);
	assert_int_equal(tn_edit_distance("abc", ""), 3);
	assert_int_equal(tn_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(tn_edit_distance("weigth", "weight"), 1); /* a swap is one edit */
	assert_int_equal(tn_edit_distance("SourceIP", "sourceip"), 0);
	assert_string_equal(tn_closest_name("sorce", names), "source");
	assert_string_equal(tn_closest_name("round-robin", names), "roundrobin");
	assert_string_equal(tn_closest_name("rondrbn", names), "roundrobin"); /* 3 <= 10 / 3 */
	assert_null(tn_closest_name("rndrbn", names));                        /* 4 > 10 / 3 */
	assert_null(tn_closest_name("first", names));                        /* exact: nothing to suggest */
	assert_null(tn_closest_name("fist", (const char *const[]){ "weight", NULL }));
}

/* ---- error paths name their objects; the plain path stays for programs ---------- */

static void test_object_labels(void **state)
{
	struct tn_errors errs = { 0 };
	struct tn_farm_cfg f;
	struct tn_config c;
	json_object *o;
	char *text, *j;

	/* the issue's example */
	text = q("{" IFACES ",'farms':[{'farmId':1,'type':'tcp','displayName':'web','port':80,'servers':["
		 "{'address':'10.55.0.11'},{'address':'10.55.0.12'},{'address':'10.55.0.13','weight':300}]}]}");
	assert_int_equal(tn_config_parse_string(text, &c, &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.v[0].path, "farms[0].servers[2].weight");
	assert_string_equal(tn_error_where(&errs.v[0]),
			    "farms[0] (tcp farm 1 \"web\").servers[2] (server 3, 10.55.0.13:80).weight");
	j = tn_errors_join(&errs);
	assert_string_equal(j, "farms[0] (tcp farm 1 \"web\").servers[2] (server 3, 10.55.0.13:80).weight: "
			    "must be 0..256, got 300");
	free(j);
	tn_errors_free(&errs);
	free(text);

	/* a field that failed is not shown: its value is a default */
	check_doc(FARMS("{'type':'tcp','farmId':'one','displayName':'web','port':-1}"),
		  "farms[0] (tcp farm 'web').farmId: must be an integer 0..4294967295, got 'one'; "
		  "farms[0] (tcp farm 'web').port: must be 0..65535, got -1");
	check_doc(FARMS("{'type':'sctp','farmId':7,'servers':[{'address':'2001:db8::1','port':80,'weight':-2},"
			"{'address':'10.0.0.2','port':'x','serverId':'y'}]}"),
		  "farms[0] (farm 7).type: must be 'tcp' or 'udp', got 'sctp'; "
		  "farms[0] (farm 7).servers[0] (server 1, [2001:db8::1]:80).weight: must be 0..256, got -2; "
		  "farms[0] (farm 7).servers[1] (server 10.0.0.2).serverId: must be an integer 0..4294967295, "
		  "got 'y'; farms[0] (farm 7).servers[1] (server 10.0.0.2).port: must be an integer 0..65535, "
		  "got 'x'");
	/* nothing to name: the path alone */
	check_doc(FARMS("5"), "farms[0]: must be an object, got 5");
	check_doc(FARMS("{'type':'tcp','zone':3}") , FARM0 ".zone: must be a string or null, got 3");
	check_doc("{" IFACES ",'tableSize':1}", "tableSize: must be 1021..655373, got 1");
	/* a frontend, and a cross rule naming the other object */
	check_doc("{" IFACES ",'farms':[{'farmId':5,'type':'udp','displayName':'dns'}],"
		  "'frontends':[{'frontendId':9,'type':'tcp','displayName':'www','vip':'10.1.1.1',"
		  "'defaultFarmId':5,'disabled':1}]}",
		  "frontends[0] (tcp frontend 9 'www').disabled: must be true or false, got 1");
	check_doc("{" IFACES ",'farms':[{'farmId':5,'type':'udp','displayName':'dns'}],"
		  "'frontends':[{'frontendId':9,'type':'tcp','displayName':'www','vip':'10.1.1.1',"
		  "'defaultFarmId':5}]}",
		  "frontends[0] (tcp frontend 9 'www').defaultFarmId: farmId 5 is farms[0] (udp farm 5 'dns'): "
		  "a tcp frontend needs a tcp farm");
	/* a long name is cut, never inside a UTF-8 character */
	check_doc(FARMS("{'type':'tcp','displayName':'123456789012345678901234567890123456789\\u00e9',"
			"'port':-1}"),
		  "farms[0] (tcp farm 1 '123456789012345678901234567890123456789').port: must be 0..65535, "
		  "got -1");

	/* the API's 400 sends path as "field": it stays a plain JSON path */
	o = jparse("{'type':'tcp','port':80,'servers':[{'address':'10.0.0.1','weight':300}]}");
	assert_int_equal(tn_farm_from_json(o, "", &f, &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.v[0].path, "servers[0].weight");
	assert_string_equal(tn_error_where(&errs.v[0]), "servers[0] (server 1, 10.0.0.1:80).weight");
	tn_errors_free(&errs);
	json_object_put(o);
	tn_errors_add(&errs, "zone", "must not be empty");
	assert_string_equal(tn_error_where(&errs.v[0]), "zone");
	tn_errors_free(&errs);
}

/* ---- files ------------------------------------------------------------------------------- */

static void test_save_load(void **state)
{
	char dir[] = "/tmp/tenace-test-XXXXXX", path[128], bad[128];
	struct tn_errors errs = { 0 };
	struct tn_config a, b;
	struct stat st;
	FILE *f;
	char *j;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tenace.json", dir);
	parse_ok(full_doc, &a);
	assert_int_equal(tn_config_save_file(&a, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(tn_config_load_file(path, &b, &errs), 0);
	assert_true(tn_config_equal(&a, &b));
	tn_config_free(&b);
	/* a second save replaces the file and keeps its mode */
	assert_int_equal(chmod(path, 0600), 0);
	a.hash_seed = 7;
	assert_int_equal(tn_config_save_file(&a, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(tn_config_load_file(path, &b, &errs), 0);
	assert_int_equal(b.hash_seed, 7);
	tn_config_free(&b);

	/* a syntax error names the file and the line */
	snprintf(bad, sizeof(bad), "%s/bad.json", dir);
	f = fopen(bad, "w");
	assert_non_null(f);
	fputs("{\n  \"zone\": \"x\"\n  \"farms\": []\n}\n", f);
	fclose(f);
	assert_int_equal(tn_config_load_file(bad, &b, &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.v[0].path, bad);
	assert_string_equal(errs.v[0].message, "line 3: invalid JSON: object value separator ',' expected");
	tn_errors_free(&errs);

	/* an unreadable file says why */
	assert_int_equal(tn_config_load_file(dir, &b, &errs), -EISDIR);
	j = tn_errors_join(&errs);
	assert_non_null(strstr(j, ": cannot read: Is a directory"));
	free(j);
	tn_errors_free(&errs);
	assert_int_equal(tn_config_save_file(&a, "/nonexistent-dir/x.json"), -ENOENT);

	/* no temporary files are left behind */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unlink(bad), 0);
	assert_int_equal(rmdir(dir), 0);
	tn_config_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document_defaults),
		cmocka_unit_test(test_object_defaults),
		cmocka_unit_test(test_probe_timeout_default),
		cmocka_unit_test(test_id_assignment),
		cmocka_unit_test(test_document_rules),
		cmocka_unit_test(test_huge_numbers),
		cmocka_unit_test(test_farm_rules),
		cmocka_unit_test(test_server_rules),
		cmocka_unit_test(test_probe_rules),
		cmocka_unit_test(test_probe_port),
		cmocka_unit_test(test_frontend_rules),
		cmocka_unit_test(test_cross_rules),
		cmocka_unit_test(test_ports_overlap),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_filter_limits),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_errors_join_and_append),
		cmocka_unit_test(test_rejected_leaves_config_untouched),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_defaults),
		cmocka_unit_test(test_single_objects),
		cmocka_unit_test(test_small_parsers),
		cmocka_unit_test(test_copy_equal_free),
		cmocka_unit_test(test_validate_programmatic),
		cmocka_unit_test(test_next_ids),
		cmocka_unit_test(test_probe_cfg_equal),
		cmocka_unit_test(test_enum_values),
		cmocka_unit_test(test_interfaces_required),
		cmocka_unit_test(test_server_index),
		cmocka_unit_test(test_did_you_mean),
		cmocka_unit_test(test_object_labels),
		cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
