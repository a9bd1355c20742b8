/*
 * The billing run of a settlement year (spec/billing.md §3, §4): volumes
 * per customer and eID summed in the store, the cost pool shared among
 * the customers at or over the threshold, one EHF invoice per paying
 * customer, summary.json with the run's inputs.  The output appears
 * whole or not at all: everything is written into a directory beside the
 * target and renamed into place once complete.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "billing/billing_int.h"
#include "billing/ehf.h"
#include "core/natid.h"

#define BILL_PATH_MAX 4096

struct run_line {
	char *eid;
	int64_t n;
	int64_t amount;
};

struct run_cust {
	char *orgno;
	int64_t volume;
	int64_t amount;
	size_t first, nlines;    /* its eIDs in run.lines */
	bool pays;
};

struct run {
	struct run_cust *cust;
	size_t ncust, ccap;
	struct run_line *lines;
	size_t nlines, lcap;
	int64_t unassigned;      /* billable authentications of clients without an organisation */
	json_t *costs;           /* [{item, amount}] */
	int64_t pool;
	json_t *customers;       /* [[orgno, name, reference]] by orgno */
	json_t *extras;          /* [[orgno, text, quantity, unit]] by orgno */
};

static int
run_nomem(struct err *e)
{
	return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

/* VOLUME rows, by customer then eID. */
static int
run_vol_row(void *arg, const struct store_bill_row *row, struct err *e)
{
	struct run *r = arg;
	struct run_cust *c;

	if (row->k[0] == NULL || row->k[0][0] == '\0') {
		r->unassigned += row->n[0];
		return 0;
	}
	if (r->ncust == 0 || strcmp(r->cust[r->ncust - 1].orgno, row->k[0]) != 0) {
		if (r->ncust == r->ccap) {
			size_t cap = r->ccap ? r->ccap * 2 : 64;
			struct run_cust *n = realloc(r->cust, cap * sizeof(*n));

			if (n == NULL)
				return run_nomem(e);
			r->cust = n;
			r->ccap = cap;
		}
		c = &r->cust[r->ncust++];
		memset(c, 0, sizeof(*c));
		c->first = r->nlines;
		if ((c->orgno = strdup(row->k[0])) == NULL)
			return run_nomem(e);
	}
	c = &r->cust[r->ncust - 1];
	if (r->nlines == r->lcap) {
		size_t cap = r->lcap ? r->lcap * 2 : 64;
		struct run_line *n = realloc(r->lines, cap * sizeof(*n));

		if (n == NULL)
			return run_nomem(e);
		r->lines = n;
		r->lcap = cap;
	}
	r->lines[r->nlines] = (struct run_line){ .eid = strdup(row->k[1] ? row->k[1] : "unknown"),
						 .n = row->n[0] };
	if (r->lines[r->nlines++].eid == NULL)
		return run_nomem(e);
	c->nlines++;
	c->volume += row->n[0];
	return 0;
}

static int
run_cost_row(void *arg, const struct store_bill_row *row, struct err *e)
{
	struct run *r = arg;
	char amt[32];

	bill_amount_format(row->n[0], amt, sizeof(amt));
	r->pool += row->n[0];
	if (json_array_append_new(r->costs, json_pack("{s:s, s:s}", "item", row->k[0], "amount",
						      amt)) != 0)
		return run_nomem(e);
	return 0;
}

static int
run_cust_row(void *arg, const struct store_bill_row *row, struct err *e)
{
	struct run *r = arg;

	if (json_array_append_new(r->customers, json_pack("[sss]", row->k[0], row->k[1],
							  row->k[2])) != 0)
		return run_nomem(e);
	return 0;
}

static int
run_extra_row(void *arg, const struct store_bill_row *row, struct err *e)
{
	struct run *r = arg;

	if (json_array_append_new(r->extras, json_pack("[ssII]", row->k[0], row->k[1],
						       (json_int_t)row->n[0],
						       (json_int_t)row->n[1])) != 0)
		return run_nomem(e);
	return 0;
}

static void
run_clear(struct run *r)
{
	for (size_t i = 0; i < r->ncust; i++)
		free(r->cust[i].orgno);
	for (size_t i = 0; i < r->nlines; i++)
		free(r->lines[i].eid);
	free(r->cust);
	free(r->lines);
	json_decref(r->costs);
	json_decref(r->customers);
	json_decref(r->extras);
}

/* The registered customer orgno, or NULL. */
static const json_t *
run_customer(const struct run *r, const char *orgno)
{
	size_t i;
	const json_t *c;

	json_array_foreach(r->customers, i, c)
		if (strcmp(json_string_value(json_array_get(c, 0)), orgno) == 0)
			return c;
	return NULL;
}

static int
run_read(struct porten *app, int year, int64_t from, int64_t to, struct run *r, struct err *e)
{
	struct store *st = app->store;
	int rc;

	r->costs = json_array();
	r->customers = json_array();
	r->extras = json_array();
	if (r->costs == NULL || r->customers == NULL || r->extras == NULL)
		return run_nomem(e);
	rc = store_call(st, billing, bill_read, STORE_BILL_COSTS, year, 0, run_cost_row, r, e);
	if (rc == 0)
		rc = store_call(st, billing, bill_read, STORE_BILL_VOLUME, from, to, run_vol_row, r,
				e);
	if (rc == 0)
		rc = store_call(st, billing, bill_read, STORE_BILL_CUSTOMERS, 0, 0, run_cust_row, r,
				e);
	if (rc == 0)
		rc = store_call(st, billing, bill_read, STORE_BILL_EXTRAS, year, 0, run_extra_row, r,
				e);
	return rc;
}

/* spec §3: the pool shared among the customers at or over the threshold, then over their eIDs. */
static int
run_allocate(struct run *r, int64_t threshold, int64_t *paying_volume, struct err *e)
{
	struct bill_share *sh;
	size_t np = 0;
	int rc;

	*paying_volume = 0;
	sh = calloc(r->ncust + 1, sizeof(*sh));
	if (sh == NULL)
		return run_nomem(e);
	for (size_t i = 0; i < r->ncust; i++) {
		r->cust[i].pays = r->cust[i].volume >= threshold;
		sh[i].volume = r->cust[i].pays ? r->cust[i].volume : 0;
		*paying_volume += sh[i].volume;
		np += r->cust[i].pays;
	}
	/* Nobody over the threshold: nobody pays, and the pool stays uncovered. */
	rc = np == 0 ? 0 : bill_share(sh, r->ncust, r->pool, e);
	for (size_t i = 0; rc == 0 && np > 0 && i < r->ncust; i++) {
		struct run_cust *c = &r->cust[i];
		struct bill_share *ls;

		c->amount = sh[i].amount;
		if (!c->pays)
			continue;
		ls = calloc(c->nlines, sizeof(*ls));
		if (ls == NULL) {
			rc = run_nomem(e);
			break;
		}
		for (size_t k = 0; k < c->nlines; k++)
			ls[k].volume = r->lines[c->first + k].n;
		rc = bill_share(ls, c->nlines, c->amount, e);
		for (size_t k = 0; rc == 0 && k < c->nlines; k++)
			r->lines[c->first + k].amount = ls[k].amount;
		free(ls);
	}
	free(sh);
	return rc;
}

static const char *
eid_title(const char *eid)
{
	static const struct { const char *id, *title; } t[] = {
		{ "bankid", "BankID" }, { "buypass", "Buypass" }, { "commfides", "Commfides" },
		{ "minid", "MinID" }, { "eidas", "eIDAS" }, { "testid", "TestID" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(eid, t[i].id) == 0)
			return t[i].title;
	return eid;
}

/* Remove a directory this run made, with the files in it (no subdirectories). */
static void
run_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[BILL_PATH_MAX];

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) < (int)sizeof(p))
			unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

