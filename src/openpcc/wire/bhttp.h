// wire/bhttp.h — Binary HTTP messages (RFC 9292): requests and responses, whole or streamed.
//
// BHTTP is the inner message of OHTTP and of the sealed request (DESIGN §2.1, §2.2). It has two
// framings: known-length (every section carries its length) and indeterminate-length (field
// sections end with a zero, content comes in chunks, so a sender can stream). Either may be
// followed by zero padding, which OpenPCC uses to hide lengths (`Padding::to_multiple =
// kPaddingMultiple`).
//
// What is secret: everything in a message. On the node a decoded message is decrypted plaintext
// (the prompt in the content, `Authorization: PrivateToken ...` among the headers), and an encoded
// one is plaintext about to be encrypted. So every container of message data allocates through
// crypto::WipingAllocator — Text, Content and Fields below, the encoders' output, the decoder's
// buffers — which wipes memory before freeing it, including the old buffer a growing one leaves.
// Not covered: characters that a short string keeps inline in an object outside such memory (the
// control data of a RequestHead on the stack); field names and values live in their Fields list's
// wiped memory. Errors never quote message bytes (DESIGN §6): they name the part and the check,
// and a decoder adds where in the message the offending item starts, never its value.
//
// What is trusted: nothing in the bytes being decoded. Every length is checked against
// DecodeLimits as soon as it is read, before anything is buffered or allocated for it, so memory
// use is bounded by the limits whatever the input claims. Decoders accept exactly what RFC 9292
// lets an encoder vary — integers encoded on more bytes than needed, trailing sections left out
// (§3.8; see Truncation), zero padding — and reject everything else with an Error that names the
// part and the check:
//   kTruncated    the input ends where the RFC allows no truncation (inside a field, a section,
//                 the content, or before the final response);
//   kMalformed    a bad value: a request where a response was expected or the reverse, a status
//                 code outside 100..599, a field name that is not a token, a forbidden byte in a
//                 field value, a field line running past its section, a non-zero padding byte
//                 (a rejected control data string or field line is named with the offset, from
//                 the framing indicator, at which it starts; a padding byte with its own offset);
//   kOutOfRange   a length or count above a DecodeLimits limit (the message names the limit);
//   kUnsupported  a framing indicator other than 0..3.
// Field lines are checked as RFC 9292 §3.6 requires: a name is a token (RFC 9110 §5.6.2; upper
// case is allowed) or a pseudo-field `:token`; pseudo-fields only at the start of a header section,
// never `:method`, `:scheme`, `:authority`, `:path` or `:status`; a value has no NUL, CR or LF and
// no leading or trailing space or tab (RFC 9113 §8.2.1). Request control data: the method is a
// token; the scheme is empty or an RFC 3986 scheme; authority and path are visible ASCII
// (0x21..0x7e; stricter than the RFC, so a request cannot be split when replayed over HTTP/1.1).
// What is not checked: HTTP semantics beyond the framing (Content-Length against the content,
// connection-specific fields, whether a method may carry content, Date). Callers check those on
// the decoded value.
//
// Encoders enforce the same rules (failing with kInvalidArgument), so whatever they produce
// decodes under limits that admit its sizes; they never truncate a value, and a length that does
// not fit a varint fails with kOutOfRange.
//
// Thread safety: the message types are plain values. StreamDecoder and StreamEncoder are
// single-threaded cursors, one per message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "openpcc/crypto/secret.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"
#include "openpcc/wire/byte_reader.h"

