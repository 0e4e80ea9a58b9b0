/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The controller's state: the applied configuration (what the data plane
 * serves), the staged one (what the API edits), refresh tasks, server health
 * and MAC resolution, farm slots and VIP indexes, and counter samples.
 *
 * It talks to the data plane through a backend (the real one wraps
 * dataplane.h and neigh.h; tests pass a recorder), so everything here can be
 * unit-tested without BPF.
 *
 * Locks (control/internal.h tells the whole discipline): tn_ctl_lock() is
 * the short state lock readers take; it is never held across a backend
 * call, a file write or a Maglev build. Functions marked "writer" change
 * the data plane: they serialise among themselves and take the state lock
 * only for moments, so call them WITHOUT it. tn_ctl_stage_lock() serialises
 * writers of the staged configuration and of its file. Order: staging
 * lock, then (inside writers) the state lock.
 */
#ifndef TENACE_CONTROLLER_H
#define TENACE_CONTROLLER_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "config/config.h"
#include "dataplane/dataplane.h"
#include "dataplane/encap.h"
#include "dataplane/fib.h"
#include "dataplane/neigh.h"
#include "probe/probe.h"

struct tn_ctl;

struct tn_ctl_backend {
	void *ctx;
	int (*farm_write)(void *ctx, uint32_t slot, const struct tn_dp_farm *f, uint64_t *generation);
	int (*farm_clear)(void *ctx, uint32_t slot);
	/* What a slot holds (to take over pinned state): 0, or -ENOENT when empty. */
	int (*farm_read)(void *ctx, uint32_t slot, struct tn_farm_hdr *hdr, struct tn_server *servers);
	int (*vips_replace)(void *ctx, const struct tn_vip_key *keys, const struct tn_vip *vals, size_t n);
	/* The VIP entries in place (malloc'd arrays), to keep VIP indexes; optional. */
	int (*vips_dump)(void *ctx, struct tn_vip_key **keys, struct tn_vip **vals, size_t *n);
	int (*filters_set)(void *ctx, uint32_t vip_index, bool allow, const struct tn_dp_prefix *p, size_t n);
	int (*tx_port_add)(void *ctx, uint32_t ifindex);
	/* tn_neigh_resolve's contract. */
	int (*resolve)(void *ctx, const struct tn_addr *a, bool have_mac, bool trigger,
		       struct tn_neigh_info *out, char *err, size_t errlen);
	/* Counters (optional: NULL reads zeros). */
	int (*reason_counters)(void *ctx, struct tn_counter out[TN_R__COUNT]);
	int (*vip_counter)(void *ctx, uint32_t vip_index, struct tn_counter *out);
	int (*server_counter)(void *ctx, uint32_t farm_slot, uint32_t slot, struct tn_counter *out);
	/* A slot's whole farm with its table (table_size entries): optional. */
	int (*farm_table)(void *ctx, uint32_t slot, struct tn_farm_hdr *hdr, struct tn_server *servers,
			  uint16_t *table);
	/* Previews (optional): what farm_write would write, written nowhere
	 * (slot -1: a farm in no slot yet; out: sizeof(struct tn_farm)); every
	 * conntrack entry with the data plane's clock. */
	int (*farm_build)(void *ctx, int slot, const struct tn_dp_farm *f, struct tn_farm *out);
	int (*ct_foreach)(void *ctx, tn_ct_fn fn, void *arg);
	/* Tunnels (optional, control/encap.c): the encapSource set; a tunnel's
	 * next hop as the data plane's FIB lookup finds it (0, nh->rc the FIB's
	 * answer; trigger: make the kernel resolve a missing one); the learnt
	 * path MTUs (malloc'd). */
	int (*encap_sources_set)(void *ctx, const struct tn_addr *a, size_t n);
	int (*nexthop)(void *ctx, uint32_t in_ifindex, const struct tn_addr *src, const struct tn_addr *dst,
		       bool trigger, struct tn_nexthop *nh);
	int (*pmtu_dump)(void *ctx, struct tn_dp_pmtu **out, size_t *n);
};

/* The production backend: tn_dp + rtnetlink. */
void tn_ctl_backend_dp(struct tn_ctl_backend *be, struct tn_dp *dp);

/* config_path: where API changes are written back (NULL: nowhere). */
struct tn_ctl *tn_ctl_new(const struct tn_ctl_backend *be, const char *config_path);
void tn_ctl_free(struct tn_ctl *ctl);
/* The state lock (not recursive). */
void tn_ctl_lock(struct tn_ctl *ctl);
void tn_ctl_unlock(struct tn_ctl *ctl);
/* The staging lock: held from reading the staged configuration (or the
 * configuration file, for a reload) to installing its replacement. */
