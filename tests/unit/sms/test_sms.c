/*
 * Tests for sms/sms.c and sms/sms_http.c: phone numbers (normalising what
 * people type, refusing what is not a number), the file and log sinks, the
 * choice by configuration (the file sink refused in prod), the HTTP body
 * template with its escaping, and the HTTP gateway against a one-shot
 * loopback server (2xx accepted, 5xx and a closed port refused).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "services.h"
#include "sms/sms.h"

static void
test_numbers(void **state)
{
	char out[SMS_MAX_TO + 1], masked[24];

	(void)state;
	assert_int_equal(sms_number_normalise(STR_LIT("+47 912 34 567"), out), 0);
	assert_string_equal(out, "+4791234567");
	assert_int_equal(sms_number_normalise(STR_LIT("91234567"), out), 0);
	assert_string_equal(out, "+4791234567");
	assert_int_equal(sms_number_normalise(STR_LIT("0047 912-34-567"), out), 0);
	assert_string_equal(out, "+4791234567");
	assert_int_equal(sms_number_normalise(STR_LIT("+46 70 123 45 67"), out), 0);
	assert_string_equal(out, "+46701234567");
	/* not numbers */
	static const char *const bad[] = {
		"", "1234567", "912345678", "+47abc12345", "+0123456789", "++4791234567",
		"+1234567890123456", "+47 912\n34 567", "+4791234567;", "0047",
		"+479123456789012345678901234567890",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sms_number_normalise(str_c(bad[i]), out), ERR_INVAL);
		assert_string_equal(out, "");
	}
	assert_int_equal(sms_number_normalise((struct str){ "9123\0" "4567", 9 }, out), ERR_INVAL);
	assert_true(sms_number_valid("+4791234567"));
	assert_false(sms_number_valid("4791234567"));
	assert_false(sms_number_valid(NULL));
	sms_number_mask("+4791234567", masked);
	assert_string_equal(masked, "+47******67");
	sms_number_mask(NULL, masked);
	assert_string_equal(masked, "***");
}

static void
test_file_sink(void **state)
{
	char path[] = "/tmp/sms-test-XXXXXX", line[1024];
	struct sms_gateway *g = NULL;
	struct err e = { 0 };
	json_t *j;
	FILE *f;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sms_file_new(path, "ID-porten", &g, &e), 0);
	assert_int_equal(sms_send(g, "+4791234567", "Kode 12345 \"sitat\" æøå", &e), 0);
	assert_int_equal(sms_send(g, "+4791234568", "to", &e), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	j = json_loads(line, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "to")), "+4791234567");
	assert_string_equal(json_string_value(json_object_get(j, "text")), "Kode 12345 \"sitat\" æøå");
	assert_string_equal(json_string_value(json_object_get(j, "sender")), "ID-porten");
	assert_true(json_is_integer(json_object_get(j, "time")));
	json_decref(j);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	/* what sms_send refuses never reaches a backend */
	assert_int_equal(sms_send(g, "91234567", "x", &e), ERR_INVAL);
	assert_int_equal(sms_send(g, "+4791234567", "", &e), ERR_INVAL);
	assert_int_equal(sms_send(g, "+4791234567", "line\nbreak", &e), ERR_INVAL);
	assert_int_equal(sms_send(g, "+4791234567", "bad \xff utf-8", &e), ERR_INVAL);
	{
		char big[SMS_MAX_TEXT + 2];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(sms_send(g, "+4791234567", big, &e), ERR_INVAL);
	}
	sms_gateway_free(g);
	unlink(path);
	/* a file that cannot be written is an unavailable gateway */
	assert_int_equal(sms_file_new("/nonexistent-dir/sms.jsonl", NULL, &g, &e), 0);
	assert_int_equal(sms_send(g, "+4791234567", "x", &e), ERR_UNAVAILABLE);
	sms_gateway_free(g);
	sms_gateway_free(NULL);
}

