/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Opening the data plane: settings (pinned ones win unless they conflict),
 * the skeleton set up with them, the maps pinned or reused, the settings
 * recorded beside them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tenace.skel.h"
#include "dataplane/internal.h"
#include "dataplane/maglev.h"
#include "lib/log.h"

void tn_dp_settings_default(struct tn_dp_settings *s)
{
	s->table_size = TN_TABLE_SIZE_DEFAULT;
	s->ct_size = TN_CT_SIZE_DEFAULT;
	s->tcp_timeout_s = TN_TCP_TIMEOUT_DEFAULT;
	s->udp_timeout_s = TN_UDP_TIMEOUT_DEFAULT;
	s->hash_seed = 0;
	s->udp_admit_rate = TN_UDP_ADMIT_RATE_DEFAULT;
	s->tcp_admit_rate = TN_TCP_ADMIT_RATE_DEFAULT;
}

uint32_t tn_dp_admit_per_window(uint32_t rate)
{
	return (__u32)(((__u64)rate << TN_ADMIT_WINDOW_SHIFT) / 1000000000ULL + (rate != 0));
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

static struct tn_dp *dp_new(const char *pin_dir)
{
	struct tn_dp *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return NULL;
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", pin_dir ? pin_dir : TN_PIN_DIR_DEFAULT);
	dp->naside = 0;
	tn_dp_settings_default(&dp->settings);
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		free(dp);
		return NULL;
	}
	return dp;
}

/* The pinned settings, or want, or the defaults; a conflict is refused. */
static int choose_settings(struct tn_dp *dp, const struct tn_dp_settings *want)
{
	struct tn_dp_settings pinned;
	bool have_pins = false;
	int err;

	if (dp->pin_dir[0]) {
		if ((err = tn_dp_pin_dir_ensure(dp->pin_dir)))
			return err;
		have_pins = tn_dp_read_pinned_settings(dp->pin_dir, &pinned) == 0;
		if (have_pins)
			dp->settings = pinned;
	}
	if (want) {
		if (have_pins && (want->table_size != pinned.table_size || want->ct_size != pinned.ct_size)) {
			tn_err("the running data plane in %s has table size %u and conntrack size %u; "
			       "asked for %u and %u: unload it first (tenace unload IFACE --all)",
			       dp->pin_dir, pinned.table_size, pinned.ct_size, want->table_size, want->ct_size);
			return -EEXIST;
		}
		dp->settings = *want;
	}
	return validate_settings(&dp->settings);
}

/* The skeleton, opened and given the settings (not loaded yet). */
static int skel_open(struct tn_dp *dp)
{
	struct tn_dp_clock clk;

	dp->skel = tenace__open();
	if (!dp->skel) {
		int err = -errno;

		tn_err("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	dp->skel->rodata->cfg_table_size = dp->settings.table_size;
	dp->skel->rodata->cfg_hash_seed = dp->settings.hash_seed;
	dp->skel->rodata->cfg_tcp_timeout_ns = (__u64)dp->settings.tcp_timeout_s * 1000000000ULL;
	dp->skel->rodata->cfg_udp_timeout_ns = (__u64)dp->settings.udp_timeout_s * 1000000000ULL;
	dp->skel->rodata->cfg_udp_admit_per_window = tn_dp_admit_per_window(dp->settings.udp_admit_rate);
	dp->skel->rodata->cfg_tcp_admit_per_window = tn_dp_admit_per_window(dp->settings.tcp_admit_rate);
	if (tn_dp_clock_probe(&clk) == 0) {
		dp->skel->rodata->cfg_ns_per_jiffy = clk.ns_per_jiffy;
		dp->skel->rodata->cfg_jiffies_offset_ns = clk.offset_ns;
	}
	bpf_map__set_max_entries(dp->skel->maps.conntrack, dp->settings.ct_size);
	bpf_map__set_max_entries(dp->skel->maps.conntrack4_sets, tn_ct4_nsets(dp->settings.ct_size));
	dp->skel->rodata->cfg_ct4_set_mask = tn_ct4_nsets(dp->settings.ct_size) - 1;
	dp->value_size = tn_farm_value_size(dp->settings.table_size);
	bpf_map__set_value_size(bpf_map__inner_map(dp->skel->maps.farms), dp->value_size);
	return 0;
}

static int skel_load(struct tn_dp *dp)
{
	int err;

	if (dp->pin_dir[0] && (err = tn_dp_pins_prepare(dp))) {
		tn_dp_pins_restore(dp);
		return err;
	}
	err = tenace__load(dp->skel);
	if (err) {
		tn_dp_pins_restore(dp);
		tn_err("cannot load the XDP program%s%s: %s", dp->pin_dir[0] ? " with the maps pinned in " : "",
		       dp->pin_dir, strerror(-err));
		return err;
	}
	tn_dp_pins_commit(dp);
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

	snprintf(s.pin_dir, sizeof(s.pin_dir), "%s", dp->pin_dir);
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.settings), &zero, &s, BPF_ANY)) {
		int err = -errno;

		tn_err("cannot record settings: %s", strerror(errno));
		return err;
	}
	return 0;
}

/*
 * The program never reads its settings: bind the map to it, so that it is
 * among the program's maps and another instance finding the program on an
 * interface can read the pin directory recorded there (tn_dp_attach).
 */
static void bind_settings(struct tn_dp *dp)
{
	if (bpf_prog_bind_map(tn_dp_prog_fd(dp), bpf_map__fd(dp->skel->maps.settings), NULL))
		tn_warn("cannot bind the settings map to the XDP program (%s): another Tenace instance will "
			"not be able to name this one's pin directory", strerror(errno));
}

/* The kernel ids of the maps that make this instance (see tn_dp_attach). */
static int remember_map_ids(struct tn_dp *dp)
{
	for (int i = 0; i < TN_DP_NPINNED; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(dp->skel->obj, tn_dp_pinned_maps[i]);
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		if (!map || bpf_obj_get_info_by_fd(bpf_map__fd(map), &info, &len)) {
			tn_err("cannot read the id of map %s: %s", tn_dp_pinned_maps[i], map ? strerror(errno) :
			       "not in the BPF object");
			return map ? -errno : -ENOENT;
		}
		dp->map_ids[i] = info.id;
	}
	return 0;
}

int tn_dp_open(struct tn_dp **out, const char *pin_dir, const struct tn_dp_settings *want)
{
	struct tn_dp *dp = dp_new(pin_dir);
	int err;

	if (!dp)
		return -ENOMEM;
	if ((err = choose_settings(dp, want)) || (err = skel_open(dp)) || (err = skel_load(dp)) ||
	    (err = tn_dp_ct4_map(dp)) || (err = tn_dp_ct4_carry_over(dp)) || (err = write_settings(dp)) || (err = tn_dp_vip_bits_sync(dp)) || (err = remember_map_ids(dp))) {
		tn_dp_close(dp);
		return err;
	}
	bind_settings(dp);
	*out = dp;
	return 0;
}

void tn_dp_close(struct tn_dp *dp)
{
	if (!dp)
		return;
	tn_dp_ct4_unmap(dp);
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
