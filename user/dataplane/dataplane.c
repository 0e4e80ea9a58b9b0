/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Data-plane module: the only code that talks to the XDP program's maps.
 * See dataplane.h for the contract.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tenace.skel.h"
#include "dataplane/dataplane.h"
#include "dataplane/maglev.h"
#include "lib/log.h"

struct tn_dp {
	struct tenace *skel;
	char pin_dir[PATH_MAX];
	struct tn_dp_settings settings;
	uint32_t value_size;   /* inner farm map value size */
	int ncpus;
};

/* Maps that outlive the program: pinned by name under the pin directory. */
static const char *const pinned_maps[] = {
	"vips", "farms", "conntrack", "filter_allow", "filter_deny",
	"tx_ports", "stats", "vip_stats", "server_stats", "settings",
	"pmtu", "encap_sources",
};

static const char *const reason_names[TN_R__COUNT] = {
	[TN_R_PASS_NOT_IP] = "pass_not_ip",
	[TN_R_PASS_NOT_VIP] = "pass_not_vip",
	[TN_R_PASS_TRUNCATED] = "pass_truncated",
	[TN_R_DROP_MALFORMED] = "drop_malformed",
	[TN_R_DROP_FILTERED] = "drop_filtered",
	[TN_R_DROP_NO_SERVER] = "drop_no_server",
	[TN_R_DROP_DISABLED] = "drop_disabled",
	[TN_R_DROP_NO_FARM] = "drop_no_farm",
	[TN_R_DROP_NO_ROUTE] = "drop_no_route",
	[TN_R_CT_HIT] = "conntrack_hit",
	[TN_R_CT_NEW] = "conntrack_new",
	[TN_R_CT_RESCHEDULED] = "conntrack_rescheduled",
	[TN_R_CT_EXPIRED] = "conntrack_expired",
	[TN_R_FRAGMENT] = "fragment",
	[TN_R_ICMP_STEERED] = "icmp_steered",
	[TN_R_TX] = "xdp_tx",
	[TN_R_REDIRECT] = "redirect",
	[TN_R_ABORTED] = "aborted",
	[TN_R_ENCAP_IPIP] = "encap_ipip",
	[TN_R_ENCAP_GUE] = "encap_gue",
	[TN_R_DROP_ENCAP_NO_ROUTE] = "drop_encap_no_route",
	[TN_R_DROP_ENCAP_NO_NEIGH] = "drop_encap_no_neigh",
	[TN_R_ICMP_TOO_BIG] = "icmp_too_big",
	[TN_R_DROP_TOO_BIG] = "drop_too_big",
	[TN_R_PMTU_LEARNED] = "pmtu_learned",
};

const char *tn_reason_name(enum tn_reason r)
{
	if ((unsigned)r >= TN_R__COUNT || !reason_names[r])
		return "unknown";
	return reason_names[r];
}

void tn_dp_settings_default(struct tn_dp_settings *s)
{
	s->table_size = TN_TABLE_SIZE_DEFAULT;
	s->ct_size = TN_CT_SIZE_DEFAULT;
	s->tcp_timeout_s = TN_TCP_TIMEOUT_DEFAULT;
	s->udp_timeout_s = TN_UDP_TIMEOUT_DEFAULT;
	s->hash_seed = 0;
}

uint32_t tn_server_tag(uint8_t family, const uint8_t addr[16], uint16_t port)
{
	uint32_t h = tn_mix(0x7e4ace00u, family);
	uint32_t w;
	int i;

	for (i = 0; i < 16; i += 4) {
		memcpy(&w, addr + i, 4);
		h = tn_mix(h, w);
	}
	h = tn_mix(h, port);
	h = tn_fmix(h);
	return h ? h : 1; /* 0 never names a server */
}

int tn_dp_ensure_bpffs(void)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	mkdir("/sys/fs/bpf", 0700);
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		int err = -errno;

		tn_err("cannot mount bpffs at /sys/fs/bpf: %s", strerror(errno));
		return err;
	}
	return 0;
}

