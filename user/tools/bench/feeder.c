/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The feeder's side in user space (bpf/bench_feeder.bpf.c): the frames of
 * the ns and encap sections, the client set, the program it tail-calls, and
 * one BPF_PROG_TEST_RUN through it.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_feeder.skel.h"
#include "tools/bench/common.h"
#include "lib/log.h"

/* A UDP frame to dst:80 from the client base (IPv4 a.b.c.d, IPv6 fd00:1::/96 + base). */
void build_frame(struct frame *f, int family, bool vlan, const char *dst, uint32_t base)
{
	uint8_t *p = f->b;
	uint32_t l3, l4;

	memset(f, 0, sizeof(*f));
	memcpy(p, LB_MAC, 6);
	memcpy(p + 6, GEN_MAC, 6);
	l3 = 14;
	if (vlan) {
		p[12] = 0x81, p[13] = 0x00;
		p[14] = 0x00, p[15] = 100;   /* VLAN 100 */
		l3 = 18;
	}
	p[l3 - 2] = family == 4 ? 0x08 : 0x86;
	p[l3 - 1] = family == 4 ? 0x00 : 0xdd;
	if (family == 4) {
		uint32_t a = htonl(base);

		f->len = vlan ? 68 : 64;
		l4 = l3 + 20;
		p[l3] = 0x45;
		p[l3 + 2] = (f->len - l3) >> 8, p[l3 + 3] = (f->len - l3) & 0xff;
		p[l3 + 6] = 0x40;            /* DF */
		p[l3 + 8] = 64;
		p[l3 + 9] = IPPROTO_UDP;
		memcpy(p + l3 + 12, &a, 4);
		inet_pton(AF_INET, dst, p + l3 + 16);
		f->src_off = l3 + 12;
		{
			uint16_t c = bench_ip_csum(p + l3, 20);

			p[l3 + 10] = c >> 8, p[l3 + 11] = c & 0xff;
		}
	} else {
		uint32_t a = htonl(base);

		f->len = vlan ? 82 : 78;
		l4 = l3 + 40;
		p[l3] = 0x60;
		p[l3 + 4] = 0, p[l3 + 5] = f->len - l4;
		p[l3 + 6] = IPPROTO_UDP;
		p[l3 + 7] = 64;
		inet_pton(AF_INET6, "fd00:1::", p + l3 + 8);
		memcpy(p + l3 + 20, &a, 4);
		inet_pton(AF_INET6, dst, p + l3 + 24);
		f->src_off = l3 + 20;
	}
	p[l4] = 40000 >> 8, p[l4 + 1] = 40000 & 0xff;  /* source port */
	p[l4 + 2] = 0, p[l4 + 3] = 80;                 /* destination port */
	p[l4 + 4] = (f->len - l4) >> 8, p[l4 + 5] = (f->len - l4) & 0xff;
	f->hdr_len = (l4 + 8 + 7) & ~7u;
}

/* A TCP segment (IPv4, 20-byte header, no payload; 64 bytes with the
 * Ethernet padding) from port 40000 of client `base` to dst:80. */
void build_tcp_frame(struct frame *f, const char *dst, uint32_t base, uint8_t flags)
{
	uint8_t *p = f->b;
	uint32_t a = htonl(base), l4 = 34;
	uint16_t c;

	memset(f, 0, sizeof(*f));
	memcpy(p, LB_MAC, 6);
	memcpy(p + 6, GEN_MAC, 6);
	p[12] = 0x08, p[13] = 0x00;
	f->len = 64;
	p[14] = 0x45;
	p[16] = 0, p[17] = 40;       /* total length: IP + TCP, the rest is padding */
	p[20] = 0x40;                /* DF */
	p[22] = 64;
	p[23] = IPPROTO_TCP;
	memcpy(p + 26, &a, 4);
	inet_pton(AF_INET, dst, p + 30);
	c = bench_ip_csum(p + 14, 20);
	p[24] = c >> 8, p[25] = c & 0xff;
	f->src_off = 26;
	p[l4] = 40000 >> 8, p[l4 + 1] = 40000 & 0xff;
	p[l4 + 2] = 0, p[l4 + 3] = 80;
	p[l4 + 4] = 0x12, p[l4 + 7] = 0x34;             /* sequence number */
	if (flags & TCP_FLAG_ACK_)
		p[l4 + 8] = 0x56, p[l4 + 11] = 0x78;    /* acknowledgment number */
	p[l4 + 12] = 5 << 4;                            /* data offset */
	p[l4 + 13] = flags;
	p[l4 + 14] = 0xfa, p[l4 + 15] = 0xf0;           /* window */
	f->hdr_len = (l4 + 20 + 7) & ~7u;
}

