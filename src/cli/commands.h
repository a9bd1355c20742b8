/* The portenctl commands in src/cli/ besides portenctl.c. */
#ifndef PORTEN_CLI_COMMANDS_H
#define PORTEN_CLI_COMMANDS_H

#include <stdio.h>

#include "app/cli.h"

/* `portenctl client ...` (cli_client.c); argv[0] is the subcommand. */
int cli_client(struct cli *c, int argc, char **argv);
void cli_client_usage(FILE *f);

/* `portenctl scope grant|revoke|access` and `portenctl delegation ...` (cli_mp.c). */
int cli_mp_scope(struct cli *c, int argc, char **argv);
int cli_delegation(struct cli *c, int argc, char **argv);
void cli_mp_usage(FILE *f);

#endif
