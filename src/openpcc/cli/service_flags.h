// cli/service_flags.h — the listening, limits, TLS and process flags every service takes, declared
// once so `--help` and config files read the same for the relay, gateway, issuer, log and node.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "openpcc/cli/options.h"
#include "openpcc/net/server.h"
#include "openpcc/services/process.h"

namespace openpcc::cli {

struct ServiceFlags {
  std::string listen;  // HOST:PORT
  int64_t threads = 2;
  int64_t max_header_bytes = 16 * 1024;
  int64_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds request_timeout{300'000};
  int64_t max_connections = 1024;
  int64_t max_streams = 256;
  std::string tls_cert;
  std::string tls_key;
  bool insecure_non_loopback = false;
  std::string ready_file;
  std::string log_level = "info";
  std::chrono::milliseconds shutdown_grace{10'000};
};

// Declares the flags above with `default_listen` (e.g. "127.0.0.1:7200").
void AddServiceFlags(OptionSet& options, ServiceFlags& flags, std::string default_listen);

// Server and process options from the flags; errors name the flag. Also applies --log-level.
Result<net::ServerOptions> ToServerOptions(const ServiceFlags& flags, std::string_view component);
services::ProcessOptions ToProcessOptions(const ServiceFlags& flags, std::string name);

// "HOST:PORT" (IPv6 as "[::1]:PORT") into host and port.
Result<std::pair<std::string, uint16_t>> ParseHostPort(std::string_view flag, std::string_view text);

}  // namespace openpcc::cli
