/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Unit tests of the health-probe reply parsers: good, truncated and garbage
 * replies for every probe type. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "probe/probe_proto.h"

static char why[TN_REASON_MAX];

#define assert_prefix(s, prefix) do { \
	if (strncmp((s), (prefix), strlen(prefix))) \
		fail_msg("\"%s\" does not start with \"%s\"", (s), (prefix)); \
} while (0)

#define assert_has(s, part) do { \
	if (!strstr((s), (part))) \
		fail_msg("\"%s\" does not contain \"%s\"", (s), (part)); \
} while (0)

/* ---- SMTP ---- */

static enum tn_pv smtp(const char *s, bool eof, int expect, const char *what)
{
	return tn_smtp_reply(s, strlen(s), eof, expect, what, why, sizeof(why));
}

static void test_smtp_banner_ok(void **state)
{
	(void)state;
	assert_int_equal(smtp("220 mail.example.com ESMTP Postfix\r\n", false, 220, "banner"), TN_PV_UP);
	assert_string_equal(why, "smtp banner 220");
	assert_int_equal(smtp("220\r\n", false, 220, "banner"), TN_PV_UP);
	assert_int_equal(smtp("220 bare newline\n", false, 220, "banner"), TN_PV_UP);
}

static void test_smtp_multiline(void **state)
{
	(void)state;
	assert_int_equal(smtp("220-mail.example.com\r\n", false, 220, "banner"), TN_PV_MORE);
	assert_int_equal(smtp("220-mail.example.com\r\n220 ready\r\n", false, 220, "banner"), TN_PV_UP);
	assert_int_equal(smtp("250-mail\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n",
			      false, 250, "EHLO reply"), TN_PV_UP);
	assert_string_equal(why, "smtp EHLO reply 250");
	assert_int_equal(smtp("250-mail\r\n250-PIPELINING\r\n25", false, 250, "EHLO reply"), TN_PV_MORE);
}

static void test_smtp_wrong_code(void **state)
{
	(void)state;
	assert_int_equal(smtp("554 mail.example.com no service\r\n", false, 220, "banner"), TN_PV_DOWN);
	assert_prefix(why, "smtp banner 554, expected 220");
	assert_has(why, "no service");
	assert_int_equal(smtp("502 5.5.2 Error: command not recognized\r\n", false, 250, "EHLO reply"), TN_PV_DOWN);
	assert_prefix(why, "smtp EHLO reply 502, expected 250");
	assert_int_equal(smtp("421-busy\r\n421 try later\r\n", false, 220, "banner"), TN_PV_DOWN);
	assert_prefix(why, "smtp banner 421, expected 220");
}

static void test_smtp_truncated(void **state)
{
	static const char full[] = "220 ok\r\n";
	size_t i;

	(void)state;
	for (i = 0; i + 1 < sizeof(full) - 1; i++) {
		assert_int_equal(tn_smtp_reply(full, i, false, 220, "banner", why, sizeof(why)), TN_PV_MORE);
		assert_int_equal(tn_smtp_reply(full, i, true, 220, "banner", why, sizeof(why)), TN_PV_DOWN);
		if (i == 0)
			assert_string_equal(why, "smtp banner: connection closed before any reply");
		else
			assert_has(why, "truncated at");
	}
	assert_int_equal(tn_smtp_reply(full, sizeof(full) - 1, true, 220, "banner", why, sizeof(why)), TN_PV_UP);
}

static void test_smtp_garbage(void **state)
{
	(void)state;
	assert_int_equal(smtp("HTTP/1.1 400 Bad Request\r\n", false, 220, "banner"), TN_PV_DOWN);
	assert_prefix(why, "smtp banner: not an smtp reply \"HTTP/1.1 400");
	assert_int_equal(smtp("SSH-2.0-OpenSSH_9.2", false, 220, "banner"), TN_PV_DOWN);
	assert_int_equal(tn_smtp_reply("\x16\x03\x01\x00", 4, false, 220, "banner", why, sizeof(why)), TN_PV_DOWN);
	assert_int_equal(smtp("22x ok\r\n", false, 220, "banner"), TN_PV_DOWN);
	assert_int_equal(smtp("2200 ok\r\n", false, 220, "banner"), TN_PV_DOWN);
	/* a continuation with a garbage line after it */
	assert_int_equal(smtp("220-ok\r\nhello\r\n", false, 220, "banner"), TN_PV_DOWN);
}

