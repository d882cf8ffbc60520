#include "support/sealed_client.h"

#include "openpcc/attest/bundle.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/http_date.h"
#include "openpcc/wire/bhttp.h"

namespace openpcc::testing {
namespace {

namespace bhttp = wire::bhttp;

class ResponseCollector final : public bhttp::StreamVisitor {
 public:
  ResponseCollector(SealedReply& reply, std::function<void()> on_piece)
      : reply_(reply), on_piece_(std::move(on_piece)) {}
  Status OnResponseHead(bhttp::ResponseHead head) override {
    reply_.inner_status = head.status;
    return OkStatus();
  }
  Status OnContent(ByteView piece) override {
    reply_.inner_content.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    reply_.piece_times.push_back(std::chrono::steady_clock::now());
    if (on_piece_) on_piece_();
    return OkStatus();
  }
  Status OnTrailers(bhttp::Fields) override { return OkStatus(); }

 private:
  SealedReply& reply_;
  std::function<void()> on_piece_;
};

}  // namespace

wire::SealedCandidate CandidateFor(const wire::KeyConfig& config) {
  return {config, {crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes256Gcm}};
}

Result<wire::KeyConfig> KeyConfigFromBundleJson(std::string_view json) {
  OPENPCC_ASSIGN_OR_RETURN(attest::EvidenceBundle bundle, attest::ParseBundle(json));
  return wire::ParseKeyConfig(bundle.key_config);
}

Result<SealedCall> Seal(const std::vector<wire::SealedCandidate>& candidates, const InnerCall& call) {
  bhttp::Request request;
  request.method = bhttp::Text(call.method);
  request.scheme = "https";
  request.authority = "openpcc.invalid";
  request.path = bhttp::Text(call.path);
  if (call.date != "-") {
    const std::string date = call.date.empty()
                                 ? FormatHttpDate(std::chrono::floor<std::chrono::seconds>(
                                       std::chrono::system_clock::now()))
                                 : call.date;
    request.headers.push_back({bhttp::Text("date"), bhttp::Text(date)});
  }
  request.headers.push_back({bhttp::Text("content-type"), bhttp::Text("application/json")});
  request.content.assign(call.body.begin(), call.body.end());
  bhttp::EncodeOptions options;
  options.padding.to_multiple = bhttp::kPaddingMultiple;
  OPENPCC_ASSIGN_OR_RETURN(crypto::SecretVector inner, bhttp::EncodeRequest(request, options));
  Bytes out;
  OPENPCC_ASSIGN_OR_RETURN(wire::SealedRequestWriter writer, wire::SealedRequestWriter::Create(candidates, out));
  const ByteView all(inner.data(), inner.size());
  // Several chunks, as a streaming client sends them.
  const size_t half = all.size() / 2;
  OPENPCC_RETURN_IF_ERROR(writer.Write(all.subspan(0, half), out));
  OPENPCC_RETURN_IF_ERROR(writer.Finish(all.subspan(half), out));
  return SealedCall{std::move(out), std::move(writer)};
}

SealedReply Send(net::BlockingClient& client, const std::string& url, SealedCall sealed,
                 std::function<void()> on_piece) {
  SealedReply reply;
  Result<wire::SealedResponseReader> made = sealed.writer.MakeResponseReader();
  if (!made.ok()) {
    reply.error = made.error().message();
    return reply;
  }
  wire::SealedResponseReader reader = std::move(made).value();
  bhttp::StreamDecoder decoder(bhttp::MessageKind::kResponse);
  ResponseCollector collector(reply, std::move(on_piece));
  std::string outer;
  bool failed = false;
  net::ClientRequest request("POST", url,
                             {{"Content-Type", std::string(wire::kSealedRequestMediaType)}});
  reply.sent = std::chrono::steady_clock::now();
  Result<net::ResponseHead> head = client.FetchStreaming(
      request, AsChars(sealed.request), [&](std::string_view piece) -> Status {
        outer.append(piece);
        if (failed) return OkStatus();
        crypto::SecretBytes plain;
        // The reader returns one plaintext per completed chunk within this piece.
        const size_t before = reply.sealed_chunk_plaintext_sizes.size();
        (void)before;
        Status s = reader.Push(AsBytes(piece), plain);
        if (!s.ok()) {
          failed = true;
          reply.error = s.error().message();
          return OkStatus();
        }
        if (!plain.empty()) {
          reply.sealed_chunk_plaintext_sizes.push_back(plain.size());
          Status d = decoder.Push(plain.view(), collector);
          if (!d.ok()) {
            failed = true;
            reply.error = d.error().message();
          }
        }
        return OkStatus();
      });
  if (!head.ok()) {
    reply.error = head.error().message();
    return reply;
  }
  reply.http_status = head->status;
  if (head->status != 200) {
    reply.outer_body = outer;
    return reply;
  }
  if (failed) return reply;
  crypto::SecretBytes plain;
  Status s = reader.Finish(plain);
  if (!s.ok()) {
    reply.error = s.error().message();
    return reply;
  }
  if (!plain.empty()) {
    reply.sealed_chunk_plaintext_sizes.push_back(plain.size());
    Status d = decoder.Push(plain.view(), collector);
    if (!d.ok()) {
      reply.error = d.error().message();
      return reply;
    }
  }
  Status f = decoder.Finish(collector);
  if (!f.ok()) {
    reply.error = f.error().message();
    return reply;
  }
  reply.opened = true;
  return reply;
}

}  // namespace openpcc::testing
