/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `tenace decap`: attach, remove or show the servers' decapsulation programs. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "dataplane/dataplane.h"
#include "decap/decap.h"
#include "lib/log.h"
#include "lib/num.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tenace decap IFACE --vip ADDR[,ADDR...] [--gue-port P] [--mss-clamp on|off] [--pin-dir D]\n"
		"       tenace decap IFACE --off [--pin-dir D]\n"
		"       tenace decap --status [-j] [--pin-dir D]\n"
		"\n"
		"On a server behind a Tenace balancer that forwards with ipip or gue: strips the\n"
		"tunnel (IPIP, IPv6 in IPv6, GUE version 0 or 1 to UDP port P, default %d) from\n"
		"packets to the given VIPs and hands them to the stack as if they had arrived\n"
		"plain; lowers the MSS of the SYN-ACKs that answer tunnelled SYNs by the tunnel's\n"
		"overhead (--mss-clamp, default on). TC ingress and egress programs, attached\n"
		"through a clsact qdisc; maps pinned in D/IFACE (D default %s).\n"
		"Running it again changes the VIPs and settings without a gap; --off removes it.\n",
		TN_GUE_PORT_DEFAULT, TN_DECAP_PIN_DIR_DEFAULT);
}

/* Append the comma-separated addresses of s to *vips. */
static int add_vips(const char *s, struct tn_addr **vips, size_t *n)
{
	char *copy = strdup(s), *save = NULL, *tok;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		struct tn_addr *v;

		if (*n >= TN_DECAP_MAX_VIPS) {
			tn_err("--vip: at most %d addresses", TN_DECAP_MAX_VIPS);
			err = -E2BIG;
			break;
		}
		v = realloc(*vips, (*n + 1) * sizeof(**vips));
		if (!v) {
			err = -ENOMEM;
			break;
		}
		*vips = v;
		if (tn_addr_parse(tok, &v[*n])) {
			tn_err("--vip: \"%s\" is not an IPv4 or IPv6 address", tok);
			err = -EINVAL;
			break;
		}
		(*n)++;
	}
	free(copy);
	if (!err && *n == 0) {
		tn_err("--vip: no address given");
		err = -EINVAL;
	}
	return err;
}

static int iface_dir(const char *root, const char *iface, char *out, size_t len)
{
	if (strncmp(root, "/sys/fs/bpf", 11) == 0 && tn_dp_ensure_bpffs())
		return -EIO;
	if (mkdir(root, 0700) && errno != EEXIST) {
		int err = -errno;

		tn_err("cannot create pin directory %s: %s", root, strerror(errno));
		return err;
	}
	if ((size_t)snprintf(out, len, "%s/%s", root, iface) >= len) {
		tn_err("pin directory %s/%s: path too long", root, iface);
		return -ENAMETOOLONG;
	}
	return 0;
}

static void vips_text(const struct tn_addr *vips, size_t n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && off + TN_ADDR_TEXT + 2 < len; i++) {
		char a[TN_ADDR_TEXT];

		tn_addr_format(&vips[i], a, sizeof(a));
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "", a);
	}
}

static int decap_on(const char *iface, const char *root, const struct tn_addr *vips, size_t nvips,
		    uint16_t gue_port, bool mss_clamp)
{
	struct tn_decap_config cfg = {0}, old;
	struct tn_decap *d = NULL;
	char dir[PATH_MAX], text[512];
	bool created = false;
	int ifindex, err;

	ifindex = (int)if_nametoindex(iface);
	if (!ifindex) {
		tn_err("interface %s: %s", iface, strerror(errno));
		return -ENODEV;
	}
	if ((err = iface_dir(root, iface, dir, sizeof(dir))) || (err = tn_decap_open(&d, dir)))
		return err;
	cfg.ifindex = (uint32_t)ifindex;
	cfg.gue_port = gue_port;
	cfg.mss_clamp = mss_clamp;
	snprintf(cfg.ifname, sizeof(cfg.ifname), "%s", iface);
	/* a qdisc we created earlier stays ours across re-runs */
	if (tn_decap_config_get(d, &old) == 0 && old.ifindex == cfg.ifindex)
		cfg.own_qdisc = old.own_qdisc;
	err = tn_decap_configure(d, &cfg, vips, nvips);
	if (!err)
		err = tn_decap_attach(d, ifindex, &created);
	if (!err && created && !cfg.own_qdisc) {
		cfg.own_qdisc = 1;
		err = tn_decap_configure(d, &cfg, vips, nvips);
	}
	tn_decap_close(d);
	if (err)
		return err;
	vips_text(vips, nvips, text, sizeof(text));
	tn_info("decap attached to %s (TC ingress and egress): VIPs %s, GUE port %u, MSS clamp %s; maps in %s",
		iface, text, gue_port, mss_clamp ? "on" : "off", dir);
	return 0;
}

