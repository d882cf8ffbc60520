#include "openpcc/crypto/openssl_ptr.h"

#include <openssl/err.h>

#include <string>

namespace openpcc::crypto {

Error OpenSslError(std::string_view what) {
  std::string message(what);
  unsigned long code = ERR_get_error();
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    message += " (";
    message += buf;
    message += ")";
  }
  ERR_clear_error();
  return Error(ErrorCode::kInternal, std::move(message));
}

}  // namespace openpcc::crypto
