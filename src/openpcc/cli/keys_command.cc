// `openpcc keys generate | rotate | show`: operator keys in a directory (docs/keys.md).
//
// For a key named N (default: its kind) the directory holds N.key (private, PEM PKCS#8, mode
// 0600), N.pub (public, PEM SPKI), N.info (JSON: kind, names, public identifiers — what `show`
// prints), and per kind N.vkey (log and witness: the C2SP vkey) or N.keyconfig (ohttp: the RFC 9458
// KeyConfig). `rotate` keeps the previous key as N.prev.* so services can serve both during the
// overlap, and generates a new one (an OHTTP key gets the next key id).
#include <cstdio>
#include <filesystem>

#include <boost/json.hpp>

#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/cli/tlog_cli.h"
#include "openpcc/crypto/blind_rsa.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/kem.h"
#include "openpcc/services/key_files.h"
#include "openpcc/tlog/cosignature.h"
#include "openpcc/tlog/entry.h"
#include "openpcc/tlog/note.h"
#include "openpcc/util/base64.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using crypto::SecretBytes;

constexpr const char* kKinds[] = {"directory", "release", "log", "witness", "ohttp", "token"};
constexpr std::string_view kDefaultLogName = "openpcc.local/log";
// Per-file suffixes a key may have; rotation moves all of them.
constexpr const char* kSuffixes[] = {".key", ".pub", ".info", ".vkey", ".keyconfig"};

bool KnownKind(std::string_view kind) {
  for (const char* k : kKinds) {
    if (kind == k) return true;
  }
  return false;
}

Status CheckFileName(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." || name.find(".prev") != std::string::npos) {
    return Error(ErrorCode::kInvalidArgument, "--name: expected a file name without '/' or \".prev\", got '" + name + "'");
  }
  return Status();
}

Status WritePublic(const fs::path& path, std::string_view text) {
  return services::WriteKeyFile(path, AsBytes(text), 0644);
}

// Generates kind `kind` as files `dir/name.*`. `key_id` is the OHTTP key id.
Result<json::object> Generate(const std::string& kind, const fs::path& dir, const std::string& name,
                              const std::string& note_name, uint8_t key_id) {
  json::object info;
  info["kind"] = kind;
  info["file_name"] = name;
  const fs::path base = dir / name;
  auto path = [&base](const char* suffix) { return fs::path(base.string() + suffix); };
  if (kind == "ohttp") {
    OPENPCC_ASSIGN_OR_RETURN(auto key, crypto::SoftwareDhKey::Generate(crypto::KemId::kX25519HkdfSha256));
    OPENPCC_ASSIGN_OR_RETURN(SecretBytes sk, key.PrivateKeyBytes());
    SecretBytes der = services::RawPrivateKeyPkcs8(services::RawKeyType::kX25519, sk.view());
    std::string pem = services::PemEncode(services::kPemPrivateKey, der.view());
    Status written = services::WriteKeyFile(path(".key"), AsBytes(pem), 0600);
    crypto::Wipe({reinterpret_cast<uint8_t*>(pem.data()), pem.size()});
    OPENPCC_RETURN_IF_ERROR(written);
    const Bytes pub = ToBytes(key.public_key());
    OPENPCC_RETURN_IF_ERROR(WritePublic(path(".pub"), services::PemEncode(services::kPemPublicKey,
                                                                         services::RawPublicKeySpki(services::RawKeyType::kX25519, pub))));
    wire::KeyConfig config;
    config.key_id = key_id;
    config.kem = crypto::KemId::kX25519HkdfSha256;
    config.public_key = pub;
    config.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm},
                     {crypto::KdfId::kHkdfSha256, crypto::AeadId::kChaCha20Poly1305}};
    OPENPCC_ASSIGN_OR_RETURN(Bytes encoded, wire::EncodeKeyConfig(config));
    OPENPCC_RETURN_IF_ERROR(services::WriteKeyFile(path(".keyconfig"), encoded, 0644));
    info["key_id"] = key_id;
    info["key_config"] = Base64UrlEncode(encoded);
    info["public_key"] = Base64Encode(pub);
  } else if (kind == "token") {
    OPENPCC_ASSIGN_OR_RETURN(auto key, crypto::BlindRsaPrivateKey::Generate(2048));
    OPENPCC_ASSIGN_OR_RETURN(SecretBytes der, key.ToPkcs8Der());
    std::string pem = services::PemEncode(services::kPemPrivateKey, der.view());
    Status written = services::WriteKeyFile(path(".key"), AsBytes(pem), 0600);
    crypto::Wipe({reinterpret_cast<uint8_t*>(pem.data()), pem.size()});
    OPENPCC_RETURN_IF_ERROR(written);
    const Bytes& spki = key.public_key().SpkiRsaPss();
    OPENPCC_RETURN_IF_ERROR(WritePublic(path(".pub"), services::PemEncode(services::kPemPublicKey, spki)));
    info["token_key_id"] = HexEncode(crypto::Sha256(spki));
    info["modulus_bits"] = key.public_key().modulus_bits();
  } else {
    crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
    SecretBytes der = services::RawPrivateKeyPkcs8(services::RawKeyType::kEd25519, key.seed().view());
    std::string pem = services::PemEncode(services::kPemPrivateKey, der.view());
    Status written = services::WriteKeyFile(path(".key"), AsBytes(pem), 0600);
    crypto::Wipe({reinterpret_cast<uint8_t*>(pem.data()), pem.size()});
    OPENPCC_RETURN_IF_ERROR(written);
    const Bytes pub = key.public_key().bytes();
    OPENPCC_RETURN_IF_ERROR(WritePublic(path(".pub"), services::PemEncode(services::kPemPublicKey,
                                                                         services::RawPublicKeySpki(services::RawKeyType::kEd25519, pub))));
    info["public_key"] = Base64Encode(pub);
    info["entry_key_id"] = HexEncode(tlog::View(tlog::EntryKeyId(key.public_key())));
    if (kind == "log") {
      OPENPCC_ASSIGN_OR_RETURN(auto signer, tlog::NoteSigner::Create(note_name, crypto::Ed25519PrivateKey::FromSeed(key.seed().view()).value()));
      const std::string vkey = signer.verifier().vkey();
      OPENPCC_RETURN_IF_ERROR(WritePublic(path(".vkey"), vkey + "\n"));
      info["note_name"] = note_name;
      info["vkey"] = vkey;
    } else if (kind == "witness") {
      OPENPCC_ASSIGN_OR_RETURN(auto cosigner, tlog::Cosigner::Create(note_name, crypto::Ed25519PrivateKey::FromSeed(key.seed().view()).value()));
      const std::string vkey = cosigner.verifier().vkey();
      OPENPCC_RETURN_IF_ERROR(WritePublic(path(".vkey"), vkey + "\n"));
      info["note_name"] = note_name;
      info["vkey"] = vkey;
    }
  }
  OPENPCC_RETURN_IF_ERROR(WritePublic(path(".info"), json::serialize(info) + "\n"));
  return info;
}

