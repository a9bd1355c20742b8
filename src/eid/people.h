/*
 * The person register (docs/people.md): which national identity numbers
 * are a person's unique identity, and which foreign identifiers are
 * registered on each person.  eIDAS logins are matched against it
 * (spec/ansattporten-eidas-testid.md §2.4); MinID asks it before issuing
 * a new MinID.  portenctl person import|show fills and reads it.
 */
#ifndef PORTEN_EID_PEOPLE_H
#define PORTEN_EID_PEOPLE_H

#include <stdbool.h>
#include <stdio.h>

#include "app/app.h"
#include "core/err.h"

struct cli;
struct http_req;

enum people_match { PEOPLE_MATCHED, PEOPLE_UNMATCHED, PEOPLE_AMBIGUOUS };

/*
 * Whether pid may stand in the register and be a login's pid here
 * (spec/national-id-numbers.md §4: never an H-number; synthetic numbers
 * in TEST only, real ones in PROD only; the 2032 series when switched on).
 */
bool people_pid_ok(const struct porten *app, const char *pid);
/* Is cc a country code as identifiers and PIDs write it: two upper-case letters? */
bool people_country_ok(struct str cc);

/*
 * Match the eIDAS identifier ident ("CC/NO/value", §2.3) of a login by eid:
 * *pid is the person's number (an arena string) when exactly one person
 * has value from CC registered (and the number is one people_pid_ok
 * takes; else the match counts as unmatched), else NULL, with *how saying
 * why.  The
 * result is recorded as an event "eidas_match".  ERR_INVAL when ident is
 * not of that form or not meant for Norway; ERR_UNAVAILABLE when the
 * store is away.
 */
int people_match_eidas(struct http_req *r, const char *eid, const char *ident, const char **pid,
		       enum people_match *how, struct err *e);

/*
 * Whether pid is the person's unique identity: true when the register
 * says so or does not know the number.  ERR_UNAVAILABLE when the store is
 * away.
 */
int people_unique(struct porten *app, const char *pid, bool *unique, struct err *e);

/* portenctl person import FILE | person show PID (people_cmd.c). */
int people_cmd(struct cli *c, int argc, char **argv);
void people_cmd_usage(FILE *f);

#endif
