/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `tenace decap --status`: what each pinned decap instance holds and counts. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "decap/decap.h"
#include "lib/log.h"

struct vip_row {
	struct tn_addr addr;
	struct tn_decap_vip_stats sum;
};

struct instance {
	char dir[PATH_MAX];
	struct tn_decap_config cfg;
	struct tn_counter reason[TN_D__COUNT];
	struct vip_row *vips;
	size_t nvips;
	uint32_t ingress_id, egress_id;
	bool iface_here;       /* the interface exists in this network namespace */
};

static int open_pin(const char *dir, const char *name)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
}

static int read_reasons(struct instance *in, int ncpus)
{
	struct tn_decap_stats *per = calloc((size_t)ncpus, sizeof(*per));
	int fd = open_pin(in->dir, "stats"), err = 0;
	__u32 zero = 0;

	if (!per || fd < 0 || bpf_map_lookup_elem(fd, &zero, per))
		err = -ENOENT;
	for (int c = 0; !err && c < ncpus; c++)
		for (int r = 0; r < TN_D__COUNT; r++) {
			in->reason[r].packets += per[c].reason[r].packets;
			in->reason[r].bytes += per[c].reason[r].bytes;
		}
	if (fd >= 0)
		close(fd);
	free(per);
	return err;
}

static int read_vips(struct instance *in, int ncpus)
{
	struct tn_decap_vip_stats *per = calloc((size_t)ncpus, sizeof(*per));
	int fd = open_pin(in->dir, "vips"), err = 0;
	struct tn_decap_vip_key k, next;
	bool more;

	if (!per || fd < 0) {
		err = -ENOENT;
		goto out;
	}
	more = bpf_map_get_next_key(fd, NULL, &k) == 0;
	while (more && !err) {
		struct vip_row *v = realloc(in->vips, (in->nvips + 1) * sizeof(*v));

		if (!v) {
			err = -ENOMEM;
			break;
		}
		in->vips = v;
		v = &in->vips[in->nvips++];
		memset(v, 0, sizeof(*v));
		v->addr.family = k.family;
		memcpy(v->addr.bytes, k.addr, 16);
		if (bpf_map_lookup_elem(fd, &k, per) == 0)
			for (int c = 0; c < ncpus; c++) {
				v->sum.packets += per[c].packets;
				v->sum.bytes += per[c].bytes;
				v->sum.clamped += per[c].clamped;
			}
		more = bpf_map_get_next_key(fd, &k, &next) == 0;
		k = next;
	}
out:
	if (fd >= 0)
		close(fd);
	free(per);
	return err;
}

static int read_instance(struct instance *in, int ncpus)
{
	int fd = open_pin(in->dir, "config");
	char name[IF_NAMESIZE];
	__u32 zero = 0;
	int err;

	if (fd < 0)
		return -ENOENT;
	err = bpf_map_lookup_elem(fd, &zero, &in->cfg) || in->cfg.version != TN_DECAP_VERSION ? -ENOENT : 0;
	close(fd);
	if (err || (err = read_reasons(in, ncpus)) || (err = read_vips(in, ncpus)))
		return err;
	/* the same name at the same index: the interface is in our namespace */
	in->iface_here = if_indextoname(in->cfg.ifindex, name) && !strcmp(name, in->cfg.ifname);
	if (in->iface_here)
		tn_decap_query((int)in->cfg.ifindex, &in->ingress_id, &in->egress_id);
	return 0;
}

