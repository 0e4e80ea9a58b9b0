/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Logging to stderr with timestamps; libbpf's own messages go through it. */
#ifndef TENACE_LOG_H
#define TENACE_LOG_H

enum tn_log_level { TN_LOG_DEBUG = 0, TN_LOG_INFO, TN_LOG_WARN, TN_LOG_ERROR };

void tn_log_set_level(enum tn_log_level level);
/* Quiet mode for client commands: no timestamp prefix, errors only. */
void tn_log_set_plain(int plain);
void tn_log(enum tn_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Route libbpf's output through tn_log (warnings and errors only unless debug). */
void tn_log_libbpf(void);

#define tn_debug(...) tn_log(TN_LOG_DEBUG, __VA_ARGS__)
#define tn_info(...)  tn_log(TN_LOG_INFO, __VA_ARGS__)
#define tn_warn(...)  tn_log(TN_LOG_WARN, __VA_ARGS__)
#define tn_err(...)   tn_log(TN_LOG_ERROR, __VA_ARGS__)

#endif /* TENACE_LOG_H */
