// Token by token through every hop (issue 8, item 4): `openpcc up` with three nodes on the
// transport-only engine pausing 200 ms between pieces — log, witnesses, issuer, gateway, relay and
// the proxy (the client library) as real processes on loopback. A streamed request's pieces must
// reach the proxy's HTTP caller spread out as the engine produced them: if any hop (node, gateway,
// relay, the client's OHTTP/sealed decoding, the proxy) held the answer back until it was whole,
// the pieces would arrive in one burst and this test fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "openpcc/net/client.h"
#include "openpcc/net/sse.h"
#include "support/up_stack.h"

namespace openpcc {
namespace {

using namespace std::chrono_literals;
using Ms = std::chrono::duration<double, std::milli>;

constexpr auto kDelay = 200ms;
constexpr int kPieces = 6;

std::string ChatBody(int max_tokens, bool stream) {
  boost::json::object body{{"model", "transport-only"}, {"max_tokens", max_tokens}, {"stream", stream},
                           {"messages", boost::json::array{boost::json::object{{"role", "user"}, {"content", "hi"}}}}};
  return boost::json::serialize(body);
}

TEST(StreamingProcessTest, PiecesArriveOneByOneThroughRelayGatewayAndNode) {
  auto started = testing::UpStack::Start(
      "streaming-process-test", {"--engine", "transport-only", "--transport-delay", "200ms", "--nodes", "3"});
  ASSERT_TRUE(started.ok()) << started.error().message();
  std::unique_ptr<testing::UpStack> stack = std::move(started).value();
  auto http = std::move(net::BlockingClient::Create({})).value();
  auto warm = stack->WaitUntilAnswering(*http, ChatBody(1, false));
  ASSERT_TRUE(warm.ok()) << warm.error().message();

  // Each content piece's arrival time at the proxy's caller.
  net::SseDecoder decoder;
  std::vector<net::SseEvent> events;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  std::vector<std::string> pieces;
  bool done = false;
  const auto start = std::chrono::steady_clock::now();
  auto head = http->FetchStreaming(stack->PostChat(), ChatBody(kPieces, true), [&](std::string_view bytes) -> Status {
    const auto now = std::chrono::steady_clock::now();
    events.clear();
    OPENPCC_RETURN_IF_ERROR(decoder.Feed(bytes, events));
    for (const net::SseEvent& event : events) {
      if (event.data == "[DONE]") {
        done = true;
        continue;
      }
      const boost::json::value chunk = boost::json::parse(event.data);
      const auto& delta = chunk.at("choices").at(0).at("delta").as_object();
      if (const auto* content = delta.if_contains("content"); content != nullptr && content->is_string() &&
                                                               !content->as_string().empty()) {
        pieces.emplace_back(content->as_string());
        arrivals.push_back(now);
      }
    }
    return OkStatus();
  });
  ASSERT_TRUE(head.ok()) << head.error().message();
  ASSERT_EQ(head->status, 200u);
  EXPECT_TRUE(done) << "no data: [DONE]";
  ASSERT_EQ(pieces, std::vector<std::string>(kPieces, " tok"));

  // The engine paused 200 ms between pieces: five pauses between six pieces. A hop that buffered
  // the whole answer would deliver them within a few milliseconds of each other.
  const double first_to_last = Ms(arrivals.back() - arrivals.front()).count();
  EXPECT_GE(first_to_last, (kPieces - 1) * Ms(kDelay).count() * 0.8)
      << "the first piece did not arrive well before the last";
  int spread = 0;
  std::string gaps;
  for (size_t i = 1; i < arrivals.size(); ++i) {
    const double gap = Ms(arrivals[i] - arrivals[i - 1]).count();
    gaps += std::to_string(static_cast<int>(gap)) + " ";
    if (gap >= Ms(kDelay).count() / 2) ++spread;
  }
  // One late piece on a loaded machine may shorten the gap after it; more than one is a burst.
  EXPECT_GE(spread, kPieces - 2) << "gaps (ms): " << gaps;
  EXPECT_LT(Ms(arrivals.front() - start).count() + Ms(kDelay).count(), Ms(arrivals.back() - start).count())
      << "first piece at " << Ms(arrivals.front() - start).count() << " ms, last at "
      << Ms(arrivals.back() - start).count() << " ms";
}

}  // namespace
}  // namespace openpcc