namespace openpcc::wire::bhttp {

// ---- Messages --------------------------------------------------------------------------------

// Message data, in wiped memory (see above).
using Text = crypto::SecretString;     // control data, field names and values
using Content = crypto::SecretVector;  // a message's content

struct Field {
  Text name;   // non-empty; see the rules above
  Text value;  // bytes; may be empty
  bool operator==(const Field&) const = default;
};
// The Field objects, and so the characters their short strings hold inline, are in wiped memory.
using Fields = std::vector<Field, crypto::WipingAllocator<Field>>;

// Everything of a request before its content.
struct RequestHead {
  Text method;     // a token, e.g. "POST"
  Text scheme;     // e.g. "https"; empty only where HTTP/2 omits :scheme (CONNECT)
  Text authority;  // e.g. "example.com"; may be empty (a Host field then names the target)
  Text path;       // path and query, e.g. "/v1/infer"
  Fields headers;
  bool operator==(const RequestHead&) const = default;
};

struct Request : RequestHead {
  Content content;
  Fields trailers;
  bool operator==(const Request&) const = default;
};

struct InformationalResponse {
  uint16_t status = 100;  // 100..199
  Fields headers;
  bool operator==(const InformationalResponse&) const = default;
};

// Everything of a response before its content.
struct ResponseHead {
  // In order, before the final response.
  std::vector<InformationalResponse, crypto::WipingAllocator<InformationalResponse>> informational;
  uint16_t status = 200;  // 200..599
  Fields headers;
  bool operator==(const ResponseHead&) const = default;
};

struct Response : ResponseHead {
  Content content;
  Fields trailers;
  bool operator==(const Response&) const = default;
};

enum class MessageKind : uint8_t { kRequest, kResponse };

// ---- Layout: framing, truncation, padding ------------------------------------------------------

enum class Framing : uint8_t {
  kKnownLength,          // framing indicator 0 (request) / 1 (response)
  kIndeterminateLength,  // framing indicator 2 (request) / 3 (response)
};

// Where an encoding stops when its last parts are empty (RFC 9292 §3.1, §3.8). A decoder reads a
// part that was left out as present and empty. Encoders refuse to leave out a part that is not
// empty. RFC 9292 §3.8 names only trailers and content as parts an encoder may omit, but §3.1 allows
// truncation before any section length and RFC 9458 Appendix A's request omits the header section
// too, so decoders accept all three.
enum class Truncation : uint8_t {
  kNone,            // every part is present
  kBeforeTrailers,  // ends after the content
  kBeforeContent,   // ends after the header section
  kBeforeHeaders,   // ends after the control data (final status code of a response)
};

// Zero bytes after the message: exactly `bytes`, or (with `to_multiple` > 0) as many as make the
// whole encoding a multiple of `to_multiple`. Setting both is an error.
struct Padding {
  size_t bytes = 0;
  size_t to_multiple = 0;
  bool operator==(const Padding&) const = default;
};

// DESIGN §2.2: inner messages are padded to the next multiple of 1 KiB.
inline constexpr size_t kPaddingMultiple = 1024;

// The number of zero bytes that bring `encoded_len` to the next multiple of `multiple` (0 if it
// already is one, or if `multiple` is 0).
size_t PaddingToMultiple(size_t encoded_len, size_t multiple);

struct EncodeOptions {
  Framing framing = Framing::kKnownLength;
  Truncation truncation = Truncation::kNone;
  Padding padding = {};
  bool operator==(const EncodeOptions&) const = default;
};

// ---- Whole messages ------------------------------------------------------------------------------

// The encoding is plaintext (about to be encrypted), so it comes in wiped memory too.
Result<crypto::SecretVector> EncodeRequest(const Request& request,
                                           const EncodeOptions& options = {});
Result<crypto::SecretVector> EncodeResponse(const Response& response,
                                            const EncodeOptions& options = {});

// Limits a decoder enforces; each failure is kOutOfRange and names the limit. The defaults suit
// OpenPCC's inner messages; raise max_content_bytes for large streamed bodies.
struct DecodeLimits {
  size_t max_control_data_bytes = 16 * 1024;        // method + scheme + authority + path
  size_t max_field_section_bytes = 64 * 1024;       // encoded size of each field section
  uint64_t max_content_bytes = 16 * 1024 * 1024;    // total content, all chunks together
  size_t max_informational_responses = 8;
};

// Decodes one whole message (framing indicator to the end of padding). If `layout` is given it
// receives the options that re-encode the message to the same bytes — exactly the same when the
// input's integers were minimally encoded and its content, if indeterminate-length, was one chunk
// (encoders write it as one). Padding is read only after the trailer section: zero bytes where a
// section may start are that section, empty (RFC 9292 §3.8).
Result<Request> DecodeRequest(ByteView message, const DecodeLimits& limits = {},
                              EncodeOptions* layout = nullptr);
Result<Response> DecodeResponse(ByteView message, const DecodeLimits& limits = {},
                                EncodeOptions* layout = nullptr);

// ---- Streaming -----------------------------------------------------------------------------------

// Receives a message's parts, in order, as a StreamDecoder completes them: one head, any number of
// content pieces, then the trailers. Any call may return an error to stop decoding; the decoder
// then fails with that error. RFC 9292 §4: a message can still turn out invalid after its head and
// some content were delivered, so act on them only once Finish succeeds, or be able to undo.
class StreamVisitor {
 public:
  virtual ~StreamVisitor() = default;
  // Called once, when the control data and header section are complete (for a response: after its
  // informational responses, which `head` carries). A decoder calls the one for its MessageKind;
  // the defaults fail with kFailedPrecondition, so a visitor overrides the kind it decodes.
  virtual Status OnRequestHead(RequestHead head);
  virtual Status OnResponseHead(ResponseHead head);
  // The next piece of content, as it arrives; never empty. `piece` is valid only during the call.
  // Pieces follow the input's splits, not the sender's chunks (RFC 9292 keeps no chunk boundaries).
  virtual Status OnContent(ByteView piece) = 0;
  // The trailer section, empty if the message had none; the last call for a message.
  virtual Status OnTrailers(Fields trailers) = 0;
};

// Decodes one message (either framing) from input split anywhere, down to single bytes. Between
// pushes it keeps at most one incomplete item (a varint, one string of control data, one
// known-length field section, or one indeterminate-length field line), each bounded by
// DecodeLimits; content and padding are passed on as they arrive and never kept. Errors are sticky:
// after one, every call returns it. A visitor must not call back into the decoder that calls it.
class StreamDecoder {
 public:
  explicit StreamDecoder(MessageKind kind, const DecodeLimits& limits = {});

