/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The live page's files (user/api/page/), built into the binary by the
 * Makefile (xxd -i into build/gen/page_assets.c), and the headers every
 * response of them carries: the page holds no data, it reads the API.
 */
#include <string.h>
#include "api/api.h"

extern unsigned char index_html[], app_js[], style_css[];
extern unsigned int index_html_len, app_js_len, style_css_len;

static const struct tn_page_asset assets[] = {
	{ "/", "text/html; charset=utf-8", index_html, &index_html_len },
	{ "/index.html", "text/html; charset=utf-8", index_html, &index_html_len },
	{ "/app.js", "text/javascript; charset=utf-8", app_js, &app_js_len },
	{ "/style.css", "text/css; charset=utf-8", style_css, &style_css_len },
};

const struct tn_page_asset *tn_page_asset(const char *url)
{
	size_t n = strcspn(url, "?");

	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
		if (strlen(assets[i].path) == n && !memcmp(assets[i].path, url, n))
			return &assets[i];
	return NULL;
}

/* Same-origin script, style and requests only; never framed. */
const char *const tn_page_headers[][2] = {
	{ "Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "
	  "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" },
	{ "X-Content-Type-Options", "nosniff" },
	{ "X-Frame-Options", "DENY" },
	{ "Referrer-Policy", "no-referrer" },
	{ "Cache-Control", "no-store" },
	{ NULL, NULL },
};
