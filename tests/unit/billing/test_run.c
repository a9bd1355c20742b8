/*
 * Tests for billing/run.c and ehf.c (spec/billing.md §3, §4): a billing
 * run over events, costs, customers and extra lines in an SQLite store
 * held in memory, with the amounts worked out by hand; every invoice read
 * back with libxml2 for the mandatory PEPPOL BIS Billing 3.0 elements and
 * its totals; the same run twice gives the same bytes; and the hostile
 * half: a year not ended, an existing output, a run broken halfway, an
 * organisation number with a wrong check digit, a customer without an
 * invoice reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "billing/billing_int.h"

#define ORG_A "810000007" /* valid organisation numbers (mod 11) */
#define ORG_B "810000015"
#define ORG_C "810000023"
#define ORG_D "810000016" /* check digit wrong */
#define ORG_E "810000031"
#define ORG_F "810000058"

struct rfx {
	struct cfg cfg;
	struct porten app;
	char dir[256];
	struct err e;
};

static void
put(struct rfx *f, int64_t t, const char *customer, const char *eid, int n)
{
	json_t *d = json_pack("{s:s, s:s, s:s, s:b, s:b}", "customer", customer, "eid", eid, "acr",
			      "idporten-loa-high", "sso", 0, "billable", 1);

	for (int i = 0; i < n; i++)
		assert_int_equal(store_call(f->app.store, billing, event_put, "authentication", t, d,
					    &f->e), 0);
	json_decref(d);
}

static int
setup(void **state)
{
	struct rfx *f = calloc(1, sizeof(*f));
	struct store_opts o = { ":memory:", 0 };
	int64_t t = 1709208000; /* 29 February 2024, in settlement year 2024 */

	assert_non_null(f);
	assert_int_equal(store_open(&f->app.store, &o, &f->e), 0);
	f->app.cfg = &f->cfg;
	f->cfg.billing_seller_name = "Digitaliseringsdirektoratet";
	f->cfg.billing_seller_orgno = "991825827";
	f->cfg.billing_seller_street = "Postboks 1382 Vika";
	f->cfg.billing_seller_city = "Oslo";
	f->cfg.billing_seller_postcode = "0114";
	f->cfg.billing_seller_account = "76940512057";
	f->cfg.billing_threshold = 5;
	f->cfg.billing_payment_days = 30;
	snprintf(f->dir, sizeof(f->dir), "/tmp/porten-billrun-%d", (int)getpid());
	mkdir(f->dir, 0700);
	/* A 6 BankID + 4 MinID, B exactly 5, C 4 (under), D 7 (bad orgno), E 6 (no reference) */
	put(f, t, ORG_A, "bankid", 6);
	put(f, t, ORG_A, "minid", 4);
	put(f, 1696111200, ORG_B, "bankid", 5);      /* the first second of the year */
	put(f, 1696111199, ORG_B, "bankid", 3);      /* the year before: not counted */
	put(f, 1727733600, ORG_B, "bankid", 3);      /* the year after: not counted */
	put(f, t, ORG_C, "bankid", 4);
	put(f, t, ORG_D, "bankid", 7);
	put(f, 1727733599, ORG_E, "buypass", 6);     /* the last second of the year */
	assert_int_equal(store_call(f->app.store, billing, cost_set, 2024, "bankid", 100000, &f->e), 0);
	assert_int_equal(store_call(f->app.store, billing, cost_set, 2024, "minid-sms", 101, &f->e), 0);
	assert_int_equal(store_call(f->app.store, billing, cost_set, 2023, "bankid", 999, &f->e), 0);
	assert_int_equal(store_call(f->app.store, billing, customer_set, ORG_A, "Alfa & <Co>",
				    "REF-A", &f->e), 0);
	assert_int_equal(store_call(f->app.store, billing, customer_set, ORG_B, "Beta", "REF-B",
				    &f->e), 0);
	assert_int_equal(store_call(f->app.store, billing, customer_set, ORG_D, "Delta", "REF-D",
				    &f->e), 0);
	assert_int_equal(store_call(f->app.store, billing, customer_set, ORG_F, "Foxtrot",
				    "REF-F", &f->e), 0);
	assert_int_equal(store_call(f->app.store, billing, extra_add, 2024, ORG_B, "Training",
				    2, 50000, &f->e), 0);
	assert_int_equal(store_call(f->app.store, billing, extra_add, 2024, ORG_F,
				    "Extended support", 1, 25050, &f->e), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct rfx *f = *state;
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (getenv("BILL_KEEP") == NULL)
		assert_int_equal(system(cmd), 0);
	store_close(f->app.store);
	free(f);
	return 0;
}

static struct bill_run_opts
opts(struct rfx *f, const char *name, char *path, size_t n)
{
	snprintf(path, n, "%s/%s", f->dir, name);
	return (struct bill_run_opts){ .year = 2024, .out_dir = path, .now = 1727733600,
				       .issue_date = 1727740800 };
}

static bool
exists(const char *dir, const char *name)
{
	char p[512];
	struct stat sb;

	snprintf(p, sizeof(p), "%s%s%s", dir, name ? "/" : "", name ? name : "");
	return stat(p, &sb) == 0;
}

/* The text of the first node at xpath, or NULL (caller frees). */
static char *
xget(xmlXPathContextPtr x, const char *xpath)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression(BAD_CAST xpath, x);
	char *v = NULL;

	if (o != NULL && o->nodesetval != NULL && o->nodesetval->nodeNr > 0)
		v = (char *)xmlNodeGetContent(o->nodesetval->nodeTab[0]);
	xmlXPathFreeObject(o);
	return v;
}

