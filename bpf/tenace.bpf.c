/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tenace XDP data plane: L4 load balancing with L2 direct server return.
 *
 * Verdict contract (every path follows it):
 *   not for us (not IP, not a VIP)         -> XDP_PASS, counted
 *   ours but malformed / filtered / no server -> XDP_DROP, counted by reason
 *   forwarded                              -> XDP_TX or bpf_redirect_map
 *   impossible state (a map that must exist is missing) -> XDP_ABORTED
 *
 * A packet reaches everything it needs about its farm (Maglev table, servers
 * with MACs, states, interfaces, generation) through one slot of the outer
 * farm map, which user space replaces in one update: a packet sees the old
 * farm or the new farm, never a mixture.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "parse.h"

/* Settings, fixed at load time through the skeleton's .rodata. */
const volatile __u32 cfg_table_size = TN_TABLE_SIZE_DEFAULT;
const volatile __u32 cfg_hash_seed = 0;
const volatile __u64 cfg_tcp_timeout_ns = TN_TCP_TIMEOUT_DEFAULT * 1000000000ULL;
const volatile __u64 cfg_udp_timeout_ns = TN_UDP_TIMEOUT_DEFAULT * 1000000000ULL;
/* new clients tracked per 2^TN_ADMIT_WINDOW_SHIFT ns window per CPU, 0: no
 * limit: datagrams (UDP, fragments), and TCP clients past their SYN */
const volatile __u32 cfg_udp_admit_per_window = 0;
const volatile __u32 cfg_tcp_admit_per_window = 0;
/* CLOCK_MONOTONIC_COARSE ns as jiffies * cfg_ns_per_jiffy + cfg_jiffies_offset_ns
 * (user/dataplane/clock.c); 0: not known, the coarse clock is read instead */
const volatile __u64 cfg_ns_per_jiffy = 0;
const volatile __u64 cfg_jiffies_offset_ns = 0;
/* conntrack4_sets' sets - 1 (a power of two minus one, tn_ct4_nsets) */
const volatile __u32 cfg_ct4_set_mask = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TN_MAX_VIPS);
	__type(key, struct tn_vip_key);
	__type(value, struct tn_vip);
} vips SEC(".maps");

/* The VIP directory (struct tn_vip_dir, headers/tenace.h): slot 0 holds the
 * current one, swapped whole by user space; no directory yet: the VIP map.
 * Named vip_directory since tn_vip_slot changed (2026-12-03): an earlier
 * build's program keeps its own pinned vip_dir, with the slots its function
 * gave, until this one replaces it (user/dataplane/pins.c). */
struct vip_dir_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct tn_vip_dir));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__array(values, struct vip_dir_inner);
} vip_directory SEC(".maps");

struct farm_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct tn_farm)); /* user space shrinks it to the table size */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, TN_MAX_FARMS);
	__uint(key_size, sizeof(__u32));
	__array(values, struct farm_inner);
} farms SEC(".maps");

/* One table and one LRU shared by all CPUs: a client's flows agree whatever
 * CPU they land on, and the configured size is the real capacity (per-CPU LRU
 * lists would split it between CPUs and evict early under uneven RSS). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TN_CT_SIZE_DEFAULT);
	__type(key, struct tn_ct_key);
	__type(value, struct tn_ct_value);
} conntrack SEC(".maps");

/* IPv4 clients of sourceIp farms: a set-associative table, one 64-byte line
 * per set (headers/tenace.h), shared by all CPUs; max_entries set at load
 * (tn_ct4_nsets), mapped by user space to walk it (dataplane/conntrack.c). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tn_ct4_set);
} conntrack4_sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TN_MAX_FILTERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tn_filter_key);
	__type(value, __u32);
} filter_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TN_MAX_FILTERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tn_filter_key);
	__type(value, __u32);
} filter_deny SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, TN_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tn_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TN_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct tn_counter);
} vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TN_MAX_FARMS * TN_MAX_SERVERS);
	__type(key, __u32);
	__type(value, struct tn_counter);
} server_stats SEC(".maps");

/* The VIP address bitmap (struct tn_vip_bits, headers/tenace.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tn_vip_bits);
} vip_bits SEC(".maps");

/* Each CPU's admission budgets for new clients: the window they count in
 * and the entries admitted there, datagrams and TCP apart. */
