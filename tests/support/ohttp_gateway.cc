#include "support/ohttp_gateway.h"

#include <gtest/gtest.h>

#include <cctype>

#include "openpcc/crypto/kem.h"
#include "openpcc/wire/bhttp.h"

namespace openpcc::testing {
namespace {

namespace bhttp = wire::bhttp;
using net::Awaitable;

std::string Str(const crypto::SecretString& s) { return std::string(s.data(), s.size()); }

GatewayInnerRequest FromBhttp(const bhttp::Request& r, bool chunked) {
  GatewayInnerRequest out;
  out.method = Str(r.method);
  out.path = Str(r.path);
  for (const bhttp::Field& f : r.headers) out.headers.emplace_back(Str(f.name), Str(f.value));
  out.body.assign(reinterpret_cast<const char*>(r.content.data()), r.content.size());
  out.chunked = chunked;
  return out;
}

bhttp::ResponseHead HeadOf(const GatewayInnerReply& reply) {
  bhttp::ResponseHead head;
  head.status = static_cast<uint16_t>(reply.status);
  for (const auto& [n, v] : reply.headers) head.headers.push_back({bhttp::Text(n), bhttp::Text(v)});
  return head;
}

}  // namespace

std::string GatewayInnerRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() &&
        std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return "";
}

wire::GatewayKey MakeGatewayKey(uint8_t key_id) {
  Result<crypto::SoftwareDhKey> key = crypto::SoftwareDhKey::Generate(crypto::KemId::kX25519HkdfSha256);
  EXPECT_TRUE(key.ok());
  wire::KeyConfig config;
  config.key_id = key_id;
  config.kem = crypto::KemId::kX25519HkdfSha256;
  config.public_key = ToBytes(key->public_key());
  config.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm},
                   {crypto::KdfId::kHkdfSha256, crypto::AeadId::kChaCha20Poly1305}};
  return wire::GatewayKey{config, std::make_shared<crypto::SoftwareDhKey>(std::move(key).value())};
}

OhttpTestGateway::OhttpTestGateway(Handler handler) : handler_(std::move(handler)) {
  keys_.push_back(MakeGatewayKey(0x11));
  ServeConfigs({keys_[0].config});
  net::Router router;
  router.Handle("GET", "/ohttp-keys", [this](net::Request&, net::Response& res) -> Awaitable<void> {
    std::string body;
    {
      std::lock_guard lock(mu_);
      body.assign(AsChars(served_));
    }
    (void)co_await res.Send(200, body, "application/ohttp-keys");
  });
  router.Handle("POST", "/gateway", [this](net::Request& req, net::Response& res) -> Awaitable<void> {
    ++requests_;
    const std::string type(req.header("content-type").value_or(""));
    Result<std::string> body = co_await req.ReadAll(4 << 20);
    if (!body.ok()) co_return;
    if (type == "message/ohttp-req") {
      Result<wire::OhttpGatewayRequest> opened = wire::DecapsulateRequest(keys_, AsBytes(*body));
      if (!opened.ok()) {
        (void)co_await res.SendError(400, "bad_ohttp_request", opened.error().message());
        co_return;
      }
      Result<bhttp::Request> inner = bhttp::DecodeRequest(opened->request.view());
      if (!inner.ok()) {
        (void)co_await res.SendError(400, "bad_bhttp_request", inner.error().message());
        co_return;
      }
      const GatewayInnerReply reply = handler_(FromBhttp(*inner, false));
      if (reply.outer_status != 200) {
        (void)co_await res.SendError(reply.outer_status, "test_refusal", "the test gateway refused");
        co_return;
      }
      bhttp::Response response;
      static_cast<bhttp::ResponseHead&>(response) = HeadOf(reply);
      for (const std::string& p : reply.pieces) response.content.insert(response.content.end(), p.begin(), p.end());
      Result<crypto::SecretVector> encoded = bhttp::EncodeResponse(response);
      Result<Bytes> sealed = opened->context.SealResponse(ByteView(encoded->data(), encoded->size()));
      if (reply.tamper) sealed->back() ^= 0x01;
      const std::string out(AsChars(*sealed));
      (void)co_await res.Send(200, out, "message/ohttp-res");
      co_return;
    }
    if (type != "message/ohttp-chunked-req") {
      (void)co_await res.SendError(415, "unsupported_media_type", "test gateway");
      co_return;
    }
    wire::ChunkedRequestReader reader(keys_);
    crypto::SecretBytes plain;
    Status pushed = reader.Push(AsBytes(*body), plain);
    crypto::SecretBytes last;
    Status finished = pushed.ok() ? reader.Finish(last) : pushed;
    if (!finished.ok()) {
      (void)co_await res.SendError(400, "bad_ohttp_request", finished.error().message());
      co_return;
    }
    crypto::SecretVector all(plain.data(), plain.data() + plain.size());
    all.insert(all.end(), last.data(), last.data() + last.size());
    Result<bhttp::Request> inner = bhttp::DecodeRequest(ByteView(all.data(), all.size()));
    if (!inner.ok()) {
      (void)co_await res.SendError(400, "bad_bhttp_request", inner.error().message());
      co_return;
    }
    const GatewayInnerReply reply = handler_(FromBhttp(*inner, true));
    if (reply.outer_status != 200) {
      (void)co_await res.SendError(reply.outer_status, "test_refusal", "the test gateway refused");
      co_return;
    }
    Bytes prelude;
    Result<wire::ChunkedRequestReader::ResponseWriter> writer = reader.MakeResponseWriter(prelude);
    if (!writer.ok()) co_return;
    bhttp::StreamEncoder encoder;
    Result<crypto::SecretVector> head = encoder.BeginResponse(HeadOf(reply));
    Bytes first = prelude;
    if (!writer->Write(ByteView(head->data(), head->size()), first).ok()) co_return;
    if (reply.tamper) first.back() ^= 0x01;
    if (!(co_await res.StartStream(200, "message/ohttp-chunked-res")).ok()) co_return;
    if (!(co_await res.Write(ByteView(first))).ok()) co_return;
    for (const std::string& p : reply.pieces) {
      Result<crypto::SecretVector> piece = encoder.Content(AsBytes(p));
      Bytes out;
      if (!writer->Write(ByteView(piece->data(), piece->size()), out).ok()) co_return;
      if (!(co_await res.Write(ByteView(out))).ok()) co_return;
    }
    if (reply.cut_before_final) co_return;  // no final chunk, no terminating HTTP chunk
    Result<crypto::SecretVector> end = encoder.End({});
    Bytes out;
    if (!writer->Finish(ByteView(end->data(), end->size()), out).ok()) co_return;
    if (!(co_await res.Write(ByteView(out))).ok()) co_return;
    (void)co_await res.Finish();
  });
  Result<std::unique_ptr<net::Server>> server = net::Server::Start(net::ServerOptions{}, std::move(router));
  EXPECT_TRUE(server.ok()) << server.error().ToString();
  server_ = std::move(server).value();
}

OhttpTestGateway::~OhttpTestGateway() {
  if (server_) server_->Shutdown(net::Duration(0));
}

void OhttpTestGateway::ServeConfigs(const std::vector<wire::KeyConfig>& configs) {
  Result<Bytes> list = wire::EncodeKeyConfigList(configs);
  EXPECT_TRUE(list.ok());
  std::lock_guard lock(mu_);
  served_ = *list;
}

std::string OhttpTestGateway::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
}

}  // namespace openpcc::testing
