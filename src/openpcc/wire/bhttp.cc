#include "openpcc/wire/bhttp.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "openpcc/wire/byte_reader.h"

namespace openpcc::wire::bhttp {
namespace {

// ---- Errors ----------------------------------------------------------------------------------

Error BhttpError(ErrorCode code, std::string_view message) {
  return Error(code, "bhttp: " + std::string(message));
}

std::string Num(uint64_t value) { return std::to_string(value); }

// " at offset 27": where in the message a decoder found the item it rejects.
std::string AtOffset(uint64_t offset) { return " at offset " + Num(offset); }

// ---- Value checks shared by encoders and decoders ----------------------------------------------
// Each returns "" when the value is valid, else what is wrong with it; the caller adds which value
// it was (and a decoder where it starts). No message quotes the value or any byte of it: they are
// message data, which DESIGN §6 keeps out of errors and logs.

bool IsAlpha(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

// RFC 9110 §5.6.2: tchar.
bool IsTokenChar(uint8_t c) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return IsAlpha(c) || IsDigit(c) || kSymbols.find(static_cast<char>(c)) != std::string_view::npos;
}

bool All(std::string_view value, bool (*valid)(uint8_t)) {
  return std::all_of(value.begin(), value.end(),
                     [valid](char c) { return valid(static_cast<uint8_t>(c)); });
}

// "<what> <problem>", or "" if there is no problem.
std::string Named(std::string_view what, std::string problem) {
  return problem.empty() ? problem : std::string(what) + " " + problem;
}

std::string CheckToken(std::string_view token) {
  if (token.empty()) return "is empty";
  if (!All(token, IsTokenChar)) return "contains a byte that is not a token character";
  return {};
}

// RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), or empty where HTTP/2 omits :scheme.
std::string CheckScheme(std::string_view scheme) {
  auto is_scheme_char = [](uint8_t c) {
    return IsAlpha(c) || IsDigit(c) || c == '+' || c == '-' || c == '.';
  };
  if (!scheme.empty() && (!IsAlpha(static_cast<uint8_t>(scheme.front())) ||
                          !All(scheme.substr(1), is_scheme_char))) {
    return "is not an RFC 3986 scheme (a letter, then letters, digits, '+', '-' or '.')";
  }
  return {};
}

std::string CheckVisibleAscii(std::string_view value) {
  if (!All(value, [](uint8_t c) { return c >= 0x21 && c <= 0x7e; })) {
    return "contains a byte that is not visible ASCII (0x21..0x7e)";
  }
  return {};
}

// Request control data in wire order (RFC 9292 §3.4).
constexpr size_t kControlFields = 4;
constexpr std::array<std::string_view, kControlFields> kControlNames = {"method", "scheme",
                                                                        "authority", "path"};
constexpr std::array<Text RequestHead::*, kControlFields> kControlMembers = {
    &RequestHead::method, &RequestHead::scheme, &RequestHead::authority, &RequestHead::path};

std::string CheckControlField(size_t index, std::string_view value) {
  switch (index) {
    case 0: return CheckToken(value);
    case 1: return CheckScheme(value);
    default: return CheckVisibleAscii(value);
  }
}

// RFC 9292 §3.6: names are tokens, or pseudo-fields first in a header section and never one of
// the five that BHTTP carries as control data; values follow RFC 9113 §8.2.1.
std::string CheckFieldName(std::string_view name, bool in_trailers, bool& regular_seen) {
  if (name.empty()) return "name is empty";
  if (name.front() != ':') {
    regular_seen = true;
    return Named("name", CheckToken(name));
  }
  if (in_trailers) return "pseudo-field in a trailer section";
  if (regular_seen) return "pseudo-field after a regular field";
  for (const std::string_view control : {":method", ":scheme", ":authority", ":path", ":status"}) {
    if (name == control) return "name " + std::string(control) + " is control data, not a field";
  }
  return Named("pseudo-field name", CheckToken(name.substr(1)));
}

std::string CheckFieldValue(std::string_view value) {
  if (value.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos) {
    return "value contains NUL, CR or LF";
  }
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  if (!value.empty() && is_space(value.front())) return "value starts with whitespace";
  if (!value.empty() && is_space(value.back())) return "value ends with whitespace";
  return {};
}

std::string CheckField(const Field& field, bool in_trailers, bool& regular_seen) {
  std::string problem = CheckFieldName(field.name, in_trailers, regular_seen);
  return problem.empty() ? CheckFieldValue(field.value) : problem;
}

std::string InformationalSectionName(size_t index) {
  return "informational response " + Num(index) + ": header section";
}

// ---- Encoding ----------------------------------------------------------------------------------

// A ByteWriter over wiped memory, for the encoders: what they write is plaintext, and a growing
// plain vector would leave copies of it in freed memory. Same contract as ByteWriter: a value that
// does not fit (a varint above 2^62 - 1) makes the call return false and writes nothing.
class PlaintextWriter {
 public:
  void WriteU8(uint8_t v) { bytes_.push_back(v); }
  [[nodiscard]] bool WriteVarint(uint64_t v) {
    const size_t length = VarintLength(v);  // 1, 2, 4 or 8 bytes; 0 if above 2^62 - 1
    if (length == 0) return false;
    // The top two bits of the first byte give the length: 00, 01, 10, 11 (RFC 9000 §16).
    const uint64_t tag = length == 1 ? 0 : length == 2 ? 1 : length == 4 ? 2 : 3;
    const uint64_t encoded = v | (tag << (8 * length - 2));
    for (size_t i = length; i > 0; --i) WriteU8(static_cast<uint8_t>(encoded >> (8 * (i - 1))));
    return true;
  }
  void WriteBytes(ByteView b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
  void WriteZeros(size_t n) { bytes_.insert(bytes_.end(), n, 0); }
  [[nodiscard]] bool WriteVarintPrefixed(ByteView b) {
    if (!WriteVarint(b.size())) return false;
    WriteBytes(b);
    return true;
  }

  size_t size() const { return bytes_.size(); }
  size_t max_size() const { return bytes_.max_size(); }
  ByteView view() const { return bytes_; }
  crypto::SecretVector Take() { return std::move(bytes_); }

 private:
  crypto::SecretVector bytes_;
};

Status PutVarint(PlaintextWriter& out, uint64_t value, std::string_view what) {
  if (!out.WriteVarint(value)) {
    return BhttpError(ErrorCode::kOutOfRange,
                      std::string(what) + " " + Num(value) + " does not fit a varint (2^62 - 1)");
  }
  return OkStatus();
}

Status PutPrefixed(PlaintextWriter& out, ByteView bytes, std::string_view what) {
  if (!out.WriteVarintPrefixed(bytes)) {
    return BhttpError(ErrorCode::kOutOfRange, std::string(what) + " length " + Num(bytes.size()) +
                                                  " does not fit a varint (2^62 - 1)");
  }
  return OkStatus();
}

Status WriteFieldSection(PlaintextWriter& out, const Fields& fields, std::string_view section,
                         bool trailers, Framing framing) {
  PlaintextWriter lines;
  bool regular_seen = false;
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& field = fields[i];
    if (std::string problem = CheckField(field, trailers, regular_seen); !problem.empty()) {
      return BhttpError(ErrorCode::kInvalidArgument,
                        std::string(section) + ": field " + Num(i + 1) + ": " + problem);
    }
    OPENPCC_RETURN_IF_ERROR(PutPrefixed(lines, AsBytes(field.name), "field name"));
    OPENPCC_RETURN_IF_ERROR(PutPrefixed(lines, AsBytes(field.value), "field value"));
  }
  if (framing == Framing::kKnownLength) return PutPrefixed(out, lines.view(), section);
  out.WriteBytes(lines.view());
  out.WriteU8(0);  // Content Terminator (RFC 9292 §3.2)
  return OkStatus();
}

Status WriteRequestControlData(PlaintextWriter& out, const RequestHead& head) {
  for (size_t i = 0; i < kControlFields; ++i) {
    const Text& value = head.*kControlMembers[i];
    if (std::string problem = CheckControlField(i, value); !problem.empty()) {
      return BhttpError(ErrorCode::kInvalidArgument,
                        "request control data: " + Named(kControlNames[i], problem));
    }
    OPENPCC_RETURN_IF_ERROR(PutPrefixed(out, AsBytes(value), kControlNames[i]));
  }
  return OkStatus();
}

// Informational responses (status and header section each) and the final status code.
Status WriteResponseControlData(PlaintextWriter& out, const ResponseHead& head, Framing framing) {
  for (size_t i = 0; i < head.informational.size(); ++i) {
    const InformationalResponse& info = head.informational[i];
    if (info.status < 100 || info.status > 199) {
      return BhttpError(ErrorCode::kInvalidArgument,
                        "informational response " + Num(i + 1) + ": status " + Num(info.status) +
                            " is not in 100..199");
    }
    OPENPCC_RETURN_IF_ERROR(PutVarint(out, info.status, "status code"));
    OPENPCC_RETURN_IF_ERROR(WriteFieldSection(out, info.headers, InformationalSectionName(i + 1),
                                              /*trailers=*/false, framing));
  }
  if (head.status < 200 || head.status > 599) {
    return BhttpError(ErrorCode::kInvalidArgument,
                      "response control data: final status " + Num(head.status) +
                          " is not in 200..599");
  }
  return PutVarint(out, head.status, "status code");
}

Status WriteContent(PlaintextWriter& out, ByteView content, Framing framing) {
  if (framing == Framing::kKnownLength) return PutPrefixed(out, content, "content");
  if (!content.empty()) OPENPCC_RETURN_IF_ERROR(PutPrefixed(out, content, "content chunk"));
  out.WriteU8(0);
  return OkStatus();
}

// Header section, content and trailer section, leaving out what `truncation` says (RFC 9292 §3.8).
Status WriteSections(PlaintextWriter& out, const Fields& headers, ByteView content,
                     const Fields& trailers, const EncodeOptions& options) {
  const Truncation truncation = options.truncation;
  if (truncation >= Truncation::kBeforeTrailers && !trailers.empty()) {
    return BhttpError(ErrorCode::kInvalidArgument, "truncation: the trailer section is not empty");
  }
  if (truncation >= Truncation::kBeforeContent && !content.empty()) {
    return BhttpError(ErrorCode::kInvalidArgument, "truncation: the content is not empty");
  }
  if (truncation >= Truncation::kBeforeHeaders && !headers.empty()) {
    return BhttpError(ErrorCode::kInvalidArgument, "truncation: the header section is not empty");
  }
  if (truncation < Truncation::kBeforeHeaders) {
    OPENPCC_RETURN_IF_ERROR(
        WriteFieldSection(out, headers, "header section", /*trailers=*/false, options.framing));
  }
  if (truncation < Truncation::kBeforeContent) {
    OPENPCC_RETURN_IF_ERROR(WriteContent(out, content, options.framing));
  }
  if (truncation < Truncation::kBeforeTrailers) {
    OPENPCC_RETURN_IF_ERROR(
        WriteFieldSection(out, trailers, "trailer section", /*trailers=*/true, options.framing));
  }
  return OkStatus();
}

// Appends the padding `padding` asks for after `message_length` bytes of message.
Status WritePadding(PlaintextWriter& out, const Padding& padding, size_t message_length) {
  if (padding.bytes != 0 && padding.to_multiple != 0) {
    return BhttpError(ErrorCode::kInvalidArgument, "padding: set bytes or to_multiple, not both");
  }
  const size_t length = padding.to_multiple != 0
                            ? PaddingToMultiple(message_length, padding.to_multiple)
                            : padding.bytes;
  if (length > out.max_size() - out.size()) {
    return BhttpError(ErrorCode::kOutOfRange, "padding: " + Num(length) + " bytes do not fit a buffer");
  }
  out.WriteZeros(length);
  return OkStatus();
}

uint8_t FramingIndicator(MessageKind kind, Framing framing) {
  const uint8_t base = framing == Framing::kKnownLength ? 0 : 2;
  return static_cast<uint8_t>(base + (kind == MessageKind::kResponse ? 1 : 0));
}

// ---- Whole-message decoding: a StreamDecoder fed everything at once, collecting the parts --------

// Collects the parts of one message; `Message` is Request or Response.
template <typename Message>
class Collector final : public StreamVisitor {
 public:
  Status OnRequestHead(RequestHead head) override { return TakeHead(std::move(head)); }
  Status OnResponseHead(ResponseHead head) override { return TakeHead(std::move(head)); }
  Status OnContent(ByteView piece) override {
    message.content.insert(message.content.end(), piece.begin(), piece.end());
    return OkStatus();
  }
  Status OnTrailers(Fields trailers) override {
    message.trailers = std::move(trailers);
    return OkStatus();
  }
  Message message;