void tn_ctl_stage_lock(struct tn_ctl *ctl);
void tn_ctl_stage_unlock(struct tn_ctl *ctl);
/* An fd written to (8 bytes, eventfd style) when a task is queued; -1 none. */
void tn_ctl_set_wakeup_fd(struct tn_ctl *ctl, int fd);
/* The running data plane's conntrack size, for status and /metrics. */
void tn_ctl_set_conntrack_capacity(struct tn_ctl *ctl, uint32_t entries);
/* Extra information for GET /v1/status. */
void tn_ctl_set_runtime(struct tn_ctl *ctl, const char *pin_dir, bool skb_mode);

/* The state file's name, in the socket's directory by default. */
#define TN_STATE_FILE "applied.json"

/* Where the applied configuration is written (atomically) each time it
 * changes: what the data plane serves, for a restarted controller (NULL:
 * nowhere). Call before tn_ctl_start. */
int tn_ctl_set_state_path(struct tn_ctl *ctl, const char *path);

/*
 * Take over the running state (pinned farm slots, VIP indexes), apply
 * `applied` and stage `staged` (NULL: the same document; a restarted
 * controller passes the state file and the configuration file, whose
 * differences are the pending changes). Both are moved (zeroed). What failed
 * to apply stays pending. Writer; call without any lock. Returns 0 or
 * -errno (errors logged); -EAGAIN: a farm slot of the running data plane
 * could not be read, nothing was written (and nothing moved: the caller
 * keeps its documents) and the data plane serves on as it was.
 */
int tn_ctl_start(struct tn_ctl *ctl, struct tn_config *applied, struct tn_config *staged);
/* SIGHUP: a new, valid document becomes staged and is applied to every
 * zone. cfg is moved. Writer; the caller holds the staging lock (taken
 * before it read the file, so no API change slips in between). */
int tn_ctl_reload(struct tn_ctl *ctl, struct tn_config *cfg);

/* The staged configuration: state lock or staging lock held. */
const struct tn_config *tn_ctl_staged(const struct tn_ctl *ctl);
/* Replace the staged configuration by a candidate built from it: validated,
 * written to the configuration file (fsync, outside the state lock), then
 * installed. 0 (candidate moved), -EINVAL with errs (invalid), -EIO with
 * errs (file not written); on error nothing changed and the candidate is
 * left to the caller. Staging lock held (since the snapshot), state lock not. */
int tn_ctl_stage(struct tn_ctl *ctl, struct tn_config *candidate, struct tn_errors *errs);

/* State lock held for all of the following. */
const struct tn_config *tn_ctl_applied(const struct tn_ctl *ctl);

/* [{"zone": z, "number": n}] over every zone with staged changes. */
json_object *tn_ctl_pending_json(struct tn_ctl *ctl);
/* Number of staged changes in a zone (NULL: all). */
int tn_ctl_pending_count(struct tn_ctl *ctl, const char *zone);
/* Queue a refresh of zone (NULL or "all": every zone). -ENOENT: unknown zone. */
int tn_ctl_refresh(struct tn_ctl *ctl, const char *zone, uint32_t *task_id);
/* The same, refused when it runs if a farm would then move more than
 * max_moved % of its tracked clients (< 0: no limit); the task says which. */
int tn_ctl_refresh_max_moved(struct tn_ctl *ctl, const char *zone, double max_moved, uint32_t *task_id);
json_object *tn_ctl_task_json(struct tn_ctl *ctl, uint32_t id); /* NULL: unknown */
/* The latest refresh tasks, newest first, at most max (0: all kept). */
json_object *tn_ctl_tasks_json(struct tn_ctl *ctl, size_t max);
/* {"total": N, "transitions": [{"time", "type", "farmId", "serverId",
 * "from", "to", "reason"}]}: the latest health changes of probed servers,
 * newest first, at most max (0: all kept, MAX_TRANSITIONS). */
json_object *tn_ctl_transitions_json(struct tn_ctl *ctl, size_t max);

/*
 * Writer (call without any lock): what refreshing zone (NULL or "all": every
 * zone) would do, built as the refresh builds it and written nowhere: per farm
 * it rewrites or removes, the table entries that change owner, the tracked
 * clients whose server would change (from the conntrack, as the data plane
 * judges them), each server's new-client share against its weight share.
 * A JSON array (preview.c tells the fields), or NULL with *err (-ENOENT:
 * unknown zone; -ENOMEM). max_moved >= 0: *over gets whether some farm would
 * move more of its tracked clients than that share, msg a sentence naming it.
 */
json_object *tn_ctl_preview_json(struct tn_ctl *ctl, const char *zone, double max_moved, bool *over, char *msg,
				 size_t len, int *err);

