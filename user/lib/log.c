/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "lib/log.h"

static enum tn_log_level min_level = TN_LOG_INFO;
static int plain_output;
static int journal = -1; /* stderr is journald's stream: -1 not checked yet */

/* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it gave us
 * (systemd.exec(5)); a redirected stderr no longer matches it. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void tn_log_set_level(enum tn_log_level level) { min_level = level; }
void tn_log_set_plain(int plain) { plain_output = plain; }

/* One write per line, so lines from API threads never interleave. */
static void vlog(enum tn_log_level level, const char *prefix, const char *fmt, va_list ap)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	/* sd-daemon(3) priority prefixes: journald files each line under it */
	static const char *prio[] = { "<7>", "<6>", "<4>", "<3>" };
	char line[2048], stamp[32];
	struct timespec ts;
	struct tm tm;
	size_t n = 0;
	int w;

	if (level < min_level)
		return;
	if (journal < 0)
		journal = stderr_is_journal();
	if (journal && !plain_output) {
		/* journald stamps each line itself */
		w = snprintf(line, sizeof(line), "%s%s", prio[level], prefix);
	} else if (!plain_output) {
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
