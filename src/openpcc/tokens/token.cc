#include "openpcc/tokens/token.h"

#include <string>

#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::tokens {
namespace {

using wire::ByteReader;
using wire::ByteWriter;

Error Truncated(const std::string& what) {
  return Error(ErrorCode::kTruncated, "tokens: " + what + " is truncated");
}
Error Trailing(const std::string& what) {
  return Error(ErrorCode::kMalformed, "tokens: trailing bytes after " + what);
}

template <size_t N>
bool ReadArray(ByteReader& r, std::array<uint8_t, N>& out) {
  return r.CopyBytes(out);
}

Status CheckType(uint16_t type, const char* what) {
  if (type != kTokenTypeBlindRsa) {
    return Error(ErrorCode::kUnsupported, std::string("tokens: ") + what + " token_type " +
                                              HexU16(type) + " is not 0x0002");
  }
  return OkStatus();
}

}  // namespace

Result<Bytes> TokenChallenge::Encode() const {
  if (redemption_context.size() != 0 && redemption_context.size() != kRedemptionContextLength) {
    return Error(ErrorCode::kInvalidArgument,
                 "tokens: challenge redemption_context must be empty or 32 bytes");
  }
  if (issuer_name.empty()) {
    return Error(ErrorCode::kInvalidArgument, "tokens: challenge issuer_name is empty");
  }
  ByteWriter w;
  w.WriteU16(token_type);
  if (!w.WriteU16Prefixed(AsBytes(issuer_name)) || !w.WriteU8Prefixed(redemption_context) ||
      !w.WriteU16Prefixed(AsBytes(origin_info))) {
    return Error(ErrorCode::kOutOfRange, "tokens: challenge field longer than its length prefix");
  }
  return w.Take();
}

Result<TokenChallenge> TokenChallenge::Parse(ByteView bytes) {
  ByteReader r(bytes);
  TokenChallenge c;
  ByteReader issuer, context, origin;
  if (!r.ReadU16(&c.token_type)) return Truncated("challenge token_type");
  if (!r.ReadU16Prefixed(&issuer)) return Truncated("challenge issuer_name");
  if (issuer.empty()) return Error(ErrorCode::kMalformed, "tokens: challenge issuer_name is empty");
  if (!r.ReadU8Prefixed(&context)) return Truncated("challenge redemption_context");
  if (context.remaining() != 0 && context.remaining() != kRedemptionContextLength) {
    return Error(ErrorCode::kMalformed, "tokens: challenge redemption_context is " +
                                            std::to_string(context.remaining()) +
                                            " bytes, expected 0 or 32");
  }
  if (!r.ReadU16Prefixed(&origin)) return Truncated("challenge origin_info");
  if (!r.empty()) return Trailing("challenge");
  c.issuer_name = std::string(AsChars(issuer.rest()));
  c.redemption_context = ToBytes(context.rest());
  c.origin_info = std::string(AsChars(origin.rest()));
  return c;
}

Bytes TokenRequest::Encode() const {
  ByteWriter w(3 + blinded_msg.size());
  w.WriteU16(kTokenTypeBlindRsa);
  w.WriteU8(truncated_token_key_id);
  w.WriteBytes(blinded_msg);
  return w.Take();
}

Result<TokenRequest> TokenRequest::Parse(ByteView bytes) {
  ByteReader r(bytes);
  uint16_t type = 0;
  if (!r.ReadU16(&type)) return Truncated("request token_type");
  OPENPCC_RETURN_IF_ERROR(CheckType(type, "request"));
  TokenRequest req;
  std::span<const uint8_t> blinded;
  if (!r.ReadU8(&req.truncated_token_key_id)) return Truncated("request truncated_token_key_id");
  if (!r.ReadBytes(kBlindRsaNk, &blinded)) return Truncated("request blinded_msg");
  if (!r.empty()) return Trailing("request");
  req.blinded_msg = ToBytes(blinded);
  return req;
}

Result<TokenResponse> TokenResponse::Parse(ByteView bytes) {
  if (bytes.size() < kBlindRsaNk) return Truncated("response blind_sig");
  if (bytes.size() > kBlindRsaNk) return Trailing("response");
  return TokenResponse{ToBytes(bytes)};
}

Bytes Token::AuthenticatorInput() const {
  ByteWriter w(2 + kNonceLength + kChallengeDigestLength + kTokenKeyIdLength);
  w.WriteU16(token_type);
  w.WriteBytes(nonce);
  w.WriteBytes(challenge_digest);
  w.WriteBytes(token_key_id);
  return w.Take();
}

Bytes Token::Encode() const { return Concat(AuthenticatorInput(), authenticator); }

