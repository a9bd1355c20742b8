/*
 * Fuzz target for the JWT parser and verifier: the input is a compact JWS
 * handed to jose_jws_header() and jose_jwt_verify() against a fixed key set
 * (two RSA keys, kids fuzz-1 and fuzz-2; the corpus holds tokens they
 * signed, so the fuzzer starts from the success path too).  Inputs that
 * parse as JSON are also checked as a client JWKS.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "jose/jose.h"

static const char fuzz_jwks[] =
	"{\"keys\":["
	"{\"kty\":\"RSA\",\"kid\":\"fuzz-1\",\"use\":\"sig\",\"e\":\"AQAB\",\"n\":\""
	"1USBV3EW_WBl5kiFQrXS1eY2GKyMiufKF8Sk5ND_N_L2Uv993HOLxkoze7D1yKaawFcv-qz6"
	"7u0zkFk_3AThQhd2KdQDXX9-vzWdzqC_Z3gT2olbQa0gPQF0WeFWGp0HEKxfdOt0BeTNtpus"
	"zHLnlaWy61hVzPuhrpMPuMeMCA8SJoDIC-LqBvhVYbwld9oQYn4d-uG__bQjPVCWinVkIK4C"
	"Xz4IV6VBwwQOr_62O6oz_PKtr9i8WTnSSrlRihSeiub4oFPTKuM-D1PgRcn85B26LO2fFVod"
	"DA1ZVKm6dDZwDp7xb9JTQ27uVYSAdVvjvICIRH-YVL7tTX_UgWSu7Q"
	"\"}"
	","
	"{\"kty\":\"RSA\",\"kid\":\"fuzz-2\",\"use\":\"sig\",\"e\":\"AQAB\",\"n\":\""
	"1jYB1XfAXDNtdsn3_ZrvEWsR-JyV6CQ5oVA188ZlOVY7sIFictvFEdrj-DMAHs9iGl5yjnwP"
	"TxagJSWXYvbjLQbmqRw6cnFK_sQAPlbyWtciO--giDHbjT_CGAJrqAzL0AoBCr72139FpVFK"
	"xwb5jUr1PKLrXD-9Qrd8aaA6dOI7O0mEmOyXtPFKAX1tomiD9vFK5ZjJRhs3YxYOp57hxQdP"
	"Ppzqg1vjBALoxNjxpqNQZ5utoKAoYK8Jd0g1I7EtA-uiOtUuaAie2SvDMGjwiQAD11wt71Cn"
	"LjVADN-jQlm2GwaElBJP5IzsMBF0pHtKD0OImryDOuiPnilZaDR82w"
	"\"}"
	"]}";

static json_t *jwks_all;    /* both keys: kid required */
static json_t *jwks_one;    /* fuzz-1 alone as a bare JWK: kid optional */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str s = { (const char *)data, size };
	struct err e;
	json_t *j = NULL;

	if (jwks_all == NULL) {
		jwks_all = json_loads(fuzz_jwks, JSON_REJECT_DUPLICATES, NULL);
		if (jwks_all == NULL)
			abort();
		jwks_one = json_array_get(json_object_get(jwks_all, "keys"), 0);
	}
	if (jose_jws_header(s, &j, &e) == 0)
		json_decref(j);
	j = NULL;
	if (jose_jwt_verify(s, jwks_all, JOSE_ALG_RS_ALL, &j, &e) == 0) {
		(void)jose_jwt_check_times(j, 1700000000, 30, 120, 1, &e);
		json_decref(j);
	}
	j = NULL;
	if (jose_jwt_verify(s, jwks_one, JOSE_ALG_RS256, &j, &e) == 0)
		json_decref(j);
	j = json_loadb((const char *)data, size, 0, NULL);
	if (j != NULL) {
		(void)jose_jwks_validate(j, 5, &e);
		json_decref(j);
	}
	return 0;
}
