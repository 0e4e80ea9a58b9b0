/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * user/lib: the strict JSON reader every document goes through (files and
 * API bodies), addresses, host:port, MACs, numbers, the growable buffer and
 * atomic files.
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
#include "lib/buf.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/net.h"
#include "lib/num.h"
#include "lib/sdnotify.h"
#include <sys/socket.h>
#include <sys/un.h>

/* parse text; NULL expected_err means it must be accepted */
static void json_case(const char *text, size_t len, const char *expected_err)
{
	char err[320] = "";
	json_object *o = tn_json_parse(text, len, err, sizeof(err));

	if (!expected_err) {
		if (!o)
			fail_msg("refused %.*s: %s", (int)len, text, err);
		json_object_put(o);
		return;
	}
	if (o) {
		json_object_put(o);
		fail_msg("accepted %.*s (expected: %s)", (int)len, text, expected_err);
	}
	if (!strstr(err, expected_err))
		fail_msg("%.*s: got \"%s\", expected \"%s\"", (int)len, text, err, expected_err);
}

#define J(text, expected) json_case(text, sizeof(text) - 1, expected)

static void test_json_strict(void **state)
{
	J("{\"a\": 1, \"b\": [1, {\"c\": null}], \"d\": \"\\u00e9\"}", NULL);
	J("{\"a\": 1, \"a\": 2}", "line 1: invalid JSON: duplicate key \"a\"");
	J("{\"x\": {\"a\": 1,\n\"b\": 2,\n\"a\": 3}}", "line 3: invalid JSON: duplicate key \"a\"");
	/* the same key spelled with an escape is still the same key */
	J("{\"ab\": 1, \"a\\u0062\": 2}", "duplicate key \"ab\"");
	/* the same key in two different objects is fine */
	J("[{\"a\": 1}, {\"a\": 2}]", NULL);
	J("{\"a\": 1,}", "invalid JSON");
	J("{'a': 1}", "single quotes");
	J("{\"a\": 'x'}", "invalid JSON");
	J("[{'a': 1}, {'b': [1]}]", "single quotes");
	J("{\"a\": [{\"b\": 'c'}]}", "invalid JSON");
	J("{\"a\": 1} /* c */", "invalid JSON");
	J("// c\n{\"a\": 1}", "invalid JSON");
	J("{\"a\": 1} {}", "invalid JSON");
	J("{\"a\": \"\xff\"}", "invalid JSON");
	J("{\"a\": \"\xc3\"}", "invalid UTF-8");
	J("{\"a\": \"\xc0\xaf\"}", "invalid UTF-8");          /* overlong "/" */
	J("{\"a\": \"\xe0\x80\xaf\"}", "invalid UTF-8");      /* overlong, three bytes */
	J("{\"a\": \"\xed\xa0\x80\"}", "invalid UTF-8");      /* a UTF-16 surrogate */
	J("{\"a\": \"\xf4\x90\x80\x80\"}", "invalid UTF-8");  /* above U+10FFFF */
	J("{\"a\": \"\xf8\x88\x80\x80\x80\"}", "invalid UTF-8");
	J("{\"a\": \"\x80\"}", "invalid UTF-8");
	J("{\"a\": \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xee\x80\x80\"}", NULL);
	J("{\"a\": 1}\n\n", NULL);
	J("{\"a\": \"x\0y\"}", "NUL byte");
	J("{\"a\":", "unexpected end of data");
}

static void test_json_many_keys(void **state)
{
	/* 50,000 keys in one object: sorted, not compared pairwise */
	struct tn_buf b = {0};
	char err[320];
	json_object *o;

	tn_buf_printf(&b, "{");
	for (int i = 0; i < 50000; i++)
		tn_buf_printf(&b, "%s\"k%d\": %d", i ? "," : "", i, i);
	tn_buf_printf(&b, ", \"k49999\": 0}");
	o = tn_json_parse(b.s, b.len, err, sizeof(err));
	assert_null(o);
	assert_non_null(strstr(err, "duplicate key \"k49999\""));
	tn_buf_free(&b);
}

static void test_hostport(void **state)
{
	struct tn_addr a;
	uint16_t port;
	char text[64];

	assert_int_equal(tn_hostport_parse("10.0.0.1:80", &a, &port), 0);
	assert_int_equal(a.family, 4);
	assert_int_equal(port, 80);
	assert_int_equal(tn_hostport_parse("[fd00::1]:8443", &a, &port), 0);
	assert_int_equal(a.family, 6);
	assert_int_equal(port, 8443);
	tn_addr_port_format(&a, port, text, sizeof(text));
	assert_string_equal(text, "[fd00::1]:8443");
	assert_int_equal(tn_hostport_parse("fd00::1:80", &a, &port), -EINVAL);
	assert_int_equal(tn_hostport_parse("[10.0.0.1]:80", &a, &port), -EINVAL);
	assert_int_equal(tn_hostport_parse("10.0.0.1:0", &a, &port), -EINVAL);
	assert_int_equal(tn_hostport_parse("10.0.0.1:65536", &a, &port), -EINVAL);
	assert_int_equal(tn_hostport_parse("10.0.0.1:", &a, &port), -EINVAL);
	assert_int_equal(tn_hostport_parse("10.0.0.1", &a, &port), -EINVAL);
	assert_int_equal(tn_hostport_parse("10.0.0.1:8a", &a, &port), -EINVAL);
	assert_int_equal(tn_hostport_parse("name:80", &a, &port), -EINVAL);
}