static void
test_log_sink_and_choice(void **state)
{
	struct sms_gateway *g = NULL;
	struct err e = { 0 };
	struct cfg c;

	(void)state;
	assert_int_equal(service_cfg_load(&c, porten_services, NULL, &e), 0);
	assert_int_equal(sms_gateway_new(&c, &g, &e), 0);
	assert_string_equal(g->ops->name, "file");
	sms_gateway_free(g);
	free(c.sms_gateway);
	c.sms_gateway = strdup("log");
	assert_int_equal(sms_gateway_new(&c, &g, &e), 0);
	assert_string_equal(g->ops->name, "log");
	assert_int_equal(sms_send(g, "+4791234567", "Code 12345", &e), 0);
	sms_gateway_free(g);
	free(c.sms_gateway);
	c.sms_gateway = strdup("pigeon");
	assert_int_equal(sms_gateway_new(&c, &g, &e), ERR_INVAL);
	free(c.sms_gateway);
	c.sms_gateway = strdup("http");
	assert_int_equal(sms_gateway_new(&c, &g, &e), ERR_INVAL);   /* no sms_url */
	c.sms_url = strdup("ftp://sms.example/");
	assert_int_equal(sms_gateway_new(&c, &g, &e), ERR_INVAL);
	free(c.sms_url);
	c.sms_url = strdup("https://sms.example/send");
	c.sms_auth_file = strdup("/nonexistent/auth");
	assert_int_equal(sms_gateway_new(&c, &g, &e), ERR_INVAL);
	free(c.sms_auth_file);
	/* Hostile auth files: no header line, and one longer than it may be (not cut). */
	{
		char path[] = "/tmp/test_sms_auth_XXXXXX", line[2048];
		int fd = mkstemp(path);
		FILE *f;

		assert_true(fd >= 0);
		close(fd);
		c.sms_auth_file = path;
		f = fopen(path, "w");
		assert_non_null(f);
		fputs("no colon here\n", f);
		fclose(f);
		assert_int_equal(sms_gateway_new(&c, &g, &e), ERR_INVAL);
		memset(line, 'x', sizeof(line) - 1);
		line[sizeof(line) - 1] = '\0';
		memcpy(line, "Authorization: ", 15);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(line, f);
		fclose(f);
		assert_int_equal(sms_gateway_new(&c, &g, &e), ERR_INVAL);
		assert_non_null(strstr(e.msg, "longer than"));
		f = fopen(path, "w");
		assert_non_null(f);
		fputs("Authorization: Bearer t\r\n", f);
		fclose(f);
		assert_int_equal(sms_gateway_new(&c, &g, &e), 0);
		sms_gateway_free(g);
		unlink(path);
	}
	c.sms_auth_file = NULL;
	assert_int_equal(sms_gateway_new(&c, &g, &e), 0);
	assert_string_equal(g->ops->name, "http");
	sms_gateway_free(g);
	/* codes in clear in a file: never in prod */
	free(c.sms_gateway);
	c.sms_gateway = strdup("file");
	c.env = CFG_ENV_PROD;
	assert_int_equal(sms_gateway_new(&c, &g, &e), ERR_INVAL);
	assert_null(g);
	cfg_free(&c);
}

static void
test_body_template(void **state)
{
	struct err e = { 0 };
	char *body = NULL;

	(void)state;
	assert_int_equal(sms_http_body("{\"to\":\"{to}\",\"text\":\"{text}\",\"from\":\"{sender}\"}",
				       "application/json", "+4791234567", "a \"q\" \\ b", "ID-porten",
				       &body, &e),
			 0);
	assert_string_equal(body, "{\"to\":\"+4791234567\",\"text\":\"a \\\"q\\\" \\\\ b\","
				  "\"from\":\"ID-porten\"}");
	free(body);
	assert_int_equal(sms_http_body("to={to}&msg={text}", "application/x-www-form-urlencoded",
				       "+4791234567", "kode 12345 & mer", "x", &body, &e),
			 0);
	assert_string_equal(body, "to=%2B4791234567&msg=kode%2012345%20%26%20mer");
	free(body);
	/* a JSON control character is escaped, not passed */
	assert_int_equal(sms_http_body("\"{text}\"", "application/json", "", "a\x01", "", &body, &e),
			 0);
	assert_string_equal(body, "\"a\\u0001\"");
	free(body);
	/* invalid UTF-8 never reaches the JSON */
	assert_int_equal(sms_http_body("\"{text}\"", "application/json", "", "a\xff", "", &body, &e),
			 ERR_INVAL);
	assert_null(body);
	assert_int_equal(sms_http_body("{to} {pin}", "text/plain", "1", "2", "3", &body, &e),
			 ERR_INVAL);
	assert_null(body);
	assert_int_equal(sms_http_body("{ {to} }", "text/plain", "1", "2", "3", &body, &e), 0);
	assert_string_equal(body, "{ 1 }");
	free(body);
}

