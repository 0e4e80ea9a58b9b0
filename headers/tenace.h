/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tenace: the one ABI shared by the XDP program (bpf/) and user space (user/).
 *
 * Every struct that crosses the BPF/user boundary is here, with fixed-width
 * types, explicit padding and a size assertion, so that a layout change breaks
 * the build instead of production. Nothing here may use kernel-only types.
 */
#ifndef TENACE_H
#define TENACE_H

#ifdef __BPF__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <stddef.h>
#endif

#ifndef __cplusplus
#define TN_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#else
#define TN_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#endif

/* ---- limits ------------------------------------------------------------ */
#define TN_MAX_FARMS          128      /* slots of the outer farm map */
#define TN_MAX_SERVERS        1024     /* servers per farm (slot < this) */
#define TN_MAX_VIPS           4096     /* (address, port, protocol) entries */
#define TN_MAX_FILTERS        16384    /* CIDR entries per filter trie */
#define TN_MAX_IFACES         64       /* interfaces in the redirect devmap */
#define TN_TABLE_SIZE_DEFAULT 65537    /* Maglev lookup table size (prime) */
#define TN_TABLE_SIZE_MAX     655373   /* largest supported table (prime) */
#define TN_CT_SIZE_DEFAULT    1000000  /* conntrack LRU entries */
#define TN_TCP_TIMEOUT_DEFAULT 300     /* seconds an idle TCP client stays tracked */
#define TN_UDP_TIMEOUT_DEFAULT 30      /* seconds an idle UDP client stays tracked */
#define TN_UDP_ADMIT_RATE_DEFAULT 65536 /* new UDP clients tracked per second per CPU (0: no limit) */
#define TN_TCP_ADMIT_RATE_DEFAULT 65536 /* new TCP clients (past their SYN) tracked per second per CPU (0: no limit) */
#define TN_ADMIT_WINDOW_SHIFT 24       /* admission budget windows of 2^24 ns (16.8 ms) */
#define TN_RR_SEED_SALT       0x9e3779b9u /* roundRobin's hash seed: the table's seed xor this */
#define TN_MAX_VLAN_TAGS      2
#define TN_MAX_IPV6_EXT       6        /* extension headers walked at most */
#define TN_NO_SERVER          0xffff   /* table entry: no server */
#define TN_CT_TOUCH_NS        1000000000ULL /* refresh a conntrack timestamp at most once a second */

#define TN_PIN_DIR_DEFAULT    "/sys/fs/bpf/tenace"

/* ---- verdict reasons: one per-CPU counter each (names in user/dataplane.c) */
enum tn_reason {
	TN_R_PASS_NOT_IP = 0,    /* not IPv4/IPv6 (ARP, LLDP, ...): passed */
	TN_R_PASS_NOT_VIP,       /* IP, but not to a VIP address/port/proto: passed */
	TN_R_PASS_TRUNCATED,     /* too short to tell whether it is ours: passed */
	TN_R_DROP_MALFORMED,     /* to a VIP but truncated or inconsistent */
	TN_R_DROP_FILTERED,      /* source refused by deniedSource/allowedSource */
	TN_R_DROP_NO_SERVER,     /* farm has no server up */
	TN_R_DROP_DISABLED,      /* frontend disabled */
	TN_R_DROP_NO_FARM,       /* VIP points to an empty farm slot */
	TN_R_DROP_NO_ROUTE,      /* server has no interface/redirect target */
	TN_R_CT_HIT,             /* tracked client kept its server */
	TN_R_CT_NEW,             /* new client: table lookup + insert */
	TN_R_CT_RESCHEDULED,     /* tracked client's server left/down: re-hashed */
	TN_R_CT_EXPIRED,         /* idle past its timeout: kept while its server is in the table, else re-decided */
	TN_R_FRAGMENT,           /* forwarded fragment (no L4 header needed) */
	TN_R_ICMP_STEERED,       /* ICMP error about a VIP flow sent to its server */
	TN_R_TX,                 /* forwarded with XDP_TX */
	TN_R_REDIRECT,           /* forwarded with bpf_redirect_map */
	TN_R_ABORTED,            /* impossible state (missing map) */
	TN_R_ENCAP_IPIP,         /* forwarded in IPIP / IPv6 in IPv6 (with TX or REDIRECT) */
	TN_R_ENCAP_GUE,          /* forwarded in GUE (with TX or REDIRECT) */
	TN_R_DROP_ENCAP_NO_ROUTE,/* tunnel: the FIB has no usable route to the server (or forwarding is off) */
	TN_R_DROP_ENCAP_NO_NEIGH,/* tunnel: the next hop's MAC is not resolved */
	TN_R_ICMP_TOO_BIG,       /* too big for the tunnel: dropped, the client told its MTU (ICMP) */
	TN_R_DROP_TOO_BIG,       /* too big for the tunnel, no ICMP possible (an ICMP error itself) */
	TN_R_PMTU_LEARNED,       /* the fabric's ICMP about a tunnel packet: the MTU to its server lowered */
	TN_R_CT_DEFERRED,        /* untracked TCP SYN: steered by the table, tracked from its next packet */
	TN_R_CT_REFUSED,         /* new client over this CPU's admission budget, or its IPv4 set full of clients seen again: steered, not tracked */
	TN_R__COUNT
};

