/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helper of tests/integration/attach.sh: what the data-plane module says
 * about an interface's driver, one fact a line:
 *   veth_peer_check RC WARNING
 *   xdp_tx_errors RC COUNT
 * (RC as the functions return it: tn_dp_veth_peer_check, tn_dp_xdp_tx_errors).
 * usage: link_info IFNAME
 */
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include "dataplane/dataplane.h"

int main(int argc, char **argv)
{
	char warn[512];
	uint64_t errors = 0;
	int ifindex, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: link_info IFNAME\n");
		return 2;
	}
	ifindex = (int)if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "link_info: unknown interface %s\n", argv[1]);
		return 1;
	}
	rc = tn_dp_veth_peer_check(ifindex, warn, sizeof(warn));
	printf("veth_peer_check %d %s\n", rc, warn);
	rc = tn_dp_xdp_tx_errors(ifindex, &errors);
	printf("xdp_tx_errors %d %" PRIu64 "\n", rc, errors);
	return 0;
}
