/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/ether.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "lib/net.h"

int tn_addr_parse(const char *s, struct tn_addr *out)
{
	struct tn_addr a;

	memset(&a, 0, sizeof(a));
	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, a.bytes) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, s, a.bytes) == 1)
		a.family = 6;
	else
		return -EINVAL;
	*out = a;
	return 0;
}

void tn_addr_format(const struct tn_addr *a, char *buf, size_t len)
{
	int af = a->family == 4 ? AF_INET : AF_INET6;

	if (!len)
		return;
	if ((a->family != 4 && a->family != 6) || !inet_ntop(af, a->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void tn_addr_port_format(const struct tn_addr *a, uint16_t port, char *buf, size_t len)
{
	char text[TN_ADDR_TEXT];

	tn_addr_format(a, text, sizeof(text));
	snprintf(buf, len, a->family == 6 ? "[%s]:%u" : "%s:%u", text, port);
}

int tn_addr_equal(const struct tn_addr *a, const struct tn_addr *b)
{
	return a->family == b->family && !memcmp(a->bytes, b->bytes, 16);
}

static unsigned addr_bits(const struct tn_addr *a)
{
	return a->family == 4 ? 32 : 128;
}

int tn_cidr_parse(const char *s, struct tn_cidr *out)
{
	char buf[TN_ADDR_TEXT + 8];
	struct tn_cidr c;
	const char *slash;
	unsigned long len;
	char *end;
	unsigned i;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(s, '/');
	if (slash)
		buf[slash - s] = '\0';
	if (tn_addr_parse(buf, &c.addr))
		return -EINVAL;
	len = addr_bits(&c.addr);
	if (slash) {
		/* digits only: strtoul would accept " 8", "+8" and "-0" */
		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
			return -EINVAL;
		len = strtoul(slash + 1, &end, 10);
		if (*end || len > addr_bits(&c.addr))
			return -EINVAL;
	}
	c.prefixlen = (uint8_t)len;
	/* clear the host bits so that equal prefixes compare equal */
	for (i = 0; i < 16; i++) {
		unsigned keep = len > i * 8 ? len - i * 8 : 0;

		if (keep < 8)
			c.addr.bytes[i] &= (uint8_t)(0xff00u >> keep);
	}
	*out = c;
	return 0;
}

int tn_mac_parse(const char *s, uint8_t mac[6])
{
	struct ether_addr e;

	/* ether_aton_r also takes "2:0:0:0:0:1": ask for the canonical form */
	if (!s || strlen(s) != 17 || !ether_aton_r(s, &e))
		return -EINVAL;
	for (int i = 2; i < 17; i += 3)
		if (s[i] != ':')
			return -EINVAL;
	memcpy(mac, e.ether_addr_octet, 6);
	return 0;
}

void tn_mac_format(const uint8_t m[6], char buf[TN_MAC_TEXT])
{
	snprintf(buf, TN_MAC_TEXT, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

int tn_hostport_parse(const char *s, struct tn_addr *addr, uint16_t *port)
{
	char host[TN_ADDR_TEXT + 2];
	const char *colon, *p;
	unsigned long v = 0;
	bool bracketed;
	size_t hl;

	if (!s)
		return -EINVAL;
	bracketed = s[0] == '[';
	if (bracketed) {
		colon = strstr(s, "]:");
		if (!colon)
			return -EINVAL;
		s++;
		hl = (size_t)(colon - s);
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	/* an IPv6 address needs its brackets: "::1:80" is ambiguous */
	if (tn_addr_parse(host, addr) || (addr->family == 6) != bracketed)
		return -EINVAL;
	for (p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9' || p - colon > 5)
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (p == colon + 1 || v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

socklen_t tn_sockaddr(const struct tn_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->bytes, 4);
		return sizeof(*s4);
	}
	if (a->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->bytes, 16);
		return sizeof(*s6);
	}
	return 0;
}

bool tn_addr_is_loopback(const struct tn_addr *a)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (a->family == 4)
		return a->bytes[0] == 127;
	if (a->family != 6)
		return false;
	return !memcmp(a->bytes, v6_loopback, 16) || (!memcmp(a->bytes, v4_mapped, 12) && a->bytes[12] == 127);
}

int tn_tcp_listen(const struct tn_addr *a, uint16_t port, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t sl = tn_sockaddr(a, port, &ss);
	int fd, one = 1, e;

	if (!sl)
		return -EAFNOSUPPORT;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) == 0 && listen(fd, backlog) == 0)
		return fd;
	e = errno;
	close(fd);
	return -e;
}