struct tn_admit {
	__u64 window;
	__u32 udp;
	__u32 tcp;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tn_admit);
} admit SEC(".maps");

/* The settings this program was loaded with, pinned with the maps so that a
 * later load or a restarted controller agrees with them (not read here). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tn_settings);
} settings SEC(".maps");

static __always_inline void count(void *map, __u32 idx, __u64 bytes)
{
	struct tn_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* One packet's way through the program: its counters, and the trace event
 * being built when a session may want it (in a per-CPU map: the stack is full). */
struct tn_run {
	struct tn_stats *st;
	struct tn_trace_event *ev;
};

/* Note what a trace event says about the decision, when one is being built. */
#define TN_TRACE_SET(run, field, val) \
	do { if ((run)->ev) (run)->ev->field = (val); } while (0)

static __always_inline void count_reason(struct tn_run *run, __u32 reason, __u64 bytes)
{
	if (reason < TN_R__COUNT) {
		run->st->reason[reason].packets++;
		run->st->reason[reason].bytes += bytes;
		if (run->ev) {
			run->ev->reasons |= 1ULL << reason;
			run->ev->reason = (__u8)reason;
		}
	}
}

static __always_inline int verdict(struct tn_run *run, __u32 reason, __u64 bytes, int action)
{
	count_reason(run, reason, bytes);
	return action;
}

#include "encap.h" /* forwarding ipip/gue: the tail below, and PMTU learning */
#include "trace.h" /* decision events while `tenace trace` runs */

/* Source filters, looked up only when the frontend has them. */
static __always_inline int source_refused(const struct tn_vip *vip, const struct tn_pkt *p)
{
	struct tn_filter_key k = {};

	if (!(vip->flags & (TN_VIP_F_ALLOW_LIST | TN_VIP_F_DENY_LIST)))
		return 0;
	k.vip_index = bpf_htonl(vip->vip_index);
	if (p->family == TN_FAMILY_V4) {
		k.prefixlen = 32 + 128;
		k.addr[10] = 0xff;
		k.addr[11] = 0xff;
		__builtin_memcpy(&k.addr[12], p->src, 4);
	} else {
		k.prefixlen = 32 + 128;
		__builtin_memcpy(k.addr, p->src, 16);
	}
	if ((vip->flags & TN_VIP_F_DENY_LIST) && bpf_map_lookup_elem(&filter_deny, &k))
		return 1;
	if ((vip->flags & TN_VIP_F_ALLOW_LIST) && !bpf_map_lookup_elem(&filter_allow, &k))
		return 1;
	return 0;
}

/* Whether dst may be a VIP address: 0 means surely not (no hash lookup). */
static __always_inline int maybe_vip(const struct tn_pkt *p)
{
	struct tn_vip_bits *b;
	__u32 zero = 0, bit = tn_vip_bit(p->dst, p->family);

	b = bpf_map_lookup_elem(&vip_bits, &zero);
	if (!b)
		return 1;
	return (b->w[(bit >> 6) & (TN_VIP_BITS_WORDS - 1)] >> (bit & 63)) & 1;
}

/* The VIP entry of k: from the directory's slot (inlined array reads), or
 * from the VIP map where the slot is shared or there is no directory. */
static __always_inline struct tn_vip *vip_lookup(const struct tn_vip_key *k)
{
	struct tn_vip_slot *sl;
	struct tn_vip_dir *d;
	__u32 zero = 0;
	void *inner;
	const __u64 *a, *b;

	inner = bpf_map_lookup_elem(&vip_directory, &zero);
	if (!inner)
		return bpf_map_lookup_elem(&vips, k);
	d = bpf_map_lookup_elem(inner, &zero);
	if (!d)
		return bpf_map_lookup_elem(&vips, k);
	sl = &d->s[tn_vip_slot(k) & (TN_VIP_DIR_SIZE - 1)];
	if (sl->state == TN_VIP_SLOT_SHARED)
		return bpf_map_lookup_elem(&vips, k);
	a = (const __u64 *)&sl->key;
	b = (const __u64 *)k;
	if (sl->state == TN_VIP_SLOT_USED && a[0] == b[0] && a[1] == b[1] && a[2] == b[2])
		return &sl->vip;
	return NULL;
}

