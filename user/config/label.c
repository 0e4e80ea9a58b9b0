// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Error paths that name their objects, for people: "farms[0] (tcp farm 1
 * \"web\").servers[2] (server 3, 10.0.0.3:80).weight". An index alone makes
 * an operator count array entries; the plain path stays in tn_error.path for
 * programs (the API's "field").
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/internal.h"

#define NAME_SHOWN 40 /* bytes of a displayName a label shows */

/* A bounded string being written; past its end it stops, marked "...". */
struct out {
	char *s;
	size_t len, n;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (o->n >= o->len)
		return;
	va_start(ap, fmt);
	w = vsnprintf(o->s + o->n, o->len - o->n, fmt, ap);
	va_end(ap);
	o->n += w > 0 ? (size_t)w : 0;
	if (o->n >= o->len && o->len >= 4)
		memcpy(o->s + o->len - 4, "...", 4);
}

/* At most NAME_SHOWN bytes of s, not cutting a UTF-8 character in two. */
static int shown_len(const char *s)
{
	size_t n = strlen(s);

	if (n <= NAME_SHOWN)
		return (int)n;
	n = NAME_SHOWN;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return (int)n;
}

/* Did parsing fail at path.key (key NULL: at the object itself)? */
static bool failed_at(const struct tn_cfg_trust *t, const char *path, const char *key)
{
	char p[TN_JPATH_LEN];
	size_t i;

	if (!t || !t->errs)
		return false;
	if (key)
		path = tn_jpath_key(p, path, key);
	for (i = t->from; i < t->to && i < t->errs->n; i++)
		if (!strcmp(t->errs->v[i].path, path))
			return true;
	return false;
}

/* "tcp farm 1 \"web\"" (type may be NULL), or "" when neither id nor name is known. */
static const char *object_name(char *buf, size_t len, const char *type, const char *kind,
			       uint32_t id, const char *name)
{
	struct out o = { buf, len, 0 };

	buf[0] = '\0';
	if (!id && !(name && *name))
		return buf;
	if (type)
		put(&o, "%s ", type);
	put(&o, "%s", kind);
	if (id)
		put(&o, " %u", id);
	if (name && *name)
		put(&o, " \"%.*s\"", shown_len(name), name);
	return buf;
}

static const char *farm_name(char *buf, size_t len, const struct tn_cfg_trust *t, const char *path,
			     const struct tn_farm_cfg *f)
{
	buf[0] = '\0';
	if (failed_at(t, path, NULL))
		return buf; /* not even an object: its fields are all defaults */
	return object_name(buf, len, failed_at(t, path, "type") ? NULL : tn_l4_type_name(f->type),
			   "farm", failed_at(t, path, "farmId") ? 0 : f->farm_id, f->display_name);
}

static const char *frontend_name(char *buf, size_t len, const struct tn_cfg_trust *t, const char *path,
				 const struct tn_frontend_cfg *fe)
{
	buf[0] = '\0';
	if (failed_at(t, path, NULL))
		return buf;
	return object_name(buf, len, failed_at(t, path, "type") ? NULL : tn_l4_type_name(fe->type),
			   "frontend", failed_at(t, path, "frontendId") ? 0 : fe->frontend_id,
			   fe->display_name);
}

/* "server 3 \"db\", 10.0.0.3:80", "server 3, [2001:db8::3]:80", "server 3". */
static const char *server_name(char *buf, size_t len, const struct tn_cfg_trust *t, const char *path,
			       const struct tn_farm_cfg *f, const struct tn_server_cfg *s)
{
	uint16_t port = failed_at(t, path, "port") ? 0 : tn_server_port(f, s);
	struct out o = { buf, len, 0 };
	char a[INET6_ADDRSTRLEN];

	buf[0] = '\0';
	if (failed_at(t, path, NULL))
		return buf;
	object_name(buf, len, NULL, "server", failed_at(t, path, "serverId") ? 0 : s->server_id,
		    s->display_name);
	o.n = strlen(buf);
	if (!s->address.family)
		return buf; /* its address is wrong or missing */
	tn_addr_format(&s->address, a, sizeof(a));
	put(&o, "%s", o.n ? ", " : "server ");
	if (port)
		put(&o, s->address.family == TN_FAMILY_V6 ? "[%s]:%u" : "%s:%u", a, port);
	else
		put(&o, "%s", a);
	return buf;
}

/* "path (name)", or "path" when there is no name. */
static const char *ref(char *buf, size_t len, const char *path, const char *name)
{
	if (name[0])
		snprintf(buf, len, "%s (%s)", path, name);
	else
		snprintf(buf, len, "%s", path);
	return buf;
}

const char *tn_cfg_farm_ref(char *buf, size_t len, const struct tn_cfg_trust *t,
			    const char *path, const struct tn_farm_cfg *f)
{
	char name[TN_ERROR_LABEL_MAX / 2];

	return ref(buf, len, path, farm_name(name, sizeof(name), t, path, f));
}

const char *tn_cfg_frontend_ref(char *buf, size_t len, const struct tn_cfg_trust *t,
				const char *path, const struct tn_frontend_cfg *fe)
{
	char name[TN_ERROR_LABEL_MAX / 2];

	return ref(buf, len, path, frontend_name(name, sizeof(name), t, path, fe));
}

const char *tn_cfg_server_ref(char *buf, size_t len, const struct tn_cfg_trust *t, const char *path,
			      const struct tn_farm_cfg *f, const struct tn_server_cfg *s)
{
	const char *last = strrchr(path, '.');
	char name[TN_ERROR_LABEL_MAX / 2];

	return ref(buf, len, last ? last + 1 : path, server_name(name, sizeof(name), t, path, f, s));
}

/* ---- labels of error paths ---------------------------------------------------- */

/* "key[N]" at *p: N, and *p moved past the "]". */
static bool take_index(const char **p, const char *key, size_t *idx)
{
	size_t n = strlen(key), v = 0;
	const char *s = *p + n + 1;

	if (strncmp(*p, key, n) || (*p)[n] != '[' || *s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (size_t)(*s - '0');
	if (*s != ']')
		return false;
	*idx = v;
	*p = s + 1;
	return true;
}

/* The path up to p (an object's own path, to ask what failed in it). */
static const char *path_until(char *buf, const char *path, const char *p)
{
	snprintf(buf, TN_JPATH_LEN, "%.*s", (int)(p - path), path);
	return buf;
}

/* The label being built: path pieces copied, names inserted after objects. */
struct label {
	struct out o;
	const char *path, *copied; /* path[0..copied) is in o */
	bool named;
};

/* Copy the path up to p, then " (name)" when there is one. */
static void label_name(struct label *l, const char *p, const char *name)
{
	put(&l->o, "%.*s", (int)(p - l->copied), l->copied);
	l->copied = p;
	if (name[0]) {
		put(&l->o, " (%s)", name);
		l->named = true;
	}
}

/* At p, ".servers[N]" (after a farm's path) or "servers[N]" (a farm body). */
static void label_server(struct label *l, const char *p, const struct tn_cfg_trust *t,
			 const struct tn_farm_cfg *f)
{
	char elem[TN_JPATH_LEN], name[TN_ERROR_LABEL_MAX / 2];
	size_t j;

	if (*p == '.')
		p++;
	if (!take_index(&p, "servers", &j) || j >= f->nservers)
		return;
	label_name(l, p, server_name(name, sizeof(name), t, path_until(elem, l->path, p), f,
				     &f->servers[j]));
}

/* The rest of the path; no label at all when it names nothing (the path says it all). */
static void label_finish(struct label *l)
{
	if (l->named)
		put(&l->o, "%s", l->copied);
	else
		l->o.s[0] = '\0';
}

static void label_config_error(struct tn_error *e, const struct tn_cfg_trust *t, const struct tn_config *c)
{
	char elem[TN_JPATH_LEN], name[TN_ERROR_LABEL_MAX / 2];
	struct label l = { { e->label, sizeof(e->label), 0 }, e->path, e->path, false };
	const char *p = e->path;
	size_t i;

	if (take_index(&p, "farms", &i) && i < c->nfarms) {
		label_name(&l, p, farm_name(name, sizeof(name), t, path_until(elem, e->path, p), &c->farms[i]));
		label_server(&l, p, t, &c->farms[i]);
	} else if (take_index(&p, "frontends", &i) && i < c->nfrontends) {
		label_name(&l, p, frontend_name(name, sizeof(name), t, path_until(elem, e->path, p),
						&c->frontends[i]));
	}
	label_finish(&l);
}

void tn_cfg_label_config(struct tn_errors *errs, size_t start, const struct tn_cfg_trust *t,
			 const struct tn_config *c)
{
	size_t i;

	for (i = start; i < errs->n; i++)
		label_config_error(&errs->v[i], t, c);
}

void tn_cfg_label_farm(struct tn_errors *errs, size_t start, const struct tn_cfg_trust *t,
		       const char *prefix, const struct tn_farm_cfg *f)
{
	size_t i, plen = strlen(prefix);

	for (i = start; i < errs->n; i++) {
		struct tn_error *e = &errs->v[i];
		struct label l = { { e->label, sizeof(e->label), 0 }, e->path, e->path, false };

		if (strncmp(e->path, prefix, plen) || (plen && e->path[plen] != '.'))
			continue;
		label_server(&l, e->path + plen, t, f);
		label_finish(&l);
	}
}