 private:
  template <typename Head>
  Status TakeHead(Head head) {
    if constexpr (std::is_base_of_v<Head, Message>) {
      static_cast<Head&>(message) = std::move(head);
      return OkStatus();
    } else {
      return Error(ErrorCode::kInternal, "bhttp: head of the other message kind");
    }
  }
};

template <typename Collector>
auto DecodeWhole(MessageKind kind, ByteView bytes, const DecodeLimits& limits,
                 EncodeOptions* layout) -> Result<decltype(Collector::message)> {
  Collector collector;
  StreamDecoder decoder(kind, limits);
  OPENPCC_RETURN_IF_ERROR(decoder.Push(bytes, collector));
  OPENPCC_RETURN_IF_ERROR(decoder.Finish(collector));
  if (layout != nullptr) *layout = decoder.layout();
  return std::move(collector.message);
}

}  // namespace

size_t PaddingToMultiple(size_t encoded_len, size_t multiple) {
  if (multiple == 0) return 0;
  return (multiple - encoded_len % multiple) % multiple;
}

Result<crypto::SecretVector> EncodeRequest(const Request& request, const EncodeOptions& options) {
  PlaintextWriter out;
  out.WriteU8(FramingIndicator(MessageKind::kRequest, options.framing));
  OPENPCC_RETURN_IF_ERROR(WriteRequestControlData(out, request));
  OPENPCC_RETURN_IF_ERROR(
      WriteSections(out, request.headers, request.content, request.trailers, options));
  OPENPCC_RETURN_IF_ERROR(WritePadding(out, options.padding, out.size()));
  return out.Take();
}

Result<crypto::SecretVector> EncodeResponse(const Response& response,
                                            const EncodeOptions& options) {
  PlaintextWriter out;
  out.WriteU8(FramingIndicator(MessageKind::kResponse, options.framing));
  OPENPCC_RETURN_IF_ERROR(WriteResponseControlData(out, response, options.framing));
  OPENPCC_RETURN_IF_ERROR(
      WriteSections(out, response.headers, response.content, response.trailers, options));
  OPENPCC_RETURN_IF_ERROR(WritePadding(out, options.padding, out.size()));
  return out.Take();
}

Result<Request> DecodeRequest(ByteView message, const DecodeLimits& limits, EncodeOptions* layout) {
  return DecodeWhole<Collector<Request>>(MessageKind::kRequest, message, limits, layout);
}

Result<Response> DecodeResponse(ByteView message, const DecodeLimits& limits,
                                EncodeOptions* layout) {
  return DecodeWhole<Collector<Response>>(MessageKind::kResponse, message, limits, layout);
}

// ---- StreamVisitor ---------------------------------------------------------------------------------

Status StreamVisitor::OnRequestHead(RequestHead) {
  return BhttpError(ErrorCode::kFailedPrecondition, "this StreamVisitor does not accept requests");
}

Status StreamVisitor::OnResponseHead(ResponseHead) {
  return BhttpError(ErrorCode::kFailedPrecondition, "this StreamVisitor does not accept responses");
}

// ---- StreamDecoder -----------------------------------------------------------------------------
//
// The decoder reads one item at a time: a varint, one string of control data, one known-length
// field section, one indeterminate-length field line, or as much content or padding as there is.
// An item other than content and padding is read whole or not at all: when the input ends inside
// it, the reader is put back to its start, `missing_` records what was lacking, and the item's
// bytes wait in `pending_` for the next Push. Every length is checked against its limit as soon as
// it is read, so `pending_` never holds more than one item within the limits.

StreamDecoder::StreamDecoder(MessageKind kind, const DecodeLimits& limits)
    : kind_(kind), limits_(limits) {}

Status StreamDecoder::Push(ByteView input, StreamVisitor& visitor) {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kFinished) {
    return BhttpError(ErrorCode::kFailedPrecondition, "stream decoder: Push after Finish");
  }
  if (pending_.empty()) {
    ByteReader in(input);
    OPENPCC_RETURN_IF_ERROR(Run(in, visitor));
    pending_.assign(in.rest().begin(), in.rest().end());
    return OkStatus();
  }
  pending_.insert(pending_.end(), input.begin(), input.end());
  ByteReader in(pending_);
  OPENPCC_RETURN_IF_ERROR(Run(in, visitor));
  pending_.erase(pending_.begin(), pending_.end() - static_cast<std::ptrdiff_t>(in.remaining()));
  return OkStatus();
}

