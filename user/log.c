/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "log.h"

static enum tn_log_level min_level = TN_LOG_INFO;
static int plain_output;

void tn_log_set_level(enum tn_log_level level) { min_level = level; }
void tn_log_set_plain(int plain) { plain_output = plain; }

static void vlog(enum tn_log_level level, const char *fmt, va_list ap)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char stamp[32] = "";
	struct timespec ts;
	struct tm tm;
	size_t len;

	if (level < min_level)
		return;
	if (!plain_output) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %-5s ", stamp, ts.tv_nsec / 1000000, names[level]);
	} else if (level >= TN_LOG_WARN) {
		fprintf(stderr, "tenace: %s: ", names[level]);
	}
	vfprintf(stderr, fmt, ap);
	len = strlen(fmt);
	if (len == 0 || fmt[len - 1] != '\n')
		fputc('\n', stderr);
}

void tn_log(enum tn_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum tn_log_level l = level == LIBBPF_WARN ? TN_LOG_WARN :
			      level == LIBBPF_INFO ? TN_LOG_DEBUG : TN_LOG_DEBUG;

	if (l < min_level)
		return 0;
	fputs("libbpf: ", stderr);
	vlog(l, fmt, ap);
	return 0;
}

void tn_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
