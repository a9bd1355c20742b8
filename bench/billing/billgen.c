/*
 * A settlement year of authentication events for the billing benchmark
 * (spec/billing.md; not a test): events spread evenly over the year, the
 * customers' volumes falling off as 1/rank (a few large, many small),
 * eIDs in proportions like the real ones, a share of SSO logins; the
 * customers' invoice references and the year's cost entries beside them.
 * Written through the store's billing facet, in transactions of
 * BATCH events.
 *
 *   billgen --store TARGET --year YYYY --events N [--customers C] [--seed S]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/billing.h"
#include "core/log.h"
#include "store/store.h"

#define BATCH 20000

/* The first valid organisation number (mod 11) from base upwards. */
static void
orgno_from(unsigned base, char out[10])
{
	static const int w[8] = { 3, 2, 7, 6, 5, 4, 3, 2 };

	for (;; base++) {
		int sum = 0, r;

		snprintf(out, 10, "%08u", base % 100000000u);
		for (int i = 0; i < 8; i++)
			sum += (out[i] - '0') * w[i];
		r = 11 - sum % 11;
		if (r == 10)
			continue;
		out[8] = (char)('0' + (r == 11 ? 0 : r));
		out[9] = '\0';
		return;
	}
}

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* splitmix64: the same seed gives the same year */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' }, { "year", required_argument, NULL, 'y' },
		{ "events", required_argument, NULL, 'n' },
		{ "customers", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 },
	};
	static const char *const eids[] = { "minid", "minid", "minid", "minid", "minid",
					    "bankid", "bankid", "bankid", "bankid", "buypass" };
	const char *target = NULL;
	long long events = 1000000, ncust = 2000;
	int year = 2025, ch;
	struct store *s = NULL;
	struct err e = { 0 };
	int64_t from, to;
	double *cum;
	char (*orgs)[10];

	rng_state = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': target = optarg; break;
		case 'y': year = (int)strtol(optarg, NULL, 10); break;
		case 'n': events = strtoll(optarg, NULL, 10); break;
		case 'c': ncust = strtoll(optarg, NULL, 10); break;
		case 'r': rng_state = strtoull(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (target == NULL || events <= 0 || ncust <= 0 || ncust > 1000000 ||
	    bill_year_bounds(year, &from, &to, &e) != 0) {
		fprintf(stderr, "usage: billgen --store TARGET --year YYYY --events N "
				"[--customers C] [--seed S]\n");
		return 2;
	}
	log_set_level(LOG_WARN);
	if (store_open(&s, &(struct store_opts){ target, 0 }, &e) != 0) {
		fprintf(stderr, "billgen: %s\n", e.msg);
		return 1;
	}
	cum = calloc((size_t)ncust, sizeof(*cum));
	orgs = calloc((size_t)ncust, sizeof(*orgs));
	if (cum == NULL || orgs == NULL)
		return 1;
	for (long long i = 0; i < ncust; i++) {
		cum[i] = (i ? cum[i - 1] : 0) + 1.0 / (double)(i + 1);
		orgno_from(90000000u + (unsigned)i * 7u, orgs[i]);
		if (store_call(s, billing, customer_set, orgs[i], "Bench customer", "BENCH-REF",
			       &e) != 0)
			goto fail;
	}
	if (store_call(s, billing, cost_set, year, "bankid", 12000000000LL, &e) != 0 ||
	    store_call(s, billing, cost_set, year, "buypass", 900000000LL, &e) != 0 ||
	    store_call(s, billing, cost_set, year, "minid-sms", 2500000000LL, &e) != 0)
		goto fail;
	for (long long done = 0; done < events;) {
		if (store_tx_begin(s, &e) != 0)
			goto fail;
		for (int k = 0; k < BATCH && done < events; k++, done++) {
			double u = (double)(rng() >> 11) / 9007199254740992.0 * cum[ncust - 1];
			long long lo = 0, hi = ncust - 1;
			uint64_t r = rng();
			bool sso = r % 10 < 3;
			const char *eid = eids[(r >> 8) % 10];
			json_t *d;
			int rc;

			while (lo < hi) {
				long long mid = (lo + hi) / 2;

				if (cum[mid] < u)
					lo = mid + 1;
				else
					hi = mid;
			}
			d = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "client_id", "bench",
				      "customer", orgs[lo], "eid", eid, "acr",
				      "idporten-loa-high", "sso", sso, "test", 0, "billable", !sso);
			rc = d ? store_call(s, billing, event_put, "authentication",
					    from + (int64_t)((r >> 20) % (uint64_t)(to - from)), d, &e)
			       : ERR_NOMEM;
			json_decref(d);
			if (rc != 0) {
				store_tx_end(s, false, &e);
				goto fail;
			}
		}
		if (store_tx_end(s, true, &e) != 0)
			goto fail;
	}
	printf("%lld events for %lld customers in settlement year %d\n", events, ncust, year);
	free(cum);
	free(orgs);
	store_close(s);
	return 0;
fail:
	fprintf(stderr, "billgen: %s\n", e.msg);
	store_close(s);
	return 1;
}
