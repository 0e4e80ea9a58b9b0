/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `tenace load` and `tenace unload`: attach and detach the data plane. */
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
#include "cmd/cmd.h"
#include "dataplane/dataplane.h"
#include "lib/log.h"

/* ---- load / unload -------------------------------------------------------------- */

enum { SET_TABLE = 1, SET_CT = 2, SET_TCP = 4, SET_UDP = 8, SET_SEED = 16 };

int cmd_load(int argc, char **argv)
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
	struct tn_dp_settings want, given = {0};
	const char *pin_dir = NULL;
	bool skb = false;
	unsigned any = 0; /* which settings were given (SET_* bits) */
	struct tn_dp *dp = NULL;
	uint32_t v;
	int c, ifindex, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", o, NULL)) != -1) {
		switch (c) {
		case 's': skb = true; break;
		case 'p': pin_dir = optarg; break;
		case 'h':
			printf("usage: tenace load IFACE [--skb] [--table-size PRIME] [--ct-size N] [--tcp-timeout S]\n"
			       "                   [--udp-timeout S] [--hash-seed N] [--pin-dir D]\n"
			       "Loads the XDP program (maps pinned under %s) and attaches it to IFACE.\n"
			       "On an interface already running Tenace the program is replaced without a gap\n"
			       "and the pinned conntrack is kept; settings not given keep the running data\n"
			       "plane's values (the defaults when nothing is pinned).\n", TN_PIN_DIR_DEFAULT);
			return 0;
		case 't': case 'c': case 'T': case 'U': case 'H':
			if (cmd_parse_u32(o[c == 't' ? 1 : c == 'c' ? 2 : c == 'T' ? 3 : c == 'U' ? 4 : 5].name, optarg, &v))
				return 1;
			switch (c) {
			case 't': given.table_size = v; any |= SET_TABLE; break;
			case 'c': given.ct_size = v; any |= SET_CT; break;
			case 'T': given.tcp_timeout_s = v; any |= SET_TCP; break;
			case 'U': given.udp_timeout_s = v; any |= SET_UDP; break;
			default: given.hash_seed = v; any |= SET_SEED; break;
			}
			break;
		default:
			return 1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: tenace load IFACE [--skb] [settings] [--pin-dir D]\n");
		return 1;
	}
	ifindex = cmd_ifindex(argv[optind]);
	if (!ifindex)
		return 1;
	/* the settings not given are the running data plane's (its pins), else
	 * the defaults: loading with --tcp-timeout keeps the pinned seed */
	if (!pin_dir || pin_dir[0]) {
		const char *dir = pin_dir ? pin_dir : TN_PIN_DIR_DEFAULT;

		if (strncmp(dir, "/sys/fs/bpf", 11) == 0 && tn_dp_ensure_bpffs())
			return 1;
		if (tn_dp_read_pinned_settings(dir, &want))
			tn_dp_settings_default(&want);
	} else {
		tn_dp_settings_default(&want);
	}
	if (any & SET_TABLE)
		want.table_size = given.table_size;
	if (any & SET_CT)
		want.ct_size = given.ct_size;
	if (any & SET_TCP)
		want.tcp_timeout_s = given.tcp_timeout_s;
	if (any & SET_UDP)
		want.udp_timeout_s = given.udp_timeout_s;
	if (any & SET_SEED)
		want.hash_seed = given.hash_seed;
	err = tn_dp_open(&dp, pin_dir, any ? &want : NULL);
	if (err)
		return 1;
	err = tn_dp_attach(dp, ifindex, skb);
	if (!err)
		tn_info("Tenace attached to %s (%s mode), maps in %s", argv[optind], skb ? "skb" : "native",
			tn_dp_pin_dir(dp)[0] ? tn_dp_pin_dir(dp) : "(not pinned)");
	tn_dp_close(dp);
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
			       "Detaches the XDP program from each IFACE; --all also removes the pinned maps\n"
			       "(conntrack and tables), so the next load starts empty.\n");
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
		if (tn_dp_unpin(pin_dir))
			rc = 1;
		else
			tn_info("removed the pinned maps in %s", pin_dir);
	}
	return rc;
}
