/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `tenace run`: the controller daemon, in four steps: options, open (pin
 * directory lock, configuration, data plane, controller, prober, API),
 * loop (signals, refresh tasks, probes, the tick), close.
 */
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
#include "control/node.h"
#include "dataplane/dataplane.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/sdnotify.h"
#include "lib/time.h"
#include "probe/runner.h"

struct daemon {
	/* options */
	const char *config_path, *pin_dir, *state_path, *token_file, *metrics_token_file;
	struct tn_api_options api_opts;
	bool skb;
	/* what open() sets up, close() releases */
	char *token, *metrics_token, *state_default;
	int lock_fd, efd, sfd, wfd;
	sigset_t signals;
	struct tn_config cfg, applied;
	struct tn_dp *dp;
	struct tn_ctl *ctl;
	struct tn_node *node;    /* drain state and BGP (control/node.h) */
	struct tn_api *api;
	char **attached;
	size_t nattached;
	bool fresh;              /* no data plane was pinned before this start */
	bool no_reattach;        /* --no-reattach: a detach behind our back is only logged */
	struct watched {         /* what the last check of each interface found */
		char name[IF_NAMESIZE];
		uint32_t foreign;    /* another program's id, said once */
	} watch[64];
	/* probes: the engine runs on its own thread; its state changes reach
	 * the controller in one batch per turn of the loop */
	struct tn_probe_runner *probes;
	uint64_t probes_version;
};

/* ---- probes ----------------------------------------------------------------------- */

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

/* The probe thread's state changes, one batch per drain: each farm is
 * rewritten once however many of its servers changed. */
static void run_probes(struct daemon *d)
{
	struct tn_health_change *c;
	struct tn_probe_event ev[64];
	size_t n;

	c = calloc(64, sizeof(*c));
	while ((n = tn_probe_runner_drain(d->probes, ev, 64)) > 0) {
		for (size_t i = 0; i < n; i++) { /* the reason ends with the count, "(3/3)" */
			if (!c) { /* out of memory: one at a time */
				tn_ctl_probe_result(d->ctl, ev[i].key, ev[i].up, ev[i].reason);
				continue;
			}
			c[i].key = ev[i].key;
			c[i].up = ev[i].up;
			snprintf(c[i].reason, sizeof(c[i].reason), "%s", ev[i].reason);
		}
		if (c)
			tn_ctl_health_apply(d->ctl, c, n);
	}
	free(c);
}

static int probe_state(void *runner, uint64_t key, struct tn_probe_state *out)
{
	return tn_probe_runner_state(runner, key, out);
}

/* Once a second: the latest check of every server, for GET /v1/status. */
static void probe_details(struct daemon *d)
{
	if (!d->probes)
		return;
	tn_ctl_lock(d->ctl);
	tn_ctl_probe_details(d->ctl, probe_state, d->probes);
	tn_ctl_unlock(d->ctl);
}

/* ---- interfaces ------------------------------------------------------------------- */

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

static struct watched *watched(struct daemon *d, const char *name)
{
	struct watched *free_w = NULL;

	for (size_t i = 0; i < sizeof(d->watch) / sizeof(d->watch[0]); i++) {
		if (!strcmp(d->watch[i].name, name))
			return &d->watch[i];
		if (!free_w && !d->watch[i].name[0])
			free_w = &d->watch[i];
	}
	if (free_w)
		snprintf(free_w->name, sizeof(free_w->name), "%s", name);
	return free_w;
}

/*
 * Once a second: is our program still on each interface? Detached behind our
 * back (`ip link set dev IF xdp off`): said at once and attached again
 * (unless --no-reattach). Replaced by another program: said once, left
 * alone (it is someone's; tenace status shows it).
 */