/* The VIP entry of the packet's destination. The key is stored in three
 * whole words (headers/tenace.h): the address once, then the tail of each
 * lookup. */
static __always_inline struct tn_vip *find_vip(struct tn_pkt *p)
{
	struct tn_vip_key k;
	__u64 *w = (__u64 *)&k;
	struct tn_vip *vip;

	if (!maybe_vip(p))
		return NULL;

	tn_addr_words(p->dst, w);
	if (p->fragment) {
		/* fragments (even the first) follow the address entry so that
		 * every fragment of a datagram is steered alike */
		w[2] = tn_vip_key_tail(0, p->proto, p->family, TN_VIP_KIND_ADDRESS);
		return vip_lookup(&k);
	}
	w[2] = tn_vip_key_tail(p->dport, p->proto, p->family, TN_VIP_KIND_PORT);
	vip = vip_lookup(&k);
	if (vip)
		return vip;
	w[2] = tn_vip_key_tail(0, p->proto, p->family, TN_VIP_KIND_PORT);
	return vip_lookup(&k);
}

static __always_inline int is_vip_address(struct tn_pkt *p)
{
	struct tn_vip_key k = {};

	if (!maybe_vip(p))
		return 0;
	__builtin_memcpy(k.addr, p->dst, 16);
	k.proto = p->proto;
	k.family = p->family;
	k.kind = TN_VIP_KIND_ADDRESS;
	if (p->family == TN_FAMILY_V6 &&
	    (p->proto == IPPROTO_HOPOPTS || p->proto == IPPROTO_ROUTING ||
	     p->proto == IPPROTO_DSTOPTS || p->proto == IPPROTO_FRAGMENT)) {
		/* broken extension-header chain: the real protocol is unknown */
		k.proto = IPPROTO_TCP;
		if (vip_lookup(&k))
			return 1;
		k.proto = IPPROTO_UDP;
	}
	return vip_lookup(&k) != NULL;
}

static __always_inline __u64 timeout_ns(__u8 proto)
{
	return proto == IPPROTO_TCP ? cfg_tcp_timeout_ns : cfg_udp_timeout_ns;
}

static __always_inline int server_usable(const struct tn_server *s)
{
	return (s->flags & (TN_SRV_F_USED | TN_SRV_F_UP)) == (TN_SRV_F_USED | TN_SRV_F_UP);
}

/* The conntrack's clock (CLOCK_MONOTONIC_COARSE ns): bpf_jiffies64() is
 * inlined by the verifier, bpf_ktime_get_coarse_ns() is a call. */
static __always_inline __u64 ct_now(void)
{
	if (cfg_ns_per_jiffy)
		return bpf_jiffies64() * cfg_ns_per_jiffy + cfg_jiffies_offset_ns;
	return bpf_ktime_get_coarse_ns();
}

/* The key's hash in a frame of its own (new decisions only): inlined, its
 * register spills take the stack room the trace's calls need. */
static __attribute__((noinline)) __u32 tn_hash_key(const struct tn_ct_key *k, __u32 seed)
{
	const __u32 *w = (const __u32 *)k;
	__u32 h = seed, i;

	/* tn_hash_ct_key's words in a loop: the same value, fewer spills */
#pragma clang loop unroll(disable)
	for (i = 0; i < 9; i++)
		h = tn_mix(h, w[i]);
	h = tn_mix(h, ((__u32)k->proto << 8) | k->family);
	return tn_fmix(h ^ 40u);
}

/*
 * Whether a new client gets a conntrack entry now. A spoofed source sends one
 * packet and never answers: for TCP a client is tracked once it shows more
 * than a SYN (its handshake ACK or any later segment), its SYN steered by the
 * table alone, which its ACK follows; a datagram (UDP, any fragment) has
 * nothing to show. Both take one of this CPU's budgets of new entries per
 * window (TCP's against a flood of spoofed ACKs, which a balancer that never
 * sees the servers' replies cannot tell from handshakes); over it, the packet
 * is steered by the table alone. Returns TN_R_CT_NEW (insert),
 * TN_R_CT_DEFERRED or TN_R_CT_REFUSED.
 */
