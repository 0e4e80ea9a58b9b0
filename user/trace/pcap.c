/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The traced packets, as received and as sent, in a pcap file (libpcap's
 * headers clash with linux/bpf.h: this file includes no libbpf). */
#include <errno.h>
#include <stdlib.h>
#include <pcap/pcap.h>
#include "lib/log.h"
#include "trace/trace.h"

struct tn_trace_pcap {
	pcap_t *pcap;
	pcap_dumper_t *dump;
};

void tn_trace_pcap_close(struct tn_trace_pcap *w)
{
	if (!w)
		return;
	if (w->dump)
		pcap_dump_close(w->dump);
	if (w->pcap)
		pcap_close(w->pcap);
	free(w);
}

int tn_trace_pcap_open(struct tn_trace_pcap **out, const char *file)
{
	struct tn_trace_pcap *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w || !(w->pcap = pcap_open_dead(DLT_EN10MB, 65535))) {
		tn_err("trace: cannot set up a pcap writer");
		tn_trace_pcap_close(w);
		return -ENOMEM;
	}
	w->dump = pcap_dump_open(w->pcap, file);
	if (!w->dump) {
		tn_err("trace: cannot write %s: %s", file, pcap_geterr(w->pcap));
		tn_trace_pcap_close(w);
		return -EIO;
	}
	*out = w;
	return 0;
}

static void one(struct tn_trace_pcap *w, double wall, const uint8_t *pkt, uint32_t cap, uint32_t len)
{
	struct pcap_pkthdr h = { .caplen = cap, .len = len };

	h.ts.tv_sec = (time_t)wall;
	h.ts.tv_usec = (suseconds_t)((wall - (double)h.ts.tv_sec) * 1e6);
	pcap_dump((u_char *)w->dump, &h, pkt);
}

void tn_trace_pcap_write(struct tn_trace_pcap *w, const struct tn_trace_event *ev, double wall)
{
	if (ev->in_cap)
		one(w, wall, ev->pkt_in, ev->in_cap, ev->in_len);
	if (ev->out_cap)
		one(w, wall, ev->pkt_out, ev->out_cap, ev->out_len);
	pcap_dump_flush(w->dump);
}
