// client/sealed_call: candidate sampling (uniform, min(K, N), ids checked against configs), and a
// whole call with real crypto — tokens from a real wallet (blind RSA), the sealed request opened by
// in-process nodes with wire/sealed.h behind an in-process OHTTP gateway on loopback — plus the
// client's refusals: a response from a node outside the candidates, a truncated sealed stream, the
// gateway's refusal, and an empty wallet (the gateway then never called).
#include "openpcc/client/sealed_call.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "openpcc/crypto/blind_rsa.h"
#include "openpcc/crypto/kem.h"
#include "openpcc/crypto/random.h"
#include "openpcc/tokens/auth_scheme.h"
#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/key_set.h"
#include "openpcc/util/http_date.h"
#include "openpcc/wire/bhttp.h"
#include "support/ohttp_gateway.h"

namespace openpcc::client {
namespace {

namespace bhttp = wire::bhttp;
using std::chrono::hours;
using std::chrono::seconds;
using testing::GatewayInnerReply;
using testing::GatewayInnerRequest;
const std::chrono::sys_seconds T0{seconds(1'700'000'000)};

struct TestNode {
  wire::NodeKey key;
  NodeCandidate candidate;
};

TestNode MakeNode() {
  Result<crypto::SoftwareDhKey> dh = crypto::SoftwareDhKey::Generate(crypto::KemId::kX25519HkdfSha256);
  EXPECT_TRUE(dh.ok());
  wire::KeyConfig config;
  config.key_id = 1;
  config.kem = crypto::KemId::kX25519HkdfSha256;
  config.public_key = ToBytes(dh->public_key());
  config.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes256Gcm}};
  Result<wire::NodeKey> key =
      wire::MakeNodeKey(config, std::make_shared<crypto::SoftwareDhKey>(std::move(dh).value()));
  EXPECT_TRUE(key.ok());
  return TestNode{*key, NodeCandidate{key->node_id, config}};
}

std::string Str(const crypto::SecretString& s) { return std::string(s.data(), s.size()); }

// ---- PickCandidates ------------------------------------------------------------------------------

class PickTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 5; ++i) nodes_.push_back(MakeNode().candidate);
  }
  std::vector<NodeCandidate> nodes_;
};

TEST_F(PickTest, PicksMinKNDistinctNodesFromTheList) {
  Result<std::vector<NodeCandidate>> three = PickCandidates(nodes_, 3, CsprngRandom());
  ASSERT_TRUE(three.ok()) << three.error().ToString();
  ASSERT_EQ(three->size(), 3u);
  std::set<Bytes> ids;
  for (const NodeCandidate& c : *three) {
    ids.insert(c.node_id);
    EXPECT_TRUE(std::any_of(nodes_.begin(), nodes_.end(), [&](const NodeCandidate& n) { return n.node_id == c.node_id; }));
  }
  EXPECT_EQ(ids.size(), 3u);
  Result<std::vector<NodeCandidate>> all = PickCandidates(nodes_, 8, CsprngRandom());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);
}

TEST_F(PickTest, UsesTheRandomSourceForEveryDraw) {
  std::vector<uint64_t> bounds;
  auto last = [&bounds](uint64_t bound) {
    bounds.push_back(bound);
    return bound - 1;
  };
  Result<std::vector<NodeCandidate>> picked = PickCandidates(nodes_, 2, last);
  ASSERT_TRUE(picked.ok());
  EXPECT_EQ(bounds, (std::vector<uint64_t>{5, 4}));
  // j = 0 + 4 → node 4 first; then positions 1..4 hold 1,2,3,0: j = 1 + 3 → node 0.
  EXPECT_EQ((*picked)[0].node_id, nodes_[4].node_id);
  EXPECT_EQ((*picked)[1].node_id, nodes_[0].node_id);
  auto out_of_range = [](uint64_t bound) { return bound; };
  EXPECT_EQ(PickCandidates(nodes_, 2, out_of_range).error().code(), ErrorCode::kInternal);
}

