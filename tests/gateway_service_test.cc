// services/gateway in process, with an injected ManualClock and fake issuer, log and node servers:
// the directory is republished when the clock crosses an epoch boundary, and a node that breaks
// off its sealed response after the first bytes ends the client's chunked OHTTP stream without
// its final chunk (truncated, never a clean end).
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include <boost/json.hpp>

#include "openpcc/crypto/blind_rsa.h"
#include "openpcc/crypto/kem.h"
#include "openpcc/net/client.h"
#include "openpcc/net/server.h"
#include "openpcc/services/gateway/gateway_service.h"
#include "openpcc/services/tlog/log_api.h"
#include "openpcc/tokens/auth_scheme.h"
#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/issuer_directory.h"
#include "openpcc/tokens/spent_store.h"
#include "openpcc/tokens/token.h"
#include "openpcc/util/http_date.h"
#include "openpcc/wire/bhttp.h"
#include "openpcc/wire/key_config.h"
#include "openpcc/wire/ohttp.h"
#include "openpcc/wire/sealed.h"

namespace openpcc::services::gateway {
namespace {

using namespace std::chrono_literals;
namespace bhttp = wire::bhttp;

constexpr int64_t kStart = 1'800'000'005;  // 5 s into epoch 180000000 of 10 s

std::unique_ptr<net::Server> Serve(net::Router router) {
  auto server = net::Server::Start({}, std::move(router));
  EXPECT_TRUE(server.ok());
  return std::move(server).value();
}

std::string UrlOf(const net::Server& s) { return "http://127.0.0.1:" + std::to_string(s.port()); }

template <typename F>
bool Eventually(F f, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return f();
}

// A spent-token store that decides at once and, while `hold` is set, acknowledges durability only
// when the test says so — to show that nothing reaches the client before the spend is durable.
class HeldStore final : public tokens::SpentTokenStore {
 public:
  void InsertIfAbsentAsync(const tokens::Nonce& key, std::chrono::sys_seconds expires_at, Callback done) override {
    InsertIfAbsentTwoPhase(key, expires_at, [](bool) {}, std::move(done));
  }
  void InsertIfAbsentTwoPhase(const tokens::Nonce& key, std::chrono::sys_seconds expires_at,
                              DecidedCallback decided, Callback done) override {
    const bool inserted = *memory_.InsertIfAbsent(key, expires_at);
    decided(inserted);
    std::lock_guard lock(mu_);
    if (hold_) {
      held_.push_back(std::move(done));
      return;
    }
    done(inserted);
  }
  Result<bool> Contains(const tokens::Nonce& key) override { return memory_.Contains(key); }
  Result<size_t> DropExpired(std::chrono::sys_seconds cutoff) override { return memory_.DropExpired(cutoff); }

  void Hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  void Release(Result<bool> answer) {
    std::vector<Callback> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
      hold_ = false;
    }
    for (Callback& done : held) done(answer);
  }

 private:
  tokens::MemorySpentStore memory_;
  std::mutex mu_;
  bool hold_ = false;
  std::vector<Callback> held_;
};

class GatewayServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_key_ = std::make_unique<crypto::BlindRsaPrivateKey>(std::move(crypto::BlindRsaPrivateKey::Generate()).value());
    tokens::TokenChallenge challenge;
    challenge.issuer_name = "issuer.test";
    challenge.origin_info = "openpcc";
    challenge_ = *challenge.Encode();

