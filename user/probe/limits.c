/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Descriptors for the checks: the default soft limit (1024) is far below
 * what 10,000 servers need. Raised up to the hard limit, like keepalived's
 * set_max_file_limit; whatever is still short shows as local errors.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include "lib/log.h"
#include "probe/probe.h"

/* the daemon's own descriptors: API connections, maps, netlink, logs */
#define FD_MARGIN 256

unsigned long tn_probe_reserve_fds(size_t targets)
{
	/* a check in flight holds one socket; two per target leaves room for
	 * a smtp QUIT lingering while the next check already started */
	rlim_t want = (rlim_t)targets * 2 + FD_MARGIN;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		tn_warn("probe: getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return 0;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || want < rl.rlim_max ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			tn_warn("probe: cannot raise the descriptor limit from %llu to %llu: %s",
				(unsigned long long)old, (unsigned long long)rl.rlim_cur, strerror(errno));
			rl.rlim_cur = old;
		} else {
			tn_info("probe: descriptor limit raised from %llu to %llu for %zu probed servers",
				(unsigned long long)old, (unsigned long long)rl.rlim_cur, targets);
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		tn_warn("probe: %zu probed servers need about %llu descriptors, the limit is %llu (hard limit "
			"%llu): checks that find none are skipped as local errors; raise LimitNOFILE=",
			targets, (unsigned long long)want, (unsigned long long)rl.rlim_cur,
			(unsigned long long)rl.rlim_max);
	return rl.rlim_cur == RLIM_INFINITY ? (unsigned long)-1 : (unsigned long)rl.rlim_cur;
}