struct run_out {
	struct porten *app;
	const struct bill_run_opts *o;
	struct run *r;
	int64_t from, to;
	int64_t price;           /* p in millionths of a krone, for the summary */
	const char *dir;         /* the partial directory */
	json_t *invoices;        /* summary rows */
	json_t *missing;         /* customers not invoiced, and why */
	int written;
};

static int
run_invoice(struct run_out *w, const char *orgno, const struct run_cust *c, const json_t *cust,
	    struct err *e)
{
	const struct cfg *cfg = w->app->cfg;
	struct ehf_line *lines;
	size_t n = 0, i, cap = (c ? c->nlines : 0) + json_array_size(w->r->extras);
	struct ehf_invoice inv = { 0 };
	char id[64], note[128], path[BILL_PATH_MAX], vat_id[32], a[32], v[32], t[32];
	const json_t *x;
	int rc;

	lines = calloc(cap + 1, sizeof(*lines));
	if (lines == NULL)
		return run_nomem(e);
	char (*names)[96] = calloc(cap + 1, sizeof(*names));
	if (names == NULL) {
		free(lines);
		return run_nomem(e);
	}
	for (i = 0; c != NULL && c->pays && c->amount > 0 && i < c->nlines; i++, n++) {
		const struct run_line *l = &w->r->lines[c->first + i];

		snprintf(names[n], sizeof(names[n]), "Authentications, %s", eid_title(l->eid));
		/*
		 * The amount is the line's largest-remainder share (spec §3 step
		 * 4), within two øre of quantity x p; p rounded to six decimals
		 * times a large quantity misses it by kroner.  The price shown is
		 * the amount over the quantity, p to within two øre over the
		 * quantity, with the decimals PEPPOL-EN16931-R120 needs.
		 */
		lines[n] = (struct ehf_line){ .name = names[n], .quantity = l->n,
					      .amount = l->amount };
		lines[n].price = bill_line_price(l->amount, l->n, &lines[n].price_decimals);
		inv.line_total += l->amount;
	}
	json_array_foreach(w->r->extras, i, x) {
		int64_t q = json_integer_value(json_array_get(x, 2));
		int64_t u = json_integer_value(json_array_get(x, 3));

		if (strcmp(json_string_value(json_array_get(x, 0)), orgno) != 0)
			continue;
		lines[n] = (struct ehf_line){ .name = json_string_value(json_array_get(x, 1)),
					      .quantity = q, .price = u * 10000,
					      .price_decimals = 6, .amount = q * u };
		inv.line_total += q * u;
		n++;
	}
	snprintf(id, sizeof(id), "PORTEN-%d-%s", w->o->year, orgno);
	snprintf(note, sizeof(note), "Authentications in settlement year %d-%d", w->o->year - 1,
		 w->o->year);
	if (cfg->billing_seller_vat != NULL && cfg->billing_seller_vat[0] != '\0')
		snprintf(vat_id, sizeof(vat_id), "%.30s", cfg->billing_seller_vat);
	else
		snprintf(vat_id, sizeof(vat_id), "NO%sMVA", cfg->billing_seller_orgno);
	inv.id = id;
	inv.note = note;
	inv.issue_date = w->o->issue_date;
	inv.due_date = w->o->issue_date + cfg->billing_payment_days * 86400;
	inv.period_from = w->from + 2 * 3600;
	inv.period_to = w->to + 2 * 3600 - 86400;
	inv.seller_name = cfg->billing_seller_name;
	inv.seller_orgno = cfg->billing_seller_orgno;
	inv.seller_vat = vat_id;
	inv.seller_street = cfg->billing_seller_street;
	inv.seller_city = cfg->billing_seller_city;
	inv.seller_postcode = cfg->billing_seller_postcode;
	inv.seller_account = cfg->billing_seller_account;
	inv.buyer_orgno = orgno;
	inv.buyer_name = json_string_value(json_array_get(cust, 1));
	inv.buyer_reference = json_string_value(json_array_get(cust, 2));
	inv.lines = lines;
	inv.nlines = n;
	inv.vat = bill_vat(inv.line_total);
	snprintf(path, sizeof(path), "%.4000s/%.40s.xml", w->dir, orgno);
	rc = ehf_write(&inv, path, e);
	free(lines);
	free(names);
	if (rc != 0)
		return rc;
	bill_amount_format(inv.line_total, a, sizeof(a));
	bill_amount_format(inv.vat, v, sizeof(v));
	bill_amount_format(inv.line_total + inv.vat, t, sizeof(t));
	if (json_array_append_new(w->invoices,
				  json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "orgno", orgno,
					    "invoice", strrchr(path, '/') + 1, "authentications",
					    (json_int_t)(c ? c->volume : 0), "amount_excl_vat", a,
					    "vat", v, "amount_incl_vat", t)) != 0)
		return run_nomem(e);
	if (w->o->fail_after > 0 && ++w->written >= w->o->fail_after)
		return ERR(e, ERR_INTERNAL, 500, NULL, "run stopped after %d invoices (test)",
			   w->written);
	return 0;
}

