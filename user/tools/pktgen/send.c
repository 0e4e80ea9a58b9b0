/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The sending threads of `tenace pktgen`: each pinned to a CPU, calling
 * BPF_PROG_RUN with live frames itself; a -n budget and a -r rate shared
 * between them; a progress line once a second from the calling thread.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tools/pktgen/internal.h"
#include "lib/log.h"

/*
 * Frames per BPF_PROG_RUN call. A call with repeat > 1 swaps the program in
 * and out of the kernel's XDP dispatcher, two synchronize_rcu() that cost
 * 10-30 ms here: calls of 1 << 16 frames spent half their time in them
 * (1.6 Mpps on veth, against 4.7 Mpps with calls of millions). So start at
 * 1 << 16 and then size the calls to last about PG_CALL_NS at the measured
 * speed; a rate-limited thread sends what its schedule owes every
 * 1/PG_RATE_CALLS s, catching up when a call took longer.
 */
#define PG_BATCH_FIRST (1u << 16)
#define PG_BATCH_MAX   (1u << 24)
#define PG_CALL_NS     (NS_PER_SEC / 2)
#define PG_RATE_CALLS  20 /* calls per second when rate-limited */

struct pg_run {
	pthread_mutex_t lock;  /* guards done and wakes the progress loop */
	pthread_cond_t cond;
	int done;              /* threads finished */
	const struct pg_send *send;
	bool counted;          /* -n given: threads claim from `remaining` */
	__u64 remaining;
	__u64 deadline_ns;     /* -d given: CLOCK_MONOTONIC end, else 0 */
};

struct pg_worker {
	pthread_t thread;
	struct pg_run *run;
	int cpu;
	bool limited;          /* -r given */
	__u64 rate;            /* this thread's share of -r */
	int err;               /* -errno of a failed BPF_PROG_RUN */
	__u64 end_ns;          /* when it sent its last frame */
	/* the worker's own pace */
	__u64 t0, sent, batch;
	double ns_per_frame;
};

static volatile sig_atomic_t pg_stop;

static void pg_on_signal(int sig) { (void)sig; pg_stop = 1; }

static bool stopping(void) { return __atomic_load_n(&pg_stop, __ATOMIC_RELAXED); }

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NS_PER_SEC + (__u64)ts.tv_nsec;
}

static void sleep_until(__u64 t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / NS_PER_SEC), .tv_nsec = (long)(t % NS_PER_SEC) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stopping())
		;
}