/* ---- VIPs -------------------------------------------------------------- */
#define TN_FAMILY_V4 4
#define TN_FAMILY_V6 6

/* kind of a VIP key: the normal (port, proto) entry, or the per-address entry
 * used for fragments and for recognising malformed packets to a VIP address. */
#define TN_VIP_KIND_PORT     0
#define TN_VIP_KIND_ADDRESS  1

struct tn_vip_key {
	__u8  addr[16];   /* IPv4 in the first 4 bytes, rest zero */
	__be16 port;      /* network order; 0 = every port */
	__u8  proto;      /* IPPROTO_TCP / IPPROTO_UDP */
	__u8  family;     /* TN_FAMILY_V4 / V6 */
	__u8  kind;       /* TN_VIP_KIND_* */
	__u8  _pad[3];
};
TN_STATIC_ASSERT(sizeof(struct tn_vip_key) == 24, "tn_vip_key layout");

#define TN_VIP_F_ALLOW_LIST  (1u << 0) /* allowedSource set: only its prefixes pass */
#define TN_VIP_F_DENY_LIST   (1u << 1) /* deniedSource set: its prefixes drop */
#define TN_VIP_F_DISABLED    (1u << 2) /* frontend disabled: drop */

struct tn_vip {
	__u32 farm_slot;    /* index into the outer farm map */
	__u32 vip_index;    /* index into the per-VIP counters and filter tries */
	__u32 flags;        /* TN_VIP_F_* */
	__u32 frontend_id;  /* for the operator; unused by the packet path */
};
TN_STATIC_ASSERT(sizeof(struct tn_vip) == 16, "tn_vip layout");

/* LPM key of the source filters: prefix over (vip_index, address). IPv4 is
 * stored IPv4-mapped (::ffff:a.b.c.d) so one trie serves both families. */
struct tn_filter_key {
	__u32 prefixlen;    /* 32 (vip_index) + 0..128 address bits */
	__be32 vip_index;   /* big endian so the prefix bits come first */
	__u8  addr[16];
};
TN_STATIC_ASSERT(sizeof(struct tn_filter_key) == 24, "tn_filter_key layout");

/* ---- farms: one outer slot -> one inner single-entry array -------------- */
#define TN_BALANCE_SOURCE     0  /* Maglev on the stickiness key */
#define TN_BALANCE_ROUNDROBIN 1  /* new clients spread over the table, then tracked */
#define TN_BALANCE_FIRST      2  /* lowest serverId up (table filled by user space) */

#define TN_STICKY_NONE        0  /* key: 5-tuple (fragments: 3-tuple) */
#define TN_STICKY_SOURCE_IP   1  /* key: source address only */

#define TN_SRV_F_USED   (1u << 0) /* slot holds a server */
#define TN_SRV_F_UP     (1u << 1) /* health: up (down => tracked clients move) */
#define TN_SRV_F_BACKUP (1u << 2) /* backup server */
#define TN_SRV_F_IN_TABLE (1u << 3) /* holds Maglev entries: takes new clients (an idle tracked client stays) */

