/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Section decap: what the servers' TC program (bpf/decap.bpf.c) costs per
 * packet, through BPF_PROG_TEST_RUN with repeat. bpf/bench_decap.bpf.c's
 * feeder gives every repetition its tunnel back and tail-calls the program
 * under test; the same feeder tail-calling bench_pass (returns at once)
 * measures the feeder itself, and bench_strip (the same bpf_skb_adjust_room
 * without looking at the packet) the floor any decapsulation pays. Reported:
 * ns per packet above the feeder, for Tenace and for the bare strip, and
 * their ratio. IPv4 in IPv4 and GUE v0 over IPv4, a client's TCP ACK inside.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_decap.skel.h"
#include "tools/bench/common.h"
#include "decap/decap.h"
#include "lib/log.h"

#define DECAP_VIP "192.0.2.10"
#define DECAP_REPEAT 200000

struct decap_frame {
	uint8_t b[128];
	uint32_t len, overhead;
};

static void ipv4_header(uint8_t *p, uint16_t total, uint8_t proto, const char *src, const char *dst)
{
	uint16_t c;

	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = total >> 8;
	p[3] = total & 0xff;
	p[6] = 0x40; /* DF */
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	c = bench_ip_csum(p, 20);
	p[10] = c >> 8;
	p[11] = c & 0xff;
}

/* Ethernet, the outer header(s) of kind ("ipip" / "gue0"), then IPv4 + TCP ACK to the VIP. */
static void decap_frame_build(struct decap_frame *f, const char *kind)
{
	bool gue = !strcmp(kind, "gue0");
	uint32_t outer = 20 + (gue ? 8 + TN_GUE_HLEN : 0), inner = 20 + 20 + 32;
	uint8_t *p = f->b, *in;

	memset(f, 0, sizeof(*f));
	f->overhead = outer;
	f->len = 14 + outer + inner;
	memcpy(p, (uint8_t[]){ 2, 0, 0, 0, 0, 0x11, 2, 0, 0, 0, 0, 0x02, 0x08, 0x00 }, 14);
	ipv4_header(p + 14, (uint16_t)(outer + inner), gue ? IPPROTO_UDP : IPPROTO_IPIP, "10.0.0.2", "10.1.0.11");
	if (gue) {
		uint8_t *u = p + 34;

		u[0] = 0xc3, u[1] = 0x50;                          /* source port 50000 */
		u[2] = TN_GUE_PORT_DEFAULT >> 8, u[3] = TN_GUE_PORT_DEFAULT & 0xff;
		u[4] = (8 + TN_GUE_HLEN + inner) >> 8, u[5] = (8 + TN_GUE_HLEN + inner) & 0xff;
		u[8 + 1] = IPPROTO_IPIP;                             /* GUE v0: proto/ctype */
	}
	in = p + 14 + outer;
	ipv4_header(in, (uint16_t)inner, IPPROTO_TCP, "198.51.100.7", DECAP_VIP);
	in[20] = 0x9c, in[21] = 0x40;                              /* 40000 -> 80 */
	in[23] = 80;
	in[32] = 5 << 4;                                           /* data offset */
	in[33] = 0x10;                                             /* ACK */
}

struct decap_bed {
	struct tn_decap *d;
	struct bench_decap *feed;
};

static int decap_feeder_set(struct decap_bed *bed, const struct decap_frame *f, int target_fd)
{
	uint32_t zero = 0, tl = (14 + f->overhead + 7) & ~7u;

	memset(bed->feed->bss->tmpl, 0, sizeof(bed->feed->bss->tmpl));
	memcpy(bed->feed->bss->tmpl, f->b, tl);
	bed->feed->bss->tmpl_len = tl;
	bed->feed->bss->overhead = f->overhead;
	bed->feed->bss->frame_len = f->len;
	return bpf_map_update_elem(bpf_map__fd(bed->feed->maps.target), &zero, &target_fd, BPF_ANY) ? -errno : 0;
}

