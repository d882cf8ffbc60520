// Costs of OpenPCC's protocol crypto, and — in the same binary, so they are comparable — the raw
// OpenSSL primitives they are built from. docs/benchmarks.md states the targets:
//   HPKE setup+seal plus setup+open of 1 KiB within 1.3x of the sum of its raw primitives;
//   a 64-byte chunk sealed in under 1 us.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <cstdlib>

#include "openpcc/crypto/hpke.h"
#include "openpcc/wire/chunks.h"
#include "openpcc/wire/sealed.h"

namespace {

using namespace openpcc;
using crypto::AeadId;
using crypto::KdfId;
using crypto::KemId;

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "bench setup failed: %s\n", r.error().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

crypto::HpkeSuite SuiteOf(int64_t kem, int64_t aead) {
  return {static_cast<KemId>(kem), KdfId::kHkdfSha256, static_cast<AeadId>(aead)};
}

void SuiteArgs(benchmark::internal::Benchmark* b) {
  for (int64_t kem : {0x20, 0x10}) {
    for (int64_t aead : {1, 2, 3}) b->Args({kem, aead});
  }
}

const Bytes kKiB(1024, 0x61);

// ---- OpenPCC's HPKE -------------------------------------------------------------------------

void BM_HpkeSetupSeal1KiB(benchmark::State& state) {
  const auto suite = SuiteOf(state.range(0), state.range(1));
  const auto recipient = Must(crypto::SoftwareDhKey::Generate(suite.kem));
  for (auto _ : state) {
    auto sender = Must(crypto::SetupSender(suite, recipient.public_key(), AsBytes("info")));
    benchmark::DoNotOptimize(Must(sender.context.Seal({}, kKiB)));
  }
}
BENCHMARK(BM_HpkeSetupSeal1KiB)->Apply(SuiteArgs)->ArgNames({"kem", "aead"});

void BM_HpkeSetupOpen1KiB(benchmark::State& state) {
  const auto suite = SuiteOf(state.range(0), state.range(1));
  const auto recipient = Must(crypto::SoftwareDhKey::Generate(suite.kem));
  auto sender = Must(crypto::SetupSender(suite, recipient.public_key(), AsBytes("info")));
  const Bytes ct = Must(sender.context.Seal({}, kKiB));
  for (auto _ : state) {
    auto context = Must(crypto::SetupRecipient(suite, sender.enc, recipient, AsBytes("info")));
    benchmark::DoNotOptimize(Must(context.Open({}, ct)));
  }
}
BENCHMARK(BM_HpkeSetupOpen1KiB)->Apply(SuiteArgs)->ArgNames({"kem", "aead"});

// ---- Raw OpenSSL primitives (X25519, HKDF-SHA256, AES-128-GCM: the required OHTTP suite) -------

EVP_PKEY* RawX25519Keygen() { return EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"); }

void BM_RawX25519Keygen(benchmark::State& state) {
  for (auto _ : state) {
    EVP_PKEY* key = RawX25519Keygen();
    uint8_t pub[32];
    size_t len = sizeof(pub);
    EVP_PKEY_get_raw_public_key(key, pub, &len);  // serialising pkE is part of Encap
    benchmark::DoNotOptimize(pub);
    EVP_PKEY_free(key);
  }
}
BENCHMARK(BM_RawX25519Keygen);

void BM_RawX25519Derive(benchmark::State& state) {
  EVP_PKEY* own = RawX25519Keygen();
  EVP_PKEY* peer_key = RawX25519Keygen();
  uint8_t peer_bytes[32];
  size_t len = sizeof(peer_bytes);
  EVP_PKEY_get_raw_public_key(peer_key, peer_bytes, &len);
  for (auto _ : state) {
    // Importing the peer's serialised key is part of every DH on the wire.
    EVP_PKEY* peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_bytes, 32);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr);
    uint8_t secret[32];
    size_t secret_len = sizeof(secret);
    EVP_PKEY_derive_init(ctx);
    EVP_PKEY_derive_set_peer(ctx, peer);
    EVP_PKEY_derive(ctx, secret, &secret_len);
    benchmark::DoNotOptimize(secret);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
  }
  EVP_PKEY_free(own);
  EVP_PKEY_free(peer_key);
}
BENCHMARK(BM_RawX25519Derive);

void RawHkdf(EVP_KDF* kdf, int mode, uint8_t* out, size_t out_len) {
  static uint8_t key[32] = {1}, other[48] = {2};
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key, sizeof(key)),
      OSSL_PARAM_construct_octet_string(
          mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY ? OSSL_KDF_PARAM_SALT : OSSL_KDF_PARAM_INFO, other, sizeof(other)),
      OSSL_PARAM_construct_end()};
  EVP_KDF_derive(ctx, out, out_len, params);
  EVP_KDF_CTX_free(ctx);
}

void BM_RawHkdfSha256Extract(benchmark::State& state) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  uint8_t out[32];
  for (auto _ : state) {
    RawHkdf(kdf, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, out, sizeof(out));
    benchmark::DoNotOptimize(out);
  }
  EVP_KDF_free(kdf);
}
BENCHMARK(BM_RawHkdfSha256Extract);

void BM_RawHkdfSha256Expand(benchmark::State& state) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  uint8_t out[32];
  for (auto _ : state) {
    RawHkdf(kdf, EVP_KDF_HKDF_MODE_EXPAND_ONLY, out, sizeof(out));
    benchmark::DoNotOptimize(out);
  }
  EVP_KDF_free(kdf);
}
BENCHMARK(BM_RawHkdfSha256Expand);

