/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The veth test bed of the e2e and refresh sections (see common.h):
 *
 * Both programs answer with XDP_TX, so the frame goes back over the same
 * veth and the sink on the generator's end counts it: Tenace and the
 * baseline stand in exactly the same position. veth runs its receive NAPI
 * where frames are sent, so generator, balancer and sink all run on the
 * generator's CPU: one core for the whole path, no frame lost in a ring.
 * (Threaded NAPI pinned to the other CPU was tried: on this class of VM the
 * wake-ups cost more than the work and the 256-frame rings overflow.)
 *
 * Namespaces and links are made by running ip(8) directly (no shell); the
 * generator is `tenace pktgen` run through `ip netns exec`.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/wait.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tools/bench/common.h"
#include "lib/log.h"

static int root_ns_fd = -1;
int gen_ns_fd = -1;
static bool net_made, routed_made;
static char routed_ns[32];       /* NS_ROUTED-<pid>: runs side by side do not meet */

/* Fork and exec argv (stdout to out_fd when >= 0, stderr to /dev/null when
 * quiet): the child's pid, or -errno. */
static int spawn(char *const argv[], int out_fd, bool quiet)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = quiet ? open("/dev/null", O_WRONLY) : -1;

		if (out_fd >= 0)
			dup2(out_fd, STDOUT_FILENO);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_status(int pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Run ip with these arguments: 0, or -EIO with the command said (unless quiet). */
static int ip(bool quiet, const char *const args[])
{
	char *argv[16] = { "ip" }, cmd[512] = "ip";
	int n = 1, pid, rc;

	for (; args[n - 1] && n < 15; n++) {
		argv[n] = (char *)args[n - 1];
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " %s", args[n - 1]);
	}
	argv[n] = NULL;
	pid = spawn(argv, -1, quiet);
	rc = pid < 0 ? -1 : wait_status(pid);
	if (rc != 0 && !quiet)
		tn_err("bench: command failed (status %d): %s", rc, cmd);
	return rc ? -EIO : 0;
}

#define IP(...) ip(false, (const char *const[]){ __VA_ARGS__, NULL })
#define IP_QUIET(...) ip(true, (const char *const[]){ __VA_ARGS__, NULL })

static void routed_cleanup(void)
{
	if (!routed_made)
		return;
	routed_made = false;
	IP_QUIET("netns", "del", routed_ns);
}

void net_cleanup(void)
{
	routed_cleanup();
	if (!net_made)
		return;
	net_made = false;
	/* either may be gone already */
	IP_QUIET("link", "del", IF_LB);
	IP_QUIET("netns", "del", NS_GEN);
}

