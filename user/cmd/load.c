/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `tenace load` and `tenace unload`: attach and detach the data plane. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <stdbool.h>
#include "cmd/cmd.h"
#include "dataplane/dataplane.h"
#include "lib/log.h"

/* ---- load / unload -------------------------------------------------------------- */

enum { SET_TABLE = 1, SET_CT = 2, SET_TCP = 4, SET_UDP = 8, SET_SEED = 16 };

struct load_args {
	const char *iface, *pin_dir;  /* pin_dir NULL: the default */
	bool skb;
	struct tn_dp_settings given;
	unsigned any;                 /* which settings were given (SET_* bits) */
};

static void load_usage(void)
{
	printf("usage: tenace load IFACE [--skb] [--table-size PRIME] [--ct-size N] [--tcp-timeout S]\n"
	       "                   [--udp-timeout S] [--hash-seed N] [--pin-dir D]\n"
	       "Loads the XDP program (maps pinned under %s) and attaches it to IFACE.\n"
	       "On an interface already running Tenace the program is replaced without a gap\n"
	       "and the pinned conntrack is kept; settings not given keep the running data\n"
	       "plane's values (the defaults when nothing is pinned). Another program on IFACE\n"
	       "(another tool's, another Tenace instance's, ours in the other mode) is refused.\n"
	       "A pin directory on no bpffs gets one mounted on it.\n", TN_PIN_DIR_DEFAULT);
}

static int load_setting(int c, const char *opt, struct load_args *a)
{
	uint32_t v;

	if (cmd_parse_u32(opt, optarg, &v))
		return -EINVAL;
	switch (c) {
	case 't': a->given.table_size = v; a->any |= SET_TABLE; break;
	case 'c': a->given.ct_size = v; a->any |= SET_CT; break;
	case 'T': a->given.tcp_timeout_s = v; a->any |= SET_TCP; break;
	case 'U': a->given.udp_timeout_s = v; a->any |= SET_UDP; break;
	default: a->given.hash_seed = v; a->any |= SET_SEED; break;
	}
	return 0;
}

