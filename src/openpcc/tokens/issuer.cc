#include "openpcc/tokens/issuer.h"

#include <memory>

#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/issuer_directory.h"

namespace openpcc::tokens {

namespace {

std::optional<TokenResponse> SignWith(const IssuerKey& key, const TokenRequest& request) {
  auto response = IssueTokenResponse(*key.key, request);
  if (!response.ok()) return std::nullopt;  // a blinded message not below n: refuse that one
  return std::move(response).value();
}

}  // namespace

std::optional<TokenResponse> Issuer::SignOne(const TokenRequest& request,
                                             std::chrono::sys_seconds now) const {
  std::shared_ptr<const IssuerKey> key = keys_.ForIssuance(request.truncated_token_key_id, now);
  if (!key) return std::nullopt;
  return SignWith(*key, request);
}

Result<std::vector<std::optional<TokenResponse>>> Issuer::IssueBatch(
    std::string_view api_key, std::span<const TokenRequest> requests,
    std::chrono::sys_seconds now) {
  OPENPCC_ASSIGN_OR_RETURN(AccountId account, accounts_.Authenticate(api_key));
  return IssueBatchFor(account, requests, now);
}

Result<std::vector<std::optional<TokenResponse>>> Issuer::IssueBatchFor(
    AccountId account, std::span<const TokenRequest> requests, std::chrono::sys_seconds now) {
  if (requests.empty()) return Error(ErrorCode::kInvalidArgument, "issuer: empty batch");
  if (requests.size() > max_batch_) {
    return Error(ErrorCode::kOutOfRange, "issuer: batch of " + std::to_string(requests.size()) +
                                             " requests exceeds " + std::to_string(max_batch_));
  }
  // Keys first: a request naming no issuing key is refused without charging the account. The keys
  // found here are the ones signed with, so a rotation in between cannot change what was charged.
  std::vector<std::shared_ptr<const IssuerKey>> keys;
  keys.reserve(requests.size());
  uint32_t known = 0;
  for (const TokenRequest& r : requests) {
    keys.push_back(keys_.ForIssuance(r.truncated_token_key_id, now));
    if (keys.back()) ++known;
  }
  if (known > 0) OPENPCC_RETURN_IF_ERROR(accounts_.ConsumeQuota(account, known, now));
  std::vector<std::optional<TokenResponse>> out;
  out.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    out.push_back(keys[i] ? SignWith(*keys[i], requests[i]) : std::nullopt);
  }
  return out;
}

Result<IssuerResponse> Issuer::HandleTokenRequest(std::string_view api_key,
                                                  std::string_view media_type, ByteView body,
                                                  std::chrono::sys_seconds now) {
  OPENPCC_ASSIGN_OR_RETURN(AccountId account, accounts_.Authenticate(api_key));
  return HandleTokenRequestFor(account, media_type, body, now);
}

Result<IssuerResponse> Issuer::HandleTokenRequestFor(AccountId account,
                                                     std::string_view media_type, ByteView body,
                                                     std::chrono::sys_seconds now) {
  if (media_type == kTokenRequestMediaType) {
    OPENPCC_ASSIGN_OR_RETURN(TokenRequest request, TokenRequest::Parse(body));
    if (!keys_.ForIssuance(request.truncated_token_key_id, now)) {
      return Error(ErrorCode::kUnknownKey, "issuer: request names no issuing token key");
    }
    OPENPCC_ASSIGN_OR_RETURN(auto responses, IssueBatchFor(account, {&request, 1}, now));
    if (!responses[0]) {
      return Error(ErrorCode::kInvalidArgument, "issuer: blinded_msg is not below the token key's modulus");
    }
    return IssuerResponse{kTokenResponseMediaType, responses[0]->Encode()};
  }
  if (media_type == kBatchTokenRequestMediaType) {
    OPENPCC_ASSIGN_OR_RETURN(std::vector<TokenRequest> requests,
                             ParseBatchTokenRequest(body, max_batch_));
    OPENPCC_ASSIGN_OR_RETURN(auto responses, IssueBatchFor(account, requests, now));
    OPENPCC_ASSIGN_OR_RETURN(Bytes encoded, EncodeBatchTokenResponse(responses));
    return IssuerResponse{kBatchTokenResponseMediaType, std::move(encoded)};
  }
  return Error(ErrorCode::kUnsupported, "issuer: media type is not a token request");
}

}  // namespace openpcc::tokens
