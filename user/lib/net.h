/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Addresses as the whole of Tenace speaks them: an IPv4 or IPv6 address in
 * 16 bytes, prefixes, MACs, "ADDRESS:PORT" strings and the sockaddr built
 * from them. One parser and one formatter of each, used by the
 * configuration, the API, the CLI, the probes, the neighbour lookups and the
 * tools.
 */
#ifndef TENACE_LIB_NET_H
#define TENACE_LIB_NET_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define TN_ADDR_TEXT 46  /* INET6_ADDRSTRLEN */
#define TN_MAC_TEXT 18   /* "02:54:4e:00:00:01" + NUL */

struct tn_addr {
	uint8_t family;    /* 4 or 6 (TN_FAMILY_V4 / TN_FAMILY_V6) */
	uint8_t bytes[16]; /* IPv4 in the first 4 bytes, rest zero */
};

struct tn_cidr {
	struct tn_addr addr; /* host bits cleared */
	uint8_t prefixlen;
};

/* "10.0.0.1" or "fd00::1": 0, or -EINVAL. */
int tn_addr_parse(const char *s, struct tn_addr *out);
/* Text of an address; "?" for a bad family. */
void tn_addr_format(const struct tn_addr *a, char *buf, size_t len);
/* As tn_addr_format, IPv6 in brackets with the port: "[fd00::1]:80", "10.0.0.1:80". */
void tn_addr_port_format(const struct tn_addr *a, uint16_t port, char *buf, size_t len);
int tn_addr_equal(const struct tn_addr *a, const struct tn_addr *b);
/* 127.0.0.0/8 or ::1 (and ::ffff:127.0.0.0/104). */
bool tn_addr_is_loopback(const struct tn_addr *a);
/* "10.0.0.0/8" (a bare address is a host prefix): 0, or -EINVAL. */
int tn_cidr_parse(const char *s, struct tn_cidr *out);

/* "02:54:4e:00:00:01" (ether_aton_r; exactly six two-digit groups): 0 or -EINVAL. */
int tn_mac_parse(const char *s, uint8_t mac[6]);
/* Two hex digits per byte (ether_ntoa_r drops leading zeros, unlike ip link). */
void tn_mac_format(const uint8_t mac[6], char buf[TN_MAC_TEXT]);

/* "ADDRESS:PORT", IPv6 as "[ADDRESS]:PORT", port 1..65535: 0 or -EINVAL. */
int tn_hostport_parse(const char *s, struct tn_addr *addr, uint16_t *port);
/* The sockaddr of an address and port; its length, 0 for a bad family. */
socklen_t tn_sockaddr(const struct tn_addr *a, uint16_t port, struct sockaddr_storage *ss);
/* A TCP socket listening on address:port (SO_REUSEADDR, close-on-exec): its fd, or -errno. */
int tn_tcp_listen(const struct tn_addr *a, uint16_t port, int backlog);

#endif /* TENACE_LIB_NET_H */
