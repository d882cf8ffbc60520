#include "openpcc/net/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <array>

namespace openpcc::net::detail {
namespace {

std::string OpenSslReason() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> MakeServerTlsContext(
    const std::string& certificate_chain_file, const std::string& private_key_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(native, certificate_chain_file.c_str()) != 1) {
    return Error(ErrorCode::kInvalidArgument, "tls: cannot load the certificate chain from " +
                                                  certificate_chain_file + ": " + OpenSslReason());
  }
  if (SSL_CTX_use_PrivateKey_file(native, private_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "tls: cannot load the private key from " + private_key_file + ": " +
                     OpenSslReason());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "tls: the private key does not match the certificate: " + OpenSslReason());
  }
  return ctx;
}

Result<std::shared_ptr<asio::ssl::context>> MakeClientTlsContext(const std::string& ca_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  if (ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(native) != 1) {
      return Error(ErrorCode::kInternal,
                   "tls: cannot load the system trust store: " + OpenSslReason());
    }
  } else if (SSL_CTX_load_verify_locations(native, ca_file.c_str(), nullptr) != 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "tls: cannot load CA certificates from " + ca_file + ": " + OpenSslReason());
  }
  return ctx;
}

bool IsIpLiteral(const std::string& host) {
  std::array<unsigned char, 16> out{};
  return inet_pton(AF_INET, host.c_str(), out.data()) == 1 ||
         inet_pton(AF_INET6, host.c_str(), out.data()) == 1;
}

void SetServerNameIndication(SSL* ssl, const std::string& host) {
  // SSL_set_tlsext_host_name is a macro over SSL_ctrl with a C cast; this is the same call.
  SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           const_cast<char*>(host.c_str()));
}

Status RequireServerName(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int ok = IsIpLiteral(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                             : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  if (ok != 1) {
    return Error(ErrorCode::kInternal, "tls: cannot set the expected server name: " + OpenSslReason());
  }
  return OkStatus();
}

}  // namespace openpcc::net::detail
