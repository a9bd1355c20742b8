/*
 * Page layout and translations.  Pages work without JavaScript and follow
 * WCAG 2.1 AA basics: a lang attribute, one h1, labels for every field,
 * visible focus, sufficient contrast, errors announced with role=alert.
 */
#include "oidc/pages.h"

#include <string.h>

#include "core/crypto.h"

struct page_text_row {
	const char *key;
	const char *nb, *nn, *en, *se;
};

static const struct page_text_row page_texts[] = {
	{ "service", "ID-porten", "ID-porten", "ID-porten", "ID-porten" },
	{ "choose_eid", "Velg elektronisk ID", "Vel elektronisk ID", "Choose electronic ID",
	  "Vállje elektrovnnalaš ID" },
	{ "login_to", "Logg inn på", "Logg inn på", "Log in to", "Čálit sisa" },
	{ "testid_desc", "Syntetiske testpersoner (kun testmiljø)",
	  "Syntetiske testpersonar (berre testmiljø)", "Synthetic test people (test environment only)",
	  "Syntehtalaš geahččalanolbmot (dušše geahččalanbirrasis)" },
	{ "minid_desc", "Fødselsnummer, passord og engangskode",
	  "Fødselsnummer, passord og eingongskode", "National identity number, password and one-time code",
	  "Riegádannummir, beassansátni ja oktii-geavahankoda" },
	{ "cancel", "Avbryt", "Avbryt", "Cancel", "Gaskkalduhte" },
	{ "testid_title", "TestID", "TestID", "TestID", "TestID" },
	{ "pid_label", "Fødselsnummer (syntetisk, 11 siffer)", "Fødselsnummer (syntetisk, 11 siffer)",
	  "National identity number (synthetic, 11 digits)", "Riegádannummir (syntehtalaš, 11 siffara)" },
	{ "acr_label", "Sikkerhetsnivå", "Tryggleiksnivå", "Level of assurance", "Sihkkarvuođadássi" },
	{ "acr_substantial", "Betydelig", "Betydeleg", "Substantial", "Mearkkašahtti" },
	{ "acr_high", "Høyt", "Høgt", "High", "Allat" },
	{ "login", "Logg inn", "Logg inn", "Log in", "Čálit sisa" },
	{ "bad_pid", "Fødselsnummeret er ikke et gyldig syntetisk testnummer.",
	  "Fødselsnummeret er ikkje eit gyldig syntetisk testnummer.",
	  "The number is not a valid synthetic test number.",
	  "Nummir ii leat gustovaš syntehtalaš geahččalannummir." },
	{ "bad_acr", "Valgt sikkerhetsnivå er lavere enn tjenesten krever.",
	  "Valt tryggleiksnivå er lågare enn tenesta krev.",
	  "The chosen level is lower than the service requires.",
	  "Válljejuvvon dássi lea vuollelis go bálvalus gáibida." },
	{ "error_title", "Noe gikk galt", "Noko gjekk gale", "Something went wrong", "Juoga manai boasttu" },
	{ "error_intro", "Innloggingen kan ikke fortsette.", "Innlogginga kan ikkje halde fram.",
	  "The login cannot continue.", "Sisačálihus ii sáhte joatkit." },
	{ "error_code", "Feilkode", "Feilkode", "Error code", "Meattáhuskoda" },
	{ "error_back", "Gå tilbake til tjenesten du kom fra og prøv igjen.",
	  "Gå tilbake til tenesta du kom frå og prøv igjen.",
	  "Go back to the service you came from and try again.",
	  "Mana ruovttoluotta bálvalussii gos bohtet ja geahččal ođđasit." },
	{ "logout_title", "Du er logget ut", "Du er logga ut", "You are logged out", "Don leat čálihan olggos" },
	{ "logout_body", "Du er nå logget ut av ID-porten og tjenestene du brukte.",
	  "Du er no logga ut av ID-porten og tenestene du brukte.",
	  "You are now logged out of ID-porten and the services you used.",
	  "Don leat dál čálihan olggos ID-porten:s ja bálvalusain maid geavahit." },
	{ "continue", "Fortsett", "Hald fram", "Continue", "Joatkke" },
	{ "language", "Språk", "Språk", "Language", "Giella" },
	{ "redirecting", "Sender deg tilbake til tjenesten", "Sender deg tilbake til tenesta",
	  "Returning you to the service", "Sáddet du ruovttoluotta bálvalussii" },
	{ "no_eid", "Ingen elektronisk ID oppfyller kravet til sikkerhetsnivå.",
	  "Ingen elektronisk ID oppfyller kravet til tryggleiksnivå.",
	  "No electronic ID meets the required level of assurance.",
	  "Ii oktage elektrovnnalaš ID deavdda sihkkarvuođadási gáibádusa." },
};

