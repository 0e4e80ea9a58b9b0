/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tenace: one binary. `load`/`unload` attach and detach the data plane,
 * `run` is the controller daemon, the other commands are API clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include <limits.h>
#include <sys/signalfd.h>
#include <curl/curl.h>
#include "api/api.h"
#include "cli/cli.h"
#include "config/config.h"
#include "control/controller.h"
#include "dataplane/dataplane.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/num.h"
#include "lib/time.h"
#include "probe/probe.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tenace [-j] [--socket PATH | --url http://HOST:PORT --token-file F] [--type tcp|udp] COMMAND ...\n"
		"\n"
		"Data plane:\n"
		"  load IFACE [--skb] [--table-size N] [--ct-size N] [--tcp-timeout S] [--udp-timeout S]\n"
		"             [--hash-seed N] [--pin-dir D]     attach (replaces a running one without a gap)\n"
		"  unload IFACE [--all] [--pin-dir D]           detach; --all also removes the pinned maps\n"
		"  run --config FILE [--socket PATH] [--listen ADDR:PORT --token-file F] [--pin-dir D] [--skb]\n"
		"      [--state FILE]                           the controller, in the foreground\n"
		"  pktgen ...                                   packet generator (tenace pktgen --help)\n"
		"  bench ...                                    benchmarks behind make bench (tenace bench --help)\n"
		"\n"
		"Client commands (talk to `tenace run`; changes are staged until `refresh`):\n");
	tn_cli_usage(f);
	fprintf(f, "\nGlobal options: -j prints the API's JSON; --socket (default %s); --type (default tcp).\n"
		"`tenace COMMAND --help` describes a command.\n", TN_SOCKET_DEFAULT);
}

static int parse_u32(const char *opt, const char *s, uint32_t *out)
{
	if (tn_parse_u32(s, 0, UINT32_MAX, out)) {
		tn_err("--%s expects a number from 0 to %u, got \"%s\"", opt, UINT32_MAX, s);
		return -EINVAL;
	}
	return 0;
}

static int ifindex_of(const char *name)
{
	int i = if_nametoindex(name);

	if (!i)
		tn_err("interface %s: %s", name, strerror(errno));
	return i;
}

/* ---- load / unload -------------------------------------------------------------- */

enum { SET_TABLE = 1, SET_CT = 2, SET_TCP = 4, SET_UDP = 8, SET_SEED = 16 };

static int cmd_load(int argc, char **argv)
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
			if (parse_u32(o[c == 't' ? 1 : c == 'c' ? 2 : c == 'T' ? 3 : c == 'U' ? 4 : 5].name, optarg, &v))
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
	ifindex = ifindex_of(argv[optind]);
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

static int cmd_unload(int argc, char **argv)
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
		int ifindex = ifindex_of(argv[optind]);

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

/* ---- run ------------------------------------------------------------------------ */

struct daemon {
	struct tn_ctl *ctl;
	struct tn_dp *dp;
	struct tn_prober *prober;
	const char *config_path;
	bool skb;
	uint64_t probes_version;
	char **attached;
	size_t nattached;
};

static void on_probe_change(void *arg, uint64_t key, bool up, const char *reason, int count)
{
	struct daemon *d = arg;

	/* the reason already ends with the consecutive count, "(3/3)" */
	(void)count;
	tn_ctl_probe_result(d->ctl, key, up, reason);
}

/* After the applied configuration changed: give the prober the new targets. */
static void sync_probes(struct daemon *d)
{
	struct tn_probe_target *t = NULL;
	uint64_t version;
	char err[256] = "";
	size_t n = 0;
	int e;

	if (!d->prober)
		return;
	tn_ctl_lock(d->ctl);
	version = tn_ctl_applied_version(d->ctl);
	if (version == d->probes_version) {
		tn_ctl_unlock(d->ctl);
		return;
	}
	e = tn_ctl_probe_targets(d->ctl, &t, &n);
	tn_ctl_unlock(d->ctl);
	if (e) {
		tn_err("cannot list probe targets: %s", strerror(-e));
		return;
	}
	e = tn_prober_set_targets(d->prober, t, n, err, sizeof(err));
	if (e > 0)
		tn_err("%d probe target(s) refused, not checked; first: %s", e, err);
	if (e < 0)
		tn_err("cannot set probe targets: %s", err[0] ? err : strerror(-e));
	else
		d->probes_version = version;
	tn_ctl_probe_targets_free(t, n);
}

static bool attached(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->nattached; i++)
		if (!strcmp(d->attached[i], name))
			return true;
	return false;
}

