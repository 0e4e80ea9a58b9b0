/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Pure parsers of health-probe replies: bytes in, a verdict and a one-line
 * reason out. No I/O, so every truncation and every garbage reply can be
 * unit-tested; the engine (probe.c) feeds them what it has read so far.
 *
 * Reply parsers are incremental: called with every byte received so far,
 * they answer TN_PV_MORE until they can decide. `eof` says no more bytes
 * will come (peer closed, or the engine's buffer is full): they must decide.
 */
#ifndef TENACE_PROBE_PROTO_H
#define TENACE_PROBE_PROTO_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tn_pv { TN_PV_MORE = 0, TN_PV_UP, TN_PV_DOWN };

#define TN_REASON_MAX 160

/* SMTP reply (one line "220 text" or several "250-a" .. "250 z"). Up when
 * the final line's code is `expect`. `what` names the step in the reason
 * ("banner" -> "smtp banner 554, expected 220"). */
enum tn_pv tn_smtp_reply(const char *buf, size_t len, bool eof, int expect,
			 const char *what, char *reason, size_t rlen);
/* Offset just past the last complete line of an undecided reply: the engine
 * may drop those bytes when its buffer fills (long EHLO lists). */
size_t tn_smtp_consumed(const char *buf, size_t len);

/* MySQL initial handshake packet (protocol 10), or an ERR packet (down). */
#define TN_MYSQL_MAX_GREETING 1024
enum tn_pv tn_mysql_greeting(const uint8_t *buf, size_t len, bool eof,
			     char *reason, size_t rlen);

/* PostgreSQL: the 8-byte SSLRequest the engine sends, and the one-byte answer
 * ('S' or 'N'; 'E' is an old server refusing in protocol: alive too). */
extern const uint8_t tn_pgsql_ssl_request[8];
enum tn_pv tn_pgsql_ssl_reply(const uint8_t *buf, size_t len, bool eof,
			      char *reason, size_t rlen);
/* Answer to a StartupMessage: an 'R' authentication request or an 'E' error
 * message, both well framed (type byte + 32-bit length >= 4). */
enum tn_pv tn_pgsql_startup_reply(const uint8_t *buf, size_t len, bool eof,
				  char *reason, size_t rlen);

/* HTTP: status-code lists ("200, 301", "200-299") and the match rule. */
#define TN_HTTP_MAX_CODES 32
struct tn_http_codes {
	uint16_t lo[TN_HTTP_MAX_CODES], hi[TN_HTTP_MAX_CODES];
	size_t n;
};
/* 0, or -EINVAL with err filled ("bad status code \"abc\""). */
int tn_http_codes_parse(const char *s, struct tn_http_codes *out, char *err, size_t errlen);

enum tn_http_rule { TN_HTTP_DEFAULT = 0, TN_HTTP_STATUS, TN_HTTP_CONTAINS, TN_HTTP_MATCHES };
struct tn_http_matcher {
	enum tn_http_rule rule;
	bool negate;
	struct tn_http_codes codes;   /* TN_HTTP_STATUS */
	char *text;                   /* TN_HTTP_CONTAINS / MATCHES: the pattern (owned) */
	regex_t re;                   /* TN_HTTP_MATCHES */
	bool re_ok;
};
/* Compile a rule and its pattern. 0, or -EINVAL/-ENOMEM with err filled. */
int tn_http_matcher_init(struct tn_http_matcher *m, enum tn_http_rule rule,
			 const char *pattern, bool negate, char *err, size_t errlen);
void tn_http_matcher_free(struct tn_http_matcher *m);
/* Does the body matter (contains/matches)? If not the engine stops reading it. */
bool tn_http_matcher_wants_body(const struct tn_http_matcher *m);
/* Judge a complete reply: status and the (possibly capped) body. For
 * TN_HTTP_MATCHES body[len] must be readable and NUL (regexec, sanitizers). */
enum tn_pv tn_http_judge(const struct tn_http_matcher *m, long status,
			 const char *body, size_t len, char *reason, size_t rlen);

#endif /* TENACE_PROBE_PROTO_H */
