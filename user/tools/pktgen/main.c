/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tenace-pktgen: the packet generator as its own binary (`tenace pktgen` runs it). */
#include "lib/log.h"
#include "tools/pktgen/pktgen.h"

int main(int argc, char **argv)
{
	tn_log_libbpf();
	return tn_pktgen_main(argc, argv);
}
