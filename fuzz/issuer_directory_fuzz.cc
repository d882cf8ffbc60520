// libFuzzer target for tokens/issuer_directory (RFC 9578 §4 JSON). Aborts unless a directory that
// parses serialises to JSON that parses to the same directory.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "openpcc/tokens/issuer_directory.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc::tokens;
  auto dir = IssuerDirectory::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!dir.ok()) return 0;
  auto again = IssuerDirectory::Parse(dir->ToJson());
  bool same = again.ok() && again->issuer_request_uri == dir->issuer_request_uri &&
              again->token_challenge == dir->token_challenge &&
              again->token_keys.size() == dir->token_keys.size();
  for (size_t i = 0; same && i < dir->token_keys.size(); ++i) {
    const auto& a = dir->token_keys[i];
    const auto& b = again->token_keys[i];
    same = a.token_type == b.token_type && a.token_key == b.token_key &&
           a.not_before == b.not_before && a.redeem_until == b.redeem_until;
  }
  if (!same) {
    std::fprintf(stderr, "issuer_directory_fuzz: round trip differs\n");
    std::abort();
  }
  return 0;
}
