/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A private network namespace for data-plane tests whose program asks the
 * kernel's FIB (tunnels): the test process moves into a new namespace and
 * builds interfaces, addresses, routes and permanent neighbours there, so
 * bpf_fib_lookup answers the same on every machine.
 */
#ifndef TENACE_TEST_NETNS_H
#define TENACE_TEST_NETNS_H

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <net/if.h>

/* Run one command line (ip, sysctl) quietly; abort the test on failure. */
static inline void tn_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		fprintf(stderr, "# command failed: %s\n", cmd);
		abort();
	}
}

/* Move into a new network namespace with lo up: 0, or -1 (logged). */
static inline int tn_netns_enter(void)
{
	if (unshare(CLONE_NEWNET)) {
		perror("# unshare(CLONE_NEWNET)");
		return -1;
	}
	tn_sh("ip link set lo up");
	return 0;
}

#endif /* TENACE_TEST_NETNS_H */
