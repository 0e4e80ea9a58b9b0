/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Section maglev: build time of tn_maglev_build, how exactly shares follow weights, how few entries move. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dataplane/maglev.h"
#include "tools/bench/common.h"
#include "lib/log.h"

static double build_ms(uint16_t *table, uint32_t size, const struct tn_maglev_server *s, int n, int reps)
{
	double v[64];

	for (int r = 0; r < reps; r++) {
		double t0 = now_s();

		if (tn_maglev_build(table, size, s, n))
			return NAN;
		v[r] = (now_s() - t0) * 1e3;
	}
	return median(v, reps);
}

/* Scratch space of the section: two tables, servers and their entry counts. */
struct maglev_bufs {
	uint16_t *t1, *t2;
	struct tn_maglev_server *s;
	uint32_t *cnt;
};

/* One row's figures. */
struct maglev_row {
	uint32_t size;
	int n;
	double ms, err_pp, err_rel, moved, needless;
};

/* Build time and share error with weights random 1..256. */
static int maglev_shares(struct bench *b, struct maglev_bufs *m, struct maglev_row *row)
{
	uint32_t size = row->size;
	int n = row->n;
	double wsum = 0;

	rng_state = 0x9e3779b97f4a7c15ull + size + n;
	for (int i = 0; i < n; i++) {
		m->s[i].tag = (uint32_t)rng() | 1;
		m->s[i].slot = (uint16_t)i;
		m->s[i].weight = (uint16_t)(1 + rng() % 256);
		wsum += m->s[i].weight;
	}
	row->ms = build_ms(m->t1, size, m->s, n, b->reps);
	if (isnan(row->ms)) {
		tn_err("bench: tn_maglev_build failed for %u entries and %d servers", size, n);
		return -EINVAL;
	}
	memset(m->cnt, 0, n * sizeof(*m->cnt));
	for (uint32_t e = 0; e < size; e++)
		if (m->t1[e] < n)
			m->cnt[m->t1[e]]++;
	row->err_pp = row->err_rel = 0;
	for (int i = 0; i < n; i++) {
		double share = (double)m->cnt[i] / size, want = m->s[i].weight / wsum;

		if (fabs(share - want) * 100 > row->err_pp)
			row->err_pp = fabs(share - want) * 100;
		if (fabs(share / want - 1) > row->err_rel)
			row->err_rel = fabs(share / want - 1);
	}
	return 0;
}

/* Entries that move when one of N equal servers leaves, and those that needed not. */
static int maglev_moves(struct maglev_bufs *m, struct maglev_row *row)
{
	uint32_t size = row->size;
	int n = row->n, leave = n / 2;

	for (int i = 0; i < n; i++)
		m->s[i].weight = 100;
	if (tn_maglev_build(m->t1, size, m->s, n))
		return -EINVAL;
	m->s[leave].weight = 0;
	if (tn_maglev_build(m->t2, size, m->s, n))
		return -EINVAL;
	row->moved = row->needless = 0;
	for (uint32_t e = 0; e < size; e++) {
		if (m->t1[e] == m->t2[e])
			continue;
		row->moved++;
		if (m->t1[e] != m->s[leave].slot)
			row->needless++;
	}
	row->moved /= size;
	row->needless /= size;
	return 0;
}

static void maglev_report(struct bench *b, const struct maglev_row *r, json_object *rows)
{
	json_object *row = json_object_new_object();
	bool timed = r->size == 65537 && r->n == 1000, time_ok = timed ? r->ms < 10 : true;

	printf("%-8u %-7d %7.2f ms%s %8.3f pp (%5.1f%%) %11.3f%% %12.3f%% %14.3f%%\n", r->size, r->n, r->ms,
	       timed ? (time_ok ? " PASS(<10ms)" : " MISS(<10ms)") : "",
	       r->err_pp, 100 * r->err_rel, 100 * r->moved, 100.0 / r->n, 100 * r->needless);
	if (timed)
		pass_miss(b, time_ok);
	JSET(row, "entries", JI(r->size));
	JSET(row, "servers", JI(r->n));
	JSET(row, "build_ms", JD(r->ms));
	if (timed) {
		JSET(row, "target_build_ms_max", JD(10));
		JSET(row, "pass", JB(time_ok));
	}
	JSET(row, "share_error_max_pp", JD(r->err_pp));
	JSET(row, "share_error_max_relative", JD(r->err_rel));
	JSET(row, "moved_fraction_one_leaves", JD(r->moved));
	JSET(row, "ideal_fraction", JD(1.0 / r->n));
	JSET(row, "moved_needlessly_fraction", JD(r->needless));
	json_object_array_add(rows, row);
}

int maglev_section(struct bench *b)
{
	static const uint32_t sizes[] = { 65537, 655373 };
	static const int counts[] = { 10, 100, 1000 };
	json_object *sec = json_object_new_object(), *rows = json_object_new_array();
	struct maglev_bufs m = {
		.t1 = malloc(655373 * 2), .t2 = malloc(655373 * 2),
		.s = calloc(1000, sizeof(struct tn_maglev_server)), .cnt = calloc(1000, sizeof(uint32_t)),
	};
	int err = 0;

	if (!m.t1 || !m.t2 || !m.s || !m.cnt) {
		err = -ENOMEM;
		goto out;
	}
	printf("\n== Maglev (tn_maglev_build, median of %d builds; weights random 1..256 for time and share; "
	       "equal weights for moves) ==\n", b->reps);
	printf("%-8s %-7s %10s %20s %13s %13s %12s\n", "entries", "servers", "build", "share error (rel)",
	       "moved", "ideal 1/N", "moved needlessly");
	for (size_t si = 0; si < 2; si++) {
		for (size_t ni = 0; ni < 3; ni++) {
			struct maglev_row row = { .size = sizes[si], .n = counts[ni] };

			if ((err = maglev_shares(b, &m, &row)) || (err = maglev_moves(&m, &row)))
				goto out;
			maglev_report(b, &row, rows);
		}
	}
out:
	JSET(sec, "method", JS("tn_maglev_build on one core, median of the runs. share_error: max over servers of "
			       "|entries share - weight share| with weights random 1..256 (in percentage points, "
			       "and relative to the weight share). moved: fraction of all entries whose server "
			       "changed when server N/2 of N equal-weight servers leaves (ideal 1/N); "
			       "moved_needlessly: entries that changed although their server stayed."));
	JSET(sec, "runs", JI(b->reps));
	JSET(sec, "rows", rows);
	JSET(b->root, "maglev", sec);
	free(m.t1);
	free(m.t2);
	free(m.s);
	free(m.cnt);
	if (err)
		b->failures++;
	return err;
}
