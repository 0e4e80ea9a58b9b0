/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Pin directories: a bpffs under each (mounted when there is none), the
 * settings recorded there, and pinned maps of an earlier layout (the
 * settings of version 1 are carried over; any other difference is refused
 * with a message saying to unload first).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tenace.skel.h"
#include "dataplane/internal.h"
#include "lib/file.h"
#include "lib/log.h"

const char *const tn_dp_pinned_maps[TN_DP_NPINNED] = {
	"vips", "farms", "conntrack", "filter_allow", "filter_deny",
	"tx_ports", "stats", "vip_stats", "server_stats", "settings",
	"pmtu", "encap_sources", "trace_ctl", "trace_rings", "vip_bits",
	"vip_directory", "conntrack4_sets",
};

static bool on_bpffs(const char *dir)
{
	struct statfs st;

	return statfs(dir, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* Octal escapes of /proc/PID/mountinfo ("\\040" for a space) undone in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++, o++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o = *s;
		}
	}
	*o = 0;
}

/*
 * Whether init's mount namespace has this very bpffs (same device) at dir.
 * A mount made in a namespace of our own (ip netns exec, unshare -m) is not
 * there and goes away when that namespace ends; the host's own bpffs at the
 * same path is another instance, with other pins.
 */
static bool bpffs_seen_by_init(const char *dir)
{
	char line[4096], point[PATH_MAX], *sep;
	unsigned int maj, min;
	struct stat st;
	FILE *f;
	bool seen = false;

	if (stat(dir, &st))
		return false;
	f = fopen("/proc/1/mountinfo", "r");
	while (f && !seen && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE ... */
		sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %u:%u %*s %4095s", &maj, &min, point) != 3)
			continue;
		unescape(point);
		seen = !strcmp(point, dir) && !strncmp(sep + 3, "bpf ", 4) &&
		       maj == major(st.st_dev) && min == minor(st.st_dev);
	}
	if (f)
		fclose(f);
	return seen;
}

/* After mounting a bpffs on dir (what: "pin directory " or ""): say how
 * long what is pinned there lasts; when it is the host's too, only if always. */
static void say_mounted(const char *what, const char *dir, bool always)
{
	if (!bpffs_seen_by_init(dir))
		tn_warn("%s%s was on no bpffs: mounted one there, in a mount namespace of this process's own "
			"(ip netns exec?): it and the maps pinned in it go away when that namespace ends; to keep "
			"them, mount a bpffs there on the host (mount -t bpf bpf %s) or use nsenter --net instead "
			"of ip netns exec", what, dir, dir);
	else if (always)
		tn_warn("%s%s was on no bpffs: mounted one there", what, dir);
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
	say_mounted("", "/sys/fs/bpf", false);
	return 0;
}

/* 1 when dir has no entry but . and .., 0 when it has, -errno. */
static int dir_empty(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int empty = 1;

	if (!d)
		return -errno;
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	return empty;
}

/* The nearest ancestor of path (or path) that exists is on a bpffs. */
static bool nearest_on_bpffs(const char *path)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	while (stat(dir, &st) != 0) {
		slash = strrchr(dir, '/');
		if (!slash)
			return false;
		if (slash == dir) {
			dir[1] = 0;
			break;
		}
		*slash = 0;
	}
	return on_bpffs(dir);
}

static int make_dir(const char *pin_dir)
{
	char inside[PATH_MAX];
	int err;

	/* tn_mkdir_parent creates the directory holding its argument */
	snprintf(inside, sizeof(inside), "%s/x", pin_dir);
	err = tn_mkdir_parent(inside, 0700);
	if (err)
		tn_err("cannot create pin directory %s: %s", pin_dir, strerror(-err));
	return err;
}

/* A bpffs on the pin directory itself (never on a parent: mounting over
 * /run or /tmp would hide everything else there). */
static int mount_on(const char *pin_dir)
{
	int err = dir_empty(pin_dir);

	if (err < 0) {
		tn_err("cannot read pin directory %s: %s", pin_dir, strerror(-err));
		return err;
	}
	if (!err) {
		tn_err("pin directory %s is on no bpffs and not empty: give an empty or new directory "
		       "(Tenace mounts a bpffs there) or one on a bpffs (mount -t bpf bpf DIR)", pin_dir);
		return -ENOTEMPTY;
	}
	if (mount("bpf", pin_dir, "bpf", 0, "mode=0700")) {
		err = -errno;
		tn_err("pin directory %s is on no bpffs and mounting one there failed: %s", pin_dir,
		       strerror(errno));
		return err;
	}
	say_mounted("pin directory ", pin_dir, true);
	return 0;
}

