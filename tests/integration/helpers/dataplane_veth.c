/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helper of tests/integration/dataplane_veth.sh: load the data plane without
 * pinning, configure one UDP and one TCP VIP on two farms of the same servers
 * (sourceIp stickiness), attach natively to an interface and exit. The
 * program and its maps live on while attached; deleting the namespace frees
 * them.
 *
 * usage: dataplane_veth IFNAME IF_MAC VIP UDP_PORT TCP_PORT IP1 MAC1 IP2 MAC2
 * Run it inside the balancer's namespace (ip netns exec).
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dataplane/dataplane.h"

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

int main(int argc, char **argv)
{
	struct tn_dp_server srv[2];
	struct tn_vip_key keys[2];
	struct tn_vip vals[2];
	struct tn_dp *dp;
	uint8_t if_mac[6];
	struct in_addr vip;
	int ifindex, err;

	if (argc != 10) {
		fprintf(stderr, "usage: %s IFNAME IF_MAC VIP UDP_PORT TCP_PORT IP1 MAC1 IP2 MAC2\n", argv[0]);
		return 2;
	}
	ifindex = (int)if_nametoindex(argv[1]);
	if (!ifindex || parse_mac(argv[2], if_mac) || inet_pton(AF_INET, argv[3], &vip) != 1) {
		fprintf(stderr, "bad interface %s, MAC %s or VIP %s\n", argv[1], argv[2], argv[3]);
		return 2;
	}
	memset(srv, 0, sizeof(srv));
	for (int i = 0; i < 2; i++) {
		srv[i].server_id = (uint32_t)i + 1;
		srv[i].family = TN_FAMILY_V4;
		srv[i].weight = 1;
		srv[i].up = true;
		srv[i].ifindex = (uint32_t)ifindex;  /* same interface: XDP_TX */
		memcpy(srv[i].src_mac, if_mac, 6);
		if (inet_pton(AF_INET, argv[6 + 2 * i], srv[i].addr) != 1 || parse_mac(argv[7 + 2 * i], srv[i].mac)) {
			fprintf(stderr, "bad server %s %s\n", argv[6 + 2 * i], argv[7 + 2 * i]);
			return 2;
		}
	}
	if ((err = tn_dp_open(&dp, "", NULL))) {
		fprintf(stderr, "cannot open the data plane: %d\n", err);
		return 1;
	}
	memset(keys, 0, sizeof(keys));
	memset(vals, 0, sizeof(vals));
	for (int i = 0; i < 2; i++) {
		struct tn_dp_farm f = {
			.farm_id = (uint32_t)i + 1, .proto = i ? IPPROTO_TCP : IPPROTO_UDP,
			.balance = TN_BALANCE_SOURCE, .stickiness = TN_STICKY_SOURCE_IP,
			.servers = srv, .nservers = 2,
		};

		if ((err = tn_dp_farm_write(dp, (uint32_t)i, &f, NULL))) {
			fprintf(stderr, "cannot write farm %d: %d\n", i, err);
			return 1;
		}
		memcpy(keys[i].addr, &vip, 4);
		keys[i].port = htons((uint16_t)atoi(argv[4 + i]));
		keys[i].proto = i ? IPPROTO_TCP : IPPROTO_UDP;
		keys[i].family = TN_FAMILY_V4;
		keys[i].kind = TN_VIP_KIND_PORT;
		vals[i].farm_slot = (uint32_t)i;
		vals[i].vip_index = (uint32_t)i;
	}
	if ((err = tn_dp_vips_replace(dp, keys, vals, 2))) {
		fprintf(stderr, "cannot set VIPs: %d\n", err);
		return 1;
	}
	if ((err = tn_dp_attach(dp, ifindex, false))) {
		fprintf(stderr, "cannot attach to %s: %d\n", argv[1], err);
		return 1;
	}
	printf("attached to %s (ifindex %d)\n", argv[1], ifindex);
	tn_dp_close(dp);
	return 0;
}
