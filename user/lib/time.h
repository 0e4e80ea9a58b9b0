/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef TENACE_LIB_TIME_H
#define TENACE_LIB_TIME_H

#include <stddef.h>

/* CLOCK_REALTIME seconds (what the API shows). */
double tn_now(void);
/* CLOCK_MONOTONIC seconds (intervals and deadlines). */
double tn_monotonic(void);
/* ISO 8601 UTC: "2026-12-01T19:26:03Z". */
void tn_format_time(double t, char *buf, size_t len);

#endif /* TENACE_LIB_TIME_H */
