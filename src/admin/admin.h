/*
 * The self-service API (spec/selfservice-api.md): organisations manage
 * their own clients and keys over REST, authenticated by Maskinporten
 * access tokens.  The rules are the registry's (registry/registry.h), the
 * same functions portenctl calls; this folder is the HTTP face only.
 */
#ifndef PORTEN_ADMIN_ADMIN_H
#define PORTEN_ADMIN_ADMIN_H

/* The service (admin/service.c): listed in src/services.c. */
struct porten_service;
extern const struct porten_service admin_service;

#endif
