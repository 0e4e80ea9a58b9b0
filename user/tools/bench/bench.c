/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `tenace bench`: see bench.h. Every Tenace figure is measured beside the
 * baseline (swap MACs, XDP_TX) in the same run, interleaved repetition by
 * repetition, and reported as a ratio of medians. This file: the options,
 * the sections in turn, the results file and the plot data; one file per
 * section beside it (common.h).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "bench_feeder.skel.h"
#include "baseline.skel.h"
#include "tools/bench/bench.h"
#include "tools/bench/common.h"
#include "tools/bench/katran.h"
#include "lib/log.h"

enum { SEC_NS = 1, SEC_E2E = 2, SEC_REFRESH = 4, SEC_MAGLEV = 8, SEC_PROBE = 16, SEC_MEMORY = 32, SEC_CONTROL = 64,
       SEC_DECAP = 128, SEC_TRACE = 256, SEC_ENCAP = 512, SEC_FLOOD = 1024, SEC_ALL = 2047 };

static const struct { const char *name; int bit; } section_names[] = {
	{ "ns", SEC_NS }, { "e2e", SEC_E2E }, { "refresh", SEC_REFRESH },
	{ "maglev", SEC_MAGLEV }, { "probe", SEC_PROBE }, { "memory", SEC_MEMORY }, { "control", SEC_CONTROL },
	{ "decap", SEC_DECAP }, { "trace", SEC_TRACE }, { "encap", SEC_ENCAP }, { "flood", SEC_FLOOD },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tenace bench [-s SECTION[,SECTION...]] [-o FILE] [-r RUNS] [--repeat N] [--seconds S] [--quick]\n"
		"       tenace bench --plot-data FILE DIR\n"
		"Measure Tenace beside the baseline (swap MACs, XDP_TX) in the same run.\n"
		"  -s, --section LIST  ns, flood, e2e, refresh, maglev, probe, memory, control, decap, trace, encap\n"
		"                      (default: all)\n"
		"  -o, --output FILE   JSON results (default build/bench.json; sections not run are kept)\n"
		"  -r, --runs N        repetitions per figure, the median is reported (default 5)\n"
		"      --repeat N      BPF_PROG_TEST_RUN repetitions per run (default 1000000; the flood\n"
		"                      section sends 5 x N SYNs)\n"
		"      --seconds S     measuring window of an end-to-end run (default 2)\n"
		"      --quick         3 runs, 200000 repetitions, 1 s windows, a smaller flood conntrack\n"
		"                      (a smoke test)\n"
		"      --tenace PATH   the tenace binary whose pktgen generates traffic (default: this one)\n"
		"      --katran PATH   Katran's balancer.bpf.o, timed beside Tenace in the ns section\n"
		"      --cases LIST    only these rows of the ns section (names as in its JSON: tracked_1,\n"
		"                      tracked_10k, floor_10k, tracked_1m, floor_1m, new_client_filling,\n"
		"                      new_client_full, not_vip, ipv6_tracked, vlan_tracked)\n"
		"      --plot-data     write gnuplot data files from a results file into DIR\n");
}

static void machine_info(json_object *root)
{
	json_object *m = json_object_new_object();
	struct utsname u;
	char line[256], model[256] = "unknown", date[64];
	FILE *f = fopen("/proc/cpuinfo", "r");
	time_t t = time(NULL);

	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && p) {
			snprintf(model, sizeof(model), "%s", p + 2);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	JSET(m, "cpu", JS(model));
	JSET(m, "cpus", JI(sysconf(_SC_NPROCESSORS_ONLN)));
	JSET(m, "kernel", JS(u.release));
	JSET(m, "date", JS(date));
	JSET(root, "machine", m);
	printf("machine: %s, %ld CPUs, Linux %s, %s\n", model, sysconf(_SC_NPROCESSORS_ONLN), u.release, date);
}

static void on_signal(int sig)
{
	net_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* DIR/bench_ns.dat: "label" tenace_ns baseline_ns; DIR/bench_e2e.dat: "clients" tenace baseline Mpps. */
static int plot_data(const char *file, const char *dir)
{
	json_object *root = json_object_from_file(file), *sec, *arr, *v;
	char path[1024];
	FILE *f;

	if (!root) {
		tn_err("bench: cannot read %s: %s", file, json_util_get_last_err());
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/bench_ns.dat", dir);
	f = fopen(path, "w");
	if (f && json_object_object_get_ex(root, "ns_per_packet", &sec) &&
	    json_object_object_get_ex(sec, "cases", &arr)) {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *c = json_object_array_get_idx(arr, i);

			json_object_object_get_ex(c, "label", &v);
			fprintf(f, "\"%s\" %.1f %.1f\n", json_object_get_string(v), jnum(c, "tenace_ns"),
				jnum(c, "baseline_ns"));
		}
	}
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/bench_e2e.dat", dir);
	f = fopen(path, "w");
	if (f && json_object_object_get_ex(root, "end_to_end", &sec) &&
	    json_object_object_get_ex(sec, "rows", &arr)) {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *c = json_object_array_get_idx(arr, i);
			double n = jnum(c, "clients");

			fprintf(f, "\"%s\" %.4f %.4f\n", n >= 1e6 ? "1,000,000" : n >= 1e4 ? "10,000" : "1",
				jnum(c, "tenace_mpps"), jnum(c, "baseline_mpps"));
		}
	}
	if (f)
		fclose(f);
	json_object_put(root);
	if (!f) {
		tn_err("bench: cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The generator is the `tenace` beside this tenace-bench (with the same
 * suffix: tenace-bench-san uses tenace-san), whose `pktgen` runs tenace-pktgen. */
static void find_tenace_bin(void)
{
	char self[400];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash, *base;

	if (n <= 0)
		return;
	self[n] = 0;
	slash = strrchr(self, '/');
	base = slash ? slash + 1 : self;
	if (slash && !strncmp(base, "tenace-bench", 12)) {
		*slash = 0;
		snprintf(tenace_bin, sizeof(tenace_bin), "%s/tenace%s", self, base + 12);
	}
}

/* "ns,e2e,...": the SEC_* bits, or -1 (said). */
static int parse_sections(const char *arg)
{
	char *list = strdup(arg), *save = NULL, *tok;
	int sections = 0;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(section_names) / sizeof(section_names[0]); i++)
			if (!strcmp(tok, section_names[i].name))
				break;
		if (i == sizeof(section_names) / sizeof(section_names[0])) {
			fprintf(stderr, "tenace bench: unknown section '%s' (ns, flood, e2e, refresh, maglev, "
				"probe, memory, control, decap, trace, encap)\n", tok);
			free(list);
			return -1;
		}
		sections |= section_names[i].bit;
	}
	free(list);
	return sections;
}

