/*
 * Configuration: one file of `key = value` lines, overridden by PORTEN_*
 * environment variables (key upper-cased, '.' and '-' as '_').  Table-driven:
 * every key has a type, a default and bounds; unknown keys stop start-up.
 * The generic rows (listen, data, issuer, store, env, kek, threads, log,
 * limits ...) live in cfg.c; every service brings a section of its own
 * rows (app/service.h), and cfg_load reads the generic rows and the
 * sections it is given.
 */
#ifndef PORTEN_CORE_CFG_H
#define PORTEN_CORE_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum cfg_env { CFG_ENV_TEST, CFG_ENV_PROD };

struct cfg_section;

/* Configuration sections one process reads at most (one a service, and room to grow). */
#define CFG_MAX_SECTIONS 32

struct cfg {
	char *listen;            /* "127.0.0.1:8080" */
	char *data;              /* data directory, default "./porten-data" */
	char *issuer;            /* ID-porten issuer, no trailing slash */
	char *browser_url;       /* origin of the browser host (authorize, logout, pages); NULL: the issuer's */
	char *store;             /* SQLite path or postgresql:// URI; default <data>/porten.db */
	int64_t pg_pool_size;    /* PostgreSQL connections per node (store_opts.pool_size) */
	enum cfg_env env;
	char *kek;               /* base64url 32-byte key-encryption key (secret) */
	char *kek_file;          /* or a file holding it */
	char *kek_previous;      /* the KEK being replaced: keys sealed under it still open */
	char *kek_previous_file;
	int threads;             /* HTTP worker threads; 0: one per CPU (4 per CPU on PostgreSQL) */
	int log_level;           /* 0 err .. 3 debug */
	int64_t key_publish_delay; /* seconds a new key is published before it signs */
	int64_t key_lifetime;    /* seconds a key signs before rotation is due */
	char *operator_orgno;    /* who runs this Porten: consumer of clients without client_orgno */
	int64_t session_idle;    /* SSO idle timeout, seconds */
	int64_t session_max;     /* SSO absolute timeout, seconds */
	int64_t code_lifetime;   /* authorization code, seconds */
	int64_t par_lifetime;    /* PAR request_uri, seconds */
	int64_t pending_lifetime;/* pending authorization (login in progress), seconds */
	int64_t backchannel_lease;      /* back-channel logout: seconds a node holds a delivery */
	int64_t backchannel_retry_base; /* first retry delay, seconds (then x3, capped at 15 min) */
	char *backchannel_ca_file;      /* trust for receivers' TLS (NULL: the system's) */
	bool backchannel_allow_private; /* TEST only: receivers on loopback/private addresses */
	bool cookie_secure;      /* add Secure to cookies (on when the issuer is https) */
	bool testid_accept_real; /* TestID accepts real national identity numbers */
	char *repr_register_url;      /* representation: the register's HTTP base URL; NULL: the local one */
	int64_t repr_register_timeout;/* representation: seconds for one call to that register */
	bool ansattporten_sjef_pilot; /* Ansattporten: the ansattporten:sjef pilot (spec §1.4) */
	char *upstream_eids;     /* file of the upstream OIDC eIDs (eid/upstream/), or NULL */
	int64_t upstream_timeout; /* seconds for each call to an upstream eID */
	int64_t upstream_cache;  /* seconds an upstream's discovery and JWKS are kept */
	int64_t upstream_retry;  /* seconds a failed fetch of them is not tried again */
	/* The EU wallet (eid/wallet/, spec/eudi-wallet.md §10). */
	char *wallet_key_file;   /* verifier's ES256 request-signing key (PEM); unset: no wallet */
	char *wallet_cert_file;  /* its certificate chain (PEM), leaf first, no anchor */
	char *wallet_anchors_no; /* trust anchors of Norwegian PID providers (PEM file or dir) */
	char *wallet_anchors;    /* trust anchors of foreign PID providers */
	char *wallet_scheme;     /* the link wallets open: "openid4vp://" */
	bool wallet_qr;          /* offer the cross-device (QR code) flow */
	bool wallet_vc_typ;      /* accept typ vc+sd-jwt from older wallets */
	bool natid_allow_2032;   /* the 2032 control rule before 2032 (core/natid.h) */
	int64_t rate_ip;         /* requests per second per remote address (0: no limit) */
	int64_t rate_ip_burst;   /* burst per remote address */
	int64_t rate_client;     /* back-channel requests per second per client (0: no limit) */
	int64_t rate_client_burst;
	int64_t conn_per_ip;     /* concurrent connections per remote address */
	int64_t conn_timeout;    /* seconds of silence before a connection is cut */
	int64_t request_deadline;/* seconds a request may take to arrive completely */
	bool metrics;            /* serve GET /metrics */
	char *trusted_proxies;   /* addresses/ranges whose X-Forwarded-For is believed */
	char *tls_cert_file;     /* TLS in portend: PEM certificate chain (NULL: plain HTTP) */
	char *tls_key_file;      /* and its private key, readable by the owner only */
	/* Pages: where the compiled translations (.mo) live; NULL: next to the program. */
	char *locale_dir;
	/* MinID (spec/minid.md); every number is a design choice there, configurable. */
	int64_t minid_argon_ops;      /* Argon2id passes (crypto_pwhash opslimit) */
	int64_t minid_argon_mem_kib;  /* Argon2id memory, KiB */
	int64_t minid_lock_failures;  /* consecutive failures that lock (§5: 5) */
	int64_t minid_lock_seconds;   /* length of a temporary lock (§5: 1 hour) */
	int64_t minid_lock_window;    /* window in which temporary locks add up (§5: 24 h) */
	int64_t minid_lock_max;       /* the temporary lock that locks until reset (§5: the 3rd) */
	int64_t minid_otc_lifetime;   /* one-time code validity (§3: 5 minutes) */
	int64_t minid_otc_attempts;   /* wrong codes that abort a login (§5: 5) */
	int64_t minid_otc_resends;    /* resends per login (§3: 3) */
	int64_t minid_otc_per_hour;   /* codes per mobile number per hour (§3: 10) */
	int64_t minid_rate_per_min;   /* MinID form posts per minute per address, per node */
	int64_t minid_activation_lifetime; /* activation code validity (§7: 30 days) */
	int64_t minid_min_age;        /* youngest age that may register (§7: 13) */
	bool minid_static_otc;        /* TEST only: synthetic ids accept the code 12345 (§8) */
	bool minid_unique_identity;   /* refuse a new MinID to a number the person register
				       * says is not the person's unique identity */
	/* SMS gateway (src/sms/sms.h). */
	char *sms_gateway;           /* "file" (default), "log" or "http" */
	char *sms_file;              /* file sink: JSON lines; default <data>/sms.jsonl */
	char *sms_url;               /* http: where to POST */
	char *sms_template;          /* http: body with {to} {text} {sender} */
	char *sms_content_type;      /* http: default application/json */
	char *sms_auth_file;         /* http: a file holding one header line (secret) */
	char *sms_sender;            /* sender name shown on the phone */
	int64_t sms_timeout;         /* http: seconds */
	char *maskinporten_issuer; /* Maskinporten issuer, trailing slash; default <issuer>/maskinporten/ */
	char *ansattporten_issuer; /* Ansattporten issuer, no trailing slash; default <issuer>/ansattporten */
	char *maskinporten_ca;   /* business-certificate trust anchors: PEM file or directory */
	char *maskinporten_crl;  /* CRLs for those certificates: PEM file or directory */
	char *admin_base;        /* path under the ID-porten issuer where the self-service API lives */
	/* Keys in a PKCS#11 token (jose_signer_pkcs11): RFC 7512 URI and PIN file per issuer. */
	char *signing_key_pkcs11_uri;       /* ID-porten; NULL: keys in the store */
	char *signing_key_pin_file;
	char *maskinporten_signing_key_pkcs11_uri; /* Maskinporten */
	char *maskinporten_signing_key_pin_file;
	char *ansattporten_signing_key_pkcs11_uri; /* Ansattporten */
	char *ansattporten_signing_key_pin_file;
	/* Billing (src/billing/, spec/billing.md): the seller on the invoices, the model's numbers. */
	char *billing_seller_name;
	char *billing_seller_orgno;
	char *billing_seller_vat;      /* VAT identifier, default NO<orgno>MVA */
	char *billing_seller_street;
	char *billing_seller_city;
	char *billing_seller_postcode;
	char *billing_seller_account;  /* the account paid into (PaymentMeans) */
	int64_t billing_threshold;     /* authentications a year from which a customer pays */
	int64_t billing_retention_years; /* ended settlement years whose events are kept */
	int64_t billing_payment_days;  /* due date: issue date plus this */
	/* The SAML proxy (src/saml/): its entityID, and its key pair as PEM files; no key: off. */
	char *saml_entity_id;    /* default <issuer>/saml/metadata */
	char *saml_key_file;
	char *saml_cert_file;
	bool krr_suppress_expired; /* KRR: withhold contact details of KAN_IKKE_VARSLES persons */
	int64_t krr_testdata_reset; /* KRR, test only: rewrite the test persons this often (s); 0 off */
	/* DPoP server nonces (spec/idporten-oidc.md §19), per issuer; off by default. */
	bool dpop_nonce;
	bool ansattporten_dpop_nonce;
	bool maskinporten_dpop_nonce;
	/* KRR's self-service pages (src/krr/pages.c): codes that confirm a new e-mail or number. */
	char *krr_mail;             /* how codes reach an e-mail address: "file" (default), "smtp", "log" */
	char *krr_mail_file;        /* file sink: JSON lines; default <data>/mail.jsonl */
	char *krr_smtp_url;         /* smtp: smtp://host:25 or smtps://host:465 (libcurl) */
	char *krr_mail_from;        /* smtp: the sender address */
	int64_t krr_code_lifetime;  /* seconds a code is valid */
	int64_t krr_code_attempts;  /* wrong codes that spend it */
	int64_t krr_code_per_person;    /* codes one person may ask for in a clock hour */
	int64_t krr_code_per_recipient; /* codes one address or number may get in a clock hour */
	bool krr_prompt;            /* the 90-day confirmation prompt in ID-porten logins (spec §6) */
	char *krr_goto_urls;        /* the self-service pages' registered return links (gotoUrl, spec §5) */
	char *store_resolved;    /* internal: cfg_store_target()'s default path */
	/* internal: the sections cfg_load read (NULL-terminated) */
	const struct cfg_section *sections[CFG_MAX_SECTIONS + 1];
};

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL, CFG_ENV };

