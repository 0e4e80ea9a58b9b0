/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The options of `tenace pktgen`: see tn_pg_usage. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tools/pktgen/internal.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/num.h"

void tn_pg_usage(FILE *f)
{
	fprintf(f,
"usage: tenace pktgen -i IFACE --dst-mac MAC --dst IP [options]\n"
"Send frames out of IFACE with BPF_PROG_RUN live frames (XDP_TX).\n"
"  -i, --iface IFACE     interface to send from (required)\n"
"      --dst-mac MAC     destination MAC, the next hop (required)\n"
"      --src-mac MAC     source MAC (default: IFACE's)\n"
"      --dst IP          destination address, IPv4 or IPv6 (required)\n"
"      --dst-port N      destination port (default 80)\n"
"      --src IP          first client address (default 10.0.0.1 or fd00::1)\n"
"      --clients N       clients: source addresses src .. src+N-1 (default 1)\n"
"      --src-port N      first source port (default 1024)\n"
"      --ports N         distinct source ports per client (default 1)\n"
"      --proto P         syn, ack or udp (default syn)\n"
"      --size BYTES      frame size without FCS, %u..%u (default 64, or the headers)\n"
"      --vlan ID         add an 802.1Q tag\n"
"  -n, --count N         send N frames\n"
"  -d, --duration SECS   send for SECS seconds (default: until Ctrl-C)\n"
"  -r, --rate PPS        at most PPS frames per second (0: as fast as possible)\n"
"  -t, --threads N       sending threads, each pinned to a CPU (default 1)\n"
"  -j, --json            summary as JSON on stdout\n"
"  -q, --quiet           no progress line\n"
"      --dump N          print frame N in hex (plain BPF_PROG_RUN, nothing sent)\n"
"Frame N comes from client N %% clients and port (N / clients) %% ports.\n",
		TN_PG_SIZE_MIN, TN_PG_SIZE_MAX);
}

