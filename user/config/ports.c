// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Frontend port specs ("80", "80,443", "8000-8100") and whether two overlap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

/* One port 1..65535 from [s, e): digits only. */
static int port_number(const char *s, const char *e, uint16_t *out)
{
	unsigned long v = 0;

	if (s == e || e - s > 5)
		return -EINVAL;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < 1 || v > 65535)
		return -ERANGE;
	*out = (uint16_t)v;
	return 0;
}

static const char *trim(const char *s, const char **e)
{
	while (s < *e && (*s == ' ' || *s == '\t'))
		s++;
	while (*e > s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
	return s;
}

/* One comma-separated item: "80" or "8000-8100". */
static int port_item(const char *s, const char *e, struct tn_port_range *r, char *err, size_t errlen)
{
	const char *dash = memchr(s, '-', (size_t)(e - s));
	const char *a_end = dash ? dash : e, *b = dash ? dash + 1 : e;
	int rc;

	s = trim(s, &a_end);
	rc = port_number(s, a_end, &r->first);
	if (!rc && dash) {
		b = trim(b, &e);
		rc = port_number(b, e, &r->last);
	} else {
		r->last = r->first;
	}
	if (rc == -ERANGE) {
		snprintf(err, errlen, "\"%.*s\": ports must be 1..65535", (int)(e - s), s);
		return -EINVAL;
	}
	if (rc) {
		snprintf(err, errlen, "\"%.*s\" is not a port (1..65535) or a range (8000-8100)",
			 (int)(e - s), s);
		return -EINVAL;
	}
	if (r->first > r->last) {
		snprintf(err, errlen, "\"%.*s\": range is reversed", (int)(e - s), s);
		return -EINVAL;
	}
	return 0;
}

static int port_spec_check_overlap(const struct tn_port_range *r, size_t n, char *err, size_t errlen)
{
	size_t i, j;

	/* an overlap would install the same VIP entry twice */
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (r[i].first <= r[j].last && r[j].first <= r[i].last) {
				snprintf(err, errlen, "port %u is listed twice",
					 r[i].first > r[j].first ? r[i].first : r[j].first);
				return -EINVAL;
			}
	return 0;
}

int tn_port_spec_parse(const char *s, struct tn_port_range **out, size_t *n, char *err, size_t errlen)
{
	struct tn_port_range *r = NULL;
	size_t cnt = 0, cap = 0;
	const char *p = s;

	if (!s || !*s) {
		snprintf(err, errlen, "must not be empty (null means every port)");
		return -EINVAL;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *e = comma ? comma : p + strlen(p);

		if (cnt == cap) {
			struct tn_port_range *nr;

			cap = cap ? cap * 2 : 4;
			nr = realloc(r, cap * sizeof(*r));
			if (!nr) {
				snprintf(err, errlen, "out of memory");
				free(r);
				return -ENOMEM;
			}
			r = nr;
		}
		if (port_item(p, e, &r[cnt], err, errlen))
			goto bad;
		cnt++;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (port_spec_check_overlap(r, cnt, err, errlen))
		goto bad;
	*out = r;
	*n = cnt;
	return 0;
bad:
	free(r);
	return -EINVAL;
}

/* First port the two frontends both take, or -1; 0 means "every port" on both. */
long tn_ports_overlap(const struct tn_frontend_cfg *a, const struct tn_frontend_cfg *b)
{
	size_t i, j;

	if (!a->nports && !b->nports)
		return 0;
	if (!a->nports)
		return b->ports[0].first;
	if (!b->nports)
		return a->ports[0].first;
	for (i = 0; i < a->nports; i++)
		for (j = 0; j < b->nports; j++)
			if (a->ports[i].first <= b->ports[j].last &&
			    b->ports[j].first <= a->ports[i].last)
				return a->ports[i].first > b->ports[j].first ?
				       a->ports[i].first : b->ports[j].first;
	return -1;
}