/* 0, 1 for --help, -EINVAL (said). */
static int load_parse(int argc, char **argv, struct load_args *a)
{
	static const struct option o[] = {
		{ "skb", no_argument, NULL, 's' },
		{ "table-size", required_argument, NULL, 't' },
		{ "ct-size", required_argument, NULL, 'c' },
		{ "tcp-timeout", required_argument, NULL, 'T' },
		{ "udp-timeout", required_argument, NULL, 'U' },
		{ "hash-seed", required_argument, NULL, 'H' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", o, &i)) != -1) {
		switch (c) {
		case 's': a->skb = true; break;
		case 'p': a->pin_dir = optarg; break;
		case 'h': load_usage(); return 1;
		case 't': case 'c': case 'T': case 'U': case 'H':
			if (load_setting(c, o[i].name, a))
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: tenace load IFACE [--skb] [settings] [--pin-dir D]\n");
		return -EINVAL;
	}
	a->iface = argv[optind];
	return 0;
}

static bool dir_has_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	bool any = false;

	while (d && !any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	return any;
}

/*
 * The settings not given are the running data plane's (its pins), else the
 * defaults: loading with --tcp-timeout keeps the pinned seed. *pinned: was
 * anything pinned already. 0 or -errno (said).
 */
static int load_settings(const struct load_args *a, struct tn_dp_settings *want, bool *pinned)
{
	const char *dir = a->pin_dir ? a->pin_dir : TN_PIN_DIR_DEFAULT;

	*pinned = false;
	tn_dp_settings_default(want);
	if (dir[0]) {
		if (tn_dp_pin_dir_ensure(dir))
			return -EINVAL;
		*pinned = dir_has_entries(dir);
		if (tn_dp_read_pinned_settings(dir, want))
			tn_dp_settings_default(want);
	}
	if (a->any & SET_TABLE)
		want->table_size = a->given.table_size;
	if (a->any & SET_CT)
		want->ct_size = a->given.ct_size;
	if (a->any & SET_TCP)
		want->tcp_timeout_s = a->given.tcp_timeout_s;
	if (a->any & SET_UDP)
		want->udp_timeout_s = a->given.udp_timeout_s;
	if (a->any & SET_SEED)
		want->hash_seed = a->given.hash_seed;
	return 0;
}

/* Native XDP on a veth whose peer drops what XDP sends: say so, with the fix. */
static void warn_veth_peer(int ifindex)
{
	char warn[512];

	if (tn_dp_veth_peer_check(ifindex, warn, sizeof(warn)) == 1)
		tn_warn("%s or use --skb", warn);
}

int cmd_load(int argc, char **argv)
{
	struct load_args a = { 0 };
	struct tn_dp_settings want;
	struct tn_dp *dp = NULL;
	bool pinned;
	int ifindex, err, lock_fd = -1;

	err = load_parse(argc, argv, &a);
	if (err)
		return err > 0 ? 0 : 1;
	ifindex = cmd_ifindex(a.iface);
	if (!ifindex)
		return 1;
	/* a controller on this pin directory owns the data plane: refused */
	if ((!a.pin_dir || a.pin_dir[0]) &&
	    (lock_fd = cmd_lock_pin_dir(a.pin_dir ? a.pin_dir : TN_PIN_DIR_DEFAULT, "load")) < 0)
		return 1;
	if (load_settings(&a, &want, &pinned) || tn_dp_open(&dp, a.pin_dir, a.any ? &want : NULL)) {
		if (lock_fd >= 0)
			close(lock_fd);
		return 1;
	}
	err = tn_dp_attach(dp, ifindex, a.skb);
	if (!err) {
		tn_info("Tenace attached to %s (%s mode), maps in %s", a.iface, a.skb ? "skb" : "native",
			tn_dp_pin_dir(dp)[0] ? tn_dp_pin_dir(dp) : "(not pinned)");
		if (!a.skb)
			warn_veth_peer(ifindex);
	} else if (!pinned && tn_dp_pin_dir(dp)[0]) {
		/* a refused first load leaves no pinned maps behind */
		tn_dp_unpin(tn_dp_pin_dir(dp));
	}
	tn_dp_close(dp);
	if (lock_fd >= 0)
		close(lock_fd);
	return err ? 1 : 0;
}

int cmd_unload(int argc, char **argv)
{
	static const struct option o[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pin_dir = TN_PIN_DIR_DEFAULT;
	bool all = false;
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", o, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'p': pin_dir = optarg; break;
		case 'h':
			printf("usage: tenace unload [IFACE...] [--all] [--pin-dir D]\n"
			       "Detaches the XDP program from each IFACE; --all detaches it from every interface\n"
			       "that runs this pin directory's data plane and removes the pinned maps (conntrack\n"
			       "and tables), so the next load starts empty. --all is refused while a controller\n"
			       "runs on the pin directory.\n");
			return 0;
		default:
			return 1;
		}
	}
	if (optind == argc && !all) {
		fprintf(stderr, "usage: tenace unload IFACE [--all] [--pin-dir D]\n");
		return 1;
	}
	for (; optind < argc; optind++) {
		int ifindex = cmd_ifindex(argv[optind]);

		if (!ifindex || tn_dp_detach_ifindex(ifindex)) {
			rc = 1;
			continue;
		}
		tn_info("detached from %s", argv[optind]);
	}
	if (all) {
		int lock_fd = cmd_lock_pin_dir(pin_dir, "unload --all");

		if (lock_fd < 0)
			return 1;
		if (tn_dp_detach_pinned(pin_dir) < 0)
			rc = 1;
		if (tn_dp_unpin(pin_dir))
			rc = 1;
		else
			tn_info("removed the pinned maps in %s", pin_dir);
		close(lock_fd);
	}
	return rc;
}
