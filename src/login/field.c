/*
 * The field readers and writers of the login core's stored documents
 * (login/field.h).
 */
#include "login/field.h"

int
field_str(const json_t *doc, const char *what, const char *key, struct arena *arena,
	  const char **out, struct err *e)
{
	const json_t *v = json_object_get(doc, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return ERR(e, ERR_INVAL, 500, NULL, "%s: %s is not a string", what, key);
	*out = arena_strndup(arena, json_string_value(v), json_string_length(v));
	return *out ? 0 : ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
}

int
field_flag(const json_t *doc, const char *what, const char *key, bool *out, struct err *e)
{
	const json_t *v = json_object_get(doc, key);

	*out = false;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return ERR(e, ERR_INVAL, 500, NULL, "%s: %s is not a flag", what, key);
	*out = json_is_true(v);
	return 0;
}

int
field_int(const json_t *doc, const char *what, const char *key, int64_t absent, int64_t *out,
	  struct err *e)
{
	const json_t *v = json_object_get(doc, key);

	*out = absent;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return ERR(e, ERR_INVAL, 500, NULL, "%s: %s is not an integer", what, key);
	*out = json_integer_value(v);
	return 0;
}

int
field_strs(const json_t *doc, const char *what, const char *key, struct arena *arena,
	   const char *const **out, size_t *n, struct err *e)
{
	const json_t *v = json_object_get(doc, key);
	const char **list;

	*out = NULL;
	*n = 0;
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return ERR(e, ERR_INVAL, 500, NULL, "%s: %s is not a list", what, key);
	list = arena_alloc(arena, (json_array_size(v) + 1) * sizeof(*list));
	if (list == NULL)
		return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *s = json_array_get(v, i);

		if (!json_is_string(s))
			return ERR(e, ERR_INVAL, 500, NULL, "%s: %s holds a non-string", what, key);
		list[i] = arena_strndup(arena, json_string_value(s), json_string_length(s));
		if (list[i] == NULL)
			return ERR(e, ERR_NOMEM, 500, NULL, "out of memory");
	}
	*out = list;
	*n = json_array_size(v);
	return 0;
}
