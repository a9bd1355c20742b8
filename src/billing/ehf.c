/*
 * The EHF invoice (spec/billing.md §4): a UBL 2.1 Invoice following PEPPOL
 * BIS Billing 3.0, built as an XML tree with libxml2 (values are text
 * nodes, escaped by the library), elements in the order of the UBL
 * schema's sequences.
 */
#include "billing/ehf.h"

#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <stdio.h>
#include <string.h>

#include "billing/billing.h"
#include "billing/billing_int.h"

#define NS_INV "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
#define NS_CAC "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
#define NS_CBC "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

struct ehf_ns {
	xmlNsPtr cac, cbc;
};

static xmlNodePtr
cac(xmlNodePtr parent, const struct ehf_ns *ns, const char *name)
{
	return xmlNewChild(parent, ns->cac, BAD_CAST name, NULL);
}

/* A basic component with text: xmlNewTextChild escapes what it is given. */
static xmlNodePtr
cbc(xmlNodePtr parent, const struct ehf_ns *ns, const char *name, const char *text)
{
	return xmlNewTextChild(parent, ns->cbc, BAD_CAST name, BAD_CAST text);
}

static void
cbc_attr(xmlNodePtr parent, const struct ehf_ns *ns, const char *name, const char *text,
	 const char *attr, const char *value)
{
	xmlNodePtr n = cbc(parent, ns, name, text);

	if (n != NULL)
		xmlNewProp(n, BAD_CAST attr, BAD_CAST value);
}

static void
amount(xmlNodePtr parent, const struct ehf_ns *ns, const char *name, int64_t ore)
{
	char v[32];

	bill_amount_format(ore, v, sizeof(v));
	cbc_attr(parent, ns, name, v, "currencyID", "NOK");
}

/* VAT category S at 25 % (BR-S-05), as the document's subtotal and each line's item have it. */
static void
tax_category(xmlNodePtr parent, const struct ehf_ns *ns, const char *name)
{
	xmlNodePtr c = cac(parent, ns, name);
	char pct[8];

	snprintf(pct, sizeof(pct), "%d", BILL_VAT_PERCENT);
	cbc(c, ns, "ID", "S");
	cbc(c, ns, "Percent", pct);
	cbc(cac(c, ns, "TaxScheme"), ns, "ID", "VAT");
}

static void
party_seller(xmlNodePtr root, const struct ehf_ns *ns, const struct ehf_invoice *inv)
{
	xmlNodePtr p = cac(cac(root, ns, "AccountingSupplierParty"), ns, "Party"), a, t;

	cbc_attr(p, ns, "EndpointID", inv->seller_orgno, "schemeID", "0192");
	cbc(cac(p, ns, "PartyName"), ns, "Name", inv->seller_name);
	a = cac(p, ns, "PostalAddress");
	if (inv->seller_street != NULL)
		cbc(a, ns, "StreetName", inv->seller_street);
	cbc(a, ns, "CityName", inv->seller_city);
	cbc(a, ns, "PostalZone", inv->seller_postcode);
	cbc(cac(a, ns, "Country"), ns, "IdentificationCode", "NO");
	t = cac(p, ns, "PartyTaxScheme");
	cbc(t, ns, "CompanyID", inv->seller_vat);
	cbc(cac(t, ns, "TaxScheme"), ns, "ID", "VAT");
	/* NO-R-002: a Norwegian seller states that it is in Foretaksregisteret. */
	t = cac(p, ns, "PartyTaxScheme");
	cbc(t, ns, "CompanyID", "Foretaksregisteret");
	cbc(cac(t, ns, "TaxScheme"), ns, "ID", "TAX");
	t = cac(p, ns, "PartyLegalEntity");
	cbc(t, ns, "RegistrationName", inv->seller_name);
	cbc_attr(t, ns, "CompanyID", inv->seller_orgno, "schemeID", "0192");
}

static void
party_buyer(xmlNodePtr root, const struct ehf_ns *ns, const struct ehf_invoice *inv)
{
	xmlNodePtr p = cac(cac(root, ns, "AccountingCustomerParty"), ns, "Party"), t;

	cbc_attr(p, ns, "EndpointID", inv->buyer_orgno, "schemeID", "0192");
	cbc(cac(p, ns, "PartyName"), ns, "Name", inv->buyer_name);
	/* BR-11: the buyer's country. */
	cbc(cac(cac(p, ns, "PostalAddress"), ns, "Country"), ns, "IdentificationCode", "NO");
	t = cac(p, ns, "PartyLegalEntity");
	cbc(t, ns, "RegistrationName", inv->buyer_name);
	cbc_attr(t, ns, "CompanyID", inv->buyer_orgno, "schemeID", "0192");
}