Status StreamDecoder::Run(ByteReader& in, StreamVisitor& visitor) {
  while (true) {
    const size_t before = in.remaining();
    Result<Progress> progress = Step(in, visitor);
    if (!progress.ok()) return Fail(std::move(progress).error());
    offset_ += before - in.remaining();
    if (*progress == Progress::kNeedMore) return OkStatus();
  }
}

Result<StreamDecoder::Progress> StreamDecoder::Step(ByteReader& in, StreamVisitor& visitor) {
  switch (state_) {
    case State::kFramingIndicator: return ReadFramingIndicator(in);
    case State::kControlData: return ReadControlData(in);
    case State::kStatusCode: return ReadStatusCode(in);
    case State::kFieldSection:
      return framing_ == Framing::kKnownLength ? ReadKnownLengthSection(in, visitor)
                                               : ReadFieldLine(in, visitor);
    case State::kContentLength: return ReadContentLength(in);
    case State::kChunkLength: return ReadChunkLength(in);
    case State::kContentBytes: return ReadContent(in, visitor);
    case State::kPadding: return ReadPadding(in);
    case State::kFinished:
    case State::kFailed: break;
  }
  return BhttpError(ErrorCode::kInternal, "stream decoder: no item to read in this state");
}

Result<StreamDecoder::Progress> StreamDecoder::ReadFramingIndicator(ByteReader& in) {
  uint64_t indicator = 0;
  if (!in.ReadVarint(&indicator)) {
    missing_ = Missing::kLength;
    return Progress::kNeedMore;
  }
  if (indicator > 3) {
    return BhttpError(ErrorCode::kUnsupported, "unknown framing indicator " + Num(indicator));
  }
  const MessageKind kind = indicator % 2 == 0 ? MessageKind::kRequest : MessageKind::kResponse;
  if (kind != kind_) {
    return BhttpError(ErrorCode::kMalformed,
                      "framing indicator " + Num(indicator) + " starts a " +
                          (kind == MessageKind::kRequest ? "request, but a response" :
                                                           "response, but a request") +
                          " was expected");
  }
  framing_ = indicator < 2 ? Framing::kKnownLength : Framing::kIndeterminateLength;
  layout_.framing = framing_;
  state_ = kind_ == MessageKind::kRequest ? State::kControlData : State::kStatusCode;
  return Progress::kAdvanced;
}

