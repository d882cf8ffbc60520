// Privacy Pass type 0x0002 structures and issuance (RFC 9578 §6, Appendix A.2 vectors), RFC 9577
// challenge/token vectors, generic batch encodings, and each parser refusing malformed input.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/token.h"
#include "support/vectors.h"

namespace openpcc::tokens {
namespace {

namespace json = boost::json;
using openpcc::testing::Hex;

json::array Type2Vectors() {
  json::array all = json::parse(openpcc::testing::ReadVectorFile(
                                    "protocols/privacypass-rfc9578/rfc9578-appendix-A-parsed.json"))
                        .as_array();
  json::array out;
  for (const auto& v : all) {
    if (std::string(v.at("token_challenge").as_string()).rfind("0002", 0) == 0) out.push_back(v);
  }
  return out;
}

Bytes F(const json::value& v, const char* name) { return Hex(v.at(name).as_string()); }

TEST(TokenTest, ReproducesRfc9578Type2Vectors) {
  const json::array vectors = Type2Vectors();
  ASSERT_EQ(vectors.size(), 5u);
  for (const auto& v : vectors) {
    auto sk = crypto::BlindRsaPrivateKey::FromPkcs8(F(v, "skS"));
    ASSERT_TRUE(sk.ok()) << sk.error().ToString();
    auto pk = crypto::BlindRsaPublicKey::FromSpki(F(v, "pkS"));
    ASSERT_TRUE(pk.ok());
    const Bytes challenge = F(v, "token_challenge");
    auto parsed_challenge = TokenChallenge::Parse(challenge);
    ASSERT_TRUE(parsed_challenge.ok()) << parsed_challenge.error().ToString();
    EXPECT_EQ(*parsed_challenge->Encode(), challenge);

    // The vectors' "blind" is the blinding factor r (RFC 9474's Blind returns its inverse).
    auto req = CreateTokenRequestForTesting(challenge, *pk, F(v, "nonce"), F(v, "salt"),
                                            F(v, "blind"));
    ASSERT_TRUE(req.ok()) << req.error().ToString();
    EXPECT_EQ(req->request.Encode(), F(v, "token_request"));
    auto parsed_req = TokenRequest::Parse(F(v, "token_request"));
    ASSERT_TRUE(parsed_req.ok());
    EXPECT_EQ(parsed_req->Encode(), F(v, "token_request"));

    auto res = IssueTokenResponse(*sk, *parsed_req);
    ASSERT_TRUE(res.ok()) << res.error().ToString();
    EXPECT_EQ(res->Encode(), F(v, "token_response"));

    auto token = FinalizeToken(req->pending, *res, *pk);
    ASSERT_TRUE(token.ok()) << token.error().ToString();
    EXPECT_EQ(token->Encode(), F(v, "token"));
    auto parsed_token = Token::Parse(F(v, "token"));
    ASSERT_TRUE(parsed_token.ok());
    EXPECT_EQ(parsed_token->Encode(), F(v, "token"));
    EXPECT_TRUE(VerifyTokenSignature(*parsed_token, *pk).ok());
    EXPECT_EQ(parsed_token->challenge_digest, ChallengeDigestOf(challenge));
    EXPECT_EQ(parsed_token->token_key_id, TokenKeyIdOf(*pk));

    Token tampered = *parsed_token;
    tampered.nonce[0] ^= 1;
    Status s = VerifyTokenSignature(tampered, *pk);
    EXPECT_EQ(s.error().code(), ErrorCode::kAuthenticationFailed);
    EXPECT_EQ(s.error().message(), "tokens: token signature does not verify");
  }
}

TEST(TokenTest, ReproducesRfc9577AuthenticatorInputs) {
  const json::array vectors = json::parse(openpcc::testing::ReadVectorFile(
                                              "protocols/privacypass-rfc9578/pat-go/token-test-vectors.json"))
                                  .as_array();
  size_t checked = 0;
  for (const auto& v : vectors) {
    if (std::string(v.at("token_type").as_string()) != "0002") continue;
    TokenChallenge c;
    c.token_type = kTokenTypeBlindRsa;
    c.issuer_name = std::string(AsChars(F(v, "issuer_name")));
    c.redemption_context = F(v, "redemption_context");
    c.origin_info = std::string(AsChars(F(v, "origin_info")));
    auto encoded = c.Encode();
    ASSERT_TRUE(encoded.ok());
    Token t;
    std::copy_n(F(v, "nonce").begin(), 32, t.nonce.begin());
    t.challenge_digest = ChallengeDigestOf(*encoded);
    std::copy_n(F(v, "token_key_id").begin(), 32, t.token_key_id.begin());
    EXPECT_EQ(t.AuthenticatorInput(), F(v, "token_authenticator_input"));
    ++checked;
  }
  EXPECT_EQ(checked, 5u);
}

TEST(TokenTest, TokenParseChecksTypeFirstThenEachField) {
  const json::array vectors = Type2Vectors();
  const Bytes token = F(vectors.at(0), "token");
  Bytes type1 = token;
  type1[1] = 0x01;
  auto r = Token::Parse(type1);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(r.error().message(), "tokens: token token_type 0x0001 is not 0x0002");
  r = Token::Parse(ByteView(token).first(1));
  EXPECT_EQ(r.error().message(), "tokens: token token_type is truncated");
  r = Token::Parse(ByteView(token).first(40));
  EXPECT_EQ(r.error().message(), "tokens: token challenge_digest is truncated");
  r = Token::Parse(ByteView(token).first(token.size() - 1));
  EXPECT_EQ(r.error().code(), ErrorCode::kTruncated);
  EXPECT_EQ(r.error().message(), "tokens: token authenticator is truncated");
  Bytes longer = token;
  longer.push_back(0);
  r = Token::Parse(longer);
  EXPECT_EQ(r.error().message(), "tokens: trailing bytes after token");
}

TEST(TokenTest, ChallengeParseRefusesBadRedemptionContextAndTrailingBytes) {
  TokenChallenge c{kTokenTypeBlindRsa, "issuer.example", Bytes(32, 7), "origin.example"};
  Bytes good = *c.Encode();
  ASSERT_TRUE(TokenChallenge::Parse(good).ok());
  c.redemption_context = Bytes(16, 7);
  EXPECT_EQ(c.Encode().error().code(), ErrorCode::kInvalidArgument);
  // Rewrite the context length prefix (after type and issuer_name) to 16 and drop 16 bytes.
  Bytes bad = good;
  const size_t ctx_at = 2 + 2 + c.issuer_name.size();
  bad[ctx_at] = 16;
  bad.erase(bad.begin() + static_cast<long>(ctx_at) + 1, bad.begin() + static_cast<long>(ctx_at) + 17);
  auto r = TokenChallenge::Parse(bad);
  EXPECT_EQ(r.error().message(), "tokens: challenge redemption_context is 16 bytes, expected 0 or 32");
  good.push_back(0);
  EXPECT_EQ(TokenChallenge::Parse(good).error().message(), "tokens: trailing bytes after challenge");
}

TEST(TokenTest, IssueRefusesAnotherKeysTruncatedId) {
  const json::array vectors = Type2Vectors();
  const auto& v = vectors.at(0);
  auto sk = crypto::BlindRsaPrivateKey::FromPkcs8(F(v, "skS"));
  ASSERT_TRUE(sk.ok());
  auto req = TokenRequest::Parse(F(v, "token_request"));
  ASSERT_TRUE(req.ok());
  req->truncated_token_key_id ^= 1;
  auto r = IssueTokenResponse(*sk, *req);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnknownKey);
}

TEST(TokenTest, BatchEncodingsRoundTripAndRefuseMalformedBatches) {
  const json::array vectors = Type2Vectors();
  const auto& v = vectors.at(0);
  auto req = TokenRequest::Parse(F(v, "token_request"));
  ASSERT_TRUE(req.ok());
  std::vector<TokenRequest> reqs{*req, *req, *req};
  auto batch = EncodeBatchTokenRequest(reqs);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->size(), 2 + 3 * 259u);
  auto parsed = ParseBatchTokenRequest(*batch);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[2].Encode(), F(v, "token_request"));
  auto limited = ParseBatchTokenRequest(*batch, 2);
  EXPECT_EQ(limited.error().code(), ErrorCode::kOutOfRange);
  Bytes cut = *batch;
  cut.pop_back();
  EXPECT_EQ(ParseBatchTokenRequest(cut).error().code(), ErrorCode::kTruncated);

  std::vector<std::optional<TokenResponse>> res{TokenResponse{F(v, "token_response")},
                                                std::nullopt};
  auto rbatch = EncodeBatchTokenResponse(res);
  ASSERT_TRUE(rbatch.ok());
  auto rparsed = ParseBatchTokenResponse(*rbatch);
  ASSERT_TRUE(rparsed.ok());
  ASSERT_EQ(rparsed->size(), 2u);
  EXPECT_EQ((*rparsed)[0]->blind_sig, F(v, "token_response"));
  EXPECT_FALSE((*rparsed)[1].has_value());
  Bytes bad_flag = *rbatch;
  bad_flag[2] = 0x02;
  EXPECT_EQ(ParseBatchTokenResponse(bad_flag).error().message(),
            "tokens: batch response entry flag is not 0 or 1");
}

}  // namespace
}  // namespace openpcc::tokens