struct KeyArgs {
  std::string kind;
  std::string out;
  std::string name;
  std::string note_name;
  int64_t key_id = 0;
};

void AddKeyArgs(OptionSet& options, KeyArgs& a) {
  options.AddString("kind", &a.kind, "directory, release, log, witness, ohttp or token (required).", "KIND");
  options.AddString("out", &a.out, "Key directory (default: STATE-DIR/keys).", "DIR");
  options.AddString("name", &a.name, "File name of the key (default: the kind), e.g. witness-2.", "NAME");
  options.AddString("note-name", &a.note_name,
                    "log: the checkpoint origin and key name (default openpcc.local/log); witness: the "
                    "witness name (default: NAME).", "NAME");
  options.AddInt("key-id", &a.key_id, "ohttp: the KeyConfig key id of a new key (rotate: previous + 1).", 0, 255);
}

Result<OptionSet::Outcome> ParseKeyArgs(OptionSet& options, KeyArgs& a, const Args& args) {
  OPENPCC_ASSIGN_OR_RETURN(auto outcome, options.Parse(args));
  if (outcome == OptionSet::Outcome::kHelpShown) return outcome;
  if (!KnownKind(a.kind)) {
    return Error(ErrorCode::kInvalidArgument, "--kind: expected directory, release, log, witness, ohttp or token, got '" + a.kind + "'");
  }
  if (a.out.empty()) a.out = DefaultStateDir() + "/keys";
  if (a.name.empty()) a.name = a.kind;
  OPENPCC_RETURN_IF_ERROR(CheckFileName(a.name));
  if (a.note_name.empty()) a.note_name = a.kind == "log" ? std::string(kDefaultLogName) : a.name;
  return outcome;
}

int PrintInfo(const json::object& info) {
  std::printf("%s", PrettyJson(info).c_str());
  return kExitOk;
}

