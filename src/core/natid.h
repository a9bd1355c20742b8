/*
 * Norwegian national identity numbers (spec/national-id-numbers.md): the one
 * module that parses, validates and classifies 11-digit person numbers, and
 * 9-digit organisation numbers.
 */
#ifndef PORTEN_CORE_NATID_H
#define PORTEN_CORE_NATID_H

#include <stdbool.h>

#include "core/str.h"

enum natid_status {
	NATID_OK = 0,
	NATID_MALFORMED,
	NATID_BAD_CHECKSUM,
	NATID_BAD_INDIVIDUAL_NUMBER,
	NATID_BAD_DATE,
};

enum natid_flags {
	NATID_D_NUMBER = 1 << 0,
	NATID_H_NUMBER = 1 << 1,   /* month + 40: H-number or NAV synthetic */
	NATID_SYNTHETIC = 1 << 2,  /* month + 80 */
	NATID_RULE_2032 = 1 << 3,  /* valid only under the 2032 control rule */
};

enum natid_sex { NATID_SEX_UNKNOWN, NATID_SEX_FEMALE, NATID_SEX_MALE };

struct natid_info {
	unsigned flags;
	int year, month, day;
	enum natid_sex sex;
};

/*
 * §6: whether the 2032 control rule applies: switched on (configuration
 * natid_allow_2032, passed as switched_on), or by itself from 2032-01-01
 * Norwegian time.  Every caller of natid_parse and natid_acceptable passes
 * this, never the bare switch.
 */
bool natid_2032_on(bool switched_on);

/* Parse and classify; allow_2032 switches on the 2032 control rule (§6). */
enum natid_status natid_parse(struct str s, bool allow_2032, struct natid_info *out);
const char *natid_status_name(enum natid_status st);

/* Where a number is used; decides acceptance (spec §4 table). */
enum natid_context {
	NATID_CTX_PROD,    /* pid, MinID, KRR in PROD */
	NATID_CTX_TEST,    /* pid, MinID, KRR in TEST */
	NATID_CTX_TESTID,  /* the TestID eID */
};

struct natid_policy {
	bool allow_2032;
	bool test_accept_real;     /* TEST: accept real fødselsnummer / D-number (default off) */
	bool testid_accept_real;   /* TestID: accept real numbers (default off) */
};

/* True if s is valid and acceptable in ctx under policy (NULL = defaults). */
bool natid_acceptable(struct str s, enum natid_context ctx, const struct natid_policy *policy);

/*
 * A national identity number masked for logs and pages: every digit but the
 * last three hidden (the first six are a birth date).  out gets at most
 * NATID_MASK_LEN bytes including the NUL; NULL or odd input gives "***".
 */
#define NATID_MASK_LEN 12
void natid_mask(const char *pid, char out[NATID_MASK_LEN]);

/* Organisation number: 9 digits, mod-11 check digit (spec §7). */
bool orgno_valid(struct str s);
/* The same for a C string; NULL is not one, and no more than 10 bytes are read. */
bool orgno_valid_c(const char *s);

#endif
