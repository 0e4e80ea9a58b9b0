/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Attaching to interfaces. Only this instance's own program is replaced, in
 * place (XDP_FLAGS_REPLACE, no gap); anything else found on the interface is
 * the operator's to remove, and the refusal says what it is and how.
 * "This instance" is the one whose pinned maps the attached program uses.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tenace.skel.h"
#include "dataplane/internal.h"
#include "lib/log.h"

const char *tn_dp_ifname(int ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "#%d", ifindex);
	return buf;
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

enum owner { OWNER_US, OWNER_OTHER_TENACE, OWNER_FOREIGN };

/* A program found on an interface, and whose it is. */
struct found {
	uint32_t id;
	int fd;
	char name[BPF_OBJ_NAME_LEN];
	enum owner owner;
	int pin_dir_known;                     /* another Tenace: its settings were readable */
	char pin_dir[TN_SETTINGS_PIN_DIR_LEN]; /* its pin directory ("" when not pinned) */
};

/* The pin directory another Tenace program recorded in its settings map. */
static void other_pin_dir(const __u32 *map_ids, __u32 n, struct found *f)
{
	for (__u32 i = 0; i < n && !f->pin_dir_known; i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		struct tn_settings s;
		int fd = bpf_map_get_fd_by_id(map_ids[i]);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && !strcmp(info.name, "settings") &&
		    tn_dp_settings_read_fd(fd, &s) == 0 && s.version >= 2) {
			snprintf(f->pin_dir, sizeof(f->pin_dir), "%s", s.pin_dir);
			f->pin_dir_known = 1;
		}
		close(fd);
	}
}

static bool uses_our_maps(const struct tn_dp *dp, const __u32 *map_ids, __u32 n)
{
	for (__u32 i = 0; i < n; i++)
		for (int j = 0; j < TN_DP_NPINNED; j++)
			if (dp->map_ids[j] && map_ids[i] == dp->map_ids[j])
				return true;
	return false;
}

/* Open the program id and tell whose it is: 0 (f->fd to close) or -errno. */
static int inspect(const struct tn_dp *dp, uint32_t id, struct found *f)
{
	__u32 map_ids[64], len;
	struct bpf_prog_info info;
	int err;

	memset(f, 0, sizeof(*f));
	f->id = id;
	f->fd = bpf_prog_get_fd_by_id(id);
	if (f->fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = sizeof(map_ids) / sizeof(map_ids[0]);
	info.map_ids = (__u64)(unsigned long)map_ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(f->fd, &info, &len)) {
		err = -errno;
		close(f->fd);
		f->fd = -1;
		return err;
	}
	if (info.nr_map_ids > sizeof(map_ids) / sizeof(map_ids[0]))
		info.nr_map_ids = sizeof(map_ids) / sizeof(map_ids[0]);
	snprintf(f->name, sizeof(f->name), "%s", info.name);
	if (uses_our_maps(dp, map_ids, info.nr_map_ids)) {
		f->owner = OWNER_US;
	} else if (!strcmp(info.name, bpf_program__name(dp->skel->progs.tenace_xdp))) {
		f->owner = OWNER_OTHER_TENACE;
		other_pin_dir(map_ids, info.nr_map_ids, f);
	} else {
		f->owner = OWNER_FOREIGN;
	}
	return 0;
}

/* Say why a program found on the interface stays: -EBUSY. */
static int refuse(const struct tn_dp *dp, const char *name, const struct found *f, bool its_skb)
{
	if (f->owner == OWNER_FOREIGN)
		tn_err("interface %s runs another XDP program (%s, id %u): detach it first "
		       "(ip link set dev %s %s off)", name, f->name, f->id, name, its_skb ? "xdpgeneric" : "xdp");
	else if (f->owner == OWNER_US)
		tn_err("interface %s runs this Tenace data plane in %s mode: load it in that mode (%s), or "
		       "unload it first (tenace unload %s) to change modes", name, its_skb ? "skb" : "native",
		       its_skb ? "with --skb" : "without --skb", name);
	else if (!f->pin_dir_known)
		tn_err("interface %s is served by another Tenace instance (pin directory not recorded: an older "
		       "version): stop it or use its pin directory", name);
	else if (!f->pin_dir[0])
		tn_err("interface %s is served by another Tenace instance (its maps are not pinned): stop it "
		       "or detach it (tenace unload %s)", name, name);
	else if (!strcmp(f->pin_dir, dp->pin_dir))
		tn_err("interface %s runs a Tenace data plane pinned in %s, but those pins are gone (a bpffs "
		       "mount that went away, as with ip netns exec?): detach it (tenace unload %s) and load again",
		       name, f->pin_dir, name);
	else
		tn_err("interface %s is served by another Tenace instance (pin directory %s): stop it or use "
		       "its pin directory", name, f->pin_dir);
	return -EBUSY;
}