Result<StreamDecoder::Progress> StreamDecoder::ReadControlData(ByteReader& in) {
  const ByteReader start = in;
  const std::string_view name = kControlNames[control_index_];
  uint64_t length = 0;
  if (!in.ReadVarint(&length)) {
    missing_ = Missing::kLength;
    return Progress::kNeedMore;
  }
  if (length > limits_.max_control_data_bytes - control_bytes_) {
    return BhttpError(ErrorCode::kOutOfRange,
                      "request control data: " + std::string(name) + " length " + Num(length) +
                          " takes the control data past max_control_data_bytes (" +
                          Num(limits_.max_control_data_bytes) + ")");
  }
  ByteView value;
  if (!in.ReadBytes(static_cast<size_t>(length), &value)) {
    in = start;
    missing_ = Missing::kValue;
    return Progress::kNeedMore;
  }
  Text& field = request_.*kControlMembers[control_index_];
  field.assign(AsChars(value));
  if (std::string problem = CheckControlField(control_index_, field); !problem.empty()) {
    const std::string what = std::string(name) + AtOffset(offset_);
    return BhttpError(ErrorCode::kMalformed, "request control data: " + Named(what, problem));
  }
  control_bytes_ += length;
  if (++control_index_ == kControlFields) StartSection(Section::kHeader);
  return Progress::kAdvanced;
}