/* Writers: call without any lock. */
/* Run the tasks queued so far (the main loop calls it). Returns how many ran. */
int tn_ctl_run_tasks(struct tn_ctl *ctl);
/* Before running tasks: ask the kernel for the MACs of staged servers not
 * resolved yet and wait up to a second for them, so a refresh does not
 * apply a new server as unresolved. */
void tn_ctl_prime_staged(struct tn_ctl *ctl);
/* Health from the probe engine: rebuilds the farm from the APPLIED
 * configuration at once when the state changes. */
void tn_ctl_set_health(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id, uint32_t server_id,
		       bool up, const char *reason);
/* Health changes by probe target key (tn_ctl_probe_targets): all are
 * recorded, then each affected farm is rewritten once, so N servers failing
 * together cost one rebuild of their farm. Unknown keys are ignored. */
struct tn_health_change {
	uint64_t key;
	bool up;
	char reason[160];
};
void tn_ctl_health_apply(struct tn_ctl *ctl, const struct tn_health_change *v, size_t n);
/* One change: a batch of one. */
void tn_ctl_probe_result(struct tn_ctl *ctl, uint64_t key, bool up, const char *reason);
/* Once a second: retry MAC resolution, retry failed writes, sample counters. */
void tn_ctl_tick(struct tn_ctl *ctl);
/* State lock held. Probe targets of the applied configuration: one per
 * probed server, keyed by a stable number the controller maps back to the
 * server. Free with tn_ctl_probe_targets_free. */
struct tn_probe_target;
int tn_ctl_probe_targets(struct tn_ctl *ctl, struct tn_probe_target **out, size_t *n);
void tn_ctl_probe_targets_free(struct tn_probe_target *t, size_t n);
/* Bumped each time the applied configuration changes (state lock held). */
uint64_t tn_ctl_applied_version(struct tn_ctl *ctl);
/* Copy every probed server's latest check (result, reason, counts) for GET
 * /v1/status through `state` (the daemon passes the probe runner's). Lock held. */
void tn_ctl_probe_details(struct tn_ctl *ctl, tn_probe_state_fn state, void *arg);

/* ---- what the daemon saw, for /metrics (control/observe.c; take the state lock) ---- */
enum tn_ctl_attach {
	TN_ATTACH_OURS,              /* our program is on the interface */
	TN_ATTACH_NONE,              /* no XDP program (detached behind our back) */
	TN_ATTACH_FOREIGN,           /* another program replaced ours */
	TN_ATTACH_MISSING,           /* the interface does not exist */
};
/* The once-a-second check of one interface; detached: it found ours gone. */
void tn_ctl_note_attach(struct tn_ctl *ctl, const char *ifname, enum tn_ctl_attach state, bool detached);
enum tn_ctl_reload_result { TN_RELOAD_APPLIED, TN_RELOAD_PARTIAL, TN_RELOAD_REJECTED, TN_RELOAD__COUNT };
/* A SIGHUP's outcome (tn_ctl_reload notes applied/partial itself; the daemon notes a rejected file). */
void tn_ctl_note_reload(struct tn_ctl *ctl, enum tn_ctl_reload_result r);

/* Takes the state lock itself (call without it): the interfaces' XDP state
 * is asked of the kernel after the lock is released. */
json_object *tn_ctl_status_json(struct tn_ctl *ctl);
/* State lock held. */
json_object *tn_ctl_stats_json(struct tn_ctl *ctl);
char *tn_ctl_metrics(struct tn_ctl *ctl); /* Prometheus text, malloc'd */

/* Slot of an applied farm, -1 if none (tests; state lock held). */
int tn_ctl_farm_slot(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id);

/* ---- the node in a fleet (control/node.h) ---- */
struct tn_node;
/* The node whose status and metrics the controller's include, and which it
 * tells when health or the applied configuration change. */
void tn_ctl_set_node(struct tn_ctl *ctl, struct tn_node *node);
struct tn_node *tn_ctl_node(struct tn_ctl *ctl);
/* For the BGP decision, lock held: *up = servers of the applied farm that
 * take new clients with a known good health (probed up, or not probed;
 * resolved, active, weight > 0); *pending = a probed server has no result
 * yet. Both 0 for an unknown farm. */
void tn_ctl_farm_health(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id, int *up, bool *pending);
/* A farm's table as the data plane holds it (control/table.c): lock held. */
json_object *tn_ctl_farm_table_json(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id,
				    char *err, size_t errlen);
/* The backend's farm_table for a slot: 0 or -errno (-ENOTSUP without one). */
int tn_ctl_read_farm(struct tn_ctl *ctl, int slot, struct tn_farm_hdr *hdr, struct tn_server *servers,
		     uint16_t *table);

#endif /* TENACE_CONTROLLER_H */