struct tn_server {
	__u8  mac[6];       /* server's MAC: new destination */
	__u8  src_mac[6];   /* MAC of the interface the frame leaves by */
	__u32 ifindex;      /* interface towards the server */
	__u32 tag;          /* identity: the farm's incarnation number of this server in this slot
	                     * (never reused in the farm), which conntrack checks */
	__u16 flags;        /* TN_SRV_F_* */
	__u16 weight;       /* configured weight, informational */
	__u32 server_id;    /* operator's serverId */
	__u8  addr[16];     /* the server's address (IPv4 in the first 4 bytes): a tunnel's destination */
	__u16 port;
	__u8  family;       /* TN_FAMILY_V4 / V6 */
	__u8  _pad[17];
};
TN_STATIC_ASSERT(sizeof(struct tn_server) == 64, "tn_server layout");

/* ---- forwarding: L2 direct return, or tunnels to servers anywhere -------- */
#define TN_FWD_DSR   0  /* MACs rewritten, the IP packet unchanged */
#define TN_FWD_IPIP  1  /* IP in IP (protocol 4 / 41), outer header from encap.src4/src6 */
#define TN_FWD_GUE   2  /* IP in UDP + GUE (version 0) or UDP alone (version 1) */

#define TN_ENCAP_F_SRC4 (1u << 0) /* src4 is set */
#define TN_ENCAP_F_SRC6 (1u << 1) /* src6 is set */

/* How a farm forwards (in its header, so a swap changes it atomically). */
struct tn_encap {
	__u8  forwarding;   /* TN_FWD_* */
	__u8  gue_version;  /* 0 or 1 */
	__be16 gue_port;    /* outer UDP destination port, network order */
	__u8  flags;        /* TN_ENCAP_F_* */
	__u8  _pad[3];
	__u8  src4[4];      /* outer source of IPv4 tunnels (the node's address) */
	__u8  src6[16];     /* outer source of IPv6 tunnels */
};
TN_STATIC_ASSERT(sizeof(struct tn_encap) == 28, "tn_encap layout");

/* The path MTU the fabric reported toward a server (pmtu map, LRU). */
struct tn_pmtu_key {
	__u8  addr[16];
	__u8  family;
	__u8  _pad[3];
};
TN_STATIC_ASSERT(sizeof(struct tn_pmtu_key) == 20, "tn_pmtu_key layout");

struct tn_pmtu {
	__u64 expires_ns;   /* bpf_ktime_get_ns() after which the entry is ignored */
	__u16 mtu;          /* outer packets toward the server fit in this */
	__u16 _pad;
	__u32 _pad2;
};
TN_STATIC_ASSERT(sizeof(struct tn_pmtu) == 16, "tn_pmtu layout");
#define TN_PMTU_ENTRIES     4096
#define TN_PMTU_EXPIRES_NS  (600ULL * 1000000000ULL) /* 10 minutes, as the kernel's PMTU cache */

struct tn_farm_hdr {
	__u64 generation;   /* bumped at each swap */
	__u32 farm_id;
	__u32 table_size;   /* number of valid table entries */
	__u16 nservers;     /* highest used slot + 1 */
	__u16 nup;          /* servers in the table; 0 => drop "no server" */
	__u8  stickiness;   /* TN_STICKY_* */
	__u8  balance;      /* TN_BALANCE_* */
	__u8  proto;        /* IPPROTO_TCP / IPPROTO_UDP */
	__u8  _pad0;
	__u32 next_incarnation; /* user space: the tag the farm's next new server gets */
	__u32 _pad2;
	struct tn_encap encap;
	__u32 _pad3;
};
TN_STATIC_ASSERT(sizeof(struct tn_farm_hdr) == 64, "tn_farm_hdr layout");

/* The inner map value. Its real size is set at load time to
 * tn_farm_value_size(table_size): the table is as long as the setting says. */
struct tn_farm {
	struct tn_farm_hdr hdr;
	struct tn_server servers[TN_MAX_SERVERS];
	__u16 table[TN_TABLE_SIZE_MAX]; /* slot per Maglev entry, TN_NO_SERVER if none */
};
#define tn_farm_value_size(table_size) \
	((__u32)(offsetof(struct tn_farm, table) + \
		 ((((table_size) * 2u) + 7u) & ~7u)))

/* ---- connection tracking --------------------------------------------------
 * Key: the farm plus the stickiness key (source only, or the 5-tuple). */