/* One key: its type, where it goes in struct cfg, its default and bounds. */
struct cfg_row {
	const char *name;
	enum cfg_type type;
	size_t off;
	const char *dflt;
	long long min, max;
	bool secret;             /* wiped before it is freed */
};

#define CFG_ROW(n, t, f, d, lo, hi) { n, t, offsetof(struct cfg, f), d, lo, hi, false }
#define CFG_SECRET(n, f) { n, CFG_STR, offsetof(struct cfg, f), NULL, 0, 0, true }

/*
 * A service's keys.  validate, when set, runs after every key is read
 * (file and environment) and the generic checks passed: 0 or ERR_INVAL.
 */
struct cfg_section {
	const char *name;        /* the service's name */
	const struct cfg_row *rows;
	size_t nrows;
	int (*validate)(const struct cfg *c, struct err *e);
};

/*
 * Defaults, then file (if path non-NULL), then environment, for the
 * generic rows and those of `sections` (NULL-terminated; NULL: the generic
 * rows only).  A key no row names stops the load.  0 or ERR_INVAL with
 * e->msg.  Call cfg_free afterwards in either case.
 */
int cfg_load(struct cfg *c, const char *path, const struct cfg_section *const *sections,
	     struct err *e);
void cfg_free(struct cfg *c);
/* Path of the SQLite file or the URI (c->store if set, else <data>/porten.db); static storage in c. */
const char *cfg_store_target(const struct cfg *c);

#endif
