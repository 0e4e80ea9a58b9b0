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

/* One write per line, so lines from API threads never interleave. */
static void vlog(enum tn_log_level level, const char *prefix, const char *fmt, va_list ap)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char line[2048], stamp[32];
	struct timespec ts;
	struct tm tm;
	size_t n = 0;
	int w;

	if (level < min_level)
		return;
	if (!plain_output) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		w = snprintf(line, sizeof(line), "%s.%03ldZ %-5s %s", stamp, ts.tv_nsec / 1000000,
			     names[level], prefix);
	} else {
		w = snprintf(line, sizeof(line), "%s%s%s", level >= TN_LOG_WARN ? "tenace: " : "",
			     level >= TN_LOG_WARN ? names[level] : "", level >= TN_LOG_WARN ? ": " : "");
		if (w >= 0 && prefix[0])
			w += snprintf(line + w, sizeof(line) - w, "%s", prefix);
	}
	if (w > 0)
		n = (size_t)w < sizeof(line) ? (size_t)w : sizeof(line) - 1;
	w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (w > 0)
		n = n + (size_t)w < sizeof(line) ? n + (size_t)w : sizeof(line) - 1;
	while (n && line[n - 1] == '\n')
		n--;
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
	fflush(stderr);
}

void tn_log(enum tn_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, "", fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum tn_log_level l = level == LIBBPF_WARN ? TN_LOG_WARN :
			      level == LIBBPF_INFO ? TN_LOG_DEBUG : TN_LOG_DEBUG;

	vlog(l, "libbpf: ", fmt, ap);
	return 0;
}

void tn_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