static void watch_attachments(struct daemon *d)
{
	uint32_t ours = tn_dp_prog_id(d->dp);

	for (size_t i = 0; i < d->nattached; i++) {
		const char *name = d->attached[i];
		int ifindex = if_nametoindex(name);
		struct watched *w = watched(d, name);
		uint32_t id = 0;
		const char *mode;

		if (!ifindex) {
			tn_ctl_note_attach(d->ctl, name, TN_ATTACH_MISSING, false);
			continue;
		}
		if (tn_dp_query(ifindex, &id, &mode) || !w || !ours)
			continue;
		tn_ctl_note_attach(d->ctl, name, id == ours ? TN_ATTACH_OURS : id ? TN_ATTACH_FOREIGN : TN_ATTACH_NONE,
				   !id);
		if (id == ours) {
			w->foreign = 0;
		} else if (!id) {
			tn_warn("interface %s: the XDP program was detached behind the controller's back%s", name,
				d->no_reattach ? " (--no-reattach: left so)" : "; attaching it again");
			if (!d->no_reattach && tn_dp_attach(d->dp, ifindex, d->skb) == 0) {
				tn_info("attached to %s again (%s mode)", name, d->skb ? "skb" : "native");
				tn_ctl_note_attach(d->ctl, name, TN_ATTACH_OURS, false);
			}
		} else if (w->foreign != id) {
			w->foreign = id;
			tn_err("interface %s: another XDP program (id %u) replaced Tenace's (id %u); not touched: "
			       "traffic there is not balanced until it is removed", name, id, ours);
		}
	}
}

/* A start that failed leaves nothing behind it did not find: the
 * interfaces a fresh data plane was attached to are detached again (a data
 * plane that was already serving keeps serving). */
