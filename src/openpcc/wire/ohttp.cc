#include "openpcc/wire/ohttp.h"

#include <algorithm>
#include <string>

#include "openpcc/crypto/random.h"
#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::wire {

using crypto::HpkeSuite;
using crypto::SecretBytes;

struct OhttpAccess {
  static OhttpClientContext Client(HpkeSuite s, Bytes enc, SecretBytes secret) {
    return OhttpClientContext(s, std::move(enc), std::move(secret));
  }
  static OhttpServerContext Server(HpkeSuite s, Bytes enc, SecretBytes secret) {
    return OhttpServerContext(s, std::move(enc), std::move(secret));
  }
};

namespace {

// Errors from lower layers ("hpke: ...", "p256: ...") reach callers as "ohttp: ...".
template <typename T>
Result<T> WithPrefix(Result<T> result) {
  if (result.ok()) return result;
  return Error(result.error().code(), "ohttp: " + result.error().message());
}

Bytes EncodeHeader(uint8_t key_id, const HpkeSuite& suite) {
  ByteWriter w(kOhttpHeaderLength);
  w.WriteU8(key_id);
  w.WriteU16(static_cast<uint16_t>(suite.kem));
  w.WriteU16(static_cast<uint16_t>(suite.kdf));
  w.WriteU16(static_cast<uint16_t>(suite.aead));
  return w.Take();
}

// info = label || 0x00 || header
Bytes RequestInfo(std::string_view label, ByteView header) {
  Bytes info = ToBytes(label);
  info.push_back(0x00);
  Append(info, header);
  return info;
}

Status CheckClientSuite(const KeyConfig& config, const SymmetricSuite& suite) {
  if (!config.Supports(suite)) {
    return Error(ErrorCode::kInvalidArgument, "ohttp: suite (kdf " + HexU16(static_cast<uint16_t>(suite.kdf)) +
                                                  ", aead " + HexU16(static_cast<uint16_t>(suite.aead)) +
                                                  ") is not offered by the key configuration");
  }
  if (suite.aead == crypto::AeadId::kExportOnly) {
    return Error(ErrorCode::kInvalidArgument, "ohttp: an export-only AEAD cannot carry a request");
  }
  return OkStatus();
}

struct ClientSetup {
  Bytes header;
  crypto::HpkeSender sender;
};

// The client's half of both OHTTP forms: check the suite, build the header, set up HPKE with
// info = label || 0x00 || header.
Result<ClientSetup> SetupClient(const KeyConfig& config, const SymmetricSuite& suite, std::string_view label,
                                const OhttpTestingOptions* testing) {
  OPENPCC_RETURN_IF_ERROR(CheckClientSuite(config, suite));
  const HpkeSuite hpke_suite = config.HpkeSuiteFor(suite);
  Bytes header = EncodeHeader(config.key_id, hpke_suite);
  crypto::HpkeSenderOptions options;
  if (testing != nullptr) options.ephemeral_key_for_testing = testing->ephemeral_key;
  OPENPCC_ASSIGN_OR_RETURN(auto sender, crypto::SetupSender(hpke_suite, config.public_key,
                                                            RequestInfo(label, header), options));
  return ClientSetup{std::move(header), std::move(sender)};
}

struct ParsedHeader {
  const GatewayKey* key;
  HpkeSuite suite;
  uint8_t key_id;
};

// Reads key_id, kem_id, kdf_id, aead_id and checks them against the gateway's keys.
Result<ParsedHeader> ParseHeader(ByteReader& reader, std::span<const GatewayKey> keys) {
  uint8_t key_id = 0;
  uint16_t kem = 0, kdf = 0, aead = 0;
  if (!reader.ReadU8(&key_id) || !reader.ReadU16(&kem) || !reader.ReadU16(&kdf) || !reader.ReadU16(&aead)) {
    return Error(ErrorCode::kTruncated, "ohttp: request header is shorter than 7 bytes");
  }
  const GatewayKey* key = nullptr;
  for (const auto& candidate : keys) {
    if (candidate.config.key_id != key_id) continue;
    if (key != nullptr) {
      return Error(ErrorCode::kFailedPrecondition,
                   "ohttp: the gateway has two keys with key_id " + std::to_string(key_id));
    }
    key = &candidate;
  }
  if (key == nullptr) {
    return Error(ErrorCode::kUnknownKey, "ohttp: key_id " + std::to_string(key_id) + " is not a key of this gateway");
  }
  if (kem != static_cast<uint16_t>(key->config.kem)) {
    return Error(ErrorCode::kUnsupported, "ohttp: kem_id " + HexU16(kem) + " does not match key " + std::to_string(key_id));
  }
  OPENPCC_ASSIGN_OR_RETURN(HpkeSuite suite, WithPrefix(crypto::HpkeSuiteFromIds(kem, kdf, aead)));
  if (!key->config.Supports({suite.kdf, suite.aead}) || suite.aead == crypto::AeadId::kExportOnly) {
    return Error(ErrorCode::kUnsupported, "ohttp: suite (kdf " + HexU16(kdf) + ", aead " + HexU16(aead) +
                                              ") is not offered by key " + std::to_string(key_id));
  }
  return ParsedHeader{key, suite, key_id};
}

Result<SecretBytes> ExportResponseSecret(const crypto::HpkeContext& context, std::string_view label) {
  return context.Export(AsBytes(label), ResponseNonceLength(context.suite().aead));
}


}  // namespace

