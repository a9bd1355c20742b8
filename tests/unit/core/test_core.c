/* Unit tests of the small core pieces: base64url, strings, buffers, crypto helpers, config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>

#include <cmocka.h>

#include "services.h"
#include "core/b64.h"
#include "core/buf.h"
#include "core/cfg.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/natid.h"
#include "core/str.h"

static void
test_b64url_vectors(void **state)
{
	/* RFC 4648 §10 vectors, without padding. */
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const out[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	char enc[32];
	unsigned char dec[32];
	size_t n;

	for (size_t i = 0; i < 7; i++) {
		b64url_encode(in[i], strlen(in[i]), enc);
		assert_string_equal(enc, out[i]);
		assert_int_equal(b64url_len(strlen(in[i])), strlen(out[i]));
		assert_int_equal(b64url_decode(str_c(out[i]), dec, &n), 0);
		assert_int_equal(n, strlen(in[i]));
		assert_memory_equal(dec, in[i], n);
	}
	/* The URL-safe alphabet: 0xfb 0xff -> "-_8". */
	b64url_encode("\xfb\xff", 2, enc);
	assert_string_equal(enc, "-_8");
}

static void
test_b64url_hostile(void **state)
{
	unsigned char dec[64];
	size_t n;

	assert_int_equal(b64url_decode(str_c("Zg=="), dec, &n), ERR_INVAL);   /* padding */
	assert_int_equal(b64url_decode(str_c("Zm+v"), dec, &n), ERR_INVAL);   /* '+' */
	assert_int_equal(b64url_decode(str_c("Zm/v"), dec, &n), ERR_INVAL);   /* '/' */
	assert_int_equal(b64url_decode(str_c("Z"), dec, &n), ERR_INVAL);      /* impossible length */
	assert_int_equal(b64url_decode(str_c("Zh"), dec, &n), ERR_INVAL);     /* non-zero tail bits */
	assert_int_equal(b64url_decode(str_c("Zm 9"), dec, &n), ERR_INVAL);   /* space */
	assert_int_equal(b64url_decode((struct str){ "Zm\0v", 4 }, dec, &n), ERR_INVAL);
}

/* One text per byte string: the unused bits of the last character are zero. */
static void
test_b64url_canonical(void **state)
{
	(void)state;
	assert_true(b64url_canonical(str_c("")));
	assert_true(b64url_canonical(str_c("Zg")));    /* "f": 4 unused bits, zero */
	assert_false(b64url_canonical(str_c("Zh")));   /* the same byte, a bit set */
	assert_false(b64url_canonical(str_c("Zv")));
	assert_true(b64url_canonical(str_c("Zm8")));   /* "fo": 2 unused bits */
	assert_false(b64url_canonical(str_c("Zm9")));
	assert_false(b64url_canonical(str_c("Zm-")));
	assert_true(b64url_canonical(str_c("Zm9v")));  /* no unused bits */
	assert_true(b64url_canonical(str_c("Zm9_")));
	assert_false(b64url_canonical(str_c("Z")));    /* impossible length */
	assert_false(b64url_canonical(str_c("Zm=")));
}

/* The decoder's table and the encoder's alphabet agree on every byte. */
static void
test_b64url_table(void **state)
{
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char all[48], dec[48];
	char enc[65];
	size_t n = 0;

	(void)state;
	for (int c = 0; c < 256; c++) {
		char ch = (char)c;

		assert_int_equal(b64url_chars((struct str){ &ch, 1 }),
				 c != 0 && strchr(alpha, c) != NULL);
	}
	assert_true(b64url_chars(str_c("")));
	/* the 64 digits in order: 0x00 0x10 0x83 ... encodes as the alphabet */
	for (int i = 0; i < 48; i += 3) {
		unsigned v = (unsigned)(i / 3 * 4);

		all[i] = (unsigned char)(v << 2 | (v + 1) >> 4);
		all[i + 1] = (unsigned char)((v + 1) << 4 | (v + 2) >> 2);
		all[i + 2] = (unsigned char)((v + 2) << 6 | (v + 3));
	}
	b64url_encode(all, sizeof(all), enc);
	assert_string_equal(enc, alpha);
	assert_int_equal(b64url_decode(str_c(alpha), dec, &n), 0);
	assert_int_equal(n, sizeof(all));
	assert_memory_equal(dec, all, sizeof(all));
}