static bool on_bpffs(const char *dir)
{
	struct statfs st;

	return statfs(dir, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

static int validate_settings(const struct tn_dp_settings *s)
{
	if (!tn_is_prime(s->table_size) || s->table_size < 1021 || s->table_size > TN_TABLE_SIZE_MAX) {
		tn_err("table size %u: must be a prime between 1021 and %u", s->table_size, TN_TABLE_SIZE_MAX);
		return -EINVAL;
	}
	if (s->ct_size < 1024) {
		tn_err("conntrack size %u: must be at least 1024", s->ct_size);
		return -EINVAL;
	}
	if (s->tcp_timeout_s == 0 || s->udp_timeout_s == 0) {
		tn_err("conntrack timeouts must be at least 1 second");
		return -EINVAL;
	}
	return 0;
}

/* Settings recorded by an earlier load, if the pins exist. */
int tn_dp_read_pinned_settings(const char *dir, struct tn_dp_settings *out)
{
	char path[PATH_MAX];
	struct tn_settings s;
	__u32 zero = 0;
	int fd, err;

	snprintf(path, sizeof(path), "%s/settings", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -ENOENT;
	err = bpf_map_lookup_elem(fd, &zero, &s);
	close(fd);
	if (err || s.version != TN_SETTINGS_VERSION)
		return -ENOENT;
	out->table_size = s.table_size;
	out->ct_size = s.ct_size;
	out->tcp_timeout_s = s.tcp_timeout_s;
	out->udp_timeout_s = s.udp_timeout_s;
	out->hash_seed = s.hash_seed;
	return 0;
}

static int write_settings(struct tn_dp *dp)
{
	struct tn_settings s = {
		.table_size = dp->settings.table_size,
		.ct_size = dp->settings.ct_size,
		.tcp_timeout_s = dp->settings.tcp_timeout_s,
		.udp_timeout_s = dp->settings.udp_timeout_s,
		.hash_seed = dp->settings.hash_seed,
		.version = TN_SETTINGS_VERSION,
	};
	__u32 zero = 0;

	return bpf_map_update_elem(bpf_map__fd(dp->skel->maps.settings), &zero, &s, BPF_ANY);
}

int tn_dp_open(struct tn_dp **out, const char *pin_dir, const struct tn_dp_settings *want)
{
	struct tn_dp_settings pinned;
	struct tn_dp *dp;
	struct bpf_map *map;
	char path[PATH_MAX];
	size_t i;
	int err, have_pins = 0;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", pin_dir ? pin_dir : TN_PIN_DIR_DEFAULT);
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		free(dp);
		return -EINVAL;
	}
	tn_dp_settings_default(&dp->settings);
	if (dp->pin_dir[0]) {
		if (strncmp(dp->pin_dir, "/sys/fs/bpf", 11) == 0 && (err = tn_dp_ensure_bpffs()))
			goto fail;
		have_pins = tn_dp_read_pinned_settings(dp->pin_dir, &pinned) == 0;
		if (have_pins)
			dp->settings = pinned;
	}
	if (want) {
		if (have_pins && (want->table_size != pinned.table_size || want->ct_size != pinned.ct_size)) {
			tn_err("the running data plane in %s has table size %u and conntrack size %u; "
			       "asked for %u and %u: unload it first (tenace unload IFACE --all)",
			       dp->pin_dir, pinned.table_size, pinned.ct_size, want->table_size, want->ct_size);
			err = -EEXIST;
			goto fail;
		}
		dp->settings = *want;
	}
	if ((err = validate_settings(&dp->settings)))
		goto fail;

	dp->skel = tenace__open();
	if (!dp->skel) {
		err = -errno;
		tn_err("cannot open the BPF object: %s", strerror(-err));
		goto fail;
	}
	dp->skel->rodata->cfg_table_size = dp->settings.table_size;
	dp->skel->rodata->cfg_hash_seed = dp->settings.hash_seed;
	dp->skel->rodata->cfg_tcp_timeout_ns = (__u64)dp->settings.tcp_timeout_s * 1000000000ULL;
	dp->skel->rodata->cfg_udp_timeout_ns = (__u64)dp->settings.udp_timeout_s * 1000000000ULL;
	bpf_map__set_max_entries(dp->skel->maps.conntrack, dp->settings.ct_size);
	dp->value_size = tn_farm_value_size(dp->settings.table_size);
	bpf_map__set_value_size(bpf_map__inner_map(dp->skel->maps.farms), dp->value_size);
	if (dp->pin_dir[0]) {
		if (mkdir(dp->pin_dir, 0700) && errno != EEXIST) {
			err = -errno;
			tn_err("cannot create pin directory %s: %s", dp->pin_dir, strerror(errno));
			goto fail;
		}
		if (!on_bpffs(dp->pin_dir)) {
			err = -EINVAL;
			tn_err("pin directory %s is not on a bpffs mount (mount -t bpf bpf DIR)", dp->pin_dir);
			goto fail;
		}
		for (i = 0; i < sizeof(pinned_maps) / sizeof(pinned_maps[0]); i++) {
			map = bpf_object__find_map_by_name(dp->skel->obj, pinned_maps[i]);
			snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, pinned_maps[i]);
			if (!map || bpf_map__set_pin_path(map, path)) {
				err = -EINVAL;
				tn_err("cannot set pin path %s", path);
				goto fail;
			}
			/*
			 * The kernel adds BPF_F_RDONLY_PROG to every devmap it
			 * creates, and libbpf 1.1 compares flags exactly before
			 * reusing a pinned map: expect the flag on a pinned
			 * devmap (it cannot be asked for at creation).
			 */
			if ((bpf_map__type(map) == BPF_MAP_TYPE_DEVMAP ||
			     bpf_map__type(map) == BPF_MAP_TYPE_DEVMAP_HASH) && access(path, F_OK) == 0)
				bpf_map__set_map_flags(map, bpf_map__map_flags(map) | BPF_F_RDONLY_PROG);
		}
	}
	err = tenace__load(dp->skel);
	if (err) {
		tn_err("cannot load the XDP program%s%s: %s", dp->pin_dir[0] ? " with the maps pinned in " : "",
		       dp->pin_dir, strerror(-err));
		goto fail;
	}
	if ((err = write_settings(dp))) {
		tn_err("cannot record settings: %s", strerror(errno));
		goto fail;
	}
	*out = dp;
	return 0;
fail:
	tn_dp_close(dp);
	return err;
}

void tn_dp_close(struct tn_dp *dp)
{
	if (!dp)
		return;
	tenace__destroy(dp->skel);
	free(dp);
}

const struct tn_dp_settings *tn_dp_get_settings(const struct tn_dp *dp) { return &dp->settings; }
int tn_dp_prog_fd(const struct tn_dp *dp) { return bpf_program__fd(dp->skel->progs.tenace_xdp); }
const char *tn_dp_pin_dir(const struct tn_dp *dp) { return dp->pin_dir; }

int tn_dp_map_fd(const struct tn_dp *dp, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(dp->skel->obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

int tn_dp_query(int ifindex, uint32_t *prog_id, const char **mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = bpf_xdp_query(ifindex, 0, &q);

	if (err)
		return err;
	if (prog_id)
		*prog_id = q.prog_id;
	if (mode)
		*mode = q.attach_mode == XDP_ATTACHED_DRV ? "native" :
			q.attach_mode == XDP_ATTACHED_SKB ? "skb" :
			q.attach_mode == XDP_ATTACHED_HW ? "hw" :
			q.attach_mode == XDP_ATTACHED_NONE ? "none" : "multi";
	return 0;
}

static const char *ifname(int ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "#%d", ifindex);
	return buf;
}

int tn_dp_attach(struct tn_dp *dp, int ifindex, bool skb_mode)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 mode = skb_mode ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	char name[IF_NAMESIZE];
	int err, old_fd = -1;

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err) {
		tn_err("interface %s: cannot query XDP state: %s", ifname(ifindex, name), strerror(-err));
		return err;
	}
	ifname(ifindex, name);
	if (q.prog_id && q.attach_mode != (skb_mode ? XDP_ATTACHED_SKB : XDP_ATTACHED_DRV)) {
		/* a program in the other mode cannot be replaced in place */
		tn_warn("interface %s: replacing an XDP program attached in another mode (brief gap)",
			ifname(ifindex, name));
		bpf_xdp_detach(ifindex, skb_mode ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE, NULL);
		q.prog_id = 0;
	}
	if (q.prog_id) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		old_fd = bpf_prog_get_fd_by_id(q.prog_id);
		if (old_fd < 0) {
			err = -errno;
			tn_err("interface %s: cannot open the attached program %u: %s",
			       ifname(ifindex, name), q.prog_id, strerror(errno));
			return err;
		}
		/* replace only ourselves: another tool's program is the operator's call */
		if (bpf_obj_get_info_by_fd(old_fd, &info, &len) == 0 &&
		    strcmp(info.name, bpf_program__name(dp->skel->progs.tenace_xdp))) {
			tn_err("interface %s runs another XDP program (%s, id %u): detach it first "
			       "(ip link set dev %s xdp off)", name, info.name, q.prog_id, name);
			close(old_fd);
			return -EBUSY;
		}
		opts.old_prog_fd = old_fd;
		err = bpf_xdp_attach(ifindex, tn_dp_prog_fd(dp), mode | XDP_FLAGS_REPLACE, &opts);
		close(old_fd);
	} else {
		err = bpf_xdp_attach(ifindex, tn_dp_prog_fd(dp), mode | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	}
	if (err) {
		tn_err("interface %s: cannot attach XDP in %s mode: %s%s", ifname(ifindex, name),
		       skb_mode ? "skb" : "native", strerror(-err),
		       skb_mode ? "" : " (try --skb for generic mode)");
		return err;
	}
	return 0;
}