size_t ResponseNonceLength(crypto::AeadId aead) {
  return std::max(crypto::AeadNonceLength(aead), crypto::AeadKeyLength(aead));
}

Result<Bytes> MakeResponseNonce(crypto::AeadId aead, ByteView fixed_for_testing) {
  Bytes nonce(ResponseNonceLength(aead));
  if (!fixed_for_testing.empty()) {
    if (fixed_for_testing.size() != nonce.size()) {
      return Error(ErrorCode::kInvalidArgument, "response nonce for testing has the wrong length");
    }
    return ToBytes(fixed_for_testing);
  }
  crypto::RandomBytes(nonce);
  return nonce;
}

Result<ResponseKeys> DeriveResponseKeys(const HpkeSuite& suite, ByteView response_secret, ByteView enc,
                                        ByteView response_nonce) {
  const Bytes salt = Concat(enc, response_nonce);
  OPENPCC_ASSIGN_OR_RETURN(auto prk, crypto::HkdfExtract(suite.kdf, salt, response_secret));
  OPENPCC_ASSIGN_OR_RETURN(auto key, crypto::HkdfExpand(suite.kdf, prk.view(), AsBytes("key"),
                                                        crypto::AeadKeyLength(suite.aead)));
  OPENPCC_ASSIGN_OR_RETURN(auto nonce, crypto::HkdfExpand(suite.kdf, prk.view(), AsBytes("nonce"),
                                                          crypto::AeadNonceLength(suite.aead)));
  return ResponseKeys{std::move(key), std::move(nonce)};
}

// ---- Whole messages ----------------------------------------------------------------------------

Result<OhttpClientRequest> EncapsulateRequest(const KeyConfig& config, const SymmetricSuite& suite,
                                              ByteView request, const OhttpTestingOptions* testing) {
  OPENPCC_ASSIGN_OR_RETURN(auto client, SetupClient(config, suite, kOhttpRequestLabel, testing));
  auto& sender = client.sender;
  const HpkeSuite hpke_suite = sender.context.suite();
  Bytes out = std::move(client.header);
  Append(out, sender.enc);
  OPENPCC_RETURN_IF_ERROR(sender.context.SealAppend({}, request, out));
  OPENPCC_ASSIGN_OR_RETURN(auto secret, ExportResponseSecret(sender.context, kOhttpResponseLabel));
  return OhttpClientRequest{std::move(out), OhttpAccess::Client(hpke_suite, std::move(sender.enc), std::move(secret))};
}

Result<OhttpGatewayRequest> DecapsulateRequest(std::span<const GatewayKey> keys, ByteView encapsulated) {
  ByteReader reader(encapsulated);
  OPENPCC_ASSIGN_OR_RETURN(ParsedHeader header, ParseHeader(reader, keys));
  ByteView enc;
  if (!reader.ReadBytes(crypto::KemPublicKeyLength(header.suite.kem), &enc)) {
    return Error(ErrorCode::kTruncated, "ohttp: encapsulated key (enc) is truncated");
  }
  const Bytes header_bytes = EncodeHeader(header.key_id, header.suite);
  OPENPCC_ASSIGN_OR_RETURN(auto context, WithPrefix(crypto::SetupRecipient(header.suite, enc, *header.key->private_key,
                                                                RequestInfo(kOhttpRequestLabel, header_bytes))));
  auto request = context.Open({}, reader.rest());
  if (!request.ok()) {
    return Error(request.error().code(), "ohttp: request does not decrypt (" + request.error().message() + ")");
  }
  OPENPCC_ASSIGN_OR_RETURN(auto secret, ExportResponseSecret(context, kOhttpResponseLabel));
  return OhttpGatewayRequest{header.key_id, std::move(request).value(),
                             OhttpAccess::Server(header.suite, ToBytes(enc), std::move(secret))};
}

