// tokens/token.h — Privacy Pass wire structures for token type 0x0002 (publicly verifiable, blind
// RSA 2048, RFC 9578 §6) and the TokenChallenge of the HTTP authentication scheme (RFC 9577 §2.1),
// plus the generic batch encodings used for batch issuance (draft-ietf-privacypass-generic-batch,
// as @cloudflare/privacypass-ts implements them).
//
// Parsers read untrusted bytes through wire::ByteReader, check every length against the token
// type's fixed sizes, refuse trailing bytes, and do no crypto; verification lives in issuance.h.
// Thread safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::tokens {

inline constexpr uint16_t kTokenTypeBlindRsa = 0x0002;
inline constexpr size_t kNonceLength = 32;
inline constexpr size_t kChallengeDigestLength = 32;
inline constexpr size_t kTokenKeyIdLength = 32;
// Nk of token type 0x0002: the 2048-bit modulus length.
inline constexpr size_t kBlindRsaNk = 256;
// Redemption contexts are empty or exactly 32 bytes (RFC 9577 §2.1).
inline constexpr size_t kRedemptionContextLength = 32;
// Largest batch a parser accepts; the issuer may set a smaller one.
inline constexpr size_t kMaxBatchSize = 1024;

using Nonce = std::array<uint8_t, kNonceLength>;
using TokenKeyId = std::array<uint8_t, kTokenKeyIdLength>;
using ChallengeDigest = std::array<uint8_t, kChallengeDigestLength>;

// struct { uint16 token_type; opaque issuer_name<1..2^16-1>; opaque redemption_context<0..32>;
//          opaque origin_info<0..2^16-1>; } TokenChallenge;
struct TokenChallenge {
  uint16_t token_type = kTokenTypeBlindRsa;
  std::string issuer_name;
  Bytes redemption_context;  // empty or 32 bytes
  std::string origin_info;   // comma-separated origin names, may be empty

  Result<Bytes> Encode() const;
  static Result<TokenChallenge> Parse(ByteView bytes);
};

// struct { uint16 token_type = 0x0002; uint8 truncated_token_key_id; uint8 blinded_msg[Nk]; }
struct TokenRequest {
  uint8_t truncated_token_key_id = 0;
  Bytes blinded_msg;  // kBlindRsaNk bytes

  Bytes Encode() const;
  static Result<TokenRequest> Parse(ByteView bytes);
};

// struct { uint8 blind_sig[Nk]; } TokenResponse;
struct TokenResponse {
  Bytes blind_sig;  // kBlindRsaNk bytes

  Bytes Encode() const { return blind_sig; }
  static Result<TokenResponse> Parse(ByteView bytes);
};

// struct { uint16 token_type; uint8 nonce[32]; uint8 challenge_digest[32];
//          uint8 token_key_id[32]; uint8 authenticator[Nk]; } Token;
struct Token {
  uint16_t token_type = kTokenTypeBlindRsa;
  Nonce nonce{};
  ChallengeDigest challenge_digest{};
  TokenKeyId token_key_id{};
  Bytes authenticator;  // kBlindRsaNk bytes

  // token_type || nonce || challenge_digest || token_key_id: what the authenticator signs.
  Bytes AuthenticatorInput() const;
  Bytes Encode() const;
  // Reads the token type first and refuses any but 0x0002 (kUnsupported) before anything else.
  static Result<Token> Parse(ByteView bytes);
};

// Generic batch request: TokenRequest token_requests<V> (varint length of the concatenation).
// Only type 0x0002 requests are accepted; 1..max_count of them.
Result<Bytes> EncodeBatchTokenRequest(std::span<const TokenRequest> requests);
Result<std::vector<TokenRequest>> ParseBatchTokenRequest(ByteView bytes,
                                                         size_t max_count = kMaxBatchSize);

// Generic batch response: OptionalTokenResponse responses<V>, each either absent (0x00) or
// present (0x01, uint16 token_type, TokenResponse). An absent entry is a request the issuer
// refused (an unknown truncated key id); the batch keeps the request order.
Result<Bytes> EncodeBatchTokenResponse(std::span<const std::optional<TokenResponse>> responses);
Result<std::vector<std::optional<TokenResponse>>> ParseBatchTokenResponse(
    ByteView bytes, size_t max_count = kMaxBatchSize);

}  // namespace openpcc::tokens