static const char *const page_lang_names[][2] = {
	{ "nb", "Bokmål" }, { "nn", "Nynorsk" }, { "en", "English" }, { "se", "Davvisámegiella" },
};

const char *
page_lang_pick(struct str list)
{
	struct str rest = list, tok;

	while (rest.len > 0) {
		str_split(rest, ' ', &tok, &rest);
		for (size_t i = 0; i < 4; i++) {
			/* "nb-NO" counts as nb; "no" as bokmål. */
			struct str base = tok, dummy;

			str_split(tok, '-', &base, &dummy);
			if (str_eq_c(base, page_lang_names[i][0]))
				return page_lang_names[i][0];
			if (str_eq_c(base, "no") || str_eq_c(base, "nob"))
				return "nb";
			if (str_eq_c(base, "nno"))
				return "nn";
		}
	}
	return NULL;
}

const char *
page_lang(const struct http_req *r, const char *fallback)
{
	const char *c = http_cookie(r, PAGE_LANG_COOKIE);
	const char *l = c ? page_lang_pick(str_c(c)) : NULL;

	if (l != NULL)
		return l;
	if (fallback != NULL && (l = page_lang_pick(str_c(fallback))) != NULL)
		return l;
	return "nb";
}

const char *
page_text(const char *lang, const char *key)
{
	for (size_t i = 0; i < sizeof(page_texts) / sizeof(page_texts[0]); i++) {
		const struct page_text_row *t = &page_texts[i];

		if (strcmp(t->key, key) != 0)
			continue;
		if (strcmp(lang, "nn") == 0 && t->nn)
			return t->nn;
		if (strcmp(lang, "en") == 0 && t->en)
			return t->en;
		if (strcmp(lang, "se") == 0 && t->se)
			return t->se;
		return t->nb;
	}
	return key;
}

static const char page_css[] =
	"body{font-family:system-ui,sans-serif;margin:0;background:#f5f5f5;color:#1a1a1a;"
	"line-height:1.5}header{background:#00244e;color:#fff;padding:1rem 1.5rem}"
	"header p{margin:0;font-weight:bold}main{max-width:36rem;margin:2rem auto;background:#fff;"
	"padding:1.5rem 2rem;border-radius:6px}h1{font-size:1.6rem;margin-top:0}"
	"a{color:#0062ba}a:focus,button:focus,input:focus,select:focus{outline:3px solid #e8a200;"
	"outline-offset:2px}label{display:block;font-weight:bold;margin-top:1rem}"
	"input,select{font-size:1.1rem;padding:.5rem;width:100%;box-sizing:border-box;"
	"border:2px solid #595959;border-radius:4px}button{font-size:1.1rem;padding:.6rem 1.4rem;"
	"margin-top:1.2rem;border:0;border-radius:4px;background:#0062ba;color:#fff;cursor:pointer}"
	"button.secondary{background:#fff;color:#0062ba;border:2px solid #0062ba}"
	"ul.eids{list-style:none;padding:0}ul.eids li{margin:.6rem 0}ul.eids a{display:block;"
	"padding:1rem;border:2px solid #0062ba;border-radius:6px;text-decoration:none;"
	"font-weight:bold}ul.eids span{display:block;font-weight:normal;color:#333}"
	"[role=alert]{background:#fde8e8;border-left:4px solid #b00020;padding:.6rem 1rem;"
	"margin:1rem 0}footer{max-width:36rem;margin:0 auto 2rem;padding:0 2rem}"
	"footer a{margin-right:1rem}iframe{display:none}";