static int parse_u64(const char *opt, const char *s, __u64 min, __u64 max, __u64 *out)
{
	uint64_t v;

	if (tn_parse_u64(s, min, max, &v)) {
		tn_err("%s: '%s' is not a number in %llu..%llu", opt, s,
		       (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_mac(const char *opt, const char *s, __u8 mac[6])
{
	if (tn_mac_parse(s, mac)) {
		tn_err("%s: '%s' is not a MAC address (like 02:00:00:00:00:01)", opt, s);
		return -EINVAL;
	}
	return 0;
}

/* 4 or 6, or 0 with an error printed. */
static int parse_ip(const char *opt, const char *s, __u8 addr[16])
{
	struct tn_addr a;

	if (tn_addr_parse(s, &a)) {
		tn_err("%s: '%s' is not an IPv4 or IPv6 address", opt, s);
		return 0;
	}
	memcpy(addr, a.bytes, 16);
	return a.family;
}

enum {
	OPT_DST_MAC = 256, OPT_SRC_MAC, OPT_DST, OPT_DST_PORT, OPT_SRC, OPT_CLIENTS,
	OPT_SRC_PORT, OPT_PORTS, OPT_PROTO, OPT_SIZE, OPT_VLAN, OPT_DUMP,
};

static const struct option pg_options[] = {
	{ "iface",    required_argument, NULL, 'i' },
	{ "dst-mac",  required_argument, NULL, OPT_DST_MAC },
	{ "src-mac",  required_argument, NULL, OPT_SRC_MAC },
	{ "dst",      required_argument, NULL, OPT_DST },
	{ "dst-port", required_argument, NULL, OPT_DST_PORT },
	{ "src",      required_argument, NULL, OPT_SRC },
	{ "clients",  required_argument, NULL, OPT_CLIENTS },
	{ "src-port", required_argument, NULL, OPT_SRC_PORT },
	{ "ports",    required_argument, NULL, OPT_PORTS },
	{ "proto",    required_argument, NULL, OPT_PROTO },
	{ "size",     required_argument, NULL, OPT_SIZE },
	{ "vlan",     required_argument, NULL, OPT_VLAN },
	{ "count",    required_argument, NULL, 'n' },
	{ "duration", required_argument, NULL, 'd' },
	{ "rate",     required_argument, NULL, 'r' },
	{ "threads",  required_argument, NULL, 't' },
	{ "json",     no_argument,       NULL, 'j' },
	{ "quiet",    no_argument,       NULL, 'q' },
	{ "dump",     required_argument, NULL, OPT_DUMP },
	{ "help",     no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Options taking a number: the name errors use and the bounds. */
static const struct { int opt; const char *name; __u64 min, max; } numbers[] = {
	{ OPT_DST_PORT, "--dst-port", 0, 65535 },
	{ OPT_SRC_PORT, "--src-port", 0, 65535 },
	{ OPT_PORTS, "--ports", 1, 65536 },
	{ OPT_CLIENTS, "--clients", 1, UINT32_MAX },
	{ OPT_SIZE, "--size", TN_PG_SIZE_MIN, TN_PG_SIZE_MAX },
	{ OPT_VLAN, "--vlan", 0, 4094 },
	{ 'n', "--count", 1, UINT64_MAX },
	{ 'r', "--rate", 0, UINT64_MAX / NS_PER_SEC },
	{ 't', "--threads", 1, CPU_SETSIZE },
	{ OPT_DUMP, "--dump", 0, UINT64_MAX },
};

/* 1 when c is a number option (stored, or -EINVAL said), 0 when it is not. */
static int number_option(int c, const char *arg, struct pg_args *a)
{
	struct tn_pktgen_spec *s = &a->spec;
	size_t i;
	__u64 v;

	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]) && numbers[i].opt != c; i++)
		;
	if (i == sizeof(numbers) / sizeof(numbers[0]))
		return 0;
	if (parse_u64(numbers[i].name, arg, numbers[i].min, numbers[i].max, &v))
		return -EINVAL;
	switch (c) {
	case OPT_DST_PORT: s->dst_port = (__u32)v; break;
	case OPT_SRC_PORT: s->src_port = (__u32)v; break;
	case OPT_PORTS: s->ports = (__u32)v; break;
	case OPT_CLIENTS: s->clients = (__u32)v; break;
	case OPT_SIZE: s->size = (__u32)v; a->have_size = true; break;
	case OPT_VLAN: s->vlan = (int)v; break;
	case 'n': a->count = v; break;
	case 'r': a->rate = v; break;
	case 't': a->threads = v; break;
	default: a->dump_n = v; a->dump = true; break;
	}
	return 1;
}

static int parse_proto(const char *arg, enum tn_pktgen_kind *kind)
{
	if (!strcmp(arg, "syn"))
		*kind = TN_PG_SYN;
	else if (!strcmp(arg, "ack"))
		*kind = TN_PG_ACK;
	else if (!strcmp(arg, "udp"))
		*kind = TN_PG_UDP;
	else {
		tn_err("--proto: '%s' is not syn, ack or udp", arg);
		return -EINVAL;
	}
	return 0;
}

static int parse_duration(const char *arg, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(arg, &end);
	if (errno || end == arg || *end || !(*out > 0) || *out > 1e9) {
		tn_err("--duration: '%s' is not a positive number of seconds", arg);
		return -EINVAL;
	}
	return 0;
}

/* Any other option: 0, 1 for --help, -EINVAL (said). */
static int other_option(int c, const char *arg, struct pg_args *a)
{
	struct tn_pktgen_spec *s = &a->spec;

	switch (c) {
	case 'i': a->iface = arg; return 0;
	case OPT_DST_MAC:
		a->have_dst_mac = true;
		return parse_mac("--dst-mac", arg, s->dst_mac);
	case OPT_SRC_MAC:
		a->have_src_mac = true;
		return parse_mac("--src-mac", arg, s->src_mac);
	case OPT_DST:
		return (s->family = parse_ip("--dst", arg, s->dst)) ? 0 : -EINVAL;
	case OPT_SRC:
		a->have_src = true;
		return (a->src_family = parse_ip("--src", arg, s->src)) ? 0 : -EINVAL;
	case OPT_PROTO: return parse_proto(arg, &s->kind);
	case 'd': return parse_duration(arg, &a->duration);
	case 'j': a->json = true; return 0;
	case 'q': a->quiet = true; return 0;
	case 'h':
		tn_pg_usage(stdout);
		return 1;
	default:
		tn_err("try 'tenace pktgen --help'");
		return -EINVAL;
	}
}

/* What the options say together: 0 or -EINVAL (said). */
static int check_args(struct pg_args *a)
{
	struct tn_pktgen_spec *s = &a->spec;

	if (!s->family) {
		tn_err("--dst IP is required: the address to send to (the VIP)");
		return -EINVAL;
	}
	if (a->have_src && a->src_family != s->family) {
		tn_err("--src is IPv%d but --dst is IPv%d", a->src_family, s->family);
		return -EINVAL;
	}
	if (!a->have_src)
		parse_ip("--src", s->family == 4 ? "10.0.0.1" : "fd00::1", s->src);
	if (a->dump)
		return 0;
	if (!a->iface) {
		tn_err("-i/--iface IFACE is required: the interface to send from");
		return -EINVAL;
	}
	if (!a->have_dst_mac) {
		tn_err("--dst-mac MAC is required: the MAC of the next hop (the balancer's interface)");
		return -EINVAL;
	}
	if (a->count && a->duration > 0) {
		tn_err("give either -n/--count or -d/--duration, not both");
		return -EINVAL;
	}
	return 0;
}

int tn_pg_parse_args(int argc, char **argv, struct pg_args *a)
{
	struct tn_pktgen_spec *s = &a->spec;
	int c, r;

	s->kind = TN_PG_SYN;
	s->clients = 1;
	s->ports = 1;
	s->src_port = 1024;
	s->dst_port = 80;
	s->vlan = -1;
	a->threads = 1;
	optind = 0; /* the dispatcher may have run getopt already */
	while ((c = getopt_long(argc, argv, "i:n:d:r:t:jqh", pg_options, NULL)) != -1) {
		r = number_option(c, optarg, a);
		if (!r)
			r = other_option(c, optarg, a);
		if (r < 0 || (r == 1 && c == 'h'))
			return r;
	}
	if (optind < argc) {
		tn_err("unexpected argument '%s' (try 'tenace pktgen --help')", argv[optind]);
		return -EINVAL;
	}
	return check_args(a);
}
