/* Iterating a list of services (app/service.h); the list is src/services.c. */
#include "app/service.h"

#include <stdlib.h>
#include <string.h>

struct service_routes {
	struct http_route *v;    /* always one spare slot: the fn == NULL end */
	size_t n, cap;
	const struct issuer *is; /* NULL: paths as given */
};

int
service_cfg_load(struct cfg *c, const struct porten_service *const *list, const char *path,
		 struct err *e)
{
	const struct cfg_section *sections[CFG_MAX_SECTIONS + 1];
	size_t n = 0;

	for (size_t i = 0; list[i] != NULL; i++) {
		if (list[i]->cfg == NULL)
			continue;
		if (n + 1 >= sizeof(sections) / sizeof(sections[0])) {
			memset(c, 0, sizeof(*c));
			return ERR(e, ERR_INTERNAL, 0, NULL, "too many configuration sections");
		}
		sections[n++] = list[i]->cfg;
	}
	sections[n] = NULL;
	return cfg_load(c, path, sections, e);
}

int
service_check_all(const struct porten_service *const *list, const struct cfg *c, struct err *e)
{
	for (size_t i = 0; list[i] != NULL; i++) {
		int rc = list[i]->check != NULL ? list[i]->check(c, e) : 0;

		if (rc != 0)
			return rc;
	}
	return 0;
}

int
service_init_all(const struct porten_service *const *list, struct porten *app, struct err *e)
{
	for (size_t i = 0; list[i] != NULL; i++) {
		int rc = list[i]->init != NULL ? list[i]->init(app, e) : 0;

		if (rc == 0)
			continue;
		for (size_t k = i + 1; k-- > 0;)
			if (list[k]->close != NULL)
				list[k]->close(app);
		return rc;
	}
	return 0;
}

void
service_tick_all(const struct porten_service *const *list, struct porten *app)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (list[i]->tick != NULL)
			list[i]->tick(app);
}

void
service_contact_changed(struct porten *app, const struct service_contact *c)
{
	const struct porten_service *const *list = app->services;

	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		if (list[i]->contact_changed != NULL && strcmp(list[i]->name, c->origin) != 0)
			list[i]->contact_changed(app, c);
}

void
service_close_all(const struct porten_service *const *list, struct porten *app)
{
	size_t n = 0;

	while (list[n] != NULL)
		n++;
	while (n-- > 0)
		if (list[n]->close != NULL)
			list[n]->close(app);
}

int
service_route_add(struct service_routes *out, const char *method, const char *path,
		  http_handler_fn fn, struct err *e)
{
	const char *prefix = out->is != NULL ? out->is->prefix : "";
	size_t len = strlen(prefix) + strlen(path) + 1;
	char *p;

	if (out->n + 2 > out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 64;
		struct http_route *v = realloc(out->v, cap * sizeof(*v));

		if (v == NULL)
			return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
		out->v = v;
		out->cap = cap;
		out->v[out->n] = (struct http_route){ 0 };
	}
	p = malloc(len);
	if (p == NULL)
		return ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	memcpy(p, prefix, strlen(prefix));
	memcpy(p + strlen(prefix), path, strlen(path) + 1);
	out->v[out->n] = (struct http_route){ method, NULL, fn, (void *)out->is };
	out->v[out->n++].path = p; /* the table owns it: service_routes_free */
	out->v[out->n] = (struct http_route){ 0 };
	return 0;
}

bool
service_step_repeated(const struct porten_service *const *list, size_t k, size_t j)
{
	const struct login_step *st = list[k]->steps[j];

	for (size_t i = 0; i <= k; i++)
		for (size_t m = 0; list[i]->steps != NULL && list[i]->steps[m] != NULL; m++) {
			if (i == k && m == j)
				return false;
			if (list[i]->steps[m] == st)
				return true;
		}
	return false;
}

const struct login_step *
service_step_next(const struct porten_service *const *list, struct service_step_iter *it)
{
	for (; list != NULL && list[it->k] != NULL; it->k++, it->j = 0)
		while (list[it->k]->steps != NULL && list[it->k]->steps[it->j] != NULL) {
			size_t j = it->j++;

			if (!service_step_repeated(list, it->k, j))
				return list[it->k]->steps[j];
		}
	return NULL;
}