struct bench_opts {
	const char *out;
	int sections;
	bool plot;
};

/* 0 to go on, or the exit status (0 for --help, 2 for a usage error). */
static int parse_options(int argc, char **argv, struct bench *b, struct bench_opts *o, int *exit_status)
{
	static const struct option opts[] = {
		{ "section", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "runs", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'R' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "quick", no_argument, NULL, 'q' },
		{ "plot-data", no_argument, NULL, 'P' },
		{ "tenace", required_argument, NULL, 'T' },
		{ "katran", required_argument, NULL, 'K' },
		{ "cases", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, s;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:o:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if ((s = parse_sections(optarg)) < 0)
				return *exit_status = 2, 1;
			o->sections |= s;
			break;
		case 'o': o->out = optarg; break;
		case 'r': b->reps = atoi(optarg); break;
		case 'R': b->repeat = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'S': b->seconds = atof(optarg); break;
		case 'q': b->reps = 3, b->repeat = 200000, b->seconds = 1, b->quick = true; break;
		case 'P': o->plot = true; break;
		case 'T': snprintf(tenace_bin, sizeof(tenace_bin), "%s", optarg); break;
		case 'K': katran_obj = optarg; break;
		case 'C': b->cases = optarg; break;
		case 'h': usage(stdout); return *exit_status = 0, 1;
		default: usage(stderr); return *exit_status = 2, 1;
		}
	}
	return 0;
}

static void run_sections(struct bench *b, int sections)
{
	if (sections & SEC_NS)
		ns_section(b);
	if (sections & SEC_FLOOD)
		flood_section(b);
	if (sections & SEC_E2E)
		e2e_section(b);
	if (sections & SEC_REFRESH)
		refresh_section(b);
	if (sections & SEC_MAGLEV)
		maglev_section(b);
	if (sections & SEC_PROBE)
		probe_section(b);
	if (sections & SEC_MEMORY)
		memory_section(b);
	if (sections & SEC_CONTROL)
		control_section(b);
	if (sections & SEC_DECAP)
		decap_section(b);
	if (sections & SEC_TRACE)
		trace_section(b);
	if (sections & SEC_ENCAP)
		encap_section(b);
}

/* The sections asked, into the results file: 0 or 1. */
static int measure(struct bench *b, const struct bench_opts *o)
{
	int err = 0;

	tn_log_libbpf();
	json_c_set_serialization_double_format("%.6g", JSON_C_OPTION_GLOBAL);
	/* keep what an earlier run measured for the sections not run now */
	if (o->sections != SEC_ALL && access(o->out, R_OK) == 0)
		b->root = json_object_from_file(o->out);
	if (!b->root)
		b->root = json_object_new_object();
	machine_info(b->root);
	b->feed = bench_feeder__open_and_load();
	b->base = baseline__open_and_load();
	if (!b->feed || !b->base) {
		tn_err("bench: cannot load the feeder or the baseline program: %s (run as root)", strerror(errno));
		err = 1;
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	atexit(net_cleanup);
	run_sections(b, o->sections);
	JSET(b->root, "targets_missed", JI(b->misses));
	JSET(b->root, "measurement_failures", JI(b->failures));
	if (json_object_to_file_ext(o->out, b->root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) {
		tn_err("bench: cannot write %s: %s", o->out, json_util_get_last_err());
		err = 1;
	} else {
		printf("\n%d target(s) missed, %d measurement failure(s); results in %s\n", b->misses,
		       b->failures, o->out);
	}
	if (b->failures)
		err = 1;
out:
	bench_feeder__destroy(b->feed);
	baseline__destroy(b->base);
	json_object_put(b->root);
	return err;
}

int tn_bench_main(int argc, char **argv)
{
	struct bench b = { .reps = 5, .seconds = 2, .repeat = 1000000 };
	struct bench_opts o = { .out = "build/bench.json" };
	int status;

	find_tenace_bin();
	if (parse_options(argc, argv, &b, &o, &status))
		return status;
	if (o.plot) {
		if (argc - optind != 2) {
			usage(stderr);
			return 2;
		}
		return plot_data(argv[optind], argv[optind + 1]) ? 1 : 0;
	}
	if (b.reps < 1 || b.reps > 64 || b.repeat < 1000 || b.seconds <= 0) {
		fprintf(stderr, "tenace bench: runs must be 1..64, repeat at least 1000, seconds positive\n");
		return 2;
	}
	if (!o.sections)
		o.sections = SEC_ALL;
	return measure(&b, &o);
}