Result<StreamDecoder::Progress> StreamDecoder::ReadStatusCode(ByteReader& in) {
  uint64_t status = 0;
  if (!in.ReadVarint(&status)) {
    missing_ = Missing::kLength;
    return Progress::kNeedMore;
  }
  if (status >= 100 && status <= 199) {
    if (response_.informational.size() >= limits_.max_informational_responses) {
      return BhttpError(ErrorCode::kOutOfRange,
                        "response: informational response " +
                            Num(response_.informational.size() + 1) +
                            " is more than max_informational_responses (" +
                            Num(limits_.max_informational_responses) + ")");
    }
    response_.informational.push_back({static_cast<uint16_t>(status), {}});
    StartSection(Section::kInformational);
    return Progress::kAdvanced;
  }
  if (status >= 200 && status <= 599) {
    response_.status = static_cast<uint16_t>(status);
    StartSection(Section::kHeader);
    return Progress::kAdvanced;
  }
  return BhttpError(ErrorCode::kMalformed,
                    "response control data: status code " + Num(status) + " is not in 100..599");
}

Result<StreamDecoder::Progress> StreamDecoder::ReadKnownLengthSection(ByteReader& in,
                                                                      StreamVisitor& visitor) {
  const ByteReader start = in;
  uint64_t length = 0;
  if (!in.ReadVarint(&length)) {
    missing_ = Missing::kLength;
    return Progress::kNeedMore;
  }
  if (length > limits_.max_field_section_bytes) {
    return BhttpError(ErrorCode::kOutOfRange, SectionName() + ": length " + Num(length) +
                                                  " exceeds max_field_section_bytes (" +
                                                  Num(limits_.max_field_section_bytes) + ")");
  }
  const uint64_t lines_offset = offset_ + (start.remaining() - in.remaining());
  ByteReader lines;
  if (!in.ReadChild(static_cast<size_t>(length), &lines)) {
    in = start;
    missing_ = Missing::kValue;
    return Progress::kNeedMore;
  }
  while (!lines.empty()) {
    const uint64_t line_offset = lines_offset + (length - lines.remaining());
    ByteView name, value;
    const char* overrun = !lines.ReadVarintPrefixedBytes(&name)    ? "name"
                          : !lines.ReadVarintPrefixedBytes(&value) ? "value"
                                                                   : nullptr;
    if (overrun != nullptr) {
      return BhttpError(ErrorCode::kMalformed, SectionName() + ": field " +
                                                   Num(fields_.size() + 1) + ": " + overrun +
                                                   " runs past the end of the section");
    }
    OPENPCC_RETURN_IF_ERROR(
        AddField(Field{Text(AsChars(name)), Text(AsChars(value))}, line_offset));
  }
  OPENPCC_RETURN_IF_ERROR(EndSection(visitor));
  return Progress::kAdvanced;
}

