/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The decap programs' adapter: load, pin, configure, attach to TC, detach. */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "decap.skel.h"
#include "decap/decap.h"
#include "lib/log.h"

struct tn_decap {
	struct decap *skel;
	char pin_dir[PATH_MAX];
	int ncpus;
};

static const char *const pinned[] = { "config", "vips", "flows", "stats" };

static const char *const reason_names[TN_D__COUNT] = {
	[TN_D_DECAP_IPIP4] = "decap_ipip4",
	[TN_D_DECAP_IPIP6] = "decap_ipip6",
	[TN_D_DECAP_GUE0] = "decap_gue0",
	[TN_D_DECAP_GUE1] = "decap_gue1",
	[TN_D_PASS_NOT_TUNNEL] = "pass_not_tunnel",
	[TN_D_PASS_NOT_VIP] = "pass_not_vip",
	[TN_D_PASS_FRAGMENT] = "pass_fragment",
	[TN_D_PASS_TRUNCATED] = "pass_truncated",
	[TN_D_PASS_UNSUPPORTED] = "pass_unsupported",
	[TN_D_DROP_MALFORMED] = "drop_malformed",
	[TN_D_DROP_ADJUST] = "drop_adjust",
	[TN_D_MSS_CLAMPED] = "mss_clamped",
	[TN_D_MSS_NOT_TUNNELLED] = "mss_not_tunnelled",
	[TN_D_MSS_NO_OPTION] = "mss_no_option",
};

const char *tn_decap_reason_name(enum tn_decap_reason r)
{
	if ((unsigned)r >= TN_D__COUNT || !reason_names[r])
		return "unknown";
	return reason_names[r];
}

static int set_pins(struct tn_decap *d)
{
	char path[PATH_MAX + 16];
	struct bpf_map *map;
	size_t i;

	if (mkdir(d->pin_dir, 0700) && errno != EEXIST) {
		int err = -errno;

		tn_err("cannot create pin directory %s: %s", d->pin_dir, strerror(errno));
		return err;
	}
	for (i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
		map = bpf_object__find_map_by_name(d->skel->obj, pinned[i]);
		snprintf(path, sizeof(path), "%s/%s", d->pin_dir, pinned[i]);
		if (!map || bpf_map__set_pin_path(map, path)) {
			tn_err("cannot set pin path %s", path);
			return -EINVAL;
		}
	}
	return 0;
}

int tn_decap_open(struct tn_decap **out, const char *pin_dir)
{
	struct tn_decap *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	snprintf(d->pin_dir, sizeof(d->pin_dir), "%s", pin_dir ? pin_dir : "");
	d->ncpus = libbpf_num_possible_cpus();
	d->skel = decap__open();
	if (!d->skel || d->ncpus <= 0) {
		err = d->skel ? -EINVAL : -errno;
		tn_err("cannot open the decap BPF object: %s", strerror(-err));
		goto fail;
	}
	if (d->pin_dir[0] && (err = set_pins(d)))
		goto fail;
	err = decap__load(d->skel);
	if (err) {
		tn_err("cannot load the decap programs%s%s: %s%s", d->pin_dir[0] ? " with the maps pinned in " : "",
		       d->pin_dir, strerror(-err),
		       d->pin_dir[0] ? " (maps of another version? remove them with tenace decap IFACE --off)" : "");
		goto fail;
	}
	*out = d;
	return 0;
fail:
	tn_decap_close(d);
	return err;
}

void tn_decap_close(struct tn_decap *d)
{
	if (!d)
		return;
	decap__destroy(d->skel);
	free(d);
}

int tn_decap_prog_fd(const struct tn_decap *d, bool egress)
{
	return bpf_program__fd(egress ? d->skel->progs.tenace_decap_egress : d->skel->progs.tenace_decap_ingress);
}

int tn_decap_map_fd(const struct tn_decap *d, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(d->skel->obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

int tn_decap_config_get(struct tn_decap *d, struct tn_decap_config *out)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(d->skel->maps.config), &zero, out) || out->version != TN_DECAP_VERSION)
		return -ENOENT;
	return 0;
}

static void vip_key(const struct tn_addr *a, struct tn_decap_vip_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, a->bytes, 16);
	k->family = a->family;
}

static bool in_set(const struct tn_decap_vip_key *k, const struct tn_addr *vips, size_t n)
{
	struct tn_decap_vip_key v;

	for (size_t i = 0; i < n; i++) {
		vip_key(&vips[i], &v);
		if (!memcmp(&v, k, sizeof(v)))
			return true;
	}
	return false;
}

