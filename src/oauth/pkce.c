/*
 * PKCE (RFC 7636) with S256 only (spec/idporten-oidc.md §5): well-formed
 * challenges and verifiers, and the S256 comparison.
 */
#include "oauth/oauth.h"

#include "core/b64.h"
#include "core/crypto.h"

/* RFC 7636 §4.1: unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~". */
static const char verifier_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

#define PKCE_CHALLENGE_LEN 43	/* base64url of 32 bytes, no '=' (spec §5) */
#define PKCE_VERIFIER_MIN 43
#define PKCE_VERIFIER_MAX 128

bool
oauth_pkce_challenge_valid(struct str challenge)
{
	if (challenge.p == NULL || challenge.len != PKCE_CHALLENGE_LEN)
		return false;
	return b64url_chars(challenge); /* base64url of a SHA-256, no padding */
}

bool
oauth_pkce_verifier_valid(struct str verifier)
{
	if (verifier.p == NULL || verifier.len < PKCE_VERIFIER_MIN ||
	    verifier.len > PKCE_VERIFIER_MAX)
		return false;
	return str_only(verifier, verifier_chars);
}

bool
oauth_pkce_verify(struct str verifier, struct str challenge)
{
	char computed[TOKEN_CHARS + 1];
	bool ok;

	/*
	 * Malformed input never matches: a verifier outside RFC 7636 §4.1 is
	 * refused even if its hash happened to equal the challenge.
	 */
	if (!oauth_pkce_verifier_valid(verifier) || !oauth_pkce_challenge_valid(challenge))
		return false;
	/* RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge. */
	sha256_b64url_buf(verifier, computed);
	ok = ct_str_eq((struct str){ computed, TOKEN_CHARS }, challenge);
	secure_wipe(computed, sizeof(computed));
	return ok;
}
