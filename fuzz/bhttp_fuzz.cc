// libFuzzer target for wire/bhttp (RFC 9292). The input is one message, decoded as a request and as a
// response, under the default limits and under small ones. The target aborts unless:
//   - whole-message decoding and streamed decoding (in pieces of 1..16 bytes chosen by the input,
//     and byte by byte) agree: both fail with the same error, or both give the same message and
//     layout;
//   - a decoded message re-encoded with its layout decodes to the same message and layout, and, for
//     the known-length form, is no longer than the input (only non-minimal varints make the input
//     longer) and identical to it when as long;
//   - the message encoded in either framing padded to 1 KiB, and streamed through StreamEncoder in
//     pieces, decodes to the same message.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>

#include "openpcc/wire/bhttp.h"

namespace {

using openpcc::ByteView;
using openpcc::OkStatus;
using openpcc::Result;
using openpcc::Status;
using namespace openpcc::wire::bhttp;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "bhttp_fuzz: %s\n", what);
    std::abort();
  }
}

using Encoded = openpcc::crypto::SecretVector;

void AppendTo(Encoded& out, ByteView bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

class Collector final : public StreamVisitor {
 public:
  Status OnRequestHead(RequestHead head) override {
    static_cast<RequestHead&>(request) = std::move(head);
    return OkStatus();
  }
  Status OnResponseHead(ResponseHead head) override {
    static_cast<ResponseHead&>(response) = std::move(head);
    return OkStatus();
  }
  Status OnContent(ByteView piece) override {
    Check(!piece.empty(), "empty content piece");
    request.content.insert(request.content.end(), piece.begin(), piece.end());
    response.content.insert(response.content.end(), piece.begin(), piece.end());
    return OkStatus();
  }
  Status OnTrailers(Fields trailers) override {
    request.trailers = trailers;
    response.trailers = std::move(trailers);
    return OkStatus();
  }
  Request request;
  Response response;
};

template <typename Message>
Result<Message> Decode(ByteView bytes, const DecodeLimits& limits, EncodeOptions* layout) {
  if constexpr (std::is_same_v<Message, Request>) {
    return DecodeRequest(bytes, limits, layout);
  } else {
    return DecodeResponse(bytes, limits, layout);
  }
}

template <typename Message>
Result<Encoded> Encode(const Message& message, const EncodeOptions& options) {
  if constexpr (std::is_same_v<Message, Request>) {
    return EncodeRequest(message, options);
  } else {
    return EncodeResponse(message, options);
  }
}

template <typename Message>
void CheckStreamed(ByteView data, const DecodeLimits& limits, bool byte_by_byte,
                   const Result<Message>& whole, const EncodeOptions& whole_layout) {
  constexpr MessageKind kKind =
      std::is_same_v<Message, Request> ? MessageKind::kRequest : MessageKind::kResponse;
  StreamDecoder decoder(kKind, limits);
  Collector collector;
  Status status = OkStatus();
  for (size_t at = 0; at < data.size() && status.ok();) {
    const size_t length = byte_by_byte ? 1 : 1 + data[at] % 16;
    const size_t piece = length < data.size() - at ? length : data.size() - at;
    status = decoder.Push(data.subspan(at, piece), collector);
    at += piece;
  }
  if (status.ok()) status = decoder.Finish(collector);
  Check(status.ok() == whole.ok(), "whole and streamed decoding disagree on success");
  if (!whole.ok()) {
    Check(status.error().code() == whole.error().code(), "different error codes");
    Check(status.error().message() == whole.error().message(), "different error messages");
    return;
  }
  if constexpr (std::is_same_v<Message, Request>) {
    Check(collector.request == *whole, "streamed request differs");
  } else {
    Check(collector.response == *whole, "streamed response differs");
  }
  Check(decoder.layout() == whole_layout, "streamed layout differs");
}

template <typename Message>
void CheckStreamEncoder(const Message& message, const DecodeLimits& limits) {
  StreamEncoder encoder;
  Result<Encoded> head = Encoded{};
  if constexpr (std::is_same_v<Message, Request>) {
    head = encoder.BeginRequest(message);
  } else {
    head = encoder.BeginResponse(message);
  }
  Check(head.ok(), "StreamEncoder refused the head of a decoded message");
  Encoded out = std::move(head).value();
  const ByteView content = message.content;
  for (size_t at = 0, step = 1; at < content.size(); at += step, step = step * 2 + 1) {
    const size_t piece = step < content.size() - at ? step : content.size() - at;
    auto chunk = encoder.Content(content.subspan(at, piece));
    Check(chunk.ok(), "StreamEncoder refused content");
    AppendTo(out, *chunk);
  }
  auto end = encoder.End(message.trailers, Padding{.to_multiple = 256});
  Check(end.ok(), "StreamEncoder refused the trailers of a decoded message");
  AppendTo(out, *end);
  auto decoded = Decode<Message>(out, limits, nullptr);
  Check(decoded.ok(), "StreamEncoder output does not decode");
  Check(*decoded == message, "StreamEncoder output decodes to another message");
}

template <typename Message>
void FuzzOne(ByteView data, const DecodeLimits& limits) {
  EncodeOptions layout;
  const Result<Message> whole = Decode<Message>(data, limits, &layout);
  CheckStreamed(data, limits, /*byte_by_byte=*/false, whole, layout);
  if (data.size() <= 512) CheckStreamed(data, limits, /*byte_by_byte=*/true, whole, layout);
  if (!whole.ok()) return;

  auto again = Encode(*whole, layout);
  Check(again.ok(), "a decoded message does not re-encode");
  if (layout.framing == Framing::kKnownLength) {  // indeterminate content may come in other chunks
    Check(again->size() <= data.size(), "re-encoding is longer than the input");
    if (again->size() == data.size()) {
      Check(std::equal(data.begin(), data.end(), again->begin()), "same-length re-encoding differs");
    }
  }
  EncodeOptions again_layout;
  auto redecoded = Decode<Message>(*again, limits, &again_layout);
  Check(redecoded.ok(), "re-encoding does not decode");
  Check(*redecoded == *whole, "re-encoding decodes to another message");
  Check(again_layout == layout, "re-encoding decodes with another layout");

  for (Framing framing : {Framing::kKnownLength, Framing::kIndeterminateLength}) {
    auto padded = Encode(*whole, {framing, Truncation::kNone, {.to_multiple = kPaddingMultiple}});
    Check(padded.ok(), "padded encoding failed");
    Check(padded->size() % kPaddingMultiple == 0, "padding missed the multiple");
    auto decoded = Decode<Message>(*padded, limits, nullptr);
    Check(decoded.ok() && *decoded == *whole, "padded encoding decodes to another message");
  }
  CheckStreamEncoder(*whole, limits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(data, size);
  const DecodeLimits defaults;
  const DecodeLimits small{.max_control_data_bytes = 24,
                           .max_field_section_bytes = 48,
                           .max_content_bytes = 64,
                           .max_informational_responses = 2};
  for (const DecodeLimits& limits : {defaults, small}) {
    FuzzOne<Request>(input, limits);
    FuzzOne<Response>(input, limits);
  }
  return 0;
}