void
page_begin(struct buf *b, const char *lang, const char *title_key)
{
	buf_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		      "<title>", lang);
	buf_html(b, str_c(page_text(lang, title_key)));
	buf_puts(b, " – ID-porten</title><style>");
	buf_puts(b, page_css);
	buf_puts(b, "</style></head><body><header><p>ID-porten</p></header><main>");
}

void
page_end(struct buf *b, const char *lang, const char *switch_url)
{
	buf_puts(b, "</main>");
	if (switch_url != NULL) {
		buf_printf(b, "<footer><nav aria-label=\"%s\">", page_text(lang, "language"));
		for (size_t i = 0; i < 4; i++) {
			if (strcmp(lang, page_lang_names[i][0]) == 0)
				continue;
			buf_puts(b, "<a lang=\"");
			buf_puts(b, page_lang_names[i][0]);
			buf_puts(b, "\" href=\"");
			buf_html(b, str_c(switch_url));
			buf_puts(b, "&amp;lang=");
			buf_puts(b, page_lang_names[i][0]);
			buf_puts(b, "\">");
			buf_puts(b, page_lang_names[i][1]);
			buf_puts(b, "</a>");
		}
		buf_puts(b, "</nav></footer>");
	}
	buf_puts(b, "</body></html>\n");
}

void
page_error(struct http_req *r, struct http_resp *w, int status, const char *lang,
	   const char *error, const char *detail)
{
	struct buf b;

	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, lang, "error_title");
	buf_printf(&b, "<h1>%s</h1><p>%s</p><div role=\"alert\"><p>", page_text(lang, "error_title"),
		   page_text(lang, "error_intro"));
	if (detail != NULL)
		buf_html(&b, str_c(detail));
	buf_printf(&b, "</p><p>%s: <code id=\"error\">", page_text(lang, "error_code"));
	buf_html(&b, str_c(error));
	buf_printf(&b, "</code> (ref <code>%s</code>)</p></div><p>%s</p>", r->rid,
		   page_text(lang, "error_back"));
	page_end(&b, lang, NULL);
	http_resp_html(w, status, (struct str){ b.p, b.len });
	buf_free(&b);
}

void
page_form_post(struct http_resp *w, const char *action, const char *const *names,
	       const char *const *values, size_t n)
{
	char nonce[TOKEN_CHARS + 1];
	struct buf b;
	char *csp;

	if (rand_token_buf(nonce) != 0) {
		http_resp_text(w, 500, "server_error");
		return;
	}
	buf_init(&b, HTTP_MAX_RESPONSE);
	page_begin(&b, "nb", "redirecting");
	buf_puts(&b, "<h1>");
	buf_puts(&b, page_text("nb", "redirecting"));
	buf_puts(&b, "</h1><form method=\"post\" action=\"");
	buf_html(&b, str_c(action));
	buf_puts(&b, "\">");
	for (size_t i = 0; i < n; i++) {
		if (values[i] == NULL)
			continue;
		buf_puts(&b, "<input type=\"hidden\" name=\"");
		buf_html(&b, str_c(names[i]));
		buf_puts(&b, "\" value=\"");
		buf_html(&b, str_c(values[i]));
		buf_puts(&b, "\">");
	}
	buf_printf(&b, "<button type=\"submit\">%s</button></form>", page_text("nb", "continue"));
	buf_printf(&b, "<script nonce=\"%s\">document.forms[0].submit();</script>", nonce);
	page_end(&b, "nb", NULL);
	csp = arena_printf(w->arena,
			   "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-%s'; "
			   "form-action *; frame-ancestors 'none'; base-uri 'none'", nonce);
	http_resp_header(w, "Content-Security-Policy", csp);
	http_resp_html(w, 200, (struct str){ b.p, b.len });
	buf_free(&b);
}
