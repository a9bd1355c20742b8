/*
 * For the codec tests of the login core's records (test_areq.c,
 * test_session.c), on a record codec decode(doc, arena, rec, e) and
 * encode(rec).
 */
#ifndef PORTEN_TEST_LOGIN_CODEC_H
#define PORTEN_TEST_LOGIN_CODEC_H

/* Decode text, encode again: the stored text back (exact) or the same document. */
#define ASSERT_ROUND_TRIP(text, exact, decode, encode, rec, arena)                            \
	do {                                                                                  \
		json_t *doc_ = json_loads((text), 0, NULL), *again_;                          \
		struct err e_ = { 0 };                                                        \
                                                                                              \
		assert_non_null(doc_);                                                        \
		assert_int_equal(decode(doc_, (arena), (rec), &e_), 0);                       \
		again_ = encode(rec);                                                         \
		assert_non_null(again_);                                                      \
		assert_true(json_equal(doc_, again_));                                        \
		if (exact) {                                                                  \
			char *dump_ = json_dumps(again_, JSON_COMPACT | JSON_ENCODE_ANY);     \
                                                                                              \
			assert_string_equal(dump_, (text));                                   \
			free(dump_);                                                          \
		}                                                                             \
		json_decref(again_);                                                          \
		json_decref(doc_);                                                            \
	} while (0)

/* Every document of bad (an array of JSON texts) is refused, with a message. */
#define ASSERT_ALL_REFUSED(bad, decode, rec)                                                  \
	do {                                                                                  \
		struct arena *arena_ = arena_new();                                           \
                                                                                              \
		for (size_t i_ = 0; i_ < sizeof(bad) / sizeof((bad)[0]); i_++) {              \
			json_t *doc_ = json_loads((bad)[i_], JSON_DECODE_ANY, NULL);          \
			struct err e_ = { 0 };                                                \
                                                                                              \
			assert_non_null(doc_);                                                \
			assert_int_not_equal(decode(doc_, arena_, (rec), &e_), 0);            \
			assert_true(e_.msg[0] != '\0');                                       \
			json_decref(doc_);                                                    \
		}                                                                             \
		arena_free(arena_);                                                           \
	} while (0)

#endif