struct tn_ct_key {
	__u8  src[16];
	__u8  dst[16];      /* zero for sourceIp stickiness */
	__be16 sport;       /* zero for sourceIp stickiness and fragments */
	__be16 dport;
	__u16 farm_slot;
	__u8  proto;        /* zero for sourceIp stickiness */
	__u8  family;
};
TN_STATIC_ASSERT(sizeof(struct tn_ct_key) == 40, "tn_ct_key layout");

struct tn_ct_value {
	__u64 last_seen_ns; /* CLOCK_MONOTONIC_COARSE ns (from jiffies, dataplane/clock.c), touched at most every TN_CT_TOUCH_NS */
	__u32 tag;          /* server identity when chosen */
	__u16 slot;         /* server slot when chosen */
	__u16 _pad;
};
TN_STATIC_ASSERT(sizeof(struct tn_ct_value) == 16, "tn_ct_value layout");

/*
 * IPv4 clients of sourceIp farms, the common case, have a conntrack of their
 * own (map conntrack4_sets): a set-associative table in an array map, two
 * adjacent 64-byte lines (struct tn_ct4_set) per set of TN_CT4_WAYS ways,
 * each way an 8-byte key and an 8-byte value. A client's set is a hash of its
 * key (tn_ct4_set_of); a lookup reads that set's keys up to its own (a set
 * fills from way 0, so most clients are in its first line), where the
 * kernel's LRU_HASH reads a bucket, then the element it points to, a
 * dependent miss; an insert writes a way of
 * it (an empty one, else the one seen longest ago) with no lock, no hash
 * map call and no LRU list. A key word of 0 is an empty way (0.0.0.0 in farm
 * slot 0 is no client) and TN_CT4_BUSY one being written: a CPU takes the
 * way by swapping its key for TN_CT4_BUSY, writes the value, then the key
 * (bpf/tenace.bpf.c, ct4_write). The value
 * packs what tn_ct_value holds: the time in units of 2^TN_CT4_TIME_SHIFT ns
 * (1.05 ms; 32 bits wrap after 52 days, always compared as a signed
 * difference, and timeouts are at most a day) and the server's slot with the
 * low TN_CT_TAG_BITS of its tag. Every conntrack compares tags on those bits
 * (tn_ct_tag_eq), and a new server never gets the low bits of its slot's
 * previous one (dataplane/farm.c).
 */
struct tn_ct4_key {
	__be32 src;
	__u16  farm_slot;
	__u16  _pad;
};
TN_STATIC_ASSERT(sizeof(struct tn_ct4_key) == 8, "tn_ct4_key layout");

struct tn_ct4_value {
	__u32 seen;  /* CLOCK_MONOTONIC_COARSE ns >> TN_CT4_TIME_SHIFT */
	__u32 id;    /* slot | (tag & TN_CT_TAG_MASK) << TN_CT4_SLOT_BITS, | TN_CT4_REPEAT once seen again */
};
TN_STATIC_ASSERT(sizeof(struct tn_ct4_value) == 8, "tn_ct4_value layout");

/* One set: TN_CT4_WAYS ways of (key, value) words, two adjacent cache lines
 * of one page (the map's values start on a page: it is mmapable). */
#define TN_CT4_WAYS 8
struct tn_ct4_set {
	__u64 w[2 * TN_CT4_WAYS]; /* way i: key word w[2i] (tn_ct4_key), value word w[2i+1] (tn_ct4_value) */
} __attribute__((aligned(64)));
TN_STATIC_ASSERT(sizeof(struct tn_ct4_set) == 128, "tn_ct4_set layout");

/* No real key: 255.255.255.255 with farm slot 0xffff and a padding of ones. */
#define TN_CT4_BUSY (~0ULL)

/* The number of sets for a conntrack of ct_size entries: 2 to 4 times
 * ct_size ways, a power of two of sets: with ct_size clients, under 0.2 %
 * of them find their set's eight ways taken. */
static __attribute__((always_inline)) inline __u32 tn_ct4_nsets(__u32 ct_size)
{
	__u32 n = 1;

	while (n < ct_size && n < (1u << 30))
		n <<= 1;
	return n * 2 / TN_CT4_WAYS;
}

/* A key's set: murmur3's 64-bit finaliser of the key word and the seed,
 * masked (nsets - 1). */