  // Decodes as much of `input` as completes items, calling `visitor` for each completed part.
  Status Push(ByteView input, StreamVisitor& visitor);
  // Declares the end of input. Succeeds if the message is complete or truncated where RFC 9292
  // allows (delivering the head and trailers that were left out, as empty); otherwise kTruncated.
  // Push and Finish fail with kFailedPrecondition after a successful Finish.
  Status Finish(StreamVisitor& visitor);

  // After a successful Finish: the options that re-encode the message (see DecodeRequest).
  const EncodeOptions& layout() const { return layout_; }

 private:
  // The part of the message the next item belongs to.
  enum class State : uint8_t {
    kFramingIndicator,
    kControlData,   // request: method, scheme, authority, path (control_index_ says which)
    kStatusCode,    // response: an informational or the final status code
    kFieldSection,  // section_ says which
    kContentLength,  // known-length: the content's length
    kChunkLength,    // indeterminate-length: a chunk's length, or 0 to end the content
    kContentBytes,   // content_remaining_ bytes of content (or of the current chunk) to pass on
    kPadding,
    kFinished,
    kFailed,
  };
  enum class Section : uint8_t { kInformational, kHeader, kTrailer };
  // What the decoder was waiting for when the input ran out: names the kTruncated error.
  enum class Missing : uint8_t {
    kNothing,
    kLength,        // a control data string's length, a status code, a section or content length
    kValue,         // the bytes of a control data string, or of a known-length field section
    kNameLength,    // an indeterminate-length field line, or the section's terminator
    kName,
    kValueLength,
    kFieldValue,
  };
  enum class Progress : uint8_t { kAdvanced, kNeedMore };

