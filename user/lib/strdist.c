// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Optimal string alignment distance (Damerau-Levenshtein without moving a
 * substring twice), three rows of the classic table. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/strdist.h"

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

static int fold(char c)
{
	return tolower((unsigned char)c);
}

size_t tn_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d;
	size_t *row = calloc(3 * (lb + 1), sizeof(*row));
	size_t *prev2, *prev, *cur, *t;

	if (!row)
		return SIZE_MAX;
	prev2 = row;
	prev = row + lb + 1;
	cur = row + 2 * (lb + 1);
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = fold(a[i - 1]) != fold(b[j - 1]);

			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
			if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) &&
			    fold(a[i - 2]) == fold(b[j - 1]) && prev2[j - 2] + 1 < cur[j])
				cur[j] = prev2[j - 2] + 1;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	d = prev[lb];
	free(row);
	return d;
}

const char *tn_closest_name(const char *s, const char *const *names)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, ls = strlen(s);

	for (; *names; names++) {
		size_t ln = strlen(*names), max = ln / 3 > 1 ? ln / 3 : 1, d;

		if (!strcmp(s, *names))
			return NULL;
		/* the lengths alone already differ by more than allowed */
		if ((ls > ln ? ls - ln : ln - ls) > max)
			continue;
		d = tn_edit_distance(s, *names);
		if (d <= max && d < best_d) {
			best = *names;
			best_d = d;
		}
	}
	return best;
}