static void
xis(xmlXPathContextPtr x, const char *xpath, const char *want)
{
	char *v = xget(x, xpath);

	if (v == NULL || strcmp(v, want) != 0)
		print_error("%s: %s, want %s\n", xpath, v ? v : "(missing)", want);
	assert_non_null(v);
	assert_string_equal(v, want);
	xmlFree(v);
}

/* An amount in øre from the text of xpath. */
static int64_t
xore(xmlXPathContextPtr x, const char *xpath)
{
	char *v = xget(x, xpath);
	int64_t o = -1;
	struct err e = { 0 };

	assert_non_null(v);
	assert_int_equal(bill_amount_parse(v, &o, &e), 0);
	xmlFree(v);
	return o;
}

/*
 * PEPPOL-EN16931-R120 on line i (no BaseQuantity: a base of 1): its
 * quantity times its price rounds to its amount, which has two decimals.
 */
static void
check_line(xmlXPathContextPtr x, int i, int64_t ore)
{
	char q[160], *v, *dot;
	__int128 qty = 0, price = 0, scale = 1, diff;

	snprintf(q, sizeof(q), "/i:Invoice/cac:InvoiceLine[%d]/cac:Price/cbc:BaseQuantity", i);
	v = xget(x, q);
	assert_null(v);
	snprintf(q, sizeof(q), "/i:Invoice/cac:InvoiceLine[%d]/cbc:InvoicedQuantity", i);
	v = xget(x, q);
	assert_non_null(v);
	for (const char *c = v; *c != '\0'; c++) {
		assert_true(*c >= '0' && *c <= '9');
		qty = qty * 10 + (*c - '0');
	}
	xmlFree(v);
	snprintf(q, sizeof(q), "/i:Invoice/cac:InvoiceLine[%d]/cac:Price/cbc:PriceAmount", i);
	v = xget(x, q);
	assert_non_null(v);
	dot = strchr(v, '.');
	assert_non_null(dot);
	assert_in_range(strlen(dot + 1), 2, BILL_PRICE_DECIMALS_MAX);
	for (const char *c = v; *c != '\0'; c++) {
		if (c == dot)
			continue;
		assert_true(*c >= '0' && *c <= '9');
		price = price * 10 + (*c - '0');
	}
	for (size_t k = 2; k < strlen(dot + 1); k++)
		scale *= 10;
	xmlFree(v);
	/* in units of the price's last decimal: under half an øre is scale / 2 */
	diff = qty * price - (__int128)ore * scale;
	if (diff < 0)
		diff = -diff;
	if (diff * 2 >= scale)
		print_error("line %d: quantity x price misses %lld øre\n", i, (long long)ore);
	assert_true(diff * 2 < scale);
}

/*
 * Read an invoice back: every mandatory BIS 3.0 element there, each line
 * quantity x price, the totals consistent to the øre.  Returns the
 * payable amount.
 */
