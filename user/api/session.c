/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Browser sessions of the TCP listener: POST /v1/session with the token
 * gets a random 256-bit id in a cookie; the id (never the token) is kept in
 * memory for TN_SESSION_TTL_S, TN_SESSION_MAX at most (the oldest goes).
 * A restart forgets them: the page asks for the token again.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include "api/internal.h"
#include "lib/time.h"

void sessions_init(struct sessions *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
}

void sessions_destroy(struct sessions *s)
{
	explicit_bzero(s->v, sizeof(s->v));
	pthread_mutex_destroy(&s->lock);
}

int session_new(struct sessions *s, char id[TN_SESSION_ID_LEN + 1])
{
	unsigned char raw[TN_SESSION_ID_LEN / 2];
	struct session *slot = NULL;
	double now = tn_now();

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < TN_SESSION_MAX; i++) {
		struct session *x = &s->v[i];

		if (!x->created || now - x->created > TN_SESSION_TTL_S) {
			slot = x;
			break;
		}
		if (!slot || x->created < slot->created)
			slot = x;
	}
	memcpy(slot->id, id, TN_SESSION_ID_LEN + 1);
	slot->created = now;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Constant time over the id's length: a guess learns nothing from timing. */
static bool same_id(const char *a, const char *b)
{
	unsigned char d = 0;

	for (size_t i = 0; i < TN_SESSION_ID_LEN; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

bool session_valid(struct sessions *s, const char *id)
{
	double now = tn_now();
	bool ok = false;

	if (!id || strlen(id) != TN_SESSION_ID_LEN)
		return false;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < TN_SESSION_MAX; i++)
		if (s->v[i].created && now - s->v[i].created <= TN_SESSION_TTL_S && same_id(s->v[i].id, id))
			ok = true;
	pthread_mutex_unlock(&s->lock);
	return ok;
}