int tn_dp_pin_dir_ensure(const char *pin_dir)
{
	int err;

	if (!pin_dir[0])
		return 0;
	if (pin_dir[0] != '/' || strlen(pin_dir) >= TN_SETTINGS_PIN_DIR_LEN) {
		tn_err("pin directory %s: must be an absolute path shorter than %d bytes", pin_dir,
		       TN_SETTINGS_PIN_DIR_LEN);
		return -EINVAL;
	}
	if ((!strcmp(pin_dir, "/sys/fs/bpf") || !strncmp(pin_dir, "/sys/fs/bpf/", 12)) &&
	    (err = tn_dp_ensure_bpffs()))
		return err;
	if (nearest_on_bpffs(pin_dir))
		return access(pin_dir, F_OK) == 0 ? 0 : make_dir(pin_dir);
	if ((err = make_dir(pin_dir)))
		return err;
	return mount_on(pin_dir);
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
	if (rmdir(pin_dir) == 0)
		return 0;
	if (errno != EBUSY || !on_bpffs(pin_dir))
		return -errno;
	/* a bpffs mounted on the directory itself (tn_dp_pin_dir_ensure): the
	 * pins are gone; the mount and the directory go too when nothing holds them */
	if (umount(pin_dir) == 0)
		rmdir(pin_dir);
	return 0;
}

/* ---- the settings map --------------------------------------------------------- */

/*
 * The value of a settings map in either layout (version 1: 24 bytes, no pin
 * directory; version 2: struct tn_settings). 0, -ENOENT when empty, or
 * -EPROTO for a layout this version does not know.
 */
int tn_dp_settings_read_fd(int fd, struct tn_settings *out)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	char buf[sizeof(struct tn_settings)] = { 0 };

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.key_size != 4 || info.max_entries < 1 ||
	    (info.value_size != TN_SETTINGS_V1_SIZE && info.value_size != sizeof(struct tn_settings)))
		return -EPROTO;
	if (bpf_map_lookup_elem(fd, &zero, buf))
		return -errno;
	memcpy(out, buf, sizeof(*out));
	out->pin_dir[sizeof(out->pin_dir) - 1] = 0;
	if (out->version == 0)
		return -ENOENT; /* created, never written */
	if (!(info.value_size == TN_SETTINGS_V1_SIZE && out->version == 1) &&
	    !(info.value_size == sizeof(struct tn_settings) && out->version == TN_SETTINGS_VERSION))
		return -EPROTO;
	return 0;
}