/* Claim up to `want` frames of a -n budget shared by the threads. */
static __u64 claim(struct pg_run *r, __u64 want)
{
	__u64 cur = __atomic_load_n(&r->remaining, __ATOMIC_RELAXED), take;

	do {
		if (cur == 0)
			return 0;
		take = cur < want ? cur : want;
	} while (!__atomic_compare_exchange_n(&r->remaining, &cur, cur - take, false,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return take;
}

static __u64 clamp_u64(__u64 v, __u64 lo, __u64 hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Frames for the next call: the batch, what the rate schedule owes, what
 * the deadline leaves, what the -n budget has. 0: stop. */
static __u64 next_take(struct pg_worker *w)
{
	struct pg_run *r = w->run;
	__u64 take = w->batch, t;

	if (w->limited) {
		/* what the schedule owes by the end of the next interval */
		__u64 until = now_ns() + NS_PER_SEC / PG_RATE_CALLS, due;

		if (r->deadline_ns && until > r->deadline_ns)
			until = r->deadline_ns;
		due = until > w->t0 ? (__u64)((double)(until - w->t0) * (double)w->rate / NS_PER_SEC) : 0;
		take = clamp_u64(due > w->sent ? due - w->sent : 1, 1, PG_BATCH_MAX);
	}
	if (r->deadline_ns) {
		t = now_ns();
		if (t >= r->deadline_ns)
			return 0;
		if (w->ns_per_frame > 0)
			take = clamp_u64((__u64)((double)(r->deadline_ns - t) / w->ns_per_frame), 1, take);
	}
	if (r->counted)
		take = claim(r, take);
	return take;
}

/* After a call of `take` frames started at t: keep the rate, or size the next batch. */
static void pace(struct pg_worker *w, __u64 take, __u64 t)
{
	w->sent += take;
	if (w->limited) {
		sleep_until(w->t0 + (__u64)((double)w->sent * NS_PER_SEC / (double)w->rate));
		return;
	}
	w->ns_per_frame = (double)(now_ns() - t) / (double)take;
	if (w->ns_per_frame > 0)
		w->batch = clamp_u64((__u64)(PG_CALL_NS / w->ns_per_frame), PG_BATCH_FIRST, PG_BATCH_MAX);
}

static void *pg_worker_main(void *arg)
{
	struct pg_worker *w = arg;
	struct pg_run *r = w->run;
	const struct pg_send *s = r->send;
	struct xdp_md ctx = { .data = 0, .data_end = s->size, .ingress_ifindex = (__u32)s->ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = s->frame,
		.data_size_in = s->size,
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
	);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	w->batch = PG_BATCH_FIRST;
	w->t0 = now_ns();
	while (!stopping() && !(w->limited && w->rate == 0)) {
		__u64 take = next_take(w), t;
		int err;

		if (!take)
			break;
		opts.repeat = (int)take;
		t = now_ns();
		err = bpf_prog_test_run_opts(s->prog_fd, &opts);
		if (err) {
			if (err == -EINTR && stopping())
				break;
			w->err = err;
			pg_stop = 1;
			break;
		}
		pace(w, take, t);
	}
	w->end_ns = now_ns();
	pthread_mutex_lock(&r->lock);
	r->done++;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* The CPUs this process may run on (at least CPU 0). */
static int allowed_cpus(int *cpus)
{
	cpu_set_t allowed;
	int n = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &allowed))
				cpus[n++] = c;
	}
	if (!n)
		cpus[n++] = 0;
	return n;
}

static void run_init(struct pg_run *run, const struct pg_send *s)
{
	pthread_condattr_t cattr;

	memset(run, 0, sizeof(*run));
	run->send = s;
	run->counted = s->args->count > 0;
	run->remaining = s->args->count;
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&run->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	pthread_mutex_init(&run->lock, NULL);
}

static void start_workers(struct pg_run *run, struct pg_send *s)
{
	const struct pg_args *a = s->args;
	int cpus[CPU_SETSIZE], ncpus = allowed_cpus(cpus), err;

	if (s->nthreads > ncpus)
		tn_warn("%d threads on %d CPUs: some CPUs get two", s->nthreads, ncpus);
	s->t_start = now_ns();
	if (a->duration > 0)
		run->deadline_ns = s->t_start + (__u64)(a->duration * NS_PER_SEC);
	for (int i = 0; i < s->nthreads; i++) {
		struct pg_worker *w = &s->workers[i];

		w->run = run;
		w->cpu = cpus[i % ncpus];
		w->limited = a->rate > 0;
		w->rate = a->rate / (__u64)s->nthreads + ((__u64)i < a->rate % (__u64)s->nthreads);
		err = pthread_create(&w->thread, NULL, pg_worker_main, w);
		if (err) {
			tn_err("cannot start thread %d: %s", i, strerror(err));
			pg_stop = 1;
			break;
		}
		s->started++;
	}
}

/* A progress line every second until every thread is done. Returns
 * whether a line was printed. */
static bool progress(struct pg_run *run, struct pg_send *s)
{
	__u64 last_t = s->t_start, next_print = s->t_start + NS_PER_SEC, last_pkts = 0;
	bool printed = false, forwarded = false;

	pthread_mutex_lock(&run->lock);
	while (run->done < s->started) {
		__u64 t = now_ns(), wake = t + NS_PER_SEC / 10;
		struct timespec ts;

		if (stopping() && !forwarded) {
			/* interrupt the threads' long BPF_PROG_RUN calls (-EINTR) */
			for (int i = 0; i < s->started; i++)
				pthread_kill(s->workers[i].thread, SIGINT);
			forwarded = true;
		}
		if (!s->args->quiet && t >= next_print) {
			__u64 p = __atomic_load_n(s->next_seq, __ATOMIC_RELAXED);

			fprintf(stderr, "\r%llu packets sent, %.3f Mpps   ", (unsigned long long)p,
				(double)(p - last_pkts) * 1e3 / (double)(t - last_t));
			fflush(stderr);
			printed = true;
			last_pkts = p;
			last_t = t;
			next_print += NS_PER_SEC;
		}
		if (wake > next_print)
			wake = next_print;
		ts.tv_sec = (time_t)(wake / NS_PER_SEC);
		ts.tv_nsec = (long)(wake % NS_PER_SEC);
		pthread_cond_timedwait(&run->cond, &run->lock, &ts);
	}
	pthread_mutex_unlock(&run->lock);
	return printed;
}

/* Join the threads; 0, or 1 when one failed or did not start (said). */
static int join_workers(struct pg_send *s)
{
	int err = s->started == s->nthreads ? 0 : 1;

	s->t_end = s->t_start;
	for (int i = 0; i < s->started; i++) {
		pthread_join(s->workers[i].thread, NULL);
		if (s->workers[i].end_ns > s->t_end)
			s->t_end = s->workers[i].end_ns;
	}
	for (int i = 0; i < s->started; i++) {
		if (s->workers[i].err) {
			tn_err("BPF_PROG_RUN with live frames on '%s' (thread %d, CPU %d) failed: %s",
			       s->args->iface, i, s->workers[i].cpu, strerror(-s->workers[i].err));
			return 1;
		}
	}
	return err;
}

int tn_pg_send(struct pg_send *s)
{
	struct sigaction sa = {}, old_int, old_term;
	struct pg_run run;
	int err;

	s->nthreads = (int)s->args->threads;
	s->started = 0;
	s->workers = calloc((size_t)s->nthreads, sizeof(*s->workers));
	if (!s->workers) {
		tn_err("out of memory");
		return -ENOMEM;
	}
	run_init(&run, s);
	pg_stop = 0;
	sa.sa_handler = pg_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	start_workers(&run, s);
	if (progress(&run, s))
		fputc('\n', stderr);
	err = join_workers(s);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	pthread_cond_destroy(&run.cond);
	pthread_mutex_destroy(&run.lock);
	free(s->workers);
	s->workers = NULL;
	return err;
}
