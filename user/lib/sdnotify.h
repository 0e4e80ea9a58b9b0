/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * systemd's readiness and watchdog protocol (sd_notify(3)): datagrams such as
 * "READY=1" or "WATCHDOG=1" to the socket named by $NOTIFY_SOCKET. A few
 * lines of a stable, documented protocol rather than a dependency on
 * libsystemd; without $NOTIFY_SOCKET (not run by systemd) everything is a
 * no-op.
 */
#ifndef TENACE_LIB_SDNOTIFY_H
#define TENACE_LIB_SDNOTIFY_H

#include <stdint.h>

/* Send state ("READY=1\nSTATUS=..."): 1 sent, 0 no $NOTIFY_SOCKET, -errno. */
int tn_sd_notify(const char *state);
/* The watchdog interval systemd expects pings within (WatchdogSec=), in
 * microseconds, or 0 when there is none for this process. */
uint64_t tn_sd_watchdog_usec(void);

#endif /* TENACE_LIB_SDNOTIFY_H */
