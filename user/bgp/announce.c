/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bgp/announce.h"

/* IPv4 first, then by bytes: the order of the routes file and of status. */
static int addr_cmp(const struct tn_addr *a, const struct tn_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

/* Index of a, or of where it would go (*found false). */
static size_t find(const struct tn_prefixes *p, const struct tn_addr *a, bool *found)
{
	size_t lo = 0, hi = p ? p->n : 0;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = addr_cmp(&p->v[mid], a);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool tn_prefixes_has(const struct tn_prefixes *p, const struct tn_addr *a)
{
	bool found;

	find(p, a, &found);
	return found;
}

int tn_prefixes_add(struct tn_prefixes *p, const struct tn_addr *a)
{
	struct tn_addr *nv, clean = { .family = a->family };
	bool found;
	size_t i = find(p, a, &found);

	if (found)
		return 0;
	/* compare whole structs later: no stray bytes past an IPv4 address */
	memcpy(clean.bytes, a->bytes, a->family == 4 ? 4 : 16);
	nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	p->v = nv;
	memmove(&p->v[i + 1], &p->v[i], (p->n - i) * sizeof(*nv));
	p->v[i] = clean;
	p->n++;
	return 0;
}

bool tn_prefixes_equal(const struct tn_prefixes *a, const struct tn_prefixes *b)
{
	size_t na = a ? a->n : 0, nb = b ? b->n : 0;

	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (addr_cmp(&a->v[i], &b->v[i]))
			return false;
	return true;
}

int tn_prefixes_copy(struct tn_prefixes *dst, const struct tn_prefixes *src)
{
	struct tn_prefixes c = {0};

	if (src && src->n) {
		c.v = malloc(src->n * sizeof(*c.v));
		if (!c.v)
			return -ENOMEM;
		memcpy(c.v, src->v, src->n * sizeof(*c.v));
		c.n = src->n;
	}
	*dst = c;
	return 0;
}

void tn_prefixes_free(struct tn_prefixes *p)
{
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

void tn_prefix_format(const struct tn_addr *a, char *buf, size_t len)
{
	char text[TN_ADDR_TEXT];

	tn_addr_format(a, text, sizeof(text));
	snprintf(buf, len, "%s/%d", text, a->family == 4 ? 32 : 128);
}

/* What one address deserves in "healthy" mode, over all its frontends. */
enum verdict { WITHDRAW, KEEP, ANNOUNCE };

static enum verdict address_verdict(const struct tn_bgp_inputs *in, const struct tn_addr *a)
{
	const struct tn_config *c = in->applied;
	enum verdict v = WITHDRAW;

	for (size_t i = 0; i < c->nfrontends; i++) {
		const struct tn_frontend_cfg *fe = &c->frontends[i];
		struct tn_bgp_farm_health h = {0};
		bool on = false;

		for (size_t j = 0; j < fe->nvips && !on; j++)
			on = tn_addr_equal(&fe->vips[j], a);
		if (!on || fe->disabled)
			continue;
		if (in->bgp->announce == TN_BGP_ANNOUNCE_ALWAYS)
			return ANNOUNCE;
		if (!tn_config_farm(c, fe->type, fe->default_farm_id))
			continue;
		in->health(in->health_ctx, fe->type, fe->default_farm_id, &h);
		if (h.up > 0)
			return ANNOUNCE;
		if (h.pending)
			v = KEEP;
	}
	return v;
}

int tn_bgp_decide(const struct tn_bgp_inputs *in, struct tn_prefixes *out)
{
	struct tn_prefixes next = {0};
	const struct tn_config *c = in->applied;

	if (!in->bgp || in->drained || (in->ready && !c)) {
		tn_prefixes_free(out);
		return 0;
	}
	/* a restarted controller loading: what a BIRD it took over carries stays */
	if (!in->ready) {
		if (tn_prefixes_copy(&next, in->current))
			return -ENOMEM;
		tn_prefixes_free(out);
		*out = next;
		return 0;
	}
	for (size_t i = 0; i < c->nfrontends; i++) {
		const struct tn_frontend_cfg *fe = &c->frontends[i];

		for (size_t j = 0; j < fe->nvips; j++) {
			const struct tn_addr *a = &fe->vips[j];
			enum verdict v;

			if (tn_prefixes_has(&next, a))
				continue;
			v = address_verdict(in, a);
			if (v == KEEP && !tn_prefixes_has(in->current, a))
				v = WITHDRAW;
			if (v != WITHDRAW && tn_prefixes_add(&next, a)) {
				tn_prefixes_free(&next);
				return -ENOMEM;
			}
		}
	}
	tn_prefixes_free(out);
	*out = next;
	return 0;
}