/* Standard base64 with canonical padding (RFC 4648 §4, §10 vectors) and what it refuses. */
static void
test_b64_std(void **state)
{
	static const char *const bad[] = {
		"", "Zm9vYg=", "Zm9v Yg==", "Zm=vYg==", "Zg===", "====", "Zm9vYg-_", "Zm9v\nYg==",
		"Zm9vY===",
	};
	static const char *const in[] = { "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	static const char *const want[] = { "foob", "fooba", "foobar" };
	unsigned char *out = NULL;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		assert_int_equal(b64_decode_std(str_c(in[i]), &out, &n), 0);
		assert_int_equal(n, strlen(want[i]));
		assert_memory_equal(out, want[i], n);
		free(out);
	}
	assert_int_equal(b64_decode_std(str_c("+/+/"), &out, &n), 0);
	assert_int_equal(n, 3);
	free(out);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(b64_decode_std(str_c(bad[i]), &out, &n), ERR_INVAL);
		assert_null(out);
	}
	assert_int_equal(b64_decode_std((struct str){ "Zm\0vYg==", 8 }, &out, &n), ERR_INVAL);
}

static void
test_str_utf8(void **state)
{
	assert_true(str_is_clean_utf8(str_c("plain")));
	assert_true(str_is_clean_utf8(str_c("bl\xc3\xa5" "b\xc3\xa6" "r")));       /* blåbær */
	assert_true(str_is_clean_utf8(str_c("\xf0\x9f\x98\x80")));             /* emoji */
	assert_false(str_is_clean_utf8(str_c("a\r\nb")));                      /* CRLF */
	assert_false(str_is_clean_utf8(str_c("\xff")));
	assert_false(str_is_clean_utf8(str_c("\xc3\x28")));
	assert_false(str_is_clean_utf8(str_c("\xc0\xaf")));                    /* overlong */
	assert_false(str_is_clean_utf8(str_c("\xed\xa0\x80")));                /* surrogate */
	assert_false(str_is_clean_utf8(str_c("\xe2\x82")));                    /* truncated */
	assert_false(str_is_clean_utf8(str_c("\xc2\x85")));                    /* C1 NEL */
	assert_false(str_is_clean_utf8((struct str){ "a\0b", 3 }));
}

