/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Health-probe reply parsers: pure functions, see probe_proto.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe/probe_proto.h"

const uint8_t tn_pgsql_ssl_request[8] = { 0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f };

static enum tn_pv say(enum tn_pv v, char *reason, size_t rlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum tn_pv say(enum tn_pv v, char *reason, size_t rlen, const char *fmt, ...)
{
	va_list ap;

	if (reason && rlen) {
		va_start(ap, fmt);
		vsnprintf(reason, rlen, fmt, ap);
		va_end(ap);
	}
	return v;
}

/* Printable excerpt of peer bytes for a reason line (never trust them). */
static const char *excerpt(const void *data, size_t len, char *out, size_t outlen)
{
	const unsigned char *s = data;
	size_t i, n = 0;

	for (i = 0; i < len && n + 4 < outlen; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			break;
		out[n++] = isprint(s[i]) ? (char)s[i] : '.';
	}
	if (i < len && s[i] != '\r' && s[i] != '\n' && n + 4 >= outlen) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

/* ---- SMTP ---------------------------------------------------------------- */

static int smtp_code(const char *l, size_t n)
{
	if (n < 3 || !isdigit((unsigned char)l[0]) || !isdigit((unsigned char)l[1]) ||
	    !isdigit((unsigned char)l[2]))
		return -1;
	if (n > 3 && l[3] != ' ' && l[3] != '-' && l[3] != '\r' && l[3] != '\n')
		return -1;
	return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

enum tn_pv tn_smtp_reply(const char *buf, size_t len, bool eof, int expect,
			 const char *what, char *reason, size_t rlen)
{
	char ex[64];
	size_t off = 0;

	while (off < len) {
		const char *line = buf + off, *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) + 1 : len - off;
		int code = smtp_code(line, n);
		size_t i;

		if (!nl && n < 4) {
			for (i = 0; i < n && i < 3 && isdigit((unsigned char)line[i]); i++)
				;
			if (i == (n < 3 ? n : 3))
				break; /* a code still arriving */
		}
		if (code < 0)
			return say(TN_PV_DOWN, reason, rlen, "smtp %s: not an smtp reply \"%s\"",
				   what, excerpt(line, n, ex, sizeof(ex)));
		if (!nl)
			break;
		if (n < 4 || line[3] != '-') {
			if (code == expect)
				return say(TN_PV_UP, reason, rlen, "smtp %s %d", what, code);
			return say(TN_PV_DOWN, reason, rlen, "smtp %s %d, expected %d: \"%s\"",
				   what, code, expect, excerpt(line, n, ex, sizeof(ex)));
		}
		off += n;
	}
	if (!eof)
		return TN_PV_MORE;
	if (len == 0)
		return say(TN_PV_DOWN, reason, rlen, "smtp %s: connection closed before any reply", what);
	return say(TN_PV_DOWN, reason, rlen, "smtp %s truncated at %zu bytes", what, len);
}

size_t tn_smtp_consumed(const char *buf, size_t len)
{
	size_t i;

	for (i = len; i > 0; i--)
		if (buf[i - 1] == '\n')
			return i;
	return 0;
}

/* ---- MySQL --------------------------------------------------------------- */

#define MYSQL_CLIENT_SECURE_CONNECTION 0x00008000u

enum tn_pv tn_mysql_greeting(const uint8_t *buf, size_t len, bool eof,
			     char *reason, size_t rlen)
{
	char ex[72];
	const uint8_t *p, *nul;
	size_t plen, vlen, off;

	if (len < 4) {
		if (!eof)
			return TN_PV_MORE;
		if (len == 0)
			return say(TN_PV_DOWN, reason, rlen, "mysql: connection closed before the greeting");
		return say(TN_PV_DOWN, reason, rlen, "mysql greeting truncated at %zu bytes", len);
	}
	plen = buf[0] | (size_t)buf[1] << 8 | (size_t)buf[2] << 16;
	if (buf[3] != 0 || plen == 0 || plen + 4 > TN_MYSQL_MAX_GREETING)
		return say(TN_PV_DOWN, reason, rlen, "mysql: not a greeting packet (length %zu, sequence %u): \"%s\"",
			   plen, buf[3], excerpt(buf, len < 40 ? len : 40, ex, sizeof(ex)));
	if (len < plen + 4) {
		if (!eof)
			return TN_PV_MORE;
		return say(TN_PV_DOWN, reason, rlen, "mysql greeting truncated at %zu bytes", len);
	}
	p = buf + 4;
	if (p[0] == 0xff) {
		unsigned code = plen >= 3 ? (unsigned)(p[1] | p[2] << 8) : 0;

		off = 3;
		if (plen >= 9 && p[3] == '#')
			off = 9; /* '#' + SQLSTATE */
		return say(TN_PV_DOWN, reason, rlen, "mysql error %u: %s", code,
			   off < plen ? excerpt(p + off, plen - off, ex, sizeof(ex)) : "");
	}
	if (p[0] != 10)
		return say(TN_PV_DOWN, reason, rlen, "mysql protocol version %u, expected 10", p[0]);
	nul = memchr(p + 1, 0, plen - 1);
	if (!nul)
		return say(TN_PV_DOWN, reason, rlen, "mysql greeting: server version not terminated");
	vlen = (size_t)(nul - (p + 1));
	off = 1 + vlen + 1;
	/* connection id (4), auth data part 1 (8), filler (1), capabilities (2) */
	if (plen < off + 15)
		return say(TN_PV_DOWN, reason, rlen, "mysql greeting malformed: %zu-byte payload ends in the fixed fields", plen);
	if (p[off + 12] != 0)
		return say(TN_PV_DOWN, reason, rlen, "mysql greeting malformed: filler 0x%02x, expected 0", p[off + 12]);
	if (plen > off + 15) {
		unsigned caps = p[off + 13] | p[off + 14] << 8;
		size_t rest = off + 15;
		uint8_t auth_len;
		size_t part2;

		/* charset (1), status (2), capabilities high (2), auth length (1), reserved (10) */
		if (plen < rest + 16)
			return say(TN_PV_DOWN, reason, rlen, "mysql greeting malformed: %zu-byte payload ends in the extended fields", plen);
		auth_len = p[rest + 5];
		rest += 16;
		if (caps & MYSQL_CLIENT_SECURE_CONNECTION) {
			part2 = auth_len > 8 + 13 ? (size_t)auth_len - 8 : 13;
			if (plen < rest + part2)
				return say(TN_PV_DOWN, reason, rlen, "mysql greeting malformed: auth data needs %zu bytes, %zu left",
					   part2, plen - rest);
		}
	}
	return say(TN_PV_UP, reason, rlen, "mysql %s greeting", excerpt(p + 1, vlen, ex, sizeof(ex)));
}

/* ---- PostgreSQL ---------------------------------------------------------- */

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static const char *byte_name(uint8_t c, char *out, size_t len)
{
	if (isprint(c))
		snprintf(out, len, "0x%02x '%c'", c, c);
	else
		snprintf(out, len, "0x%02x", c);
	return out;
}

/* An 'E' message header: the length must be plausible for an error. */
static bool pg_error_framed(const uint8_t *buf)
{
	uint32_t n = be32(buf + 1);

	return n >= 4 && n <= 16384;
}

enum tn_pv tn_pgsql_ssl_reply(const uint8_t *buf, size_t len, bool eof,
			      char *reason, size_t rlen)
{
	char b[16];

	if (len == 0) {
		if (!eof)
			return TN_PV_MORE;
		return say(TN_PV_DOWN, reason, rlen, "pgsql: connection closed without answering SSLRequest");
	}
	switch (buf[0]) {
	case 'S':
	case 'N':
		/* The server must then wait for us: more bytes mean another
		 * protocol whose banner starts with that letter (SSH-2.0...). */
		if (len > 1)
			return say(TN_PV_DOWN, reason, rlen, "pgsql: %zu-byte answer to SSLRequest, expected 1 byte", len);
		return say(TN_PV_UP, reason, rlen, "pgsql answered '%c' to SSLRequest", buf[0]);
	case 'E':
		if (len < 5 && !eof)
			return TN_PV_MORE;
		if (len >= 5 && !pg_error_framed(buf))
			return say(TN_PV_DOWN, reason, rlen, "pgsql: malformed error message (length %u) to SSLRequest", be32(buf + 1));
		return say(TN_PV_UP, reason, rlen, "pgsql answered SSLRequest with an error message");
	default:
		return say(TN_PV_DOWN, reason, rlen, "pgsql answered %s to SSLRequest, expected 'S' or 'N'",
			   byte_name(buf[0], b, sizeof(b)));
	}
}

enum tn_pv tn_pgsql_startup_reply(const uint8_t *buf, size_t len, bool eof,
				  char *reason, size_t rlen)
{
	char b[16];
	uint32_t n;

	if (len == 0 && eof)
		return say(TN_PV_DOWN, reason, rlen, "pgsql: connection closed without answering the startup message");
	if (len >= 1 && buf[0] != 'R' && buf[0] != 'E')
		return say(TN_PV_DOWN, reason, rlen, "pgsql answered %s to the startup message, expected 'R' or 'E'",
			   byte_name(buf[0], b, sizeof(b)));
	if (len < 5) {
		if (!eof)
			return TN_PV_MORE;
		return say(TN_PV_DOWN, reason, rlen, "pgsql reply truncated at %zu bytes", len);
	}
	n = be32(buf + 1);
	if (buf[0] == 'R') {
		if (n < 8 || n > 16384)
			return say(TN_PV_DOWN, reason, rlen, "pgsql: malformed authentication request (length %u)", n);
		return say(TN_PV_UP, reason, rlen, "pgsql asked for authentication (method %u)",
			   len >= 9 ? be32(buf + 5) : 0);
	}
	if (!pg_error_framed(buf))
		return say(TN_PV_DOWN, reason, rlen, "pgsql: malformed error message (length %u)", n);
	return say(TN_PV_UP, reason, rlen, "pgsql answered the startup message with an error message");
}

/* ---- HTTP ---------------------------------------------------------------- */

int tn_http_codes_parse(const char *s, struct tn_http_codes *out, char *err, size_t errlen)
{
	const char *p = s ? s : "";

	memset(out, 0, sizeof(*out));
	for (;;) {
		char *end;
		long lo, hi;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (!isdigit((unsigned char)*p))
			goto bad;
		lo = strtol(p, &end, 10);
		hi = lo;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				goto bad;
			hi = strtol(end + 1, &end, 10);
		}
		if (*end && *end != ',' && *end != ' ' && *end != '\t')
			goto bad;
		if (lo < 100 || hi > 599 || lo > hi)
			goto bad;
		if (out->n == TN_HTTP_MAX_CODES) {
			snprintf(err, errlen, "more than %d status codes", TN_HTTP_MAX_CODES);
			return -EINVAL;
		}
		out->lo[out->n] = (uint16_t)lo;
		out->hi[out->n] = (uint16_t)hi;
		out->n++;
		p = end;
	}
	if (out->n == 0) {
		snprintf(err, errlen, "no status code in \"%s\"", s ? s : "");
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad status code list \"%s\": expected codes 100..599 or ranges like 200-299, comma separated", s);
	return -EINVAL;
}

int tn_http_matcher_init(struct tn_http_matcher *m, enum tn_http_rule rule,
			 const char *pattern, bool negate, char *err, size_t errlen)
{
	int rc;

	memset(m, 0, sizeof(*m));
	m->rule = rule;
	m->negate = negate;
	switch (rule) {
	case TN_HTTP_DEFAULT:
		return 0;
	case TN_HTTP_STATUS:
		return tn_http_codes_parse(pattern, &m->codes, err, errlen);
	case TN_HTTP_CONTAINS:
	case TN_HTTP_MATCHES:
		if (!pattern || !*pattern) {
			snprintf(err, errlen, "match \"%s\" needs a pattern",
				 rule == TN_HTTP_CONTAINS ? "contains" : "matches");
			return -EINVAL;
		}
		m->text = strdup(pattern);
		if (!m->text) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (rule == TN_HTTP_CONTAINS)
			return 0;
		rc = regcomp(&m->re, pattern, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char msg[96];

			regerror(rc, &m->re, msg, sizeof(msg));
			snprintf(err, errlen, "bad regular expression \"%s\": %s", pattern, msg);
			free(m->text);
			m->text = NULL;
			return -EINVAL;
		}
		m->re_ok = true;
		return 0;
	}
	snprintf(err, errlen, "unknown match rule %d", (int)rule);
	return -EINVAL;
}

void tn_http_matcher_free(struct tn_http_matcher *m)
{
	if (m->re_ok)
		regfree(&m->re);
	free(m->text);
	memset(m, 0, sizeof(*m));
}

bool tn_http_matcher_wants_body(const struct tn_http_matcher *m)
{
	return m->rule == TN_HTTP_CONTAINS || m->rule == TN_HTTP_MATCHES;
}

static void codes_format(const struct tn_http_codes *c, char *out, size_t len)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < c->n && n < len; i++) {
		int w;

		if (c->lo[i] == c->hi[i])
			w = snprintf(out + n, len - n, "%s%u", i ? ", " : "", c->lo[i]);
		else
			w = snprintf(out + n, len - n, "%s%u-%u", i ? ", " : "", c->lo[i], c->hi[i]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

static bool codes_have(const struct tn_http_codes *c, long status)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (status >= c->lo[i] && status <= c->hi[i])
			return true;
	return false;
}

enum tn_pv tn_http_judge(const struct tn_http_matcher *m, long status,
			 const char *body, size_t len, char *reason, size_t rlen)
{
	char list[64], pat[48];
	bool hit;

	switch (m->rule) {
	case TN_HTTP_DEFAULT:
		hit = status >= 200 && status <= 399;
		if (hit != m->negate)
			return say(TN_PV_UP, reason, rlen, "http status %ld", status);
		return say(TN_PV_DOWN, reason, rlen, "http status %ld, expected %s2xx/3xx",
			   status, m->negate ? "not " : "");
	case TN_HTTP_STATUS:
		hit = codes_have(&m->codes, status);
		if (hit != m->negate)
			return say(TN_PV_UP, reason, rlen, "http status %ld", status);
		codes_format(&m->codes, list, sizeof(list));
		return say(TN_PV_DOWN, reason, rlen, "http status %ld, expected %s%s",
			   status, m->negate ? "not " : "", list);
	case TN_HTTP_CONTAINS:
	case TN_HTTP_MATCHES:
		if (m->rule == TN_HTTP_CONTAINS) {
			hit = len >= strlen(m->text) && memmem(body ? body : "", len, m->text, strlen(m->text));
		} else {
			regmatch_t rm[1] = { { .rm_so = 0, .rm_eo = (regoff_t)len } };

			hit = regexec(&m->re, body ? body : "", 1, rm, REG_STARTEND) == 0;
		}
		excerpt(m->text, strlen(m->text), pat, sizeof(pat));
		if (hit != m->negate)
			return say(TN_PV_UP, reason, rlen, "http status %ld, body %s \"%s\"", status,
				   m->rule == TN_HTTP_CONTAINS ? (hit ? "contains" : "lacks") :
				   (hit ? "matches" : "does not match"), pat);
		return say(TN_PV_DOWN, reason, rlen, "http status %ld, body %s \"%s\"%s", status,
			   m->rule == TN_HTTP_CONTAINS ? (hit ? "contains" : "lacks") :
			   (hit ? "matches" : "does not match"), pat,
			   m->negate ? " (negated match)" : "");
	}
	return say(TN_PV_DOWN, reason, rlen, "http: unknown match rule");
}