TEST_F(PickTest, IsUniformWithTheCsprng) {
  // K = 2 of N = 5: each node is in a sample with probability 2/5. 5000 samples: expect 2000 per
  // node; 5 standard deviations (≈ 173) would be a bug, not chance.
  std::map<Bytes, int> counts;
  for (int i = 0; i < 5000; ++i) {
    Result<std::vector<NodeCandidate>> picked = PickCandidates(nodes_, 2, CsprngRandom());
    ASSERT_TRUE(picked.ok());
    for (const NodeCandidate& c : *picked) counts[c.node_id]++;
  }
  ASSERT_EQ(counts.size(), 5u);
  for (const auto& [id, n] : counts) {
    EXPECT_GT(n, 2000 - 180);
    EXPECT_LT(n, 2000 + 180);
  }
}

TEST_F(PickTest, RefusesIdsThatAreNotTheirConfigsDuplicatesAndBadK) {
  std::vector<NodeCandidate> wrong = nodes_;
  wrong[2].node_id = nodes_[3].node_id;  // an operator relabelling a node
  auto s = PickCandidates(wrong, 3, CsprngRandom());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("node 2: node_id is not SHA-256 of its key config"), std::string::npos)
      << s.error().message();
  std::vector<NodeCandidate> twice = {nodes_[0], nodes_[1], nodes_[0]};
  s = PickCandidates(twice, 2, CsprngRandom());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("node 2 repeats an earlier node_id"), std::string::npos);
  EXPECT_NE(PickCandidates(nodes_, 0, CsprngRandom()).error().message().find("K must be in [1, 8]"),
            std::string::npos);
  EXPECT_FALSE(PickCandidates(nodes_, 9, CsprngRandom()).ok());
  EXPECT_FALSE(PickCandidates({}, 2, CsprngRandom()).ok());
}

// ---- A whole call --------------------------------------------------------------------------------

class Collect final : public ResponseSink {
 public:
  Status OnHead(const InnerResponseHead& h) override {
    head = h;
    return OkStatus();
  }
  Status OnContent(ByteView piece) override {
    body.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    return OkStatus();
  }
  InnerResponseHead head;
  std::string body;
};

enum class Fault { kNone, kForeignNode, kTruncated, kFinalChunkCut, kGatewayRefuses };

class SealedCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 4; ++i) nodes_.push_back(MakeNode());
    for (const TestNode& n : nodes_) directory_.push_back(n.candidate);
    // Tokens: a real issuer key and a wallet filled by one scheduled refill.
    auto sk = crypto::BlindRsaPrivateKey::Generate(2048);
    ASSERT_TRUE(sk.ok());
    auto key = tokens::IssuerKey::Make(std::move(sk).value(), {T0, T0 + hours(10), T0 + hours(20)});
    ASSERT_TRUE(key.ok());
    issuer_ = std::make_shared<tokens::IssuerKey>(std::move(key).value());
    std::string tmpl = (std::filesystem::temp_directory_path() / "openpcc-sealed-call-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    tokens::WalletPolicy policy;
    policy.batch_size = 2;
    policy.refill_below = 1;
    policy.allowed_keys = {issuer_->id};
    policy.challenge = *tokens::TokenChallenge{tokens::kTokenTypeBlindRsa, "issuer.test", {}, "openpcc"}.Encode();
    auto wallet = tokens::Wallet::Open((dir_ / "tokens").string(), policy, [](uint64_t) { return 0; });
    ASSERT_TRUE(wallet.ok());
    wallet_ = std::move(wallet).value();
    gateway_ = std::make_unique<testing::OhttpTestGateway>(
        [this](const GatewayInnerRequest& r) { return Gateway(r); });
    TransportConfig config;
    config.relay_url = gateway_->url("/gateway");  // the relay is transparent; tested elsewhere
    auto transport = OhttpTransport::Create(config);
    ASSERT_TRUE(transport.ok());
    transport_ = std::move(transport).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void FillWallet() {
    const std::vector<tokens::TokenVerificationKey> keys = {issuer_->Verification()};
    auto fetch = [this](const std::vector<tokens::TokenRequest>& requests)
        -> Result<std::vector<std::optional<tokens::TokenResponse>>> {
      std::vector<std::optional<tokens::TokenResponse>> out;
      for (const tokens::TokenRequest& r : requests) {
        OPENPCC_ASSIGN_OR_RETURN(tokens::TokenResponse response, tokens::IssueTokenResponse(*issuer_->key, r));
        out.push_back(std::move(response));
      }
      return out;
    };
    size_t added = 0;
    for (int i = 0; i < 3 && added == 0; ++i) added = *wallet_->Tick(T0, keys, fetch);
    ASSERT_EQ(added, 2u);
  }

  // The gateway and the chosen node, in one: checks the token, opens the sealed request with the
  // first node that holds one of the candidates' keys, answers sealed (or faulty).
  GatewayInnerReply Gateway(const GatewayInnerRequest& r) {
    std::lock_guard lock(mu_);
    GatewayInnerReply reply;
    ++gateway_calls_;
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/v1/infer");
    EXPECT_EQ(r.header("content-type"), "application/openpcc-sealed-request");
    Result<Bytes> token_bytes = tokens::ParseAuthorization(r.header("authorization"));
    Result<tokens::Token> token = token_bytes.ok() ? tokens::Token::Parse(*token_bytes)
                                                   : Result<tokens::Token>(token_bytes.error());
    token_verified_ = token.ok() && tokens::VerifyTokenSignature(*token, *issuer_->Verification().key).ok();
    if (fault_ == Fault::kGatewayRefuses) {
      reply.status = 401;
      reply.headers = {{"content-type", "application/json"}};
      reply.pieces = {R"({"error":{"message":"token already spent","type":"invalid_request_error","code":"token_spent"}})"};
      return reply;
    }
    for (const TestNode& node : nodes_) {
      wire::SealedRequestReader reader({node.key});
      crypto::SecretBytes plain, last;
      if (!reader.Push(AsBytes(r.body), plain).ok() || !reader.Finish(last).ok()) continue;
      crypto::SecretVector all(plain.data(), plain.data() + plain.size());
      all.insert(all.end(), last.data(), last.data() + last.size());
      inner_size_ = all.size();
      Result<bhttp::Request> inner = bhttp::DecodeRequest(ByteView(all.data(), all.size()));
      EXPECT_TRUE(inner.ok());
      for (const bhttp::Field& f : inner->headers) {
        if (Str(f.name) == "date") date_ = Str(f.value);
      }
      engine_body_.assign(reinterpret_cast<const char*>(inner->content.data()), inner->content.size());
      answered_by_ = node.key.node_id;

      bhttp::Response response;
      response.status = 200;
      response.headers.push_back({bhttp::Text("content-type"), bhttp::Text("application/json")});
      const std::string text = R"({"choices":[{"message":{"content":"hello from the node"}}]})";
      response.content.assign(text.begin(), text.end());
      Result<crypto::SecretVector> encoded = bhttp::EncodeResponse(response);
      Bytes sealed;
      Result<wire::SealedResponseWriter> writer = reader.MakeResponseWriter(sealed);
      EXPECT_TRUE(writer.ok());
      const ByteView all_plain(encoded->data(), encoded->size());
      EXPECT_TRUE(writer->Write(all_plain.subspan(0, 10), sealed).ok());
      EXPECT_TRUE(writer->Finish(all_plain.subspan(10), sealed).ok());
      std::string bytes(AsChars(sealed));
      if (fault_ == Fault::kForeignNode) {
        // A node outside the candidates answering (the gateway forwarding elsewhere).
        const Bytes foreign = MakeNode().key.node_id;
        bytes.replace(0, foreign.size(), AsChars(foreign));
      }
      // node_id(32) response_nonce(32) varint(26) chunk(10 + 16): the first chunk only, no final.
      if (fault_ == Fault::kTruncated) bytes.resize(32 + 32 + 1 + 26);
      if (fault_ == Fault::kFinalChunkCut) bytes.resize(bytes.size() - 20);
      reply.headers = {{"content-type", "application/openpcc-sealed-response"}};
      reply.pieces = {bytes.substr(0, 40), bytes.substr(40)};
      return reply;
    }
    reply.status = 421;
    reply.pieces = {"no node"};
    return reply;
  }

  Result<Bytes> Call(size_t k = 2) {
    EngineRequest request;
    request.body = R"({"model":"tiny","messages":[{"role":"user","content":"hi"}]})";
    return RunSealedCall(*transport_, gateway_->config(), directory_, k, request, *wallet_, T0, sink_,
                         CsprngRandom());
  }

  std::vector<TestNode> nodes_;
  std::vector<NodeCandidate> directory_;
  std::shared_ptr<tokens::IssuerKey> issuer_;
  std::filesystem::path dir_;
  std::unique_ptr<tokens::Wallet> wallet_;
  std::unique_ptr<testing::OhttpTestGateway> gateway_;
  std::unique_ptr<OhttpTransport> transport_;
  Collect sink_;

  std::mutex mu_;
  Fault fault_ = Fault::kNone;
  int gateway_calls_ = 0;
  bool token_verified_ = false;
  size_t inner_size_ = 0;
  std::string date_;
  std::string engine_body_;
  Bytes answered_by_;
};

