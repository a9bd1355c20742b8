/* The EHF invoice (PEPPOL BIS Billing 3.0, UBL 2.1) of one customer and year (ehf.c). */
#ifndef PORTEN_BILLING_EHF_H
#define PORTEN_BILLING_EHF_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct ehf_line {
	const char *name;        /* the item: "Authentications, BankID", or an extra's text */
	int64_t quantity;
	int64_t price;           /* unit price excl. VAT, in 10^-price_decimals kroner */
	unsigned price_decimals; /* 1..BILL_PRICE_DECIMALS_MAX */
	int64_t amount;          /* the line's amount excl. VAT, øre */
};

/* What one invoice says; strings are borrowed.  Totals are the caller's, consistent to the øre. */
struct ehf_invoice {
	const char *id, *note;
	int64_t issue_date, due_date, period_from, period_to; /* UTC midnights */
	const char *seller_name, *seller_orgno, *seller_vat, *seller_street, *seller_city,
		*seller_postcode, *seller_account;
	const char *buyer_orgno, *buyer_name, *buyer_reference;
	const struct ehf_line *lines;
	size_t nlines;
	int64_t line_total;      /* sum of the lines' amounts */
	int64_t vat;             /* VAT on line_total */
};

/* Build inv as UBL and write it to path (UTF-8, indented). */
int ehf_write(const struct ehf_invoice *inv, const char *path, struct err *e);

#endif