int tn_dp_detach_ifindex(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[IF_NAMESIZE];
	int err;

	err = bpf_xdp_query(ifindex, 0, &q);
	if (err)
		return err;
	if (!q.prog_id)
		return 0;
	err = bpf_xdp_detach(ifindex, q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE :
			     XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		tn_err("interface %s: cannot detach XDP: %s", ifname(ifindex, name), strerror(-err));
	return err;
}

int tn_dp_unpin(const char *pin_dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(pin_dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(pin_dir) ? -errno : 0;
}

/* ---- farms ---------------------------------------------------------------- */

static int farm_inner_fd(struct tn_dp *dp, uint32_t farm_slot)
{
	__u32 id;

	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.farms), &farm_slot, &id))
		return -ENOENT;
	return bpf_map_get_fd_by_id(id);
}

static struct tn_farm *farm_alloc(struct tn_dp *dp)
{
	return calloc(1, dp->value_size);
}

/* Current value of a farm slot into buf; -ENOENT when the slot is empty. */
static int farm_load(struct tn_dp *dp, uint32_t farm_slot, struct tn_farm *buf)
{
	__u32 zero = 0;
	int fd, err;

	fd = farm_inner_fd(dp, farm_slot);
	if (fd < 0)
		return -ENOENT;
	err = bpf_map_lookup_elem(fd, &zero, buf) ? -errno : 0;
	close(fd);
	return err;
}