static __attribute__((always_inline)) inline __u32 tn_ct4_set_of(__u64 key_word, __u32 seed, __u32 mask)
{
	__u64 h = key_word ^ ((__u64)seed << 32 | seed);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (__u32)h & mask;
}

#define TN_CT4_TIME_SHIFT 20
#define TN_CT4_SLOT_BITS  10
#define TN_CT_TAG_BITS    (31 - TN_CT4_SLOT_BITS)
/* In tn_ct4_value.id: the client was seen again after the packet that
 * tracked it. A full set gives up a way seen once before one seen again
 * (bpf/tenace.bpf.c, ct4_write): one packet from a spoofed source cannot
 * push out a client that came back. */
#define TN_CT4_REPEAT     (1u << 31)
#define TN_CT_TAG_MASK    ((1u << TN_CT_TAG_BITS) - 1)
TN_STATIC_ASSERT(TN_MAX_SERVERS <= (1 << TN_CT4_SLOT_BITS), "a server slot fits tn_ct4_value.id");

static __attribute__((always_inline)) inline int tn_ct_tag_eq(__u32 a, __u32 b)
{
	return ((a ^ b) & TN_CT_TAG_MASK) == 0;
}

static __attribute__((always_inline)) inline __u32 tn_ct4_id(__u32 slot, __u32 tag)
{
	return slot | (tag & TN_CT_TAG_MASK) << TN_CT4_SLOT_BITS;
}

static __attribute__((always_inline)) inline __u32 tn_ct4_slot(__u32 id)
{
	return id & ((1u << TN_CT4_SLOT_BITS) - 1);
}

static __attribute__((always_inline)) inline __u32 tn_ct4_tag(__u32 id)
{
	return (id >> TN_CT4_SLOT_BITS) & TN_CT_TAG_MASK;
}

/* The stamp of a moment (CLOCK_MONOTONIC_COARSE ns). */
static __attribute__((always_inline)) inline __u32 tn_ct4_stamp(__u64 now_ns)
{
	return (__u32)(now_ns >> TN_CT4_TIME_SHIFT);
}

/* Stamp units since seen, wrap-safe (negative: another CPU stamped a unit later). */
static __attribute__((always_inline)) inline __s32 tn_ct4_age(__u64 now_ns, __u32 seen)
{
	return (__s32)(tn_ct4_stamp(now_ns) - seen);
}

/* A conntrack4 entry as the general one (what user space walks and judges),
 * its time placed by the clock now_ns (wrap-safe). */
static __attribute__((always_inline)) inline void tn_ct4_unpack(const struct tn_ct4_key *k4,
								const struct tn_ct4_value *v4, __u64 now_ns,
								struct tn_ct_key *k, struct tn_ct_value *v)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->src, &k4->src, 4);
	k->farm_slot = k4->farm_slot;
	k->family = TN_FAMILY_V4;
	v->last_seen_ns = ((now_ns >> TN_CT4_TIME_SHIFT) - (__s64)tn_ct4_age(now_ns, v4->seen)) << TN_CT4_TIME_SHIFT;
	v->tag = tn_ct4_tag(v4->id);
	v->slot = (__u16)tn_ct4_slot(v4->id);
	v->_pad = 0;
}

/* ---- counters ------------------------------------------------------------ */
struct tn_counter {
	__u64 packets;
	__u64 bytes;
};
TN_STATIC_ASSERT(sizeof(struct tn_counter) == 16, "tn_counter layout");

/* All reason counters of one CPU in one element: one lookup per packet. */
struct tn_stats {
	struct tn_counter reason[TN_R__COUNT];
};
TN_STATIC_ASSERT(sizeof(struct tn_stats) == 16 * TN_R__COUNT, "tn_stats layout");

/* Settings the loader records in a pinned map so that later loads and a
 * restarted controller agree with the running state, and so that another
 * instance finding this program on an interface can name its pin directory.
 * Version 1 was the first 24 bytes alone; version stays at offset 20. */