int GenerateCommand(const Args& args, bool rotate) {
  KeyArgs a;
  OptionSet options(rotate ? "keys rotate --kind KIND [--out DIR] [--name NAME]"
                           : "keys generate --kind KIND [--out DIR] [--name NAME]",
                    rotate ? "Rotates a key: the current NAME.* files become NAME.prev.* (replacing an older\n"
                             "previous key) and a new key is generated; an OHTTP key gets the next key id.\n"
                             "Prints the new key's public information."
                           : "Generates an operator key: NAME.key (private, PEM PKCS#8, mode 0600), NAME.pub\n"
                             "(PEM SPKI), NAME.info (public JSON), and NAME.vkey (log, witness) or\n"
                             "NAME.keyconfig (ohttp). Refuses to overwrite an existing key (use rotate).\n"
                             "Prints the public information; never prints private keys.");
  options.DisableConfigFile();
  AddKeyArgs(options, a);
  const char* command = rotate ? "keys rotate" : "keys generate";
  auto parsed = ParseKeyArgs(options, a, args);
  if (!parsed.ok()) {
    PrintError(command, parsed.error());
    return kExitUsage;
  }
  if (parsed.value() == OptionSet::Outcome::kHelpShown) return kExitOk;
  std::error_code ec;
  fs::create_directories(a.out, ec);
  if (ec) {
    PrintError(command, "--out: cannot create '" + a.out + "': " + ec.message());
    return kExitFailure;
  }
  fs::permissions(a.out, fs::perms::owner_all, fs::perm_options::replace, ec);
  const fs::path base = fs::path(a.out) / a.name;
  const bool exists = fs::exists(base.string() + ".key");
  uint8_t key_id = static_cast<uint8_t>(a.key_id);
  if (!rotate && exists) {
    PrintError(command, base.string() + ".key exists; use `openpcc keys rotate` to replace it");
    return kExitFailure;
  }
  if (rotate) {
    if (!exists) {
      PrintError(command, base.string() + ".key does not exist; use `openpcc keys generate`");
      return kExitFailure;
    }
    if (a.kind == "ohttp") {
      auto config_bytes = ReadInputFile("--name", base.string() + ".keyconfig");
      if (!config_bytes.ok()) {
        PrintError(command, config_bytes.error());
        return kExitFailure;
      }
      auto config = wire::ParseKeyConfig(config_bytes.value());
      if (!config.ok()) {
        PrintError(command, config.error());
        return kExitFailure;
      }
      key_id = static_cast<uint8_t>(config->key_id + 1);
    }
    for (const char* suffix : kSuffixes) {
      const fs::path from = base.string() + suffix;
      const fs::path to = base.string() + ".prev" + suffix;
      fs::remove(to, ec);
      if (fs::exists(from)) fs::rename(from, to, ec);
      if (ec) {
        PrintError(command, "cannot move " + from.string() + ": " + ec.message());
        return kExitFailure;
      }
    }
  }
  auto info = Generate(a.kind, a.out, a.name, a.note_name, key_id);
  if (!info.ok()) {
    PrintError(command, info.error());
    return kExitFailure;
  }
  return PrintInfo(info.value());
}

int Show(const Args& args) {
  std::string dir;
  std::string name;
  OptionSet options("keys show [--out DIR] [--name NAME]",
                    "Prints the public information of the keys in DIR (every NAME.info, previous keys\n"
                    "included), as JSON lines. Reads only public files; never prints private keys.");
  options.DisableConfigFile();
  options.AddString("out", &dir, "Key directory (default: STATE-DIR/keys).", "DIR");
  options.AddString("name", &name, "Show only this key (and its previous one).", "NAME");
  auto parsed = options.Parse(args);
  if (!parsed.ok()) {
    PrintError("keys show", parsed.error());
    return kExitUsage;
  }
  if (parsed.value() == OptionSet::Outcome::kHelpShown) return kExitOk;
  if (dir.empty()) dir = DefaultStateDir() + "/keys";
  std::error_code ec;
  std::vector<fs::path> infos;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string file = e.path().filename().string();
    if (e.path().extension() != ".info") continue;
    if (!name.empty() && file != name + ".info" && file != name + ".prev.info") continue;
    infos.push_back(e.path());
  }
  if (ec) {
    PrintError("keys show", "--out: cannot list '" + dir + "': " + ec.message());
    return kExitFailure;
  }
  std::sort(infos.begin(), infos.end());
  for (const auto& p : infos) {
    auto bytes = ReadInputFile("--out", p.string());
    if (!bytes.ok()) {
      PrintError("keys show", bytes.error());
      return kExitFailure;
    }
    boost::system::error_code jec;
    json::value v = json::parse(AsChars(bytes.value()), jec);
    if (jec || !v.is_object()) {
      PrintError("keys show", p.string() + " is not a JSON object");
      return kExitFailure;
    }
    v.as_object()["previous"] = p.filename().string().find(".prev.") != std::string::npos;
    std::printf("%s\n", json::serialize(v).c_str());
  }
  return kExitOk;
}

}  // namespace

int RunKeys(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("Usage: openpcc keys generate|rotate|show [options]\n\n"
                "  generate  make a new operator key (directory, release, log, witness, ohttp, token)\n"
                "  rotate    replace a key, keeping the previous one as NAME.prev.*\n"
                "  show      print the public parts of the keys in a directory\n\n"
                "File formats: docs/keys.md. Run 'openpcc keys <subcommand> --help' for the options.\n");
    return args.empty() ? kExitUsage : kExitOk;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "generate") return GenerateCommand(rest, false);
  if (args[0] == "rotate") return GenerateCommand(rest, true);
  if (args[0] == "show") return Show(rest);
  PrintError("keys", "unknown subcommand '" + args[0] + "' (expected: generate, rotate, show)");
  return kExitUsage;
}

}  // namespace openpcc::cli