    net::Router issuer;
    issuer.Handle("GET", std::string(tokens::kIssuerDirectoryPath),
                  [this](net::Request&, net::Response& res) -> net::Awaitable<void> {
                    tokens::IssuerDirectory dir;
                    dir.issuer_request_uri = UrlOf(*issuer_) + "/token-request";
                    dir.token_keys.push_back({2, token_key_->public_key().SpkiRsaPss(), kStart - 100, kStart + 100'000});
                    dir.token_challenge = challenge_;
                    std::string body = dir.ToJson();
                    (void)co_await res.Send(200, body, tokens::kIssuerDirectoryMediaType);
                  });
    issuer_ = Serve(std::move(issuer));

    net::Router log;
    log.Handle("POST", "/add", [this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
      auto body = co_await req.ReadAll(1 << 20);
      AddResponse added;
      added.first_index = appended_++;
      added.tree_size = appended_;
      added.checkpoint = "log.test\n1\nAAAA\n";
      added.inclusion_proofs = {{}};
      std::string text = FormatAddResponse(added);
      (void)co_await res.Send(200, text);
    });
    log_ = Serve(std::move(log));

    // A node that starts its sealed response and then dies.
    net::Router node;
    node.Handle("POST", "/v1/infer", [this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
      auto body = co_await req.ReadAll(1 << 20);
      ++node_calls_;
      (void)co_await res.StartStream(200, wire::kSealedResponseMediaType);
      std::string first(100, 'x');
      (void)co_await res.Write(first);
      // returning without Finish aborts the stream
    });
    node.Handle("GET", "/healthz", [](net::Request&, net::Response& res) -> net::Awaitable<void> {
      (void)co_await res.Send(200, "{}");
    });
    node_ = Serve(std::move(node));

    auto ohttp = crypto::SoftwareDhKey::Generate(crypto::KemId::kX25519HkdfSha256);
    ohttp_config_.key_id = 1;
    ohttp_config_.public_key = ToBytes(ohttp->public_key());
    ohttp_config_.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm}};

