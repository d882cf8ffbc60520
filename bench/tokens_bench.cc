// Privacy Pass benchmarks: issuances per second (one token per call, and batches), durable
// insertions per second into the SQLite spent-token store with group commit, and full durable
// redemptions per second (Redeemer: parse, checks 1-4 with RSA verification, durable insert).
// Run: build/release/bench/tokens_bench --benchmark_repetitions=3 --benchmark_min_time=1
//   --benchmark_report_aggregates_only=true   (report the medians in docs/benchmarks.md).
// Targets on the 2-core dev machine: >= 1,000 issuances/s, >= 20,000 durable redemptions/s.
#include <benchmark/benchmark.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "openpcc/crypto/random.h"
#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/issuer.h"
#include "openpcc/tokens/redeemer.h"
#include "openpcc/tokens/sqlite_spent_store.h"

namespace {

using namespace openpcc;
using namespace openpcc::tokens;

const std::chrono::sys_seconds kNow{std::chrono::seconds(1'700'000'000)};

struct Fixture {
  Fixture() {
    dir = std::filesystem::temp_directory_path() / "openpcc-tokens-bench";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto sk = crypto::BlindRsaPrivateKey::Generate(2048);
    auto key = IssuerKey::Make(std::move(sk).value(),
                               {kNow - std::chrono::hours(1), kNow + std::chrono::hours(1000),
                                kNow + std::chrono::hours(2000)});
    pub = key->Verification();
    (void)keys.Add(std::move(key).value());
    accounts = std::move(AccountStore::Open((dir / "accounts.db").string())).value();
    auto account = accounts->CreateAccount("bench", 1u << 30, 1u << 30, kNow);
    auto api = accounts->CreateApiKey(*account, kNow);
    api_key.assign(api->api_key.begin(), api->api_key.end());
    challenge = *TokenChallenge{kTokenTypeBlindRsa, "issuer.example", {}, "openpcc"}.Encode();
    for (int i = 0; i < 64; ++i) {
      requests.push_back(CreateTokenRequest(challenge, *pub.key)->request);
    }
  }
  std::filesystem::path dir;
  TokenKeySet keys;
  TokenVerificationKey pub;
  std::unique_ptr<AccountStore> accounts;
  std::string api_key;
  Bytes challenge;
  std::vector<TokenRequest> requests;
};

Fixture& F() {
  static Fixture* f = new Fixture();
  return *f;
}

// One token per request, including API key check and quota charge; threads = concurrent requests.
void BM_IssueSingle(benchmark::State& state) {
  Fixture& f = F();
  Issuer issuer(f.keys, *f.accounts);
  size_t i = static_cast<size_t>(state.thread_index());
  for (auto _ : state) {
    auto r = issuer.IssueBatch(f.api_key, {&f.requests[i++ % f.requests.size()], 1}, kNow);
    if (!r.ok()) state.SkipWithError(r.error().message().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IssueSingle)->Threads(1)->Threads(2)->UseRealTime();

// Batches of 32 tokens per request.
void BM_IssueBatch32(benchmark::State& state) {
  Fixture& f = F();
  Issuer issuer(f.keys, *f.accounts);
  std::vector<TokenRequest> batch(f.requests.begin(), f.requests.begin() + 32);
  for (auto _ : state) {
    auto r = issuer.IssueBatch(f.api_key, batch, kNow);
    if (!r.ok()) state.SkipWithError(r.error().message().c_str());
  }
  state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_IssueBatch32)->Threads(1)->Threads(2)->UseRealTime();

// Durable insertions into the SQLite store (WAL, synchronous=FULL): `range(0)` redemptions in
// flight at once (as many concurrent gateway requests), each acknowledged after its batch commit.
// This measures the store step of redemption; signature verification (~20 us/token) runs in the
// gateway's request threads before it.
void BM_DurableRedemptions(benchmark::State& state) {
  Fixture& f = F();
  const size_t inflight = static_cast<size_t>(state.range(0));
  std::filesystem::remove(f.dir / "spent.db");
  auto store = std::move(SqliteSpentStore::Open({(f.dir / "spent.db").string(), ""})).value();
  const auto expiry = kNow + std::chrono::hours(2000);
  for (auto _ : state) {
    std::atomic<size_t> done{0};
    std::atomic<size_t> failed{0};
    for (size_t i = 0; i < inflight; ++i) {
      Nonce n;
      crypto::RandomBytes(n);
      store->InsertIfAbsentAsync(n, expiry, [&](Result<bool> r) {
        if (!r.ok() || !*r) ++failed;
        done.fetch_add(1, std::memory_order_release);
        done.notify_one();
      });
    }
    for (size_t seen = done.load(); seen < inflight; seen = done.load()) done.wait(seen);
    if (failed.load() != 0) state.SkipWithError("insert failed");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(inflight));
  state.counters["commits"] = static_cast<double>(store->commits());
}
BENCHMARK(BM_DurableRedemptions)->Arg(1)->Arg(256)->Arg(4096)->UseRealTime();

// Genuine, distinct tokens for the full-redemption benchmark (each needs its own blind signature,
// ~0.4 ms, so they are made once, on both cores, and reused after the store is emptied).
constexpr size_t kTokenPool = 8192;
const std::vector<Bytes>& TokenPool() {
  static const std::vector<Bytes>* pool = [] {
    Fixture& f = F();
    auto* out = new std::vector<Bytes>(kTokenPool);
    auto make = [&](size_t from, size_t to) {
      for (size_t i = from; i < to; ++i) {
        auto req = CreateTokenRequest(f.challenge, *f.pub.key);
        auto res = IssueTokenResponse(*f.keys.ForIssuance(req->request.truncated_token_key_id, kNow)->key,
                                      req->request);
        (*out)[i] = FinalizeToken(req->pending, *res, *f.pub.key)->Encode();
      }
    };
    std::thread other(make, 0, kTokenPool / 2);
    make(kTokenPool / 2, kTokenPool);
    other.join();
    return out;
  }();
  return *pool;
}

// The full-redemption benchmark's store: SQLite, already holding kOtherSpent spent nonces of other
// tokens (a gateway's store is never empty; inserts into a large table cost more than into a small
// one). They expire after the pool's tokens, so emptying the pool's rows leaves them in place.
constexpr size_t kOtherSpent = 200'000;
const auto kPoolExpiry = kNow + std::chrono::hours(2000);  // the key's redeem_until
SqliteSpentStore& FullStore() {
  static SqliteSpentStore* store = [] {
    Fixture& f = F();
    std::filesystem::remove(f.dir / "spent-full.db");
    auto* s = SqliteSpentStore::Open({(f.dir / "spent-full.db").string(), ""}).value().release();
    static std::atomic<size_t> done{0};  // static: the last callback may still be notifying
    for (size_t i = 0; i < kOtherSpent; ++i) {
      Nonce n;
      crypto::RandomBytes(n);
      s->InsertIfAbsentAsync(n, kPoolExpiry + std::chrono::hours(1000), [](Result<bool>) {
        done.fetch_add(1, std::memory_order_release);
        done.notify_one();
      });
    }
    for (size_t seen = done.load(); seen < kOtherSpent; seen = done.load()) done.wait(seen);
    return s;
  }();
  return *store;
}

// Full redemptions as the gateway runs them: Redeemer::RedeemTwoPhase on encoded tokens — parse,
// checks 1-4 including the RSA-2048 signature verification, then the insert-if-absent into the
// SQLite store (WAL, synchronous=FULL, group commit, 200,000 other nonces already spent) — with
// `range(0)` redemptions in flight, submitted by `range(1)` threads (the gateway's I/O threads);
// each counts once durable. Tokens come from a pool of 8,192; when it runs out, their rows are
// deleted with timing paused.
void BM_FullRedemptions(benchmark::State& state) {
  Fixture& f = F();
  const std::vector<Bytes>& pool = TokenPool();
  const size_t inflight = static_cast<size_t>(state.range(0));
  const size_t submitters = static_cast<size_t>(state.range(1));
  SqliteSpentStore* store = &FullStore();
  if (!store->DropExpired(kPoolExpiry + std::chrono::seconds(1)).ok()) state.SkipWithError("drop failed");
  const uint64_t commits_before = store->commits();
  Redeemer redeemer(f.challenge, *store);
  redeemer.SetKeys({f.pub});
  size_t next = 0;
  // Static: the store's thread may still be inside notify_one when the waiter moves on.
  static std::atomic<size_t> done{0};
  static std::atomic<size_t> failed{0};
  failed.store(0);
  for (auto _ : state) {
    if (next + inflight > pool.size()) {
      state.PauseTiming();
      if (!store->DropExpired(kPoolExpiry + std::chrono::seconds(1)).ok()) state.SkipWithError("drop failed");
      next = 0;
      state.ResumeTiming();
    }
    done.store(0);
    auto submit = [&](size_t first, size_t stride) {
      for (size_t i = first; i < inflight; i += stride) {
        redeemer.RedeemTwoPhase(
            pool[next + i], kNow, [](const Status&) {},
            [&](Status s) {
              if (!s.ok()) ++failed;
              done.fetch_add(1, std::memory_order_release);
              done.notify_one();
            });
      }
    };
    std::vector<std::thread> others;
    for (size_t t = 1; t < submitters; ++t) others.emplace_back(submit, t, submitters);
    submit(0, submitters);
    for (std::thread& t : others) t.join();
    for (size_t seen = done.load(); seen < inflight; seen = done.load()) done.wait(seen);
    next += inflight;
    if (failed.load() != 0) state.SkipWithError("a redemption failed");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(inflight));
  state.counters["commits"] = static_cast<double>(store->commits() - commits_before);
}
BENCHMARK(BM_FullRedemptions)->Args({256, 1})->Args({4096, 1})->Args({256, 2})->Args({4096, 2})->UseRealTime();

// Whole redemption work per token without the store: parse, checks and signature verification.
void BM_VerifyToken(benchmark::State& state) {
  Fixture& f = F();
  auto req = CreateTokenRequest(f.challenge, *f.pub.key);
  auto res = IssueTokenResponse(*f.keys.ForIssuance(req->request.truncated_token_key_id, kNow)->key,
                                req->request);
  auto token = FinalizeToken(req->pending, *res, *f.pub.key);
  const Bytes encoded = token->Encode();
  for (auto _ : state) {
    auto t = Token::Parse(encoded);
    benchmark::DoNotOptimize(VerifyTokenSignature(*t, *f.pub.key).ok());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyToken)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
