/*
 * The HTTP SMS gateway: one POST per message to a provider's URL, the body
 * made from a configured template.  http/client.c does the HTTP: only
 * http(s), no redirects, TLS verified, the time bounded.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/crypto.h"
#include "core/log.h"
#include "http/client.h"
#include "sms/sms.h"

#define SMS_BODY_MAX 8192

struct sms_http {
	struct sms_gateway super;
	char *url;
	char *template;
	char *content_type;
	char *auth_header;
	long timeout;
};

/*
 * A value inside a JSON string of the template (which supplies the
 * quotes): jansson encodes it, and the quotes it adds are left out.
 * Invalid UTF-8 is refused rather than passed into the JSON.
 */
static int
sms_json_escape(struct buf *b, const char *s)
{
	json_t *j = json_string(s);
	char *enc = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	int rc = enc != NULL ? buf_append(b, enc + 1, strlen(enc) - 2) : ERR_INVAL;

	json_decref(j);
	free(enc);
	return rc;
}

static int
sms_put_value(struct buf *b, const char *content_type, const char *v)
{
	if (strncmp(content_type, "application/json", 16) == 0)
		return sms_json_escape(b, v);
	if (strncmp(content_type, "application/x-www-form-urlencoded", 33) == 0)
		return buf_urlenc(b, str_c(v));
	return buf_puts(b, v);
}

int
sms_http_body(const char *template, const char *content_type, const char *to, const char *text,
	      const char *sender, char **body, struct err *e)
{
	static const char *const names[] = { "to", "text", "sender" };
	const char *values[] = { to, text, sender };
	const char *p = template;
	struct buf b;
	int rc = 0;

	*body = NULL;
	buf_init(&b, SMS_BODY_MAX);
	while (*p != '\0' && rc == 0) {
		const char *open = strchr(p, '{'), *close;
		size_t i;

		if (open == NULL) {
			rc = buf_puts(&b, p);
			break;
		}
		close = strchr(open, '}');
		for (i = 0; close != NULL && i < 3; i++)
			if ((size_t)(close - open - 1) == strlen(names[i]) &&
			    memcmp(open + 1, names[i], strlen(names[i])) == 0)
				break;
		if (close == NULL || i == 3) {
			/* A brace that opens no placeholder of ours: JSON's own, keep it. */
			if (close != NULL && close - open - 1 > 0 && close - open - 1 < 16 &&
			    str_only((struct str){ open + 1, (size_t)(close - open - 1) },
				     "abcdefghijklmnopqrstuvwxyz_")) {
				rc = ERR(e, ERR_INVAL, 0, NULL, "sms_template: unknown placeholder {%.*s}",
					 (int)(close - open - 1), open + 1);
				break;
			}
			rc = buf_append(&b, p, (size_t)(open - p) + 1);
			p = open + 1;
			continue;
		}
		rc = buf_append(&b, p, (size_t)(open - p));
		if (rc == 0)
			rc = sms_put_value(&b, content_type, values[i] ? values[i] : "");
		p = close + 1;
	}
	if (rc != 0) {
		if (e->code == 0)
			rc = ERR(e, rc, 0, NULL,
				 rc == ERR_INVAL ? "SMS value is not valid UTF-8" : "SMS body too large");
		buf_free_secret(&b);
		return rc;
	}
	*body = buf_take(&b);
	if (*body == NULL)
		*body = strdup("");
	return *body ? 0 : ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
}

static int
sms_http_send(struct sms_gateway *g, const char *to, const char *text, struct err *e)
{
	struct sms_http *h = (struct sms_http *)g;
	const char *hdrs[] = { h->auth_header, NULL };
	struct http_client_resp resp = { 0 };
	struct http_client_req q = {
		.method = "POST", .url = h->url, .content_type = h->content_type,
		.headers = hdrs, .user_agent = "porten-sms/1", .timeout = h->timeout,
	};
	char *body = NULL;
	int rc;

	rc = sms_http_body(h->template, h->content_type, to, text, g->sender, &body, e);
	if (rc != 0)
		return rc;
	q.body = str_c(body);
	/* The provider's answer is not needed beyond its status. */
	rc = http_client_do(&q, &resp, e);
	if (rc == ERR_UNAVAILABLE || rc == ERR_LIMIT) {
		char why[sizeof(e->msg)];

		snprintf(why, sizeof(why), "%s", e->msg);
		rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "SMS gateway: %s", why);
	} else if (rc == 0 && (resp.status < 200 || resp.status > 299)) {
		rc = ERR(e, ERR_UNAVAILABLE, 0, NULL, "SMS gateway answered HTTP %ld", resp.status);
	}
	http_client_resp_free(&resp);
	secure_wipe(body, strlen(body));   /* it holds the code */
	free(body);
	return rc;
}

static void
sms_http_free(struct sms_gateway *g)
{
	struct sms_http *h = (struct sms_http *)g;

	free(h->url);
	free(h->template);
	free(h->content_type);
	if (h->auth_header != NULL)
		secure_wipe(h->auth_header, strlen(h->auth_header));
	free(h->auth_header);
}

static const struct sms_ops sms_http_ops = {
	.name = "http",
	.send = sms_http_send,
	.free = sms_http_free,
};

int
sms_http_new(const struct sms_http_opts *o, struct sms_gateway **out, struct err *e)
{
	struct sms_http *h;
	char *probe = NULL;
	int rc;

	*out = NULL;
	if (o->url == NULL || (strncmp(o->url, "https://", 8) != 0 &&
			       strncmp(o->url, "http://", 7) != 0))
		return ERR(e, ERR_INVAL, 0, NULL, "sms_url must be an http(s) URL");
	if (o->template == NULL || o->template[0] == '\0')
		return ERR(e, ERR_INVAL, 0, NULL, "sms_template is empty");
	/* A bad template stops start-up rather than the first login. */
	rc = sms_http_body(o->template, o->content_type ? o->content_type : "application/json",
			   "+4799999999", "x", "x", &probe, e);
	free(probe);
	if (rc != 0)
		return rc;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	h->super.ops = &sms_http_ops;
	h->super.sender = strdup(o->sender ? o->sender : "ID-porten");
	h->url = strdup(o->url);
	h->template = strdup(o->template);
	h->content_type = strdup(o->content_type ? o->content_type : "application/json");
	h->auth_header = o->auth_header ? strdup(o->auth_header) : NULL;
	h->timeout = o->timeout > 0 ? o->timeout : 10;
	if (h->super.sender == NULL || h->url == NULL || h->template == NULL ||
	    h->content_type == NULL || (o->auth_header && h->auth_header == NULL)) {
		sms_gateway_free(&h->super);
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	}
	*out = &h->super;
	return 0;
}