int tn_dp_farm_read(struct tn_dp *dp, uint32_t farm_slot, struct tn_farm_hdr *hdr,
		    struct tn_server *servers, uint16_t *table)
{
	struct tn_farm *f;
	int err;

	if (farm_slot >= TN_MAX_FARMS)
		return -EINVAL;
	f = farm_alloc(dp);
	if (!f)
		return -ENOMEM;
	err = farm_load(dp, farm_slot, f);
	if (!err) {
		if (hdr)
			*hdr = f->hdr;
		if (servers)
			memcpy(servers, f->servers, sizeof(f->servers));
		if (table)
			memcpy(table, f->table, dp->settings.table_size * sizeof(uint16_t));
	}
	free(f);
	return err;
}

/* Servers keep their slot across writes (by identity tag), so tracked clients
 * stay; new servers take slots never used by the previous generation first. */
static int assign_slots(const struct tn_farm *old, const uint32_t *tags, size_t n, uint16_t *slots)
{
	uint8_t taken[TN_MAX_SERVERS] = { 0 };
	size_t i, j;
	uint32_t s;

	for (i = 0; i < n; i++) {
		slots[i] = TN_NO_SERVER;
		for (j = 0; j < i; j++)
			if (tags[j] == tags[i])
				return -EEXIST;
		if (!old)
			continue;
		for (s = 0; s < TN_MAX_SERVERS; s++) {
			if ((old->servers[s].flags & TN_SRV_F_USED) && old->servers[s].tag == tags[i]) {
				slots[i] = (uint16_t)s;
				taken[s] = 1;
				break;
			}
		}
	}
	for (i = 0; i < n; i++) {
		if (slots[i] != TN_NO_SERVER)
			continue;
		for (int pass = 0; pass < 2 && slots[i] == TN_NO_SERVER; pass++) {
			for (s = 0; s < TN_MAX_SERVERS; s++) {
				if (taken[s])
					continue;
				if (pass == 0 && old && (old->servers[s].flags & TN_SRV_F_USED))
					continue;
				slots[i] = (uint16_t)s;
				taken[s] = 1;
				break;
			}
		}
		if (slots[i] == TN_NO_SERVER)
			return -ENOSPC;
	}
	return 0;
}