static int64_t
check_invoice(const char *path, const char *orgno, const char *reference, int nlines,
	      int64_t line_total)
{
	xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	xmlXPathContextPtr x;
	xmlXPathObjectPtr o;
	int64_t sum = 0, vat, line;
	char q[160];

	assert_non_null(doc); /* well-formed */
	x = xmlXPathNewContext(doc);
	xmlXPathRegisterNs(x, BAD_CAST "i",
			   BAD_CAST "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2");
	xmlXPathRegisterNs(x, BAD_CAST "cac",
			   BAD_CAST "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2");
	xmlXPathRegisterNs(x, BAD_CAST "cbc",
			   BAD_CAST "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2");
	xis(x, "/i:Invoice/cbc:CustomizationID",
	    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0");
	xis(x, "/i:Invoice/cbc:ProfileID", "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0");
	snprintf(q, sizeof(q), "PORTEN-2024-%s", orgno);
	xis(x, "/i:Invoice/cbc:ID", q);
	xis(x, "/i:Invoice/cbc:IssueDate", "2024-10-01");
	xis(x, "/i:Invoice/cbc:DueDate", "2024-10-31");
	xis(x, "/i:Invoice/cbc:InvoiceTypeCode", "380");
	xis(x, "/i:Invoice/cbc:DocumentCurrencyCode", "NOK");
	xis(x, "/i:Invoice/cbc:BuyerReference", reference);
	xis(x, "/i:Invoice/cac:InvoicePeriod/cbc:StartDate", "2023-10-01");
	xis(x, "/i:Invoice/cac:InvoicePeriod/cbc:EndDate", "2024-09-30");
	xis(x, "/i:Invoice/cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", "991825827");
	xis(x, "/i:Invoice/cac:AccountingSupplierParty/cac:Party/cbc:EndpointID/@schemeID", "0192");
	xis(x, "/i:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/"
	       "cbc:IdentificationCode", "NO");
	xis(x, "/i:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme[cac:TaxScheme/"
	       "cbc:ID='VAT']/cbc:CompanyID", "NO991825827MVA");
	xis(x, "/i:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/"
	       "cbc:RegistrationName", "Digitaliseringsdirektoratet");
	xis(x, "/i:Invoice/cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", orgno);
	xis(x, "/i:Invoice/cac:AccountingCustomerParty/cac:Party/cbc:EndpointID/@schemeID", "0192");
	xis(x, "/i:Invoice/cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
	    orgno);
	xis(x, "/i:Invoice/cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cac:Country/"
	       "cbc:IdentificationCode", "NO");
	xis(x, "/i:Invoice/cac:PaymentMeans/cbc:PaymentMeansCode", "30");
	xis(x, "/i:Invoice/cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", "76940512057");
	xis(x, "/i:Invoice/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID", "S");
	xis(x, "/i:Invoice/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent", "25");
	xis(x, "/i:Invoice/cac:TaxTotal/cbc:TaxAmount/@currencyID", "NOK");
	/* the lines add up to LineExtensionAmount; each has its item, VAT category and price */
	o = xmlXPathEvalExpression(BAD_CAST "/i:Invoice/cac:InvoiceLine", x);
	assert_non_null(o);
	assert_int_equal(o->nodesetval ? o->nodesetval->nodeNr : 0, nlines);
	xmlXPathFreeObject(o);
	for (int i = 1; i <= nlines; i++) {
		snprintf(q, sizeof(q), "/i:Invoice/cac:InvoiceLine[%d]/cbc:LineExtensionAmount", i);
		line = xore(x, q);
		check_line(x, i, line);
		sum += line;
		snprintf(q, sizeof(q), "/i:Invoice/cac:InvoiceLine[%d]/cac:Item/cbc:Name", i);
		free(xget(x, q));
		snprintf(q, sizeof(q),
			 "/i:Invoice/cac:InvoiceLine[%d]/cac:Item/cac:ClassifiedTaxCategory/cbc:ID", i);
		xis(x, q, "S");
	}
	assert_int_equal(sum, line_total);
	assert_int_equal(xore(x, "/i:Invoice/cac:LegalMonetaryTotal/cbc:LineExtensionAmount"), sum);
	assert_int_equal(xore(x, "/i:Invoice/cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount"), sum);
	assert_int_equal(xore(x, "/i:Invoice/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount"), sum);
	vat = xore(x, "/i:Invoice/cac:TaxTotal/cbc:TaxAmount");
	assert_int_equal(vat, bill_vat(sum));
	assert_int_equal(xore(x, "/i:Invoice/cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount"), vat);
	assert_int_equal(xore(x, "/i:Invoice/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"),
			 sum + vat);
	assert_int_equal(xore(x, "/i:Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount"), sum + vat);
	xmlXPathFreeContext(x);
	xmlFreeDoc(doc);
	return sum + vat;
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

static void
test_run(void **state)
{
	struct rfx *f = *state;
	char out[300], p[400];
	struct bill_run_opts o = opts(f, "run1", out, sizeof(out));
	json_t *s = NULL, *inv;
	char *xml;

	assert_int_equal(bill_run(&f->app, &o, &s, &f->e), 0);
	/*
	 * Pool 1000.00 + 1.01 = 100 101 øre over A 10, B 5, D 7, E 6 (28):
	 * floors 35 750, 17 875, 25 025, 21 450 (100 100); remainders 10, 5,
	 * 7, 6: the last øre to A.  C (4) is under the threshold.
	 */
	assert_int_equal(json_integer_value(json_object_get(s, "paying_authentications")), 28);
	assert_int_equal(json_integer_value(json_object_get(s, "free_authentications")), 4);
	assert_string_equal(json_string_value(json_object_get(s, "price_excl_vat")), "35.750357");
	assert_string_equal(json_string_value(json_object_get(s, "price_incl_vat")), "44.687946");
	assert_string_equal(json_string_value(json_object_get(json_object_get(s, "inputs"),
							      "pool_excl_vat")), "1001.01");
	inv = json_object_get(s, "invoices");
	assert_int_equal(json_array_size(inv), 3); /* A, B, F */
	assert_int_equal(json_array_size(json_object_get(s, "not_invoiced")), 2); /* D, E */
	assert_string_equal(json_string_value(json_object_get(json_array_get(
				    json_object_get(s, "not_invoiced"), 0), "orgno")), ORG_D);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
				    json_object_get(s, "not_invoiced"), 1), "orgno")), ORG_E);
	/* A: 35 751 split 6:4 = 21 450.6 and 14 300.4, the øre to BankID; VAT 8 937.75 */
	snprintf(p, sizeof(p), "%s/%s.xml", out, ORG_A);
	assert_int_equal(check_invoice(p, ORG_A, "REF-A", 2, 35751), 35751 + 8938);
	xml = slurp(p);
	assert_non_null(strstr(xml, "<cbc:LineExtensionAmount currencyID=\"NOK\">214.51<"));
	assert_non_null(strstr(xml, "<cbc:LineExtensionAmount currencyID=\"NOK\">143.00<"));
	assert_non_null(strstr(xml, "<cbc:InvoicedQuantity unitCode=\"C62\">6<"));
	/*
	 * Each line's price is its amount over its quantity (the amount is
	 * within two øre of quantity x p): 6 x 35.750357 would make 214.50,
	 * not 214.51 (PEPPOL-EN16931-R120).
	 */
	assert_non_null(strstr(xml, "<cbc:PriceAmount currencyID=\"NOK\">35.751667<"));
	assert_non_null(strstr(xml, "<cbc:PriceAmount currencyID=\"NOK\">35.750000<"));
	/* the name is text, escaped by the library */
	assert_non_null(strstr(xml, "Alfa &amp; &lt;Co&gt;"));
	free(xml);
	/* B: 17 875 and the training line 2 x 500.00 */
	snprintf(p, sizeof(p), "%s/%s.xml", out, ORG_B);
	assert_int_equal(check_invoice(p, ORG_B, "REF-B", 2, 117875), 117875 + 29469);
	/* F: only its extra line */
	snprintf(p, sizeof(p), "%s/%s.xml", out, ORG_F);
	assert_int_equal(check_invoice(p, ORG_F, "REF-F", 1, 25050), 25050 + 6263);
	assert_false(exists(out, ORG_C ".xml"));
	assert_false(exists(out, ORG_D ".xml"));
	assert_false(exists(out, ORG_E ".xml"));
	assert_true(exists(out, "summary.json"));
	json_decref(s);
}