#define TN_SETTINGS_PIN_DIR_LEN 256
struct tn_settings {
	__u32 table_size;
	__u32 ct_size;
	__u32 tcp_timeout_s;
	__u32 udp_timeout_s;
	__u32 hash_seed;
	__u32 version;      /* TN_SETTINGS_VERSION */
	char pin_dir[TN_SETTINGS_PIN_DIR_LEN]; /* NUL-terminated; "" when not pinned */
};
TN_STATIC_ASSERT(sizeof(struct tn_settings) == 24 + TN_SETTINGS_PIN_DIR_LEN, "tn_settings layout");
TN_STATIC_ASSERT(__builtin_offsetof(struct tn_settings, version) == 20, "tn_settings version offset");
#define TN_SETTINGS_VERSION 2
#define TN_SETTINGS_V1_SIZE 24

/* ---- trace: decision events while `tenace trace` runs ---------------------
 * trace_ctl (one mmapable element) holds the mask of active sessions, read
 * once per packet, and the sessions' filters; trace_rings[slot] is the ring
 * buffer the session's process created. A slot is claimed by writing the
 * owner's pid with a compare-and-swap on the mmapped element. */
#define TN_TRACE_SLOTS     8
#define TN_TRACE_SNAP      192          /* bytes of each packet kept, as received and as sent */
#define TN_TRACE_RING_SIZE (2u << 20)   /* bytes of each session's ring buffer */

#define TN_TF_VIP       (1u << 0)  /* vip_addr/vip_family must match */
#define TN_TF_VIP_PORT  (1u << 1)  /* and vip_port */
#define TN_TF_VIP_PROTO (1u << 2)  /* and vip_proto */
#define TN_TF_CLIENT    (1u << 3)  /* client within client_addr/client_prefix */
#define TN_TF_SERVER    (1u << 4)  /* the server chosen is farm_id/server_id */
#define TN_TF_REASON    (1u << 5)  /* one of the packet's reasons is in reasons */
#define TN_TF_RATE      (1u << 6)  /* at most rate events a second (burst: one second's worth) */
#define TN_TF_COUNT     (1u << 7)  /* at most remaining more events */

struct tn_trace_session {
	__u32 owner_pid;    /* 0: free */
	__u32 flags;        /* TN_TF_* */
	__u8  vip_addr[16];
	__be16 vip_port;
	__u8  vip_proto;
	__u8  vip_family;
	__u8  client_addr[16];
	__u8  client_family;
	__u8  client_prefix;
	__u16 _pad0;
	__u32 farm_id;
	__u32 server_id;
	__u64 reasons;      /* bit per enum tn_reason */
	__u64 interval_ns;  /* rate limit: 1e9 / rate */
	__u64 tat_ns;       /* rate limit: theoretical arrival time of the next event (GCRA) */
	__s64 remaining;    /* count limit, decremented by the program */
	__u64 emitted;      /* events written to the ring */
	__u64 lost;         /* events the ring had no room for */
	__u64 limited;      /* events held back by the rate or count limit */
};
TN_STATIC_ASSERT(sizeof(struct tn_trace_session) == 112, "tn_trace_session layout");

struct tn_trace_ctl {
	__u32 active;       /* bit per slot whose filter is complete */
	__u32 _pad;
	struct tn_trace_session s[TN_TRACE_SLOTS];
};
TN_STATIC_ASSERT(sizeof(struct tn_trace_ctl) == 8 + 112 * TN_TRACE_SLOTS, "tn_trace_ctl layout");

/* how the server was chosen */
#define TN_WHY_NONE       0  /* no server (passed or dropped before a choice) */
#define TN_WHY_TRACKED    1  /* the conntrack entry's server */
#define TN_WHY_TABLE      2  /* the table entry of the flow's hash */
#define TN_WHY_BACKUP     3  /* the table entry of the flow's hash, a backup server */
#define TN_WHY_ROUNDROBIN 4  /* a random table entry (roundRobin) */

#define TN_TE_F_FARM      (1u << 0)  /* farm_id and generation are set */
#define TN_TE_F_SERVER    (1u << 1)  /* slot and server_id are set */
#define TN_TE_F_FRAGMENT  (1u << 2)
#define TN_TE_F_ICMP      (1u << 3)  /* an ICMP error steered as its flow */

#define TN_TRACE_CT_NONE  0xff       /* ct: no conntrack lookup */