/* Which servers take new clients: up non-backup servers with a weight, or,
 * when none is up, the backups; `first` keeps only the lowest serverId. */
static size_t pick_table_servers(const struct tn_dp_farm *f, const uint16_t *slots, const uint32_t *tags,
				 uint32_t seed, struct tn_maglev_server *out, bool *backups_in_use)
{
	size_t i, n = 0, best = 0;
	bool primary_up = false;

	/* a primary that is up but drained (weight 0, inactive) takes no new
	 * clients: backups step in when no primary can */
	for (i = 0; i < f->nservers; i++)
		if (f->servers[i].up && f->servers[i].weight && !f->servers[i].backup)
			primary_up = true;
	*backups_in_use = !primary_up;
	for (i = 0; i < f->nservers; i++) {
		const struct tn_dp_server *s = &f->servers[i];

		if (!s->up || s->weight == 0 || s->backup == primary_up)
			continue;
		out[n].tag = tn_fmix(tags[i] ^ seed);
		out[n].slot = slots[i];
		out[n].weight = s->weight;
		if (n && f->servers[i].server_id < f->servers[best].server_id)
			best = i;
		else if (!n)
			best = i;
		n++;
	}
	if (f->balance == TN_BALANCE_FIRST && n) {
		out[0].tag = tn_fmix(tags[best] ^ seed);
		out[0].slot = slots[best];
		out[0].weight = 1;
		n = 1;
	}
	return n;
}