/* Why orgno gets no invoice, or NULL when it gets one. */
static const char *
run_refusal(const char *orgno, const json_t *cust)
{
	if (!orgno_valid_c(orgno))
		return "the organisation number fails its check digit";
	if (cust == NULL)
		return "no invoice reference registered";
	return NULL;
}

static int
run_missing(struct run_out *w, const char *orgno, const char *why, struct err *e)
{
	if (json_array_append_new(w->missing, json_pack("{s:s, s:s}", "orgno", orgno, "reason",
							why)) != 0)
		return run_nomem(e);
	return 0;
}

/* Every invoice: paying customers by orgno, then customers with extra lines only. */
static int
run_write(struct run_out *w, struct err *e)
{
	struct run *r = w->r;
	const json_t *x;
	const char *prev = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < r->ncust; i++) {
		const struct run_cust *c = &r->cust[i];
		const json_t *cust = run_customer(r, c->orgno);
		const char *why = run_refusal(c->orgno, cust);
		bool extras = false;
		size_t k;

		json_array_foreach(r->extras, k, x)
			extras = extras || strcmp(json_string_value(json_array_get(x, 0)),
						  c->orgno) == 0;
		if (!(c->pays && c->amount > 0) && !extras)
			continue;
		rc = why != NULL ? run_missing(w, c->orgno, why, e)
				 : run_invoice(w, c->orgno, c, cust, e);
	}
	json_array_foreach(r->extras, i, x) {
		const char *orgno = json_string_value(json_array_get(x, 0));
		bool counted = false;

		if (rc != 0)
			break;
		if (prev != NULL && strcmp(prev, orgno) == 0)
			continue;
		prev = orgno;
		for (size_t k = 0; k < r->ncust; k++)
			counted = counted || strcmp(r->cust[k].orgno, orgno) == 0;
		if (counted)
			continue;
		{
			const json_t *cust = run_customer(r, orgno);
			const char *why = run_refusal(orgno, cust);

			rc = why != NULL ? run_missing(w, orgno, why, e)
					 : run_invoice(w, orgno, NULL, cust, e);
		}
	}
	return rc;
}

