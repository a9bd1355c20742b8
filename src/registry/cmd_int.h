/*
 * portenctl's registry commands (registry/service.c lists them): argv[0]
 * is the subcommand; each returns a CLI_* status (app/cli.h).
 */
#ifndef PORTEN_REGISTRY_CMD_INT_H
#define PORTEN_REGISTRY_CMD_INT_H

#include <stdio.h>

#include "app/cli.h"

/* `portenctl client ...` (cmd_client.c). */
int reg_cmd_client(struct cli *c, int argc, char **argv);
void reg_cmd_client_usage(FILE *f);

/* `portenctl keys list|rotate` (cmd_keys.c). */
int reg_cmd_keys(struct cli *c, int argc, char **argv);
void reg_cmd_keys_usage(FILE *f);
/* `portenctl kek rotate` (cmd_kek.c). */
int reg_cmd_kek(struct cli *c, int argc, char **argv);
void reg_cmd_kek_usage(FILE *f);

/* `portenctl scope create|update|list|show`, and grant|revoke|access (cmd_scope.c). */
int reg_cmd_scope(struct cli *c, int argc, char **argv);
void reg_cmd_scope_usage(FILE *f);

/* `portenctl scope grant|revoke|access`: who may use a scope (cmd_access.c). */
int reg_cmd_access(struct cli *c, int argc, char **argv);
/* portenctl audit ... (cmd_audit.c) */
int reg_cmd_audit(struct cli *c, int argc, char **argv);
void reg_cmd_audit_usage(FILE *f);
void reg_cmd_access_usage(FILE *f);

#endif
