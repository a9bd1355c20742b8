/*
 * Representation as a service (app/service.h): its settings, its two
 * steps on the login core's seam, and `portenctl repr`.
 */
#include "repr/repr.h"

#include "app/cli.h"
#include "repr/repr_int.h"

static const struct cfg_row repr_rows[] = {
	/* the register's base URL (reg_http.c); empty: the local register in the store */
	CFG_ROW("repr_register_url", CFG_STR, repr_register_url, NULL, 0, 0),
	CFG_ROW("repr_register_timeout", CFG_INT, repr_register_timeout, "5", 1, 60),
	/* spec/ansattporten-eidas-testid.md §1.4: the pilot's scope opens the chooser */
	CFG_ROW("ansattporten_sjef_pilot", CFG_BOOL, ansattporten_sjef_pilot, "false", 0, 0),
};

static const struct cfg_section repr_cfg = {
	"repr", repr_rows, sizeof(repr_rows) / sizeof(repr_rows[0]), NULL,
};

static const struct login_step *const repr_steps[] = {
	&repr_org_step,
	&repr_fullmakt_step,
	NULL,
};

static const struct cli_command repr_commands[] = {
	{ "repr", repr_cmd, repr_cmd_usage },
	{ NULL, NULL, NULL },
};

const struct porten_service repr_service = {
	.name = "repr",
	.cfg = &repr_cfg,
	.steps = repr_steps,
	.commands = repr_commands,
};