Result<Token> Token::Parse(ByteView bytes) {
  ByteReader r(bytes);
  Token t;
  if (!r.ReadU16(&t.token_type)) return Truncated("token token_type");
  OPENPCC_RETURN_IF_ERROR(CheckType(t.token_type, "token"));
  if (!ReadArray(r, t.nonce)) return Truncated("token nonce");
  if (!ReadArray(r, t.challenge_digest)) return Truncated("token challenge_digest");
  if (!ReadArray(r, t.token_key_id)) return Truncated("token token_key_id");
  std::span<const uint8_t> auth;
  if (!r.ReadBytes(kBlindRsaNk, &auth)) return Truncated("token authenticator");
  if (!r.empty()) return Trailing("token");
  t.authenticator = ToBytes(auth);
  return t;
}

Result<Bytes> EncodeBatchTokenRequest(std::span<const TokenRequest> requests) {
  Bytes body;
  for (const TokenRequest& req : requests) {
    if (req.blinded_msg.size() != kBlindRsaNk) {
      return Error(ErrorCode::kInvalidArgument, "tokens: request blinded_msg is not Nk bytes");
    }
    Append(body, req.Encode());
  }
  ByteWriter w;
  if (!w.WriteVarintPrefixed(body)) return Error(ErrorCode::kOutOfRange, "tokens: batch too long");
  return w.Take();
}

Result<std::vector<TokenRequest>> ParseBatchTokenRequest(ByteView bytes, size_t max_count) {
  ByteReader r(bytes);
  ByteReader list;
  if (!r.ReadVarintPrefixed(&list)) return Truncated("batch request");
  if (!r.empty()) return Trailing("batch request");
  constexpr size_t kEntry = 3 + kBlindRsaNk;
  if (list.remaining() / kEntry > max_count) {
    return Error(ErrorCode::kOutOfRange, "tokens: batch request has more than " +
                                             std::to_string(max_count) + " token requests");
  }
  std::vector<TokenRequest> out;
  while (!list.empty()) {
    // Every entry has the same length once its type is known to be 0x0002.
    uint16_t type = 0;
    ByteReader peek = list;
    if (!peek.ReadU16(&type)) return Truncated("batch request entry");
    OPENPCC_RETURN_IF_ERROR(CheckType(type, "batch request"));
    std::span<const uint8_t> entry;
    if (!list.ReadBytes(kEntry, &entry)) return Truncated("batch request entry");
    OPENPCC_ASSIGN_OR_RETURN(TokenRequest req, TokenRequest::Parse(entry));
    out.push_back(std::move(req));
  }
  if (out.empty()) return Error(ErrorCode::kMalformed, "tokens: batch request is empty");
  return out;
}

Result<Bytes> EncodeBatchTokenResponse(std::span<const std::optional<TokenResponse>> responses) {
  ByteWriter body;
  for (const auto& res : responses) {
    if (!res) {
      body.WriteU8(0x00);
      continue;
    }
    if (res->blind_sig.size() != kBlindRsaNk) {
      return Error(ErrorCode::kInvalidArgument, "tokens: response blind_sig is not Nk bytes");
    }
    body.WriteU8(0x01);
    body.WriteU16(kTokenTypeBlindRsa);
    body.WriteBytes(res->blind_sig);
  }
  ByteWriter w;
  if (!w.WriteVarintPrefixed(body.view())) {
    return Error(ErrorCode::kOutOfRange, "tokens: batch too long");
  }
  return w.Take();
}

Result<std::vector<std::optional<TokenResponse>>> ParseBatchTokenResponse(ByteView bytes,
                                                                          size_t max_count) {
  ByteReader r(bytes);
  ByteReader list;
  if (!r.ReadVarintPrefixed(&list)) return Truncated("batch response");
  if (!r.empty()) return Trailing("batch response");
  std::vector<std::optional<TokenResponse>> out;
  while (!list.empty()) {
    if (out.size() == max_count) {
      return Error(ErrorCode::kOutOfRange, "tokens: batch response has more than " +
                                               std::to_string(max_count) + " entries");
    }
    uint8_t present = 0;
    if (!list.ReadU8(&present)) return Truncated("batch response entry");
    if (present == 0x00) {
      out.emplace_back(std::nullopt);
      continue;
    }
    if (present != 0x01) {
      return Error(ErrorCode::kMalformed, "tokens: batch response entry flag is not 0 or 1");
    }
    uint16_t type = 0;
    if (!list.ReadU16(&type)) return Truncated("batch response token_type");
    OPENPCC_RETURN_IF_ERROR(CheckType(type, "batch response"));
    std::span<const uint8_t> sig;
    if (!list.ReadBytes(kBlindRsaNk, &sig)) return Truncated("batch response blind_sig");
    out.emplace_back(TokenResponse{ToBytes(sig)});
  }
  if (out.empty()) return Error(ErrorCode::kMalformed, "tokens: batch response is empty");
  return out;
}

}  // namespace openpcc::tokens
