// services/process: ready file, hardening and graceful stop around a real loopback server.
#include <gtest/gtest.h>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "openpcc/net/client.h"
#include "openpcc/services/process.h"
#include "openpcc/util/subprocess.h"

namespace openpcc::services {
namespace {

using namespace std::chrono_literals;

TEST(ProcessTest, WritesReadyFileServesAndStopsOnRequest) {
  net::Router router;
  router.Handle("GET", "/healthz", [](net::Request&, net::Response& response) -> net::Awaitable<void> {
    Status sent = co_await response.Send(200, "{\"ok\":true}");
    EXPECT_TRUE(sent.ok());
  });
  net::ServerOptions server_options;
  std::unique_ptr<net::Server> server =
      net::Server::Start(server_options, std::move(router)).value();
  std::string ready = (std::filesystem::temp_directory_path() /
                       ("openpcc-ready-" + std::to_string(getpid())))
                          .string();
  std::filesystem::remove(ready);
  ProcessOptions options;
  options.name = "test";
  options.ready_file = ready;
  options.lock_memory = false;
  std::future<int> served = std::async(std::launch::async, [&] { return ServeUntilSignal(*server, options); });
  std::string address = WaitForFile(ready, 5s).value();
  EXPECT_EQ(address, "127.0.0.1:" + std::to_string(server->port()));
  std::unique_ptr<net::BlockingClient> client = net::BlockingClient::Create({}).value();
  Result<net::ClientResponse> response =
      client->Fetch(net::ClientRequest("GET", "http://" + address + "/healthz"), "", 1024);
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response.value().status, 200u);
  RequestStop();
  EXPECT_EQ(served.get(), 0);
  // Hardened: no core dumps from here on.
  rlimit core{};
  getrlimit(RLIMIT_CORE, &core);
  EXPECT_EQ(core.rlim_cur, 0u);
  EXPECT_EQ(prctl(PR_GET_DUMPABLE), 0);
  std::filesystem::remove(ready);
}

}  // namespace
}  // namespace openpcc::services
