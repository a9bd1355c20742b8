/*
 * Representation (docs/representation.md): a person logs in for an
 * organisation at Ansattporten (spec/ansattporten-eidas-testid.md §1) or
 * on behalf of another person at ID-porten (spec/idporten-oidc.md §21).
 * Steps after the eID on the login core's seam (login/login.h), the
 * authorization_details types they take, the registers the rights come
 * from, and `portenctl repr` for the local register.
 */
#ifndef PORTEN_REPR_REPR_H
#define PORTEN_REPR_REPR_H

struct porten_service;
extern const struct porten_service repr_service;

#endif
