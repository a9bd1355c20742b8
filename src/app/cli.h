/* What the commands of portenctl share (app/cli.c). */
#ifndef PORTEN_APP_CLI_H
#define PORTEN_APP_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "app/app.h"
#include "app/service.h"
#include "core/err.h"

/* Exit statuses: usage or validation problems, and store (or system) failures. */
enum {
	CLI_OK = 0,
	CLI_USAGE = 1,
	CLI_STORE = 2,
};

struct cli {
	struct cfg cfg;
	struct porten app;
	bool json;      /* --json: machine-readable output */
	FILE *out;      /* the real standard output (logs go to stderr) */
	const char *config_path; /* -c FILE, else $PORTEN_CONFIG; NULL: defaults */
	/* the services whose configuration rows cli_open reads (src/services.c) */
	const struct porten_service *const *services;
	bool opened;    /* cli_open() succeeded: cli_close() has work */
};

/*
 * Load the configuration (c->config_path, then PORTEN_* variables) and
 * open the store as portend does.  Returns a CLI_* status.
 */
int cli_open(struct cli *c);
/* Close what cli_open() opened (the store, the configuration); nothing if it did not. */
void cli_close(struct cli *c);
/* Print "portenctl: <msg>" on stderr and return the exit status for rc. */
int cli_fail(int rc, const struct err *e);
/* Print a usage error on stderr; returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Read a JSON file of at most 64 KiB; *out a new reference. */
int cli_read_json(const char *path, json_t **out, struct err *e);
/* Print a JSON value on c->out, indented. */
void cli_print_json(struct cli *c, const json_t *v);
/* Print an object's fields as "name: value" lines in the given order, then the rest. */
void cli_print_fields(struct cli *c, const json_t *obj, const char *const *order);
/*
 * Print a result: with --json the value (or {"ok": true} when obj is
 * NULL), else its fields, else the line `done`.
 */
void cli_print_result(struct cli *c, const json_t *obj, const char *done);

#endif
