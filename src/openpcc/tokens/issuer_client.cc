#include "openpcc/tokens/issuer_client.h"

#include <boost/json.hpp>

#include <algorithm>

#include "openpcc/tokens/issuance.h"

namespace openpcc::tokens {
namespace {

constexpr size_t kMaxErrorBody = 4096;

// "429 quota_exceeded: issuer: hourly quota ..." from an error response's JSON, if it has one.
std::string DescribeRefusal(const net::ClientResponse& res) {
  std::string out = std::to_string(res.status);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(res.body.substr(0, kMaxErrorBody), ec);
  if (!ec && v.is_object()) {
    const boost::json::object* error = v.as_object().if_contains("error")
                                           ? v.as_object().at("error").if_object()
                                           : nullptr;
    if (error != nullptr) {
      if (const auto* code = error->if_contains("code"); code && code->is_string()) {
        out += " " + std::string(code->as_string());
      }
      if (const auto* msg = error->if_contains("message"); msg && msg->is_string()) {
        out += ": " + std::string(msg->as_string());
      }
    }
  }
  return out;
}

Error RefusalError(std::string_view what, const net::ClientResponse& res) {
  const std::string described = "issuer client: " + std::string(what) + " refused (" +
                                DescribeRefusal(res) + ")";
  if (res.status == 401) return Error(ErrorCode::kAuthenticationFailed, described);
  if (res.status == 429) {
    return Error(ErrorCode::kOutOfRange,
                 described + ", retry after " + res.header("retry-after").value_or("?") + " s");
  }
  return Error(ErrorCode::kFailedPrecondition, described);
}

std::string MediaTypeOf(const net::ClientResponse& res) {
  std::string type = res.header("content-type").value_or("");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type;
}

}  // namespace

Result<std::unique_ptr<IssuerClient>> IssuerClient::Create(std::string issuer_url,
                                                           crypto::SecretString api_key,
                                                           net::ClientOptions options) {
  OPENPCC_ASSIGN_OR_RETURN(net::Url base, net::ParseUrl(issuer_url));
  if (base.target != "/") {
    return Error(ErrorCode::kInvalidArgument,
                 "issuer client: the issuer URL is an origin without a path, got '" + issuer_url +
                     "'");
  }
  OPENPCC_ASSIGN_OR_RETURN(std::unique_ptr<net::BlockingClient> http,
                           net::BlockingClient::Create(std::move(options)));
  return std::unique_ptr<IssuerClient>(
      new IssuerClient(std::move(base), std::move(api_key), std::move(http)));
}

Result<IssuerDirectory> IssuerClient::FetchDirectory() {
  const std::string url = base_.Origin() + std::string(kIssuerDirectoryPath);
  net::ClientRequest request("GET", url,
                             {{"Accept", std::string(kIssuerDirectoryMediaType)}});
  OPENPCC_ASSIGN_OR_RETURN(net::ClientResponse res,
                           http_->Fetch(request, "", kMaxIssuerDirectoryLength));
  if (res.status != 200) return RefusalError("directory", res);
  if (MediaTypeOf(res) != kIssuerDirectoryMediaType) {
    return Error(ErrorCode::kUnsupported, "issuer client: directory media type is '" +
                                              MediaTypeOf(res) + "', expected " +
                                              std::string(kIssuerDirectoryMediaType));
  }
  OPENPCC_ASSIGN_OR_RETURN(IssuerDirectory dir, IssuerDirectory::Parse(res.body));
  OPENPCC_ASSIGN_OR_RETURN(net::Url uri, net::ParseUrl(dir.issuer_request_uri));
  if (uri.Origin() != base_.Origin()) {
    return Error(ErrorCode::kFailedPrecondition,
                 "issuer client: directory's issuer-request-uri is not on the issuer's origin " +
                     base_.Origin() + " (the API key is sent nowhere else)");
  }
  std::lock_guard lock(mu_);
  request_url_ = dir.issuer_request_uri;
  return dir;
}

Result<std::vector<TokenVerificationKey>> IssuerClient::FetchAllowedKeys(
    const std::vector<TokenKeyId>& allowed) {
  OPENPCC_ASSIGN_OR_RETURN(IssuerDirectory dir, FetchDirectory());
  OPENPCC_ASSIGN_OR_RETURN(std::vector<TokenVerificationKey> keys,
                           VerificationKeysFromDirectory(dir));
  std::erase_if(keys, [&](const TokenVerificationKey& k) {
    return std::find(allowed.begin(), allowed.end(), k.id) == allowed.end();
  });
  if (keys.empty()) {
    return Error(ErrorCode::kUnknownKey,
                 "issuer client: the directory lists no token key that the policy allows");
  }
  return keys;
}

Result<std::string> IssuerClient::RequestUrl() {
  {
    std::lock_guard lock(mu_);
    if (request_url_) return *request_url_;
  }
  Result<IssuerDirectory> dir = FetchDirectory();
  if (!dir.ok()) return std::move(dir).error();
  std::lock_guard lock(mu_);
  return *request_url_;
}

Result<std::vector<std::optional<TokenResponse>>> IssuerClient::Issue(
    const std::vector<TokenRequest>& requests) {
  if (requests.empty()) return Error(ErrorCode::kInvalidArgument, "issuer client: no requests");
  OPENPCC_ASSIGN_OR_RETURN(std::string url, RequestUrl());
  const bool batch = requests.size() > 1;
  Bytes body;
  if (batch) {
    OPENPCC_ASSIGN_OR_RETURN(body, EncodeBatchTokenRequest(requests));
  } else {
    body = requests[0].Encode();
  }
  const std::string_view media = batch ? kBatchTokenRequestMediaType : kTokenRequestMediaType;
  const std::string_view expected = batch ? kBatchTokenResponseMediaType : kTokenResponseMediaType;
  net::ClientRequest request(
      "POST", url,
      {{"Content-Type", std::string(media)},
       {"Accept", std::string(expected)},
       {"Authorization", "Bearer " + std::string(api_key_.data(), api_key_.size())}});
  const size_t max_response = 16 + requests.size() * (4 + kBlindRsaNk);
  Result<net::ClientResponse> fetched = http_->Fetch(request, AsChars(body), max_response);
  crypto::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(request.headers.back().second.data()),
                                  request.headers.back().second.size()));
  OPENPCC_ASSIGN_OR_RETURN(net::ClientResponse res, std::move(fetched));
  if (res.status != 200) return RefusalError("token request", res);
  if (MediaTypeOf(res) != expected) {
    return Error(ErrorCode::kUnsupported, "issuer client: response media type is '" +
                                              MediaTypeOf(res) + "', expected " +
                                              std::string(expected));
  }
  const ByteView bytes(reinterpret_cast<const uint8_t*>(res.body.data()), res.body.size());
  if (!batch) {
    OPENPCC_ASSIGN_OR_RETURN(TokenResponse one, TokenResponse::Parse(bytes));
    std::vector<std::optional<TokenResponse>> out;
    out.emplace_back(std::move(one));
    return out;
  }
  OPENPCC_ASSIGN_OR_RETURN(auto responses, ParseBatchTokenResponse(bytes, requests.size()));
  if (responses.size() != requests.size()) {
    return Error(ErrorCode::kMalformed, "issuer client: batch response has " +
                                            std::to_string(responses.size()) + " entries for " +
                                            std::to_string(requests.size()) + " requests");
  }
  return responses;
}

TokenFetcher IssuerClient::Fetcher() {
  return [this](const std::vector<TokenRequest>& requests) { return Issue(requests); };
}

}  // namespace openpcc::tokens
