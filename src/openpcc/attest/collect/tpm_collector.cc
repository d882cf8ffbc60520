#include "openpcc/attest/collect/tpm_collector.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "openpcc/attest/tpm/verify.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::attest::collect {
namespace {

Error Fail(ErrorCode code, std::string message) { return Error(code, "tpm collector: " + std::move(message)); }

Result<uint16_t> BankByName(std::string_view name) {
  for (uint16_t bank : {tpm::alg::kSha1, tpm::alg::kSha256, tpm::alg::kSha384, tpm::alg::kSha512}) {
    if (tpm::AlgName(bank) == name) return bank;
  }
  return Error(ErrorCode::kInvalidArgument, "PCR bank '" + std::string(name) + "' is not sha1, sha256, sha384 or sha512");
}

Result<uint32_t> PcrIndex(std::string_view text) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 23) {
    return Error(ErrorCode::kInvalidArgument, "PCR '" + std::string(text) + "' is not an index 0..23");
  }
  return value;
}

}  // namespace

std::string FormatPcrValues(const tpm::PcrValues& values) {
  std::string out;
  for (const auto& [bank, pcrs] : values) {
    for (const auto& [index, value] : pcrs) {
      out += tpm::AlgName(bank) + ":" + std::to_string(index) + " " + HexEncode(value) + "\n";
    }
  }
  return out;
}

Result<std::vector<tpm::PcrSelection>> ParsePcrSelectionList(std::string_view text) {
  std::vector<tpm::PcrSelection> out;
  while (!text.empty()) {
    const size_t plus = text.find('+');
    std::string_view bank_text = text.substr(0, plus);
    text = plus == std::string_view::npos ? std::string_view() : text.substr(plus + 1);
    uint16_t bank = tpm::alg::kSha256;
    if (const size_t colon = bank_text.find(':'); colon != std::string_view::npos) {
      OPENPCC_ASSIGN_OR_RETURN(bank, BankByName(bank_text.substr(0, colon)));
      bank_text = bank_text.substr(colon + 1);
    }
    std::set<uint32_t> indices;
    while (!bank_text.empty()) {
      const size_t comma = bank_text.find(',');
      std::string_view item = bank_text.substr(0, comma);
      bank_text = comma == std::string_view::npos ? std::string_view() : bank_text.substr(comma + 1);
      const size_t dash = item.find('-');
      OPENPCC_ASSIGN_OR_RETURN(uint32_t first, PcrIndex(item.substr(0, dash)));
      uint32_t last = first;
      if (dash != std::string_view::npos) {
        OPENPCC_ASSIGN_OR_RETURN(last, PcrIndex(item.substr(dash + 1)));
        if (last < first) return Error(ErrorCode::kInvalidArgument, "PCR range '" + std::string(item) + "' is empty");
      }
      for (uint32_t i = first; i <= last; ++i) indices.insert(i);
    }
    if (indices.empty()) return Error(ErrorCode::kInvalidArgument, "a PCR bank lists no PCR");
    if (std::any_of(out.begin(), out.end(), [&](const tpm::PcrSelection& s) { return s.hash == bank; })) {
      return Error(ErrorCode::kInvalidArgument, "PCR bank " + tpm::AlgName(bank) + " is listed twice");
    }
    out.push_back(tpm::PcrSelection{bank, std::vector<uint32_t>(indices.begin(), indices.end())});
  }
  if (out.empty()) return Error(ErrorCode::kInvalidArgument, "no PCR is selected");
  return out;
}

Result<std::unique_ptr<TpmCollector>> TpmCollector::Create(std::shared_ptr<tpm::TpmDevice> device,
                                                           TpmCollectorOptions options) {
  if (options.pcrs.empty()) return Fail(ErrorCode::kInvalidArgument, "no PCR is selected");
  Result<crypto::Certificate> cert = crypto::Certificate::ParseOne(options.ak_certificate);
  if (!cert.ok()) return Fail(cert.error().code(), "AK certificate: " + cert.error().message());
  Bytes chain;
  for (const Bytes& pem_or_der : options.ak_intermediates) {
    Result<std::vector<crypto::Certificate>> certs = crypto::Certificate::ParseAll(pem_or_der);
    if (!certs.ok()) return Fail(certs.error().code(), "AK intermediate: " + certs.error().message());
    for (const crypto::Certificate& c : *certs) Append(chain, c.Der());
  }
  std::unique_ptr<TpmCollector> collector(
      new TpmCollector(std::move(device), std::move(options), std::move(cert).value(), std::move(chain)));
  // Fail at start, not at the first bundle, when the certificate is for another TPM's AK.
  if (Result<std::unique_ptr<tpm::TpmObject>> ak = collector->LoadAk(); !ak.ok()) return ak.error();
  return collector;
}

