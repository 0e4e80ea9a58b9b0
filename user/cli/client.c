/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "cli/client.h"
#include "lib/buf.h"

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	return tn_buf_append(arg, p, size * n) ? 0 : size * n;
}

int tn_client_request(const struct tn_client *c, const char *method, const char *path,
		      json_object *body, json_object **out, char **text, char *err, size_t errlen)
{
	struct curl_slist *h = NULL;
	struct tn_buf b = {0};
	char url[1024], auth[1100] = "";
	const char *payload = NULL;
	long status = 0;
	CURLcode rc;
	CURL *curl;

	if (out)
		*out = NULL;
	if (text)
		*text = NULL;
	curl = curl_easy_init();
	if (!curl) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -ENOMEM;
	}
	if (c->url) {
		size_t l = strlen(c->url);
		snprintf(url, sizeof(url), "%.*s%s", (int)(l && c->url[l - 1] == '/' ? l - 1 : l), c->url, path);
	} else {
		snprintf(url, sizeof(url), "http://localhost%s", path);
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	/* https:// is verified (libcurl's default, kept explicit): the token must
	 * only reach the controller whose certificate it is */
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->cacert)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->cacert);
	if (c->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		h = curl_slist_append(h, auth);
	}
	if (body) {
		payload = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	}
	if (h)
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		long os_errno = 0;

		curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
		if (c->url)
			snprintf(err, errlen, "cannot reach the controller at %s: %s", c->url, curl_easy_strerror(rc));
		else if (os_errno == EACCES || os_errno == EPERM)
			snprintf(err, errlen, "permission denied: the socket %s is root-only (0600); run as root or use --url",
				 c->socket_path);
		else if (os_errno == ENOENT)
			snprintf(err, errlen, "no controller socket at %s (is `tenace run` running? --socket PATH)",
				 c->socket_path);
		else
			snprintf(err, errlen, "cannot reach the controller on %s: %s (is `tenace run` running? --socket PATH)",
				 c->socket_path, curl_easy_strerror(rc));
		status = -ECONNREFUSED;
	} else {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		if (out && b.s)
			*out = json_tokener_parse(b.s);
		if (text) {
			*text = b.s;
			b.s = NULL;
		}
	}
	if (auth[0])
		memset(auth, 0, sizeof(auth));
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	tn_buf_free(&b);
	return (int)status;
}
