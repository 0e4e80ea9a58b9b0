/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `tenace run`: the controller daemon. */
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
#include "api/api.h"
#include "cmd/cmd.h"
#include "config/config.h"
#include "control/controller.h"
#include "dataplane/dataplane.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/time.h"
#include "probe/runner.h"

/* ---- run ------------------------------------------------------------------------ */

struct daemon {
	struct tn_ctl *ctl;
	struct tn_dp *dp;
	struct tn_probe_runner *probes;
	const char *config_path;
	bool skb;
	uint64_t probes_version;
	char **attached;
	size_t nattached;
};

/* State changes from the probe thread, to the controller. */
static void drain_probes(struct daemon *d)
{
	struct tn_probe_event ev[64];
	size_t n;

	while ((n = tn_probe_runner_drain(d->probes, ev, 64)) > 0)
		/* the batch tn_ctl_health_apply(ctl, changes, n) replaces this loop: each farm rewritten once */
		for (size_t i = 0; i < n; i++) /* the reason ends with the count, "(3/3)" */
			tn_ctl_probe_result(d->ctl, ev[i].key, ev[i].up, ev[i].reason);
}

static int probe_state(void *runner, uint64_t key, struct tn_probe_state *out)
{
	return tn_probe_runner_state(runner, key, out);
}

/* After the applied configuration changed: give the prober the new targets. */
static void sync_probes(struct daemon *d)
{
	struct tn_probe_target *t = NULL;
	uint64_t version;
	char err[256] = "";
	size_t n = 0;
	int e;

	if (!d->probes)
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
	tn_probe_reserve_fds(n);
	e = tn_probe_runner_set_targets(d->probes, t, n, err, sizeof(err));
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
		ifindex = cmd_ifindex(c->interfaces[i]);
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

int cmd_run(int argc, char **argv)
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
	if (tn_probe_runner_start(&d.probes))
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
		if (d.probes) {
			ev.data.fd = tn_probe_runner_fd(d.probes);
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
			} else if (d.probes && fd == tn_probe_runner_fd(d.probes)) {
				drain_probes(&d);
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
			if (d.probes)
				tn_ctl_probe_details(d.ctl, probe_state, d.probes);
			tn_ctl_unlock(d.ctl);
		}
	}
	rc = 0;
out:
	tn_api_stop(api);
	tn_probe_runner_stop(d.probes);
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
