// tests/interop/tokens_issuer_harness.cc — our issuer core as a line-oriented process, so Node.js
// peers (tests/interop/privacypass_peer.mjs) can drive it as they would drive `openpcc issuer`
// over HTTP. Not a server: one request per line on stdin, one answer per line on stdout.
//
//   argv: <issuer key PKCS#8 DER file> <account database path>
//   The key issues from 0 to 2^40 seconds; an account with a fresh API key is created and its key
//   printed first, as "apikey <key>".
//   request lines:  "token-request <api key> <media type> <hex body>"
//                   "blind-sign <hex blinded message>"       (raw RFC 9474 BlindSign, for blindrsa-ts)
//   answers:        "ok <media type or -> <hex body>"  or  "err <error code name> <message>"
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "openpcc/tokens/account_store.h"
#include "openpcc/tokens/issuer.h"

using namespace openpcc;
using namespace openpcc::tokens;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: tokens_issuer_harness <key.pkcs8> <accounts.db>\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  const Bytes der((std::istreambuf_iterator<char>(in)), {});
  auto sk = crypto::BlindRsaPrivateKey::FromPkcs8(der);
  if (!sk.ok()) {
    std::cerr << sk.error().ToString() << "\n";
    return 2;
  }
  // Fixed time: the harness has no clock of its own; the key's windows cover it.
  const std::chrono::sys_seconds now{std::chrono::seconds(1'700'000'000)};
  auto signer = std::make_shared<crypto::BlindRsaPrivateKey>(
      crypto::BlindRsaPrivateKey::FromPkcs8(der).value());
  TokenKeySet keys;
  auto key = IssuerKey::Make(std::move(sk).value(),
                             {std::chrono::sys_seconds{}, std::chrono::sys_seconds{std::chrono::seconds(1LL << 40)},
                              std::chrono::sys_seconds{std::chrono::seconds(1LL << 40)}});
  if (!key.ok() || !keys.Add(std::move(key).value()).ok()) return 2;
  auto accounts = AccountStore::Open(argv[2]);
  if (!accounts.ok()) return 2;
  auto account = (*accounts)->CreateAccount("interop", 100000, 100000, now);
  auto api = account.ok() ? (*accounts)->CreateApiKey(*account, now) : Result<NewApiKey>(account.error());
  if (!api.ok()) return 2;
  std::cout << "apikey " << std::string(api->api_key.begin(), api->api_key.end()) << std::endl;
  Issuer issuer(keys, **accounts);

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string op;
    words >> op;
    if (op == "token-request") {
      std::string api_key, media, hex;
      words >> api_key >> media >> hex;
      auto body = HexDecode(hex);
      if (!body.ok()) {
        std::cout << "err malformed hex" << std::endl;
        continue;
      }
      auto res = issuer.HandleTokenRequest(api_key, media, *body, now);
      if (res.ok()) {
        std::cout << "ok " << res->media_type << " " << HexEncode(res->body) << std::endl;
      } else {
        std::cout << "err " << ErrorCodeName(res.error().code()) << " " << res.error().message()
                  << std::endl;
      }
    } else if (op == "blind-sign") {
      std::string hex;
      words >> hex;
      auto blinded = HexDecode(hex);
      auto sig = blinded.ok() ? crypto::BlindRsaBlindSign(*signer, *blinded)
                              : Result<Bytes>(blinded.error());
      if (sig.ok()) {
        std::cout << "ok - " << HexEncode(*sig) << std::endl;
      } else {
        std::cout << "err " << ErrorCodeName(sig.error().code()) << " " << sig.error().message()
                  << std::endl;
      }
    } else {
      std::cout << "err unknown-op " << op << std::endl;
    }
  }
  return 0;
}