static void
test_str_numbers(void **state)
{
	long long v;

	assert_int_equal(str_to_ll(str_c("120"), 0, 1000, &v), 0);
	assert_int_equal(v, 120);
	assert_int_equal(str_to_ll(str_c("-5"), -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(str_to_ll(str_c(""), 0, 10, &v), ERR_INVAL);
	assert_int_equal(str_to_ll(str_c("1001"), 0, 1000, &v), ERR_INVAL);
	assert_int_equal(str_to_ll(str_c("12a"), 0, 1000, &v), ERR_INVAL);
	assert_int_equal(str_to_ll(str_c("+1"), 0, 1000, &v), ERR_INVAL);
	assert_int_equal(str_to_ll(str_c("99999999999999999999"), 0, INT64_MAX, &v), ERR_INVAL);
	assert_int_equal(str_to_ll(str_c("-"), -10, 10, &v), ERR_INVAL);
}

static void
test_str_split(void **state)
{
	struct str h, r;

	assert_true(str_split(str_c("a=b=c"), '=', &h, &r));
	assert_true(str_eq_c(h, "a"));
	assert_true(str_eq_c(r, "b=c"));
	assert_false(str_split(str_c("abc"), '=', &h, &r));
	assert_true(str_eq_c(h, "abc"));
	assert_int_equal(r.len, 0);
}

static void
test_str_default_port(void **state)
{
	(void)state;
	assert_int_equal(str_default_port_len("https://x", str_c("login.no:443")), 4);
	assert_int_equal(str_default_port_len("http://x", str_c("login.no:80")), 3);
	assert_int_equal(str_default_port_len("http://x", str_c("login.no:443")), 0);
	assert_int_equal(str_default_port_len("https://x", str_c("login.no:8443")), 0);
	assert_int_equal(str_default_port_len("https://x", str_c(":443")), 0);
	assert_int_equal(str_default_port_len("ftp://x", str_c("login.no:80")), 0);
	assert_true(str_unreserved('~') && str_unreserved('Z') && !str_unreserved('/'));
}

/* List settings: items between spaces, tabs, newlines and commas. */
static void
test_str_next_item(void **state)
{
	const char *p = " a,b\t,, c\nlong-item ,", *none = NULL;
	const char *want[] = { "a", "b", "c", "long-item" };
	struct str item;
	size_t n = 0;

	(void)state;
	while (str_next_item(&p, &item)) {
		assert_true(n < 4);
		assert_true(str_eq_c(item, want[n++]));
	}
	assert_int_equal(n, 4);
	assert_false(str_next_item(&p, &item));
	assert_false(str_next_item(&none, &item));
	p = "";
	assert_false(str_next_item(&p, &item));
}

static void
test_str_only(void **state)
{
	const char *b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char big[700];

	(void)state;
	assert_true(str_only(str_c(""), b64));
	assert_true(str_only(str_c("eyJhbGciOiJSUzI1NiJ9-_"), b64));
	assert_false(str_only(str_c("eyJ+"), b64));
	assert_false(str_only(str_c("a.b"), b64));
	assert_false(str_only((struct str){ "ab\0c", 4 }, b64));       /* NUL never in a set */
	assert_false(str_only(str_c("\xc3\xa5"), b64));                 /* bytes over 127 */
	assert_true(str_only(str_c("\xc3\xa5"), "\xa5\xc3"));
	assert_false(str_only(str_c("a"), ""));
	memset(big, 'x', sizeof(big));
	assert_true(str_only((struct str){ big, sizeof(big) }, b64));
	big[sizeof(big) - 1] = '=';
	assert_false(str_only((struct str){ big, sizeof(big) }, b64));
}

static void
test_buf_limits_and_escaping(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	assert_int_equal(buf_puts(&b, "9"), ERR_LIMIT);
	assert_int_equal(b.len, 8);
	buf_free(&b);

	buf_init(&b, 1024);
	assert_int_equal(buf_html(&b, str_c("<a href=\"x\">'&'</a>")), 0);
	assert_string_equal(b.p, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
	buf_reset(&b);
	assert_int_equal(buf_urlenc(&b, str_c("a b&c=d/é~")), 0);
	assert_string_equal(b.p, "a%20b%26c%3Dd%2F%C3%A9~");
	buf_free(&b);
}

static void
test_crypto_helpers(void **state)
{
	char t1[TOKEN_CHARS + 1], t2[TOKEN_CHARS + 1], h[TOKEN_CHARS + 1];

	assert_int_equal(rand_token_buf(t1), 0);
	assert_int_equal(rand_token_buf(t2), 0);
	assert_int_equal(strlen(t1), TOKEN_CHARS);
	assert_string_not_equal(t1, t2);
	/* SHA-256("abc") from FIPS 180-2, base64url. */
	sha256_b64url_buf(str_c("abc"), h);
	assert_string_equal(h, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
	/* HMAC-SHA-256, RFC 4231 test cases 1 and 2 (twice: the copied context is fresh) */
	{
		static const unsigned char want1[32] = {
			0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53, 0x5c, 0xa8, 0xaf,
			0xce, 0xaf, 0x0b, 0xf1, 0x2b, 0x88, 0x1d, 0xc2, 0x00, 0xc9, 0x83,
			0x3d, 0xa7, 0x26, 0xe9, 0x37, 0x6c, 0x2e, 0x32, 0xcf, 0xf7,
		};
		static const unsigned char want2[32] = {
			0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
			0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
			0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
		};
		unsigned char key1[20], mac[32];

		memset(key1, 0x0b, sizeof(key1));
		for (int i = 0; i < 2; i++) {
			hmac_sha256(key1, sizeof(key1), "Hi There", 8, mac);
			assert_memory_equal(mac, want1, 32);
			hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
			assert_memory_equal(mac, want2, 32);
		}
	}
	assert_true(ct_str_eq(str_c("secret"), str_c("secret")));
	assert_false(ct_str_eq(str_c("secret"), str_c("secreT")));
	assert_false(ct_str_eq(str_c("secret"), str_c("secret2")));
}

/* AES-256-GCM: a known vector, the round trip, and every kind of change refused. */
static void
test_aead(void **state)
{
	(void)state;
	unsigned char key[AEAD_KEY_LEN] = { 0 }, iv[AEAD_IV_LEN] = { 0 }, k2[AEAD_KEY_LEN] = { 1 };
	unsigned char out[64 + AEAD_TAG_LEN], back[64];
	/* NIST GCM test case 13: zero key and IV, empty text: the tag alone */
	static const unsigned char tag13[AEAD_TAG_LEN] = {
		0x53, 0x0f, 0x8a, 0xfb, 0xc7, 0x45, 0x36, 0xb9,
		0xa9, 0x63, 0xb4, 0xf1, 0xc4, 0xcb, 0x73, 0x8b,
	};
	const char *msg = "a pending login";
	size_t n = strlen(msg), got = 0;

	assert_int_equal(aead_seal(key, iv, str_c(""), NULL, 0, out), 0);
	assert_memory_equal(out, tag13, AEAD_TAG_LEN);
	assert_int_equal(aead_seal(key, iv, str_c("aad"), (const unsigned char *)msg, n, out), 0);
	assert_int_equal(aead_open(key, iv, str_c("aad"), out, n + AEAD_TAG_LEN, back, &got), 0);
	assert_int_equal(got, n);
	assert_memory_equal(back, msg, n);
	/* another key, other associated data, a flipped bit, a cut tag: refused */
	assert_int_equal(aead_open(k2, iv, str_c("aad"), out, n + AEAD_TAG_LEN, back, &got),
			 ERR_CRYPTO);
	assert_int_equal(aead_open(key, iv, str_c("aaD"), out, n + AEAD_TAG_LEN, back, &got),
			 ERR_CRYPTO);
	out[3] ^= 1;
	assert_int_equal(aead_open(key, iv, str_c("aad"), out, n + AEAD_TAG_LEN, back, &got),
			 ERR_CRYPTO);
	out[3] ^= 1;
	assert_int_equal(aead_open(key, iv, str_c("aad"), out, n + AEAD_TAG_LEN - 1, back, &got),
			 ERR_CRYPTO);
	assert_int_equal(aead_open(key, iv, str_c("aad"), out, AEAD_TAG_LEN, back, &got),
			 ERR_CRYPTO);
	assert_int_equal(aead_seal(key, iv, str_c(""), out, AEAD_MAX_PLAIN + 1, out), ERR_CRYPTO);
}

/* Random bytes from the per-thread block: never repeated, also across a fork. */
static void
test_rand_pool(void **state)
{
	unsigned char seen[64][32], big[4096], child[32], parent[32];
	int fd[2], status = 0;
	pid_t pid;

	(void)state;
	/* 64 values of 32 bytes: more than one block's worth, all different. */
	for (int i = 0; i < 64; i++) {
		assert_int_equal(rand_bytes(seen[i], sizeof(seen[i])), 0);
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(seen[i], seen[j], sizeof(seen[i]));
	}
	/* Odd sizes, none, and one larger than the block. */
	assert_int_equal(rand_bytes(big, 0), 0);
	assert_int_equal(rand_bytes(big, 7), 0);
	assert_int_equal(rand_bytes(big, sizeof(big)), 0);
	assert_memory_not_equal(big, big + 2048, 32);
	/* A child's next bytes are not its parent's next bytes. */
	assert_int_equal(rand_bytes(parent, 1), 0);   /* the block is in use now */
	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ok = rand_bytes(child, sizeof(child)) == 0 &&
			 write(fd[1], child, sizeof(child)) == (ssize_t)sizeof(child);

		_exit(ok ? 0 : 1);
	}
	close(fd[1]);
	assert_int_equal(rand_bytes(parent, sizeof(parent)), 0);
	assert_int_equal(read(fd[0], child, sizeof(child)), (ssize_t)sizeof(child));
	close(fd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	assert_memory_not_equal(child, parent, sizeof(child));
}

/* Replace the contents of the file at path with text. */
static void
cfg_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	size_t n = strlen(text);

	assert_true(fd >= 0);
	assert_true(write(fd, text, n) == (ssize_t)n);
	close(fd);
}

static void
test_cfg_env_and_file(void **state)
{
	struct cfg c;
	struct err e = { 0 };
	char path[] = "/tmp/porten-cfg-XXXXXX";
	int fd;

	unsetenv("PORTEN_LISTEN");
	setenv("PORTEN_ISSUER", "http://127.0.0.1:9999", 1);
	setenv("PORTEN_THREADS", "3", 1);
	assert_int_equal(service_cfg_load(&c, porten_services, NULL, &e), 0);
	assert_string_equal(c.issuer, "http://127.0.0.1:9999");
	assert_int_equal(c.threads, 3);
	assert_int_equal(c.env, CFG_ENV_TEST);
	assert_int_equal(c.session_idle, 1800);
	assert_false(c.cookie_secure);
	cfg_free(&c);

	setenv("PORTEN_ISSUER", "http://127.0.0.1:9999/", 1);
	assert_int_equal(service_cfg_load(&c, porten_services, NULL, &e), ERR_INVAL);
	cfg_free(&c);
	setenv("PORTEN_ISSUER", "http://127.0.0.1:9999", 1);
	setenv("PORTEN_THREADS", "0", 1);            /* 0: one per CPU */
	assert_int_equal(service_cfg_load(&c, porten_services, NULL, &e), 0);
	assert_int_equal(c.threads, 0);
	cfg_free(&c);
	setenv("PORTEN_THREADS", "-1", 1);
	assert_int_equal(service_cfg_load(&c, porten_services, NULL, &e), ERR_INVAL);
	cfg_free(&c);
	setenv("PORTEN_THREADS", "257", 1);
	assert_int_equal(service_cfg_load(&c, porten_services, NULL, &e), ERR_INVAL);
	cfg_free(&c);
	unsetenv("PORTEN_THREADS");
	setenv("PORTEN_ENV", "prod", 1);
	assert_int_equal(service_cfg_load(&c, porten_services, NULL, &e), ERR_INVAL);   /* http issuer in prod */
	cfg_free(&c);
	unsetenv("PORTEN_ENV");
	unsetenv("PORTEN_ISSUER");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_true(write(fd, "# comment\nlisten = 127.0.0.1:7000\nbogus = 1\n", 44) == 44);
	close(fd);
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), ERR_INVAL);   /* unknown key stops start-up */
	assert_non_null(strstr(e.msg, "bogus"));
	cfg_free(&c);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(write(fd, "listen = 127.0.0.1:7000\nenv=test\n", 33) == 33);
	close(fd);
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), 0);
	assert_string_equal(c.listen, "127.0.0.1:7000");
	assert_string_equal(c.issuer, "http://127.0.0.1:7000");
	cfg_free(&c);
	/* cookie_secure from the file holds against the issuer's scheme, either way. */
	cfg_write(path, "listen = 127.0.0.1:7000\ncookie_secure = true\n");
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), 0);
	assert_true(c.cookie_secure);
	cfg_free(&c);
	cfg_write(path, "issuer = https://login.example.no\ncookie_secure = false\n");
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), 0);
	assert_false(c.cookie_secure);
	cfg_free(&c);
	cfg_write(path, "issuer = https://login.example.no\ncookie_secure = auto\n");
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), 0);
	assert_true(c.cookie_secure);
	cfg_free(&c);
	/*
	 * An issuer is taken as written (OpenID Connect Discovery §4.3): one that
	 * names its scheme's default port is refused with the form to write.
	 */
	cfg_write(path, "issuer = https://idp.example:443\n");
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "default port :443"));
	assert_non_null(strstr(e.msg, "as https://idp.example,"));
	cfg_free(&c);
	cfg_write(path, "issuer = http://x:80/idporten\n");
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "as http://x/idporten,"));
	cfg_free(&c);
	/* other ports, and a port that only ends like a default one, are kept */
	cfg_write(path, "issuer = https://idp.example:8443\n");
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), 0);
	assert_string_equal(c.issuer, "https://idp.example:8443");
	cfg_free(&c);
	cfg_write(path, "issuer = http://x:443\n");
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), 0);
	assert_string_equal(c.issuer, "http://x:443");
	cfg_free(&c);
	cfg_write(path, "issuer = http://x:8080\n");
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), 0);
	cfg_free(&c);
	/* the issuer Porten makes from listen is spelled without the default port */
	cfg_write(path, "listen = 127.0.0.1:80\n");
	assert_int_equal(service_cfg_load(&c, porten_services, path, &e), 0);
	assert_string_equal(c.issuer, "http://127.0.0.1");
	cfg_free(&c);
	unlink(path);
}

static void
test_natid_mask(void **state)
{
	char m[NATID_MASK_LEN];

	natid_mask("21879498012", m);
	assert_string_equal(m, "********012");
	natid_mask("2187949801", m);
	assert_string_equal(m, "***");
	natid_mask(NULL, m);
	assert_string_equal(m, "***");
	natid_mask("218794980123", m);
	assert_string_equal(m, "***");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_b64url_canonical),
		cmocka_unit_test(test_b64url_hostile),
		cmocka_unit_test(test_b64url_table),
		cmocka_unit_test(test_b64_std),
		cmocka_unit_test(test_str_utf8),
		cmocka_unit_test(test_str_numbers),
		cmocka_unit_test(test_str_split),
		cmocka_unit_test(test_str_next_item),
		cmocka_unit_test(test_str_default_port),
		cmocka_unit_test(test_str_only),
		cmocka_unit_test(test_buf_limits_and_escaping),
		cmocka_unit_test(test_crypto_helpers),
		cmocka_unit_test(test_aead),
		cmocka_unit_test(test_rand_pool),
		cmocka_unit_test(test_cfg_env_and_file),
		cmocka_unit_test(test_natid_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
