#include "support/up_stack.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "support/cli.h"
#include "support/service_process.h"

namespace openpcc::testing {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

Result<std::unique_ptr<UpStack>> UpStack::Start(const std::string& name, const std::vector<std::string>& args,
                                                std::chrono::seconds wait) {
  std::unique_ptr<UpStack> stack(new UpStack());
  stack->dir_ = fs::temp_directory_path() / (name + "-" + std::to_string(getpid()));
  std::error_code ec;
  fs::remove_all(stack->dir_, ec);
  fs::create_directories(stack->dir_);
  SubprocessOptions options;
  options.argv = {OpenpccBinary(), "up", "--dir", stack->dir_.string(), "--ephemeral-ports"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.log_path = (stack->dir_ / "up.log").string();
  OPENPCC_ASSIGN_OR_RETURN(Subprocess up, Subprocess::Start(options));
  stack->up_ = std::make_unique<Subprocess>(std::move(up));
  Result<std::string> proxy = WaitForFile((stack->dir_ / "run" / "proxy.ready").string(), wait, stack->up_.get());
  if (!proxy.ok()) {
    return Error(proxy.error().code(), "openpcc up did not start: " + proxy.error().message() + "\n" + stack->Log());
  }
  stack->proxy_ = "http://" + *proxy;
  return stack;
}

UpStack::~UpStack() {
  if (up_) up_->Stop(30s);
  if (std::getenv("OPENPCC_KEEP_TEST_DIR") == nullptr) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string UpStack::Log() const { return ReadText(dir_ / "up.log"); }

std::string UpStack::Address(const std::string& role) const {
  std::string text = ReadText(dir_ / "run" / (role + ".ready"));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

net::ClientRequest UpStack::PostChat() const {
  return net::ClientRequest("POST", proxy_ + "/v1/chat/completions", {{"Content-Type", "application/json"}});
}

Result<net::ClientResponse> UpStack::WaitUntilAnswering(net::BlockingClient& http, const std::string& body,
                                                        std::chrono::seconds wait) {
  Result<net::ClientResponse> answer = Error(ErrorCode::kFailedPrecondition, "not tried");
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    answer = http.Fetch(PostChat(), body, 1 << 20);
    if (answer.ok() && answer->status == 200) return answer;
    if (!up_->Running()) break;
    std::this_thread::sleep_for(1s);
  }
  if (!answer.ok()) return answer.error();
  return Error(ErrorCode::kFailedPrecondition, "the proxy answered HTTP " + std::to_string(answer->status) + ": " +
                                                   answer->body + "\n" + Log());
}

}  // namespace openpcc::testing