/* Add the pages of the service's steps that run under out->is. */
static int
steps_routes_add(const struct porten_service *const *list, size_t k, struct service_routes *out,
		 struct err *e)
{
	const struct login_step *const *steps = list[k]->steps;
	int rc = 0;

	for (size_t j = 0; steps != NULL && steps[j] != NULL && rc == 0; j++) {
		const struct login_step *st = steps[j];

		if ((st->issuer_kinds & SERVICE_ISSUER(out->is->kind)) == 0 ||
		    service_step_repeated(list, k, j))
			continue;
		for (const struct http_route *r = st->routes; r && r->fn && rc == 0; r++)
			rc = service_route_add(out, r->method, r->path, r->fn, e);
	}
	return rc;
}

struct http_route *
service_routes_build(const struct porten_service *const *list, struct porten *app,
		     const struct http_route *head, struct err *e)
{
	struct service_routes out = { 0 };
	int rc = 0;

	for (const struct http_route *h = head; h != NULL && h->fn != NULL && rc == 0; h++) {
		rc = service_route_add(&out, h->method, h->path, h->fn, e);
		if (rc == 0)
			out.v[out.n - 1].data = h->data;
	}
	for (int i = 0; i < app->nissuers && rc == 0; i++) {
		const struct issuer *is = &app->issuers[i];

		/* Each issuer answers only its own routes under its own prefix. */
		out.is = is;
		for (size_t k = 0; list[k] != NULL && rc == 0; k++) {
			const struct porten_service *s = list[k];

			bool serves = (s->issuer_kinds & SERVICE_ISSUER(is->kind)) != 0;

			for (const struct service_route *r = s->routes; serves && r && r->fn && rc == 0;
			     r++)
				rc = service_route_add(&out, r->method, r->path, r->fn, e);
			/* a step's pages go where the step runs */
			if (rc == 0)
				rc = steps_routes_add(list, k, &out, e);
			if (rc == 0 && serves && s->mount != NULL)
				rc = s->mount(is, &out, e);
		}
	}
	if (rc == 0 && out.v == NULL && (out.v = calloc(1, sizeof(*out.v))) == NULL)
		rc = ERR(e, ERR_NOMEM, 0, NULL, "out of memory");
	if (rc != 0) {
		service_routes_free(out.v);
		return NULL;
	}
	return out.v;
}

/* The side the services give path under issuer is (a route's data), or ANY. */
static enum http_side
route_side(const struct porten_service *const *list, const struct issuer *is, const char *path)
{
	size_t pl = strlen(is->prefix);

	if (strncmp(path, is->prefix, pl) != 0)
		return HTTP_SIDE_ANY;
	for (size_t k = 0; list[k] != NULL; k++) {
		if ((list[k]->issuer_kinds & SERVICE_ISSUER(is->kind)) == 0)
			continue;
		for (const struct service_side *sd = list[k]->sides; sd && sd->path; sd++)
			if (strcmp(sd->path, path + pl) == 0)
				return sd->side;
	}
	return HTTP_SIDE_ANY;
}

enum http_side *
service_routes_sides(const struct porten_service *const *list, const struct http_route *head,
		     const struct http_route *routes)
{
	size_t n = 0, first = 0;
	enum http_side *v;

	while (head != NULL && head[first].fn != NULL)
		first++;
	while (routes[n].fn != NULL)
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	/* The head's routes are on both hosts; each service route's data is its issuer. */
	for (size_t i = first; i < n; i++)
		v[i] = route_side(list, routes[i].data, routes[i].path);
	return v;
}

void
service_routes_free(struct http_route *routes)
{
	if (routes == NULL)
		return;
	for (size_t i = 0; routes[i].fn != NULL; i++)
		free((char *)routes[i].path);
	free(routes);
}

const struct cli_command *
service_command(const struct porten_service *const *list, const char *name)
{
	for (size_t i = 0; list[i] != NULL; i++)
		for (const struct cli_command *c = list[i]->commands; c && c->name; c++)
			if (strcmp(c->name, name) == 0)
				return c;
	return NULL;
}
