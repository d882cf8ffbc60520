#include "openpcc/cli/service_flags.h"

#include <charconv>

#include "openpcc/util/log.h"

namespace openpcc::cli {

void AddServiceFlags(OptionSet& options, ServiceFlags& flags, std::string default_listen) {
  flags.listen = std::move(default_listen);
  options.AddString("listen", &flags.listen,
                    "Address and port to listen on. Addresses other than loopback need "
                    "--tls-cert/--tls-key.",
                    "HOST:PORT");
  options.AddInt("threads", &flags.threads, "I/O threads.", 1, 64);
  options.AddInt("max-header-bytes", &flags.max_header_bytes, "Largest request header accepted.",
                 1024, 1 << 20);
  options.AddInt("max-body-bytes", &flags.max_body_bytes, "Largest request body accepted.", 1024,
                 int64_t{1} << 32);
  options.AddDuration("idle-timeout", &flags.idle_timeout,
                      "Close a connection that sends and receives nothing for this long.");
  options.AddDuration("request-timeout", &flags.request_timeout,
                      "Longest time from a request's first byte to its response's last.");
  options.AddInt("max-connections", &flags.max_connections, "Open connections at most.", 1,
                 1 << 20);
  options.AddInt("max-streams", &flags.max_streams, "Requests served at once at most.", 1,
                 1 << 20);
  options.AddString("tls-cert", &flags.tls_cert, "TLS certificate chain (PEM, leaf first).",
                    "FILE");
  options.AddString("tls-key", &flags.tls_key, "TLS private key (PEM).", "FILE");
  options.AddBool("insecure-non-loopback", &flags.insecure_non_loopback,
                  "Allow plain HTTP on a non-loopback address (only behind a TLS terminator).");
  options.AddString("ready-file", &flags.ready_file,
                    "Once listening, write HOST:PORT here (for scripts and tests; use port 0 "
                    "for an ephemeral port).",
                    "FILE");
  options.AddString("log-level", &flags.log_level, "debug, info, warning or error.", "LEVEL");
  options.AddDuration("shutdown-grace", &flags.shutdown_grace,
                      "On SIGTERM, how long streams in flight may take to finish.");
}

Result<std::pair<std::string, uint16_t>> ParseHostPort(std::string_view flag,
                                                       std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(flag) + ": expected HOST:PORT, got '" + std::string(text) + "'");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(flag) + ": port must be 0..65535, got '" + std::string(port_text) + "'");
  }
  return std::make_pair(std::string(host), static_cast<uint16_t>(port));
}

Result<net::ServerOptions> ToServerOptions(const ServiceFlags& flags, std::string_view component) {
  services::BlockStopSignals();  // before the server (or anything else) starts a thread
  LogLevel level;
  if (!ParseLogLevel(flags.log_level, &level)) {
    return Error(ErrorCode::kInvalidArgument,
                 "--log-level: expected debug, info, warning or error, got '" + flags.log_level + "'");
  }
  SetLogLevel(level);
  OPENPCC_ASSIGN_OR_RETURN(auto host_port, ParseHostPort("--listen", flags.listen));
  net::ServerOptions options;
  options.address = host_port.first;
  options.port = host_port.second;
  options.threads = static_cast<size_t>(flags.threads);
  options.limits.max_header_bytes = static_cast<size_t>(flags.max_header_bytes);
  options.limits.max_body_bytes = static_cast<uint64_t>(flags.max_body_bytes);
  options.limits.idle_timeout = flags.idle_timeout;
  options.limits.max_request_time = flags.request_timeout;
  options.limits.max_connections = static_cast<size_t>(flags.max_connections);
  options.limits.max_streams = static_cast<size_t>(flags.max_streams);
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return Error(ErrorCode::kInvalidArgument, "--tls-cert and --tls-key go together");
  }
  if (!flags.tls_cert.empty()) options.tls = net::TlsServerFiles{flags.tls_cert, flags.tls_key};
  options.allow_insecure_non_loopback = flags.insecure_non_loopback;
  options.access_log = services::AccessLogger(std::string(component));
  return options;
}

services::ProcessOptions ToProcessOptions(const ServiceFlags& flags, std::string name) {
  services::ProcessOptions options;
  options.name = std::move(name);
  options.ready_file = flags.ready_file;
  options.grace = flags.shutdown_grace;
  if (Result<std::pair<std::string, uint16_t>> hp = ParseHostPort("--listen", flags.listen); hp.ok()) {
    options.address = hp.value().first;
  }
  return options;
}

}  // namespace openpcc::cli
