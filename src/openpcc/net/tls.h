// net/tls.h — internal to net/: OpenSSL contexts for the server and the client.
//
// Both sides require TLS 1.2 or later. The client verifies the server's chain against a configured
// CA file or the system store, and its name (DNS name or IP address) against the URL's host.
//
// Thread safety: a context is configured once and then shared read-only by every connection.
#pragma once

#include <memory>
#include <string>

#include "openpcc/net/beast.h"
#include "openpcc/util/result.h"

namespace openpcc::net::detail {

Result<std::shared_ptr<asio::ssl::context>> MakeServerTlsContext(
    const std::string& certificate_chain_file, const std::string& private_key_file);
// `ca_file` empty: the system trust store.
Result<std::shared_ptr<asio::ssl::context>> MakeClientTlsContext(const std::string& ca_file);
// Makes the handshake on `ssl` fail unless the certificate is valid for `host`.
Status RequireServerName(SSL* ssl, const std::string& host);
// Sends `host` as SNI in the ClientHello.
void SetServerNameIndication(SSL* ssl, const std::string& host);
// True if `host` is an IPv4 or IPv6 literal (no SNI for those).
bool IsIpLiteral(const std::string& host);

}  // namespace openpcc::net::detail
