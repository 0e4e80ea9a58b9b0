/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/json.h"

static unsigned line_of(const char *text, size_t off)
{
	unsigned line = 1;

	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/*
 * Well-formed UTF-8 (RFC 3629, Unicode's table 3-7): json-c's own check lets
 * overlong forms ("\xc0\xaf") and UTF-16 surrogates ("\xed\xa0\x80") through.
 * Returns the offset of the first bad byte, or len when all is well.
 */
static size_t utf8_check(const unsigned char *t, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = t[i];
		size_t n;
		unsigned lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return i; /* continuation byte, 0xc0/0xc1 (overlong), 0xf5.. */
		if (c == 0xe0)
			lo = 0xa0; /* overlong three-byte form */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates U+D800..U+DFFF */
		else if (c == 0xf0)
			lo = 0x90; /* overlong four-byte form */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
		if (i + n >= len) /* truncated sequence */
			return i;
		for (size_t k = 1; k <= n; k++) {
			unsigned b = t[i + k];

			if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf))
				return i;
		}
		i += n + 1;
	}
	return len;
}

/* ---- duplicate keys ---------------------------------------------------------
 * json-c has validated the syntax by the time this runs, so the scanner may
 * assume well-formed JSON; it only decodes keys and compares them, sorted,
 * per object (O(n log n) even for an object of many keys). */

struct key {
	char *s;        /* decoded */
	size_t len;
	size_t off;     /* in the text, for the line number */
};

struct scan {
	const char *t;
	size_t len, pos;
	char dup_key[128];
	size_t dup_off;
	size_t quote_off;    /* + 1: a single-quoted string (json-c's strict mode takes them) */
	bool oom;
};

static void ws(struct scan *s)
{
	while (s->pos < s->len && strchr(" \t\r\n", s->t[s->pos]))
		s->pos++;
}

static int hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		v |= c >= '0' && c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
	}
	return v;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at s->pos (on its quote); decoded into *out when out != NULL. */
static void string(struct scan *s, char **out, size_t *olen)
{
	size_t start = ++s->pos, n = 0;
	char *o = NULL;

	while (s->pos < s->len && s->t[s->pos] != '"')
		s->pos += s->t[s->pos] == '\\' ? 2 : 1;
	if (out) {
		/* a decoded string is never longer than its escaped form */
		o = malloc(s->pos - start + 1);
		if (!o) {
			s->oom = true;
		} else {
			for (size_t i = start; i < s->pos; i++) {
				char c = s->t[i];
				uint32_t cp;

				if (c != '\\') {
					o[n++] = c;
					continue;
				}
				c = s->t[++i];
				switch (c) {
				case 'b': o[n++] = '\b'; break;
				case 'f': o[n++] = '\f'; break;
				case 'n': o[n++] = '\n'; break;
				case 'r': o[n++] = '\r'; break;
				case 't': o[n++] = '\t'; break;
				case 'u':
					cp = (uint32_t)hex4(s->t + i + 1);
					i += 4;
					if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < s->pos && s->t[i + 1] == '\\' &&
					    s->t[i + 2] == 'u') {
						cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)hex4(s->t + i + 3) - 0xdc00);
						i += 6;
					}
					n += put_utf8(o + n, cp);
					break;
				default: o[n++] = c; break; /* \" \\ \/ */
				}
			}
			o[n] = 0;
		}
		*out = o;
		*olen = n;
	}
	s->pos++; /* closing quote */
}

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static void value(struct scan *s);

