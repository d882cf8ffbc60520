#include "openpcc/services/node/registrar.h"

#include <boost/json.hpp>

#include "openpcc/util/bytes.h"
#include "openpcc/util/log.h"

namespace openpcc::services::node {
namespace {

int64_t UnixSeconds(SysTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string BaseUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

Registrar::Registrar(RegistrarOptions options, NodeService& service, KeyRing& keys, const Clock& clock)
    : options_(std::move(options)), service_(service), keys_(keys), clock_(clock) {}

Registrar::~Registrar() { Stop(); }

Status Registrar::Start() {
  Result<bool> ticked = keys_.Tick(clock_.Now());
  if (!ticked.ok()) return ticked.error();
  if (!options_.gateway_url.empty()) {
    OPENPCC_ASSIGN_OR_RETURN(client_, net::BlockingClient::Create(options_.client));
  }
  thread_ = std::thread([this] { Run(); });
  return OkStatus();
}

void Registrar::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (client_) {
    for (const std::string& id : registered_) {
      Status s = Deregister(id);
      if (!s.ok()) {
        LogWarning(options_.component, "deregistration failed", {{"error", s.error().ToString()}});
      }
    }
    registered_.clear();
  }
}

Status Registrar::Deregister(const std::string& node_id_hex) {
  net::ClientRequest request("DELETE", BaseUrl(options_.gateway_url) + "/v1/nodes/" + node_id_hex,
                             {{"Authorization", "Bearer " + options_.credential}});
  OPENPCC_ASSIGN_OR_RETURN(net::ClientResponse response, client_->Fetch(request, "", 64 * 1024));
  if (response.status / 100 != 2 && response.status != 404) {
    return Error(ErrorCode::kFailedPrecondition,
                 "registration: the gateway answered HTTP " + std::to_string(response.status) +
                     " to the deregistration of node " + node_id_hex.substr(0, 16));
  }
  LogInfo(options_.component, "deregistered", {{"node_id", node_id_hex.substr(0, 16)}});
  return OkStatus();
}

Status Registrar::RegisterAll() {
  if (!client_) return OkStatus();
  Status result = OkStatus();
  std::set<std::string> now_registered;
  for (const EpochKeyInfo& key : keys_.Keys()) {
    const std::string id = HexEncode(key.key.node_id);
    Result<attest::EvidenceBundle> bundle = service_.Bundle(key);
    if (!bundle.ok()) {
      result = bundle.error();
      continue;
    }
    boost::json::object body;
    body["url"] = options_.node_url;
    body["epoch"] = key.epoch;
    body["not_before"] = UnixSeconds(key.not_before);
    body["not_after"] = UnixSeconds(key.not_after);
    body["bundle"] = bundle->ToJson();
    net::ClientRequest request("POST", BaseUrl(options_.gateway_url) + "/v1/nodes/register",
                               {{"Authorization", "Bearer " + options_.credential},
                                {"Content-Type", "application/json"}});
    Result<net::ClientResponse> response =
        client_->Fetch(request, boost::json::serialize(body), 64 * 1024);
    if (!response.ok()) {
      result = Error(ErrorCode::kFailedPrecondition,
                     "registration: cannot reach the gateway: " + response.error().message());
      continue;
    }
    if (response->status / 100 != 2) {
      result = Error(ErrorCode::kFailedPrecondition, "registration: the gateway answered HTTP " +
                                                         std::to_string(response->status) +
                                                         " for epoch " + std::to_string(key.epoch));
      continue;
    }
    now_registered.insert(id);
    LogInfo(options_.component, "registered",
            {{"node_id", id.substr(0, 16)}, {"epoch", std::to_string(key.epoch)}});
  }
  // Keys erased since the last round are withdrawn from the gateway.
  for (const std::string& id : registered_) {
    if (!now_registered.contains(id)) {
      Status s = Deregister(id);
      (void)s;
    }
  }
  registered_ = std::move(now_registered);
  return result;
}

void Registrar::Run() {
  auto last_registration = std::chrono::steady_clock::now() - options_.interval;
  bool force = true;
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    Result<bool> ticked = keys_.Tick(clock_.Now());
    if (!ticked.ok()) {
      LogError(options_.component, "key rotation failed", {{"error", ticked.error().ToString()}});
    } else if (*ticked) {
      LogInfo(options_.component, "keys rotated", {{"keys", std::to_string(keys_.Keys().size())}});
      force = true;
    }
    if (client_ && (force || std::chrono::steady_clock::now() - last_registration >= options_.interval)) {
      Status s = RegisterAll();
      if (!s.ok()) {
        LogWarning(options_.component, "registration failed", {{"error", s.error().ToString()}});
      }
      last_registration = std::chrono::steady_clock::now();
      // A failed round is retried after a few seconds, not at every tick.
      if (!s.ok()) last_registration -= options_.interval - std::min(options_.interval, std::chrono::milliseconds(5'000));
      force = false;
    }
    lock.lock();
    cv_.wait_for(lock, options_.tick, [this] { return stop_ || register_soon_; });
    if (register_soon_) {
      register_soon_ = false;
      force = true;
    }
  }
}

void Registrar::RegisterSoon() {
  std::lock_guard lock(mu_);
  register_soon_ = true;
  cv_.notify_all();
}

}  // namespace openpcc::services::node