int tn_dp_farm_write(struct tn_dp *dp, uint32_t farm_slot, const struct tn_dp_farm *f, uint64_t *generation)
{
	struct tn_maglev_server *ms = NULL;
	struct tn_farm *old = NULL, *nf = NULL;
	uint16_t *slots = NULL;
	uint32_t *tags = NULL;
	bool backups_in_use;
	size_t i, nm;
	__u32 zero = 0;
	int inner = -1, err, have_old;

	if (farm_slot >= TN_MAX_FARMS || f->nservers > TN_MAX_SERVERS)
		return -EINVAL;
	old = farm_alloc(dp);
	nf = farm_alloc(dp);
	slots = calloc(f->nservers + 1, sizeof(*slots));
	tags = calloc(f->nservers + 1, sizeof(*tags));
	ms = calloc(f->nservers + 1, sizeof(*ms));
	if (!old || !nf || !slots || !tags || !ms) {
		err = -ENOMEM;
		goto out;
	}
	have_old = farm_load(dp, farm_slot, old) == 0;
	for (i = 0; i < f->nservers; i++)
		tags[i] = tn_server_tag(f->servers[i].family, f->servers[i].addr, f->servers[i].port);
	err = assign_slots(have_old ? old : NULL, tags, f->nservers, slots);
	if (err) {
		tn_err("farm %u: %s", f->farm_id, err == -EEXIST ?
		       "two servers have the same address and port" : "no free server slot");
		goto out;
	}

	nf->hdr.generation = have_old ? old->hdr.generation + 1 : 1;
	nf->hdr.farm_id = f->farm_id;
	nf->hdr.table_size = dp->settings.table_size;
	nf->hdr.stickiness = f->stickiness;
	nf->hdr.balance = f->balance;
	nf->hdr.proto = f->proto;
	nf->hdr.encap = f->encap;
	nm = pick_table_servers(f, slots, tags, dp->settings.hash_seed, ms, &backups_in_use);
	for (i = 0; i < f->nservers; i++) {
		const struct tn_dp_server *s = &f->servers[i];
		struct tn_server *d = &nf->servers[slots[i]];

		memcpy(d->mac, s->mac, 6);
		memcpy(d->src_mac, s->src_mac, 6);
		d->ifindex = s->ifindex;
		d->tag = tags[i];
		d->server_id = s->server_id;
		d->weight = s->weight;
		memcpy(d->addr, s->addr, 16);
		d->port = s->port;
		d->family = s->family;
		d->flags = TN_SRV_F_USED;
		if (s->backup)
			d->flags |= TN_SRV_F_BACKUP;
		/* a backup serves (even its tracked clients) only while backups are in use */
		if (s->up && (!s->backup || backups_in_use))
			d->flags |= TN_SRV_F_UP;
		if (slots[i] + 1u > nf->hdr.nservers)
			nf->hdr.nservers = slots[i] + 1;
	}
	nf->hdr.nup = (uint16_t)nm;
	err = tn_maglev_build(nf->table, dp->settings.table_size, ms, nm);
	if (err) {
		tn_err("farm %u: cannot build the Maglev table: %s", f->farm_id, strerror(-err));
		goto out;
	}

	/* a complete new inner map, then one update of the outer slot */
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tn_farm", sizeof(__u32), dp->value_size, 1, NULL);
	if (inner < 0) {
		err = -errno;
		tn_err("farm %u: cannot create its table map: %s", f->farm_id, strerror(errno));
		goto out;
	}
	if (bpf_map_update_elem(inner, &zero, nf, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(dp->skel->maps.farms), &farm_slot, &inner, BPF_ANY)) {
		err = -errno;
		tn_err("farm %u: cannot swap its table into slot %u: %s", f->farm_id, farm_slot, strerror(errno));
		goto out;
	}
	if (generation)
		*generation = nf->hdr.generation;
out:
	if (inner >= 0)
		close(inner);
	free(old);
	free(nf);
	free(slots);
	free(tags);
	free(ms);
	return err;
}

int tn_dp_farm_clear(struct tn_dp *dp, uint32_t farm_slot)
{
	if (farm_slot >= TN_MAX_FARMS)
		return -EINVAL;
	if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.farms), &farm_slot) && errno != ENOENT)
		return -errno;
	return 0;
}

/* ---- VIPs and filters -------------------------------------------------------- */

