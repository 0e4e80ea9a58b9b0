/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* How far a mistyped word is from the words we know, to suggest the right one
 * ("stickyness": did you mean "stickiness"?). */
#ifndef TENACE_LIB_STRDIST_H
#define TENACE_LIB_STRDIST_H

#include <stddef.h>

/* Edits (insert, delete, replace, swap two neighbours) between a and b,
 * ASCII case ignored; SIZE_MAX when out of memory. */
size_t tn_edit_distance(const char *a, const char *b);

/* The name of names[] (NULL-terminated) closest to s, when close enough to be
 * a typo of it (at most max(1, length / 3) edits); NULL otherwise, and for a
 * name s is exactly. */
const char *tn_closest_name(const char *s, const char *const *names);

#endif /* TENACE_LIB_STRDIST_H */