struct tn_trace_event {
	__u64 time_ns;      /* bpf_ktime_get_ns() */
	__u64 generation;   /* the farm's generation */
	__u64 reasons;      /* bit per reason counted for this packet */
	__u8  client[16];   /* source address (IPv4 in the first 4 bytes) */
	__u8  vip[16];      /* destination address */
	__be16 client_port;
	__be16 vip_port;
	__u8  proto;
	__u8  family;       /* 0: not IP */
	__u8  reason;       /* the verdict's enum tn_reason */
	__u8  ct;           /* TN_R_CT_* or TN_TRACE_CT_NONE */
	__u32 farm_id;
	__u32 server_id;
	__u16 slot;
	__u8  why;          /* TN_WHY_* */
	__u8  flags;        /* TN_TE_F_* */
	__u32 action;       /* XDP_* */
	__u32 sessions;     /* bit per session whose filter matched */
	__u32 in_len;       /* frame length as received */
	__u32 out_len;      /* frame length as sent (0: dropped or passed unchanged) */
	__u16 in_cap;       /* bytes of pkt_in kept */
	__u16 out_cap;      /* bytes of pkt_out kept */
	__u32 cpu;
	__u32 _pad;
	__u8  pkt_in[TN_TRACE_SNAP];
	__u8  pkt_out[TN_TRACE_SNAP];
};
TN_STATIC_ASSERT(sizeof(struct tn_trace_event) == 104 + 2 * TN_TRACE_SNAP, "tn_trace_event layout");

/* ---- hashing (same code on both sides, so user space can predict) -------- */
static __attribute__((always_inline)) inline __u32 tn_rol32(__u32 w, unsigned s)
{
	return (w << s) | (w >> (32 - s));
}

/* murmur3 32-bit finaliser-based mixing of 32-bit words */
static __attribute__((always_inline)) inline __u32 tn_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51u;
	k = tn_rol32(k, 15);
	k *= 0x1b873593u;
	h ^= k;
	h = tn_rol32(h, 13);
	return h * 5u + 0xe6546b64u;
}

static __attribute__((always_inline)) inline __u32 tn_fmix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Hash of a conntrack key: the Maglev lookup uses the same key. */
static __attribute__((always_inline)) inline __u32 tn_hash_ct_key(const struct tn_ct_key *k, __u32 seed)
{
	const __u32 *w = (const __u32 *)k;
	__u32 h = seed;
	/* farm_slot is excluded: the table is per farm already, and two
	 * balancers must agree whatever slot their controllers chose. */
	h = tn_mix(h, w[0]);
	h = tn_mix(h, w[1]);
	h = tn_mix(h, w[2]);
	h = tn_mix(h, w[3]);
	h = tn_mix(h, w[4]);
	h = tn_mix(h, w[5]);
	h = tn_mix(h, w[6]);
	h = tn_mix(h, w[7]);
	h = tn_mix(h, w[8]);                      /* ports */
	h = tn_mix(h, ((__u32)k->proto << 8) | k->family);
	return tn_fmix(h ^ 40u);
}

/* The VIP address bitmap: one bit per hash of a destination address, set
 * for every VIP address, so that a packet to any other address (the most
 * common packet on a busy NIC) is passed after one array read. */
#define TN_VIP_BITS        65536u
#define TN_VIP_BITS_WORDS  (TN_VIP_BITS / 64u)
struct tn_vip_bits {
	__u64 w[TN_VIP_BITS_WORDS];
};
TN_STATIC_ASSERT(sizeof(struct tn_vip_bits) == TN_VIP_BITS / 8, "tn_vip_bits layout");

static __attribute__((always_inline)) inline __u32 tn_vip_bit(const __u8 *addr, __u8 family)
{
	__u32 w[4], h;

	__builtin_memcpy(w, addr, 16);
	h = tn_mix(0x5eed0001u, w[0]);
	if (family != TN_FAMILY_V4) {
		h = tn_mix(h, w[1]);
		h = tn_mix(h, w[2]);
		h = tn_mix(h, w[3]);
	}
	return tn_fmix(h) & (TN_VIP_BITS - 1);
}

/* The VIP directory: the VIP map's entries in a direct-mapped array, so that
 * a packet finds its VIP with inlined array reads (no hash-map call, no jhash):
 * slot tn_vip_slot(key) holds that key and its value, or says no key maps
 * there, or that several do (then the VIP map itself is asked). User space
 * builds a whole new directory and swaps it in (an array of maps), so a
 * packet sees the old set or the new one, never a slot half written. */
