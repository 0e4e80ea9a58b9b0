/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The controller's insides, shared by the files of user/control only.
 *
 * ---- Lock discipline -------------------------------------------------------
 * Three mutexes, always taken in this order: staging -> writer -> state.
 *
 * state   (tn_ctl_lock) short critical sections over memory only: the
 *         configurations, the runtime tables (servers, MAC resolutions),
 *         farm slots, VIP indexes, tasks and counters: what the API reads.
 *         Never held across a call that can block (bpf syscalls, netlink,
 *         fsync or any file I/O, sleeping) nor across a Maglev build (the
 *         backend's farm_write builds the table): every such call goes
 *         through calls.c, which asserts that this thread does not hold it.
 * writer  serialises everything that changes the data plane: refresh tasks,
 *         reload, start, health changes, the tick (MAC retries, rewrites of
 *         dirty farms, counter samples). A writer plans under the state lock
 *         (copies what it needs into private jobs), releases it, resolves
 *         MACs, builds tables and writes maps, then re-takes the state lock
 *         to record the outcome (slots, generations, errors, the applied
 *         configuration). Readers meanwhile see the state before the change.
 * staging serialises writers of the staged configuration and of the
 *         configuration file (API changes, SIGHUP). A stager copies the
 *         staged configuration, edits and validates the copy and writes the
 *         file under this lock alone, then installs the copy under the state
 *         lock. Since every writer of `staged` holds the staging lock from
 *         its snapshot to its install, nothing can change in between (no
 *         retry path is needed) and a staged change is never lost.
 *
 * Who may read what without the state lock:
 * - `staged` is written with both the staging and the state lock held, so
 *   either lock is enough to read it.
 * - `applied`, slots, VIP indexes and tx_ports are written only by the writer
 *   (under the state lock), so the writer reads them without it.
 * - Runtime table entries (struct srv_state, struct resolution) are created
 *   under the state lock by anyone, but freed only by the writer (gc after
 *   a change of either configuration), so the writer may keep pointers to
 *   them across releases of the state lock; their fields are read and
 *   written under the state lock.
 *
 * Debug builds (assert enabled) check it: a thread-local mask says which of
 * the three locks this thread holds; calls.c and the tn_ctl_* functions that
 * need a lock held (or not held) assert on it.
 * ---------------------------------------------------------------------------
 */
#ifndef TENACE_CONTROL_INTERNAL_H
#define TENACE_CONTROL_INTERNAL_H

#include <assert.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include "control/controller.h"
#include "control/encap.h"
#include "lib/hash.h"
#include "lib/time.h"

#define ERR_MAX 200
#define MAX_TASKS 256
/* Health transitions kept for GET /v1/transitions (a ring: the newest). */
#define MAX_TRANSITIONS 128

/* ---- locks (locks.c) ---- */

enum { HELD_STATE = 1, HELD_WRITER = 2, HELD_STAGING = 4 };
extern _Thread_local unsigned ctl_held;

#define ASSERT_STATE_HELD() assert(ctl_held & HELD_STATE)
#define ASSERT_STATE_FREE() assert(!(ctl_held & HELD_STATE))
#define ASSERT_WRITER() assert(ctl_held & HELD_WRITER)
/* staged may be read under either lock */
#define ASSERT_STAGED_READABLE() assert(ctl_held & (HELD_STATE | HELD_STAGING))

void ctl_writer_lock(struct tn_ctl *ctl);
void ctl_writer_unlock(struct tn_ctl *ctl);

/* ---- what the controller keeps ---- */

/* What the controller knows about one server beyond its configuration. */
struct srv_state {
	struct tn_hash_node by_id, by_key;
	uint64_t key;            /* probe target key */
	uint8_t type;
	uint32_t farm_id, server_id;
	int health;              /* -1 unknown (treated as up), 0 down, 1 up */
	double since;
	char last_error[ERR_MAX];
	struct tn_probe_state check; /* the engine's latest check (check.known: any yet) */
	uint64_t transitions;
	int dp_slot;             /* slot in the data plane's farm, -1 none */
	struct tn_counter cur, prev;
	double pps, bps;
	uint64_t tracked;        /* clients the conntrack sends to it (ctl->census) */
	bool mark;               /* gc */
};

/* MAC resolution of one address. */
struct resolution {
	struct tn_hash_node node;
	struct tn_addr addr;
	bool have_mac;
	int err;                 /* 0 resolved, -EAGAIN pending, -ENODATA never tried, other: failed */
	bool ever;               /* resolved at least once */
	bool queued;             /* in a resolve batch being asked */
	struct tn_neigh_info info;
	char ifname[IF_NAMESIZE];/* of info.ifindex, "" unknown */
	char error[ERR_MAX];
	double last_try, since;
	bool mark;               /* gc */
};

struct farm_slot {
	bool used, dirty;
	uint8_t type;
	uint32_t farm_id;
	uint64_t generation;
	char error[ERR_MAX];
};

struct vip_index {
	bool used;
	uint8_t type;
	uint32_t frontend_id;
	struct tn_addr addr;
	struct tn_counter cur, prev;
	double pps, bps;
};

enum task_status { TASK_TODO, TASK_DOING, TASK_DONE, TASK_ERROR };

struct task {
	uint32_t id;
	enum task_status status;
	char *zone;              /* NULL: every zone */
	double created, done;
	char *message;
	double max_moved;        /* refuse when a farm would move more than this % of its tracked clients; < 0 none */
};

/* One health change of a probed server, as the status showed it. */
struct transition {
	double time;
	uint8_t type;
	uint32_t farm_id, server_id;
	int8_t from, to;         /* -1 unknown, 0 down, 1 up */
	char reason[ERR_MAX];
};

struct tn_ctl {
	pthread_mutex_t state, writer, staging;
	struct tn_ctl_backend be;
	char *config_path;
	char *state_path;
	char *tasks_path;        /* state_path + ".tasks": the refresh tasks, for a restart */
	struct file_seen {       /* the configuration file as the controller last read or wrote it */
		bool known;
		dev_t dev;
		ino_t ino;
		off_t size;
		struct timespec mtime;
	} file_seen;
	char *pin_dir;
	bool skb_mode;
	int wakeup_fd;
	struct tn_config applied, staged;
	bool gc_wanted;          /* staged changed: forget servers of neither config */
	struct farm_slot slots[TN_MAX_FARMS];
	struct vip_index vips[TN_MAX_VIPS];
	uint32_t tx_ports[TN_MAX_IFACES];
	size_t ntx_ports;
	struct tn_hash servers;  /* srv_state.by_id: (type, farm, server) */
	struct tn_hash keys;     /* srv_state.by_key: probe key */
	struct tn_hash resolutions;
	uint64_t next_key, applied_version;
	struct task tasks[MAX_TASKS]; /* ring */
	uint32_t next_task_id;
	struct tn_counter reasons[TN_R__COUNT], reasons_prev[TN_R__COUNT];
	double reason_pps[TN_R__COUNT], reason_bps[TN_R__COUNT];
	double sample_time, sample_interval;
	uint64_t probe_transitions;
	struct transition transitions[MAX_TRANSITIONS]; /* ring, by probe_transitions */
	double started;
	struct tn_node *node;    /* control/node.h; NULL: no fleet */
	struct seen_iface {      /* the daemon's interface checks (observe.c) */
		char name[16];
		enum tn_ctl_attach state;
		uint64_t detaches;
	} seen_ifaces[TN_MAX_IFACES];
	struct ct_census {       /* tracked.c: the last walk of the conntrack */
		bool known;
		uint64_t entries;    /* every entry in the map, live or not */
		uint32_t capacity;   /* the running data plane's conntrack size (0: unknown) */
		double at, took, next; /* when (realtime), how long (s), next walk (monotonic) */
		int err;             /* the last walk's failure (said once) */
	} census;
	uint64_t reloads[TN_RELOAD__COUNT];
	double last_reload;      /* CLOCK_REALTIME seconds, 0: none yet */
	bool last_reload_ok;
};

/* ---- small helpers ---- */

static inline uint8_t l4_proto(enum tn_l4_type t)
{
	return t == TN_L4_UDP ? IPPROTO_UDP : IPPROTO_TCP;
}

static inline const char *node_zone(const struct tn_config *c)
{
	return c->zone ? c->zone : "default";
}

static inline const char *farm_zone(const struct tn_config *c, const struct tn_farm_cfg *f)
{
	return f->zone ? f->zone : node_zone(c);
}

static inline const char *frontend_zone(const struct tn_config *c, const struct tn_frontend_cfg *f)
{
	return f->zone ? f->zone : node_zone(c);
}

static inline bool probed(const struct tn_farm_cfg *f, const struct tn_server_cfg *s)
{
	return f->probe.type != TN_PROBE_NONE && s->probe;
}

static inline bool addr_equal(const struct tn_addr *a, const struct tn_addr *b)
{
	return a->family == b->family && !memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

/* The daemon's last check of an interface, NULL if none (observe.c; state lock held). */
const struct seen_iface *observed_iface(struct tn_ctl *ctl, const char *name);

/* The server a conntrack entry still goes to at its next packet, as
 * bpf/tenace.bpf.c judges it: the same incarnation, used and up, and once
 * idle past its timeout, only while that server is still in the table. */
static inline bool ct_keeps(const struct tn_server *s, const struct tn_ct_value *v, bool idle)
{
	return s && tn_ct_tag_eq(s->tag, v->tag) && (s->flags & (TN_SRV_F_USED | TN_SRV_F_UP)) == (TN_SRV_F_USED | TN_SRV_F_UP) &&
	       (!idle || (s->flags & TN_SRV_F_IN_TABLE));
}

/* Once in a while, by the tick (writer held, state lock free): count the
 * tracked clients of every server from the conntrack (tracked.c). */
void tracked_tick(struct tn_ctl *ctl, double now);

/* ISO 8601 UTC text, or NULL (JSON null) for t <= 0 (status.c). */
json_object *json_time(double t);
/* "; "-separated messages into a fixed buffer (a full buffer drops the rest). */
void msg_append(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Append copies (the configurations own their objects): 0 or -ENOMEM. */
int append_farm(struct tn_config *c, const struct tn_farm_cfg *f);
int append_frontend(struct tn_config *c, const struct tn_frontend_cfg *f);

/* ---- calls that leave the process (calls.c): no state lock ---- */

int call_farm_write(struct tn_ctl *ctl, uint32_t slot, const struct tn_dp_farm *f, uint64_t *gen);
int call_farm_clear(struct tn_ctl *ctl, uint32_t slot);
int call_farm_build(struct tn_ctl *ctl, int slot, const struct tn_dp_farm *f, struct tn_farm *out);
int call_farm_table(struct tn_ctl *ctl, int slot, struct tn_farm *out);
int call_ct_foreach(struct tn_ctl *ctl, tn_ct_fn fn, void *arg);
int call_farm_read(struct tn_ctl *ctl, uint32_t slot, struct tn_farm_hdr *hdr, struct tn_server *servers);
int call_vips_replace(struct tn_ctl *ctl, const struct tn_vip_key *k, const struct tn_vip *v, size_t n);
int call_vips_dump(struct tn_ctl *ctl, struct tn_vip_key **k, struct tn_vip **v, size_t *n);
int call_filters_set(struct tn_ctl *ctl, uint32_t idx, bool allow, const struct tn_dp_prefix *p, size_t n);
int call_tx_port_add(struct tn_ctl *ctl, uint32_t ifindex);
int call_resolve(struct tn_ctl *ctl, const struct tn_addr *a, bool have_mac, struct tn_neigh_info *out,
		 char *err, size_t errlen);
/* Counters: 1 when read, 0 when the backend has none (out untouched), -errno. */
int call_reason_counters(struct tn_ctl *ctl, struct tn_counter out[TN_R__COUNT]);
int call_vip_counter(struct tn_ctl *ctl, uint32_t idx, struct tn_counter *out);
int call_server_counter(struct tn_ctl *ctl, uint32_t farm_slot, uint32_t slot, struct tn_counter *out);
/* An interface's index and XDP program (netlink): 0 or -errno. */
int call_xdp_query(const char *name, int *ifindex, uint32_t *prog_id, const char **mode);
int call_file_save(const char *path, const char *text);
int call_config_save(const struct tn_config *c, const char *path);
void call_wakeup(struct tn_ctl *ctl);
void call_sleep_ms(int ms);

/* ---- runtime tables (runtime.c): state lock held ---- */

struct srv_state *srv_find(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id, uint32_t server_id);
struct srv_state *srv_get(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id, uint32_t server_id);
struct srv_state *srv_by_key(struct tn_ctl *ctl, uint64_t key);
struct resolution *res_find(struct tn_ctl *ctl, const struct tn_addr *a, bool have_mac);
struct resolution *res_get(struct tn_ctl *ctl, const struct tn_addr *a, bool have_mac);
/* Writer: forget what neither configuration uses (health, counters, MACs). */
void ctl_gc(struct tn_ctl *ctl);
void ctl_tables_free(struct tn_ctl *ctl);
void reset_changed_servers(struct tn_ctl *ctl, const struct tn_farm_cfg *old, const struct tn_farm_cfg *f);
/* s (of f) has another address or port than in old: a new server, whose health starts unknown. */
bool server_readdressed(const struct tn_farm_cfg *old, const struct tn_farm_cfg *f, const struct tn_server_cfg *s);

/* A server as the API shows it and the data plane gets it (read-only). */
struct server_view {
	bool resolved, up;
	int health;
	const char *error;
	const struct resolution *res;
	const struct srv_state *st;
};
void server_view(struct tn_ctl *ctl, const struct tn_farm_cfg *f, const struct tn_server_cfg *s,
		 struct server_view *v);

/* ---- MAC resolution batches (resolve.c) ---- */

struct res_job;
struct res_batch {
	struct res_job *v;
	size_t n, cap;
};
/* State lock held: queue r (once). 0 or -ENOMEM. */
int res_batch_add(struct res_batch *b, struct resolution *r);
/* No lock: ask the kernel for every queued address. */
void res_batch_run(struct tn_ctl *ctl, struct res_batch *b);
/* State lock held: record the answers; returns how many are still pending
 * (-EAGAIN). changed (may be NULL) is called for each one whose MAC,
 * interface or state changed what the data plane needs. */
int res_batch_record(struct tn_ctl *ctl, struct res_batch *b,
		     void (*changed)(struct tn_ctl *, const struct resolution *));
/* No lock: the log lines of the recorded answers; frees the batch. */
void res_batch_done(struct res_batch *b);
/* Writer, no lock: resolve the servers of c that `want` picks, in rounds
 * every 100 ms while some are pending (rounds 1: once). c NULL: staged. */
void resolve_config(struct tn_ctl *ctl, const struct tn_config *c, int rounds,
		    bool (*want)(const struct resolution *));
bool res_never_tried(const struct resolution *r);
bool res_unresolved(const struct resolution *r);

/* ---- farm slots and VIP indexes (slots.c): state lock held ---- */

int slot_of(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id);
int slot_alloc(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t farm_id);
int vip_index_of(struct tn_ctl *ctl, enum tn_l4_type t, uint32_t frontend_id, const struct tn_addr *a,
		 bool create, bool *created);
/* Writer, no lock: learn the slots and VIP indexes of a running data plane. */
/* Writer lock held. The running data plane's slots, VIP indexes and the
 * health it had (servers of c it had down); -EAGAIN when a slot could not
 * be read (nothing may be rewritten then). */
int take_over(struct tn_ctl *ctl, const struct tn_config *c);
/* Writer, state lock free (tasks.c): the tasks to the tasks file; at start,
 * the file's tasks back, a task a stop interrupted marked error. */
void tasks_save(struct tn_ctl *ctl);
void tasks_restore(struct tn_ctl *ctl);

/* ---- writing farms (build.c) ---- */

/* Writer, no lock: rebuild the farms (pointers stay valid: applied or the
 * writer's own copy) and swap each into its slot. err[i] (may be NULL) gets
 * 0 or -errno per farm (message in the slot's error); returns the number
 * of failures. */
int farms_write(struct tn_ctl *ctl, const struct tn_farm_cfg *const *farms, size_t n, int *err);
int farm_write_one(struct tn_ctl *ctl, const struct tn_farm_cfg *f);
/* Writer, no lock: what farms_write would swap into each farm's slot (out[i]:
 * sizeof(struct tn_farm) bytes), planned and built the same way (MACs of new
 * servers asked first), with nothing written and no slot taken. err[i] gets
 * 0 or -errno; returns the number of failures. */
int farms_build(struct tn_ctl *ctl, const struct tn_farm_cfg *const *farms, size_t n, struct tn_farm **out,
		int *err);
/* State lock held: a refresh rewrites f (old: the applied one, NULL new; slot
 * its slot, -1 none) when it is new, changed, or dirty (a failed write). */
static inline bool farm_needs_write(const struct tn_ctl *ctl, int slot, const struct tn_farm_cfg *old,
				    const struct tn_farm_cfg *f)
{
	return slot < 0 || ctl->slots[slot].dirty || !old || !tn_farm_equal(old, f);
}

/* ---- previews (preview.c) ---- */

/* The applied configuration with the staged objects of one zone (NULL: all)
 * (tasks.c): what a refresh of that zone applies. 0 or -ENOMEM. */
bool zone_known(const struct tn_ctl *ctl, const char *zone);
int merge_zone(const struct tn_config *ap, const struct tn_config *st, const char *zone, struct tn_config *out);
struct preview;
/* Writer, no lock: what applying next would move, per farm it rewrites or removes. */
struct preview *preview_run(struct tn_ctl *ctl, const struct tn_config *next, int *err);
void preview_free(struct preview *p);
json_object *preview_json(const struct preview *p);
/* The first farm moving more than max_moved % of its tracked clients: a
 * sentence naming it into msg, true; false when none does. */
bool preview_over(const struct preview *p, double max_moved, char *msg, size_t len);

/* ---- applying a configuration (reconcile.c) ---- */

/* Writer, no lock: make the data plane serve `next` (prev: what it serves,
 * NULL at start). *served gets what it serves afterwards. Returns the
 * number of errors (in msg), or -ENOMEM (nothing to record). */
int apply_config(struct tn_ctl *ctl, const struct tn_config *prev, const struct tn_config *next,
		 struct tn_config *served, char *msg, size_t msglen);
/* Writer, no lock: `served` becomes the applied configuration (rc < 0: the
 * previous one stays), then the state file is written. */
void set_applied(struct tn_ctl *ctl, struct tn_config *served, int rc);

#endif /* TENACE_CONTROL_INTERNAL_H */