Result<StreamDecoder::Progress> StreamDecoder::ReadFieldLine(ByteReader& in,
                                                             StreamVisitor& visitor) {
  const ByteReader start = in;
  uint64_t name_length = 0;
  if (!in.ReadVarint(&name_length)) {
    missing_ = Missing::kNameLength;
    return Progress::kNeedMore;
  }
  if (name_length == 0) {  // Content Terminator: the section ends (RFC 9292 §3.2)
    OPENPCC_RETURN_IF_ERROR(EndSection(visitor));
    return Progress::kAdvanced;
  }
  // The limit counts each line's encoded bytes; every length is checked before its bytes arrive.
  const uint64_t budget = limits_.max_field_section_bytes - section_bytes_;
  auto line_bytes = [&] { return static_cast<uint64_t>(start.remaining() - in.remaining()); };
  auto exceeds = [&](uint64_t more) { return line_bytes() > budget || more > budget - line_bytes(); };
  auto limit_error = [&] {
    return BhttpError(ErrorCode::kOutOfRange, SectionName() + ": field " + Num(fields_.size() + 1) +
                                                  " takes the section past max_field_section_bytes (" +
                                                  Num(limits_.max_field_section_bytes) + ")");
  };
  if (exceeds(name_length)) return limit_error();
  ByteView name;
  if (!in.ReadBytes(static_cast<size_t>(name_length), &name)) {
    in = start;
    missing_ = Missing::kName;
    return Progress::kNeedMore;
  }
  uint64_t value_length = 0;
  if (!in.ReadVarint(&value_length)) {
    in = start;
    missing_ = Missing::kValueLength;
    return Progress::kNeedMore;
  }
  if (exceeds(value_length)) return limit_error();
  ByteView value;
  if (!in.ReadBytes(static_cast<size_t>(value_length), &value)) {
    in = start;
    missing_ = Missing::kFieldValue;
    return Progress::kNeedMore;
  }
  section_bytes_ += line_bytes();
  OPENPCC_RETURN_IF_ERROR(AddField(Field{Text(AsChars(name)), Text(AsChars(value))}, offset_));
  return Progress::kAdvanced;
}

Result<StreamDecoder::Progress> StreamDecoder::ReadContentLength(ByteReader& in) {
  uint64_t length = 0;
  if (!in.ReadVarint(&length)) {
    missing_ = Missing::kLength;
    return Progress::kNeedMore;
  }
  if (length > limits_.max_content_bytes) {
    return BhttpError(ErrorCode::kOutOfRange, "content length " + Num(length) +
                                                  " exceeds max_content_bytes (" +
                                                  Num(limits_.max_content_bytes) + ")");
  }
  content_total_ = content_remaining_ = length;
  if (length == 0) {
    StartSection(Section::kTrailer);
  } else {
    state_ = State::kContentBytes;
  }
  return Progress::kAdvanced;
}

Result<StreamDecoder::Progress> StreamDecoder::ReadChunkLength(ByteReader& in) {
  uint64_t length = 0;
  if (!in.ReadVarint(&length)) {
    missing_ = Missing::kLength;
    return Progress::kNeedMore;
  }
  if (length == 0) {  // Content Terminator
    StartSection(Section::kTrailer);
    return Progress::kAdvanced;
  }
  if (length > limits_.max_content_bytes - content_total_) {
    return BhttpError(ErrorCode::kOutOfRange, "content: chunk of " + Num(length) +
                                                  " bytes takes the content past max_content_bytes (" +
                                                  Num(limits_.max_content_bytes) + ")");
  }
  content_total_ += length;
  content_remaining_ = length;
  chunk_seen_ = true;
  state_ = State::kContentBytes;
  return Progress::kAdvanced;
}

Result<StreamDecoder::Progress> StreamDecoder::ReadContent(ByteReader& in, StreamVisitor& visitor) {
  if (in.empty()) {
    missing_ = Missing::kValue;
    return Progress::kNeedMore;
  }
  const auto length = static_cast<size_t>(std::min<uint64_t>(content_remaining_, in.remaining()));
  ByteView piece;
  if (!in.ReadBytes(length, &piece)) {
    return BhttpError(ErrorCode::kInternal, "stream decoder: content shorter than available");
  }
  content_remaining_ -= length;
  if (content_remaining_ == 0) {
    if (framing_ == Framing::kKnownLength) {
      StartSection(Section::kTrailer);
    } else {
      state_ = State::kChunkLength;
    }
  }
  OPENPCC_RETURN_IF_ERROR(visitor.OnContent(piece));
  return Progress::kAdvanced;
}