static int decap_off(const char *iface, const char *root)
{
	struct tn_decap_config cfg = {0};
	char dir[PATH_MAX], path[PATH_MAX + 16];
	uint32_t in_id = 0, eg_id = 0;
	bool pinned = false;
	int ifindex, fd, err = 0;
	__u32 zero = 0;

	snprintf(dir, sizeof(dir), "%s/%s", root, iface);
	snprintf(path, sizeof(path), "%s/config", dir);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		pinned = bpf_map_lookup_elem(fd, &zero, &cfg) == 0 && cfg.version == TN_DECAP_VERSION;
		close(fd);
	}
	ifindex = (int)if_nametoindex(iface);
	if (ifindex) {
		tn_decap_query(ifindex, &in_id, &eg_id);
		err = tn_decap_detach(ifindex, pinned && cfg.own_qdisc && cfg.ifindex == (uint32_t)ifindex);
	} else if (!pinned) {
		tn_err("interface %s: %s", iface, strerror(errno));
		return -ENODEV;
	}
	if (err)
		return err;
	if (tn_dp_unpin(dir) && access(dir, F_OK) == 0) {
		tn_err("cannot remove pin directory %s: %s", dir, strerror(errno));
		return -EIO;
	}
	if (!pinned && !in_id && !eg_id)
		tn_info("no decap program on %s (nothing in %s)", iface, dir);
	else
		tn_info("decap removed from %s%s", iface, ifindex ? "" : " (interface gone; its maps removed)");
	return 0;
}

int tn_decap_main(int argc, char **argv, bool json)
{
	static const struct option o[] = {
		{ "vip", required_argument, NULL, 'v' },
		{ "gue-port", required_argument, NULL, 'g' },
		{ "mss-clamp", required_argument, NULL, 'm' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "off", no_argument, NULL, 'o' },
		{ "status", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = TN_DECAP_PIN_DIR_DEFAULT;
	struct tn_addr *vips = NULL;
	size_t nvips = 0;
	bool off = false, status = false, clamp = true, gave_port = false, gave_clamp = false;
	uint32_t port = TN_GUE_PORT_DEFAULT;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", o, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (add_vips(optarg, &vips, &nvips))
				goto out;
			break;
		case 'g':
			if (tn_parse_u32(optarg, 1, 65535, &port)) {
				tn_err("--gue-port expects a UDP port 1..65535, got \"%s\"", optarg);
				goto out;
			}
			gave_port = true;
			break;
		case 'm':
			if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
				tn_err("--mss-clamp expects on or off, got \"%s\"", optarg);
				goto out;
			}
			clamp = !strcmp(optarg, "on");
			gave_clamp = true;
			break;
		case 'p': root = optarg; break;
		case 'o': off = true; break;
		case 's': status = true; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); rc = 0; goto out;
		default: goto out;
		}
	}
	if (status) {
		if (optind != argc || off || nvips || gave_port || gave_clamp) {
			tn_err("decap --status takes no interface and no other option than -j and --pin-dir");
			goto out;
		}
		rc = tn_decap_status(root, json) ? 1 : 0;
		goto out;
	}
	if (optind != argc - 1) {
		usage(stderr);
		goto out;
	}
	if (off) {
		if (nvips || gave_port || gave_clamp) {
			tn_err("decap --off takes no --vip, --gue-port or --mss-clamp");
			goto out;
		}
		rc = decap_off(argv[optind], root) ? 1 : 0;
		goto out;
	}
	if (!nvips) {
		tn_err("decap %s: --vip ADDR[,ADDR...] is required (the VIPs this server answers for)", argv[optind]);
		goto out;
	}
	rc = decap_on(argv[optind], root, vips, nvips, (uint16_t)port, clamp) ? 1 : 0;
out:
	free(vips);
	return rc;
}