static void rollback_attach(struct daemon *d)
{
	if (!d->fresh)
		return;
	for (size_t i = 0; i < d->nattached; i++) {
		int ifindex = if_nametoindex(d->attached[i]);

		if (ifindex && tn_dp_detach_ifindex(ifindex) == 0)
			tn_info("detached from %s again: the controller did not start", d->attached[i]);
	}
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

/* ---- reload ----------------------------------------------------------------------- */

static void log_errors(const char *what, const char *path, const struct tn_errors *e)
{
	tn_err("%s %s: %zu error%s, nothing changed:", what, path, e->n, e->n == 1 ? "" : "s");
	for (size_t i = 0; i < e->n; i++)
		tn_err("  %s%s%s", e->v[i].path, e->v[i].path[0] ? ": " : "", e->v[i].message);
}

static void warn_settings(struct daemon *d, const struct tn_config *cfg)
{
	const struct tn_dp_settings *s = tn_dp_get_settings(d->dp);

	if (cfg->table_size != s->table_size || cfg->ct_size != s->ct_size || cfg->hash_seed != s->hash_seed ||
	    cfg->tcp_timeout_s != s->tcp_timeout_s || cfg->udp_timeout_s != s->udp_timeout_s)
		tn_warn("table size, conntrack and hash seed settings take effect only after "
			"`tenace unload IFACE --all` and a restart; running with table size %u, conntrack %u, seed %u",
			s->table_size, s->ct_size, s->hash_seed);
	if (cfg->udp_admit_rate != s->udp_admit_rate)
		tn_warn("conntrack.udpAdmitRate %u takes effect at the next start; running with %u",
			cfg->udp_admit_rate, s->udp_admit_rate);
	if (cfg->tcp_admit_rate != s->tcp_admit_rate)
		tn_warn("conntrack.tcpAdmitRate %u takes effect at the next start; running with %u",
			cfg->tcp_admit_rate, s->tcp_admit_rate);
}

/* SIGHUP. The staging lock is held from reading the file to staging it, so
 * an API change cannot slip in between and be lost. */
static void reload(struct daemon *d)
{
	struct tn_config cfg = {0};
	struct tn_errors errs = {0};

	tn_info("SIGHUP: re-reading %s", d->config_path);
	tn_ctl_stage_lock(d->ctl);
	if (tn_config_load_file(d->config_path, &cfg, &errs)) {
		tn_ctl_stage_unlock(d->ctl);
		tn_ctl_note_reload(d->ctl, TN_RELOAD_REJECTED);
		log_errors("rejected", d->config_path, &errs);
		tn_errors_free(&errs);
		return;
	}
	warn_settings(d, &cfg);
	attach_all(d, &cfg);
	detach_removed(d, &cfg);
	tn_ctl_reload(d->ctl, &cfg);
	tn_ctl_lock(d->ctl);
	tn_node_configure(d->node, tn_ctl_applied(d->ctl)->bgp);
	tn_ctl_unlock(d->ctl);
	tn_ctl_stage_unlock(d->ctl);
	tn_config_free(&cfg);
	sync_probes(d);
}

/* ---- options ---------------------------------------------------------------------- */

static void usage_long(void)
{
	printf("usage: tenace run --config FILE [--socket PATH] [--pin-dir D] [--skb] [--state FILE] [-v]\n"
	       "                  [--no-reattach]\n"
	       "                  [--listen ADDR:PORT --token-file F [--tls-cert PEM --tls-key PEM]\n"
	       "                   [--metrics-token-file F]]\n"
	       "Runs the controller in the foreground: attaches to the configuration's interfaces,\n"
	       "applies it, probes the servers and serves the API (Unix socket %s, mode 0600;\n"
	       "the TCP listener requires a bearer token of 16 bytes or more, and HTTPS unless its\n"
	       "address is a loopback one). SIGHUP re-reads FILE and applies all of\n"
	       "it; SIGTERM stops the controller and leaves the data plane forwarding.\n"
	       "API changes are staged and written to FILE; what the data plane serves is kept in\n"
	       "the state file (default: %s in the socket's directory), so a restarted controller\n"
	       "keeps serving it while the data plane runs, and staged changes stay pending.\n"
	       "Each interface is checked once a second: a program detached behind the controller's\n"
	       "back is attached again (--no-reattach: only logged); another program is left alone.\n"
	       "--metrics-token-file: a second bearer token for the TCP listener that may only\n"
	       "GET /metrics (for Prometheus, which then does not hold the admin token).\n",
	       TN_SOCKET_DEFAULT, TN_STATE_FILE);
}

/* 0: go on; 1: done, exit 0 (--help); -1: exit 1. */
static int parse_options(struct daemon *d, int argc, char **argv)
{
	static const struct option o[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "listen", required_argument, NULL, 'l' },
		{ "token-file", required_argument, NULL, 'k' },
		{ "metrics-token-file", required_argument, NULL, 'm' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "skb", no_argument, NULL, 's' },
		{ "no-reattach", no_argument, NULL, 'R' },
		{ "state", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:vh", o, NULL)) != -1) {
		switch (c) {
		case 'c': d->config_path = optarg; break;
		case 'S': d->api_opts.socket_path = optarg; break;
		case 'l': d->api_opts.listen = optarg; break;
		case 'k': d->token_file = optarg; break;
		case 'm': d->metrics_token_file = optarg; break;
		case 'C': d->api_opts.tls_cert = optarg; break;
		case 'K': d->api_opts.tls_key = optarg; break;
		case 'p': d->pin_dir = optarg; break;
		case 's': d->skb = true; break;
		case 'R': d->no_reattach = true; break;
		case 'P': d->state_path = optarg; break;
		case 'v': tn_log_set_level(TN_LOG_DEBUG); break;
		case 'h': usage_long(); return 1;
		default: return -1;
		}
	}
	if (!d->config_path || optind != argc) {
		fprintf(stderr, "usage: tenace run --config FILE [--socket PATH] [--listen ADDR:PORT --token-file F] [--pin-dir D]\n"
			"                  [--state FILE]\n");
		return -1;
	}
	if (d->api_opts.listen && !d->token_file) {
		tn_err("--listen %s needs --token-file: the TCP listener accepts only requests with the bearer token",
		       d->api_opts.listen);
		return -1;
	}
	if (d->metrics_token_file && !d->api_opts.listen) {
		tn_err("--metrics-token-file is for the TCP listener: give --listen too (the Unix socket is root-only)");
		return -1;
	}
	return 0;
}

/* ---- open ------------------------------------------------------------------------- */

/* The node (drain state, BGP) with its files beside the state file. */
static struct tn_node *node_start(const char *state_path, const struct tn_bgp_cfg *bgp)
{
	const char *slash = strrchr(state_path, '/');
	struct tn_node *n = NULL;
	char dir[TN_BGP_PATH_MAX];

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - state_path) : 1, slash ? state_path : ".");
	if (!dir[0])
		snprintf(dir, sizeof(dir), "/");
	if (tn_node_new(&n, dir))
		return NULL;
	if (tn_node_configure(n, bgp)) {
		tn_node_shutdown(n);
		return NULL;
	}
	return n;
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
/* The token, the pin directory's lock, the signals, the configuration file. */
static int open_inputs(struct daemon *d)
{
	struct tn_errors errs = {0};

	if (d->token_file && !(d->token = tn_read_token_file(d->token_file)))
		return -1;
	d->api_opts.token = d->token;
	if (d->metrics_token_file && !(d->metrics_token = tn_read_token_file(d->metrics_token_file)))
		return -1;
	d->api_opts.metrics_token = d->metrics_token;
	if (tn_api_preflight(&d->api_opts))
		return -1;
	if (!d->pin_dir || d->pin_dir[0]) {
		d->lock_fd = cmd_lock_pin_dir(d->pin_dir ? d->pin_dir : TN_PIN_DIR_DEFAULT, "a second controller");
		if (d->lock_fd < 0)
			return -1;
	}
	/* before any thread starts (API, libcurl), so only the signalfd sees them */
	sigemptyset(&d->signals);
	sigaddset(&d->signals, SIGHUP);
	sigaddset(&d->signals, SIGTERM);
	sigaddset(&d->signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &d->signals, NULL);
	if (tn_config_load_file(d->config_path, &d->cfg, &errs)) {
		log_errors("cannot use", d->config_path, &errs);
		tn_errors_free(&errs);
		return -1;
	}
	if (!d->state_path) {
		d->state_default = default_state_path(d->api_opts.socket_path ? d->api_opts.socket_path :
						      TN_SOCKET_DEFAULT);
		if (!d->state_default)
			return -1;
		d->state_path = d->state_default;
	}
	return 0;
}

