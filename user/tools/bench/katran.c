/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Katran beside Tenace (katran.h). The object is Katran's own program, built
 * from its sources outside this repository; this file only sets up its maps
 * the way Katran's user space (KatranLb.cpp) does and times it through the
 * bench's feeder, so both pay the same test-run and frame-rebuild overhead:
 *   vip_map      VIP4:80/UDP -> { flags 0, vip_num 0 }
 *   reals        indexes 1..8 -> 192.168.50.10..17 (index 0 is never used)
 *   ch_rings     vip_num * 65537 + i -> real index, a Maglev of equal weights
 *   ctl_array[0] the default router's MAC (the IPIP packet's destination MAC)
 *   lru_mapping  CPU -> its own LRU hash of KT_LRU_SIZE flows (Katran's
 *                per-core LRU; the first one is also the inner-map prototype)
 * The bench is pinned to one CPU while Katran is open: Katran's LRU is per
 * CPU, so a client is found again only on the CPU that inserted it.
 * The e2e section attaches the same set-up to the veth test bed's balancer
 * interface for windows alternating with Tenace's (katran_e2e_begin/_rep/_end).
 */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_feeder.skel.h"
#include "dataplane/maglev.h"
#include "tools/bench/common.h"
#include "tools/bench/katran.h"
#include "lib/log.h"

#define KT_RING_SIZE 65537            /* Katran's RING_SIZE */
#define KT_MAX_VIPS 512               /* MAX_VIPS: the global counters follow the per-VIP ones */
#define KT_STATS_LRU KT_MAX_VIPS      /* MAX_VIPS + LRU_CNTRS: v1 packets, v2 LRU misses */
#define KT_REALS 8
#define KT_LRU_SIZE 4000000u          /* per CPU: Katran's LruSize 8,000,000 over 2 forwarding cores */
#define KT_MAX_CPUS 128               /* MAX_SUPPORTED_CPUS */
#define KT_IPIP_GROWTH 20             /* the outer IPv4 header */

/* Katran's map keys and values (balancer_structs.h), checked against the object at open. */
struct kt_flow_key {
	uint32_t src[4], dst[4];
	uint16_t port16[2];
	uint8_t proto, pad[3];
};
struct kt_lru_val { uint32_t pos, pad; uint64_t atime; };
struct kt_vip_key { uint32_t vip[4]; uint16_t port; uint8_t proto, pad; };
struct kt_vip_meta { uint32_t flags, vip_num; };
struct kt_real { uint32_t dst[4]; uint8_t flags, pad[3]; };
struct kt_ctl { uint8_t mac[6], pad[2]; };
struct kt_stats { uint64_t v1, v2; };

_Static_assert(sizeof(struct kt_flow_key) == 40, "Katran's struct flow_key");
_Static_assert(sizeof(struct kt_lru_val) == 16, "Katran's struct real_pos_lru");
_Static_assert(sizeof(struct kt_vip_key) == 20, "Katran's struct vip_definition");
_Static_assert(sizeof(struct kt_real) == 20, "Katran's struct real_definition");

static const uint8_t KT_ROUTER_MAC[6] = { 0x02, 0x54, 0x4e, 0x00, 0x20, 0x01 };

const char *katran_obj;

/* Katran's row modes. */
enum kt_mode { KT_TRACKED, KT_NEW, KT_EVICT, KT_PASS };

static struct {
	struct bpf_object *obj;
	int prog_fd, stats_fd, ncpus, cpu;
	int lru_fd[KT_MAX_CPUS];
	bool tried, failed, evict_seen, pinned;
	cpu_set_t saved;
	uint64_t seq;        /* next never-seen client (new-client rows) */
	json_object *alone;  /* rows measured for Katran alone */
} kt = { .seq = 16 };

static int kt_fd(const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(kt.obj, name);
	int fd = m ? bpf_map__fd(m) : -1;

	if (fd < 0)
		tn_err("bench: katran: %s has no map %s (is it Katran's balancer.bpf.o?)", katran_obj, name);
	return fd;
}

