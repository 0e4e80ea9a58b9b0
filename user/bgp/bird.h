/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * BIRD 2, as Tenace drives it: the configuration of its own BIRD, the routes
 * include file, the control socket (the birdc protocol), and the BIRD child
 * process. Text generation and reply parsing are pure (unit-tested with
 * golden texts); the rest returns 0 or -errno with one sentence in err.
 */
#ifndef TENACE_BGP_BIRD_H
#define TENACE_BGP_BIRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "bgp/announce.h"
#include "config/bgp.h"
#include "lib/buf.h"

/* Names the routes file gives its static protocols: an operator's BIRD
 * exports `where proto = "tenace4"` (and "tenace6") to its BGP sessions. */
#define TN_BIRD_PROTO4 "tenace4"
#define TN_BIRD_PROTO6 "tenace6"

/* Files of Tenace's own BIRD, beside the state file. */
struct tn_bird_paths {
	char conf[TN_BGP_PATH_MAX];    /* bird.conf (generated) */
	char routes[TN_BGP_PATH_MAX];  /* bird-routes.conf (the include) */
	char socket[TN_BGP_PATH_MAX];  /* bird.ctl */
	char pid[TN_BGP_PATH_MAX];     /* bird.pid */
};
/* 0, or -ENAMETOOLONG. */
int tn_bird_paths_in(const char *dir, struct tn_bird_paths *p);

/* ---- text (bird_conf.c) ------------------------------------------------- */

/* The protocol name of a neighbor: "peer4_10_77_0_1", "peer6_fd77__1". */
void tn_bird_peer_name(const struct tn_bgp_neighbor *n, char *buf, size_t len);
/* The whole configuration of Tenace's own BIRD: 0 or -ENOMEM. */
int tn_bird_conf_text(const struct tn_bgp_cfg *c, const char *routes_path, struct tn_buf *out);
/* The routes include: static protocols tenace4 and tenace6 holding one
 * blackhole route per prefix (BGP sends them with next hop self). */
int tn_bird_routes_text(const struct tn_prefixes *p, struct tn_buf *out);
/* The prefixes of a routes file written by tn_bird_routes_text (what a
 * previous controller announced): 0, -EINVAL (not ours) or -ENOMEM. */
int tn_bird_routes_parse(const char *text, struct tn_prefixes *out);

/* ---- replies (bird_reply.c) --------------------------------------------- */

struct tn_bgp_session {
	char protocol[64];
	struct tn_addr neighbor;     /* family 0: not shown */
	uint32_t remote_as;
	char state[24];              /* BGP state: Idle, Connect, Active, OpenSent, OpenConfirm, Established */
	bool up;                     /* Established */
	double since;                /* epoch seconds of the last state change, 0 unknown */
	uint32_t exported;           /* prefixes announced to the neighbor (all channels) */
	uint32_t imported;
	char info[96];               /* the Info column ("Socket: Connection refused") */
	char last_error[128];
};

/* Every BGP protocol of a `show protocols all` reply (the raw reply with its
 * codes). 0 (*out malloc'd) or -ENOMEM. */
int tn_bird_parse_protocols(const char *reply, double now, struct tn_bgp_session **out, size_t *n);

/* ---- the control socket (birdc.c) --------------------------------------- */

struct tn_birdc {
	int fd;
	struct tn_buf in;            /* bytes read, not consumed yet */
};

/* Connect and read the greeting ("0001 BIRD 2.0.12 ready."). */
int tn_birdc_open(struct tn_birdc *c, const char *path, int timeout_ms, char *err, size_t errlen);
/*
 * One command, one reply: *reply gets every line as received ("0002-...",
 * " ..."), *code the code of the last line. A reply code of 8000..9999 is
 * BIRD's refusal: returned as -EINVAL with its text in err. Other failures
 * (timeout, closed socket) close the connection.
 */
int tn_birdc_cmd(struct tn_birdc *c, const char *cmd, int timeout_ms, struct tn_buf *reply, int *code,
		 char *err, size_t errlen);
void tn_birdc_close(struct tn_birdc *c);

/* ---- the BIRD process (bird_proc.c) ------------------------------------- */

struct tn_bird_proc {
	pid_t pid;                   /* 0: none */
	bool child;                  /* ours to reap; false: taken over from an earlier controller */
};

/* Start `bird -f -c CONF -s SOCK -P PID` in its own session, stdin on
 * /dev/null, its log on our stderr: 0 or -errno. */
int tn_bird_start(struct tn_bird_proc *p, const struct tn_bird_paths *paths, char *err, size_t errlen);
/* A BIRD left running by an earlier controller on these paths (its pid
 * file, and its command line naming our socket): true and p filled. */
bool tn_bird_find_running(struct tn_bird_proc *p, const struct tn_bird_paths *paths);
/* Still running? Reaps our child; *status gets its wait status (-1 when
 * not ours or unknown). */
bool tn_bird_alive(struct tn_bird_proc *p, int *status);
/* SIGTERM, wait up to timeout_ms, then SIGKILL. */
void tn_bird_stop(struct tn_bird_proc *p, int timeout_ms);

#endif /* TENACE_BGP_BIRD_H */
