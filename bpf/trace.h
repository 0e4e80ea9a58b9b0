/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Decision events for `tenace trace`, included by tenace.bpf.c after struct
 * tn_run. Nothing here runs unless a session is active: the program reads
 * trace_ctl's mask once per packet. With a session, the packet's tuple is
 * matched right after parsing (VIP and client filters: the packet as received
 * is copied only when one matches) and again after the decision (server,
 * reason, rate and count); the event goes to the ring of every session that
 * matched, each created by its own `tenace trace` process.
 */
#ifndef TENACE_BPF_TRACE_H
#define TENACE_BPF_TRACE_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct tn_trace_ctl);
} trace_ctl SEC(".maps");

struct trace_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TN_TRACE_RING_SIZE);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, TN_TRACE_SLOTS);
	__uint(key_size, sizeof(__u32));
	__array(values, struct trace_ring);
} trace_rings SEC(".maps");

/* The event being built on this CPU (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tn_trace_event);
} trace_scratch SEC(".maps");

static __always_inline struct tn_trace_ctl *tn_trace_ctl(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&trace_ctl, &zero);
}

/* Whether any session is active: the one check every packet pays, inline
 * (an array lookup the verifier inlines, a load and a test; no call). */
static __always_inline int tn_trace_active(void)
{
	struct tn_trace_ctl *tc = tn_trace_ctl();

	return tc && *(volatile __u32 *)&tc->active;
}

static __always_inline int tn_trace_in_prefix(const __u8 *a, const __u8 *net, __u32 prefix)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < 16; i++) {
		__u32 bits = prefix > i * 8 ? prefix - i * 8 : 0;
		__u8 mask = bits >= 8 ? 0xff : (__u8)(0xff00 >> bits);

		if ((a[i] ^ net[i]) & mask)
			return 0;
	}
	return 1;
}

/* The frame's first TN_TRACE_SNAP bytes into to: how many; its length into *len.
 * Signed 64-bit arithmetic so that the verifier sees the bound the helper gets. */
static __always_inline __u16 tn_trace_copy(struct xdp_md *ctx, __u8 *to, __u32 *len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__s64 n = data_end - data;

	*len = (__u32)n;
	if (n > TN_TRACE_SNAP)
		n = TN_TRACE_SNAP;
	if (n <= 0)
		return 0;
	barrier_var(n);
	return bpf_xdp_load_bytes(ctx, 0, to, n) ? 0 : (__u16)n;
}

static __always_inline int tn_trace_addr_eq(const __u8 *a, const __u8 *b)
{
	__u8 diff = 0;
	__u32 i;

#pragma unroll
	for (i = 0; i < 16; i++)
		diff |= a[i] ^ b[i];
	return !diff;
}

/* The filters the parsed packet alone decides. Global functions (verified
 * once each, on their own): inlined, their branches for every slot would
 * multiply the states the verifier walks. */
__attribute__((noinline)) int tn_trace_tuple_match(const struct tn_trace_session *s, const struct tn_pkt *p)
{
	__u32 f;

	if (!s || !p)
		return 0;
	f = s->flags;

	if (f & TN_TF_VIP) {
		if (p->family != s->vip_family || !tn_trace_addr_eq(p->dst, s->vip_addr))
			return 0;
		if ((f & TN_TF_VIP_PORT) && p->dport != s->vip_port)
			return 0;
		if ((f & TN_TF_VIP_PROTO) && p->proto != s->vip_proto)
			return 0;
	}
	if (f & TN_TF_CLIENT) {
		if (p->family != s->client_family || !tn_trace_in_prefix(p->src, s->client_addr, s->client_prefix))
			return 0;
	}
	return 1;
}

/* Right after parsing, when a session is active: the candidate sessions and,
 * when there is one, the packet as received into the CPU's event. 1 when traced.
 * Global (verified on its own, in a frame of its own) to keep the program's
 * states and stack apart from the decision's. */
