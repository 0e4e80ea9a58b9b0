/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The data-plane module: everything user space does with the XDP program and
 * its maps. Open/load the skeleton with settings, pin and reuse maps under a
 * bpffs directory (so conntrack survives restarts), attach to interfaces
 * without a gap, write whole farms and swap them atomically, set VIPs and
 * source filters, read counters, and say what an interface's driver does
 * with the frames XDP sends.
 *
 * Files: load.c (open, settings), pins.c (bpffs, pin directories), attach.c,
 * link.c (veth peers, driver counters), farm.c, vips.c, counters.c.
 *
 * Every function returns 0 or a negative errno and, on failure, logs one
 * sentence naming the object and the reason.
 */
#ifndef TENACE_DATAPLANE_H
#define TENACE_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tenace.h"

struct tn_dp;

struct tn_dp_settings {
	uint32_t table_size;    /* prime, <= TN_TABLE_SIZE_MAX */
	uint32_t ct_size;
	uint32_t tcp_timeout_s;
	uint32_t udp_timeout_s;
	uint32_t hash_seed;
	uint32_t udp_admit_rate; /* new UDP clients tracked per second per CPU, 0: no limit (not pinned) */
	uint32_t tcp_admit_rate; /* new TCP clients past their SYN, the same (not pinned) */
};

/* Defaults: TN_TABLE_SIZE_DEFAULT, TN_CT_SIZE_DEFAULT, ... */
void tn_dp_settings_default(struct tn_dp_settings *s);
/* An admission rate per second as the entries each CPU admits per window of
 * 2^TN_ADMIT_WINDOW_SHIFT ns, rounded up (a non-zero rate never becomes none). */
uint32_t tn_dp_admit_per_window(uint32_t rate);

/*
 * Open and load the data plane. pin_dir: NULL for TN_PIN_DIR_DEFAULT, "" for
 * no pinning (tests), else an absolute path (see tn_dp_pin_dir_ensure). When
 * pinned maps exist they are reused, and their recorded settings win over
 * `want` unless they conflict (then -EEXIST with a message saying to unload
 * first). want may be NULL (pinned or defaults). Settings pinned by an older
 * Tenace (version 1) are read and recorded again in the current layout; maps
 * of any other layout are refused (-EEXIST, "unload ... --all").
 */
int tn_dp_open(struct tn_dp **out, const char *pin_dir, const struct tn_dp_settings *want);
void tn_dp_close(struct tn_dp *dp);  /* pinned maps and attached programs stay */
const struct tn_dp_settings *tn_dp_get_settings(const struct tn_dp *dp);
int tn_dp_prog_fd(const struct tn_dp *dp);
const char *tn_dp_pin_dir(const struct tn_dp *dp);

/* Settings recorded by an earlier load in pin_dir (either version): 0, or -ENOENT. */
int tn_dp_read_pinned_settings(const char *pin_dir, struct tn_dp_settings *out);

/* Mount bpffs at /sys/fs/bpf when nothing is mounted there. */
int tn_dp_ensure_bpffs(void);
/*
 * Make pin_dir (absolute, < TN_SETTINGS_PIN_DIR_LEN bytes; "" is a no-op) a
 * directory on a bpffs: under /sys/fs/bpf, a bpffs there as above; elsewhere,
 * a directory on a bpffs is created as needed, and when the path is on no
 * bpffs (a fresh /sys inside `ip netns exec`, a tmp directory) one is
 * mounted on the pin directory itself (created, and refused when not empty),
 * with a warning that pinned state lasts only as long as that mount (a
 * private mount namespace drops it when it ends). 0 or -errno (logged).
 * Call it before taking a lock on the directory: the mount hides what was
 * there. tn_dp_open calls it too.
 */
int tn_dp_pin_dir_ensure(const char *pin_dir);

