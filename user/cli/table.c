/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Aligned tables, state colours and terminal-safe text (see table.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/table.h"

/* ---- terminal-safe text ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF are not). */
static size_t utf8_len(const unsigned char *p)
{
	unsigned c = p[0], lo, hi;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* Bytes to show as \xNN from p: 0 when p starts printable text. */
static size_t unsafe_len(const unsigned char *p, size_t *keep)
{
	size_t n = utf8_len(p);

	*keep = n;
	if (!n)
		return 1;                       /* not UTF-8: this byte */
	if (n == 1 && (p[0] < 0x20 || p[0] == 0x7f))
		return 1;                       /* C0 control, DEL */
	if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
		return 2;                       /* C1 control, U+0080..U+009F */
	return 0;
}

char *tn_term_escape(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	char *out = malloc(strlen((const char *)p) * 4 + 1), *o = out;
	size_t keep, bad;

	if (!out)
		return NULL;
	while (*p) {
		bad = unsafe_len(p, &keep);
		if (!bad) {
			memcpy(o, p, keep);
			o += keep;
			p += keep;
			continue;
		}
		for (; bad; bad--, p++) {
			const char *named = *p == '\t' ? "\\t" : *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : NULL;

			if (named) {
				memcpy(o, named, 2);
				o += 2;
				continue;
			}
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

static char *ring[16];
static unsigned ring_next;

const char *tn_term_safe(const char *s)
{
	char **slot = &ring[ring_next++ % 16];

	free(*slot);
	*slot = tn_term_escape(s);
	return *slot ? *slot : "?";
}

void tn_term_safe_free(void)
{
	for (size_t i = 0; i < 16; i++) {
		free(ring[i]);
		ring[i] = NULL;
	}
}

/* ---- tables ----------------------------------------------------------------------- */

void tn_table_init(struct tn_table *t, int ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols < TN_TABLE_MAX_COLS ? ncols : TN_TABLE_MAX_COLS;
}

void tn_table_colour_states(struct tn_table *t, int col)
{
	if (col >= 0 && col < t->ncols)
		t->state_col[col] = true;
}

void tn_table_row(struct tn_table *t, ...)
{
	char **nc = realloc(t->cells, (t->nrows + 1) * (size_t)t->ncols * sizeof(char *));
	va_list ap;

	if (!nc)
		return;
	t->cells = nc;
	va_start(ap, t);
	for (int i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = tn_term_escape(s ? s : "-");
	}
	va_end(ap);
	t->nrows++;
}

/* Columns a cell takes: one per code point (escaped text is UTF-8). */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; s && *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static bool colours_wanted(void)
{
	static int wanted = -1;
	const char *term = getenv("TERM");

	if (wanted < 0)
		wanted = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb");
	return wanted;
}

static const char *state_colour(const char *s)
{
	if (!strcmp(s, "up"))
		return "\033[32m";
	if (!strcmp(s, "down") || !strcmp(s, "unresolved"))
		return "\033[31m";
	if (!strcmp(s, "inactive") || !strcmp(s, "drain") || !strcmp(s, "unknown"))
		return "\033[33m";
	return NULL;
}

static void print_cell(const struct tn_table *t, int c, const char *s, size_t w)
{
	const char *colour = t->state_col[c] && colours_wanted() ? state_colour(s) : NULL;
	size_t l = width(s), pad = c == t->ncols - 1 ? 0 : (w > l ? w - l : 0) + 2;

	printf("%s%s%s%*s", colour ? colour : "", s, colour ? "\033[0m" : "", (int)pad, "");
}

void tn_table_print(struct tn_table *t)
{
	size_t w[TN_TABLE_MAX_COLS] = {0}, r, n = t->nrows * (size_t)t->ncols;
	int c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t l = width(t->cells[r * (size_t)t->ncols + (size_t)c]);

			if (l > w[c])
				w[c] = l;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];

			print_cell(t, c, s ? s : "?", w[c]);
		}
		printf("\n");
	}
	for (r = 0; r < n; r++)
		free(t->cells[r]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}
