/*
 * portenctl stats plot (spec/billing.md §5): a PNG bar chart of the
 * monthly volume of a settlement year, eID logins with SSO logins stacked
 * on them, drawn with libgd.
 *
 * libgd is opened when a chart is drawn, not linked. portend links every
 * service's commands with its routes, and a linked libgd would bring its
 * forty-odd image codec libraries (HEIF, AV1, TIFF, X11, ...) into the
 * server at every start: 6 MiB resident, and code that parses pictures
 * mapped in a process that answers the internet, for a chart that only
 * portenctl ever draws.
 */
#include <dlfcn.h>
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
/* Debian 12's libgd3; the header is the -dev package's of the same version. */
#define PLOT_GD_SONAME "libgd.so.3"

/* The libgd calls the chart makes, looked up when it is drawn. */
struct plot_gd {
	void *lib;
	gdImagePtr (*create)(int, int);
	void (*destroy)(gdImagePtr);
	int (*color)(gdImagePtr, int, int, int);
	void (*rect)(gdImagePtr, int, int, int, int, int);
	void (*line)(gdImagePtr, int, int, int, int, int);
	void (*string)(gdImagePtr, gdFontPtr, int, int, unsigned char *, int);
	gdFontPtr (*font_small)(void);
	void *(*png)(gdImagePtr, int *);
	void (*free)(void *);
};