/* The data plane (pinned maps reused), its interfaces, the controller. */
static int open_controller(struct daemon *d, bool *pins_exist)
{
	struct tn_dp_settings want = {
		.table_size = d->cfg.table_size, .ct_size = d->cfg.ct_size, .tcp_timeout_s = d->cfg.tcp_timeout_s,
		.udp_timeout_s = d->cfg.udp_timeout_s, .hash_seed = d->cfg.hash_seed,
		.udp_admit_rate = d->cfg.udp_admit_rate, .tcp_admit_rate = d->cfg.tcp_admit_rate,
	};
	struct tn_dp_settings pinned;
	struct tn_ctl_backend be;
	int err;

	if ((err = tn_mkdir_parent(d->state_path, 0755)))
		tn_warn("cannot create the directory of the state file %s: %s", d->state_path, strerror(-err));
	/* BIRD first, announcing nothing yet: its sessions come up while the data plane loads */
	if (!(d->node = node_start(d->state_path, d->cfg.bgp)))
		return -1;
	/* before tn_dp_open creates them: did the data plane survive? */
	*pins_exist = !(d->pin_dir && !d->pin_dir[0]) &&
		      tn_dp_read_pinned_settings(d->pin_dir ? d->pin_dir : TN_PIN_DIR_DEFAULT, &pinned) == 0;
	d->fresh = !*pins_exist;
	if (tn_dp_open(&d->dp, d->pin_dir, &want) || attach_all(d, &d->cfg))
		return -1;
	tn_ctl_backend_dp(&be, d->dp);
	d->ctl = tn_ctl_new(&be, d->config_path);
	if (!d->ctl || tn_ctl_set_state_path(d->ctl, d->state_path))
		return -1;
	tn_ctl_set_runtime(d->ctl, tn_dp_pin_dir(d->dp), d->skb);
	d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	tn_ctl_set_wakeup_fd(d->ctl, d->efd);
	tn_ctl_set_conntrack_capacity(d->ctl, tn_dp_get_settings(d->dp)->ct_size);
	return 0;
}

/* Apply what the data plane serves (or the file), stage the file. */
static int start_controller(struct daemon *d, bool pins_exist)
{
	bool restored = restore_applied(d->state_path, pins_exist, d->config_path, &d->applied);
	int n;

	/* BGP is the node's, like its interfaces: the file's bgp object, even
	 * over a restored state */
	if (restored && (tn_config_bgp_free(&d->applied), tn_config_bgp_copy(&d->applied, &d->cfg)))
		return -1;
	tn_node_attach(d->node, d->ctl);
	/* errors are logged; a partial start still serves, an unreadable
	 * running data plane does not (it keeps serving without us) */
	if (!restored) {
		if (tn_ctl_start(d->ctl, &d->cfg, NULL) == -EAGAIN)
			return -1;
		tn_node_set_ready(d->node);
		return 0;
	}
	if (tn_ctl_start(d->ctl, &d->applied, &d->cfg) == -EAGAIN)
		return -1;
	tn_node_set_ready(d->node);
	tn_ctl_lock(d->ctl);
	n = tn_ctl_pending_count(d->ctl, NULL);
	tn_ctl_unlock(d->ctl);
	if (n)
		tn_info("%d staged change%s pending (tenace pending; tenace refresh applies them)", n, n == 1 ? "" : "s");
	return 0;
}

