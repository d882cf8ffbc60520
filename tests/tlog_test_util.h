// Shared helpers of the tlog tests: fixed keys, temporary directories, sample entries.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include <boost/json.hpp>

#include "openpcc/crypto/ed25519.h"
#include "openpcc/tlog/entry.h"
#include "openpcc/tlog/release.h"

namespace openpcc::tlog::testing {

inline crypto::Ed25519PrivateKey FixedKey(uint8_t fill) {
  return std::move(crypto::Ed25519PrivateKey::FromSeed(Bytes(32, fill))).value();
}

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("openpcc-tlog-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline ReleaseManifest SampleManifest(const std::string& version) {
  ReleaseManifest m;
  m.version = version;
  m.source_revision = "0123456789abcdef0123456789abcdef01234567";
  m.build_recipe_sha256 = Bytes(32, 0x11);
  m.node_binary_sha256 = Bytes(32, 0x22);
  m.models.push_back({"tiny-llama", Bytes(32, 0x33)});
  SnpReference snp;
  snp.measurements = {Bytes(48, 0x44)};
  snp.policy = 0x30000;
  m.snp = snp;
  m.tpm = TpmReference{{{0, Bytes(32, 1)}, {7, Bytes(32, 2)}}};
  m.gpu.devices = 1;
  m.gpu.rim_ids = {"driver-rim-1"};
  return m;
}

inline Bytes SignedManifest(const std::string& version, const crypto::Ed25519PrivateKey& key) {
  auto json = ReleaseManifestToJson(SampleManifest(version));
  return std::move(SignEntry(EntryKind::kReleaseManifest, *json, key)).value();
}

}  // namespace openpcc::tlog::testing
