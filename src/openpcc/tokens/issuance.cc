#include "openpcc/tokens/issuance.h"

#include <algorithm>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/random.h"

namespace openpcc::tokens {
namespace {

template <size_t N>
std::array<uint8_t, N> ToArray(ByteView bytes) {
  std::array<uint8_t, N> out{};
  std::copy_n(bytes.begin(), N, out.begin());
  return out;
}

Result<ClientTokenRequest> Create(ByteView challenge, const crypto::BlindRsaPublicKey& key,
                                  ByteView nonce, ByteView salt, ByteView r) {
  if (key.modulus_length() != kBlindRsaNk) {
    return Error(ErrorCode::kUnsupported, "tokens: issuer key is not a 2048-bit RSA key");
  }
  if (nonce.size() != kNonceLength) {
    return Error(ErrorCode::kInvalidArgument, "tokens: nonce is not 32 bytes");
  }
  ClientTokenRequest out;
  Token& t = out.pending.token;
  t.token_type = kTokenTypeBlindRsa;
  t.nonce = ToArray<kNonceLength>(nonce);
  t.challenge_digest = ChallengeDigestOf(challenge);
  t.token_key_id = TokenKeyIdOf(key);
  const Bytes input = t.AuthenticatorInput();
  Result<crypto::BlindRsaBlinding> blinding =
      r.empty() ? crypto::BlindRsaBlind(kTokenVariant, key, input)
                : crypto::BlindRsaBlindForTesting(kTokenVariant, key, input, {salt, r, {}});
  if (!blinding.ok()) return std::move(blinding).error();
  out.request.truncated_token_key_id = TruncatedKeyId(t.token_key_id);
  out.request.blinded_msg = std::move(blinding->blinded_msg);
  out.pending.inv = std::move(blinding->inv);
  return out;
}

}  // namespace

TokenKeyId TokenKeyIdOf(const crypto::BlindRsaPublicKey& key) {
  return ToArray<kTokenKeyIdLength>(crypto::Sha256(key.SpkiRsaPss()));
}

ChallengeDigest ChallengeDigestOf(ByteView challenge) {
  return ToArray<kChallengeDigestLength>(crypto::Sha256(challenge));
}

Result<ClientTokenRequest> CreateTokenRequest(ByteView challenge,
                                              const crypto::BlindRsaPublicKey& issuer_key) {
  Nonce nonce;
  crypto::RandomBytes(nonce);
  return Create(challenge, issuer_key, nonce, {}, {});
}

Result<ClientTokenRequest> CreateTokenRequestForTesting(ByteView challenge,
                                                        const crypto::BlindRsaPublicKey& issuer_key,
                                                        ByteView nonce, ByteView salt,
                                                        ByteView r) {
  if (r.empty()) return Error(ErrorCode::kInvalidArgument, "tokens: empty testing r");
  return Create(challenge, issuer_key, nonce, salt, r);
}

Result<Token> FinalizeToken(const PendingToken& pending, const TokenResponse& response,
                            const crypto::BlindRsaPublicKey& issuer_key) {
  if (TokenKeyIdOf(issuer_key) != pending.token.token_key_id) {
    return Error(ErrorCode::kInvalidArgument, "tokens: finalizing with another key than requested");
  }
  OPENPCC_ASSIGN_OR_RETURN(
      Bytes sig, crypto::BlindRsaFinalize(kTokenVariant, issuer_key,
                                          pending.token.AuthenticatorInput(), response.blind_sig,
                                          pending.inv));
  Token token = pending.token;
  token.authenticator = std::move(sig);
  return token;
}

Result<TokenResponse> IssueTokenResponse(const crypto::BlindRsaPrivateKey& key,
                                         const TokenRequest& request) {
  if (request.truncated_token_key_id != TruncatedKeyId(TokenKeyIdOf(key.public_key()))) {
    return Error(ErrorCode::kUnknownKey, "tokens: request truncated_token_key_id is not this key's");
  }
  OPENPCC_ASSIGN_OR_RETURN(Bytes sig, crypto::BlindRsaBlindSign(key, request.blinded_msg));
  return TokenResponse{std::move(sig)};
}

Status VerifyTokenSignature(const Token& token, const crypto::BlindRsaPublicKey& key) {
  Status s = crypto::BlindRsaVerify(kTokenVariant, key, token.AuthenticatorInput(),
                                    token.authenticator);
  if (!s.ok()) {
    return Error(ErrorCode::kAuthenticationFailed, "tokens: token signature does not verify");
  }
  return OkStatus();
}

}  // namespace openpcc::tokens
