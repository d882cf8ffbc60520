#include "openpcc/services/tlog/witness_service.h"

#include "openpcc/net/server.h"
#include "openpcc/tlog/witness_request.h"
#include "openpcc/util/log.h"

namespace openpcc::services {
namespace {

constexpr std::string_view kComponent = "witness";

struct Outcome {
  unsigned status = 200;
  std::string code;
  std::string body;  // the cosignature line, the 409 size, or the error message
};

}  // namespace

net::Router WitnessService::Routes() {
  net::Router router;
  router.Handle("GET", "/healthz", [](net::Request&, net::Response& response) -> net::Awaitable<void> {
    (void)co_await response.Send(200, "{\"ok\":true}");
  });
  router.Handle("POST", "/add-checkpoint", [this](net::Request& request, net::Response& response) -> net::Awaitable<void> {
    Result<std::string> body = co_await request.ReadAll(tlog::kMaxAddCheckpointBytes);
    if (!body.ok()) {
      if (!response.started()) (void)co_await response.SendError(400, "bad_request", body.error().message());
      co_return;
    }
    Result<tlog::AddCheckpointRequest> parsed = tlog::ParseAddCheckpoint(body.value());
    if (!parsed.ok()) {
      (void)co_await response.SendError(400, "bad_request", parsed.error().message());
      co_return;
    }
    auto req = std::make_shared<tlog::AddCheckpointRequest>(std::move(parsed).value());
    std::function<Outcome()> job = [this, req]() -> Outcome {
      // The origin is needed for a 409 answer; the note's form is checked again by Cosign.
      std::optional<tlog::Checkpoint> last;
      if (auto note = tlog::ParseNote(req->checkpoint_note); note.ok()) {
        if (auto cp = tlog::ParseCheckpointText(note->text); cp.ok()) last = witness_->LastSeen(cp->origin);
      }
      const uint64_t last_size = last ? last->size : 0;
      auto cosigned = witness_->Cosign(req->checkpoint_note, req->old_size, req->proof, clock_.NowSeconds());
      if (cosigned.ok()) return {200, "", tlog::FormatSignatureLine(cosigned.value())};
      const Error& e = cosigned.error();
      const std::string& m = e.message();
      if (e.code() == ErrorCode::kUnknownKey) return {404, "unknown_log", m};
      if (m.find("fork refused") != std::string::npos) return {422, "fork", m};
      if (m.find("rollback refused") != std::string::npos) return {400, "rollback", m};
      if (e.code() == ErrorCode::kAuthenticationFailed) return {403, "bad_signature", m};
      if (req->old_size != last_size) return {409, "conflict", std::to_string(last_size) + "\n"};
      return {400, "bad_request", m};
    };
    Outcome outcome = co_await RunBlocking<Outcome>(workers_, std::move(job));
    if (outcome.status != 200) {
      LogInfo(kComponent, "refused", {{"status", std::to_string(outcome.status)}, {"reason", outcome.code}});
    }
    if (outcome.status == 200) {
      (void)co_await response.Send(200, outcome.body, "text/x.tlog.cosignature");
    } else if (outcome.status == 409) {
      (void)co_await response.Send(409, outcome.body, "text/x.tlog.size");
    } else {
      (void)co_await response.SendError(outcome.status, outcome.code, outcome.body);
    }
  });
  return router;
}

}  // namespace openpcc::services