int tn_decap_configure(struct tn_decap *d, const struct tn_decap_config *cfg,
		       const struct tn_addr *vips, size_t nvips)
{
	int vfd = bpf_map__fd(d->skel->maps.vips);
	struct tn_decap_vip_stats *zero_stats;
	struct tn_decap_vip_key k, next;
	struct tn_decap_config c = *cfg;
	__u32 zero = 0;
	bool more;
	int err = 0;

	zero_stats = calloc((size_t)d->ncpus, sizeof(*zero_stats));
	if (!zero_stats)
		return -ENOMEM;
	/* new VIPs first (BPF_NOEXIST keeps the counters of those that stay),
	 * then the configuration, then the stale ones */
	for (size_t i = 0; i < nvips && !err; i++) {
		vip_key(&vips[i], &k);
		if (bpf_map_update_elem(vfd, &k, zero_stats, BPF_NOEXIST) && errno != EEXIST) {
			char a[TN_ADDR_TEXT];

			err = -errno;
			tn_addr_format(&vips[i], a, sizeof(a));
			tn_err("cannot add VIP %s to the decap map: %s", a, strerror(errno));
		}
	}
	free(zero_stats);
	if (err)
		return err;
	c.version = TN_DECAP_VERSION;
	if (bpf_map_update_elem(bpf_map__fd(d->skel->maps.config), &zero, &c, BPF_ANY)) {
		err = -errno;
		tn_err("cannot write the decap configuration: %s", strerror(errno));
		return err;
	}
	more = bpf_map_get_next_key(vfd, NULL, &k) == 0;
	while (more) {
		more = bpf_map_get_next_key(vfd, &k, &next) == 0;
		if (!in_set(&k, vips, nvips))
			bpf_map_delete_elem(vfd, &k);
		k = next;
	}
	return 0;
}

/* ---- TC ------------------------------------------------------------------------------ */

/* libbpf logs the kernel's message of failures we expect and handle (no
 * qdisc yet, no filter there): silence it around those calls. */
#define QUIET(call) ({ libbpf_print_fn_t old_ = libbpf_set_print(NULL); int r_ = (call); \
		       libbpf_set_print(old_); r_; })

static const char *ifname(int ifindex, char *buf)
{
	if (!if_indextoname((unsigned)ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "#%d", ifindex);
	return buf;
}

static int attach_one(int ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TN_DECAP_TC_HANDLE, .priority = TN_DECAP_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	char name[IF_NAMESIZE];
	int err = bpf_tc_attach(&hook, &opts);

	if (err)
		tn_err("interface %s: cannot attach the decap program on TC %s: %s", ifname(ifindex, name),
		       where == BPF_TC_INGRESS ? "ingress" : "egress", strerror(-err));
	return err;
}

int tn_decap_attach(struct tn_decap *d, int ifindex, bool *created)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	char name[IF_NAMESIZE];
	int err;

	err = QUIET(bpf_tc_hook_create(&hook));
	if (err && err != -EEXIST) {
		tn_err("interface %s: cannot create the clsact qdisc: %s", ifname(ifindex, name), strerror(-err));
		return err;
	}
	*created = err == 0;
	/* egress first: a clamp without decapsulation does nothing, the
	 * reverse would let SYN-ACKs out unclamped for a moment */
	err = attach_one(ifindex, BPF_TC_EGRESS, tn_decap_prog_fd(d, true));
	if (!err)
		err = attach_one(ifindex, BPF_TC_INGRESS, tn_decap_prog_fd(d, false));
	if (err && *created)
		bpf_tc_hook_destroy(&hook);
	return err;
}

static int detach_one(int ifindex, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TN_DECAP_TC_HANDLE, .priority = TN_DECAP_TC_PRIO);
	char name[IF_NAMESIZE];
	int err = QUIET(bpf_tc_detach(&hook, &opts));

	if (err == -ENOENT || err == -EINVAL)
		return 0; /* nothing there (EINVAL: no clsact qdisc) */
	if (err)
		tn_err("interface %s: cannot detach the decap program from TC %s: %s", ifname(ifindex, name),
		       where == BPF_TC_INGRESS ? "ingress" : "egress", strerror(-err));
	return err;
}

int tn_decap_detach(int ifindex, bool own_qdisc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err = detach_one(ifindex, BPF_TC_INGRESS);

	if (!err)
		err = detach_one(ifindex, BPF_TC_EGRESS);
	if (!err && own_qdisc) {
		err = QUIET(bpf_tc_hook_destroy(&hook));
		if (err == -ENOENT || err == -EINVAL)
			err = 0;
	}
	return err;
}

static uint32_t query_one(int ifindex, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TN_DECAP_TC_HANDLE, .priority = TN_DECAP_TC_PRIO);

	return QUIET(bpf_tc_query(&hook, &opts)) ? 0 : opts.prog_id;
}

int tn_decap_query(int ifindex, uint32_t *ingress_id, uint32_t *egress_id)
{
	*ingress_id = query_one(ifindex, BPF_TC_INGRESS);
	*egress_id = query_one(ifindex, BPF_TC_EGRESS);
	return 0;
}