static __always_inline __u32 admission(const struct tn_pkt *p, __u64 now)
{
	struct tn_admit *a;
	__u32 zero = 0, budget, *used;
	__u64 w;
	int tcp = p->proto == IPPROTO_TCP && !p->fragment;

	if (tcp && p->syn)
		return TN_R_CT_DEFERRED;
	budget = tcp ? cfg_tcp_admit_per_window : cfg_udp_admit_per_window;
	if (!budget)
		return TN_R_CT_NEW;
	a = bpf_map_lookup_elem(&admit, &zero);
	if (!a)
		return TN_R_CT_NEW;
	w = now >> TN_ADMIT_WINDOW_SHIFT;
	if (a->window != w) {
		a->window = w;
		a->udp = 0;
		a->tcp = 0;
	}
	used = tcp ? &a->tcp : &a->udp;
	if (*used >= budget)
		return TN_R_CT_REFUSED;
	(*used)++;
	return TN_R_CT_NEW;
}

/* The general stickiness key: the client's address, or its whole flow; in
 * five whole words (headers/tenace.h). */
static __always_inline void ct_key_fill(struct tn_ct_key *ck, const struct tn_pkt *p, const struct tn_farm *farm,
					__u32 farm_slot)
{
	__u64 *w = (__u64 *)ck;

	tn_addr_words(p->src, w);
	if (farm->hdr.stickiness == TN_STICKY_SOURCE_IP) {
		w[2] = 0;
		w[3] = 0;
		w[4] = tn_ct_key_tail(0, 0, (__u16)farm_slot, 0, p->family);
		return;
	}
	tn_addr_words(p->dst, w + 2);
	w[4] = p->fragment ? tn_ct_key_tail(0, 0, (__u16)farm_slot, p->proto, p->family) :
			     tn_ct_key_tail(p->sport, p->dport, (__u16)farm_slot, p->proto, p->family);
}

#define TN_ONCE(x) (*(volatile __u64 *)&(x))

/* The way of set s holding key, or -1; *val its value. The key is read again
 * after the value: a way another CPU rewrote in between is not taken. */
static __always_inline int ct4_find(struct tn_ct4_set *s, __u64 key, __u64 *val)
{
	int i;

#pragma clang loop unroll(full)
	for (i = 0; i < TN_CT4_WAYS; i++) {
		if (TN_ONCE(s->w[2 * i]) == key) {
			*val = TN_ONCE(s->w[2 * i + 1]);
			return TN_ONCE(s->w[2 * i]) == key ? i : -1;
		}
	}
	return -1;
}

/*
 * A client's entry written into set s: when it had one (own: re-decided
 * after its server left), into the way that still holds its key; else into
 * the way another CPU gave it meanwhile (kept as that CPU wrote it: the same
 * table decided both); else (or when its own way was taken meanwhile) into
 * an empty way, else the way idle longest among those idle past both
 * timeouts, else among those seen once (TN_CT4_REPEAT clear). A way seen
 * again and not idle past its timeouts is never given up for a new client:
 * when all its ways are such, the new one is refused (steered by the table
 * alone). No lock: the way's key is swapped for TN_CT4_BUSY by a
 * compare-and-swap from the key it was chosen on (lost when another CPU took
 * or refilled the way since), then the value is written, then the key (an
 * exchange, ordered after the value): a reader never pairs a key with
 * another client's value. The way is found again here rather than carried
 * from ct4_find: a way index known to the verifier across the whole new
 * decision split its paths eight ways (test_verifier_headroom). Returns 1
 * when written, 0 when refused or when another CPU was writing the way.
 */