static int open_events(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };

	d->sfd = signalfd(-1, &d->signals, SFD_CLOEXEC | SFD_NONBLOCK);
	d->wfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sfd < 0 || d->wfd < 0 || d->efd < 0) {
		tn_err("cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	ev.data.fd = d->sfd;
	epoll_ctl(d->wfd, EPOLL_CTL_ADD, d->sfd, &ev);
	ev.data.fd = d->efd;
	epoll_ctl(d->wfd, EPOLL_CTL_ADD, d->efd, &ev);
	if (d->probes) {
		ev.data.fd = tn_probe_runner_fd(d->probes);
		epoll_ctl(d->wfd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	return 0;
}

static int open_daemon(struct daemon *d)
{
	bool pins_exist;

	if (open_inputs(d) || open_controller(d, &pins_exist))
		return -1;
	if (start_controller(d, pins_exist))
		return -1;
	if (tn_probe_runner_start(&d->probes))
		tn_err("health probes are disabled: the probe engine could not start");
	sync_probes(d);
	if (tn_api_start(&d->api, d->ctl, &d->api_opts) || open_events(d))
		return -1;
	tn_info("controller running (config %s)", d->config_path);
	/* the data plane serves the applied configuration, the API answers */
	tn_sd_notify("READY=1\nSTATUS=serving");
	return 0;
}

/* ---- loop ------------------------------------------------------------------------- */

/* SIGHUP reloads; true when asked to stop. */
static bool read_signals(struct daemon *d)
{
	struct signalfd_siginfo si;
	bool quit = false;

	while (read(d->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(d);
		else
			quit = true;
	}
	return quit;
}

static void run_tasks(struct daemon *d)
{
	uint64_t v;

	(void)!read(d->efd, &v, sizeof(v));
	tn_ctl_prime_staged(d->ctl);
	tn_ctl_run_tasks(d->ctl);
	sync_probes(d);
}

static int loop(struct daemon *d)
{
	/* a ping at half the interval systemd waits for (WatchdogSec=) */
	double watchdog = tn_sd_watchdog_usec() / 2e6, last_ping = 0;
	double last_tick = 0;

	for (;;) {
		struct epoll_event evs[8];
		int n = epoll_wait(d->wfd, evs, 8, 200);
		bool quit = false;

		if (n < 0 && errno != EINTR) {
			tn_err("epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == d->sfd)
				quit |= read_signals(d);
			else if (fd == d->efd)
				run_tasks(d);
			else if (d->probes && fd == tn_probe_runner_fd(d->probes))
				run_probes(d);
		}
		if (quit) {
			tn_info("stopping the controller; the data plane keeps forwarding with its last tables");
			tn_sd_notify("STOPPING=1");
			return 0;
		}
		if (watchdog > 0 && tn_now() - last_ping >= watchdog) {
			last_ping = tn_now();
			tn_sd_notify("WATCHDOG=1");
		}
		if (tn_now() - last_tick >= 1.0) {
			last_tick = tn_now();
			tn_ctl_tick(d->ctl);
			probe_details(d);
			watch_attachments(d);
		}
	}
}

/* ---- close ------------------------------------------------------------------------ */

static void close_daemon(struct daemon *d)
{
	tn_api_stop(d->api);
	tn_probe_runner_stop(d->probes);
	/* routes withdrawn first: the data plane serves what arrives until routers converge */
	tn_node_shutdown(d->node);
	tn_ctl_free(d->ctl);
	if (d->dp)
		tn_dp_close(d->dp);
	for (size_t i = 0; i < d->nattached; i++)
		free(d->attached[i]);
	free(d->attached);
	tn_config_free(&d->cfg);
	tn_config_free(&d->applied);
	free(d->state_default);
	for (int i = 0; i < 2; i++) {
		char *t = i ? d->metrics_token : d->token;

		if (t) {
			explicit_bzero(t, strlen(t));
			free(t);
		}
	}
	if (d->sfd >= 0)
		close(d->sfd);
	if (d->wfd >= 0)
		close(d->wfd);
	if (d->efd >= 0)
		close(d->efd);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
}

int cmd_run(int argc, char **argv)
{
	struct daemon d = { .lock_fd = -1, .efd = -1, .sfd = -1, .wfd = -1 };
	int rc = parse_options(&d, argc, argv);

	if (rc)
		return rc > 0 ? 0 : 1;
	if (open_daemon(&d)) {
		rollback_attach(&d);
		rc = 1;
	} else {
		rc = loop(&d) == 0 ? 0 : 1;
	}
	close_daemon(&d);
	return rc;
}