Result<Bytes> OhttpServerContext::SealResponse(ByteView response, const OhttpTestingOptions* testing) {
  if (used_) return Error(ErrorCode::kFailedPrecondition, "ohttp: response already sealed");
  used_ = true;
  OPENPCC_ASSIGN_OR_RETURN(Bytes nonce, MakeResponseNonce(suite_.aead, testing != nullptr ? testing->response_nonce : ByteView{}));
  OPENPCC_ASSIGN_OR_RETURN(auto keys, DeriveResponseKeys(suite_, secret_.view(), enc_, nonce));
  OPENPCC_ASSIGN_OR_RETURN(auto aead, crypto::AeadKey::Create(suite_.aead, keys.key.view()));
  Bytes out = std::move(nonce);
  OPENPCC_RETURN_IF_ERROR(aead.SealAppend(keys.nonce.view(), {}, response, out));
  secret_.Clear();
  return out;
}

Result<SecretBytes> OhttpClientContext::OpenResponse(ByteView encapsulated_response) {
  if (used_) return Error(ErrorCode::kFailedPrecondition, "ohttp: response already opened");
  used_ = true;
  ByteReader reader(encapsulated_response);
  ByteView nonce;
  if (!reader.ReadBytes(ResponseNonceLength(suite_.aead), &nonce)) {
    return Error(ErrorCode::kTruncated, "ohttp: response is shorter than its nonce");
  }
  OPENPCC_ASSIGN_OR_RETURN(auto keys, DeriveResponseKeys(suite_, secret_.view(), enc_, nonce));
  OPENPCC_ASSIGN_OR_RETURN(auto aead, crypto::AeadKey::Create(suite_.aead, keys.key.view()));
  secret_.Clear();
  auto response = aead.Open(keys.nonce.view(), {}, reader.rest());
  if (!response.ok()) return Error(response.error().code(), "ohttp: response does not decrypt");
  return response;
}

// ---- Chunked ----------------------------------------------------------------------------------

Result<ChunkedRequestWriter> ChunkedRequestWriter::Create(const KeyConfig& config, const SymmetricSuite& suite,
                                                          Bytes& out, ChunkLimits limits,
                                                          const OhttpTestingOptions* testing) {
  OPENPCC_ASSIGN_OR_RETURN(auto client, SetupClient(config, suite, kChunkedRequestLabel, testing));
  auto& sender = client.sender;
  const HpkeSuite hpke_suite = sender.context.suite();
  OPENPCC_ASSIGN_OR_RETURN(auto secret, ExportResponseSecret(sender.context, kChunkedResponseLabel));
  Append(out, client.header);
  Append(out, sender.enc);
  ChunkWriter writer(std::make_unique<HpkeChunkCipher>(std::move(sender.context)), limits);
  return ChunkedRequestWriter(hpke_suite, std::move(sender.enc), std::move(secret), std::move(writer));
}

ChunkedRequestWriter::ResponseReader ChunkedRequestWriter::MakeResponseReader(ChunkLimits limits) const {
  return ResponseReader(suite_, enc_, secret_.Clone(), limits);
}

Status ChunkedRequestWriter::ResponseReader::Push(ByteView bytes, SecretBytes& out) {
  if (failed_) return Error(ErrorCode::kFailedPrecondition, "ohttp: response stream already failed");
  if (!reader_) {
    if (!FillTo(nonce_, ResponseNonceLength(suite_.aead), bytes)) return OkStatus();
    auto keys = DeriveResponseKeys(suite_, secret_.view(), enc_, nonce_);
    if (!keys.ok()) { failed_ = true; return std::move(keys).error(); }
    auto cipher = CounterChunkCipher::Create(suite_.aead, keys->key.view(), keys->nonce.view());
    if (!cipher.ok()) { failed_ = true; return std::move(cipher).error(); }
    secret_.Clear();
    reader_ = std::make_unique<ChunkReader>(std::make_unique<CounterChunkCipher>(std::move(cipher).value()), limits_);
  }
  if (bytes.empty()) return OkStatus();
  Status pushed = reader_->Push(bytes, out);
  if (!pushed.ok()) failed_ = true;
  return pushed;
}

Status ChunkedRequestWriter::ResponseReader::Finish(SecretBytes& out) {
  if (failed_) return Error(ErrorCode::kFailedPrecondition, "ohttp: response stream already failed");
  if (!reader_) {
    failed_ = true;
    return Error(ErrorCode::kIncomplete, "ohttp: response stream ended inside the response nonce");
  }
  return reader_->Finish(out);
}

