/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Pin directories: bpffs, the settings recorded there, the maps pinned in them. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tenace.skel.h"
#include "dataplane/internal.h"
#include "lib/log.h"

const char *const tn_dp_pinned_maps[TN_DP_NPINNED] = {
	"vips", "farms", "conntrack", "filter_allow", "filter_deny",
	"tx_ports", "stats", "vip_stats", "server_stats", "settings",
};

static bool on_bpffs(const char *dir)
{
	struct statfs st;

	return statfs(dir, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

int tn_dp_ensure_bpffs(void)
{
	if (on_bpffs("/sys/fs/bpf"))
		return 0;
	mkdir("/sys/fs/bpf", 0700);
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		int err = -errno;

		tn_err("cannot mount bpffs at /sys/fs/bpf: %s", strerror(errno));
		return err;
	}
	return 0;
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

int tn_dp_pin_dir_check(const struct tn_dp *dp)
{
	if (mkdir(dp->pin_dir, 0700) && errno != EEXIST) {
		int err = -errno;

		tn_err("cannot create pin directory %s: %s", dp->pin_dir, strerror(errno));
		return err;
	}
	if (!on_bpffs(dp->pin_dir)) {
		tn_err("pin directory %s is not on a bpffs mount (mount -t bpf bpf DIR)", dp->pin_dir);
		return -EINVAL;
	}
	return 0;
}

int tn_dp_pins_prepare(struct tn_dp *dp)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < TN_DP_NPINNED; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(dp->skel->obj, tn_dp_pinned_maps[i]);

		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, tn_dp_pinned_maps[i]);
		if (!map || bpf_map__set_pin_path(map, path)) {
			tn_err("cannot set pin path %s", path);
			return -EINVAL;
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
	return 0;
}