  // Reads items from `in` until one needs more input than `in` has.
  Status Run(ByteReader& in, StreamVisitor& visitor);
  Result<Progress> Step(ByteReader& in, StreamVisitor& visitor);
  Result<Progress> ReadFramingIndicator(ByteReader& in);
  Result<Progress> ReadControlData(ByteReader& in);
  Result<Progress> ReadStatusCode(ByteReader& in);
  Result<Progress> ReadKnownLengthSection(ByteReader& in, StreamVisitor& visitor);
  Result<Progress> ReadFieldLine(ByteReader& in, StreamVisitor& visitor);
  Result<Progress> ReadContentLength(ByteReader& in);
  Result<Progress> ReadChunkLength(ByteReader& in);
  Result<Progress> ReadContent(ByteReader& in, StreamVisitor& visitor);
  Result<Progress> ReadPadding(ByteReader& in);
  void StartSection(Section section);
  // `offset`: where the field line starts in the message, for error messages.
  Status AddField(Field field, uint64_t offset);
  Status EndSection(StreamVisitor& visitor);
  std::string SectionName() const;
  Error TruncatedError() const;
  Status Fail(Error error);

  MessageKind kind_;
  DecodeLimits limits_;
  State state_ = State::kFramingIndicator;
  Missing missing_ = Missing::kNothing;
  Framing framing_ = Framing::kKnownLength;
  EncodeOptions layout_;
  Error error_{ErrorCode::kInternal, ""};  // meaningful in kFailed only

  // The partial item held back between pushes (never content or padding).
  crypto::SecretVector pending_;
  uint64_t offset_ = 0;  // bytes of the message consumed so far, for error messages

  // Request control data read so far: control_index_ strings, control_bytes_ bytes of them.
  RequestHead request_;
  size_t control_index_ = 0;
  uint64_t control_bytes_ = 0;
  ResponseHead response_;

  // The field section being read: its lines so far and, for an indeterminate-length section, their
  // encoded size (0 until the first line is complete, which is how Finish tells a section that was
  // left out from one cut short).
  Section section_ = Section::kHeader;
  Fields fields_;
  uint64_t section_bytes_ = 0;
  bool regular_field_seen_ = false;

  uint64_t content_total_ = 0;      // content bytes announced so far (all chunks)
  uint64_t content_remaining_ = 0;  // of the known-length content or the current chunk
  bool chunk_seen_ = false;         // indeterminate-length: some chunk was read
};

// Encodes a message in the indeterminate-length form as it is produced: Begin, any number of
// Content calls, End. Each call returns the bytes to send next (plaintext, in wiped memory);
// together they equal Encode*({.framing = kIndeterminateLength}) of the whole message, except that
// each non-empty Content call makes its own chunk. Calls out of that order fail with
// kFailedPrecondition. A call that fails returns no bytes and changes nothing, so the caller may
// correct its input and retry.
class StreamEncoder {
 public:
  // Framing indicator, control data and header section (for a response, its informational
  // responses first).
  Result<crypto::SecretVector> BeginRequest(const RequestHead& head);
  Result<crypto::SecretVector> BeginResponse(const ResponseHead& head);
  // One content chunk; an empty piece returns no bytes.
  Result<crypto::SecretVector> Content(ByteView piece);
  // Content terminator, trailer section and padding; `padding.to_multiple` counts the whole
  // message, from its framing indicator.
  Result<crypto::SecretVector> End(const Fields& trailers, const Padding& padding = {});

 private:
  enum class State : uint8_t { kStart, kContent, kDone };
  Result<crypto::SecretVector> Emit(crypto::SecretVector bytes, State next);

  State state_ = State::kStart;
  size_t written_ = 0;  // bytes returned so far, for Padding::to_multiple
};

}  // namespace openpcc::wire::bhttp