static json_object *instance_json(const struct instance *in)
{
	json_object *o = json_object_new_object(), *vips = json_object_new_array(), *cnt = json_object_new_object();
	json_object *att = json_object_new_object();
	char a[TN_ADDR_TEXT];

	json_object_object_add(o, "interface", json_object_new_string(in->cfg.ifname));
	json_object_object_add(o, "ifindex", json_object_new_int64(in->cfg.ifindex));
	json_object_object_add(att, "ingress", json_object_new_int64(in->ingress_id));
	json_object_object_add(att, "egress", json_object_new_int64(in->egress_id));
	json_object_object_add(o, "attached", in->iface_here ? att : NULL);
	if (!in->iface_here)
		json_object_put(att);
	json_object_object_add(o, "guePort", json_object_new_int(in->cfg.gue_port));
	json_object_object_add(o, "mssClamp", json_object_new_boolean(in->cfg.mss_clamp));
	json_object_object_add(o, "pinDir", json_object_new_string(in->dir));
	for (size_t i = 0; i < in->nvips; i++) {
		json_object *v = json_object_new_object();

		tn_addr_format(&in->vips[i].addr, a, sizeof(a));
		json_object_object_add(v, "vip", json_object_new_string(a));
		json_object_object_add(v, "packets", json_object_new_int64((int64_t)in->vips[i].sum.packets));
		json_object_object_add(v, "bytes", json_object_new_int64((int64_t)in->vips[i].sum.bytes));
		json_object_object_add(v, "synAcksClamped", json_object_new_int64((int64_t)in->vips[i].sum.clamped));
		json_object_array_add(vips, v);
	}
	json_object_object_add(o, "vips", vips);
	for (int r = 0; r < TN_D__COUNT; r++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "packets", json_object_new_int64((int64_t)in->reason[r].packets));
		json_object_object_add(c, "bytes", json_object_new_int64((int64_t)in->reason[r].bytes));
		json_object_object_add(cnt, tn_decap_reason_name((enum tn_decap_reason)r), c);
	}
	json_object_object_add(o, "counters", cnt);
	return o;
}

static void instance_print(const struct instance *in)
{
	char a[TN_ADDR_TEXT];

	printf("%s (ifindex %u): ", in->cfg.ifname, in->cfg.ifindex);
	if (!in->iface_here)
		printf("interface not in this network namespace (or gone)");
	else if (in->ingress_id && in->egress_id)
		printf("attached (TC ingress program %u, egress %u)", in->ingress_id, in->egress_id);
	else
		printf("NOT attached (ingress program %u, egress %u): run tenace decap %s --vip ... again",
		       in->ingress_id, in->egress_id, in->cfg.ifname);
	printf(", GUE port %u, MSS clamp %s, maps in %s\n", in->cfg.gue_port, in->cfg.mss_clamp ? "on" : "off",
	       in->dir);
	printf("  %-40s %14s %16s %16s\n", "VIP", "packets", "bytes", "SYN-ACKs clamped");
	for (size_t i = 0; i < in->nvips; i++) {
		tn_addr_format(&in->vips[i].addr, a, sizeof(a));
		printf("  %-40s %14" PRIu64 " %16" PRIu64 " %16" PRIu64 "\n", a, (uint64_t)in->vips[i].sum.packets,
		       (uint64_t)in->vips[i].sum.bytes, (uint64_t)in->vips[i].sum.clamped);
	}
	printf("  %-40s %14s %16s\n", "counter", "packets", "bytes");
	for (int r = 0; r < TN_D__COUNT; r++)
		printf("  %-40s %14" PRIu64 " %16" PRIu64 "\n", tn_decap_reason_name((enum tn_decap_reason)r),
		       (uint64_t)in->reason[r].packets, (uint64_t)in->reason[r].bytes);
}

int tn_decap_status(const char *root, bool json)
{
	json_object *arr = json_object_new_array();
	int ncpus = libbpf_num_possible_cpus(), shown = 0;
	struct dirent *de;
	DIR *d = opendir(root);

	if (!d && errno != ENOENT) {
		int err = -errno;

		tn_err("cannot read %s: %s", root, strerror(errno));
		json_object_put(arr);
		return err;
	}
	while (d && (de = readdir(d))) {
		struct instance in = {0};

		if (de->d_name[0] == '.')
			continue;
		snprintf(in.dir, sizeof(in.dir), "%s/%s", root, de->d_name);
		if (read_instance(&in, ncpus)) {
			free(in.vips);
			continue;
		}
		if (json)
			json_object_array_add(arr, instance_json(&in));
		else
			instance_print(&in);
		shown++;
		free(in.vips);
	}
	if (d)
		closedir(d);
	if (json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (!shown)
		printf("no decap program pinned under %s\n", root);
	json_object_put(arr);
	return 0;
}