// Key setup plus one AEAD operation, as each HPKE context does once.
void RawAesGcm(benchmark::State& state, bool encrypt, size_t length) {
  static const uint8_t key[16] = {3}, iv[12] = {4};
  Bytes in(length + 16, 0x61), out(length + 16);
  if (!encrypt) {  // make a valid ciphertext to open
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    int n = 0;
    EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, key, iv);
    EVP_EncryptUpdate(c, in.data(), &n, out.data(), static_cast<int>(length));
    EVP_EncryptFinal_ex(c, in.data() + n, &n);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, in.data() + length);
    EVP_CIPHER_CTX_free(c);
  }
  for (auto _ : state) {
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    int n = 0;
    EVP_CipherInit_ex(c, EVP_aes_128_gcm(), nullptr, key, iv, encrypt ? 1 : 0);
    EVP_CipherUpdate(c, out.data(), &n, in.data(), static_cast<int>(length));
    if (encrypt) {
      EVP_CipherFinal_ex(c, out.data() + n, &n);
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out.data() + length);
    } else {
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, in.data() + length);
      if (EVP_CipherFinal_ex(c, out.data() + n, &n) != 1) std::abort();
    }
    benchmark::DoNotOptimize(out.data());
    EVP_CIPHER_CTX_free(c);
  }
}
void BM_RawAes128GcmKeySeal1KiB(benchmark::State& state) { RawAesGcm(state, true, 1024); }
void BM_RawAes128GcmKeyOpen1KiB(benchmark::State& state) { RawAesGcm(state, false, 1024); }
BENCHMARK(BM_RawAes128GcmKeySeal1KiB);
BENCHMARK(BM_RawAes128GcmKeyOpen1KiB);

// One AEAD operation under an already scheduled key: the floor for a chunk.
void RawAesGcmNoKey(benchmark::State& state, size_t length) {
  static const uint8_t key[16] = {3}, iv[12] = {4};
  Bytes in(length, 0x61), out(length + 16);
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, key, nullptr);
  for (auto _ : state) {
    int n = 0;
    EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, iv);
    EVP_EncryptUpdate(c, out.data(), &n, in.data(), static_cast<int>(length));
    EVP_EncryptFinal_ex(c, out.data() + n, &n);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out.data() + length);
    benchmark::DoNotOptimize(out.data());
  }
  EVP_CIPHER_CTX_free(c);
}
void BM_RawAes128GcmSeal64B(benchmark::State& state) { RawAesGcmNoKey(state, 64); }
void BM_RawAes128GcmSeal16KiB(benchmark::State& state) { RawAesGcmNoKey(state, 16384); }
BENCHMARK(BM_RawAes128GcmSeal64B);
BENCHMARK(BM_RawAes128GcmSeal16KiB);

// ---- Chunks ------------------------------------------------------------------------------------

wire::CounterChunkCipher ChunkCipher() {
  const Bytes key(16, 5), nonce(12, 6);
  return Must(wire::CounterChunkCipher::Create(AeadId::kAes128Gcm, key, nonce));
}

void BM_ChunkSeal(benchmark::State& state) {
  const Bytes chunk(static_cast<size_t>(state.range(0)), 0x61);
  wire::ChunkLimits limits;
  limits.max_total = SIZE_MAX;
  wire::ChunkWriter writer(std::make_unique<wire::CounterChunkCipher>(ChunkCipher()), limits);
  Bytes out;
  out.reserve(chunk.size() + 32);
  for (auto _ : state) {
    out.clear();
    if (!writer.Write(chunk, out).ok()) std::abort();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ChunkSeal)->Arg(64)->Arg(16384);

void BM_ChunkOpen(benchmark::State& state) {
  const size_t length = static_cast<size_t>(state.range(0));
  // Pre-seal enough chunks for the run; time only the reader.
  constexpr size_t kBatch = 4096;
  wire::ChunkLimits limits;
  limits.max_total = SIZE_MAX;
  wire::ChunkWriter writer(std::make_unique<wire::CounterChunkCipher>(ChunkCipher()), limits);
  std::vector<Bytes> framed(kBatch);
  const Bytes chunk(length, 0x61);
  for (auto& f : framed) {
    if (!writer.Write(chunk, f).ok()) std::abort();
  }
  auto reader = std::make_unique<wire::ChunkReader>(std::make_unique<wire::CounterChunkCipher>(ChunkCipher()), limits);
  size_t next = 0;
  crypto::SecretBytes out;
  for (auto _ : state) {
    if (next == kBatch) {
      state.PauseTiming();
      reader = std::make_unique<wire::ChunkReader>(std::make_unique<wire::CounterChunkCipher>(ChunkCipher()), limits);
      next = 0;
      state.ResumeTiming();
    }
    out.Clear();
    if (!reader->Push(framed[next++], out).ok()) std::abort();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ChunkOpen)->Arg(64)->Arg(16384);

// ---- Sealed request ------------------------------------------------------------------------------

void BM_SealRequest1KiB(benchmark::State& state) {
  std::vector<wire::SealedCandidate> candidates;
  for (int64_t i = 0; i < state.range(0); ++i) {
    auto key = Must(crypto::SoftwareDhKey::Generate(KemId::kX25519HkdfSha256));
    wire::KeyConfig config;
    config.public_key = ToBytes(key.public_key());
    config.suites = {{KdfId::kHkdfSha256, AeadId::kAes256Gcm}};
    candidates.push_back({config, config.suites[0]});
  }
  for (auto _ : state) {
    Bytes out;
    auto writer = Must(wire::SealedRequestWriter::Create(candidates, out));
    if (!writer.Finish(kKiB, out).ok()) std::abort();
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_SealRequest1KiB)->Arg(1)->Arg(3)->ArgName("candidates");

}  // namespace

BENCHMARK_MAIN();