static void address_key(const struct tn_vip_key *k, struct tn_vip_key *a)
{
	*a = *k;
	a->port = 0;
	a->kind = TN_VIP_KIND_ADDRESS;
}

int tn_dp_vip_set(struct tn_dp *dp, const struct tn_vip_key *key, const struct tn_vip *vip)
{
	int fd = bpf_map__fd(dp->skel->maps.vips);
	struct tn_vip_key a;

	if (bpf_map_update_elem(fd, key, vip, BPF_ANY))
		return -errno;
	address_key(key, &a);
	if (bpf_map_update_elem(fd, &a, vip, BPF_NOEXIST) && errno != EEXIST)
		return -errno;
	return 0;
}

int tn_dp_vip_delete(struct tn_dp *dp, const struct tn_vip_key *key)
{
	if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.vips), key) && errno != ENOENT)
		return -errno;
	return 0;
}

static bool key_in(const struct tn_vip_key *k, const struct tn_vip_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(k, &keys[i], sizeof(*k)))
			return true;
	return false;
}

int tn_dp_vips_replace(struct tn_dp *dp, const struct tn_vip_key *keys, const struct tn_vip *vals, size_t n)
{
	int fd = bpf_map__fd(dp->skel->maps.vips);
	struct tn_vip_key *all, cur, next, a;
	struct tn_vip *allv;
	size_t i, j, m = 0;
	int err = 0, more;

	all = calloc(2 * n + 1, sizeof(*all));
	allv = calloc(2 * n + 1, sizeof(*allv));
	if (!all || !allv) {
		free(all);
		free(allv);
		return -ENOMEM;
	}
	/* port entries, then one address entry per (address, proto): the
	 * lowest port's VIP, so fragments follow a deterministic farm */
	for (i = 0; i < n; i++) {
		all[m] = keys[i];
		allv[m++] = vals[i];
	}
	for (i = 0; i < n; i++) {
		size_t best = i;

		address_key(&keys[i], &a);
		if (key_in(&a, all + n, m - n))
			continue;
		for (j = 0; j < n; j++) {
			struct tn_vip_key b;

			address_key(&keys[j], &b);
			if (!memcmp(&a, &b, sizeof(a)) && ntohs(keys[j].port) < ntohs(keys[best].port))
				best = j;
		}
		all[m] = a;
		allv[m++] = vals[best];
	}
	for (i = 0; i < m; i++) {
		if (bpf_map_update_elem(fd, &all[i], &allv[i], BPF_ANY)) {
			err = -errno;
			tn_err("cannot write VIP entry: %s", strerror(errno));
			goto out;
		}
	}
	/* then remove what the new set no longer has */
	more = bpf_map_get_next_key(fd, NULL, &cur) == 0;
	while (more) {
		more = bpf_map_get_next_key(fd, &cur, &next) == 0;
		if (!key_in(&cur, all, m))
			bpf_map_delete_elem(fd, &cur);
		cur = next;
	}
out:
	free(all);
	free(allv);
	return err;
}

int tn_dp_vips_dump(struct tn_dp *dp, struct tn_vip_key **keys, struct tn_vip **vals, size_t *n)
{
	int fd = bpf_map__fd(dp->skel->maps.vips);
	struct tn_vip_key cur, next;
	size_t cap = TN_MAX_VIPS + 1, m = 0;
	int more;

	*keys = calloc(cap, sizeof(**keys));
	*vals = calloc(cap, sizeof(**vals));
	if (!*keys || !*vals) {
		free(*keys);
		free(*vals);
		*keys = NULL;
		*vals = NULL;
		return -ENOMEM;
	}
	more = bpf_map_get_next_key(fd, NULL, &cur) == 0;
	while (more && m < cap) {
		if (bpf_map_lookup_elem(fd, &cur, &(*vals)[m]) == 0)
			(*keys)[m++] = cur;
		more = bpf_map_get_next_key(fd, &cur, &next) == 0;
		cur = next;
	}
	*n = m;
	return 0;
}