// RFC 9292 §3.8: padding is any number of zero bytes; a non-zero byte makes the message invalid.
Result<StreamDecoder::Progress> StreamDecoder::ReadPadding(ByteReader& in) {
  uint64_t read = 0;
  uint8_t byte = 0;
  while (in.ReadU8(&byte)) {
    if (byte != 0) {
      return BhttpError(ErrorCode::kMalformed, "padding contains a non-zero byte" +
                                                   AtOffset(offset_ + read) +
                                                   " (trailing bytes after the message)");
    }
    ++read;
    ++layout_.padding.bytes;
  }
  missing_ = Missing::kNothing;
  return Progress::kNeedMore;
}

void StreamDecoder::StartSection(Section section) {
  state_ = State::kFieldSection;
  section_ = section;
  fields_.clear();
  section_bytes_ = 0;
  regular_field_seen_ = false;
}

Status StreamDecoder::AddField(Field field, uint64_t offset) {
  std::string problem = CheckField(field, section_ == Section::kTrailer, regular_field_seen_);
  if (!problem.empty()) {
    return BhttpError(ErrorCode::kMalformed, SectionName() + ": field " + Num(fields_.size() + 1) +
                                                 AtOffset(offset) + ": " + problem);
  }
  fields_.push_back(std::move(field));
  return OkStatus();
}

Status StreamDecoder::EndSection(StreamVisitor& visitor) {
  Fields fields = std::move(fields_);
  fields_.clear();
  switch (section_) {
    case Section::kInformational:
      response_.informational.back().headers = std::move(fields);
      state_ = State::kStatusCode;
      return OkStatus();
    case Section::kHeader:
      state_ = framing_ == Framing::kKnownLength ? State::kContentLength : State::kChunkLength;
      if (kind_ == MessageKind::kRequest) {
        request_.headers = std::move(fields);
        return visitor.OnRequestHead(std::move(request_));
      }
      response_.headers = std::move(fields);
      return visitor.OnResponseHead(std::move(response_));
    case Section::kTrailer:
      state_ = State::kPadding;
      return visitor.OnTrailers(std::move(fields));
  }
  return BhttpError(ErrorCode::kInternal, "stream decoder: unknown section");
}

Status StreamDecoder::Finish(StreamVisitor& visitor) {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kFinished) {
    return BhttpError(ErrorCode::kFailedPrecondition, "stream decoder: Finish after Finish");
  }
  if (!pending_.empty()) return Fail(TruncatedError());
  // Input ended between items. RFC 9292 §3.8 allows that only where a header section, content or
  // trailer section would start; the parts left out are delivered empty.
  Status status = OkStatus();
  switch (state_) {
    case State::kFieldSection:
      if (section_ == Section::kInformational || section_bytes_ != 0) return Fail(TruncatedError());
      if (section_ == Section::kHeader) {
        layout_.truncation = Truncation::kBeforeHeaders;
        status = EndSection(visitor);
        if (status.ok()) status = visitor.OnTrailers({});
      } else {
        layout_.truncation = Truncation::kBeforeTrailers;
        status = EndSection(visitor);
      }
      break;
    case State::kChunkLength:
      if (chunk_seen_) return Fail(TruncatedError());
      [[fallthrough]];
    case State::kContentLength:
      layout_.truncation = Truncation::kBeforeContent;
      status = visitor.OnTrailers({});
      break;
    case State::kPadding:
      break;
    default:
      return Fail(TruncatedError());
  }
  if (!status.ok()) return Fail(std::move(status).error());
  state_ = State::kFinished;
  return OkStatus();
}

std::string StreamDecoder::SectionName() const {
  switch (section_) {
    case Section::kInformational: return InformationalSectionName(response_.informational.size());
    case Section::kHeader: return "header section";
    case Section::kTrailer: return "trailer section";
  }
  return "field section";
}