/* The object's maps have the layout this file writes (before load). */
static int kt_check_layout(void)
{
	static const struct { const char *map; uint32_t key, value; } want[] = {
		{ "vip_map", sizeof(struct kt_vip_key), sizeof(struct kt_vip_meta) },
		{ "reals", 4, sizeof(struct kt_real) },
		{ "ch_rings", 4, 4 },
		{ "ctl_array", 4, sizeof(struct kt_ctl) },
		{ "stats", 4, sizeof(struct kt_stats) },
		{ "lru_mapping", 4, 4 },
	};
	struct bpf_map *m;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		m = bpf_object__find_map_by_name(kt.obj, want[i].map);
		if (!m || bpf_map__key_size(m) != want[i].key || bpf_map__value_size(m) != want[i].value) {
			tn_err("bench: katran: map %s is missing or not Katran's layout (key %u, value %u bytes)",
			       want[i].map, want[i].key, want[i].value);
			return -EINVAL;
		}
	}
	if (bpf_map__max_entries(bpf_object__find_map_by_name(kt.obj, "ch_rings")) % KT_RING_SIZE) {
		tn_err("bench: katran: ch_rings is not made of %u-entry rings", KT_RING_SIZE);
		return -EINVAL;
	}
	return 0;
}

/* One LRU per CPU, the first one the inner-map prototype (KatranLb::initLrus). */
static int kt_make_lrus(void)
{
	struct bpf_map *outer = bpf_object__find_map_by_name(kt.obj, "lru_mapping");

	kt.ncpus = libbpf_num_possible_cpus();
	if (kt.ncpus <= 0 || kt.ncpus > KT_MAX_CPUS)
		return -EINVAL;
	for (int c = 0; c < kt.ncpus; c++) {
		kt.lru_fd[c] = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "katran_lru", sizeof(struct kt_flow_key),
					      sizeof(struct kt_lru_val), KT_LRU_SIZE, NULL);
		if (kt.lru_fd[c] < 0) {
			tn_err("bench: katran: cannot create the LRU of CPU %d (%u entries): %s", c,
			       KT_LRU_SIZE, strerror(errno));
			return -errno;
		}
	}
	return bpf_map__set_inner_map_fd(outer, kt.lru_fd[0]);
}

static int kt_attach_lrus(void)
{
	int fd = kt_fd("lru_mapping");

	for (uint32_t c = 0; fd >= 0 && c < (uint32_t)kt.ncpus; c++)
		if (bpf_map_update_elem(fd, &c, &kt.lru_fd[c], BPF_ANY))
			return -errno;
	return fd < 0 ? -ENOENT : 0;
}

static uint32_t kt_real_addr(int i)
{
	return htonl((192u << 24) | (168u << 16) | (50u << 8) | (10u + (uint32_t)i));
}