Status ChunkedRequestReader::ParseHeader() {
  ByteReader reader(header_);
  OPENPCC_ASSIGN_OR_RETURN(auto parsed, ::openpcc::wire::ParseHeader(reader, keys_));
  ByteView enc;
  if (!reader.ReadBytes(crypto::KemPublicKeyLength(parsed.suite.kem), &enc)) {
    return Error(ErrorCode::kInternal, "ohttp: header length");
  }
  const Bytes header_bytes = EncodeHeader(parsed.key_id, parsed.suite);
  OPENPCC_ASSIGN_OR_RETURN(auto context, WithPrefix(crypto::SetupRecipient(parsed.suite, enc, *parsed.key->private_key,
                                                                RequestInfo(kChunkedRequestLabel, header_bytes))));
  OPENPCC_ASSIGN_OR_RETURN(secret_, ExportResponseSecret(context, kChunkedResponseLabel));
  suite_ = parsed.suite;
  key_id_ = parsed.key_id;
  enc_ = ToBytes(enc);
  reader_ = std::make_unique<ChunkReader>(std::make_unique<HpkeChunkCipher>(std::move(context)), limits_);
  return OkStatus();
}

Status ChunkedRequestReader::Push(ByteView bytes, SecretBytes& out) {
  if (failed_) return Error(ErrorCode::kFailedPrecondition, "ohttp: request stream already failed");
  if (!reader_) {
    // The header's length depends on the KEM, known after its first 3 bytes (key_id, kem_id). They
    // are read first and the KEM is checked as soon as they are here, so that an unknown KEM is
    // refused however the stream was split.
    while (!bytes.empty() && !reader_) {
      size_t want = 3;
      uint16_t kem = 0;
      if (header_.size() >= 3) {
        ByteReader peek(header_);
        uint8_t key_id = 0;
        (void)peek.ReadU8(&key_id);
        (void)peek.ReadU16(&kem);
        want = kOhttpHeaderLength + crypto::KemPublicKeyLength(static_cast<crypto::KemId>(kem));
      }
      (void)FillTo(header_, want, bytes);
      if (header_.size() == 3) {
        ByteReader peek(header_);
        uint8_t key_id = 0;
        (void)peek.ReadU8(&key_id);
        (void)peek.ReadU16(&kem);
        if (!crypto::IsKnownKem(kem)) {
          failed_ = true;
          return Error(ErrorCode::kUnsupported, "ohttp: kem_id " + HexU16(kem) + " is not supported");
        }
      }
      if (header_.size() == want && want > kOhttpHeaderLength) {
        Status parsed = ParseHeader();
        if (!parsed.ok()) {
          failed_ = true;
          return parsed;
        }
      }
    }
    if (!reader_) return OkStatus();
  }
  if (bytes.empty()) return OkStatus();
  Status pushed = reader_->Push(bytes, out);
  if (!pushed.ok()) failed_ = true;
  return pushed;
}

Status ChunkedRequestReader::Finish(SecretBytes& out) {
  if (failed_) return Error(ErrorCode::kFailedPrecondition, "ohttp: request stream already failed");
  if (!reader_) {
    failed_ = true;
    return Error(ErrorCode::kTruncated, "ohttp: request stream ended inside its header");
  }
  Status finished = reader_->Finish(out);
  if (!finished.ok()) failed_ = true;
  return finished;
}

Result<ChunkedRequestReader::ResponseWriter> ChunkedRequestReader::MakeResponseWriter(
    Bytes& out, ChunkLimits limits, const OhttpTestingOptions* testing) {
  if (failed_) return Error(ErrorCode::kFailedPrecondition, "ohttp: request stream failed; no response");
  if (!reader_) return Error(ErrorCode::kFailedPrecondition, "ohttp: request header not yet received");
  if (response_started_) return Error(ErrorCode::kFailedPrecondition, "ohttp: response already started");
  response_started_ = true;
  OPENPCC_ASSIGN_OR_RETURN(Bytes nonce, MakeResponseNonce(suite_.aead, testing != nullptr ? testing->response_nonce : ByteView{}));
  OPENPCC_ASSIGN_OR_RETURN(auto keys, DeriveResponseKeys(suite_, secret_.view(), enc_, nonce));
  OPENPCC_ASSIGN_OR_RETURN(auto cipher, CounterChunkCipher::Create(suite_.aead, keys.key.view(), keys.nonce.view()));
  Append(out, nonce);
  secret_.Clear();
  return ResponseWriter(ChunkWriter(std::make_unique<CounterChunkCipher>(std::move(cipher)), limits));
}

}  // namespace openpcc::wire