/* Each pointer has the type of the function gd.h declares (unevaluated: no link). */
#define PLOT_GD_TYPE(field, fn) \
	_Static_assert(__builtin_types_compatible_p(__typeof__(((struct plot_gd *)0)->field), \
						    __typeof__(&(fn))), \
		       #fn " is not what gd.h declares")
PLOT_GD_TYPE(create, gdImageCreate);
PLOT_GD_TYPE(destroy, gdImageDestroy);
PLOT_GD_TYPE(color, gdImageColorAllocate);
PLOT_GD_TYPE(rect, gdImageFilledRectangle);
PLOT_GD_TYPE(line, gdImageLine);
PLOT_GD_TYPE(string, gdImageString);
PLOT_GD_TYPE(font_small, gdFontGetSmall);
PLOT_GD_TYPE(png, gdImagePngPtr);
PLOT_GD_TYPE(free, gdFree);

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

/*
 * One symbol into *fn (a function pointer cannot be assigned from void * in
 * ISO C), or an error that names the missing function.
 */
static int
plot_sym(void *lib, const char *name, void *fn, size_t size, struct err *e)
{
	void *p = dlsym(lib, name);

	if (p == NULL)
		return ERR(e, ERR_INTERNAL, 500, NULL, "%s lacks %s, which the chart needs",
			   PLOT_GD_SONAME, name);
	memcpy(fn, &p, size);
	return 0;
}

#define PLOT_SYM(g, field, name, e) \
	plot_sym((g)->lib, (name), &(g)->field, sizeof((g)->field), (e))

static int
plot_gd_open(struct plot_gd *g, struct err *e)
{
	g->lib = dlopen(PLOT_GD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (g->lib == NULL)
		return ERR(e, ERR_INTERNAL, 500, NULL, "cannot load %s to draw the chart: %s",
			   PLOT_GD_SONAME, dlerror());
	if (PLOT_SYM(g, create, "gdImageCreate", e) != 0 ||
	    PLOT_SYM(g, destroy, "gdImageDestroy", e) != 0 ||
	    PLOT_SYM(g, color, "gdImageColorAllocate", e) != 0 ||
	    PLOT_SYM(g, rect, "gdImageFilledRectangle", e) != 0 ||
	    PLOT_SYM(g, line, "gdImageLine", e) != 0 ||
	    PLOT_SYM(g, string, "gdImageString", e) != 0 ||
	    PLOT_SYM(g, font_small, "gdFontGetSmall", e) != 0 ||
	    PLOT_SYM(g, png, "gdImagePngPtr", e) != 0 || PLOT_SYM(g, free, "gdFree", e) != 0) {
		dlclose(g->lib);
		g->lib = NULL;
		return ERR_INTERNAL;
	}
	return 0;
}

static void
plot_text(const struct plot_gd *g, gdImagePtr im, int x, int y, const char *s, int color)
{
	g->string(im, g->font_small(), x, y, (unsigned char *)s, color);
}

static void
plot_draw(const struct plot_gd *g, gdImagePtr im, const struct plot_months *m, int year)
{
	static const char *const names[12] = { "Oct", "Nov", "Dec", "Jan", "Feb", "Mar",
					       "Apr", "May", "Jun", "Jul", "Aug", "Sep" };
	int white = g->color(im, 255, 255, 255);
	int ink = g->color(im, 30, 30, 30);
	int grid = g->color(im, 220, 220, 220);
	int c_eid = g->color(im, 0, 80, 158);
	int c_sso = g->color(im, 140, 180, 220);
	int64_t max = 1;
	int pw = PLOT_W - PLOT_LEFT - PLOT_RIGHT, ph = PLOT_H - PLOT_TOP - PLOT_BOTTOM;
	char s[64];

	g->rect(im, 0, 0, PLOT_W - 1, PLOT_H - 1, white);
	for (int i = 0; i < 12; i++)
		if (m->eid[i] + m->sso[i] > max)
			max = m->eid[i] + m->sso[i];
	snprintf(s, sizeof(s), "Authentications per month, settlement year %d-%d", year - 1, year);
	plot_text(g, im, PLOT_LEFT, 12, s, ink);
	for (int k = 0; k <= 4; k++) {
		int y = PLOT_TOP + ph - ph * k / 4;

		g->line(im, PLOT_LEFT, y, PLOT_LEFT + pw, y, grid);
		snprintf(s, sizeof(s), "%lld", (long long)(max * k / 4));
		plot_text(g, im, 8, y - 6, s, ink);
	}
	for (int i = 0; i < 12; i++) {
		int x0 = PLOT_LEFT + pw * i / 12 + 8, x1 = PLOT_LEFT + pw * (i + 1) / 12 - 8;
		int base = PLOT_TOP + ph;
		int he = (int)((__int128)m->eid[i] * ph / max);
		int hs = (int)((__int128)m->sso[i] * ph / max);

		if (he > 0)
			g->rect(im, x0, base - he, x1, base - 1, c_eid);
		if (hs > 0)
			g->rect(im, x0, base - he - hs, x1, base - he - 1, c_sso);
		plot_text(g, im, x0 + 4, base + 6, names[i], ink);
	}
	g->line(im, PLOT_LEFT, PLOT_TOP + ph, PLOT_LEFT + pw, PLOT_TOP + ph, ink);
	g->rect(im, PLOT_LEFT, PLOT_H - 22, PLOT_LEFT + 10, PLOT_H - 12, c_eid);
	plot_text(g, im, PLOT_LEFT + 16, PLOT_H - 24, "eID logins", ink);
	g->rect(im, PLOT_LEFT + 120, PLOT_H - 22, PLOT_LEFT + 130, PLOT_H - 12, c_sso);
	plot_text(g, im, PLOT_LEFT + 136, PLOT_H - 24, "SSO logins", ink);
}

int
bill_plot(struct store *st, int year, const char *path, struct err *e)
{
	struct plot_months m = { .first_year = year - 1 };
	struct plot_gd g = { 0 };
	int64_t from, to;
	gdImagePtr im = NULL;
	void *png = NULL;
	int size = 0, fd = -1, rc;

	rc = bill_year_bounds(year, &from, &to, e);
	if (rc == 0)
		rc = store_call(st, billing, bill_read, STORE_BILL_AUTH, from, to, plot_row, &m, e);
	if (rc == 0)
		rc = plot_gd_open(&g, e);
	if (rc != 0)
		return rc;
	im = g.create(PLOT_W, PLOT_H);
	if (im == NULL) {
		rc = ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
		goto out;
	}
	plot_draw(&g, im, &m, year);
	png = g.png(im, &size);
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
	if (png != NULL)
		g.free(png);
	if (im != NULL)
		g.destroy(im);
	dlclose(g.lib);
	return rc;
}