Result<std::unique_ptr<TpmCollector>> TpmCollector::Open(const std::string& tcti, TpmCollectorOptions options) {
  Result<std::shared_ptr<tpm::TpmDevice>> device = tpm::TpmDevice::Open(tcti);
  if (!device.ok()) return Fail(device.error().code(), device.error().message());
  return Create(std::move(device).value(), std::move(options));
}

Result<std::unique_ptr<tpm::TpmObject>> TpmCollector::LoadAk() {
  Result<std::unique_ptr<tpm::TpmObject>> ak = device_->CreateAk();
  if (!ak.ok()) return Fail(ak.error().code(), "AK: " + ak.error().message());
  Result<crypto::EvpPkeyPtr> key = tpm::PublicKeyOf((*ak)->tpm_public());
  if (!key.ok()) return Fail(key.error().code(), "AK: " + key.error().message());
  if (EVP_PKEY_eq(ak_certificate_.PublicKey(), key->get()) != 1) {
    return Fail(ErrorCode::kFailedPrecondition,
                "the AK certificate is not for this TPM's AK (enrol the AK of this TPM first)");
  }
  return ak;
}

Result<std::map<std::string, Bytes>> TpmCollector::Collect(ByteView) {
  return Fail(ErrorCode::kFailedPrecondition, "a TPM bundle proves one node key; the builder must name its key_config");
}

Result<std::shared_ptr<const tpm::TpmDhKey>> TpmCollector::CreateNodeKey() {
  Result<std::unique_ptr<tpm::TpmDhKey>> made = device_->CreateNodeKey(options_.pcrs);
  if (!made.ok()) return Fail(made.error().code(), "node key: " + made.error().message());
  std::shared_ptr<const tpm::TpmDhKey> key = std::move(made).value();
  std::lock_guard lock(mu_);
  std::erase_if(keys_, [](const auto& entry) { return entry.second.expired(); });
  keys_[ToBytes(key->public_key())] = key;
  return key;
}

Result<std::map<std::string, Bytes>> TpmCollector::CollectFor(ByteView key_config, ByteView qualifying_data) {
  Result<wire::KeyConfig> config = wire::ParseKeyConfig(key_config);
  if (!config.ok()) return Fail(config.error().code(), "key_config: " + config.error().message());
  std::shared_ptr<const tpm::TpmDhKey> key;
  {
    std::lock_guard lock(mu_);
    if (auto it = keys_.find(config->public_key); it != keys_.end()) key = it->second.lock();
  }
  if (!key) {
    return Fail(ErrorCode::kFailedPrecondition,
                "key_config's public key is not a node key this TPM holds (keys come from CreateNodeKey)");
  }
  OPENPCC_ASSIGN_OR_RETURN(std::unique_ptr<tpm::TpmObject> ak, LoadAk());

  // A PCR extended between reading and quoting would make the quote unverifiable: read before and
  // after, and quote again if the values moved.
  Result<tpm::SignedAttestation> quote = Error(ErrorCode::kInternal, "no quote");
  tpm::PcrValues values;
  for (int attempt = 0;; ++attempt) {
    Result<tpm::PcrValues> before = device_->ReadPcrs(options_.pcrs);
    if (!before.ok()) return Fail(before.error().code(), "PCR read: " + before.error().message());
    quote = device_->Quote(*ak, qualifying_data, options_.pcrs);
    if (!quote.ok()) return Fail(quote.error().code(), "quote: " + quote.error().message());
    Result<tpm::PcrValues> after = device_->ReadPcrs(options_.pcrs);
    if (!after.ok()) return Fail(after.error().code(), "PCR read: " + after.error().message());
    if (*before == *after) {
      values = std::move(after).value();
      break;
    }
    if (attempt == 2) return Fail(ErrorCode::kFailedPrecondition, "the PCRs kept changing while being quoted");
  }
  Result<tpm::SignedAttestation> certified = device_->CertifyCreation(*ak, *key, qualifying_data);
  if (!certified.ok()) return Fail(certified.error().code(), "CertifyCreation: " + certified.error().message());

  std::map<std::string, Bytes> parts;
  parts["quote"] = std::move(quote->attest);
  parts["quote_signature"] = std::move(quote->signature);
  parts["pcrs"] = ToBytes(FormatPcrValues(values));
  parts["ak_public"] = ak->tpm_public().encoded;
  parts["ak_cert"] = ak_certificate_.Der();
  parts["key_public"] = key->tpm_public().encoded;
  parts["key_certify"] = std::move(certified->attest);
  parts["key_certify_signature"] = std::move(certified->signature);
  if (!ak_chain_.empty()) parts["ak_chain"] = ak_chain_;
  return parts;
}

}  // namespace openpcc::attest::collect
