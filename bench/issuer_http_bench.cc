// `openpcc issuer` through HTTP: issuances per second over loopback (net::Server with the issuer
// service in process, net::BlockingClient as the client), singly and in generic batches of 32,
// beside tokens_bench's library figures. The blinding is done once beforehand: this measures the
// issuer (HTTP, API key check, quota charge, blind signatures), not the client.
// Run: build/release/bench/issuer_http_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only   (quote the medians)
#include <benchmark/benchmark.h>

#include <filesystem>

#include "openpcc/net/client.h"
#include "openpcc/services/issuer/issuer_service.h"
#include "openpcc/tokens/issuance.h"

namespace {

using namespace openpcc;
using namespace openpcc::tokens;

struct Fixture {
  Fixture() : clock(SysTime(std::chrono::seconds(1'700'000'000))) {
    dir = std::filesystem::temp_directory_path() / "openpcc-issuer-http-bench";
    std::filesystem::remove_all(dir);
    services::IssuerServiceConfig config;
    config.state_dir = dir.string();
    config.issuer_name = "127.0.0.1";
    config.workers = 2;
    service = std::move(services::IssuerService::Create(config, clock)).value();
    net::ServerOptions options;
    options.threads = 2;
    server = std::move(net::Server::Start(options, service->Routes())).value();
    url = "http://127.0.0.1:" + std::to_string(server->port());
    service->SetPublicOrigin(url);
    auto accounts = std::move(AccountStore::Open((dir / "issuer.db").string())).value();
    auto account = accounts->CreateAccount("bench", 1u << 30, 1u << 30, clock.NowSeconds());
    auto api = accounts->CreateApiKey(*account, clock.NowSeconds());
    authorization = "Bearer " + std::string(api->api_key.data(), api->api_key.size());
    const auto keys = service->keys().RedeemableKeys(clock.NowSeconds());
    for (int i = 0; i < 64; ++i) {
      requests.push_back(CreateTokenRequest(service->challenge(), *keys.at(0).key)->request);
    }
  }
  ManualClock clock;
  std::filesystem::path dir;
  std::unique_ptr<services::IssuerService> service;
  std::unique_ptr<net::Server> server;
  std::string url;
  std::string authorization;
  std::vector<TokenRequest> requests;
};

Fixture& F() {
  static Fixture* f = new Fixture();
  return *f;
}

void Post(benchmark::State& state, net::BlockingClient& client, std::string_view media,
          const Bytes& body) {
  net::ClientRequest request("POST", F().url + "/token-request",
                             {{"Content-Type", std::string(media)},
                              {"Authorization", F().authorization}});
  auto res = client.Fetch(request, AsChars(body), 1 << 20);
  if (!res.ok() || res->status != 200) state.SkipWithError("token request failed");
}

// One token per HTTP request; threads = concurrent clients, each with its own connection.
void BM_HttpIssueSingle(benchmark::State& state) {
  Fixture& f = F();
  auto client = std::move(net::BlockingClient::Create({})).value();
  const Bytes body = f.requests[static_cast<size_t>(state.thread_index())].Encode();
  for (auto _ : state) Post(state, *client, kTokenRequestMediaType, body);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HttpIssueSingle)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// A generic batch of 32 TokenRequests per HTTP request (items = tokens).
void BM_HttpIssueBatch32(benchmark::State& state) {
  Fixture& f = F();
  auto client = std::move(net::BlockingClient::Create({})).value();
  std::vector<TokenRequest> batch(f.requests.begin(), f.requests.begin() + 32);
  const Bytes body = EncodeBatchTokenRequest(batch).value();
  for (auto _ : state) Post(state, *client, kBatchTokenRequestMediaType, body);
  state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_HttpIssueBatch32)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
