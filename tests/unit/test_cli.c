/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The CLI's human output: API text escaped for the terminal (C0, DEL, C1,
 * invalid UTF-8), valid UTF-8 kept, tables aligned on what the terminal
 * shows. The commands themselves are tested against a running controller
 * (tests/integration/cli.sh, api.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "cli/internal.h"
#include "cli/table.h"

static void expect(const char *in, const char *want)
{
	char *got = tn_term_escape(in);

	assert_non_null(got);
	if (strcmp(got, want))
		fail_msg("escape(\"%s\"): got \"%s\", expected \"%s\"", in, got, want);
	free(got);
}

static void test_escape_controls(void **state)
{
	(void)state;
	expect("plain text, 80% ok", "plain text, 80% ok");
	expect("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	expect("\x1b]0;title\x07", "\\x1b]0;title\\x07");
	expect("a\tb\nc\rd", "a\\tb\\nc\\rd");
	expect("\x01\x1f\x7f", "\\x01\\x1f\\x7f");
	expect("back\\slash", "back\\slash");
	expect("", "");
	expect(NULL, "");
}

static void test_escape_utf8(void **state)
{
	(void)state;
	expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	expect("nbsp\xc2\xa0", "nbsp\xc2\xa0");                  /* U+00A0: printable */
	expect("csi\xc2\x9b" "2J", "csi\\xc2\\x9b2J");            /* U+009B: a C1 control */
	expect("\xc2\x80\xc2\x9f", "\\xc2\\x80\\xc2\\x9f");
	expect("\xff\xfe", "\\xff\\xfe");                         /* never UTF-8 */
	expect("cut\xc3", "cut\\xc3");                            /* truncated sequence */
	expect("\xc3(", "\\xc3(");                                /* bad continuation */
	expect("\xc0\xaf", "\\xc0\\xaf");                         /* overlong "/" */
	expect("\xe0\x80\xaf", "\\xe0\\x80\\xaf");                /* overlong, 3 bytes */
	expect("\xed\xa0\x80", "\\xed\\xa0\\x80");                /* a surrogate */
	expect("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");       /* past U+10FFFF */
	expect("\xe2\x82", "\\xe2\\x82");
}

static void test_term_safe_ring(void **state)
{
	const char *a, *b;

	(void)state;
	a = tn_term_safe("one\n");
	b = tn_term_safe("two\x1b");
	assert_string_equal(a, "one\\n");  /* still valid: 16 buffers in turn */
	assert_string_equal(b, "two\\x1b");
	tn_term_safe_free();
}

/* Capture what tn_table_print writes to stdout. */
static char *table_output(struct tn_table *t)
{
	char path[] = "/tmp/tenace-test-cli-XXXXXX", *buf = calloc(1, 4096);
	int fd = mkstemp(path), saved;

	assert_true(fd >= 0 && buf);
	unlink(path);
	fflush(stdout);
	saved = dup(1);
	dup2(fd, 1);
	tn_table_print(t);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	assert_true(read(fd, buf, 4095) >= 0);
	close(fd);
	return buf;
}

static void test_table(void **state)
{
	struct tn_table t;
	char *out;

	(void)state;
	tn_table_init(&t, 3);
	tn_table_colour_states(&t, 2); /* not a terminal: no colour */
	tn_table_row(&t, "ID", "NAME", "STATE");
	tn_table_row(&t, "1", "caf\xc3\xa9", "up");
	tn_table_row(&t, "22", "\x1b[2Jx\ny", "down");
	tn_table_row(&t, NULL, "last", "up");
	out = table_output(&t);
	/* columns aligned on code points ("café" is 4 wide, 5 bytes); escapes are text */
	assert_string_equal(out,
			    "ID  NAME         STATE\n"
			    "1   caf\xc3\xa9         up\n"
			    "22  \\x1b[2Jx\\ny  down\n"
			    "-   last         up\n");
	assert_null(strchr(out, '\x1b'));
	assert_int_equal(t.nrows, 0);
	free(out);
}

static void expect_probe(const char *json, const char *want)
{
	json_object *o = json ? json_tokener_parse(json) : NULL;
	char *got = cli_probe_line(o);

	assert_non_null(got);
	if (strcmp(got, want))
		fail_msg("probe %s: got \"%s\", expected \"%s\"", json ? json : "null", got, want);
	free(got);
	json_object_put(o);
}

/* `farm show` prints the probe as a sentence an operator reads, not JSON */
static void test_probe_line(void **state)
{
	(void)state;
	expect_probe(NULL, "none");
	expect_probe("{}", "none");
	expect_probe("{\"type\":\"tcp\",\"port\":0,\"interval\":5,\"timeout\":2,\"rise\":2,\"fall\":3}",
		     "tcp every 5 s, timeout 2 s, rise 2, fall 3");
	expect_probe("{\"type\":\"http\",\"port\":8080,\"interval\":30,\"method\":\"GET\",\"url\":\"/health\","
		     "\"match\":\"status\",\"pattern\":\"200\",\"negate\":false,\"forceSsl\":true}",
		     "http port 8080 every 30 s, GET /health, status \"200\", TLS");
	expect_probe("{\"type\":\"http\",\"method\":\"HEAD\",\"url\":\"/\",\"match\":\"contains\","
		     "\"pattern\":\"maintenance\",\"negate\":true}",
		     "http, HEAD /, not contains \"maintenance\"");
	expect_probe("{\"type\":\"http\",\"match\":\"default\",\"pattern\":\"\"}", "http");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_utf8),
		cmocka_unit_test(test_term_safe_ring),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_probe_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
