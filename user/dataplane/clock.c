/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The packet path's clock. Conntrack timestamps are CLOCK_MONOTONIC_COARSE
 * nanoseconds (what user space compares them with), but reading that clock
 * in BPF is a helper call on every packet, while bpf_jiffies64() is inlined
 * by the verifier into one load. The coarse clock and jiffies both move at
 * the scheduler tick, one jiffy (the coarse clock's resolution, which is
 * TICK_NSEC) at a time, so
 *
 *     coarse ns = jiffies * ns_per_jiffy + offset
 *
 * with the offset read once here, both clocks sampled by one run of
 * bpf/clock_probe.bpf.c. Any doubt (the probe cannot run, an odd resolution,
 * a jiffy that is not a whole number of ns) leaves ns_per_jiffy 0: the
 * program then calls bpf_ktime_get_coarse_ns() as before.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "clock_probe.skel.h"
#include "dataplane/internal.h"
#include "lib/log.h"

/* HZ of 100 to 1000: a jiffy of 1 to 10 ms, a whole number of ns. */
static int jiffy_ns(uint64_t *out)
{
	struct timespec res;

	if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) || res.tv_sec != 0 ||
	    res.tv_nsec < 1000000 || res.tv_nsec > 10000000 || 1000000000L % res.tv_nsec)
		return -ERANGE;
	*out = (uint64_t)res.tv_nsec;
	return 0;
}

int tn_dp_clock_probe(struct tn_dp_clock *c)
{
	uint8_t frame[64] = { 0 }, out[64];
	/* data_out given: valgrind checks the buffer the kernel may write */
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	struct clock_probe *skel;
	uint64_t per;
	int err;

	memset(c, 0, sizeof(*c));
	if ((err = jiffy_ns(&per))) {
		tn_warn("the coarse clock's resolution is not a jiffy of 1 to 10 ms: conntrack time is read "
			"with bpf_ktime_get_coarse_ns()");
		return err;
	}
	skel = clock_probe__open_and_load();
	if (!skel) {
		err = -errno;
		tn_warn("cannot load the clock probe (%s): conntrack time is read with bpf_ktime_get_coarse_ns()",
			strerror(-err));
		return err;
	}
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.clock_probe), &o);
	if (!err && skel->bss->probe_coarse_ns) {
		c->ns_per_jiffy = per;
		c->offset_ns = skel->bss->probe_coarse_ns - skel->bss->probe_jiffies * per;
	} else if (!err) {
		err = -EPROTO;
	}
	clock_probe__destroy(skel);
	if (err)
		tn_warn("the clock probe did not run (%s): conntrack time is read with bpf_ktime_get_coarse_ns()",
			strerror(-err));
	return err;
}