static json_t *
run_summary(const struct run_out *w, int64_t paying_volume, struct err *e)
{
	const struct run *r = w->r;
	char pool[32], pe[32], pi[32], f[16], t[16];
	int64_t total = 0, free_n = 0, free_c = 0, paying = 0;

	for (size_t i = 0; i < r->ncust; i++) {
		total += r->cust[i].volume;
		if (r->cust[i].pays) {
			paying++;
		} else {
			free_c++;
			free_n += r->cust[i].volume;
		}
	}
	bill_amount_format(r->pool, pool, sizeof(pool));
	bill_price_format(w->price, pe, sizeof(pe));
	bill_price_format(bill_price_vat(r->pool, paying_volume), pi, sizeof(pi));
	bill_date_format(w->from + 2 * 3600, f, sizeof(f));
	bill_date_format(w->to + 2 * 3600 - 86400, t, sizeof(t));
	return json_pack("{s:i, s:{s:s, s:s}, s:{s:I, s:I, s:I, s:i, s:O, s:s, s:I},"
			 " s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:O, s:O}",
			 "year", w->o->year, "period", "from", f, "to", t,
			 "inputs", "billable_authentications", (json_int_t)total,
			 "customers", (json_int_t)r->ncust, "threshold",
			 (json_int_t)w->app->cfg->billing_threshold, "vat_percent",
			 BILL_VAT_PERCENT, "costs", r->costs, "pool_excl_vat", pool,
			 "extra_lines", (json_int_t)json_array_size(r->extras),
			 "price_excl_vat", pe, "price_incl_vat", pi,
			 "paying_customers", (json_int_t)paying, "paying_authentications",
			 (json_int_t)paying_volume, "free_customers", (json_int_t)free_c,
			 "free_authentications", (json_int_t)free_n, "unassigned_authentications",
			 (json_int_t)r->unassigned, "invoices", w->invoices, "not_invoiced",
			 w->missing);
}

