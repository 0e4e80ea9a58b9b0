/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Section memory: what the BPF maps cost at the default settings, and this process's RSS. */
#include <stdio.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "tools/bench/common.h"

/* memlock of a map fd, as bpftool reports it (bytes_memlock). */
static long long fd_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/* The memlock of the inner map in slot 0 of the map-in-map outer, reported
 * under key (JSON) and label (table); 0 when there is none. */
static long long inner_memlock(struct tn_dp *dp, const char *outer, json_object *maps, const char *key,
			       const char *label, const char *note)
{
	__u32 zero = 0, id;
	long long v;
	int inner;

	if (bpf_map_lookup_elem(tn_dp_map_fd(dp, outer), &zero, &id) || (inner = bpf_map_get_fd_by_id(id)) < 0)
		return 0;
	v = fd_memlock(inner);
	close(inner);
	JSET(maps, key, JI(v));
	printf("%-14s %10.2f MiB%s\n", label, v / 1048576.0, note);
	return v > 0 ? v : 0;
}

int memory_section(struct bench *b)
{
	static const char *const names[] = {
		"vips", "farms", "conntrack", "conntrack4_sets", "filter_allow", "filter_deny", "tx_ports", "stats",
		"vip_stats", "server_stats", "settings", "vip_bits", "vip_directory", "admit", "pmtu", "encap_sources",
		"trace_ctl", "trace_scratch",
	};
	json_object *sec = json_object_new_object(), *maps = json_object_new_object();
	struct tn_dp *dp = NULL;
	long long total = 0, v;
	int err;
	char line[256];
	long rss_kb = -1;
	FILE *f;

	printf("\n== memory: BPF maps at the default settings (table 65537, conntrack 1,000,000), one farm ==\n");
	if ((err = dp_setup(&dp, TN_CT_SIZE_DEFAULT, 1, LB_MAC)))
		goto out;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = fd_memlock(tn_dp_map_fd(dp, names[i]));
		JSET(maps, names[i], JI(v));
		printf("%-14s %10.2f MiB\n", names[i], v / 1048576.0);
		total += v > 0 ? v : 0;
	}
	total += inner_memlock(dp, "farms", maps, "farm (inner map, per farm)", "farm table", " (per farm)");
	total += inner_memlock(dp, "vip_directory", maps, "vip directory (inner map)", "vip directory", "");
	printf("%-14s %10.2f MiB with one farm\n", "total", total / 1048576.0);
	f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &rss_kb) == 1)
			break;
	if (f)
		fclose(f);
	printf("RSS of this bench process with the data plane loaded: %.1f MiB (the controller's own RSS is "
	       "not measured here)\n", rss_kb / 1024.0);
	JSET(sec, "maps_bytes_memlock", maps);
	JSET(sec, "total_bytes_memlock_one_farm", JI(total));
	JSET(sec, "bench_process_rss_kb", JI(rss_kb));
	JSET(sec, "controller_rss_kb", NULL);
out:
	JSET(sec, "method", JS("memlock of each map from /proc/self/fdinfo (what bpftool map show -j reports as "
			       "bytes_memlock), data plane opened with default settings and one farm of 10 servers. "
			       "controller_rss_kb: not measured by this bench (null)."));
	JSET(b->root, "memory", sec);
	tn_dp_close(dp);
	if (err)
		b->failures++;
	return err;
}
