/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The options of `tenace trace`: filters into a struct tn_trace_session. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "dataplane/dataplane.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/num.h"
#include "trace/trace.h"

/* "/tcp" or "/udp" at the end of s, cut off: the protocol, 0 when none, -1 for another. */
static int cut_proto(char *s)
{
	char *slash = strrchr(s, '/');

	if (!slash)
		return 0;
	if (!strcmp(slash + 1, "tcp") || !strcmp(slash + 1, "udp")) {
		int proto = slash[1] == 't' ? IPPROTO_TCP : IPPROTO_UDP;

		*slash = 0;
		return proto;
	}
	return -1;
}

int tn_trace_parse_vip(const char *s, struct tn_trace_session *f)
{
	char buf[128];
	struct tn_addr a;
	uint16_t port = 0;
	int proto;

	if (strlen(s) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", s);
	proto = cut_proto(buf);
	if (proto < 0)
		goto bad;
	if (tn_addr_parse(buf, &a) && tn_hostport_parse(buf, &a, &port))
		goto bad;
	memcpy(f->vip_addr, a.bytes, 16);
	f->vip_family = a.family;
	f->flags |= TN_TF_VIP;
	if (port) {
		f->vip_port = htons(port);
		f->flags |= TN_TF_VIP_PORT;
	}
	if (proto) {
		f->vip_proto = (uint8_t)proto;
		f->flags |= TN_TF_VIP_PROTO;
	}
	return 0;
bad:
	tn_err("--vip: \"%s\" is not ADDRESS, ADDRESS:PORT or [IPV6]:PORT (optionally followed by /tcp or /udp)", s);
	return -EINVAL;
}

int tn_trace_parse_client(const char *s, struct tn_trace_session *f)
{
	struct tn_cidr c;

	if (tn_cidr_parse(s, &c)) {
		tn_err("--client: \"%s\" is not an address or a prefix (10.1.0.0/16, fd00::/64)", s);
		return -EINVAL;
	}
	memcpy(f->client_addr, c.addr.bytes, 16);
	f->client_family = c.addr.family;
	f->client_prefix = c.prefixlen;
	f->flags |= TN_TF_CLIENT;
	return 0;
}

int tn_trace_parse_server(const char *s, struct tn_trace_session *f)
{
	char buf[64], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash || strlen(s) >= sizeof(buf))
		goto bad;
	*slash = 0;
	if (tn_parse_id(buf, &f->farm_id) || tn_parse_id(slash + 1, &f->server_id))
		goto bad;
	f->flags |= TN_TF_SERVER;
	return 0;
bad:
	tn_err("--server: \"%s\" is not FARMID/SERVERID (two ids, as in the configuration)", s);
	return -EINVAL;
}

static int reason_by_name(const char *name)
{
	for (int r = 0; r < TN_R__COUNT; r++)
		if (!strcmp(name, tn_reason_name((enum tn_reason)r)))
			return r;
	return -1;
}

int tn_trace_parse_reasons(const char *s, struct tn_trace_session *f)
{
	char *copy = strdup(s), *save = NULL, *tok;
	uint64_t mask = 0;
	int r, err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if ((r = reason_by_name(tok)) < 0) {
			tn_err("--reason: \"%s\" is not a reason (the names of `tenace stats`: drop_filtered, "
			       "conntrack_new, xdp_tx, ...)", tok);
			err = -EINVAL;
			break;
		}
		mask |= 1ULL << r;
	}
	free(copy);
	if (!err && !mask) {
		tn_err("--reason: no reason given");
		err = -EINVAL;
	}
	if (!err) {
		f->reasons = mask;
		f->flags |= TN_TF_REASON;
	}
	return err;
}

int tn_trace_parse_rate(const char *s, struct tn_trace_session *f)
{
	char buf[32];
	size_t n = strlen(s);
	uint32_t rate;

	snprintf(buf, sizeof(buf), "%s", s);
	if (n > 2 && n < sizeof(buf) && !strcmp(buf + n - 2, "/s"))
		buf[n - 2] = 0;
	if (n >= sizeof(buf) || tn_parse_u32(buf, 1, 1000000, &rate)) {
		tn_err("--rate: \"%s\" is not a rate of 1 to 1000000 events a second (N or N/s)", s);
		return -EINVAL;
	}
	f->interval_ns = 1000000000ULL / rate;
	f->flags |= TN_TF_RATE;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tenace trace [--vip ADDR[:PORT][/tcp|/udp]] [--client CIDR] [--server FARM/ID]\n"
		"                    [--reason R[,R...]] [--rate N/s] [--count N] [-j] [-w FILE.pcap]\n"
		"                    [--pin-dir DIR]\n"
		"\n"
		"Prints one line per packet the running data plane decides on and the filters take:\n"
		"time, client, VIP, the verdict reason (the names of `tenace stats`), the conntrack\n"
		"result, farm and generation, the server chosen and why. Filters combine (all must\n"
		"match); --reason takes any of the reasons counted for the packet. -w also writes\n"
		"each packet as received and as sent to a pcap file. Up to %d traces at once, each\n"
		"with its own filter. Ends after --count events, or on Ctrl-C.\n",
		TN_TRACE_SLOTS);
}

static int parse_one(int c, const char *arg, struct tn_trace_opts *o)
{
	switch (c) {
	case 'v': return tn_trace_parse_vip(arg, &o->filter);
	case 'c': return tn_trace_parse_client(arg, &o->filter);
	case 's': return tn_trace_parse_server(arg, &o->filter);
	case 'r': return tn_trace_parse_reasons(arg, &o->filter);
	case 'R': return tn_trace_parse_rate(arg, &o->filter);
	case 'n':
		if (tn_parse_u64(arg, 1, UINT64_MAX >> 1, &o->count)) {
			tn_err("--count: \"%s\" is not a positive number of events", arg);
			return -EINVAL;
		}
		return 0;
	case 'j': o->json = true; return 0;
	case 'w': o->pcap = arg; return 0;
	case 'p': o->pin_dir = arg; return 0;
	}
	usage(stderr);
	return -EINVAL;
}

int tn_trace_parse_args(int argc, char **argv, struct tn_trace_opts *o)
{
	static const struct option opts[] = {
		{ "vip", required_argument, NULL, 'v' },
		{ "client", required_argument, NULL, 'c' },
		{ "server", required_argument, NULL, 's' },
		{ "reason", required_argument, NULL, 'r' },
		{ "rate", required_argument, NULL, 'R' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "write", required_argument, NULL, 'w' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, err;

	if (!o->pin_dir)
		o->pin_dir = TN_PIN_DIR_DEFAULT;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jw:h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if ((err = parse_one(c, optarg, o)))
			return err;
	}
	if (optind < argc) {
		tn_err("trace: unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	return 0;
}