/* Attach to every interface of the config not attached yet. */
static int attach_all(struct daemon *d, const struct tn_config *c)
{
	int errors = 0;

	for (size_t i = 0; i < c->ninterfaces; i++) {
		int ifindex;
		char **nv;

		if (attached(d, c->interfaces[i]))
			continue;
		ifindex = ifindex_of(c->interfaces[i]);
		if (!ifindex || tn_dp_attach(d->dp, ifindex, d->skb)) {
			errors++;
			continue;
		}
		tn_dp_tx_port_add(d->dp, ifindex);
		nv = realloc(d->attached, (d->nattached + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		d->attached = nv;
		d->attached[d->nattached++] = strdup(c->interfaces[i]);
		tn_info("attached to %s (%s mode)", c->interfaces[i], d->skb ? "skb" : "native");
	}
	return errors ? -EIO : 0;
}

static void detach_removed(struct daemon *d, const struct tn_config *c)
{
	for (size_t i = 0; i < d->nattached;) {
		bool keep = false;

		for (size_t j = 0; j < c->ninterfaces; j++)
			keep |= !strcmp(c->interfaces[j], d->attached[i]);
		if (keep) {
			i++;
			continue;
		}
		int ifindex = if_nametoindex(d->attached[i]);
		if (ifindex && tn_dp_detach_ifindex(ifindex) == 0)
			tn_info("detached from %s (no longer in the configuration)", d->attached[i]);
		free(d->attached[i]);
		memmove(&d->attached[i], &d->attached[i + 1], (d->nattached - i - 1) * sizeof(char *));
		d->nattached--;
	}
}

static void log_errors(const char *what, const char *path, const struct tn_errors *e)
{
	tn_err("%s %s: %zu error%s, nothing changed:", what, path, e->n, e->n == 1 ? "" : "s");
	for (size_t i = 0; i < e->n; i++)
		tn_err("  %s%s%s", e->v[i].path, e->v[i].path[0] ? ": " : "", e->v[i].message);
}

static void reload(struct daemon *d)
{
	const struct tn_dp_settings *s = tn_dp_get_settings(d->dp);
	struct tn_config cfg = {0};
	struct tn_errors errs = {0};

	tn_info("SIGHUP: re-reading %s", d->config_path);
	if (tn_config_load_file(d->config_path, &cfg, &errs)) {
		log_errors("rejected", d->config_path, &errs);
		tn_errors_free(&errs);
		return;
	}
	if (cfg.table_size != s->table_size || cfg.ct_size != s->ct_size || cfg.hash_seed != s->hash_seed ||
	    cfg.tcp_timeout_s != s->tcp_timeout_s || cfg.udp_timeout_s != s->udp_timeout_s)
		tn_warn("table size, conntrack and hash seed settings take effect only after "
			"`tenace unload IFACE --all` and a restart; running with table size %u, conntrack %u, seed %u",
			s->table_size, s->ct_size, s->hash_seed);
	attach_all(d, &cfg);
	detach_removed(d, &cfg);
	tn_ctl_lock(d->ctl);
	tn_ctl_reload(d->ctl, &cfg);
	tn_ctl_unlock(d->ctl);
	tn_config_free(&cfg);
	sync_probes(d);
}

/* <directory of the socket>/applied.json: /run/tenace/applied.json by
 * default, cleared at reboot like the pinned maps. */
static char *default_state_path(const char *socket_path)
{
	const char *slash = strrchr(socket_path, '/');
	char *p = NULL;

	if (!slash)
		return strdup(TN_STATE_FILE);
	if (asprintf(&p, "%.*s/%s", (int)(slash - socket_path), socket_path, TN_STATE_FILE) < 0)
		return NULL;
	return p;
}

/*
 * What the controller applies at start. When the data plane survived (its
 * pinned maps exist) and the state file holds a valid configuration, that is
 * what it serves: apply it again and stage the configuration file, whose
 * differences stay pending until a refresh. Otherwise apply the file.
 * Returns true when *applied was filled from the state file.
 */
static bool restore_applied(const char *state_path, bool pins_exist, const char *config_path,
			    struct tn_config *applied)
{
	struct tn_errors errs = {0};

	if (!pins_exist || access(state_path, F_OK))
		return false;
	if (tn_config_load_file(state_path, applied, &errs)) {
		char *j = tn_errors_join(&errs);

		tn_warn("ignoring the applied configuration in %s (%s): applying %s", state_path,
			j ? j : "invalid", config_path);
		free(j);
		tn_errors_free(&errs);
		return false;
	}
	tn_info("the data plane kept running: serving the configuration it had (%s); "
		"changes in %s wait for a refresh", state_path, config_path);
	return true;
}

/*
 * One controller per pin directory: an exclusive lock on the directory,
 * taken before anything is touched and held (the fd stays open) for the
 * life of the process. Returns the fd, or -1 (logged).
 */
static int lock_pin_dir(const char *pin_dir)
{
	int fd;

	if (strncmp(pin_dir, "/sys/fs/bpf", 11) == 0 && tn_dp_ensure_bpffs())
		return -1;
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		tn_err("cannot create pin directory %s: %s", pin_dir, strerror(errno));
		return -1;
	}
	fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		tn_err("cannot open pin directory %s: %s", pin_dir, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			tn_err("another tenace controller is running on pin directory %s", pin_dir);
		else
			tn_err("cannot lock pin directory %s: %s", pin_dir, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option o[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "listen", required_argument, NULL, 'l' },
		{ "token-file", required_argument, NULL, 'k' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "skb", no_argument, NULL, 's' },
		{ "state", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tn_api_options ao = {0};
	struct daemon d = {0};
	struct tn_config cfg = {0}, applied = {0};
	struct tn_dp_settings pinned;
	const char *state_path = NULL;
	char *state_default = NULL;
	bool pins_exist, restored;
	struct tn_errors errs = {0};
	struct tn_dp_settings want;
	struct tn_ctl_backend be;
	struct tn_api *api = NULL;
	const char *pin_dir = NULL, *token_file = NULL;
	char *token = NULL;
	int c, rc = 1, efd = -1, sfd = -1, wfd = -1, lock_fd = -1, err;
	sigset_t mask;
	double last_tick = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:vh", o, NULL)) != -1) {
		switch (c) {
		case 'c': d.config_path = optarg; break;
		case 'S': ao.socket_path = optarg; break;
		case 'l': ao.listen = optarg; break;
		case 'k': token_file = optarg; break;
		case 'p': pin_dir = optarg; break;
		case 's': d.skb = true; break;
		case 'P': state_path = optarg; break;
		case 'v': tn_log_set_level(TN_LOG_DEBUG); break;
		case 'h':
			printf("usage: tenace run --config FILE [--socket PATH] [--listen ADDR:PORT --token-file F]\n"
			       "                  [--pin-dir D] [--skb] [--state FILE] [-v]\n"
			       "Runs the controller in the foreground: attaches to the configuration's interfaces,\n"
			       "applies it, probes the servers and serves the API (Unix socket %s, mode 0600;\n"
			       "the TCP listener requires a bearer token). SIGHUP re-reads FILE and applies all of\n"
			       "it; SIGTERM stops the controller and leaves the data plane forwarding.\n"
			       "API changes are staged and written to FILE; what the data plane serves is kept in\n"
			       "the state file (default: %s in the socket's directory), so a restarted controller\n"
			       "keeps serving it while the data plane runs, and staged changes stay pending.\n",
			       TN_SOCKET_DEFAULT, TN_STATE_FILE);
			return 0;
		default:
			return 1;
		}
	}
	if (!d.config_path || optind != argc) {
		fprintf(stderr, "usage: tenace run --config FILE [--socket PATH] [--listen ADDR:PORT --token-file F] [--pin-dir D]\n"
			"                  [--state FILE]\n");
		return 1;
	}
	if (ao.listen && !token_file) {
		tn_err("--listen %s needs --token-file: the TCP listener accepts only requests with the bearer token", ao.listen);
		return 1;
	}
	if (token_file && !(token = tn_read_token_file(token_file)))
		return 1;
	if (!pin_dir || pin_dir[0]) {
		lock_fd = lock_pin_dir(pin_dir ? pin_dir : TN_PIN_DIR_DEFAULT);
		if (lock_fd < 0)
			goto out;
	}
	/* before any thread starts (API, libcurl), so only the signalfd sees them */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	ao.token = token;
	if (tn_config_load_file(d.config_path, &cfg, &errs)) {
		log_errors("cannot use", d.config_path, &errs);
		tn_errors_free(&errs);
		goto out;
	}
	if (!state_path) {
		state_default = default_state_path(ao.socket_path ? ao.socket_path : TN_SOCKET_DEFAULT);
		if (!state_default)
			goto out;
		state_path = state_default;
	}
	want.table_size = cfg.table_size;
	want.ct_size = cfg.ct_size;
	want.tcp_timeout_s = cfg.tcp_timeout_s;
	want.udp_timeout_s = cfg.udp_timeout_s;
	want.hash_seed = cfg.hash_seed;
	/* before tn_dp_open creates them: did the data plane survive? */
	pins_exist = !(pin_dir && !pin_dir[0]) &&
		     tn_dp_read_pinned_settings(pin_dir ? pin_dir : TN_PIN_DIR_DEFAULT, &pinned) == 0;
	if (tn_dp_open(&d.dp, pin_dir, &want))
		goto out;
	if (attach_all(&d, &cfg))
		goto out;
	tn_ctl_backend_dp(&be, d.dp);
	d.ctl = tn_ctl_new(&be, d.config_path);
	if (!d.ctl || tn_ctl_set_state_path(d.ctl, state_path))
		goto out;
	tn_ctl_set_runtime(d.ctl, tn_dp_pin_dir(d.dp), d.skb);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	tn_ctl_set_wakeup_fd(d.ctl, efd);
	if ((err = tn_mkdir_parent(state_path, 0755)))
		tn_warn("cannot create the directory of the state file %s: %s", state_path, strerror(-err));
	restored = restore_applied(state_path, pins_exist, d.config_path, &applied);
	/* errors are logged; a partial start still serves */
	if (restored)
		tn_ctl_start(d.ctl, &applied, &cfg);
	else
		tn_ctl_start(d.ctl, &cfg, NULL);
	if (restored) {
		int n;

		tn_ctl_lock(d.ctl);
		n = tn_ctl_pending_count(d.ctl, NULL);
		tn_ctl_unlock(d.ctl);
		if (n)
			tn_info("%d staged change%s pending (tenace pending; tenace refresh applies them)",
				n, n == 1 ? "" : "s");
	}
	if (tn_prober_new(&d.prober, on_probe_change, &d))
		tn_err("health probes are disabled: the probe engine could not start");
	sync_probes(&d);
	if (tn_api_start(&api, d.ctl, &ao))
		goto out;

	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	wfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || wfd < 0 || efd < 0) {
		tn_err("cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	{
		struct epoll_event ev = { .events = EPOLLIN };

		ev.data.fd = sfd;
		epoll_ctl(wfd, EPOLL_CTL_ADD, sfd, &ev);
		ev.data.fd = efd;
		epoll_ctl(wfd, EPOLL_CTL_ADD, efd, &ev);
		if (d.prober) {
			ev.data.fd = tn_prober_fd(d.prober);
			epoll_ctl(wfd, EPOLL_CTL_ADD, ev.data.fd, &ev);
		}
	}
	tn_info("controller running (config %s)", d.config_path);
	for (;;) {
		struct epoll_event evs[8];
		int n = epoll_wait(wfd, evs, 8, 200);
		bool quit = false;

		if (n < 0 && errno != EINTR) {
			tn_err("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						reload(&d);
					else
						quit = true;
				}
			} else if (fd == efd) {
				uint64_t v;

				(void)!read(efd, &v, sizeof(v));
				tn_ctl_prime_staged(d.ctl);
				tn_ctl_lock(d.ctl);
				tn_ctl_run_tasks(d.ctl);
				tn_ctl_unlock(d.ctl);
				sync_probes(&d);
			} else if (d.prober && fd == tn_prober_fd(d.prober)) {
				tn_prober_run_once(d.prober, 0);
			}
		}
		if (quit) {
			tn_info("stopping the controller; the data plane keeps forwarding with its last tables");
			break;
		}
		if (tn_now() - last_tick >= 1.0) {
			last_tick = tn_now();
			tn_ctl_lock(d.ctl);
			tn_ctl_tick(d.ctl);
			if (d.prober)
				tn_ctl_probe_details(d.ctl, d.prober);
			tn_ctl_unlock(d.ctl);
		}
	}
	rc = 0;
out:
	tn_api_stop(api);
	tn_prober_free(d.prober);
	tn_ctl_free(d.ctl);
	if (d.dp)
		tn_dp_close(d.dp);
	for (size_t i = 0; i < d.nattached; i++)
		free(d.attached[i]);
	free(d.attached);
	tn_config_free(&cfg);
	tn_config_free(&applied);
	free(state_default);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	if (sfd >= 0)
		close(sfd);
	if (wfd >= 0)
		close(wfd);
	if (efd >= 0)
		close(efd);
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
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

int main(int argc, char **argv)
{
	struct tn_cli_opts g = {0};
	int i, rc;

	tn_log_libbpf();
	/* global options before the command */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-j") || !strcmp(a, "--json"))
			g.json = true;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			tn_log_set_level(TN_LOG_DEBUG);
		else if ((!strcmp(a, "--socket") || !strcmp(a, "--url") || !strcmp(a, "--token-file") ||
			  !strcmp(a, "--type")) && i + 1 < argc) {
			const char *v = argv[++i];

			if (!strcmp(a, "--socket"))
				g.socket_path = v;
			else if (!strcmp(a, "--url"))
				g.url = v;
			else if (!strcmp(a, "--token-file"))
				g.token_file = v;
			else
				g.type = v;
		} else {
			fprintf(stderr, "tenace: unknown option %s\n\n", a);
			usage(stderr);
			return 1;
		}
	}
	if (i == argc) {
		usage(stderr);
		return 1;
	}
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