static void
invoice_line(xmlNodePtr root, const struct ehf_ns *ns, const struct ehf_line *l, size_t i)
{
	xmlNodePtr line = cac(root, ns, "InvoiceLine"), item, price;
	char id[24], qty[24], p[48];

	snprintf(id, sizeof(id), "%zu", i + 1);
	snprintf(qty, sizeof(qty), "%lld", (long long)l->quantity);
	cbc(line, ns, "ID", id);
	/* C62: "one", a count of authentications or of a service. */
	cbc_attr(line, ns, "InvoicedQuantity", qty, "unitCode", "C62");
	amount(line, ns, "LineExtensionAmount", l->amount);
	item = cac(line, ns, "Item");
	cbc(item, ns, "Name", l->name);
	tax_category(item, ns, "ClassifiedTaxCategory");
	/* No BaseQuantity: the price is per authentication, and R120 divides by 1. */
	price = cac(line, ns, "Price");
	bill_fixed_format(l->price, l->price_decimals, p, sizeof(p));
	cbc_attr(price, ns, "PriceAmount", p, "currencyID", "NOK");
}

static xmlDocPtr
ehf_build(const struct ehf_invoice *inv)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root, n, sub;
	struct ehf_ns ns;
	char d[16];

	if (doc == NULL)
		return NULL;
	root = xmlNewNode(NULL, BAD_CAST "Invoice");
	xmlDocSetRootElement(doc, root);
	xmlSetNs(root, xmlNewNs(root, BAD_CAST NS_INV, NULL));
	ns.cac = xmlNewNs(root, BAD_CAST NS_CAC, BAD_CAST "cac");
	ns.cbc = xmlNewNs(root, BAD_CAST NS_CBC, BAD_CAST "cbc");

	cbc(root, &ns, "CustomizationID",
	    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0");
	cbc(root, &ns, "ProfileID", "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0");
	cbc(root, &ns, "ID", inv->id);
	bill_date_format(inv->issue_date, d, sizeof(d));
	cbc(root, &ns, "IssueDate", d);
	bill_date_format(inv->due_date, d, sizeof(d));
	cbc(root, &ns, "DueDate", d);
	cbc(root, &ns, "InvoiceTypeCode", "380");
	cbc(root, &ns, "Note", inv->note);
	cbc(root, &ns, "DocumentCurrencyCode", "NOK");
	cbc(root, &ns, "BuyerReference", inv->buyer_reference);
	n = cac(root, &ns, "InvoicePeriod");
	bill_date_format(inv->period_from, d, sizeof(d));
	cbc(n, &ns, "StartDate", d);
	bill_date_format(inv->period_to, d, sizeof(d));
	cbc(n, &ns, "EndDate", d);
	party_seller(root, &ns, inv);
	party_buyer(root, &ns, inv);
	/* 30: credit transfer to the seller's account. */
	n = cac(root, &ns, "PaymentMeans");
	cbc(n, &ns, "PaymentMeansCode", "30");
	cbc(n, &ns, "PaymentID", inv->id);
	cbc(cac(n, &ns, "PayeeFinancialAccount"), &ns, "ID", inv->seller_account);
	n = cac(root, &ns, "TaxTotal");
	amount(n, &ns, "TaxAmount", inv->vat);
	sub = cac(n, &ns, "TaxSubtotal");
	amount(sub, &ns, "TaxableAmount", inv->line_total);
	amount(sub, &ns, "TaxAmount", inv->vat);
	tax_category(sub, &ns, "TaxCategory");
	n = cac(root, &ns, "LegalMonetaryTotal");
	amount(n, &ns, "LineExtensionAmount", inv->line_total);
	amount(n, &ns, "TaxExclusiveAmount", inv->line_total);
	amount(n, &ns, "TaxInclusiveAmount", inv->line_total + inv->vat);
	amount(n, &ns, "PayableAmount", inv->line_total + inv->vat);
	for (size_t i = 0; i < inv->nlines; i++)
		invoice_line(root, &ns, &inv->lines[i], i);
	return doc;
}

int
ehf_write(const struct ehf_invoice *inv, const char *path, struct err *e)
{
	xmlDocPtr doc = ehf_build(inv);
	int rc = 0;

	if (doc == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory building invoice %s", inv->id);
	if (xmlSaveFormatFileEnc(path, doc, "UTF-8", 1) < 0)
		rc = ERR(e, ERR_INTERNAL, 500, NULL, "cannot write invoice %s", path);
	xmlFreeDoc(doc);
	return rc;
}
