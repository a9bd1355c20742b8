/* The services of portend and portenctl (services.c). */
#ifndef PORTEN_SERVICES_H
#define PORTEN_SERVICES_H

#include "app/service.h"

/* NULL-terminated, in start-up order: init runs down the list, close up it. */
extern const struct porten_service *const porten_services[];

#endif