/* One VIP, 8 reals, its ring, the router's MAC (KatranLb::addVip, addRealForVip, ctl values). */
static int kt_configure(void)
{
	struct tn_maglev_server srv[KT_REALS];
	struct kt_vip_key vk = { .port = htons(80), .proto = IPPROTO_UDP };
	struct kt_vip_meta vm = { 0, 0 };
	struct kt_ctl ctl;
	static uint16_t table[KT_RING_SIZE];
	int vip_fd = kt_fd("vip_map"), reals_fd = kt_fd("reals"), ring_fd = kt_fd("ch_rings");
	int ctl_fd = kt_fd("ctl_array"), err;
	uint32_t zero = 0;

	if (vip_fd < 0 || reals_fd < 0 || ring_fd < 0 || ctl_fd < 0)
		return -ENOENT;
	inet_pton(AF_INET, VIP4, vk.vip);
	if (bpf_map_update_elem(vip_fd, &vk, &vm, BPF_ANY))
		return -errno;
	for (uint32_t i = 1; i <= KT_REALS; i++) {
		struct kt_real r = { .dst = { kt_real_addr((int)i - 1) } };

		if (bpf_map_update_elem(reals_fd, &i, &r, BPF_ANY))
			return -errno;
		srv[i - 1] = (struct tn_maglev_server){ .tag = i, .weight = 1, .slot = (uint16_t)i };
	}
	if ((err = tn_maglev_build(table, KT_RING_SIZE, srv, KT_REALS)))
		return err;
	for (uint32_t k = 0; k < KT_RING_SIZE; k++) {
		uint32_t pos = table[k];   /* vip_num 0: ring entries 0..65536 */

		if (bpf_map_update_elem(ring_fd, &k, &pos, BPF_ANY))
			return -errno;
	}
	memset(&ctl, 0, sizeof(ctl));
	memcpy(ctl.mac, KT_ROUTER_MAC, 6);
	if (bpf_map_update_elem(ctl_fd, &zero, &ctl, BPF_ANY))
		return -errno;
	return 0;
}

