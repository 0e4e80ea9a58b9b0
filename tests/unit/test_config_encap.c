// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A farm's forwarding in the configuration (user/config/encap.c): defaults,
 * every rule with its exact message and JSON path, the encapSource a farm's
 * servers need, round trips, equality, farm bodies as the API sends them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "config/config.h"

static char *q(const char *s)
{
	char *d = strdup(s), *p;

	assert_non_null(d);
	for (p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static char *errors_of(const char *doc)
{
	struct tn_errors errs = { 0 };
	struct tn_config c;
	char *text = q(doc), *out;

	if (!tn_config_parse_string(text, &c, &errs)) {
		tn_config_free(&c);
		out = strdup("OK");
	} else {
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
		print_error("document: %s\ngot:      %s\n", doc, got);
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

#define FARM(x) "{'interfaces':['eth0'],'farms':[{'farmId':1,'type':'tcp'," x "}]}"
#define S4 "'servers':[{'address':'10.1.0.11'}]"
#define S46 "'servers':[{'address':'10.1.0.11'},{'address':'fd01::12'}]"
#define F0 "farms[0] (tcp farm 1)"

static void test_defaults(void **state)
{
	struct tn_config c;

	parse_ok(FARM(S4), &c);
	assert_int_equal(c.farms[0].encap.forwarding, TN_FORWARD_DSR);
	assert_int_equal(c.farms[0].encap.gue_version, 0);
	assert_int_equal(c.farms[0].encap.gue_port, 6080);
	assert_null(tn_encap_source(&c.farms[0].encap, TN_FAMILY_V4));
	tn_config_free(&c);
	parse_ok(FARM("'forwarding':'gue','encapSource':['10.0.0.2','fd00::2']," S46), &c);
	assert_int_equal(c.farms[0].encap.forwarding, TN_FORWARD_GUE);
	assert_int_equal(c.farms[0].encap.gue_version, 0);
	assert_int_equal(c.farms[0].encap.gue_port, 6080);
	assert_non_null(tn_encap_source(&c.farms[0].encap, TN_FAMILY_V4));
	assert_non_null(tn_encap_source(&c.farms[0].encap, TN_FAMILY_V6));
	assert_string_equal(tn_forwarding_name(c.farms[0].encap.forwarding), "gue");
	tn_config_free(&c);
	parse_ok(FARM("'forwarding':'gue','gueVersion':1,'guePort':7000,'encapSource':['fd00::2'],"
		      "'servers':[{'address':'fd01::12'}]"), &c);
	assert_int_equal(c.farms[0].encap.gue_version, 1);
	assert_int_equal(c.farms[0].encap.gue_port, 7000);
	assert_null(tn_encap_source(&c.farms[0].encap, TN_FAMILY_V4));
	tn_config_free(&c);
}

static void test_rules(void **state)
{
	check_doc(FARM("'forwarding':'ipip','encapSource':['10.0.0.2']," S4), "OK");
	check_doc(FARM("'forwarding':'dsr'," S4), "OK");
	check_doc(FARM("'forwarding':'gre'," S4),
		  F0 ".forwarding: must be one of 'dsr', 'ipip', 'gue', got 'gre' (did you mean 'gue'?)");
	check_doc(FARM("'forwarding':'ipp','encapSource':['10.0.0.2']," S4),
		  F0 ".forwarding: must be one of 'dsr', 'ipip', 'gue', got 'ipp' (did you mean 'ipip'?)");
	check_doc(FARM("'forwarding':'gue','gueVersion':2,'encapSource':['10.0.0.2']," S4),
		  F0 ".gueVersion: must be 0..1, got 2");
	check_doc(FARM("'forwarding':'gue','guePort':0,'encapSource':['10.0.0.2']," S4),
		  F0 ".guePort: must be 1..65535, got 0");
	check_doc(FARM("'forwarding':'ipip','guePort':6080,'encapSource':['10.0.0.2']," S4),
		  F0 ".guePort: only for farms with forwarding 'gue'");
	check_doc(FARM("'gueVersion':1," S4), F0 ".gueVersion: only for farms with forwarding 'gue'");
	check_doc(FARM("'encapSource':['10.0.0.2']," S4),
		  F0 ".encapSource: only for farms with forwarding 'ipip' or 'gue'");
	check_doc(FARM("'forwarding':'ipip','encapSource':'10.0.0.2'," S4),
		  F0 ".encapSource: must be an array, got '10.0.0.2'");
	check_doc(FARM("'forwarding':'ipip','encapSource':['10.0.0.2','10.0.0.3']," S4),
		  F0 ".encapSource[1]: a second IPv4 address (the first is 10.0.0.2): at most one per family");
	check_doc(FARM("'forwarding':'ipip','encapSource':['224.0.0.1']," S4),
		  F0 ".encapSource[0]: must be a unicast IPv4 or IPv6 address of this node, got '224.0.0.1'");
	check_doc(FARM("'forwarding':'ipip','encapSource':['::']," S4),
		  F0 ".encapSource[0]: must be a unicast IPv4 or IPv6 address of this node, got '::'");
	check_doc(FARM("'forwarding':'ipip','encapSource':[7]," S4),
		  F0 ".encapSource[0]: must be a string, got 7");
	/* an encapsulating farm without the source its servers need */
	check_doc(FARM("'forwarding':'gue'," S4),
		  F0 ".encapSource: needs an IPv4 address of this node (the outer source of its tunnels): the farm "
		  "forwards with gue to IPv4 servers such as servers[0] (server 1, 10.1.0.11)");
	check_doc(FARM("'forwarding':'ipip','encapSource':['10.0.0.2']," S46),
		  F0 ".encapSource: needs an IPv6 address of this node (the outer source of its tunnels): the farm "
		  "forwards with ipip to IPv6 servers such as servers[1] (server 2, fd01::12)");
	/* dsr needs none; an empty encapsulating farm needs none yet */
	check_doc(FARM(S46), "OK");
	check_doc(FARM("'forwarding':'ipip','servers':[]"), "OK");
	/* the clamp is the servers' */
	check_doc(FARM("'forwarding':'ipip','encapSource':['10.0.0.2'],'mssClamp':true," S4),
		  F0 ".mssClamp: is a setting of the servers, not of the farm: their SYN-ACKs never reach the balancer; "
		  "run tenace decap IFACE --vip ... --mss-clamp on|off on each server (on by default)");
}

static void test_round_trip_and_equality(void **state)
{
	struct tn_config a, b, c;
	json_object *j;
	const char *text;
	struct tn_errors errs = { 0 };

	parse_ok(FARM("'forwarding':'gue','gueVersion':1,'guePort':7000,'encapSource':['fd00::2','10.0.0.2'],"
		      S46), &a);
	j = tn_config_to_json(&a);
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	assert_non_null(strstr(text, "\"forwarding\":\"gue\""));
	assert_non_null(strstr(text, "\"gueVersion\":1"));
	assert_non_null(strstr(text, "\"guePort\":7000"));
	assert_non_null(strstr(text, "\"encapSource\":[\"10.0.0.2\",\"fd00::2\"]"));
	assert_int_equal(tn_config_parse_string(text, &b, &errs), 0);
	assert_true(tn_config_equal(&a, &b));
	json_object_put(j);
	/* a dsr farm says so, and nothing of tunnels */
	parse_ok(FARM(S4), &c);
	j = tn_config_to_json(&c);
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	assert_non_null(strstr(text, "\"forwarding\":\"dsr\""));
	assert_null(strstr(text, "guePort"));
	assert_null(strstr(text, "encapSource"));
	json_object_put(j);
	/* each setting counts for equality (a refresh rebuilds the farm) */
	b.farms[0].encap.gue_port = 7001;
	assert_false(tn_farm_equal(&a.farms[0], &b.farms[0]));
	b.farms[0].encap.gue_port = 7000;
	b.farms[0].encap.gue_version = 0;
	assert_false(tn_farm_equal(&a.farms[0], &b.farms[0]));
	b.farms[0].encap.gue_version = 1;
	b.farms[0].encap.source6.bytes[15] ^= 1;
	assert_false(tn_farm_equal(&a.farms[0], &b.farms[0]));
	b.farms[0].encap.source6.bytes[15] ^= 1;
	b.farms[0].encap.forwarding = TN_FORWARD_IPIP;
	assert_false(tn_farm_equal(&a.farms[0], &b.farms[0]));
	b.farms[0].encap.forwarding = TN_FORWARD_GUE;
	assert_true(tn_farm_equal(&a.farms[0], &b.farms[0]));
	tn_config_free(&a);
	tn_config_free(&b);
	tn_config_free(&c);
}

/* A farm body as the API receives it: the same rules, paths from the body. */
static void test_farm_body(void **state)
{
	struct tn_errors errs = { 0 };
	struct tn_farm_cfg f;
	char *body = q("{'type':'udp','forwarding':'ipip','servers':[{'address':'fd01::1'}]}");
	json_object *o = json_tokener_parse(body);
	char *j;

	assert_non_null(o);
	assert_int_equal(tn_farm_from_json(o, "", &f, &errs), -EINVAL);
	j = tn_errors_join(&errs);
	assert_string_equal(j, "encapSource: needs an IPv6 address of this node (the outer source of its tunnels): the "
			       "farm forwards with ipip to IPv6 servers such as servers[0] (server 1, fd01::1)");
	free(j);
	tn_errors_free(&errs);
	json_object_put(o);
	free(body);
	body = q("{'type':'udp','forwarding':'ipip','encapSource':['fd00::2'],'servers':[{'address':'fd01::1'}]}");
	o = json_tokener_parse(body);
	assert_int_equal(tn_farm_from_json(o, "", &f, &errs), 0);
	assert_int_equal(f.encap.forwarding, TN_FORWARD_IPIP);
	tn_farm_free(&f);
	json_object_put(o);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_round_trip_and_equality),
		cmocka_unit_test(test_farm_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
