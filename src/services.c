/*
 * The one list of services (app/service.h, docs/internals.md "Service").
 * A new service is a folder under src/ and one line here.  The order is
 * start-up order, the order of the routes under an issuer, and the order
 * of the commands in `portenctl --help`.
 */
#include "services.h"

#include "admin/admin.h"
#include "billing/billing.h"
#include "eid/eid.h"
#include "krr/krr.h"
#include "login/login.h"
#include "maskinporten/mp.h"
#include "oauth/oauth.h"
#include "registry/registry.h"
#include "repr/repr.h"
#include "saml/saml.h"

const struct porten_service *const porten_services[] = {
	&registry_service,
	&login_service,
	&oauth_service,
	&mp_service,
	&eid_service,
	&billing_service,
	&saml_service,
	&krr_service,
	&admin_service,
	&repr_service,
	NULL,
};