uint32_t feeder_random_src(uint64_t seq)
{
	seq ^= seq >> 33;
	seq *= 0xff51afd7ed558ccdull;
	seq ^= seq >> 33;
	seq *= 0xc4ceb9fe1a85ec53ull;
	seq ^= seq >> 33;
	return 0x40000000u | ((uint32_t)seq & 0x3fffffffu);
}

/* What the feeder puts in front of the program for client number `client`. */
void frame_for_client(const struct frame *f, uint32_t base, uint32_t client, uint8_t *out)
{
	uint32_t a = htonl(base + client);

	memcpy(out, f->b, f->len);
	memcpy(out + f->src_off, &a, 4);
}

/* Point the feeder at a frame and a client set; the counter is left alone. */
void feeder_set(struct bench *b, const struct frame *f, uint32_t base, uint32_t nclients, bool fresh)
{
	memset(b->feed->bss->tmpl, 0, sizeof(b->feed->bss->tmpl));
	memcpy(b->feed->bss->tmpl, f->b, f->hdr_len);
	b->feed->bss->tmpl_len = f->hdr_len;
	b->feed->data->src_off = f->src_off;
	b->feed->bss->base_addr = base;
	b->feed->data->nclients = nclients;
	b->feed->bss->fresh_clients = fresh;
	b->feed->bss->random_src = 0;
}

/* The program the feeder tail-calls; -1: none (the feeder alone). */
int feeder_target(struct bench *b, int prog_fd)
{
	__u32 zero = 0;
	int fd = bpf_map__fd(b->feed->maps.target);

	b->feed->bss->feeder_only = prog_fd < 0;
	if (prog_fd < 0)
		return 0;
	if (bpf_map_update_elem(fd, &zero, &prog_fd, BPF_ANY)) {
		tn_err("bench: cannot put the program under test into the feeder's prog array: %s",
		       strerror(errno));
		return -errno;
	}
	return 0;
}


int feeder_run(struct bench *b, const struct frame *f, uint32_t repeat, struct run_out *o)
{
	struct xdp_md ctx = { .data_end = f->len, .ingress_ifindex = (__u32)b->ingress_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = f->b,
		.data_size_in = f->len,
		.data_out = o->data,
		.data_size_out = sizeof(o->data),
		.ctx_in = b->ingress_ifindex ? &ctx : NULL,
		.ctx_size_in = b->ingress_ifindex ? sizeof(ctx) : 0,
		.repeat = repeat,
	);
	int err;

	b->feed->bss->frame_len = b->restore_len ? f->len : 0;
	err = bpf_prog_test_run_opts(bpf_program__fd(b->feed->progs.bench_feeder), &opts);

	if (err) {
		tn_err("bench: BPF_PROG_TEST_RUN of the feeder failed: %s", strerror(errno));
		return -errno;
	}
	o->retval = opts.retval;
	o->duration = opts.duration;
	o->len = opts.data_size_out;
	return 0;
}

int feeder_run_checks(struct bench *b, const struct frame *f, uint64_t seq, struct run_out o[3])
{
	int err;

	b->feed->bss->counter = seq;
	if ((err = feeder_run(b, f, 1, &o[0])))
		return err;
	b->feed->bss->counter = seq;
	if ((err = feeder_run(b, f, 1, &o[1])))
		return err;
	b->feed->bss->counter = seq - 1;
	return feeder_run(b, f, 2, &o[2]);
}
