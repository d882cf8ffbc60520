// libFuzzer target for tokens/auth_scheme (RFC 9577 PrivateToken headers). The input is a header
// value, parsed as WWW-Authenticate and as Authorization. Aborts unless what parses formats back
// into a header that parses to the same values.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "openpcc/tokens/auth_scheme.h"

namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "auth_header_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc::tokens;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto challenges = ParseWwwAuthenticate(in); challenges.ok()) {
    Check(challenges->size() <= kMaxAuthChallenges, "challenge count bound");
    auto again = ParseWwwAuthenticate(FormatWwwAuthenticate(*challenges));
    Check(again.ok() && again->size() == challenges->size(), "www-authenticate round trip");
    for (size_t i = 0; i < again->size(); ++i) {
      Check((*again)[i].challenge == (*challenges)[i].challenge &&
                (*again)[i].token_key == (*challenges)[i].token_key &&
                (*again)[i].max_age == (*challenges)[i].max_age,
            "www-authenticate values");
    }
  }
  if (auto token = ParseAuthorization(in); token.ok()) {
    auto again = ParseAuthorization(FormatAuthorization(*token));
    Check(again.ok() && *again == *token, "authorization round trip");
  }
  return 0;
}