/*
 * Attach to an interface (native XDP, or generic with skb_mode). Only this
 * instance's own program (one using these pinned maps) is replaced, in place
 * (XDP_FLAGS_REPLACE: no gap). Refused with -EBUSY and a message saying what
 * to do: another tool's program (either mode); another Tenace instance (its
 * pin directory named, read from its settings map); this instance in the
 * other mode (never a detach-then-attach gap).
 */
int tn_dp_attach(struct tn_dp *dp, int ifindex, bool skb_mode);
/* Detach whatever XDP program is on the interface (both modes). */
int tn_dp_detach_ifindex(int ifindex);
/* Detach Tenace from every interface whose program's maps are pinned in
 * pin_dir (its settings record the directory): how many, or -errno. */
int tn_dp_detach_pinned(const char *pin_dir);
/* The XDP program id attached to ifindex and its mode ("native"/"skb"/"none"). */
int tn_dp_query(int ifindex, uint32_t *prog_id, const char **mode);
/* The id of this data plane's XDP program (0 if unknown). */
uint32_t tn_dp_prog_id(const struct tn_dp *dp);
/* Remove the pin directory and everything in it. */
int tn_dp_unpin(const char *pin_dir);

/*
 * A veth delivers frames sent by XDP (XDP_TX, redirects) only when its peer
 * runs a native XDP program (or has GRO on); otherwise the driver drops them
 * while the data plane counts them as sent. Returns 0 when there is nothing
 * to say (not a veth, or its peer takes such frames); 1 with a sentence in
 * warn ("the veth peer of X (Y) has no XDP program: frames sent with XDP_TX
 * are dropped; attach one to the peer (any XDP_PASS program)", or that the
 * peer, in another namespace, cannot be checked); -errno when the interface
 * cannot be read. Callers attaching in native mode may add their own
 * alternative (" or use --skb": generic XDP transmits through the stack).
 */
int tn_dp_veth_peer_check(int ifindex, char *warn, size_t len);
/*
 * The driver's count of frames sent by XDP that it dropped (ethtool
 * statistics named like xdp_tx_errors, tx_xdp_err, xdp_xmit_errors, summed
 * over queues). 0, -EOPNOTSUPP when the driver reports none, or -errno.
 */
int tn_dp_xdp_tx_errors(int ifindex, uint64_t *out);

/* One server as the data plane needs it. */
struct tn_dp_server {
	uint32_t server_id;
	uint8_t family;        /* 4 or 6 */
	uint8_t addr[16];
	uint16_t port;
	uint16_t weight;       /* 0..256; 0 = no new clients, tracked ones stay */
	bool up;               /* health; false = tracked clients move at once */
	bool backup;           /* used only when no non-backup server is up */
	uint8_t mac[6];
	uint8_t src_mac[6];
	uint32_t ifindex;
};

struct tn_dp_farm {
	uint32_t farm_id;
	uint8_t proto;         /* IPPROTO_TCP / IPPROTO_UDP */
	uint8_t balance;       /* TN_BALANCE_* */
	uint8_t stickiness;    /* TN_STICKY_* */
	struct tn_encap encap; /* forwarding (zero: dsr) */
	const struct tn_dp_server *servers;
	size_t nservers;
};

/*
 * Build the farm's complete value (servers in stable slots, weighted Maglev
 * table) in a new inner map and put it into the outer slot with one update.
 * Servers keep their slot across writes (matched by their identity tag), so
 * tracked clients stay on them. *generation (may be NULL) gets the new one.
 */
int tn_dp_farm_write(struct tn_dp *dp, uint32_t farm_slot, const struct tn_dp_farm *f, uint64_t *generation);
/* What tn_dp_farm_write would swap into the slot (farm_slot < 0: a farm not
 * in any slot yet), built the same way from the slot's current value, into
 * out (sizeof(struct tn_farm) bytes); nothing is written. */
