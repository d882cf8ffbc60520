// client/key_bootstrap: the gateway's configs fetched through the real relay's /ohttp-keys, a
// provisional config for the directory fetch, and the key-consistency check against the logged
// directory — a config served to this client alone (another key under the same key_id, or a suite
// the log does not list) is refused with an error that says so.
#include "openpcc/client/key_bootstrap.h"

#include <gtest/gtest.h>

#include "openpcc/client/ohttp_transport.h"
#include "support/ohttp_gateway.h"
#include "support/relay_process.h"

namespace openpcc::client {
namespace {

using testing::GatewayInnerReply;
using testing::OhttpTestGateway;

const wire::SymmetricSuite kSuite{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm};

class BootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway_ = std::make_unique<OhttpTestGateway>([](const testing::GatewayInnerRequest&) {
      GatewayInnerReply reply;
      reply.pieces = {"directory"};
      return reply;
    });
    relay_ = std::make_unique<testing::RelayProcess>(gateway_->url("/gateway"));
    ASSERT_TRUE(relay_->Start());
    auto http = net::BlockingClient::Create({});
    ASSERT_TRUE(http.ok());
    http_ = std::move(http).value();
  }
  Result<std::vector<wire::KeyConfig>> Fetch() {
    Result<std::string> url = DefaultKeysUrl(relay_->url() + "/");
    EXPECT_TRUE(url.ok());
    return FetchServedConfigs(*http_, *url);
  }

  std::unique_ptr<OhttpTestGateway> gateway_;
  std::unique_ptr<testing::RelayProcess> relay_;
  std::unique_ptr<net::BlockingClient> http_;
};

TEST_F(BootstrapTest, FetchesThroughTheRelayAndKeepsAConfigTheLogLists) {
  Result<std::vector<wire::KeyConfig>> served = Fetch();
  ASSERT_TRUE(served.ok()) << served.error().ToString();
  ASSERT_EQ(served->size(), 1u);
  Result<wire::KeyConfig> chosen = ChooseBootstrapConfig(*served, kSuite);
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(*chosen, gateway_->config());

  // The provisional config works for the directory fetch through the relay...
  TransportConfig config;
  config.relay_url = relay_->url() + "/";
  auto transport = OhttpTransport::Create(config);
  ASSERT_TRUE(transport.ok());
  InnerRequest fetch;
  fetch.path = "/v1/directory";
  Result<InnerResponse> directory = (*transport)->RoundTrip(*chosen, fetch);
  ASSERT_TRUE(directory.ok()) << directory.error().ToString();
  EXPECT_EQ(directory->body, "directory");
  // ...and is kept because the logged directory lists it.
  const std::vector<wire::KeyConfig> logged = {testing::MakeGatewayKey(9).config, gateway_->config()};
  EXPECT_TRUE(ConfirmListed(*chosen, kSuite, logged).ok());
}

TEST_F(BootstrapTest, RefusesAConfigServedOutsideTheLoggedDirectory) {
  // A tagging gateway: the same key_id, another key, served to this client only.
  const wire::KeyConfig tag = testing::MakeGatewayKey(gateway_->config().key_id).config;
  gateway_->ServeConfigs({tag});
  Result<std::vector<wire::KeyConfig>> served = Fetch();
  ASSERT_TRUE(served.ok());
  Result<wire::KeyConfig> chosen = ChooseBootstrapConfig(*served, kSuite);
  ASSERT_TRUE(chosen.ok());
  const std::vector<wire::KeyConfig> logged = {gateway_->config()};
  Status s = ConfirmListed(*chosen, kSuite, logged);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kUnknownKey);
  EXPECT_NE(s.error().message().find("is not listed in the logged directory"), std::string::npos)
      << s.error().message();
  EXPECT_NE(s.error().message().find("the client stops"), std::string::npos);
}

TEST(KeyBootstrap, ALoggedConfigWithoutTheSuiteInUseDoesNotConfirm) {
  wire::KeyConfig used = testing::MakeGatewayKey(3).config;
  wire::KeyConfig logged = used;
  logged.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kChaCha20Poly1305}};
  const std::vector<wire::KeyConfig> list = {logged};
  EXPECT_EQ(ConfirmListed(used, kSuite, list).error().code(), ErrorCode::kUnknownKey);
  const wire::SymmetricSuite chacha{crypto::KdfId::kHkdfSha256, crypto::AeadId::kChaCha20Poly1305};
  EXPECT_TRUE(ConfirmListed(used, chacha, list).ok());
}

TEST(KeyBootstrap, ChoosesAServedConfigThatIsListed) {
  const wire::KeyConfig a = testing::MakeGatewayKey(1).config;
  const wire::KeyConfig b = testing::MakeGatewayKey(2).config;
  const std::vector<wire::KeyConfig> served = {a, b};
  const std::vector<wire::KeyConfig> logged_b = {b};
  Result<wire::KeyConfig> chosen = ChooseListedConfig(served, kSuite, logged_b);
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(*chosen, b);
  const std::vector<wire::KeyConfig> logged_none = {testing::MakeGatewayKey(1).config};
  Result<wire::KeyConfig> none = ChooseListedConfig(served, kSuite, logged_none);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), ErrorCode::kUnknownKey);
  EXPECT_NE(none.error().message().find("none of the 2 served OHTTP configs is listed"), std::string::npos);
}

TEST(KeyBootstrap, NoServedConfigOffersTheSuite) {
  wire::KeyConfig c = testing::MakeGatewayKey(1).config;
  c.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kChaCha20Poly1305}};
  const std::vector<wire::KeyConfig> served = {c};
  EXPECT_EQ(ChooseBootstrapConfig(served, kSuite).error().code(), ErrorCode::kUnsupported);
}

TEST_F(BootstrapTest, AKeysUrlThatIsNotServedNamesTheRelayHop) {
  Result<std::vector<wire::KeyConfig>> r =
      FetchServedConfigs(*http_, gateway_->url("/no-such-keys"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().rfind("relay hop: HTTP 404", 0), 0u) << r.error().message();
}

TEST(KeyBootstrap, DefaultKeysUrlIsTheRelayOrigin) {
  EXPECT_EQ(*DefaultKeysUrl("https://relay.example:8443/ohttp"), "https://relay.example:8443/ohttp-keys");
  EXPECT_FALSE(DefaultKeysUrl("relay.example").ok());
}

}  // namespace
}  // namespace openpcc::client