static void
test_run_reproducible(void **state)
{
	struct rfx *f = *state;
	char o1[300], o2[300], p1[400], p2[400];
	struct bill_run_opts a = opts(f, "r1", o1, sizeof(o1)), b = opts(f, "r2", o2, sizeof(o2));
	const char *files[] = { ORG_A ".xml", ORG_B ".xml", ORG_F ".xml", "summary.json" };
	json_t *s = NULL;

	assert_int_equal(bill_run(&f->app, &a, &s, &f->e), 0);
	json_decref(s);
	assert_int_equal(bill_run(&f->app, &b, &s, &f->e), 0);
	json_decref(s);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *x, *y;

		snprintf(p1, sizeof(p1), "%s/%s", o1, files[i]);
		snprintf(p2, sizeof(p2), "%s/%s", o2, files[i]);
		x = slurp(p1);
		y = slurp(p2);
		assert_string_equal(x, y);
		free(x);
		free(y);
	}
}

static void
test_run_hostile(void **state)
{
	struct rfx *f = *state;
	char out[300], part[320];
	struct bill_run_opts o = opts(f, "bad", out, sizeof(out));
	json_t *s = NULL;

	/* a year that has not ended */
	o.now = 1727733599;
	assert_int_equal(bill_run(&f->app, &o, &s, &f->e), ERR_INVAL);
	assert_null(s);
	assert_false(exists(out, NULL));
	/* broken after the first invoice: neither the output nor a partial one remains */
	o.now = 1727733600;
	o.fail_after = 1;
	assert_int_not_equal(bill_run(&f->app, &o, &s, &f->e), 0);
	snprintf(part, sizeof(part), "%s.partial", out);
	assert_false(exists(out, NULL));
	assert_false(exists(part, NULL));
	/* a partial directory left by a run that died is cleared by the next */
	assert_int_equal(mkdir(part, 0700), 0);
	o.fail_after = 0;
	assert_int_equal(bill_run(&f->app, &o, &s, &f->e), 0);
	json_decref(s);
	assert_false(exists(part, NULL));
	/* the output exists: a run never writes into it */
	assert_int_equal(bill_run(&f->app, &o, &s, &f->e), ERR_EXISTS);
	/* no seller */
	f->cfg.billing_seller_account = NULL;
	o = opts(f, "noseller", out, sizeof(out));
	assert_int_equal(bill_run(&f->app, &o, &s, &f->e), ERR_INVAL);
	assert_false(exists(out, NULL));
	f->cfg.billing_seller_account = "76940512057";
	/* a year out of range */
	o.year = 1999;
	assert_int_equal(bill_run(&f->app, &o, &s, &f->e), ERR_INVAL);
}