static int
run_check(const struct porten *app, const struct bill_run_opts *o, int64_t to, struct err *e)
{
	const struct cfg *c = app->cfg;
	const char *need[] = { c->billing_seller_name, c->billing_seller_orgno,
			       c->billing_seller_city, c->billing_seller_postcode,
			       c->billing_seller_account };
	struct stat sb;

	if (o->now < to)
		return ERR(e, ERR_INVAL, 400, NULL,
			   "settlement year %d runs until 30 September %d: run it after that",
			   o->year, o->year);
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (need[i] == NULL || need[i][0] == '\0')
			return ERR(e, ERR_INVAL, 400, NULL,
				   "the seller is not configured: billing_seller_name, _orgno, "
				   "_city, _postcode and _account are required");
	if (strlen(o->out_dir) == 0 || strlen(o->out_dir) > BILL_PATH_MAX - 64)
		return ERR(e, ERR_INVAL, 400, NULL, "--out: a directory name is required");
	if (stat(o->out_dir, &sb) == 0 || errno != ENOENT)
		return ERR(e, ERR_EXISTS, 400, NULL, "%s exists: a run writes a new directory",
			   o->out_dir);
	return 0;
}

int
bill_run(struct porten *app, const struct bill_run_opts *o, json_t **summary, struct err *e)
{
	struct run r = { 0 };
	struct run_out w = { .app = app, .o = o, .r = &r };
	char dir[BILL_PATH_MAX], path[BILL_PATH_MAX];
	int64_t paying_volume = 0;
	json_t *sum = NULL, *rec = NULL;
	bool made = false;
	int rc;

	*summary = NULL;
	rc = bill_year_bounds(o->year, &w.from, &w.to, e);
	if (rc == 0)
		rc = run_check(app, o, w.to, e);
	if (rc == 0)
		rc = run_read(app, o->year, w.from, w.to, &r, e);
	if (rc == 0)
		rc = run_allocate(&r, app->cfg->billing_threshold, &paying_volume, e);
	if (rc != 0)
		goto out;
	w.price = bill_price(r.pool, paying_volume);
	w.invoices = json_array();
	w.missing = json_array();
	if (w.invoices == NULL || w.missing == NULL) {
		rc = run_nomem(e);
		goto out;
	}
	/* A partial directory left by a run that died is not this run's output: start afresh. */
	snprintf(dir, sizeof(dir), "%.4000s.partial", o->out_dir);
	run_rmdir(dir);
	if (mkdir(dir, 0750) != 0) {
		rc = ERR(e, ERR_INTERNAL, 500, NULL, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	made = true;
	w.dir = dir;
	rc = run_write(&w, e);
	if (rc != 0)
		goto out;
	sum = run_summary(&w, paying_volume, e);
	snprintf(path, sizeof(path), "%.4000s/summary.json", dir);
	if (sum == NULL || json_dump_file(sum, path, JSON_INDENT(2)) != 0) {
		rc = ERR(e, ERR_INTERNAL, 500, NULL, "cannot write %s", path);
		goto out;
	}
	if (rename(dir, o->out_dir) != 0) {
		rc = ERR(e, ERR_INTERNAL, 500, NULL, "cannot rename %s: %s", dir, strerror(errno));
		goto out;
	}
	made = false;
	/* spec §3 step 5: the run's inputs and output, kept beside the events. */
	rec = json_pack("{s:s, s:O}", "out", o->out_dir, "summary", sum);
	rc = rec != NULL ? store_call(app->store, billing, run_put, o->year, rec, e) : run_nomem(e);
	if (rc != 0) {
		run_rmdir(o->out_dir);
		goto out;
	}
	*summary = sum;
	sum = NULL;
out:
	if (made)
		run_rmdir(dir);
	json_decref(rec);
	json_decref(sum);
	json_decref(w.invoices);
	json_decref(w.missing);
	run_clear(&r);
	return rc;
}