#define TN_VIP_DIR_SIZE     8192u    /* a power of two, twice TN_MAX_VIPS */
#define TN_VIP_SLOT_EMPTY   0u
#define TN_VIP_SLOT_USED    1u
#define TN_VIP_SLOT_SHARED  2u       /* several keys: ask the VIP map */
struct tn_vip_slot {
	struct tn_vip_key key;
	struct tn_vip vip;
	__u32 state;        /* TN_VIP_SLOT_* */
	__u32 _pad;
};
TN_STATIC_ASSERT(sizeof(struct tn_vip_slot) == 48, "tn_vip_slot layout");
struct tn_vip_dir {
	struct tn_vip_slot s[TN_VIP_DIR_SIZE];
};

/*
 * Keys as whole words: the data plane stores its keys in 8-byte words, since
 * a wide load of bytes just written by narrow stores (the VIP slot's hash and
 * compare, the Maglev hash, the kernel's jhash) waits for them to retire.
 * tn_wN(a, b): the word holding a then b in memory.
 */
static __attribute__((always_inline)) inline __u16 tn_w16(__u8 a, __u8 b)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u16)(a | b << 8);
#else
	return (__u16)(a << 8 | b);
#endif
}

static __attribute__((always_inline)) inline __u32 tn_w32(__u16 a, __u16 b)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u32)a | (__u32)b << 16;
#else
	return (__u32)a << 16 | (__u32)b;
#endif
}

static __attribute__((always_inline)) inline __u64 tn_w64(__u32 a, __u32 b)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u64)a | (__u64)b << 32;
#else
	return (__u64)a << 32 | (__u64)b;
#endif
}

/* A 16-byte address as its two words (4-byte aligned). */
static __attribute__((always_inline)) inline void tn_addr_words(const __u8 *addr, __u64 *w)
{
	const __u32 *a = (const __u32 *)addr;

	w[0] = tn_w64(a[0], a[1]);
	w[1] = tn_w64(a[2], a[3]);
}

/* A VIP key's last 8 bytes: port, proto, family, kind, padding. */
static __attribute__((always_inline)) inline __u64 tn_vip_key_tail(__be16 port, __u8 proto, __u8 family,
								    __u8 kind)
{
	return tn_w64(tn_w32(port, tn_w16(proto, family)), tn_w32(tn_w16(kind, 0), 0));
}

/* A general conntrack key's last 8 bytes: sport, dport, farm_slot, proto, family. */
static __attribute__((always_inline)) inline __u64 tn_ct_key_tail(__be16 sport, __be16 dport, __u16 farm_slot,
								   __u8 proto, __u8 family)
{
	return tn_w64(tn_w32(sport, dport), tn_w32(farm_slot, tn_w16(proto, family)));
}

/* An IPv4 conntrack4 key, whole. */
static __attribute__((always_inline)) inline __u64 tn_ct4_key_word(__be32 src, __u16 farm_slot)
{
	return tn_w64(src, tn_w32(farm_slot, 0));
}

/* Every packet to a VIP computes this: the address folded and the rest of
 * the key each multiplied (independent, the CPU runs both at once), then
 * murmur3's finaliser. Six rounds of tn_mix in series cost 11 % of a tracked
 * packet's ns and spread VIP sets no better (about the share of keys in
 * shared slots a random function gives: 18 % at 1,600 keys). */
static __attribute__((always_inline)) inline __u32 tn_vip_slot(const struct tn_vip_key *k)
{
	__u32 w[6], h;

	__builtin_memcpy(w, k, sizeof(w));
	h = (w[0] ^ w[1] ^ w[2] ^ w[3]) * 0x9e3779b1u ^ (w[4] ^ tn_rol32(w[5], 16)) * 0x85ebca6bu;
	return tn_fmix(h) & (TN_VIP_DIR_SIZE - 1);
}

/* Map a 32-bit hash onto [0, n) without a division. */
static __attribute__((always_inline)) inline __u32 tn_reduce(__u32 hash, __u32 n)
{
	return (__u32)(((__u64)hash * (__u64)n) >> 32);
}

#endif /* TENACE_H */
