/* GET /saml/metadata: the IdP's metadata (spec/saml-proxy.md §2). */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "saml/saml_int.h"

/* The body as XML of that type (the page kit's helpers are for HTML, JSON and text). */
static void
resp_xml(struct http_resp *w, int status, const char *type, const char *p, size_t n)
{
	buf_reset(&w->body);
	if (buf_append(&w->body, p, n) != 0) {
		http_resp_text(w, 500, "out of memory");
		return;
	}
	w->status = status;
	w->content_type = type;
}

void
saml_handle_metadata(struct http_req *r, struct http_resp *w)
{
	struct err e = { 0 };
	struct str sign = { 0 };
	char *xml = NULL;
	size_t n = 0;
	bool want;
	int rc;

	if (r->bad_input) {
		http_resp_text(w, 400, "bad query");
		return;
	}
	rc = http_param(&r->query, "sign", &sign);
	if (rc == ERR_DUP || (rc == 0 && !str_eq_c(sign, "true") && !str_eq_c(sign, "false"))) {
		http_resp_text(w, 400, "sign is true or false");
		return;
	}
	want = rc == 0 && str_eq_c(sign, "true");
	rc = saml_idp_metadata(want, &xml, &n, &e);
	if (rc == ERR_NOTFOUND) {
		http_resp_text(w, 404, "the SAML proxy is not configured");
		return;
	}
	if (rc != 0) {
		log_err(r->rid, "SAML metadata: %s", e.msg);
		http_resp_text(w, 500, "cannot make the metadata");
		return;
	}
	resp_xml(w, 200, "application/samlmetadata+xml", xml, n);
	free(xml);
}
