/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tenace: the dispatcher. `load`/`unload` attach and detach the data plane
 * (load.c), `run` is the controller daemon (run.c), `pktgen` and `bench`
 * run the separate tools, the other commands are API clients (cli/).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include "api/api.h"
#include "cli/cli.h"
#include "cmd/cmd.h"
#include "dashboard/dashboard.h"
#include "decap/decap.h"
#include "trace/trace.h"
#include "lib/log.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tenace [-j] [--socket PATH | --url https://HOST:PORT --token-file F [--cacert PEM]]\n"
		"              [--type tcp|udp] COMMAND ...\n"
		"\n"
		"Data plane:\n"
		"  load IFACE [--skb] [--table-size N] [--ct-size N] [--tcp-timeout S] [--udp-timeout S]\n"
		"             [--hash-seed N] [--pin-dir D]     attach (replaces a running one without a gap)\n"
		"  unload IFACE [--all] [--pin-dir D]           detach; --all also removes the pinned maps\n"
		"  run --config FILE [--socket PATH] [--pin-dir D] [--skb] [--state FILE]\n"
		"      [--listen ADDR:PORT --token-file F [--tls-cert PEM --tls-key PEM]]\n"
		"                                               the controller, in the foreground\n"
		"  pktgen ...                                   packet generator (tenace pktgen --help)\n"
		"  bench ...                                    benchmarks behind make bench (tenace bench --help)\n"
		"  decap IFACE --vip ADDR[,ADDR...] | --off | --status   a server's side of ipip/gue farms\n"
		"  trace [--vip A[:P]] [--client CIDR] [--server FARM/ID] [--reason R] [--rate N/s]\n"
		"        [--count N] [-j] [-w FILE.pcap] [--pin-dir D]   the data plane's decisions, live\n"
		"  dashboard --listen 127.0.0.1:PORT           the live page on loopback (reads the socket)\n"
		"\n"
		"Client commands (talk to `tenace run`; changes are staged until `refresh`):\n");
	tn_cli_usage(f);
	fprintf(f, "\nGlobal options: -j prints the API's JSON; --socket (default %s); --type (default tcp);\n"
		"-v logs debug messages. --opt=VALUE and --opt VALUE are the same.\n"
		"`tenace COMMAND --help` describes a command.\n"
		"\nExit status of client commands: 0 done; 1 usage or the command failed (a refresh that\n"
		"ended in error); 2 no controller answered (not running, or the socket is root-only);\n"
		"3 the request was invalid (400, 405, 413); 4 not found (404); 5 conflict (409);\n"
		"6 the controller failed (5xx). Under -j an error is printed on stdout as\n"
		"{\"error\": {\"status\", \"message\", \"field\"}} (status 0: unreachable).\n", TN_SOCKET_DEFAULT);
}

/* ---- tools ---------------------------------------------------------------------- */

/*
 * `tenace pktgen` and `tenace bench` run the separate binaries tenace-pktgen
 * and tenace-bench (the daemon links neither): looked up beside this
 * executable (with its suffix: tenace-san runs tenace-pktgen-san), then in
 * ../lib/tenace/ (where make install puts them), then on PATH.
 */
static int run_tool(const char *tool, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 64], *slash, *base;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		base = slash ? slash + 1 : self;
		if (slash)
			*slash = 0;
		/* "tenace-san" -> "tenace-pktgen-san" */
		if (!strncmp(base, "tenace", 6)) {
			snprintf(path, sizeof(path), "%s/tenace-%s%s", self, tool, base + 6);
			execv(path, argv);
		}
		snprintf(path, sizeof(path), "%s/tenace-%s", self, tool);
		execv(path, argv);
		snprintf(path, sizeof(path), "%s/../lib/tenace/tenace-%s", self, tool);
		execv(path, argv);
	}
	snprintf(path, sizeof(path), "tenace-%s", tool);
	execvp(path, argv);
	tn_err("cannot run tenace-%s (looked beside %s, in its ../lib/tenace and on PATH): %s", tool,
	       n > 0 ? self : "this program", strerror(errno));
	return 127;
}

/* ---- dispatch -------------------------------------------------------------------- */

/*
 * GNU getopt remembers a leading '+' until a scan starts with optind 0; the
 * commands' parsers start theirs at 1 and must permute as always (`load
 * IFACE --skb`): an empty scan from 0 resets it, and messages come back.
 */
static void getopt_reset(void)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };
	char *argv[] = { "tenace", NULL };

	optind = 0;
	getopt_long(1, argv, "", none, NULL);
	optind = 1;
	opterr = 1;
}

/*
 * Global options, before the command: getopt_long with a leading '+' stops
 * at the first word that is not an option (the command), so `--socket=PATH`
 * and `--socket PATH` both work and the command's own options stay its own.
 * Returns the index of the command, 0 to exit with *rc.
 */
static int global_options(int argc, char **argv, struct tn_cli_opts *g, int *rc)
{
	static const struct option o[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "socket", required_argument, NULL, 'S' },
		{ "url", required_argument, NULL, 'U' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "cacert", required_argument, NULL, 'A' },
		{ "type", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0; /* a fresh scan: '+' is remembered from the first call */
	opterr = 0; /* our messages, then the usage */
	while ((c = getopt_long(argc, argv, "+:jhv", o, NULL)) != -1) {
		switch (c) {
		case 'j': g->json = true; break;
		case 'v': tn_log_set_level(TN_LOG_DEBUG); break;
		case 'S': g->socket_path = optarg; break;
		case 'U': g->url = optarg; break;
		case 'T': g->token_file = optarg; break;
		case 'A': g->cacert = optarg; break;
		case 't': g->type = optarg; break;
		case 'h':
			usage(stdout);
			*rc = 0;
			return 0;
		case ':':
			fprintf(stderr, "tenace: option %s needs a value\n\n", argv[optind - 1]);
			usage(stderr);
			*rc = 1;
			return 0;
		default:
			fprintf(stderr, "tenace: unknown option %s\n\n", argv[optind - 1]);
			usage(stderr);
			*rc = 1;
			return 0;
		}
	}
	if (optind == argc) {
		usage(stderr);
		*rc = 1;
		return 0;
	}
	c = optind;
	getopt_reset();
	return c;
}

int main(int argc, char **argv)
{
	struct tn_cli_opts g = {0};
	int i, rc = 1;

	tn_log_libbpf();
	i = global_options(argc, argv, &g, &rc);
	if (!i)
		return rc;
	argc -= i;
	argv += i;
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[0], "run"))
		return cmd_run(argc, argv);
	if (!strcmp(argv[0], "load"))
		return cmd_load(argc, argv);
	if (!strcmp(argv[0], "unload"))
		return cmd_unload(argc, argv);
	if (!strcmp(argv[0], "decap"))
		return tn_decap_main(argc, argv, g.json);
	if (!strcmp(argv[0], "trace"))
		return tn_trace_main(argc, argv, g.json);
	if (!strcmp(argv[0], "dashboard"))
		return tn_dashboard_main(argc, argv, g.socket_path);
	if (!strcmp(argv[0], "pktgen") || !strcmp(argv[0], "bench"))
		return run_tool(argv[0], argv);
	if (tn_cli_is_command(argv[0])) {
		tn_log_set_plain(1);
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = tn_cli_main(&g, argc, argv);
		curl_global_cleanup();
		return rc;
	}
	fprintf(stderr, "tenace: unknown command \"%s\"\n\n", argv[0]);
	usage(stderr);
	return 1;
}
