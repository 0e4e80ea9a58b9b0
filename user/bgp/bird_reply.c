/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* BGP sessions out of BIRD's `show protocols all` reply. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bgp/bird.h"

/* Seconds since the epoch from BIRD's "Since" column: "%s" (what Tenace's
 * own BIRD is told to print), ISO long ("2026-11-30 10:56:03[.123]"), ISO
 * short ("10:56:03[.123]", today) or a date. 0 when unknown; *used gets
 * how many bytes it took. */
static double parse_since(const char *s, double now, size_t *used)
{
	struct tm tm = {0};
	time_t t = (time_t)now;
	const char *e;
	char *end;

	*used = 0;
	if (isdigit((unsigned char)s[0])) {
		long long v = strtoll(s, &end, 10);

		if ((*end == ' ' || !*end) && v > 100000000LL) {
			*used = (size_t)(end - s);
			return (double)v;
		}
	}
	/* a failed strptime leaves tm half-written: start again from today */
	localtime_r(&t, &tm);
	if (!(e = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) && (localtime_r(&t, &tm), 1))
		e = strptime(s, "%Y-%m-%d", &tm);
	if (!e) {
		localtime_r(&t, &tm);
		if (!(e = strptime(s, "%H:%M:%S", &tm)))
			return 0;
		/* today, or yesterday when that would be in the future */
		tm.tm_isdst = -1;
		if ((double)mktime(&tm) > now + 60)
			tm.tm_mday--;
	}
	while (*e && *e != ' ')
		e++; /* fractions of a second */
	*used = (size_t)(e - s);
	tm.tm_isdst = -1;
	return (double)mktime(&tm);
}

static void copy_trimmed(char *dst, size_t len, const char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
}

/* "peer1  BGP  ---  up  1796156568  Established": false when not BGP. */
static bool summary(const char *line, double now, struct tn_bgp_session *s)
{
	char name[64], proto[32], table[64], state[16];
	int off = 0;
	size_t used;

	memset(s, 0, sizeof(*s));
	if (sscanf(line, "%63s %31s %63s %15s %n", name, proto, table, state, &off) != 4 || strcmp(proto, "BGP"))
		return false;
	snprintf(s->protocol, sizeof(s->protocol), "%s", name);
	s->since = parse_since(line + off, now, &used);
	copy_trimmed(s->info, sizeof(s->info), line + off + used);
	/* until the details say otherwise: the Info column starts with the BGP state */
	sscanf(s->info, "%23s", s->state);
	s->up = !strcmp(s->state, "Established");
	return true;
}

/* Sum "N exported" (and imported) of a "Routes:" line. */
static void routes_line(const char *v, struct tn_bgp_session *s)
{
	const char *p = v;

	while (*p) {
		char *end;
		unsigned long n = strtoul(p, &end, 10);

		if (end == p) {
			p++;
			continue;
		}
		while (*end == ' ')
			end++;
		if (!strncmp(end, "exported", 8))
			s->exported += (uint32_t)n;
		else if (!strncmp(end, "imported", 8))
			s->imported += (uint32_t)n;
		p = end;
	}
}

static void detail(const char *line, struct tn_bgp_session *s)
{
	static const char *const keys[] = { "BGP state:", "Neighbor address:", "Neighbor AS:", "Last error:",
					    "Routes:", NULL };
	const char *p = line;
	int k;

	while (*p == ' ' || *p == '\t')
		p++;
	for (k = 0; keys[k]; k++)
		if (!strncmp(p, keys[k], strlen(keys[k])))
			break;
	if (!keys[k])
		return;
	p += strlen(keys[k]);
	switch (k) {
	case 0:
		copy_trimmed(s->state, sizeof(s->state), p);
		s->up = !strcmp(s->state, "Established");
		break;
	case 1: {
		char addr[TN_ADDR_TEXT];

		copy_trimmed(addr, sizeof(addr), p);
		if (tn_addr_parse(addr, &s->neighbor))
			s->neighbor.family = 0;
		break;
	}
	case 2:
		s->remote_as = (uint32_t)strtoul(p, NULL, 10);
		break;
	case 3:
		copy_trimmed(s->last_error, sizeof(s->last_error), p);
		break;
	default:
		routes_line(p, s);
		break;
	}
}

static int push(struct tn_bgp_session **v, size_t *n, const struct tn_bgp_session *s)
{
	struct tn_bgp_session *nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	nv[*n] = *s;
	*v = nv;
	(*n)++;
	return 0;
}

int tn_bird_parse_protocols(const char *reply, double now, struct tn_bgp_session **out, size_t *n)
{
	struct tn_bgp_session *v = NULL, cur;
	const char *line = reply;
	bool in_bgp = false;
	size_t count = 0;
	int code = 0;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[512];
		const char *text = buf;

		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = 0;
		line = end ? end + 1 : NULL;
		/* "NNNN-text" / "NNNN text" set the code; " text" continues it */
		if (len >= 5 && isdigit((unsigned char)buf[0]) && isdigit((unsigned char)buf[3]) &&
		    (buf[4] == '-' || buf[4] == ' ')) {
			code = atoi(buf);
			text = buf + 5;
		} else if (buf[0] != ' ') {
			continue;
		}
		if (code == 1002) {
			if (in_bgp && push(&v, &count, &cur))
				goto nomem;
			in_bgp = summary(text, now, &cur);
		} else if (code == 1006 && in_bgp) {
			detail(text, &cur);
		}
	}
	if (in_bgp && push(&v, &count, &cur))
		goto nomem;
	*out = v;
	*n = count;
	return 0;
nomem:
	free(v);
	return -ENOMEM;
}