/* ns per packet of the feeder tail-calling target_fd (median of the bench's repetitions). */
static int run_ns(struct bench *b, struct decap_bed *bed, const struct decap_frame *f, int target_fd, double *ns,
		  uint32_t *verdict, uint32_t *out_len)
{
	double v[16];
	int reps = b->reps < 16 ? b->reps : 16, err;

	if ((err = decap_feeder_set(bed, f, target_fd)))
		return err;
	for (int r = 0; r < reps; r++) {
		uint8_t out[256];
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = DECAP_REPEAT);

		if ((err = bpf_prog_test_run_opts(bpf_program__fd(bed->feed->progs.bench_decap_feeder), &opts)))
			return err;
		v[r] = opts.duration;
		*verdict = opts.retval;
		*out_len = opts.data_size_out;
	}
	*ns = median(v, reps);
	return 0;
}

static int bed_open(struct decap_bed *bed)
{
	struct tn_decap_config cfg = { .version = TN_DECAP_VERSION, .gue_port = TN_GUE_PORT_DEFAULT };
	struct tn_addr vip;
	int err;

	memset(bed, 0, sizeof(*bed));
	tn_addr_parse(DECAP_VIP, &vip);
	if ((err = tn_decap_open(&bed->d, "")) || (err = tn_decap_configure(bed->d, &cfg, &vip, 1)))
		return err;
	bed->feed = bench_decap__open_and_load();
	return bed->feed ? 0 : -errno;
}

int decap_section(struct bench *b)
{
	static const char *const kinds[] = { "ipip", "gue0" };
	json_object *sec = json_object_new_object(), *rows = json_object_new_array();
	struct decap_bed bed;
	int err;

	printf("\n== decap: the servers' TC program per packet (BPF_PROG_TEST_RUN, above the feeder) ==\n");
	if ((err = bed_open(&bed)))
		goto out;
	printf("%-6s %12s %12s %12s %8s\n", "kind", "feeder ns", "tenace ns", "strip ns", "ratio");
	for (size_t k = 0; k < 2 && !err; k++) {
		struct decap_frame f;
		double pass, tenace, strip;
		uint32_t vp, vt, vs, lp, lt, ls;
		json_object *row;

		decap_frame_build(&f, kinds[k]);
		if ((err = run_ns(b, &bed, &f, bpf_program__fd(bed.feed->progs.bench_pass), &pass, &vp, &lp)) ||
		    (err = run_ns(b, &bed, &f, tn_decap_prog_fd(bed.d, false), &tenace, &vt, &lt)) ||
		    (err = run_ns(b, &bed, &f, bpf_program__fd(bed.feed->progs.bench_strip), &strip, &vs, &ls)))
			break;
		/* each really decapsulated: the tunnel's bytes gone, the client's packet left */
		if (vt != TC_ACT_OK || vs != TC_ACT_OK || vp != TC_ACT_OK || lt != f.len - f.overhead ||
		    ls != f.len - f.overhead || lp != f.len) {
			tn_err("bench: decap %s: verdicts %u/%u/%u and lengths %u/%u/%u (tenace/strip/pass): expected "
			       "TC_ACT_OK and %u/%u/%u", kinds[k], vt, vs, vp, lt, ls, lp, f.len - f.overhead,
			       f.len - f.overhead, f.len);
			err = -EPROTO;
			break;
		}
		printf("%-6s %12.1f %12.1f %12.1f %7.2fx\n", kinds[k], pass, tenace - pass, strip - pass,
		       (tenace - pass) / (strip - pass > 0.1 ? strip - pass : 0.1));
		row = json_object_new_object();
		JSET(row, "kind", JS(kinds[k]));
		JSET(row, "feeder_ns", JD(pass));
		JSET(row, "tenace_ns", JD(tenace - pass));
		JSET(row, "bare_strip_ns", JD(strip - pass));
		JSET(row, "tenace_over_strip", JD((tenace - pass) / (strip - pass > 0.1 ? strip - pass : 0.1)));
		json_object_array_add(rows, row);
	}
out:
	if (bed.feed)
		bench_decap__destroy(bed.feed);
	tn_decap_close(bed.d);
	JSET(sec, "method", JS("BPF_PROG_TEST_RUN of bench_decap_feeder, repeat 200000, median of the repetitions; "
			       "the feeder rebuilds each repetition's tunnel and tail-calls tenace_decap_ingress, "
			       "bench_strip (bpf_skb_adjust_room alone) or bench_pass; ns above bench_pass."));
	JSET(sec, "rows", rows);
	JSET(b->root, "decap", sec);
	if (err) {
		tn_err("bench: the decap section failed: %s", strerror(-err));
		b->failures++;
	}
	return err;
}