int tn_dp_read_pinned_settings(const char *dir, struct tn_dp_settings *out)
{
	char path[PATH_MAX];
	struct tn_settings s;
	int fd, err;

	snprintf(path, sizeof(path), "%s/settings", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -ENOENT;
	err = tn_dp_settings_read_fd(fd, &s);
	close(fd);
	if (err)
		return -ENOENT;
	out->table_size = s.table_size;
	out->ct_size = s.ct_size;
	out->tcp_timeout_s = s.tcp_timeout_s;
	out->udp_timeout_s = s.udp_timeout_s;
	out->hash_seed = s.hash_seed;
	out->udp_admit_rate = TN_UDP_ADMIT_RATE_DEFAULT; /* load settings, not pinned */
	out->tcp_admit_rate = TN_TCP_ADMIT_RATE_DEFAULT;
	return 0;
}

/* ---- pinned maps against this program's --------------------------------------- */

static bool same_layout(const struct bpf_map_info *in, const struct bpf_map *map, __u32 want_flags)
{
	return in->type == bpf_map__type(map) && in->key_size == bpf_map__key_size(map) &&
	       in->value_size == bpf_map__value_size(map) && in->max_entries == bpf_map__max_entries(map) &&
	       in->map_flags == want_flags;
}

/* Unpin a map of an older layout, keeping it to put back should the load fail. */
static int move_aside(struct tn_dp *dp, const char *name, const char *path, int fd)
{
	int err;

	if (dp->naside >= (int)(sizeof(dp->aside_fd) / sizeof(dp->aside_fd[0])))
		return -EEXIST; /* not reached: two maps at most are moved aside */
	if (unlink(path)) {
		err = -errno;
		tn_err("cannot replace the map %s pinned in %s: %s", name, dp->pin_dir, strerror(-err));
		return err;
	}
	dp->aside_fd[dp->naside] = dup(fd);
	dp->aside_name[dp->naside++] = name;
	return 0;
}

/* The reason counters of an older Tenace: the same map with fewer reasons. */
static bool fewer_reasons(const struct bpf_map_info *in, const struct bpf_map *map)
{
	return in->type == bpf_map__type(map) && in->key_size == bpf_map__key_size(map) &&
	       in->max_entries == bpf_map__max_entries(map) && in->value_size % sizeof(struct tn_counter) == 0 &&
	       in->value_size < bpf_map__value_size(map);
}

/*
 * A map pinned at path that this program cannot reuse: the settings of
 * version 1 (their values were read already and are written anew after the
 * load) and reason counters of an older Tenace (which start again from 0)
 * are moved aside; anything else is refused.
 */
static int pinned_other_layout(struct tn_dp *dp, const char *name, const char *path, int fd,
			       const struct bpf_map_info *in, const struct bpf_map *map)
{
	struct tn_settings s;
	int err;

	if (!strcmp(name, "settings") && tn_dp_settings_read_fd(fd, &s) == 0 && s.version == 1) {
		if ((err = move_aside(dp, name, path, fd)))
			return err;
		tn_info("the settings pinned in %s were recorded by an older Tenace (version 1): "
			"recording them again as version %d", dp->pin_dir, TN_SETTINGS_VERSION);
		return 0;
	}
	if (!strcmp(name, "stats") && fewer_reasons(in, map)) {
		if ((err = move_aside(dp, name, path, fd)))
			return err;
		tn_info("the reason counters pinned in %s count %u reasons, this Tenace %d: they start again "
			"from 0", dp->pin_dir, in->value_size / (unsigned)sizeof(struct tn_counter), TN_R__COUNT);
		return 0;
	}
	tn_err("the map %s pinned in %s has another layout (type %u, key %u, value %u bytes, %u entries; "
	       "this Tenace needs type %u, key %u, value %u bytes, %u entries): it was made by another "
	       "version of Tenace; unload it first (tenace unload IFACE --all --pin-dir %s)",
	       name, dp->pin_dir, in->type, in->key_size, in->value_size, in->max_entries,
	       bpf_map__type(map), bpf_map__key_size(map), bpf_map__value_size(map),
	       bpf_map__max_entries(map), dp->pin_dir);
	return -EEXIST;
}

/* Pin path of one map; a map already pinned there must fit this program. */
static int pin_one(struct tn_dp *dp, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(dp->skel->obj, name);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), flags;
	char path[PATH_MAX];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, name);
	if (!map || bpf_map__set_pin_path(map, path)) {
		tn_err("cannot set pin path %s", path);
		return -EINVAL;
	}
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0; /* not pinned yet: the load creates it */
	/*
	 * The kernel adds BPF_F_RDONLY_PROG to every devmap it creates, and
	 * libbpf 1.1 compares flags exactly before reusing a pinned map: expect
	 * the flag on a pinned devmap (it cannot be asked for at creation).
	 */
	flags = bpf_map__map_flags(map);
	if (bpf_map__type(map) == BPF_MAP_TYPE_DEVMAP || bpf_map__type(map) == BPF_MAP_TYPE_DEVMAP_HASH) {
		flags |= BPF_F_RDONLY_PROG;
		bpf_map__set_map_flags(map, flags);
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		tn_err("cannot read the map pinned at %s: %s", path, strerror(errno));
	} else if (!same_layout(&info, map, flags)) {
		err = pinned_other_layout(dp, name, path, fd, &info, map);
	}
	close(fd);
	return err;
}

/* Pins of earlier builds that no map of this one takes over: the VIP
 * directory before its slots changed function (vip_dir, now vip_directory).
 * Only the pin goes: the program of that build, still attached, keeps its
 * map (and reads it, consistent as it was) until this one replaces it. */
static const char *const retired_pins[] = { "vip_dir" };

static void unpin_retired(const struct tn_dp *dp)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(retired_pins) / sizeof(retired_pins[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, retired_pins[i]);
		if (unlink(path) && errno != ENOENT)
			tn_warn("cannot remove the pin %s of an earlier build: %s", path, strerror(errno));
	}
}

int tn_dp_pins_prepare(struct tn_dp *dp)
{
	int err;

	/* the settings first: when they are of another version, that is the news */
	if ((err = pin_one(dp, "settings")))
		return err;
	for (size_t i = 0; i < TN_DP_NPINNED; i++)
		if (strcmp(tn_dp_pinned_maps[i], "settings") && (err = pin_one(dp, tn_dp_pinned_maps[i])))
			return err;
	unpin_retired(dp);
	return 0;
}

void tn_dp_pins_restore(struct tn_dp *dp)
{
	char path[PATH_MAX];

	for (int i = 0; i < dp->naside; i++) {
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, dp->aside_name[i]);
		unlink(path);
		if (bpf_obj_pin(dp->aside_fd[i], path))
			tn_err("cannot put the earlier map %s back at %s: %s", dp->aside_name[i], path,
			       strerror(errno));
	}
	tn_dp_pins_commit(dp);
}

void tn_dp_pins_commit(struct tn_dp *dp)
{
	for (int i = 0; i < dp->naside; i++)
		close(dp->aside_fd[i]);
	dp->naside = 0;
}
