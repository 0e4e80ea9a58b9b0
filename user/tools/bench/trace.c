/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Section trace: ns/packet of the program with no trace, with a session whose
 * filter the packet does not match, with one that takes every packet (each an
 * event, the ring drained between batches), and one limited to 1 event/s;
 * ratios against the run without a trace, measured in the same runs.
 * BPF_PROG_TEST_RUN of the program itself on one tracked client: a DSR
 * rewrite gives repetition 2 the bytes of repetition 1.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tools/bench/common.h"
#include "trace/trace.h"
#include "lib/log.h"

#define TR_BATCH 2048  /* events per run of the taking case: well inside one ring */
#define TR_CLIENT 0x0a070001u

enum { TR_OFF, TR_MISS, TR_TAKE, TR_RATE, TR_NCASES };
static const struct { const char *name, *label; } tr_cases[TR_NCASES] = {
	{ "off", "no trace" },
	{ "on_not_matching", "trace on, filter not matching" },
	{ "on_matching", "trace on, every packet an event" },
	{ "on_matching_rate_1", "trace on, matching, --rate 1/s" },
};

static void tr_frame(uint8_t *p, uint32_t *len)
{
	uint32_t src = htonl(TR_CLIENT);

	memset(p, 0, 64);
	memcpy(p, LB_MAC, 6);
	memcpy(p + 6, GEN_MAC, 6);
	p[12] = 0x08;
	p[14] = 0x45;
	p[17] = 50;               /* total length: 20 + 8 + 22 */
	p[20] = 0x40;             /* DF */
	p[22] = 64;
	p[23] = IPPROTO_UDP;
	memcpy(p + 26, &src, 4);
	inet_pton(AF_INET, VIP4, p + 30);
	{
		uint16_t c = bench_ip_csum(p + 14, 20);

		p[24] = c >> 8, p[25] = c & 0xff;
	}
	p[34] = 40000 >> 8, p[35] = 40000 & 0xff;
	p[37] = 80;
	p[39] = 30;               /* UDP length */
	*len = 64;
}

static int count_event(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	(*(uint64_t *)ctx)++;
	return 0;
}

/* repeat repetitions in runs of at most batch, draining rb between: the mean ns per repetition. */
static double tr_run(int prog_fd, const uint8_t *frame, uint32_t len, uint32_t repeat, uint32_t batch,
		     struct ring_buffer *rb, uint32_t *retval)
{
	uint8_t out[128];
	double total = 0;
	uint32_t done = 0;

	while (done < repeat) {
		uint32_t n = repeat - done < batch ? repeat - done : batch;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = n);

		if (bpf_prog_test_run_opts(prog_fd, &o))
			return NAN;
		*retval = o.retval;
		total += (double)o.duration * n;
		done += n;
		if (rb)
			ring_buffer__consume(rb);
	}
	return total / repeat;
}

static int tr_session(struct tn_trace *t, struct tn_dp *dp, int which)
{
	struct tn_trace_session f = { 0 };
	char cidr[32];
	uint32_t c = htonl(which == TR_MISS ? TR_CLIENT + 0x10000 : TR_CLIENT);
	int err, ctl = dup(tn_dp_map_fd(dp, "trace_ctl")), rings = dup(tn_dp_map_fd(dp, "trace_rings"));

	if (ctl < 0 || rings < 0) {
		tn_err("bench: the data plane has no trace maps");
		return -ENOENT;
	}
	if ((err = tn_trace_open_fds(t, ctl, rings)))
		return err;
	inet_ntop(AF_INET, &c, cidr, sizeof(cidr));
	strcat(cidr, "/32");
	if ((err = tn_trace_parse_client(cidr, &f)) || (which == TR_RATE && (err = tn_trace_parse_rate("1/s", &f))) ||
	    (err = tn_trace_claim(t, &f, 0, getpid())))
		tn_trace_close(t);
	return err;
}

