/*
 * portenctl stats plot (spec/billing.md §5): a PNG bar chart of the
 * monthly volume of a settlement year, eID logins with SSO logins stacked
 * on them, drawn with libgd.
 */
#include <fcntl.h>
#include <gd.h>
#include <gdfonts.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "billing/billing_int.h"

#define PLOT_W 880
#define PLOT_H 420
#define PLOT_LEFT 90
#define PLOT_RIGHT 20
#define PLOT_TOP 40
#define PLOT_BOTTOM 50

struct plot_months {
	int first_year;          /* calendar year of the first month (October) */
	int64_t eid[12], sso[12];
};

/* AUTH rows: month (YYYY-MM) first; add each into its month of the settlement year. */
static int
plot_row(void *arg, const struct store_bill_row *row, struct err *e)
{
	struct plot_months *m = arg;
	long long y = 0, mo = 0;
	int i;

	(void)e;
	if (row->k[0] == NULL || strlen(row->k[0]) != 7 ||
	    str_to_ll((struct str){ row->k[0], 4 }, 1970, 3000, &y) != 0 ||
	    str_to_ll((struct str){ row->k[0] + 5, 2 }, 1, 12, &mo) != 0)
		return 0;
	i = (int)((y - m->first_year) * 12 + mo - 10);
	/* months are UTC: the first two hours of October fall in September before */
	if (i < 0 || i >= 12)
		return 0;
	m->eid[i] += row->n[0];
	m->sso[i] += row->n[1];
	return 0;
}

static void
plot_text(gdImagePtr im, int x, int y, const char *s, int color)
{
	gdImageString(im, gdFontGetSmall(), x, y, (unsigned char *)s, color);
}

static void
plot_draw(gdImagePtr im, const struct plot_months *m, int year)
{
	static const char *const names[12] = { "Oct", "Nov", "Dec", "Jan", "Feb", "Mar",
					       "Apr", "May", "Jun", "Jul", "Aug", "Sep" };
	int white = gdImageColorAllocate(im, 255, 255, 255);
	int ink = gdImageColorAllocate(im, 30, 30, 30);
	int grid = gdImageColorAllocate(im, 220, 220, 220);
	int c_eid = gdImageColorAllocate(im, 0, 80, 158);
	int c_sso = gdImageColorAllocate(im, 140, 180, 220);
	int64_t max = 1;
	int pw = PLOT_W - PLOT_LEFT - PLOT_RIGHT, ph = PLOT_H - PLOT_TOP - PLOT_BOTTOM;
	char s[64];

	gdImageFilledRectangle(im, 0, 0, PLOT_W - 1, PLOT_H - 1, white);
	for (int i = 0; i < 12; i++)
		if (m->eid[i] + m->sso[i] > max)
			max = m->eid[i] + m->sso[i];
	snprintf(s, sizeof(s), "Authentications per month, settlement year %d-%d", year - 1, year);
	plot_text(im, PLOT_LEFT, 12, s, ink);
	for (int k = 0; k <= 4; k++) {
		int y = PLOT_TOP + ph - ph * k / 4;

		gdImageLine(im, PLOT_LEFT, y, PLOT_LEFT + pw, y, grid);
		snprintf(s, sizeof(s), "%lld", (long long)(max * k / 4));
		plot_text(im, 8, y - 6, s, ink);
	}
	for (int i = 0; i < 12; i++) {
		int x0 = PLOT_LEFT + pw * i / 12 + 8, x1 = PLOT_LEFT + pw * (i + 1) / 12 - 8;
		int base = PLOT_TOP + ph;
		int he = (int)((__int128)m->eid[i] * ph / max);
		int hs = (int)((__int128)m->sso[i] * ph / max);

		if (he > 0)
			gdImageFilledRectangle(im, x0, base - he, x1, base - 1, c_eid);
		if (hs > 0)
			gdImageFilledRectangle(im, x0, base - he - hs, x1, base - he - 1, c_sso);
		plot_text(im, x0 + 4, base + 6, names[i], ink);
	}
	gdImageLine(im, PLOT_LEFT, PLOT_TOP + ph, PLOT_LEFT + pw, PLOT_TOP + ph, ink);
	gdImageFilledRectangle(im, PLOT_LEFT, PLOT_H - 22, PLOT_LEFT + 10, PLOT_H - 12, c_eid);
	plot_text(im, PLOT_LEFT + 16, PLOT_H - 24, "eID logins", ink);
	gdImageFilledRectangle(im, PLOT_LEFT + 120, PLOT_H - 22, PLOT_LEFT + 130, PLOT_H - 12, c_sso);
	plot_text(im, PLOT_LEFT + 136, PLOT_H - 24, "SSO logins", ink);
}

int
bill_plot(struct store *st, int year, const char *path, struct err *e)
{
	struct plot_months m = { .first_year = year - 1 };
	int64_t from, to;
	gdImagePtr im = NULL;
	void *png = NULL;
	int size = 0, fd = -1, rc;

	rc = bill_year_bounds(year, &from, &to, e);
	if (rc == 0)
		rc = store_call(st, billing, bill_read, STORE_BILL_AUTH, from, to, plot_row, &m, e);
	if (rc != 0)
		return rc;
	im = gdImageCreate(PLOT_W, PLOT_H);
	if (im == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	plot_draw(im, &m, year);
	png = gdImagePngPtr(im, &size);
	if (png == NULL || size <= 0) {
		rc = ERR(e, ERR_INTERNAL, 500, NULL, "cannot make the PNG");
		goto out;
	}
	/* a new file only: never through a link, never over another file */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = ERR(e, ERR_EXISTS, 400, NULL, "cannot create %s: it exists or is not writable",
			 path);
		goto out;
	}
	if (write(fd, png, (size_t)size) != size) {
		rc = ERR(e, ERR_INTERNAL, 500, NULL, "cannot write %s", path);
		unlink(path);
	}
	close(fd);
out:
	gdFree(png);
	gdImageDestroy(im);
	return rc;
}