static __always_inline int ct4_write(struct tn_ct4_set *s, __u64 key, __u64 val, int own, __u32 stamp)
{
	__u64 idle = (cfg_tcp_timeout_ns > cfg_udp_timeout_ns ? cfg_tcp_timeout_ns : cfg_udp_timeout_ns) +
		     TN_CT_TOUCH_NS;
	__s32 age, oldest = 0, expired_age = (__s32)(idle >> TN_CT4_TIME_SHIFT);
	int i, v = -1, rank, best = 0; /* rank: 2 idle past the timeouts, 1 seen once, 0 kept */
	struct tn_ct4_value *ov;
	__u64 k, vk = 0;

#pragma clang loop unroll(full)
	for (i = 0; i < TN_CT4_WAYS; i++) {
		k = TN_ONCE(s->w[2 * i]);
		if (k == key) {
			if (!own)
				return 1;
			v = i;
			vk = k;
			break;
		}
		if (k == TN_CT4_BUSY)
			continue;
		if (k == 0) {
			rank = 3;
			age = 0;
		} else {
			ov = (struct tn_ct4_value *)&s->w[2 * i + 1];
			age = (__s32)(stamp - ov->seen);
			rank = age > expired_age ? 2 : !(ov->id & TN_CT4_REPEAT);
		}
		if (rank > best || (rank == best && rank && age > oldest)) {
			best = rank;
			oldest = age;
			v = i;
			vk = k;
		}
	}
	if (v < 0)
		return 0;
	/* taken from the key it was chosen on: a way another CPU filled since
	 * (a new client in an empty way, a client seen again) is left to it */
	v &= TN_CT4_WAYS - 1;
	if (__sync_val_compare_and_swap(&s->w[2 * v], vk, TN_CT4_BUSY) != vk)
		return 0;
	TN_ONCE(s->w[2 * v + 1]) = val;
	__sync_lock_test_and_set(&s->w[2 * v], key);
	return 1;
}

/* A tracked client seen again: its entry's time, in whichever conntrack. */
static __always_inline void ct_touch(struct tn_ct4_set *c4, int way, struct tn_ct_value *cv, __u64 now)
{
	if (c4)
		((struct tn_ct4_value *)&c4->w[2 * (way & (TN_CT4_WAYS - 1)) + 1])->seen = tn_ct4_stamp(now);
	else if (cv)
		cv->last_seen_ns = now;
}