/* One run of one case: ns per packet; checks the verdict and the events. */
static double tr_case(struct bench *b, struct tn_dp *dp, int which, const uint8_t *frame, uint32_t len)
{
	struct tn_trace t = { .slot = -1, .ctl_fd = -1, .rings_fd = -1, .ring_fd = -1 };
	struct ring_buffer *rb = NULL;
	uint64_t seen = 0, emitted = 0, lost = 0;
	uint32_t ret = 0;
	double ns;

	if (which != TR_OFF && tr_session(&t, dp, which))
		return NAN;
	if (which == TR_TAKE && !(rb = ring_buffer__new(t.ring_fd, count_event, &seen, NULL))) {
		tn_trace_close(&t);
		return NAN;
	}
	ns = tr_run(tn_dp_prog_fd(dp), frame, len, b->repeat, which == TR_TAKE ? TR_BATCH : b->repeat, rb, &ret);
	if (which != TR_OFF) {
		emitted = t.ctl->s[t.slot].emitted;
		lost = t.ctl->s[t.slot].lost;
	}
	ring_buffer__free(rb);
	tn_trace_close(&t);
	if (ret != XDP_TX_ || (which == TR_TAKE && (seen != b->repeat || emitted != b->repeat || lost)) ||
	    (which == TR_MISS && emitted) || (which == TR_RATE && (emitted < 1 || emitted > 3))) {
		tn_err("bench: trace, %s: verdict %u, %llu events read, %llu written, %llu lost (repeat %u): "
		       "not what the case means", tr_cases[which].label, ret, (unsigned long long)seen,
		       (unsigned long long)emitted, (unsigned long long)lost, b->repeat);
		return NAN;
	}
	return ns;
}

int trace_section(struct bench *b)
{
	json_object *sec = json_object_new_object(), *cases = json_object_new_array();
	double v[TR_NCASES][64], med[TR_NCASES];
	struct tn_dp *dp = NULL;
	uint8_t frame[64];
	uint32_t len, ret;
	int err;

	printf("\n== trace: ns/packet through BPF_PROG_TEST_RUN (one tracked client, median of %d runs of %u "
	       "repetitions), against no trace in the same runs ==\n", b->reps, b->repeat);
	tr_frame(frame, &len);
	if ((err = dp_setup(&dp, 65536, 1, LB_MAC)))
		goto out;
	tr_run(tn_dp_prog_fd(dp), frame, len, 16, 16, NULL, &ret); /* the client tracked */
	for (int r = 0; r < b->reps; r++)
		for (int c = 0; c < TR_NCASES; c++)
			if (isnan(v[c][r] = tr_case(b, dp, c, frame, len))) {
				err = -EPROTO;
				goto out;
			}
	printf("%-36s %9s %7s\n", "case", "ns/pkt", "ratio");
	for (int c = 0; c < TR_NCASES; c++) {
		json_object *jc = json_object_new_object();

		med[c] = median(v[c], b->reps);
		printf("%-36s %9.1f %6.2fx\n", tr_cases[c].label, med[c], med[c] / med[TR_OFF]);
		JSET(jc, "name", JS(tr_cases[c].name));
		JSET(jc, "label", JS(tr_cases[c].label));
		JSET(jc, "ns", JD(med[c]));
		JSET(jc, "ratio_to_off", JD(med[c] / med[TR_OFF]));
		JSET(jc, "runs_ns", jarr(v[c], b->reps));
		json_object_array_add(cases, jc);
	}
out:
	JSET(sec, "method", JS("BPF_PROG_TEST_RUN of the Tenace program on one tracked IPv4 UDP client (XDP_TX), "
			       "the four cases interleaved in each run; a trace session is claimed as `tenace trace` "
			       "does. on_matching: every packet an event with both copies of the packet, the ring "
			       "drained between runs of 2048 repetitions (only the kernel's time is counted); each "
			       "run checked to have written and read exactly one event per repetition, none lost. "
			       "ratio_to_off = ns / ns of the case without a trace."));
	JSET(sec, "repeat", JI(b->repeat));
	JSET(sec, "runs", JI(b->reps));
	JSET(sec, "cases", cases);
	JSET(b->root, "trace", sec);
	tn_dp_close(dp);
	if (err)
		b->failures++;
	return err;
}