TEST_F(SealedCallTest, SealsSpendsATokenAndOpensTheNodesStreamedAnswer) {
  FillWallet();
  Result<Bytes> node = Call();
  ASSERT_TRUE(node.ok()) << node.error().ToString();
  EXPECT_EQ(*node, answered_by_);
  EXPECT_TRUE(token_verified_) << "the gateway did not get a valid PrivateToken";
  EXPECT_EQ(wallet_->size(), 1u) << "one token spent";
  EXPECT_EQ(inner_size_ % 1024, 0u) << "the engine request is padded to a multiple of 1 KiB";
  EXPECT_EQ(date_, FormatHttpDate(T0));
  EXPECT_EQ(engine_body_, R"({"model":"tiny","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(sink_.head.status, 200u);
  EXPECT_EQ(sink_.body, R"({"choices":[{"message":{"content":"hello from the node"}}]})");
}

TEST_F(SealedCallTest, RefusesAnAnswerFromANodeOutsideTheCandidates) {
  FillWallet();
  fault_ = Fault::kForeignNode;
  Result<Bytes> node = Call();
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().code(), ErrorCode::kUnknownKey);
  EXPECT_NE(node.error().message().find("sealed response: node_id is not one of the request's candidates"),
            std::string::npos)
      << node.error().message();
  EXPECT_TRUE(sink_.body.empty());
}

TEST_F(SealedCallTest, RefusesATruncatedSealedStream) {
  FillWallet();
  fault_ = Fault::kTruncated;
  Result<Bytes> node = Call();
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().message().rfind("sealed response: ", 0), 0u) << node.error().message();
  EXPECT_EQ(node.error().code(), ErrorCode::kIncomplete) << node.error().ToString();
  EXPECT_EQ(sink_.body, "") << "content from a stream that never authenticated its end";
}

TEST_F(SealedCallTest, RefusesASealedStreamWhoseFinalChunkWasCut) {
  FillWallet();
  fault_ = Fault::kFinalChunkCut;
  Result<Bytes> node = Call();
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().code(), ErrorCode::kAuthenticationFailed) << node.error().ToString();
  EXPECT_EQ(node.error().message(), "sealed response: chunks: final chunk does not authenticate");
}

TEST_F(SealedCallTest, TheGatewaysRefusalIsNamedWithItsCode) {
  FillWallet();
  fault_ = Fault::kGatewayRefuses;
  Result<Bytes> node = Call();
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().message().rfind("gateway: HTTP 401 (token_spent)", 0), 0u) << node.error().message();
}

TEST_F(SealedCallTest, AnEmptyWalletStopsBeforeTheGateway) {
  Result<Bytes> node = Call();
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().message().rfind("wallet: ", 0), 0u) << node.error().message();
  EXPECT_EQ(gateway_calls_, 0);
}

TEST_F(SealedCallTest, TheGatewayRequestCarriesTheSealedBodyAndTheToken) {
  FillWallet();
  std::vector<NodeCandidate> picked(directory_.begin(), directory_.begin() + 2);
  Result<SealedCall> call = SealedCall::Create(picked, EngineRequest{}, T0);
  ASSERT_TRUE(call.ok()) << call.error().ToString();
  Result<tokens::Token> token = wallet_->Take(T0);
  ASSERT_TRUE(token.ok());
  const InnerRequest inner = call->GatewayRequest(*token);
  EXPECT_EQ(inner.path, "/v1/infer");
  EXPECT_EQ(inner.body, std::string(AsChars(call->sealed_request())));
  EXPECT_EQ(inner.headers[1].second, tokens::FormatAuthorization(token->Encode()));
  // The header lists both candidates' node ids (version, aead, count, ids...).
  const Bytes& sealed = call->sealed_request();
  ASSERT_GT(sealed.size(), 4u + 64u);
  EXPECT_EQ(sealed[3], 2u);
  EXPECT_EQ(Bytes(sealed.begin() + 4, sealed.begin() + 36), picked[0].node_id);
}

}  // namespace
}  // namespace openpcc::client
