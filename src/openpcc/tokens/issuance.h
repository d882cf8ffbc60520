// tokens/issuance.h — the type 0x0002 issuance protocol (RFC 9578 §6): the client's two steps
// (blind a token input to an issuer key, then finalize the issuer's answer into a Token), the
// issuer's one step (blind-sign a TokenRequest), and token signature verification for redeemers.
//
// Blind RSA variant: RSABSSA-SHA384-PSS-Deterministic (RFC 9474), as RFC 9578 prescribes. The
// issuer sees only blinded messages: nothing it signs can be linked to the token later redeemed.
// Thread safety: pure functions; keys may be shared.
#pragma once

#include "openpcc/crypto/blind_rsa.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/tokens/token.h"

namespace openpcc::tokens {

inline constexpr crypto::BlindRsaVariant kTokenVariant =
    crypto::BlindRsaVariant::kSha384PssDeterministic;

// SHA-256 of the key's RFC 9578 SPKI encoding (id-RSASSA-PSS).
TokenKeyId TokenKeyIdOf(const crypto::BlindRsaPublicKey& key);
// The last byte of the key id, as TokenRequests carry it.
inline uint8_t TruncatedKeyId(const TokenKeyId& id) { return id.back(); }
ChallengeDigest ChallengeDigestOf(ByteView challenge);

// The client's state between request and response. `inv` is the secret that unblinds.
struct PendingToken {
  Token token;  // every field but the authenticator
  crypto::SecretBytes inv;
};

struct ClientTokenRequest {
  TokenRequest request;
  PendingToken pending;
};

// RFC 9578 §6.1: a fresh nonce, the challenge digest, the key id, and a blinded token input.
Result<ClientTokenRequest> CreateTokenRequest(ByteView challenge,
                                              const crypto::BlindRsaPublicKey& issuer_key);
// Vector reproduction only: fixes the nonce, PSS salt and blinding factor r (RFC 9578's "blind").
Result<ClientTokenRequest> CreateTokenRequestForTesting(ByteView challenge,
                                                        const crypto::BlindRsaPublicKey& issuer_key,
                                                        ByteView nonce, ByteView salt,
                                                        ByteView r);

// RFC 9578 §6.3: unblinds and verifies; kAuthenticationFailed if the issuer's answer is wrong.
Result<Token> FinalizeToken(const PendingToken& pending, const TokenResponse& response,
                            const crypto::BlindRsaPublicKey& issuer_key);

// RFC 9578 §6.2, the issuer's step. Checks the request's truncated key id names this key
// (kUnknownKey otherwise) before signing.
Result<TokenResponse> IssueTokenResponse(const crypto::BlindRsaPrivateKey& key,
                                         const TokenRequest& request);

// RFC 9578 §6.4: the authenticator is an RSASSA-PSS-SHA384 (salt 48) signature over the
// authenticator input under `key`. Checks only the signature; the redeemer checks the rest.
Status VerifyTokenSignature(const Token& token, const crypto::BlindRsaPublicKey& key);

}  // namespace openpcc::tokens