/* What is attached in one mode may stay only if it is ours in the mode asked. */
static int check_mode(struct tn_dp *dp, const char *name, uint32_t id, bool its_skb, bool skb, struct found *f)
{
	int err = inspect(dp, id, f);

	if (err) {
		tn_err("interface %s: cannot open the attached program %u: %s", name, id, strerror(-err));
		return err;
	}
	if (f->owner == OWNER_US && its_skb == skb)
		return 0;
	err = refuse(dp, name, f, its_skb);
	close(f->fd);
	f->fd = -1;
	return err;
}

int tn_dp_attach(struct tn_dp *dp, int ifindex, bool skb_mode)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 mode = skb_mode ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	__u32 here, other;
	char name[IF_NAMESIZE];
	struct found f = { .fd = -1 };
	int err;

	tn_dp_ifname(ifindex, name);
	err = bpf_xdp_query(ifindex, 0, &q);
	if (err) {
		tn_err("interface %s: cannot query XDP state: %s", name, strerror(-err));
		return err;
	}
	here = skb_mode ? q.skb_prog_id : q.drv_prog_id;
	other = skb_mode ? q.drv_prog_id : q.skb_prog_id;
	/* a program in the other mode cannot be replaced in place: never a gap */
	if (other && (err = check_mode(dp, name, other, !skb_mode, skb_mode, &f)))
		return err;
	if (here && (err = check_mode(dp, name, here, skb_mode, skb_mode, &f)))
		return err;
	if (here) {
		opts.old_prog_fd = f.fd;
		err = bpf_xdp_attach(ifindex, tn_dp_prog_fd(dp), mode | XDP_FLAGS_REPLACE, &opts);
		close(f.fd);
	} else {
		err = bpf_xdp_attach(ifindex, tn_dp_prog_fd(dp), mode | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	}
	if (err) {
		tn_err("interface %s: cannot attach XDP in %s mode: %s%s", name, skb_mode ? "skb" : "native",
		       strerror(-err), skb_mode ? "" : " (try --skb for generic mode)");
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
		tn_err("interface %s: cannot detach XDP: %s", tn_dp_ifname(ifindex, name), strerror(-err));
	return err;
}

/* The pin directory the program's settings record, if it is a Tenace one. */
static bool program_pin_dir(uint32_t prog_id, struct found *f)
{
	__u32 map_ids[64];
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(prog_id);

	memset(f, 0, sizeof(*f));
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = sizeof(map_ids) / sizeof(map_ids[0]);
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
		if (info.nr_map_ids > sizeof(map_ids) / sizeof(map_ids[0]))
			info.nr_map_ids = sizeof(map_ids) / sizeof(map_ids[0]);
		other_pin_dir(map_ids, info.nr_map_ids, f);
	}
	close(fd);
	return f->pin_dir_known;
}

int tn_dp_detach_pinned(const char *pin_dir)
{
	struct if_nameindex *ifs = if_nameindex();
	int n = 0, err = 0;

	if (!ifs)
		return -errno;
	for (struct if_nameindex *i = ifs; i->if_index; i++) {
		uint32_t prog_id = 0;
		const char *mode;
		struct found f;

		if (tn_dp_query((int)i->if_index, &prog_id, &mode) || !prog_id)
			continue;
		if (!program_pin_dir(prog_id, &f) || strcmp(f.pin_dir, pin_dir))
			continue;
		if (tn_dp_detach_ifindex((int)i->if_index)) {
			err = -EIO;
			continue;
		}
		tn_info("detached from %s", i->if_name);
		n++;
	}
	if_freenameindex(ifs);
	return err ? err : n;
}

uint32_t tn_dp_prog_id(const struct tn_dp *dp)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(tn_dp_prog_fd(dp), &info, &len))
		return 0;
	return info.id;
}