static void
test_run_nobody_pays(void **state)
{
	struct rfx *f = *state;
	char out[300];
	struct bill_run_opts o = opts(f, "none", out, sizeof(out));
	json_t *s = NULL;

	/* nobody reaches the threshold: only the extra lines are invoiced */
	f->cfg.billing_threshold = 200000;
	assert_int_equal(bill_run(&f->app, &o, &s, &f->e), 0);
	assert_int_equal(json_integer_value(json_object_get(s, "paying_customers")), 0);
	assert_string_equal(json_string_value(json_object_get(s, "price_excl_vat")), "0.000000");
	assert_int_equal(json_array_size(json_object_get(s, "invoices")), 2); /* B, F: extras */
	json_decref(s);
	/* no cost entries (2025): nothing to share, no invoices */
	o = opts(f, "nocost", out, sizeof(out));
	o.year = 2025;
	o.now = 1759269600;
	f->cfg.billing_threshold = 1;
	assert_int_equal(bill_run(&f->app, &o, &s, &f->e), 0);
	assert_string_equal(json_string_value(json_object_get(s, "price_excl_vat")), "0.000000");
	assert_int_equal(json_array_size(json_object_get(s, "invoices")), 0);
	assert_int_equal(json_integer_value(json_object_get(s, "paying_authentications")), 3);
	json_decref(s);
}

static int64_t
count_auth(struct rfx *f)
{
	int64_t n = -1;

	assert_int_equal(store_call(f->app.store, events, event_count, "authentication", &n, &f->e), 0);
	return n;
}

/*
 * The retention sweep in the service's tick: what is older than the kept
 * years goes; the running year and the one being invoiced always stay.
 */
static void
test_retention(void **state)
{
	struct rfx *f = *state;
	int now_year = bill_year_of(time(NULL));
	int64_t from, to, prev_from, prev_to, before;

	assert_int_equal(bill_year_bounds(now_year, &from, &to, &f->e), 0);
	assert_int_equal(bill_year_bounds(now_year - 1, &prev_from, &prev_to, &f->e), 0);
	put(f, from, ORG_A, "bankid", 2);        /* the running year */
	put(f, prev_from, ORG_A, "bankid", 3);   /* the year just ended, being invoiced */
	put(f, prev_from - 1, ORG_A, "bankid", 1); /* the year before that */
	before = count_auth(f);
	f->cfg.billing_retention_years = 1;
	billing_service.tick(&f->app);
	/* setup's events (2023-2025) and the last second of the year before the last are gone */
	assert_int_equal(count_auth(f), 5);
	assert_true(before > 5);
	/* a second tick finds nothing more to remove, and a larger window brings nothing back */
	f->cfg.billing_retention_years = 2;
	billing_service.tick(&f->app);
	assert_int_equal(count_auth(f), 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_reproducible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_nobody_pays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