static void filter_key(uint32_t vip_index, const struct tn_dp_prefix *p, struct tn_filter_key *k)
{
	memset(k, 0, sizeof(*k));
	k->vip_index = htonl(vip_index);
	if (p->family == TN_FAMILY_V4) {
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		memcpy(&k->addr[12], p->addr, 4);
		k->prefixlen = 32 + 96 + p->prefixlen;
	} else {
		memcpy(k->addr, p->addr, 16);
		k->prefixlen = 32 + p->prefixlen;
	}
}

int tn_dp_filters_set(struct tn_dp *dp, uint32_t vip_index, bool allow,
		      const struct tn_dp_prefix *prefixes, size_t n)
{
	int fd = bpf_map__fd(allow ? dp->skel->maps.filter_allow : dp->skel->maps.filter_deny);
	struct tn_filter_key *keys, cur, next;
	__u32 one = 1;
	size_t i;
	int err = 0, more;

	keys = calloc(n + 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		filter_key(vip_index, &prefixes[i], &keys[i]);
		if (bpf_map_update_elem(fd, &keys[i], &one, BPF_ANY)) {
			err = -errno;
			tn_err("cannot write source filter: %s", strerror(errno));
			goto out;
		}
	}
	/* new entries first, stale ones after: the list is never empty in between */
	more = bpf_map_get_next_key(fd, NULL, &cur) == 0;
	while (more) {
		bool keep = cur.vip_index != htonl(vip_index);

		more = bpf_map_get_next_key(fd, &cur, &next) == 0;
		for (i = 0; i < n && !keep; i++)
			keep = !memcmp(&cur, &keys[i], sizeof(cur));
		if (!keep)
			bpf_map_delete_elem(fd, &cur);
		cur = next;
	}
out:
	free(keys);
	return err;
}

int tn_dp_tx_port_add(struct tn_dp *dp, uint32_t ifindex)
{
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.tx_ports), &ifindex, &ifindex, BPF_ANY))
		return -errno;
	return 0;
}

/* ---- counters ------------------------------------------------------------- */

static int percpu_sum(struct tn_dp *dp, int fd, uint32_t idx, struct tn_counter *out)
{
	struct tn_counter *v = calloc(dp->ncpus, sizeof(*v));
	int i;

	if (!v)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, &idx, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (i = 0; i < dp->ncpus; i++) {
		out->packets += v[i].packets;
		out->bytes += v[i].bytes;
	}
	free(v);
	return 0;
}

int tn_dp_reason_counters(struct tn_dp *dp, struct tn_counter out[TN_R__COUNT])
{
	struct tn_stats *v = calloc(dp->ncpus, sizeof(*v));
	__u32 zero = 0;
	int err = 0;

	if (!v)
		return -ENOMEM;
	memset(out, 0, sizeof(struct tn_counter) * TN_R__COUNT);
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.stats), &zero, v)) {
		err = -errno;
	} else {
		for (int cpu = 0; cpu < dp->ncpus; cpu++) {
			for (uint32_t r = 0; r < TN_R__COUNT; r++) {
				out[r].packets += v[cpu].reason[r].packets;
				out[r].bytes += v[cpu].reason[r].bytes;
			}
		}
	}
	free(v);
	return err;
}

int tn_dp_vip_counter(struct tn_dp *dp, uint32_t vip_index, struct tn_counter *out)
{
	return percpu_sum(dp, bpf_map__fd(dp->skel->maps.vip_stats), vip_index, out);
}

int tn_dp_server_counter(struct tn_dp *dp, uint32_t farm_slot, uint32_t slot, struct tn_counter *out)
{
	if (farm_slot >= TN_MAX_FARMS || slot >= TN_MAX_SERVERS)
		return -EINVAL;
	return percpu_sum(dp, bpf_map__fd(dp->skel->maps.server_stats),
			  farm_slot * TN_MAX_SERVERS + slot, out);
}
