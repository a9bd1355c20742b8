/*
 * The QR code of the cross-device flow (spec/eudi-wallet.md §4.2), made by
 * libqrencode and drawn as inline SVG, so the page needs no script and no
 * second request.
 */
#include <qrencode.h>

#include "core/buf.h"
#include "eid/wallet/wallet_int.h"

#define QR_QUIET 4 /* ISO/IEC 18004: four modules of quiet zone */

char *
wallet_qr_svg(struct arena *a, const char *text, const char *label)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	struct buf b;
	char *out;
	int n;

	if (q == NULL)
		return NULL;
	n = q->width + 2 * QR_QUIET;
	buf_init(&b, 1 << 20);
	buf_printf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		       "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\" role=\"img\" "
		       "aria-label=\"",
		   n, n, n * 6, n * 6);
	/* The image's text alternative (WCAG 1.1.1). */
	buf_html(&b, str_c(label));
	buf_printf(&b, "\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
		   n, n);
	for (int y = 0; y < q->width; y++)
		for (int x = 0; x < q->width; x++)
			if (q->data[y * q->width + x] & 1)
				buf_printf(&b, "M%d %dh1v1h-1z", x + QR_QUIET, y + QR_QUIET);
	buf_puts(&b, "\"/></svg>");
	QRcode_free(q);
	out = arena_strndup(a, b.p, b.len);
	buf_free(&b);
	return out;
}
