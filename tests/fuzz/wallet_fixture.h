/* Made by gen_wallet_corpus.py with the corpus in corpus/wallet. */
#define FZW_NOW 1796585944
#define FZW_AUD "x509_hash:fuzz-verifier"
#define FZW_NONCE "fuzz-nonce-0123456789"
static const char fzw_anchor[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBizCCATGgAwIBAgIUAYSbvbeP18OCOHIoTVHDnMtCFEMwCgYIKoZIzj0EAwIw\n"
	"IjEgMB4GA1UEAwwXVGVzdCBQSUQgcHJvdmlkZXIgQ0EgTk8wHhcNMjYxMjA1MTkz\n"
	"OTA0WhcNMjcxMjA2MTkzOTA0WjAiMSAwHgYDVQQDDBdUZXN0IFBJRCBwcm92aWRl\n"
	"ciBDQSBOTzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFe1ntmdEWBfFaMvaBJ0\n"
	"oaIOr+qwKIAutrw9R+4aFLOkrwYttl7K4YKw01ccLYjzt0NdtmvijojxtseCrCGV\n"
	"6VajRTBDMBIGA1UdEwEB/wQIMAYBAf8CAQEwDgYDVR0PAQH/BAQDAgEGMB0GA1Ud\n"
	"DgQWBBTKg71ZuSZVefiq+sg3z5PK71IesDAKBggqhkjOPQQDAgNIADBFAiEAywVA\n"
	"qx3tfm5VX/9KhEXxQ2gGaAxQcN6ktt9OqTgun/QCIGLSSOiOn/Lu9RPQ1jeUIFb7\n"
	"iW16ja97IEc7gU9SzOiU\n"
	"-----END CERTIFICATE-----\n";
static const char fzw_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgpwHInzDzWnc5MpgX\n"
	"iWv44LKK4MVbotF84Yicd9pPw/ehRANCAAQWXKVjh8I4fB0PIm37iO3EWiDKxh3n\n"
	"G/Qsnp4zpNFU6f1f6xOk4gtiDgicqSZEyoVPhXklh9S8/bKykDlRivnI\n"
	"-----END PRIVATE KEY-----\n";