/* The decision; every return is the packet's verdict. */
static __always_inline int tn_decide(struct xdp_md *ctx, struct tn_run *run, struct tn_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	struct tn_ct_key ck; /* filled where needed (ct_key_fill) */
	struct tn_ct_value nv = {};  /* a new entry of the general conntrack */
	struct tn_ct_value *cv = NULL;
	struct tn_ct4_set *c4 = NULL; /* the client's set in conntrack4_sets */
	__u64 key4 = 0, val4 = 0;
	int way = -1;
	__u32 ctag = 0;
	__s64 age = 0;
	int v4, found = 0;
	struct tn_farm *farm;
	struct tn_server *srv;
	struct tn_vip *vip;
	struct ethhdr *eth;
	void *inner;
	__u32 zero = 0, farm_slot, slot, idx, reason;
	__u64 now;
	int r;

	r = tn_parse(data, data_end, p);
	if (tn_trace_active() && tn_trace_pre(ctx, p))
		run->ev = tn_trace_event();
	if (r == TN_PARSE_NOT_IP)
		return verdict(run, TN_R_PASS_NOT_IP, bytes, XDP_PASS);
	if (r == TN_PARSE_TRUNCATED)
		return verdict(run, TN_R_PASS_TRUNCATED, bytes, XDP_PASS);
	if (r == TN_PARSE_OTHER_L4) {
		if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
			tn_pmtu_learn(ctx, run, bytes); /* maybe the fabric about an IPIP tunnel */
		return verdict(run, TN_R_PASS_NOT_VIP, bytes, XDP_PASS);
	}
	if (r == TN_PARSE_MALFORMED) {
		if (is_vip_address(p))
			return verdict(run, TN_R_DROP_MALFORMED, bytes, XDP_DROP);
		return verdict(run, TN_R_PASS_NOT_VIP, bytes, XDP_PASS);
	}

	vip = find_vip(p);
	if (!vip) {
		if (p->icmp_error)
			tn_pmtu_learn(ctx, run, bytes); /* maybe the fabric about a GUE tunnel */
		return verdict(run, TN_R_PASS_NOT_VIP, bytes, XDP_PASS);
	}
	if (vip->flags & TN_VIP_F_DISABLED)
		return verdict(run, TN_R_DROP_DISABLED, bytes, XDP_DROP);
	if (!p->icmp_error && source_refused(vip, p))
		return verdict(run, TN_R_DROP_FILTERED, bytes, XDP_DROP);

	farm_slot = vip->farm_slot;
	inner = bpf_map_lookup_elem(&farms, &farm_slot);
	if (!inner)
		return verdict(run, TN_R_DROP_NO_FARM, bytes, XDP_DROP);
	farm = bpf_map_lookup_elem(inner, &zero);
	if (!farm)
		return verdict(run, TN_R_ABORTED, bytes, XDP_ABORTED);
	if (run->ev) {
		run->ev->farm_id = farm->hdr.farm_id;
		run->ev->generation = farm->hdr.generation;
		run->ev->flags |= TN_TE_F_FARM;
	}

	/* the stickiness key: an IPv4 client's address in conntrack4, any other
	 * (an IPv6 address, a whole flow) in conntrack */
	v4 = p->family == TN_FAMILY_V4 && farm->hdr.stickiness == TN_STICKY_SOURCE_IP;
	now = ct_now();
	reason = TN_R_CT_NEW;
	if (v4) {
		key4 = tn_ct4_key_word(*(const __be32 *)p->src, (__u16)farm_slot);
		idx = tn_ct4_set_of(key4, cfg_hash_seed, cfg_ct4_set_mask);
		c4 = bpf_map_lookup_elem(&conntrack4_sets, &idx);
		if (c4 && (way = ct4_find(c4, key4, &val4)) >= 0) {
			const struct tn_ct4_value *v = (const struct tn_ct4_value *)&val4;

			/* an atomic or: the way may hold another client by now, whose
			 * server it must not change */
			if (!(v->id & TN_CT4_REPEAT))
				__sync_fetch_and_or(&c4->w[2 * (way & (TN_CT4_WAYS - 1)) + 1], tn_w64(0, TN_CT4_REPEAT));
			found = 1;
			slot = tn_ct4_slot(v->id);
			ctag = tn_ct4_tag(v->id);
			age = (__s64)tn_ct4_age(now, v->seen) * (1LL << TN_CT4_TIME_SHIFT);
		}
	} else {
		ct_key_fill(&ck, p, farm, farm_slot);
		cv = bpf_map_lookup_elem(&conntrack, &ck);
		if (cv) {
			found = 1;
			slot = cv->slot;
			ctag = cv->tag;
			age = (__s64)(now - cv->last_seen_ns);
		}
	}
	if (found) {
		/* the timestamp may lag by up to TN_CT_TOUCH_NS: a flow whose
		 * gaps stay under the timeout must never expire */
		/* signed: another CPU may have stored a timestamp a tick newer than ours */
		if (age > (__s64)(timeout_ns(p->proto) + TN_CT_TOUCH_NS)) {
			/* idle past its timeout: kept while its server still takes
			 * new clients (an idle open connection keeps its server in
			 * every balance mode), re-decided once it left the table
			 * (drained, weight 0, a backup no longer in use) */
			reason = TN_R_CT_EXPIRED;
			if (slot < TN_MAX_SERVERS) {
				srv = &farm->servers[slot];
				if (tn_ct_tag_eq(srv->tag, ctag) && server_usable(srv) && (srv->flags & TN_SRV_F_IN_TABLE)) {
					ct_touch(c4, way, cv, now);
					count_reason(run, TN_R_CT_EXPIRED, bytes);
					TN_TRACE_SET(run, ct, TN_R_CT_EXPIRED);
					TN_TRACE_SET(run, why, TN_WHY_TRACKED);
					goto forward;
				}
			}
		} else if (slot < TN_MAX_SERVERS) {
			srv = &farm->servers[slot];
			if (tn_ct_tag_eq(srv->tag, ctag) && server_usable(srv)) {
				if (age > (__s64)TN_CT_TOUCH_NS)
					ct_touch(c4, way, cv, now);
				count_reason(run, TN_R_CT_HIT, bytes);
				TN_TRACE_SET(run, ct, TN_R_CT_HIT);
				TN_TRACE_SET(run, why, TN_WHY_TRACKED);
				goto forward;
			}
			reason = TN_R_CT_RESCHEDULED;
		}
	}

	/* a new decision on the current table (hashed from the general key) */
	if (v4)
		ct_key_fill(&ck, p, farm, farm_slot);
	if (farm->hdr.nup == 0)
		return verdict(run, TN_R_DROP_NO_SERVER, bytes, XDP_DROP);
	/* roundRobin spreads new clients with a hash of its own seed rather
	 * than at random: a deferred SYN and the ACK that follows it (on any
	 * CPU) must agree */
	if (farm->hdr.balance == TN_BALANCE_ROUNDROBIN && !p->icmp_error) {
		idx = tn_reduce(tn_hash_key(&ck, cfg_hash_seed ^ TN_RR_SEED_SALT), cfg_table_size);
		TN_TRACE_SET(run, why, TN_WHY_ROUNDROBIN);
	} else {
		idx = tn_reduce(tn_hash_key(&ck, cfg_hash_seed), cfg_table_size);
		TN_TRACE_SET(run, why, TN_WHY_TABLE);
	}
	if (idx >= cfg_table_size || idx >= TN_TABLE_SIZE_MAX)
		return verdict(run, TN_R_ABORTED, bytes, XDP_ABORTED);
	slot = farm->table[idx];
	if (slot >= TN_MAX_SERVERS)
		return verdict(run, TN_R_DROP_NO_SERVER, bytes, XDP_DROP);
	srv = &farm->servers[slot];
	if (!server_usable(srv))
		return verdict(run, TN_R_DROP_NO_SERVER, bytes, XDP_DROP);
	if (run->ev && run->ev->why == TN_WHY_TABLE && (srv->flags & TN_SRV_F_BACKUP))
		run->ev->why = TN_WHY_BACKUP;
	if (!p->icmp_error) {
		if (reason == TN_R_CT_NEW)
			reason = admission(p, now);
		if (reason != TN_R_CT_DEFERRED && reason != TN_R_CT_REFUSED) {
			if (v4) {
				if (!c4 || !ct4_write(c4, key4, tn_w64(tn_ct4_stamp(now), tn_ct4_id(slot, srv->tag)),
						       found, tn_ct4_stamp(now)))
					reason = TN_R_CT_REFUSED; /* its set is full of clients seen again */
			} else {
				nv.last_seen_ns = now;
				nv.tag = srv->tag;
				nv.slot = (__u16)slot;
				bpf_map_update_elem(&conntrack, &ck, &nv, BPF_ANY);
			}
		}
	}
	TN_TRACE_SET(run, ct, (__u8)reason);
	count_reason(run, reason, bytes);

forward:
	if (p->icmp_error)
		count_reason(run, TN_R_ICMP_STEERED, bytes);
	else if (p->fragment)
		count_reason(run, TN_R_FRAGMENT, bytes);
	if (run->ev) {
		run->ev->slot = (__u16)slot;
		run->ev->server_id = srv->server_id;
		run->ev->flags |= TN_TE_F_SERVER;
	}
	count(&vip_stats, vip->vip_index, bytes);
	count(&server_stats, farm_slot * TN_MAX_SERVERS + slot, bytes);
	if (farm->hdr.encap.forwarding != TN_FWD_DSR)
		return tn_encap_forward(ctx, run, p, &farm->hdr.encap, srv, bytes);

	eth = data;
	if ((void *)(eth + 1) > data_end)
		return verdict(run, TN_R_ABORTED, bytes, XDP_ABORTED);
	__builtin_memcpy(eth->h_dest, srv->mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, srv->src_mac, ETH_ALEN);
	if (srv->ifindex == ctx->ingress_ifindex)
		return verdict(run, TN_R_TX, bytes, XDP_TX);
	if (srv->ifindex == 0)
		return verdict(run, TN_R_DROP_NO_ROUTE, bytes, XDP_DROP);
	r = bpf_redirect_map(&tx_ports, srv->ifindex, XDP_DROP);
	return verdict(run, r == XDP_REDIRECT ? TN_R_REDIRECT : TN_R_DROP_NO_ROUTE, bytes, r);
}

SEC("xdp")
int tenace_xdp(struct xdp_md *ctx)
{
	struct tn_run run = {};
	struct tn_pkt p = {};
	__u32 zero = 0;
	int action;

	run.st = bpf_map_lookup_elem(&stats, &zero);
	if (!run.st)
		return XDP_ABORTED;
	action = tn_decide(ctx, &run, &p);
	if (run.ev)
		tn_trace_emit(ctx, &p, action);
	return action;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