int tn_dp_farm_build(struct tn_dp *dp, int farm_slot, const struct tn_dp_farm *f, struct tn_farm *out);
/* The same without a data plane: the value following `old` (NULL: an empty
 * slot) for a table of table_size entries and a hash seed. */
int tn_farm_compose(const struct tn_farm *old, const struct tn_dp_farm *f, uint32_t table_size, uint32_t seed,
		    struct tn_farm *out);
int tn_dp_farm_clear(struct tn_dp *dp, uint32_t farm_slot);
/* Read back the farm in a slot (header, and slot of each server id). */
int tn_dp_farm_read(struct tn_dp *dp, uint32_t farm_slot, struct tn_farm_hdr *hdr,
		    struct tn_server *servers /* TN_MAX_SERVERS or NULL */,
		    uint16_t *table /* table_size or NULL */);

/* Every VIP entry in place (malloc'd arrays, free both): 0 or -ENOMEM. */
int tn_dp_vips_dump(struct tn_dp *dp, struct tn_vip_key **keys, struct tn_vip **vals, size_t *n);
/* Replace the whole VIP set in one pass (stale keys deleted after new ones
 * are in), with the per-address entry of each address used for fragments
 * and malformed packets (pointing to its lowest port's farm). */
int tn_dp_vips_replace(struct tn_dp *dp, const struct tn_vip_key *keys, const struct tn_vip *vals, size_t n);

/* Source filters of one VIP index: replace its allow or deny list. */
struct tn_dp_prefix {
	uint8_t family;
	uint8_t addr[16];
	uint8_t prefixlen;     /* 0..32 / 0..128 */
};
int tn_dp_filters_set(struct tn_dp *dp, uint32_t vip_index, bool allow,
		      const struct tn_dp_prefix *prefixes, size_t n);

/* Redirect targets: an interface servers sit behind (other than ingress). */
int tn_dp_tx_port_add(struct tn_dp *dp, uint32_t ifindex);

/* Counters summed over CPUs. */
int tn_dp_reason_counters(struct tn_dp *dp, struct tn_counter out[TN_R__COUNT]);
int tn_dp_vip_counter(struct tn_dp *dp, uint32_t vip_index, struct tn_counter *out);
int tn_dp_server_counter(struct tn_dp *dp, uint32_t farm_slot, uint32_t slot, struct tn_counter *out);
const char *tn_reason_name(enum tn_reason r);  /* "drop_no_server", ... */

/* Conntrack as the data plane judges it: its clock (CLOCK_MONOTONIC_COARSE)
 * and timeouts, then every entry to fn (non-zero stops the walk; an IPv4
 * sourceIp entry comes with its tag's low TN_CT_TAG_BITS). 0 or -errno. */
struct tn_ct_clock {
	uint64_t now_ns, tcp_timeout_ns, udp_timeout_ns;
};
typedef int (*tn_ct_fn)(void *arg, const struct tn_ct_clock *clk, const struct tn_ct_key *k,
			const struct tn_ct_value *v);
int tn_dp_ct_foreach(struct tn_dp *dp, tn_ct_fn fn, void *arg);
/* Entries in the conntrack, expired ones included (a walk): 0 or -errno. */
int tn_dp_ct_count(struct tn_dp *dp, uint64_t *n);
/* Every entry deleted (both maps): 0 or -errno. */
int tn_dp_ct_clear(struct tn_dp *dp);
/* An entry the data plane would find expired for a packet of proto. */
bool tn_ct_expired(const struct tn_ct_clock *clk, const struct tn_ct_value *v, uint8_t proto);

/* Map fds for tests and tools. */
int tn_dp_map_fd(const struct tn_dp *dp, const char *name); /* "conntrack", "vips", ... */

/* Identity tag of a server (address, port): what conntrack remembers. It does
 * not depend on the hash seed, so a seed change keeps tracked clients. */
uint32_t tn_server_tag(uint8_t family, const uint8_t addr[16], uint16_t port);

#endif /* TENACE_DATAPLANE_H */
