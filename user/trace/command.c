/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `tenace trace`: claim a session, print its events, write the pcap, give the session back. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "lib/log.h"
#include "trace/trace.h"

struct run {
	const struct tn_trace_opts *o;
	struct tn_trace_pcap *pcap;
	double wall_minus_mono;  /* seconds to add to bpf_ktime_get_ns() for the wall clock */
	uint64_t seen;
	int err;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double clock_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct run *r = ctx;
	const struct tn_trace_event *ev = data;
	double wall;
	char line[512];

	if (size < sizeof(*ev) || (r->o->count && r->seen >= r->o->count))
		return 0;
	r->seen++;
	wall = ev->time_ns / 1e9 + r->wall_minus_mono;
	if (r->o->json) {
		json_object *j = tn_trace_event_json(ev, wall);

		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
	} else {
		tn_trace_format(ev, wall, line, sizeof(line));
		printf("%s\n", line);
	}
	if (r->pcap)
		tn_trace_pcap_write(r->pcap, ev, wall);
	if (r->o->count && r->seen >= r->o->count)
		stop = 1;
	return 0;
}

static int poll_events(struct tn_trace *t, struct run *r)
{
	struct ring_buffer *rb = ring_buffer__new(t->ring_fd, on_event, r, NULL);
	int n = 0;

	if (!rb) {
		tn_err("trace: cannot read the ring buffer: %s", strerror(errno));
		return -errno;
	}
	while (!stop && n >= 0)
		n = ring_buffer__poll(rb, 200);
	if (n < 0 && n != -EINTR) {
		tn_err("trace: reading the ring buffer failed: %s", strerror(-n));
		ring_buffer__free(rb);
		return n;
	}
	if (!r->o->count || r->seen < r->o->count)
		ring_buffer__consume(rb); /* what arrived before the signal */
	ring_buffer__free(rb);
	return 0;
}

/* What the program counted for this session, on stderr: events held back or lost are not silent. */
static void summary(const struct tn_trace *t, const struct run *r)
{
	const struct tn_trace_session *s = &t->ctl->s[t->slot];

	fprintf(stderr, "tenace trace: %llu events shown; the data plane wrote %llu, lost %llu (ring full), "
		"held back %llu (--rate/--count)\n", (unsigned long long)r->seen,
		(unsigned long long)__atomic_load_n(&s->emitted, __ATOMIC_RELAXED),
		(unsigned long long)__atomic_load_n(&s->lost, __ATOMIC_RELAXED),
		(unsigned long long)__atomic_load_n(&s->limited, __ATOMIC_RELAXED));
}

int tn_trace_main(int argc, char **argv, bool json)
{
	struct tn_trace_opts o = { .json = json };
	struct run r = { .o = &o };
	struct sigaction sa = { .sa_handler = on_signal };
	struct tn_trace t;
	int err;

	if ((err = tn_trace_parse_args(argc, argv, &o)))
		return err > 0 ? 0 : 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.pcap && tn_trace_pcap_open(&r.pcap, o.pcap))
		return 1;
	if (tn_trace_open(&t, o.pin_dir)) {
		tn_trace_pcap_close(r.pcap);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	r.wall_minus_mono = clock_s(CLOCK_REALTIME) - clock_s(CLOCK_MONOTONIC);
	err = tn_trace_claim(&t, &o.filter, o.count, getpid());
	if (!err) {
		fprintf(stderr, "tenace trace: tracing as session %d of %d (Ctrl-C ends)\n", t.slot, TN_TRACE_SLOTS);
		err = poll_events(&t, &r);
	}
	if (t.slot >= 0)
		summary(&t, &r);
	tn_trace_close(&t);
	tn_trace_pcap_close(r.pcap);
	return err ? 1 : 0;
}