static void object(struct scan *s)
{
	struct key *keys = NULL;
	size_t n = 0, cap = 0;

	s->pos++; /* { */
	for (;;) {
		ws(s);
		if (s->pos >= s->len || s->t[s->pos] == '}')
			break;
		if (s->t[s->pos] == ',') {
			s->pos++;
			continue;
		}
		if (n == cap) {
			struct key *nk = realloc(keys, (cap = cap ? cap * 2 : 8) * sizeof(*keys));

			if (!nk) {
				s->oom = true;
				break;
			}
			keys = nk;
		}
		if (s->t[s->pos] != '"') {
			s->quote_off = s->pos + 1;
			s->pos = s->len; /* nothing more to learn */
			break;
		}
		keys[n].off = s->pos;
		string(s, &keys[n].s, &keys[n].len);
		if (!keys[n].s)
			break;
		n++;
		ws(s);
		s->pos++; /* : */
		value(s);
	}
	s->pos++; /* } */
	if (n > 1 && !s->dup_off) {
		qsort(keys, n, sizeof(*keys), key_cmp);
		for (size_t i = 1; i < n; i++) {
			if (keys[i].len == keys[i - 1].len && !memcmp(keys[i].s, keys[i - 1].s, keys[i].len)) {
				/* report the later occurrence: that is the one json-c kept */
				snprintf(s->dup_key, sizeof(s->dup_key), "%s", keys[i].s);
				s->dup_off = keys[i].off + 1;
				break;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i].s);
	free(keys);
}

static void value(struct scan *s)
{
	size_t start;

	ws(s);
	if (s->pos >= s->len)
		return;
	start = s->pos;
	switch (s->t[s->pos]) {
	case '{':
		object(s);
		break;
	case '[':
		s->pos++;
		for (;;) {
			ws(s);
			if (s->pos >= s->len || s->t[s->pos] == ']')
				break;
			if (s->t[s->pos] == ',')
				s->pos++;
			else
				value(s);
		}
		s->pos++;
		break;
	case '"':
		string(s, NULL, NULL);
		break;
	case '\'':
		s->quote_off = s->pos + 1;
		s->pos = s->len;
		break;
	default: /* number, true, false, null */
		while (s->pos < s->len && !strchr(",]} \t\r\n", s->t[s->pos]))
			s->pos++;
	}
	if (s->pos == start) /* never loop on what json-c would not have taken */
		s->pos++;
}

json_object *tn_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok;
	enum json_tokener_error je;
	struct scan sc = { .t = text, .len = len };
	json_object *root;
	size_t end, bad;

	if (len > INT_MAX) {
		snprintf(err, errlen, "document too large");
		return NULL;
	}
	if (memchr(text, 0, len)) {
		snprintf(err, errlen, "line %u: invalid JSON: NUL byte", line_of(text, (size_t)((const char *)memchr(text, 0, len) - text)));
		return NULL;
	}
	if ((bad = utf8_check((const unsigned char *)text, len)) < len) {
		snprintf(err, errlen, "line %u: invalid JSON: invalid UTF-8 (byte 0x%02x at offset %zu)",
			 line_of(text, bad), (unsigned char)text[bad], bad);
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* standard JSON only: no comments, trailing commas or single quotes; UTF-8 */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)len);
	je = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root || je != json_tokener_success) {
		if (je == json_tokener_continue || je == json_tokener_success)
			snprintf(err, errlen, "line %u: invalid JSON: unexpected end of data", line_of(text, end));
		else
			snprintf(err, errlen, "line %u: invalid JSON: %s", line_of(text, end), json_tokener_error_desc(je));
		json_object_put(root);
		return NULL;
	}
	for (; end < len; end++) {
		if (!strchr(" \t\r\n", text[end])) {
			snprintf(err, errlen, "line %u: invalid JSON: unexpected text after the document",
				 line_of(text, end));
			json_object_put(root);
			return NULL;
		}
	}
	value(&sc);
	if (sc.oom || sc.dup_off || sc.quote_off) {
		if (sc.oom)
			snprintf(err, errlen, "out of memory");
		else if (sc.quote_off)
			snprintf(err, errlen, "line %u: invalid JSON: strings take double quotes, not single quotes",
				 line_of(text, sc.quote_off - 1));
		else
			snprintf(err, errlen, "line %u: invalid JSON: duplicate key \"%s\"", line_of(text, sc.dup_off - 1),
				 sc.dup_key);
		json_object_put(root);
		return NULL;
	}
	return root;
}