static int enter_ns(int fd)
{
	if (setns(fd, CLONE_NEWNET)) {
		tn_err("bench: cannot enter a network namespace: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int open_namespaces(void)
{
	if (root_ns_fd < 0)
		root_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (gen_ns_fd >= 0)
		close(gen_ns_fd);
	gen_ns_fd = open("/run/netns/" NS_GEN, O_RDONLY | O_CLOEXEC);
	if (root_ns_fd < 0 || gen_ns_fd < 0) {
		tn_err("bench: cannot open the network namespaces: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int net_setup(struct testbed *t)
{
	int err;

	/* leftovers of an interrupted run, if any, go first */
	net_made = true;
	net_cleanup();
	net_made = true;
	if ((err = IP("netns", "add", NS_GEN)) ||
	    (err = IP("link", "add", IF_LB, "address", "02:54:4e:00:00:01", "type", "veth", "peer", "name",
		      IF_GEN, "address", "02:54:4e:00:00:02", "netns", NS_GEN)) ||
	    (err = IP("link", "set", IF_LB, "up")) ||
	    (err = IP("-n", NS_GEN, "link", "set", IF_GEN, "up")) ||
	    (err = IP("-n", NS_GEN, "link", "set", "lo", "up")) ||
	    (err = open_namespaces()))
		return err;
	t->lb_ifindex = if_nametoindex(IF_LB);
	if ((err = enter_ns(gen_ns_fd)))
		return err;
	t->gen_ifindex = if_nametoindex(IF_GEN);
	if ((err = enter_ns(root_ns_fd)))
		return err;
	if (!t->lb_ifindex || !t->gen_ifindex) {
		tn_err("bench: the veth pair " IF_LB "/" IF_GEN " did not appear");
		return -ENODEV;
	}
	t->gen_cpu = 0;
	return 0;
}

/*
 * The tunnel cases' network: a namespace where a veth end holds the node's
 * address, a permanent neighbour is the router, and the servers' network is
 * routed through it; the bench enters it so that the program's FIB lookups
 * (made in the namespace of the test run's ingress device) find that route.
 */
int routed_enter(int *ifindex)
{
	char path[64];
	int fd, err;

	snprintf(routed_ns, sizeof(routed_ns), NS_ROUTED "-%d", (int)getpid());
	routed_made = true;
	routed_cleanup();
	routed_made = true;
	if ((err = IP("netns", "add", routed_ns)) ||
	    (err = IP("-n", routed_ns, "link", "add", IF_ROUTED, "address", "02:54:4e:00:00:11", "type", "veth",
		      "peer", "name", IF_ROUTED "p")) ||
	    (err = IP("-n", routed_ns, "link", "set", "lo", "up")) ||
	    (err = IP("-n", routed_ns, "link", "set", IF_ROUTED, "up")) ||
	    (err = IP("-n", routed_ns, "link", "set", IF_ROUTED "p", "up")) ||
	    (err = IP("-n", routed_ns, "addr", "add", ROUTED_SRC "/24", "dev", IF_ROUTED)) ||
	    (err = IP("-n", routed_ns, "neigh", "replace", ROUTED_GW, "lladdr", ROUTED_GW_MAC, "nud", "permanent",
		      "dev", IF_ROUTED)) ||
	    (err = IP("-n", routed_ns, "route", "add", "192.168.50.0/24", "via", ROUTED_GW, "dev", IF_ROUTED)))
		goto fail;
	if (root_ns_fd < 0)
		root_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/run/netns/%s", routed_ns);
	fd = root_ns_fd < 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		tn_err("bench: cannot open the namespace %s: %s", routed_ns, strerror(errno));
		goto fail;
	}
	err = enter_ns(fd);
	close(fd);
	if (err)
		goto fail;
	*ifindex = (int)if_nametoindex(IF_ROUTED);
	/* the FIB lookup of a forwarded packet needs forwarding on (a node routes) */
	if (*ifindex > 0 && (err = IP("netns", "exec", routed_ns, "sysctl", "-q", "-w",
				       "net.ipv4.conf.all.forwarding=1")) == 0)
		return 0;
	err = err ? err : -ENODEV;
	enter_ns(root_ns_fd);
fail:
	routed_cleanup();
	return err;
}

void routed_leave(void)
{
	if (root_ns_fd >= 0)
		enter_ns(root_ns_fd);
	routed_cleanup();
}

int xdp_put(int ns_fd, int ifindex, int prog_fd)
{
	int err;

	if (ns_fd >= 0 && (err = enter_ns(ns_fd)))
		return err;
	err = bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL);
	if (ns_fd >= 0)
		enter_ns(root_ns_fd);
	if (err)
		tn_err("bench: cannot attach XDP natively to ifindex %d: %s", ifindex, strerror(-err));
	return err;
}

/*
 * The generator: `tenace pktgen` (BPF_PROG_RUN live frames, XDP_TX out of
 * tnb-gen) in the generator namespace, confined to the generator's CPU.
 */
int pg_start(struct pg *g, const struct testbed *t, uint32_t base, uint32_t nclients,
	     double seconds, uint64_t count, double pps)
{
	char src[INET_ADDRSTRLEN], amount[32], cpu[16], clients[16], rate[32];
	const char *amount_opt = count ? "-n" : "-d";
	uint32_t a = htonl(base);
	int fds[2], pid;

	inet_ntop(AF_INET, &a, src, sizeof(src));
	if (count)
		snprintf(amount, sizeof(amount), "%llu", (unsigned long long)count);
	else
		snprintf(amount, sizeof(amount), "%.3f", seconds);
	snprintf(cpu, sizeof(cpu), "%d", t->gen_cpu);
	snprintf(clients, sizeof(clients), "%u", nclients);
	snprintf(rate, sizeof(rate), "%.0f", pps);
	char *const argv[] = {
		"ip", "netns", "exec", NS_GEN, "taskset", "-c", cpu, tenace_bin, "pktgen", "-i", IF_GEN,
		"--dst-mac", "02:54:4e:00:00:01", "--dst", (char *)VIP4, "--dst-port", "80", "--proto", "udp",
		"--src", src, "--clients", clients, (char *)amount_opt, amount, "-r", rate, "-t", "1", "-q", "-j",
		NULL,
	};
	if (pipe2(fds, O_CLOEXEC)) {
		tn_err("bench: cannot run %s pktgen: %s", tenace_bin, strerror(errno));
		return -errno;
	}
	pid = spawn(argv, fds[1], false);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		tn_err("bench: cannot run %s pktgen: %s", tenace_bin, strerror(-pid));
		return pid;
	}
	g->pid = pid;
	g->out_fd = fds[0];
	return 0;
}

int pg_wait(struct pg *g)
{
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	int rc;
	json_object *j, *v;

	while (n < sizeof(buf) - 1 && ((r = read(g->out_fd, buf + n, sizeof(buf) - 1 - n)) > 0 ||
				       (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	close(g->out_fd);
	rc = wait_status(g->pid);
	buf[n] = 0;
	g->packets = 0;
	g->pps = 0;
	j = json_tokener_parse(buf);
	if (rc || !j) {
		tn_err("bench: tenace pktgen failed (status %d)%s%s", rc, n ? ": " : "", buf);
		json_object_put(j);
		return -EIO;
	}
	if (json_object_object_get_ex(j, "packets", &v))
		g->packets = json_object_get_int64(v);
	if (json_object_object_get_ex(j, "pps", &v))
		g->pps = json_object_get_double(v);
	json_object_put(j);
	return 0;
}