static int kt_pin(void)
{
	cpu_set_t one;

	kt.cpu = sched_getcpu();
	if (kt.cpu < 0 || sched_getaffinity(0, sizeof(kt.saved), &kt.saved))
		return -errno;
	CPU_ZERO(&one);
	CPU_SET(kt.cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return -errno;
	kt.pinned = true;
	return 0;
}

static int kt_load(void)
{
	struct bpf_program *p;
	int err;

	kt.obj = bpf_object__open_file(katran_obj, NULL);
	if (!kt.obj) {
		tn_err("bench: katran: cannot open %s: %s", katran_obj, strerror(errno));
		return -errno;
	}
	if ((err = kt_check_layout()) || (err = kt_make_lrus()))
		return err;
	if ((err = bpf_object__load(kt.obj))) {
		tn_err("bench: katran: cannot load %s: %s", katran_obj, strerror(-err));
		return err;
	}
	p = bpf_object__find_program_by_name(kt.obj, "balancer_ingress");
	kt.prog_fd = p ? bpf_program__fd(p) : -1;
	kt.stats_fd = kt_fd("stats");
	if (kt.prog_fd < 0 || kt.stats_fd < 0) {
		tn_err("bench: katran: %s has no program balancer_ingress", katran_obj);
		return -ENOENT;
	}
	return 0;
}

/* Once: load and configure Katran. 0, or -1 (said, and counted once). */
static int kt_open(struct bench *b)
{
	int err;

	if (kt.tried)
		return kt.failed ? -1 : 0;
	kt.tried = true;
	for (int c = 0; c < KT_MAX_CPUS; c++)
		kt.lru_fd[c] = -1;
	kt.alone = json_object_new_array();
	if ((err = kt_load()) || (err = kt_attach_lrus()) || (err = kt_configure()) || (err = kt_pin())) {
		tn_err("bench: katran: cannot set up %s: %s", katran_obj, strerror(err < 0 ? -err : err));
		kt.failed = true;
		b->failures++;
		return -1;
	}
	return 0;
}

/* Katran's LRU counters on the bench's CPU: packets that reached the LRU, misses. */
static void kt_lru_counters(uint64_t *packets, uint64_t *misses)
{
	struct kt_stats v[KT_MAX_CPUS];
	uint32_t key = KT_STATS_LRU;

	*packets = *misses = 0;
	if (bpf_map_lookup_elem(kt.stats_fd, &key, v))
		return;
	for (int c = 0; c < kt.ncpus; c++)
		*packets += v[c].v1, *misses += v[c].v2;
}

/* Whether client `client` of base is in the LRU of the bench's CPU. */
static bool kt_tracked(const struct frame *f, uint32_t base, uint32_t client)
{
	struct kt_flow_key k = { .port16 = { htons(40000), htons(80) }, .proto = IPPROTO_UDP };
	struct kt_lru_val v;

	k.src[0] = htonl(base + client);
	memcpy(k.dst, f->b + 30, 4);
	return !bpf_map_lookup_elem(kt.lru_fd[kt.cpu], &k, &v);
}

/* One output against what Katran must make of the client's frame. */
static bool kt_output_ok(const struct frame *f, const uint8_t *want, const struct run_out *o, enum kt_mode m)
{
	const uint8_t *d = o->data;
	uint32_t len = f->len + KT_IPIP_GROWTH, dst;

	if (m == KT_PASS)
		return o->retval == XDP_PASS_ && o->len == f->len && !memcmp(d, want, f->len);
	if (o->retval != XDP_TX_ || o->len != len || memcmp(d, KT_ROUTER_MAC, 6) || memcmp(d + 6, want, 6) ||
	    d[12] != 0x08 || d[13] != 0x00 || d[14] != 0x45 || d[23] != IPPROTO_IPIP || d[22] != 64 ||
	    (uint32_t)((d[16] << 8) | d[17]) != len - 14 || d[26] != 172 || d[27] != 16 || bench_ip_csum(d + 14, 20))
		return false;
	memcpy(&dst, d + 30, 4);
	if (ntohl(dst) < ntohl(kt_real_addr(0)) || ntohl(dst) > ntohl(kt_real_addr(KT_REALS - 1)))
		return false;
	return !memcmp(d + 14 + KT_IPIP_GROWTH, want + 14, f->len - 14);   /* the client's packet, whole */
}

/*
 * Before measuring: the client at seq alone twice, then seq-1 and seq with
 * repeat=2; every output must be the IPIP packet to a real (or the frame
 * untouched for a pass), and repetition 2 the same as repetition 1.
 */
static int kt_verify(struct bench *b, const struct frame *f, uint32_t base, uint32_t n, enum kt_mode m,
		     uint64_t seq)
{
	struct run_out o[3];
	uint8_t want[256];
	uint32_t client = m == KT_NEW || m == KT_EVICT ? (uint32_t)seq : (uint32_t)(seq % n);
	int err;

	if ((err = feeder_run_checks(b, f, seq, o)))
		return err;
	frame_for_client(f, base, client, want);
	for (int i = 0; i < 3; i++) {
		if (!kt_output_ok(f, want, &o[i], m) || (i && memcmp(o[i].data, o[0].data, o[0].len))) {
			tn_err("bench: katran: run %d gave verdict %u and %u bytes: not the %s expected", i + 1,
			       o[i].retval, o[i].len, m == KT_PASS ? "untouched frame" : "IPIP packet to a real");
			return -EPROTO;
		}
	}
	return 0;
}

/* New clients until the LRU of this CPU is full (and a quarter more). */
static int kt_fill(struct bench *b, const struct frame *f)
{
	uint64_t left = KT_LRU_SIZE + KT_LRU_SIZE / 4;
	struct run_out o;
	int err;

	while (left) {
		uint32_t n = left > 1000000 ? 1000000 : (uint32_t)left;

		b->feed->bss->counter = kt.seq;
		if ((err = feeder_run(b, f, n, &o)))
			return err;
		kt.seq += n, left -= n;
	}
	return 0;
}

/* What Katran's runs of one row measured. */
struct kt_runs {
	double ns[64], miss[64];
};

/* Katran's repetition i of a row (the feeder pointed at it, the frame
 * shrunk back after each of its IPIP headers). */
static int kt_rep(struct bench *b, const struct frame *f, enum kt_mode m, struct kt_runs *r, int i)
{
	bool fresh = m == KT_NEW || m == KT_EVICT, restore = b->restore_len;
	uint64_t p0, m0, p1, m1;
	struct run_out o;
	int err;

	b->restore_len = true;
	if (fresh)
		b->feed->bss->counter = kt.seq;
	kt_lru_counters(&p0, &m0);
	if (!(err = feeder_target(b, kt.prog_fd)))
		err = feeder_run(b, f, b->repeat, &o);
	kt_lru_counters(&p1, &m1);
	b->restore_len = restore;
	if (err)
		return err;
	if (fresh)
		kt.seq += b->repeat;
	r->ns[i] = o.duration;
	r->miss[i] = p1 > p0 ? (double)(m1 - m0) / (double)(p1 - p0) : NAN;
	return 0;
}

/* The path Katran took is the row's: hits, misses, or nothing counted (pass). */
static bool kt_path_ok(enum kt_mode m, double miss)
{
	if (m == KT_PASS)
		return isnan(miss);
	if (m == KT_TRACKED)
		return miss <= 0.01;
	return miss >= 0.99;
}

static const char *kt_mode_label(enum kt_mode m)
{
	return m == KT_PASS ? "not counted (pass)" : m == KT_TRACKED ? "LRU hit" : "LRU miss + insert";
}

/* Verify and warm one row of Katran before its repetitions: 0 or an error (said). */
static int kt_prepare(struct bench *b, const struct frame *f, uint32_t base, uint32_t n, enum kt_mode m)
{
	bool fresh = m == KT_NEW || m == KT_EVICT, restore = b->restore_len;
	struct run_out o;
	int err;

	b->restore_len = true;   /* Katran's IPIP grows the frame: the feeder shrinks it back */
	if ((err = feeder_target(b, kt.prog_fd)) || (m == KT_EVICT && (err = kt_fill(b, f))) ||
	    (err = kt_verify(b, f, base, n, m, fresh ? kt.seq + 2 : 7)))
		goto out;
	if (fresh)
		kt.seq += 4;
	if (m == KT_TRACKED) {
		b->feed->bss->counter = 0;
		err = feeder_run(b, f, n, &o);
	}
out:
	b->restore_len = restore;
	return err;
}

/* After a new-client row: Katran did insert its last client. */
static int kt_inserted(const struct frame *f, uint32_t base, enum kt_mode m)
{
	if ((m == KT_NEW || m == KT_EVICT) && !kt_tracked(f, base, (uint32_t)(kt.seq - 1))) {
		tn_err("bench: katran: the last new client is not in its LRU: Katran did not insert");
		return -EPROTO;
	}
	return 0;
}

/* One row of Katran alone: prepare, its repetitions back to back. */
static int kt_row(struct bench *b, const struct frame *f, uint32_t base, uint32_t n, enum kt_mode m,
		  struct kt_runs *r)
{
	int err = kt_prepare(b, f, base, n, m);

	for (int i = 0; !err && i < b->reps; i++)
		err = kt_rep(b, f, m, r, i);
	return err ? err : kt_inserted(f, base, m);
}

/* Katran's rows and their targets for Tenace/Katran (the issue's). */
static bool kt_row_kind(const char *name, enum kt_mode *m, double *target)
{
	static const struct { const char *name; enum kt_mode m; double target; } rows[] = {
		{ "tracked_1", KT_TRACKED, 0.6 }, { "tracked_10k", KT_TRACKED, 0.6 },
		{ "tracked_1m", KT_TRACKED, 0.7 }, { "new_client", KT_NEW, 0.4 },
		{ "new_client_filling", KT_NEW, 0.4 }, { "not_vip", KT_PASS, 1.0 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (!strcmp(name, rows[i].name))
			return *m = rows[i].m, *target = rows[i].target, true;
	if (strstr(name, "evict") || strstr(name, "full"))
		return *m = KT_EVICT, *target = 0.5, true;
	return false;
}

/* Katran's line under Tenace's row, and its fields in the row's object. */
static void kt_report(struct bench *b, json_object *jc, enum kt_mode m, double target, const struct kt_runs *r)
{
	double k = median(r->ns, b->reps), miss = median(r->miss, b->reps);
	double t = jnum(jc, "tenace_ns");
	double ratio = t / k;
	bool path = kt_path_ok(m, miss);

	if (isnan(ratio))
		printf("  %-32s %7.1f ns %28s", "katran", k, "(no Tenace row to compare)");
	else
		printf("  %-32s %7.1f ns  tenace/katran %5.2fx <=%.1fx %s", "katran", k, ratio, target,
		       pass_miss(b, ratio <= target));
	printf("  katran path: %s, LRU miss %.1f%%\n", kt_mode_label(m), isnan(miss) ? 0.0 : 100 * miss);
	if (!path) {
		tn_err("bench: katran: the packets did not take the row's path (%s)", kt_mode_label(m));
		b->failures++;
	}
	JSET(jc, "katran_ns", JD(k));
	JSET(jc, "tenace_over_katran", isnan(ratio) ? NULL : JD(ratio));
	JSET(jc, "target", JD(target));
	JSET(jc, "katran_pass", isnan(ratio) ? NULL : JB(ratio <= target));
	JSET(jc, "katran_lru_miss_fraction", isnan(miss) ? NULL : JD(miss));
	JSET(jc, "katran_runs_ns", jarr(r->ns, b->reps));
}

/* A row of Katran timed between Tenace's repetitions. */
struct katran_row {
	enum kt_mode m;
	double target;
	const struct frame *f;
	uint32_t base;
	bool ready;     /* prepared, repetitions wanted */
	int err;        /* the first failure (said) */
	struct kt_runs r;
};

struct katran_row *katran_ns_begin(struct bench *b, const char *name, const struct frame *f, uint32_t base,
				   uint32_t nclients, bool fresh)
{
	struct katran_row *kr;
	enum kt_mode m;
	double target;

	if (!kt_row_kind(name, &m, &target) || (m == KT_NEW || m == KT_EVICT) != fresh)
		return NULL;
	if (!(kr = calloc(1, sizeof(*kr))))
		return NULL;
	kr->m = m, kr->target = target, kr->f = f, kr->base = base;
	kt.evict_seen |= m == KT_EVICT;
	if (!katran_obj)
		return kr;
	if (kt_open(b) || (kr->err = kt_prepare(b, f, base, nclients, m)))
		kr->err = kr->err ? kr->err : -1;
	kr->ready = !kr->err;
	return kr;
}

void katran_ns_rep(struct bench *b, struct katran_row *kr, int i)
{
	if (kr && kr->ready && (kr->err = kt_rep(b, kr->f, kr->m, &kr->r, i)))
		kr->ready = false;
}

/* A row with no Katran figure: Katran not given (said on the row), or its run
 * failed (a failure of the bench, counted once). Its JSON figures are null. */
static bool kt_unmeasured(struct bench *b, json_object *j, const char *figure, int width, int err)
{
	if (katran_obj && !err)
		return false;
	if (!katran_obj)
		printf("  %-*s not given (--katran PATH)\n", width, "katran");
	else if (!kt.failed)
		b->failures++;
	JSET(j, figure, NULL);
	JSET(j, "tenace_over_katran", NULL);
	return true;
}

void katran_ns_end(struct bench *b, struct katran_row *kr, json_object *cases)
{
	size_t nc = json_object_array_length(cases);
	json_object *jc = nc ? json_object_array_get_idx(cases, nc - 1) : NULL;

	if (!kr)
		return;
	if (!jc)
		goto out;
	JSET(jc, "target", JD(kr->target));
	if (katran_obj && !kr->err)
		kr->err = kt_inserted(kr->f, kr->base, kr->m);
	if (kt_unmeasured(b, jc, "katran_ns", 32, kr->err))
		goto out;
	kt_report(b, jc, kr->m, kr->target, &kr->r);
out:
	free(kr);
}

/* The evicting row for Katran alone, when the section has no such Tenace row. */
static void kt_alone_evicting(struct bench *b)
{
	json_object *jc = json_object_new_object();
	struct kt_runs r;
	struct frame f;
	uint32_t base = 0x0c000000;

	build_frame(&f, 4, false, VIP4, base);
	feeder_set(b, &f, base, 1, true);
	printf("%-34s %s\n", "new client, LRU full (evict)", "(Tenace: no such row in this section)");
	JSET(jc, "name", JS("new_client_full"));
	JSET(jc, "label", JS("new client (table full, evicting)"));
	if (kt_row(b, &f, base, 1, KT_EVICT, &r)) {
		b->failures++;
		json_object_put(jc);
		return;
	}
	kt_report(b, jc, KT_EVICT, 0.5, &r);
	json_object_array_add(kt.alone, jc);
}

static void kt_close(void)
{
	if (kt.pinned)
		sched_setaffinity(0, sizeof(kt.saved), &kt.saved);
	bpf_object__close(kt.obj);
	for (int c = 0; c < kt.ncpus; c++)
		if (kt.lru_fd[c] >= 0)
			close(kt.lru_fd[c]);
	kt.obj = NULL, kt.pinned = false, kt.ncpus = 0;
	kt.tried = kt.failed = false;   /* a later section opens it afresh */
}

void katran_ns_finish(struct bench *b, json_object *sec)
{
	json_object *k;

	if (!sec) {   /* the section failed: only let go */
		kt_close();
		return;
	}
	k = json_object_new_object();
	JSET(k, "given", JB(katran_obj != NULL));
	if (katran_obj && !kt_open(b) && !kt.evict_seen)
		kt_alone_evicting(b);
	if (katran_obj) {
		JSET(k, "object", JS(katran_obj));
		JSET(k, "setup", JS("one VIP (VIP4:80/UDP, vip_num 0), 8 reals (192.168.50.10-17, indexes 1-8), "
				    "ch_rings of 65537 entries from a Maglev of equal weights, ctl_array[0] = "
				    "default router MAC, lru_mapping: one LRU hash per CPU, IPIP encapsulation; "
				    "the bench pinned to one CPU so its clients stay in that CPU's LRU"));
		JSET(k, "lru_entries_per_cpu", JI(KT_LRU_SIZE));
		JSET(k, "cpu", JI(kt.cpu));
		JSET(k, "ratio", JS("tenace_over_katran = tenace_ns / katran_ns, both through the same feeder; "
				    "pass when it is at most target"));
		JSET(k, "rows_katran_alone", kt.alone ? kt.alone : json_object_new_array());
		kt.alone = NULL;
	}
	JSET(sec, "katran", k);
	kt_close();
}

/* One window of Katran on the veth test bed: Mpps the sink counted, LRU miss share. */
static int kt_e2e_window(struct bench *b, const struct testbed *t, int sink_fd, uint32_t n, uint32_t base,
			 double *mpps, double *miss)
{
	uint64_t c0, c1, p0, m0, p1, m1;
	double t0, t1;
	struct pg g;
	int err;

	if ((err = pg_start(&g, t, base, n, b->seconds + 0.6, 0, 0)))
		return err;
	sleep_s(0.3);
	c0 = percpu_u64_sum(sink_fd, 0);
	kt_lru_counters(&p0, &m0);
	t0 = now_s();
	sleep_s(b->seconds);
	c1 = percpu_u64_sum(sink_fd, 0);
	kt_lru_counters(&p1, &m1);
	t1 = now_s();
	if ((err = pg_wait(&g)))
		return err;
	*mpps = (double)(c1 - c0) / (t1 - t0) / 1e6;
	*miss = p1 > p0 ? (double)(m1 - m0) / (double)(p1 - p0) : NAN;
	return 0;
}

/* A row of Katran on the test bed, its windows between Tenace's. */
struct katran_e2e {
	const struct testbed *t;
	int sink_fd;
	uint32_t n, base;
	bool ready;     /* warmed, windows wanted */
	int err;
	double mpps[64], miss[64];
};

struct katran_e2e *katran_e2e_begin(struct bench *b, const struct testbed *t, int sink_fd, uint32_t nclients,
				    uint32_t base)
{
	struct katran_e2e *ke = calloc(1, sizeof(*ke));
	struct pg g;

	if (!ke)
		return NULL;
	ke->t = t, ke->sink_fd = sink_fd, ke->n = nclients, ke->base = base;
	if (!katran_obj)
		return ke;
	/* attached, every client once at a rate it keeps up with */
	if (kt_open(b))
		ke->err = -1;
	else if (!(ke->err = xdp_put(-1, t->lb_ifindex, kt.prog_fd)) &&
		 !(ke->err = pg_start(&g, t, base, nclients, 0, nclients, 300000)))
		ke->err = pg_wait(&g);
	ke->ready = !ke->err;
	return ke;
}

void katran_e2e_rep(struct bench *b, struct katran_e2e *ke, int r)
{
	if (!ke || !ke->ready)
		return;
	if ((ke->err = xdp_put(-1, ke->t->lb_ifindex, kt.prog_fd)) ||
	    (ke->err = kt_e2e_window(b, ke->t, ke->sink_fd, ke->n, ke->base, &ke->mpps[r], &ke->miss[r])))
		ke->ready = false;
}

void katran_e2e_end(struct bench *b, struct katran_e2e *ke, json_object *rows)
{
	size_t nr = json_object_array_length(rows);
	json_object *jr = nr ? json_object_array_get_idx(rows, nr - 1) : NULL;
	double k, m, tm, ratio, target;

	if (!ke)
		return;
	target = ke->n >= 1000000 ? 1.3 : NAN;
	if (!jr)
		goto out;
	JSET(jr, "target", isnan(target) ? NULL : JD(target));
	if (kt_unmeasured(b, jr, "katran_mpps", 7, ke->err))
		goto out;
	k = median(ke->mpps, b->reps), m = median(ke->miss, b->reps);
	tm = jnum(jr, "tenace_mpps");
	ratio = tm / k;
	printf("  %-7s %6.3f Mpps  tenace/katran %5.2fx ", "katran", k, ratio);
	if (isnan(target))
		printf("%12s", "-");
	else
		printf(">=%.1fx %s", target, pass_miss(b, ratio >= target));
	printf("  katran LRU miss %.1f%%\n", isnan(m) ? 0.0 : 100 * m);
	if (isnan(m) || m > 0.01) {
		tn_err("bench: katran: its tracked clients were not found in its LRU (miss %.1f%%)", 100 * m);
		b->failures++;
	}
	JSET(jr, "katran_mpps", JD(k));
	JSET(jr, "tenace_over_katran", JD(ratio));
	JSET(jr, "katran_pass", isnan(target) ? NULL : JB(ratio >= target));
	JSET(jr, "katran_lru_miss_fraction", isnan(m) ? NULL : JD(m));
	JSET(jr, "katran_runs_mpps", jarr(ke->mpps, b->reps));
out:
	free(ke);
}

void katran_e2e_finish(struct bench *b, json_object *sec)
{
	json_object *k = json_object_new_object();

	JSET(k, "given", JB(katran_obj != NULL));
	if (katran_obj) {
		JSET(k, "object", JS(katran_obj));
		JSET(k, "method", JS("Katran (set up as in the ns section) attached natively to tnb-lb in place of "
				     "Tenace: every client once at 0.3 Mpps after Tenace's warm-up, then its windows "
				     "alternate with the baseline's and Tenace's (baseline, Tenace, Katran, each "
				     "attached for its window); tenace_over_katran = tenace_mpps / katran_mpps, "
				     "target >= 1.3 at 1,000,000 clients"));
		JSET(k, "lru_entries_per_cpu", JI(KT_LRU_SIZE));
	}
	JSET(sec, "katran", k);
	kt_close();
	(void)b;
}