static void test_smtp_consumed(void **state)
{
	static const char s[] = "250-a\r\n250-b\r\n250-c";

	(void)state;
	assert_int_equal(tn_smtp_consumed(s, strlen(s)), 14);
	assert_int_equal(tn_smtp_consumed("250-abc", 7), 0);
	assert_int_equal(tn_smtp_consumed("", 0), 0);
}

/* ---- MySQL ---- */

/* A MySQL 8 greeting, as the server sends it. */
static size_t mysql_greeting(uint8_t *out)
{
	static const char version[] = "8.0.36";
	size_t n = 4;

	out[n++] = 10;
	memcpy(out + n, version, sizeof(version));
	n += sizeof(version);
	memcpy(out + n, "\x08\x00\x00\x00", 4);          /* connection id */
	n += 4;
	memcpy(out + n, "abcdefgh", 8);                  /* auth data part 1 */
	n += 8;
	out[n++] = 0;                                    /* filler */
	out[n++] = 0xff; out[n++] = 0xff;                /* capabilities (low) */
	out[n++] = 0xff;                                 /* charset */
	out[n++] = 0x02; out[n++] = 0x00;                /* status */
	out[n++] = 0xff; out[n++] = 0xdf;                /* capabilities (high) */
	out[n++] = 21;                                   /* auth data length */
	memset(out + n, 0, 10);                          /* reserved */
	n += 10;
	memcpy(out + n, "ijklmnopqrst", 13);             /* auth data part 2 + NUL */
	n += 13;
	memcpy(out + n, "caching_sha2_password", 22);
	n += 22;
	out[0] = (uint8_t)(n - 4);
	out[1] = 0;
	out[2] = 0;
	out[3] = 0;
	return n;
}

static size_t mysql_packet(uint8_t *out, const void *payload, size_t len, uint8_t seq)
{
	out[0] = (uint8_t)len;
	out[1] = (uint8_t)(len >> 8);
	out[2] = (uint8_t)(len >> 16);
	out[3] = seq;
	memcpy(out + 4, payload, len);
	return len + 4;
}

static void test_mysql_ok(void **state)
{
	uint8_t g[256];
	size_t n = mysql_greeting(g);

	(void)state;
	assert_int_equal(tn_mysql_greeting(g, n, false, why, sizeof(why)), TN_PV_UP);
	assert_string_equal(why, "mysql 8.0.36 greeting");
	/* extra bytes after the packet do not matter */
	assert_int_equal(tn_mysql_greeting(g, n, true, why, sizeof(why)), TN_PV_UP);
}

static void test_mysql_truncated(void **state)
{
	uint8_t g[256];
	size_t n = mysql_greeting(g), i;
	char want[64];

	(void)state;
	for (i = 0; i < n; i++) {
		assert_int_equal(tn_mysql_greeting(g, i, false, why, sizeof(why)), TN_PV_MORE);
		assert_int_equal(tn_mysql_greeting(g, i, true, why, sizeof(why)), TN_PV_DOWN);
		if (i == 0) {
			assert_string_equal(why, "mysql: connection closed before the greeting");
		} else {
			snprintf(want, sizeof(want), "mysql greeting truncated at %zu bytes", i);
			assert_string_equal(why, want);
		}
	}
}