    GatewayConfig config;
    config.epoch_length = 10s;
    config.startup_wait = 0s;
    config.issuer_url = UrlOf(*issuer_);
    config.log_url = UrlOf(*log_);
    config.state_dir = (std::filesystem::temp_directory_path() /
                        ("gateway-service-test-" + std::to_string(getpid()) + "-" +
                         ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                           .string();
    std::filesystem::remove_all(config.state_dir);
    state_dir_ = config.state_dir;
    config.ohttp_keys.push_back({ohttp_config_, std::make_shared<crypto::SoftwareDhKey>(std::move(ohttp).value())});
    config.directory_key = std::make_shared<const crypto::Ed25519PrivateKey>(
        std::move(crypto::Ed25519PrivateKey::FromSeed(Bytes(32, 3))).value());
    config.credential = crypto::SecretBytes(AsBytes(std::string_view("credential")));
    config.health_interval = 1h;
    config.spent_store = store_;
    Configure(config);
    auto service = GatewayService::Create(std::move(config), clock_);
    ASSERT_TRUE(service.ok()) << service.error().ToString();
    service_ = std::move(service).value();

    // A node registered directly (admission is covered by the process test).
    wire::KeyConfig node_config = ohttp_config_;
    node_config.public_key = Bytes(32, 9);
    NodeRegistration n;
    n.key_config = *wire::EncodeKeyConfig(node_config);
    n.node_id = *wire::NodeIdOf(node_config);
    n.url = UrlOf(*node_);
    n.platform = "sim";
    n.models = {"tiny"};
    n.not_before = kStart - 5;
    n.not_after = kStart + 1000;
    node_id_ = n.node_id;
    service_->registry().Upsert(n);

    gateway_ = Serve(service_->PublicRouter());
    ASSERT_TRUE(service_->Start(gateway_->executor()).ok());
  }

  void TearDown() override {
    service_->Stop();
    gateway_->Shutdown(0ms);
    service_->ReleaseClient();
    gateway_.reset();
    service_.reset();
    std::filesystem::remove_all(state_dir_);
  }

  Bytes Token() {
    auto request = tokens::CreateTokenRequest(challenge_, token_key_->public_key());
    auto response = tokens::IssueTokenResponse(*token_key_, request->request);
    return tokens::FinalizeToken(request->pending, *response, token_key_->public_key())->Encode();
  }

  // The chunked OHTTP request of POST /v1/infer with a sealed header naming the node, and the
  // reader of its response.
  struct OuterInfer {
    Bytes outer;
    std::optional<wire::ChunkedRequestWriter::ResponseReader> reader;
  };
  OuterInfer Infer() {
    Bytes sealed = {wire::kSealedVersion, 0x00, 0x01, 1};
    sealed.insert(sealed.end(), node_id_.begin(), node_id_.end());
    sealed.resize(sealed.size() + 64, 0x42);
    bhttp::Request request;
    request.method = "POST";
    request.scheme = "https";
    request.authority = "gateway.test";
    request.path = "/v1/infer";
    const std::string date = FormatHttpDate(clock_.NowSeconds());
    const std::string authorization = tokens::FormatAuthorization(Token());
    request.headers.push_back({bhttp::Text("date"), bhttp::Text(date)});
    request.headers.push_back({bhttp::Text("authorization"), bhttp::Text(authorization)});
    request.content.assign(sealed.begin(), sealed.end());
    auto encoded = bhttp::EncodeRequest(request);
    OuterInfer out;
    auto writer = wire::ChunkedRequestWriter::Create(ohttp_config_, ohttp_config_.suites[0], out.outer);
    EXPECT_TRUE(writer.ok());
    EXPECT_TRUE(writer->Finish(ByteView(encoded->data(), encoded->size()), out.outer).ok());
    out.reader.emplace(writer->MakeResponseReader());
    return out;
  }
  virtual void Configure(GatewayConfig&) {}

  uint64_t PublishedEpoch() {
    auto r = service_->CurrentResponse();
    return r ? ParseEpoch(r->entry) : 0;
  }
  static uint64_t ParseEpoch(const Bytes& entry) {
    auto verified = directory::VerifyDirectoryEntry(
        entry, std::move(crypto::Ed25519PrivateKey::FromSeed(Bytes(32, 3))).value().public_key());
    return verified.ok() ? verified->epoch : 0;
  }

  ManualClock clock_{SysTime(std::chrono::seconds(kStart))};
  std::unique_ptr<crypto::BlindRsaPrivateKey> token_key_;
  Bytes challenge_;
  std::unique_ptr<net::Server> issuer_, log_, node_, gateway_;
  std::atomic<uint64_t> appended_{0};
  std::atomic<int> node_calls_{0};
  wire::KeyConfig ohttp_config_;
  std::string state_dir_;
  Bytes node_id_;
  std::unique_ptr<GatewayService> service_;
  std::shared_ptr<HeldStore> store_ = std::make_shared<HeldStore>();
};

TEST_F(GatewayServiceTest, RepublishesTheDirectoryWhenTheClockCrossesAnEpoch) {
  ASSERT_TRUE(Eventually([&] { return PublishedEpoch() == 180'000'000u; }));
  auto first = service_->CurrentResponse();
  clock_.Advance(3s);  // still the same epoch: nothing new
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(service_->CurrentResponse()->log_index, first->log_index);
  clock_.Advance(3s);  // 180000001 starts
  ASSERT_TRUE(Eventually([&] { return PublishedEpoch() == 180'000'001u; }));
  EXPECT_EQ(service_->CurrentResponse()->log_index, first->log_index + 1);
  auto d = directory::VerifyDirectoryEntry(service_->CurrentResponse()->entry,
                                           std::move(crypto::Ed25519PrivateKey::FromSeed(Bytes(32, 3))).value().public_key());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->not_before, 1'800'000'010);
  EXPECT_EQ(d->NodesOf("tiny").size(), 1u);
  EXPECT_EQ(d->token_challenge, challenge_);
}

TEST_F(GatewayServiceTest, ANodeDyingMidStreamTruncatesTheClientsStream) {
  ASSERT_TRUE(Eventually([&] { return PublishedEpoch() != 0; }));
  OuterInfer call = Infer();
  auto& reader = *call.reader;
  const Bytes& outer = call.outer;

  auto client = net::BlockingClient::Create({});
  std::string inner;
  net::ClientRequest post("POST", UrlOf(*gateway_) + "/", {{"Content-Type", "message/ohttp-chunked-req"}});
  auto head = (*client)->FetchStreaming(post, AsChars(outer), [&](std::string_view piece) -> Status {
    crypto::SecretBytes plain;
    OPENPCC_RETURN_IF_ERROR(reader.Push(AsBytes(piece), plain));
    inner.append(AsChars(plain.view()));
    return OkStatus();
  });
  EXPECT_EQ(node_calls_.load(), 1);
  // The client got the inner head and the node's first bytes, then the stream broke off: either
  // the HTTP exchange failed, or it ended without the authenticated final chunk.
  EXPECT_NE(inner.find(std::string(100, 'x')), std::string::npos);
  crypto::SecretBytes rest;
  const bool clean_end = head.ok() && reader.Finish(rest).ok();
  EXPECT_FALSE(clean_end) << "a truncated node stream reached the client as a clean end";
  EXPECT_FALSE(reader.finished());
}

TEST_F(GatewayServiceTest, NothingReachesTheClientBeforeTheSpendIsDurable) {
  ASSERT_TRUE(Eventually([&] { return PublishedEpoch() != 0; }));
  auto client = net::BlockingClient::Create({});
  net::ClientRequest post("POST", UrlOf(*gateway_) + "/", {{"Content-Type", "message/ohttp-chunked-req"}});
  for (const bool durable : {true, false}) {
    SCOPED_TRACE(durable ? "the spend becomes durable" : "the spend fails");
    store_->Hold();
    const int calls_before = node_calls_.load();
    OuterInfer call = Infer();
    std::atomic<size_t> received{0};
    std::string inner;
    std::thread fetch([&] {
      (void)(*client)->FetchStreaming(post, AsChars(call.outer), [&](std::string_view piece) -> Status {
        crypto::SecretBytes plain;
        OPENPCC_RETURN_IF_ERROR(call.reader->Push(AsBytes(piece), plain));
        inner.append(AsChars(plain.view()));
        received += piece.size();
        return OkStatus();
      });
    });
    // Routed at once (the spend is decided), and the node already answered its first bytes...
    EXPECT_TRUE(Eventually([&] { return node_calls_.load() == calls_before + 1; }));
    EXPECT_EQ(store_->held(), 1u);
    std::this_thread::sleep_for(300ms);
    // ...but the client has nothing while the spend is not durable.
    EXPECT_EQ(received.load(), 0u);
    store_->Release(durable ? Result<bool>(true) : Result<bool>(Error(ErrorCode::kInternal, "disk full")));
    fetch.join();
    if (durable) {
      EXPECT_NE(inner.find(std::string(100, 'x')), std::string::npos);
    } else {
      EXPECT_EQ(inner.find(std::string(100, 'x')), std::string::npos);
      EXPECT_NE(inner.find("token_store"), std::string::npos) << inner;
    }
  }
}

// With startup_nodes, the first directory waits for that many nodes rather than the clock (which
// stands still here, far inside startup_wait), and lists them all.
class GatewayStartupNodesTest : public GatewayServiceTest {
 protected:
  void Configure(GatewayConfig& config) override {
    config.startup_wait = 1h;
    config.startup_nodes = 2;
  }
};

TEST_F(GatewayStartupNodesTest, PublishesTheFirstDirectoryOnceEnoughNodesRegistered) {
  std::this_thread::sleep_for(750ms);  // three turns of the epoch thread with one node registered
  EXPECT_EQ(PublishedEpoch(), 0u) << "published with fewer nodes than startup_nodes";
  wire::KeyConfig second = ohttp_config_;
  second.public_key = Bytes(32, 10);
  NodeRegistration n = *service_->registry().Find(node_id_);
  n.key_config = *wire::EncodeKeyConfig(second);
  n.node_id = *wire::NodeIdOf(second);
  n.url = "http://127.0.0.1:9/";  // another node (nodes are told apart by URL)
  service_->registry().Upsert(n);
  ASSERT_TRUE(Eventually([&] { return PublishedEpoch() == 180'000'000u; }));
  auto d = directory::VerifyDirectoryEntry(service_->CurrentResponse()->entry,
                                           std::move(crypto::Ed25519PrivateKey::FromSeed(Bytes(32, 3))).value().public_key());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->NodesOf("tiny").size(), 2u);
}

}  // namespace
}  // namespace openpcc::services::gateway
