/*
 * The one libcurl wrapper (see client.h).  The answer is gathered into a
 * capped buffer; going over the cap aborts the transfer rather than
 * truncating it, so a caller never parses half a document.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/netaddr.h"
#include "http/client.h"

static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static CURLcode client_init_rc;

static void
client_init(void)
{
	/* curl_global_init is not thread-safe: once per process. */
	client_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct client_sink {
	struct buf b;
	bool over;
};

static size_t
client_write(char *p, size_t size, size_t n, void *ud)
{
	struct client_sink *s = ud;

	if (buf_append(&s->b, p, size * n) != 0) {
		s->over = true;
		return 0;      /* libcurl stops with CURLE_WRITE_ERROR */
	}
	return size * n;
}

static bool
client_url_ok(const char *url)
{
	return url != NULL &&
	       (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0);
}

/* Content-Type and the caller's headers as one libcurl list in *out. */
static int
client_headers(const struct http_client_req *q, struct curl_slist **out, struct err *e)
{
	struct curl_slist *l = NULL, *tmp;
	char *ctype = NULL;
	size_t i;

	*out = NULL;
	if (q->content_type != NULL) {
		if (asprintf(&ctype, "Content-Type: %s", q->content_type) < 0)
			return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		l = curl_slist_append(l, ctype);
		free(ctype);
		if (l == NULL)
			return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	for (i = 0; q->headers != NULL && q->headers[i] != NULL; i++) {
		if (strpbrk(q->headers[i], "\r\n") != NULL) {
			curl_slist_free_all(l);
			return ERR(e, ERR_INVAL, 0, NULL, "header with a line break");
		}
		tmp = curl_slist_append(l, q->headers[i]);
		if (tmp == NULL) {
			curl_slist_free_all(l);
			return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		}
		l = tmp;
	}
	*out = l;
	return 0;
}

/*
 * Before the request goes out on a connection: refuse a peer whose address
 * is not on the internet (after DNS, so a name that resolves inward is
 * caught, and on every connection, redirects being off).
 */
static int
client_prereq(void *ud, char *peer_ip, char *local_ip, int peer_port, int local_port)
{
	struct net_addr a;

	(void)ud;
	(void)local_ip;
	(void)peer_port;
	(void)local_port;
	if (peer_ip == NULL || net_addr_parse(str_c(peer_ip), &a) != 0 || net_addr_internal(&a))
		return CURL_PREREQFUNC_ABORT;
	return CURL_PREREQFUNC_OK;
}

static void
client_setopts(CURL *c, const struct http_client_req *q, struct curl_slist *hdrs,
	       struct client_sink *sink)
{
	long timeout = q->timeout > 0 ? q->timeout : HTTP_CLIENT_TIMEOUT;

	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			 q->connect_timeout > 0 ? q->connect_timeout : timeout);
	if (q->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, q->ca_file);
	if (q->public_only)
		curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, client_prereq);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, q->user_agent ? q->user_agent : "porten/1");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, client_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
	if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body.p ? q->body.p : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)q->body.len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
}

static int
client_collect(CURL *c, struct client_sink *sink, struct http_client_resp *resp, struct err *e)
{
	const char *ct = NULL;

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	{
		curl_off_t ra = 0;

		if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			resp->retry_after = ra > 86400 ? 86400 : (long)ra;
	}
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL) {
		resp->content_type = strdup(ct);
		if (resp->content_type == NULL)
			return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	resp->len = sink->b.len;
	resp->body = buf_take(&sink->b);
	if (resp->body == NULL)
		resp->body = strdup("");
	return resp->body ? 0 : ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
}

int
http_client_do(const struct http_client_req *q, struct http_client_resp *resp, struct err *e)
{
	struct client_sink sink = { .over = false };
	struct curl_slist *hdrs = NULL;
	CURL *c = NULL;
	CURLcode cc;
	int rc;

	memset(resp, 0, sizeof(*resp));
	buf_init(&sink.b, q->max_body > 0 ? q->max_body : HTTP_CLIENT_MAX_BODY);
	if (q->method == NULL || (strcmp(q->method, "GET") != 0 && strcmp(q->method, "POST") != 0))
		return ERR(e, ERR_INVAL, 0, NULL, "HTTP client: method must be GET or POST");
	if (!client_url_ok(q->url))
		return ERR(e, ERR_INVAL, 0, NULL, "HTTP client: not an http(s) URL");
	pthread_once(&client_once, client_init);
	if (client_init_rc != CURLE_OK)
		return ERR(e, ERR_UNAVAILABLE, 0, NULL, "libcurl did not initialise");
	rc = client_headers(q, &hdrs, e);
	if (rc != 0)
		goto out;
	c = curl_easy_init();
	if (c == NULL) {
		rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "libcurl handle");
		goto out;
	}
	client_setopts(c, q, hdrs, &sink);
	cc = curl_easy_perform(c);
	if (sink.over)
		rc = ERR(e, ERR_LIMIT, 0, NULL, "answer larger than %zu bytes", sink.b.max);
	else if (cc == CURLE_ABORTED_BY_CALLBACK)
		rc = ERR(e, ERR_DENIED, 0, NULL, "the peer's address is not on the internet");
	else if (cc != CURLE_OK)
		rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "%s", curl_easy_strerror(cc));
	else
		rc = client_collect(c, &sink, resp, e);
out:
	if (c != NULL)
		curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	buf_free(&sink.b);
	return rc;
}

void
http_client_resp_free(struct http_client_resp *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	free(resp->content_type);
	memset(resp, 0, sizeof(*resp));
}

struct mail_body {
	const char *p;
	size_t left;
};

static size_t
mail_read(char *dst, size_t size, size_t n, void *arg)
{
	struct mail_body *m = arg;
	size_t k = size * n < m->left ? size * n : m->left;

	memcpy(dst, m->p, k);
	m->p += k;
	m->left -= k;
	return k;
}

int
http_client_mail(const char *url, const char *from, const char *to, const char *msg,
		 size_t len, long timeout, struct err *e)
{
	struct mail_body body = { msg, len };
	struct curl_slist *rcpt = NULL;
	CURLcode cc;
	CURL *h;

	if (url == NULL || (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0))
		return ERR(e, ERR_INVAL, 0, NULL, "the mail server's URL must be smtp:// or smtps://");
	h = curl_easy_init();
	rcpt = curl_slist_append(NULL, to);
	if (h == NULL || rcpt == NULL) {
		curl_slist_free_all(rcpt);
		curl_easy_cleanup(h);
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, mail_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &body);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(h);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK)
		return ERR(e, ERR_UNAVAILABLE, 0, NULL, "the mail server did not take the message: %s",
			   curl_easy_strerror(cc));
	return 0;
}