/* ---- a one-shot HTTP server on loopback ---- */

struct tiny {
	int fd;
	int status;
	char req[8192];
	size_t len;
};

static void *
tiny_serve(void *arg)
{
	struct tiny *t = arg;
	int c = accept(t->fd, NULL, NULL);
	char resp[128];
	ssize_t n;

	if (c < 0)
		return NULL;
	/* Read until the body announced by Content-Length is in. */
	for (;;) {
		const char *hdr_end, *cl;

		n = read(c, t->req + t->len, sizeof(t->req) - 1 - t->len);
		if (n <= 0)
			break;
		t->len += (size_t)n;
		t->req[t->len] = '\0';
		hdr_end = strstr(t->req, "\r\n\r\n");
		cl = strcasestr(t->req, "Content-Length:");
		if (hdr_end != NULL && cl != NULL &&
		    t->len >= (size_t)(hdr_end + 4 - t->req) + strtoul(cl + 15, NULL, 10))
			break;
	}
	snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
		 t->status);
	if (write(c, resp, strlen(resp)) < 0)
		t->status = -1;
	close(c);
	return NULL;
}

static int
tiny_start(struct tiny *t, int status, pthread_t *th, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	memset(t, 0, sizeof(*t));
	t->status = status;
	t->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (t->fd < 0 || bind(t->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(t->fd, 1) != 0 || getsockname(t->fd, (struct sockaddr *)&a, &al) != 0)
		return -1;
	*port = ntohs(a.sin_port);
	return pthread_create(th, NULL, tiny_serve, t);
}

static void
test_http_gateway(void **state)
{
	struct sms_gateway *g = NULL;
	struct err e = { 0 };
	struct tiny t;
	pthread_t th;
	char url[64];
	int port;

	(void)state;
	assert_int_equal(tiny_start(&t, 202, &th, &port), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/send", port);
	assert_int_equal(sms_http_new(&(struct sms_http_opts){
					      .url = url,
					      .template = "{\"to\":\"{to}\",\"text\":\"{text}\"}",
					      .content_type = "application/json",
					      .auth_header = "Authorization: Bearer s3cret",
					      .sender = "ID-porten",
					      .timeout = 5 },
				      &g, &e),
			 0);
	assert_int_equal(sms_send(g, "+4791234567", "Kode \"12345\"", &e), 0);
	pthread_join(th, NULL);
	close(t.fd);
	assert_non_null(strstr(t.req, "POST /send HTTP/1.1\r\n"));
	assert_non_null(strcasestr(t.req, "\r\nAuthorization: Bearer s3cret\r\n"));
	assert_non_null(strcasestr(t.req, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(t.req, "{\"to\":\"+4791234567\",\"text\":\"Kode \\\"12345\\\"\"}"));
	/* a provider error is an unavailable gateway */
	assert_int_equal(tiny_start(&t, 503, &th, &port), 0);
	sms_gateway_free(g);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/send", port);
	assert_int_equal(sms_http_new(&(struct sms_http_opts){ .url = url, .template = "{text}",
							       .content_type = "text/plain" },
				      &g, &e),
			 0);
	assert_int_equal(sms_send(g, "+4791234567", "x", &e), ERR_UNAVAILABLE);
	pthread_join(th, NULL);
	close(t.fd);
	/* nobody listening any more */
	assert_int_equal(sms_send(g, "+4791234567", "x", &e), ERR_UNAVAILABLE);
	sms_gateway_free(g);
	/* bad templates stop start-up */
	assert_int_equal(sms_http_new(&(struct sms_http_opts){ .url = url, .template = "{code}" },
				      &g, &e),
			 ERR_INVAL);
	assert_int_equal(sms_http_new(&(struct sms_http_opts){ .url = url, .template = "" }, &g,
				      &e),
			 ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_file_sink),
		cmocka_unit_test(test_log_sink_and_choice),
		cmocka_unit_test(test_body_template),
		cmocka_unit_test(test_http_gateway),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