static void test_mysql_error_packet(void **state)
{
	static const char msg[] = "\xff\x6a\x04Host '10.0.0.9' is not allowed to connect to this MySQL server";
	static const char msg2[] = "\xff\x10\x04#08004Too many connections";
	uint8_t b[256];
	size_t n;

	(void)state;
	n = mysql_packet(b, msg, sizeof(msg) - 1, 0);
	assert_int_equal(tn_mysql_greeting(b, n, false, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "mysql error 1130: Host '10.0.0.9' is not allowed to connect to this MySQL server");
	n = mysql_packet(b, msg2, sizeof(msg2) - 1, 0);
	assert_int_equal(tn_mysql_greeting(b, n, false, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "mysql error 1040: Too many connections");
}

static void test_mysql_malformed(void **state)
{
	uint8_t g[256], b[256];
	size_t n = mysql_greeting(g);

	(void)state;
	/* protocol 9 */
	memcpy(b, g, n);
	b[4] = 9;
	assert_int_equal(tn_mysql_greeting(b, n, false, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "mysql protocol version 9, expected 10");
	/* sequence id 1 */
	memcpy(b, g, n);
	b[3] = 1;
	assert_int_equal(tn_mysql_greeting(b, n, false, why, sizeof(why)), TN_PV_DOWN);
	assert_prefix(why, "mysql: not a greeting packet");
	/* version without NUL */
	n = mysql_packet(b, "\x0a" "8.0.36abc", 10, 0);
	assert_int_equal(tn_mysql_greeting(b, n, false, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "mysql greeting: server version not terminated");
	/* payload ending inside the fixed fields */
	n = mysql_packet(b, "\x0a" "5.7\0" "\1\0\0\0" "abcd", 12, 0);
	assert_int_equal(tn_mysql_greeting(b, n, false, why, sizeof(why)), TN_PV_DOWN);
	assert_prefix(why, "mysql greeting malformed");
	/* bad filler */
	n = mysql_greeting(b);
	b[4 + 1 + 7 + 12] = 0x42;
	assert_int_equal(tn_mysql_greeting(b, n, false, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "mysql greeting malformed: filler 0x42, expected 0");
	/* extended fields cut short */
	n = mysql_greeting(b);
	b[0] = 4 + 1 + 7 + 15 + 5 - 4; /* payload: fixed fields + 5 bytes */
	n = 4 + b[0];
	assert_int_equal(tn_mysql_greeting(b, n, false, why, sizeof(why)), TN_PV_DOWN);
	assert_has(why, "extended fields");
	/* auth data part 2 cut short */
	n = mysql_greeting(b);
	b[0] = (uint8_t)(1 + 7 + 15 + 16 + 5);
	n = 4 + b[0];
	assert_int_equal(tn_mysql_greeting(b, n, false, why, sizeof(why)), TN_PV_DOWN);
	assert_has(why, "auth data");
}

static void test_mysql_old_short_greeting(void **state)
{
	/* pre-4.1 servers stop after the capability flags */
	uint8_t b[64];
	size_t n = mysql_packet(b, "\x0a" "3.23.58\0" "\1\0\0\0" "abcdefgh" "\0" "\x2c\x20", 1 + 8 + 15, 0);

	(void)state;
	assert_int_equal(tn_mysql_greeting(b, n, false, why, sizeof(why)), TN_PV_UP);
	assert_string_equal(why, "mysql 3.23.58 greeting");
}

static void test_mysql_garbage(void **state)
{
	static const char http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
	static const char smtp_banner[] = "220 mail ESMTP\r\n";

	(void)state;
	assert_int_equal(tn_mysql_greeting((const uint8_t *)http, sizeof(http) - 1, false, why, sizeof(why)), TN_PV_DOWN);
	assert_prefix(why, "mysql: not a greeting packet");
	assert_has(why, "HTTP/1.1");
	assert_int_equal(tn_mysql_greeting((const uint8_t *)smtp_banner, sizeof(smtp_banner) - 1, false, why, sizeof(why)), TN_PV_DOWN);
	assert_int_equal(tn_mysql_greeting((const uint8_t *)"\0\0\0\0", 4, false, why, sizeof(why)), TN_PV_DOWN);
}

/* ---- PostgreSQL ---- */

static void test_pgsql_ssl_request_bytes(void **state)
{
	(void)state;
	assert_memory_equal(tn_pgsql_ssl_request, "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8);
}

static void test_pgsql_ssl_reply(void **state)
{
	static const uint8_t err[] = { 'E', 0, 0, 0, 20, 'S', 'F', 'A', 'T', 'A', 'L', 0 };
	static const char ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";

	(void)state;
	assert_int_equal(tn_pgsql_ssl_reply((const uint8_t *)"S", 1, false, why, sizeof(why)), TN_PV_UP);
	assert_string_equal(why, "pgsql answered 'S' to SSLRequest");
	assert_int_equal(tn_pgsql_ssl_reply((const uint8_t *)"N", 1, false, why, sizeof(why)), TN_PV_UP);
	assert_string_equal(why, "pgsql answered 'N' to SSLRequest");
	assert_int_equal(tn_pgsql_ssl_reply(err, 1, false, why, sizeof(why)), TN_PV_MORE);
	assert_int_equal(tn_pgsql_ssl_reply(err, sizeof(err), false, why, sizeof(why)), TN_PV_UP);
	assert_int_equal(tn_pgsql_ssl_reply(err, 1, true, why, sizeof(why)), TN_PV_UP);
	/* truncated: nothing at all */
	assert_int_equal(tn_pgsql_ssl_reply(NULL, 0, false, why, sizeof(why)), TN_PV_MORE);
	assert_int_equal(tn_pgsql_ssl_reply(NULL, 0, true, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "pgsql: connection closed without answering SSLRequest");
	/* garbage */
	assert_int_equal(tn_pgsql_ssl_reply((const uint8_t *)"HTTP/1.1 400", 12, false, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "pgsql answered 0x48 'H' to SSLRequest, expected 'S' or 'N'");
	assert_int_equal(tn_pgsql_ssl_reply((const uint8_t *)ssh, sizeof(ssh) - 1, false, why, sizeof(why)), TN_PV_DOWN);
	assert_prefix(why, "pgsql: 21-byte answer to SSLRequest");
	assert_int_equal(tn_pgsql_ssl_reply((const uint8_t *)"\x00", 1, false, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "pgsql answered 0x00 to SSLRequest, expected 'S' or 'N'");
	assert_int_equal(tn_pgsql_ssl_reply((const uint8_t *)"E\xff\xff\xff\xff", 5, false, why, sizeof(why)), TN_PV_DOWN);
	assert_prefix(why, "pgsql: malformed error message");
}

static void test_pgsql_startup_reply(void **state)
{
	static const uint8_t md5[] = { 'R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4 };
	static const uint8_t err[] = { 'E', 0, 0, 0, 8, 'S', 'F', 0, 0 };

	(void)state;
	assert_int_equal(tn_pgsql_startup_reply(md5, sizeof(md5), false, why, sizeof(why)), TN_PV_UP);
	assert_string_equal(why, "pgsql asked for authentication (method 5)");
	assert_int_equal(tn_pgsql_startup_reply(err, sizeof(err), false, why, sizeof(why)), TN_PV_UP);
	assert_int_equal(tn_pgsql_startup_reply(md5, 3, false, why, sizeof(why)), TN_PV_MORE);
	assert_int_equal(tn_pgsql_startup_reply(md5, 3, true, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "pgsql reply truncated at 3 bytes");
	assert_int_equal(tn_pgsql_startup_reply(md5, 0, true, why, sizeof(why)), TN_PV_DOWN);
	assert_int_equal(tn_pgsql_startup_reply((const uint8_t *)"X", 1, false, why, sizeof(why)), TN_PV_DOWN);
	assert_prefix(why, "pgsql answered 0x58 'X' to the startup message");
	assert_int_equal(tn_pgsql_startup_reply((const uint8_t *)"R\0\0\0\1", 5, false, why, sizeof(why)), TN_PV_DOWN);
	assert_prefix(why, "pgsql: malformed authentication request");
}

/* ---- HTTP ---- */

static void test_http_codes_parse(void **state)
{
	struct tn_http_codes c;
	char err[160];

	(void)state;
	assert_int_equal(tn_http_codes_parse("200, 301", &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.lo[0], 200);
	assert_int_equal(c.hi[0], 200);
	assert_int_equal(c.lo[1], 301);
	assert_int_equal(tn_http_codes_parse("200-299,404", &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.hi[0], 299);
	assert_int_equal(tn_http_codes_parse(" 200 ,, 301 ", &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(tn_http_codes_parse("abc", &c, err, sizeof(err)), -EINVAL);
	assert_has(err, "bad status code list \"abc\"");
	assert_int_equal(tn_http_codes_parse("", &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(tn_http_codes_parse(NULL, &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(tn_http_codes_parse("99", &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(tn_http_codes_parse("600", &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(tn_http_codes_parse("300-200", &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(tn_http_codes_parse("200x", &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(tn_http_codes_parse("200-", &c, err, sizeof(err)), -EINVAL);
}

static void test_http_default(void **state)
{
	struct tn_http_matcher m;
	char err[160];

	(void)state;
	assert_int_equal(tn_http_matcher_init(&m, TN_HTTP_DEFAULT, NULL, false, err, sizeof(err)), 0);
	assert_false(tn_http_matcher_wants_body(&m));
	assert_int_equal(tn_http_judge(&m, 200, NULL, 0, why, sizeof(why)), TN_PV_UP);
	assert_string_equal(why, "http status 200");
	assert_int_equal(tn_http_judge(&m, 302, NULL, 0, why, sizeof(why)), TN_PV_UP);
	assert_int_equal(tn_http_judge(&m, 503, NULL, 0, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "http status 503, expected 2xx/3xx");
	assert_int_equal(tn_http_judge(&m, 404, NULL, 0, why, sizeof(why)), TN_PV_DOWN);
	assert_int_equal(tn_http_judge(&m, 101, NULL, 0, why, sizeof(why)), TN_PV_DOWN);
	tn_http_matcher_free(&m);
}

static void test_http_status(void **state)
{
	struct tn_http_matcher m;
	char err[160];

	(void)state;
	assert_int_equal(tn_http_matcher_init(&m, TN_HTTP_STATUS, "200", false, err, sizeof(err)), 0);
	assert_int_equal(tn_http_judge(&m, 503, NULL, 0, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "http status 503, expected 200");
	assert_int_equal(tn_http_judge(&m, 301, NULL, 0, why, sizeof(why)), TN_PV_DOWN);
	tn_http_matcher_free(&m);
	assert_int_equal(tn_http_matcher_init(&m, TN_HTTP_STATUS, "200, 301, 400-499", false, err, sizeof(err)), 0);
	assert_int_equal(tn_http_judge(&m, 301, NULL, 0, why, sizeof(why)), TN_PV_UP);
	assert_int_equal(tn_http_judge(&m, 404, NULL, 0, why, sizeof(why)), TN_PV_UP);
	assert_int_equal(tn_http_judge(&m, 302, NULL, 0, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "http status 302, expected 200, 301, 400-499");
	tn_http_matcher_free(&m);
	/* negate: anything but a 503 */
	assert_int_equal(tn_http_matcher_init(&m, TN_HTTP_STATUS, "503", true, err, sizeof(err)), 0);
	assert_int_equal(tn_http_judge(&m, 503, NULL, 0, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "http status 503, expected not 503");
	assert_int_equal(tn_http_judge(&m, 500, NULL, 0, why, sizeof(why)), TN_PV_UP);
	tn_http_matcher_free(&m);
	assert_int_equal(tn_http_matcher_init(&m, TN_HTTP_STATUS, "two hundred", false, err, sizeof(err)), -EINVAL);
	assert_has(err, "bad status code list");
}

static void test_http_contains(void **state)
{
	static const char body[] = "status\0: all good\n";
	struct tn_http_matcher m;
	char err[160];

	(void)state;
	assert_int_equal(tn_http_matcher_init(&m, TN_HTTP_CONTAINS, "good", false, err, sizeof(err)), 0);
	assert_true(tn_http_matcher_wants_body(&m));
	/* a NUL byte before the pattern does not hide it */
	assert_int_equal(tn_http_judge(&m, 200, body, sizeof(body) - 1, why, sizeof(why)), TN_PV_UP);
	assert_string_equal(why, "http status 200, body contains \"good\"");
	assert_int_equal(tn_http_judge(&m, 200, "bad", 3, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "http status 200, body lacks \"good\"");
	assert_int_equal(tn_http_judge(&m, 200, NULL, 0, why, sizeof(why)), TN_PV_DOWN);
	/* the pattern just past the (capped) length does not count */
	assert_int_equal(tn_http_judge(&m, 200, "all good", 7, why, sizeof(why)), TN_PV_DOWN);
	tn_http_matcher_free(&m);

	assert_int_equal(tn_http_matcher_init(&m, TN_HTTP_CONTAINS, "maintenance", true, err, sizeof(err)), 0);
	assert_int_equal(tn_http_judge(&m, 200, "in maintenance", 14, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "http status 200, body contains \"maintenance\" (negated match)");
	assert_int_equal(tn_http_judge(&m, 200, "fine", 4, why, sizeof(why)), TN_PV_UP);
	tn_http_matcher_free(&m);

	assert_int_equal(tn_http_matcher_init(&m, TN_HTTP_CONTAINS, "", false, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "match \"contains\" needs a pattern");
	assert_int_equal(tn_http_matcher_init(&m, TN_HTTP_CONTAINS, NULL, false, err, sizeof(err)), -EINVAL);
}

static void test_http_matches(void **state)
{
	static const char body[] = "version=1.2.3\nstate=OK\n";
	struct tn_http_matcher m;
	char err[160];

	(void)state;
	assert_int_equal(tn_http_matcher_init(&m, TN_HTTP_MATCHES, "state=(OK|WARN)", false, err, sizeof(err)), 0);
	assert_int_equal(tn_http_judge(&m, 200, body, sizeof(body) - 1, why, sizeof(why)), TN_PV_UP);
	assert_string_equal(why, "http status 200, body matches \"state=(OK|WARN)\"");
	assert_int_equal(tn_http_judge(&m, 200, "state=FAIL", 10, why, sizeof(why)), TN_PV_DOWN);
	assert_string_equal(why, "http status 200, body does not match \"state=(OK|WARN)\"");
	/* only the given length is searched (no NUL terminator needed) */
	assert_int_equal(tn_http_judge(&m, 200, "state=OK", 7, why, sizeof(why)), TN_PV_DOWN);
	tn_http_matcher_free(&m);

	assert_int_equal(tn_http_matcher_init(&m, TN_HTTP_MATCHES, "^ERROR [0-9]+", true, err, sizeof(err)), 0);
	assert_int_equal(tn_http_judge(&m, 200, "ERROR 42", 8, why, sizeof(why)), TN_PV_DOWN);
	assert_has(why, "(negated match)");
	assert_int_equal(tn_http_judge(&m, 200, "all fine", 8, why, sizeof(why)), TN_PV_UP);
	tn_http_matcher_free(&m);

	assert_int_equal(tn_http_matcher_init(&m, TN_HTTP_MATCHES, "(unclosed", false, err, sizeof(err)), -EINVAL);
	assert_prefix(err, "bad regular expression \"(unclosed\": ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_banner_ok),
		cmocka_unit_test(test_smtp_multiline),
		cmocka_unit_test(test_smtp_wrong_code),
		cmocka_unit_test(test_smtp_truncated),
		cmocka_unit_test(test_smtp_garbage),
		cmocka_unit_test(test_smtp_consumed),
		cmocka_unit_test(test_mysql_ok),
		cmocka_unit_test(test_mysql_truncated),
		cmocka_unit_test(test_mysql_error_packet),
		cmocka_unit_test(test_mysql_malformed),
		cmocka_unit_test(test_mysql_old_short_greeting),
		cmocka_unit_test(test_mysql_garbage),
		cmocka_unit_test(test_pgsql_ssl_request_bytes),
		cmocka_unit_test(test_pgsql_ssl_reply),
		cmocka_unit_test(test_pgsql_startup_reply),
		cmocka_unit_test(test_http_codes_parse),
		cmocka_unit_test(test_http_default),
		cmocka_unit_test(test_http_status),
		cmocka_unit_test(test_http_contains),
		cmocka_unit_test(test_http_matches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