__attribute__((noinline)) int tn_trace_pre(struct xdp_md *ctx, const struct tn_pkt *p)
{
	struct tn_trace_ctl *tc = tn_trace_ctl();
	struct tn_trace_event *ev;
	__u32 active, zero = 0, i;

	if (!tc || !p)
		return 0;
	active = *(volatile __u32 *)&tc->active;
	if (!active)
		return 0;
	ev = bpf_map_lookup_elem(&trace_scratch, &zero);
	if (!ev)
		return 0;
	/* the masks live in the map value, not in registers: the verifier
	 * then meets one state per slot, not one per combination of slots */
	ev->sessions = 0;
#pragma unroll
	for (i = 0; i < TN_TRACE_SLOTS; i++)
		if ((active & (1u << i)) && tn_trace_tuple_match(&tc->s[i], p))
			ev->sessions |= 1u << i;
	if (!ev->sessions)
		return 0;
	ev->reasons = 0;
	ev->reason = 0;
	ev->ct = TN_TRACE_CT_NONE;
	ev->why = TN_WHY_NONE;
	ev->flags = 0;
	ev->farm_id = 0;
	ev->generation = 0;
	ev->server_id = 0;
	ev->slot = 0;
	ev->in_cap = tn_trace_copy(ctx, ev->pkt_in, &ev->in_len);
	return 1;
}

/* The CPU's event, once tn_trace_pre said the packet is traced. */
static __always_inline struct tn_trace_event *tn_trace_event(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&trace_scratch, &zero);
}

/* After the decision: the filters on it, then each session's limits. */
__attribute__((noinline)) int tn_trace_session_takes(struct tn_trace_session *s, const struct tn_trace_event *ev,
						     __u64 now)
{
	__u32 f;
	__u64 tat;

	if (!s || !ev)
		return 0;
	f = s->flags;

	if ((f & TN_TF_SERVER) &&
	    (!(ev->flags & TN_TE_F_SERVER) || ev->farm_id != s->farm_id || ev->server_id != s->server_id))
		return 0;
	if ((f & TN_TF_REASON) && !(ev->reasons & s->reasons))
		return 0;
	if (f & TN_TF_RATE) {
		tat = s->tat_ns;
		if (tat < now)
			tat = now;
		if (tat - now >= 1000000000ULL) {
			__sync_fetch_and_add(&s->limited, 1);
			return 0;
		}
		s->tat_ns = tat + s->interval_ns; /* racy between CPUs: a rate, not a count */
	}
	if ((f & TN_TF_COUNT) && __sync_fetch_and_add(&s->remaining, -1) <= 0) {
		__sync_fetch_and_add(&s->limited, 1);
		return 0;
	}
	return 1;
}

static __always_inline void tn_trace_fill(struct xdp_md *ctx, const struct tn_pkt *p, struct tn_trace_event *ev,
					  int action)
{

	ev->time_ns = bpf_ktime_get_ns();
	__builtin_memcpy(ev->client, p->src, 16);
	__builtin_memcpy(ev->vip, p->dst, 16);
	ev->client_port = p->sport;
	ev->vip_port = p->dport;
	ev->proto = p->proto;
	ev->family = p->family;
	ev->flags |= (p->fragment ? TN_TE_F_FRAGMENT : 0) | (p->icmp_error ? TN_TE_F_ICMP : 0);
	ev->action = action;
	ev->cpu = bpf_get_smp_processor_id();
	ev->out_len = 0;
	ev->out_cap = 0;
	if (action != XDP_TX && action != XDP_REDIRECT)
		return;
	ev->out_cap = tn_trace_copy(ctx, ev->pkt_out, &ev->out_len);
}

/* After the decision, for a packet some session's tuple filter took (global:
 * see tn_trace_pre). */
__attribute__((noinline)) int tn_trace_emit(struct xdp_md *ctx, const struct tn_pkt *p, int action)
{
	struct tn_trace_ctl *tc = tn_trace_ctl();
	struct tn_trace_event *ev = tn_trace_event();
	__u64 now = bpf_ktime_get_ns();
	__u32 cand, i;
	void *ring;

	if (!tc || !ev || !p)
		return 0;
	cand = ev->sessions;
	ev->sessions = 0;
	for (i = 0; i < TN_TRACE_SLOTS; i++)
		if ((cand & (1u << i)) && tn_trace_session_takes(&tc->s[i], ev, now))
			ev->sessions |= 1u << i;
	if (!ev->sessions)
		return 0;
	tn_trace_fill(ctx, p, ev, action);
	for (i = 0; i < TN_TRACE_SLOTS; i++) {
		struct tn_trace_session *s = &tc->s[i];
		__u32 key = i; /* its own slot: the helper's key pointer makes it unknown */

		if (!(ev->sessions & (1u << i)))
			continue;
		ring = bpf_map_lookup_elem(&trace_rings, &key);
		if (ring && bpf_ringbuf_output(ring, ev, sizeof(*ev), 0) == 0)
			__sync_fetch_and_add(&s->emitted, 1);
		else
			__sync_fetch_and_add(&s->lost, 1);
	}
	return 0;
}

#endif /* TENACE_BPF_TRACE_H */