// Names the item the input ended in, from the state and what the last read was missing.
Error StreamDecoder::TruncatedError() const {
  const bool partial = !pending_.empty();  // some bytes of the item arrived
  std::string what;
  switch (state_) {
    case State::kFramingIndicator:
      what = partial ? "framing indicator is truncated" : "message is empty (no framing indicator)";
      break;
    case State::kControlData:
      what = "request control data: " + std::string(kControlNames[control_index_]) +
             (missing_ == Missing::kLength ? " length" : "") + " is truncated";
      break;
    case State::kStatusCode:
      what = partial || response_.informational.empty()
                 ? "response control data: status code is truncated"
                 : "response: input ends after informational response " +
                       Num(response_.informational.size()) + ", before the final status code";
      break;
    case State::kFieldSection: {
      const std::string field = SectionName() + ": field " + Num(fields_.size() + 1);
      switch (missing_) {
        case Missing::kLength: what = SectionName() + ": length is truncated"; break;
        case Missing::kValue: what = SectionName() + " is truncated (shorter than its length)"; break;
        case Missing::kNameLength:
          what = partial ? field + ": name length is truncated"
                         : SectionName() + " is truncated: no terminator after " +
                               Num(fields_.size()) + " field lines";
          break;
        case Missing::kName: what = field + ": name is truncated"; break;
        case Missing::kValueLength: what = field + ": value length is truncated"; break;
        case Missing::kFieldValue: what = field + ": value is truncated"; break;
        case Missing::kNothing: what = SectionName() + " is truncated"; break;
      }
      break;
    }
    case State::kContentLength: what = "content length is truncated"; break;
    case State::kChunkLength:
      what = partial ? "content: chunk length is truncated"
                     : "content is truncated: no content terminator after the last chunk";
      break;
    case State::kContentBytes:
      what = (framing_ == Framing::kKnownLength ? "content is truncated: " : "content: chunk is truncated: ") +
             Num(content_remaining_) + " more bytes were announced";
      break;
    case State::kPadding:
    case State::kFinished:
    case State::kFailed: what = "message is truncated"; break;
  }
  return BhttpError(ErrorCode::kTruncated, what);
}

Status StreamDecoder::Fail(Error error) {
  state_ = State::kFailed;
  pending_.clear();
  error_ = error;
  return error;
}

// ---- StreamEncoder ---------------------------------------------------------------------------------

Result<crypto::SecretVector> StreamEncoder::BeginRequest(const RequestHead& head) {
  if (state_ != State::kStart) {
    return BhttpError(ErrorCode::kFailedPrecondition, "stream encoder: the message has begun");
  }
  PlaintextWriter out;
  out.WriteU8(FramingIndicator(MessageKind::kRequest, Framing::kIndeterminateLength));
  OPENPCC_RETURN_IF_ERROR(WriteRequestControlData(out, head));
  OPENPCC_RETURN_IF_ERROR(WriteFieldSection(out, head.headers, "header section", /*trailers=*/false,
                                            Framing::kIndeterminateLength));
  return Emit(out.Take(), State::kContent);
}

Result<crypto::SecretVector> StreamEncoder::BeginResponse(const ResponseHead& head) {
  if (state_ != State::kStart) {
    return BhttpError(ErrorCode::kFailedPrecondition, "stream encoder: the message has begun");
  }
  PlaintextWriter out;
  out.WriteU8(FramingIndicator(MessageKind::kResponse, Framing::kIndeterminateLength));
  OPENPCC_RETURN_IF_ERROR(WriteResponseControlData(out, head, Framing::kIndeterminateLength));
  OPENPCC_RETURN_IF_ERROR(WriteFieldSection(out, head.headers, "header section", /*trailers=*/false,
                                            Framing::kIndeterminateLength));
  return Emit(out.Take(), State::kContent);
}

Result<crypto::SecretVector> StreamEncoder::Content(ByteView piece) {
  if (state_ != State::kContent) {
    return BhttpError(ErrorCode::kFailedPrecondition,
                      "stream encoder: content outside Begin..End");
  }
  PlaintextWriter out;
  if (!piece.empty()) OPENPCC_RETURN_IF_ERROR(PutPrefixed(out, piece, "content chunk"));
  return Emit(out.Take(), State::kContent);
}

Result<crypto::SecretVector> StreamEncoder::End(const Fields& trailers, const Padding& padding) {
  if (state_ != State::kContent) {
    return BhttpError(ErrorCode::kFailedPrecondition, "stream encoder: End outside Begin..End");
  }
  PlaintextWriter out;
  out.WriteU8(0);  // Content Terminator
  OPENPCC_RETURN_IF_ERROR(WriteFieldSection(out, trailers, "trailer section", /*trailers=*/true,
                                            Framing::kIndeterminateLength));
  OPENPCC_RETURN_IF_ERROR(WritePadding(out, padding, written_ + out.size()));
  return Emit(out.Take(), State::kDone);
}

Result<crypto::SecretVector> StreamEncoder::Emit(crypto::SecretVector bytes, State next) {
  state_ = next;
  written_ += bytes.size();
  return bytes;
}

}  // namespace openpcc::wire::bhttp