static void test_mac(void **state)
{
	uint8_t m[6];
	char text[TN_MAC_TEXT];

	assert_int_equal(tn_mac_parse("02:54:4e:00:0a:FF", m), 0);
	tn_mac_format(m, text);
	assert_string_equal(text, "02:54:4e:00:0a:ff");
	assert_int_equal(tn_mac_parse("2:54:4e:0:a:ff", m), -EINVAL);
	assert_int_equal(tn_mac_parse("02-54-4e-00-0a-ff", m), -EINVAL);
	assert_int_equal(tn_mac_parse("02:54:4e:00:0a:fg", m), -EINVAL);
	assert_int_equal(tn_mac_parse("02:54:4e:00:0a:ff:", m), -EINVAL);
}

static void test_numbers(void **state)
{
	uint32_t v;

	assert_int_equal(tn_parse_u32("4294967295", 0, UINT32_MAX, &v), 0);
	assert_int_equal(v, 4294967295u);
	assert_int_equal(tn_parse_u32("0x10", 0, 100, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(tn_parse_u32("4294967296", 0, UINT32_MAX, &v), -ERANGE);
	assert_int_equal(tn_parse_u32("101", 0, 100, &v), -ERANGE);
	assert_int_equal(tn_parse_u32("-1", 0, 100, &v), -EINVAL);
	assert_int_equal(tn_parse_u32(" 1", 0, 100, &v), -EINVAL);
	assert_int_equal(tn_parse_u32("1x", 0, 100, &v), -EINVAL);
	assert_int_equal(tn_parse_u32("", 0, 100, &v), -EINVAL);
	assert_int_equal(tn_parse_id("007", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(tn_parse_id("0x7", &v), -EINVAL);
	assert_int_equal(tn_parse_id("4294967296", &v), -EINVAL);
}

static void test_buf(void **state)
{
	struct tn_buf b = {0};
	char *s;

	s = tn_buf_take(&b);
	assert_string_equal(s, "");
	free(s);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(tn_buf_printf(&b, "%d,", i), 0);
	assert_int_equal(tn_buf_append(&b, "end", 3), 0);
	s = tn_buf_take(&b);
	assert_int_equal(strlen(s), 3890 + 3);
	assert_non_null(strstr(s, ",999,end"));
	free(s);
	assert_null(b.s);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/tenace-test-lib-XXXXXX", path[128], *text = NULL;
	struct stat st;
	size_t len;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a/b/state.json", dir);
	assert_int_equal(tn_mkdir_parent(path, 0755), 0);
	assert_int_equal(tn_file_write_atomic(path, "first", 5, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	chmod(path, 0640);
	assert_int_equal(tn_file_write_atomic(path, "second", 6, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640); /* the replaced file's mode is kept */
	assert_int_equal(tn_file_read(path, 100, &text, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(text, "second");
	free(text);
	assert_int_equal(tn_file_read(path, 5, &text, &len), -EFBIG);
	assert_int_equal(tn_file_read("/nonexistent/x", 5, &text, &len), -ENOENT);
	unlink(path);
	snprintf(path, sizeof(path), "%s/a/b", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/a", dir);
	rmdir(path);
	assert_int_equal(rmdir(dir), 0); /* no temporary file left behind */
}

static void test_sd_notify(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[] = "/tmp/tenace-test-notify-XXXXXX", sock[64], buf[64], pid[16];
	int fd;
	ssize_t n;

	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(tn_sd_notify("READY=1"), 0); /* not under systemd: nothing */
	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/notify", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", sock, 1);
	assert_int_equal(tn_sd_notify("READY=1\nSTATUS=serving"), 1);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = 0;
	assert_string_equal(buf, "READY=1\nSTATUS=serving");
	close(fd);
	unlink(sock);
	rmdir(path);
	unsetenv("NOTIFY_SOCKET");

	setenv("WATCHDOG_USEC", "2000000", 1);
	unsetenv("WATCHDOG_PID");
	assert_int_equal(tn_sd_watchdog_usec(), 2000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(tn_sd_watchdog_usec(), 0); /* meant for another process */
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(tn_sd_watchdog_usec(), 2000000);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(tn_sd_watchdog_usec(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_strict),
		cmocka_unit_test(test_json_many_keys),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_sd_notify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
