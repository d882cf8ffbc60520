#include "openpcc/engine/openai_api.h"

#include <boost/container/pmr/memory_resource.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <new>

namespace openpcc::engine {
namespace {

namespace json = boost::json;

Error Invalid(std::string_view field, std::string_view expected) {
  return Error(ErrorCode::kInvalidArgument,
               "request: " + std::string(field) + ": expected " + std::string(expected));
}

Error Unsupported(std::string_view field, std::string_view why) {
  return Error(ErrorCode::kUnsupported, "request: " + std::string(field) + ": " + std::string(why));
}

Result<double> Number(const json::value& v, std::string_view field) {
  if (v.is_double()) return v.as_double();
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  return Invalid(field, "a number");
}

Result<int64_t> Integer(const json::value& v, std::string_view field) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v.as_uint64());
  }
  return Invalid(field, "an integer");
}

Result<crypto::SecretString> Content(const json::value& v, std::string_view field) {
  if (v.is_string()) {
    const json::string& s = v.as_string();
    return crypto::SecretString(s.data(), s.size());
  }
  if (!v.is_array()) return Invalid(field, "a string or an array of text parts");
  crypto::SecretString out;
  for (const json::value& part : v.as_array()) {
    const json::object* object = part.if_object();
    const json::value* type = object ? object->if_contains("type") : nullptr;
    const json::value* text = object ? object->if_contains("text") : nullptr;
    if (type == nullptr || !type->is_string() || type->as_string() != "text") {
      return Unsupported(field, "only parts of type \"text\" are supported");
    }
    if (text == nullptr || !text->is_string()) return Invalid(std::string(field) + "[].text", "a string");
    out.append(text->as_string().data(), text->as_string().size());
  }
  return out;
}

bool IsFalsy(const json::value& v) {
  return v.is_null() || (v.is_bool() && !v.as_bool()) || (v.is_array() && v.as_array().empty());
}

Status ParseCommon(const json::object& o, ApiRequest& out) {
  GenerationRequest& g = out.generation;
  if (const json::value* v = o.if_contains("model")) {
    if (!v->is_string()) return Invalid("model", "a string");
    g.model = std::string(v->as_string());
  }
  if (const json::value* v = o.if_contains("stream"); v && !v->is_null()) {
    if (!v->is_bool()) return Invalid("stream", "true or false");
    out.stream = v->as_bool();
  }
  if (const json::value* v = o.if_contains("stream_options"); v && !v->is_null()) {
    const json::object* so = v->if_object();
    if (so == nullptr) return Invalid("stream_options", "an object");
    if (const json::value* u = so->if_contains("include_usage"); u && !u->is_null()) {
      if (!u->is_bool()) return Invalid("stream_options.include_usage", "true or false");
      out.include_usage = u->as_bool();
    }
  }
  if (const json::value* v = o.if_contains("temperature"); v && !v->is_null()) {
    OPENPCC_ASSIGN_OR_RETURN(double t, Number(*v, "temperature"));
    g.sampling.temperature = static_cast<float>(t);
  }
  if (const json::value* v = o.if_contains("top_p"); v && !v->is_null()) {
    OPENPCC_ASSIGN_OR_RETURN(double p, Number(*v, "top_p"));
    g.sampling.top_p = static_cast<float>(p);
  }
  if (const json::value* v = o.if_contains("top_k"); v && !v->is_null()) {
    OPENPCC_ASSIGN_OR_RETURN(int64_t k, Integer(*v, "top_k"));
    if (k < 0 || k > INT32_MAX) return Invalid("top_k", "an integer >= 0");
    g.sampling.top_k = static_cast<int32_t>(k);
  }
  if (const json::value* v = o.if_contains("seed"); v && !v->is_null()) {
    if (v->is_uint64()) {
      g.sampling.seed = v->as_uint64();
    } else {
      OPENPCC_ASSIGN_OR_RETURN(int64_t seed, Integer(*v, "seed"));
      g.sampling.seed = static_cast<uint64_t>(seed);
    }
  }
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    if (const json::value* v = o.if_contains(name); v && !v->is_null()) {
      OPENPCC_ASSIGN_OR_RETURN(int64_t n, Integer(*v, name));
      if (n < 1 || n > UINT32_MAX) return Invalid(name, "an integer >= 1");
      g.max_tokens = static_cast<uint32_t>(n);
    }
  }
  if (const json::value* v = o.if_contains("stop"); v && !v->is_null()) {
    if (v->is_string()) {
      g.stop.emplace_back(v->as_string().data(), v->as_string().size());
    } else if (v->is_array()) {
      for (const json::value& s : v->as_array()) {
        if (!s.is_string()) return Invalid("stop", "a string or an array of strings");
        g.stop.emplace_back(s.as_string().data(), s.as_string().size());
      }
    } else {
      return Invalid("stop", "a string or an array of strings");
    }
  }
  if (const json::value* v = o.if_contains("n"); v && !v->is_null()) {
    OPENPCC_ASSIGN_OR_RETURN(int64_t n, Integer(*v, "n"));
    if (n != 1) return Unsupported("n", "only one choice per request is supported");
  }
  for (const char* name : {"tools", "functions", "logprobs", "top_logprobs", "echo", "suffix"}) {
    if (const json::value* v = o.if_contains(name); v && !IsFalsy(*v) &&
                                                    !(v->is_string() && v->as_string().empty())) {
      return Unsupported(name, "not supported by this service");
    }
  }
  if (const json::value* v = o.if_contains("best_of"); v && !v->is_null()) {
    OPENPCC_ASSIGN_OR_RETURN(int64_t n, Integer(*v, "best_of"));
    if (n != 1) return Unsupported("best_of", "only 1 is supported");
  }
  return OkStatus();
}

}  // namespace

void* WipingJsonResource::do_allocate(size_t bytes, size_t alignment) {
  return ::operator new(bytes, std::align_val_t(alignment));
}

void WipingJsonResource::do_deallocate(void* p, size_t bytes, size_t alignment) {
  crypto::Wipe(std::span<uint8_t>(static_cast<uint8_t*>(p), bytes));
  ::operator delete(p, std::align_val_t(alignment));
}

Result<ApiRequest> ParseApiRequest(RequestKind kind, std::string_view body) {
  if (body.size() > kMaxApiRequestBytes) {
    return Error(ErrorCode::kOutOfRange, "request: body of " + std::to_string(body.size()) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(kMaxApiRequestBytes));
  }
  json::storage_ptr storage = json::make_shared_resource<WipingJsonResource>();
  json::parse_options options;
  options.max_depth = 16;
  boost::system::error_code ec;
  json::value root = json::parse(body, ec, storage, options);
  if (ec) return Error(ErrorCode::kInvalidArgument, "request: body is not valid JSON");
  const json::object* o = root.if_object();
  if (o == nullptr) return Invalid("body", "a JSON object");
  ApiRequest out;
  out.generation.kind = kind;
  OPENPCC_RETURN_IF_ERROR(ParseCommon(*o, out));
  if (kind == RequestKind::kChat) {
    const json::value* messages = o->if_contains("messages");
    if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) {
      return Invalid("messages", "a non-empty array");
    }
    if (messages->as_array().size() > kMaxMessages) {
      return Invalid("messages", "at most " + std::to_string(kMaxMessages) + " messages");
    }
    size_t index = 0;
    for (const json::value& m : messages->as_array()) {
      std::string field = "messages[" + std::to_string(index++) + "]";
      const json::object* mo = m.if_object();
      if (mo == nullptr) return Invalid(field, "an object");
      const json::value* role = mo->if_contains("role");
      if (role == nullptr || !role->is_string()) return Invalid(field + ".role", "a string");
      std::string role_name(role->as_string());
      if (role_name == "developer") role_name = "system";  // OpenAI's newer name for it
      if (role_name != "system" && role_name != "user" && role_name != "assistant") {
        return Unsupported(field + ".role", "only system, developer, user and assistant");
      }
      const json::value* content = mo->if_contains("content");
      if (content == nullptr) return Invalid(field + ".content", "a string");
      OPENPCC_ASSIGN_OR_RETURN(crypto::SecretString text, Content(*content, field + ".content"));
      out.generation.messages.push_back({std::move(role_name), std::move(text)});
    }
  } else {
    const json::value* prompt = o->if_contains("prompt");
    if (prompt != nullptr && prompt->is_array() && prompt->as_array().size() == 1) {
      prompt = &prompt->as_array()[0];
    }
    if (prompt == nullptr || !prompt->is_string()) {
      return Invalid("prompt", "a string (token arrays and batches are not supported)");
    }
    out.generation.prompt.assign(prompt->as_string().data(), prompt->as_string().size());
  }
  return out;
}

std::string ApiErrorJson(std::string_view message, std::string_view type, std::string_view param,
                         std::string_view code) {
  json::object error{{"message", message}, {"type", type}};
  error["param"] = param.empty() ? json::value(nullptr) : json::value(param);
  error["code"] = code.empty() ? json::value(nullptr) : json::value(code);
  return json::serialize(json::object{{"error", error}});
}

std::string_view ApiErrorType(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kUnsupported:
    case ErrorCode::kOutOfRange:
    case ErrorCode::kMalformed:
    case ErrorCode::kTruncated:
      return "invalid_request_error";
    default:
      return "server_error";
  }
}

int ApiErrorStatus(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kUnsupported:
    case ErrorCode::kMalformed:
    case ErrorCode::kTruncated:
      return 400;
    case ErrorCode::kOutOfRange:
      return error.message().find("exceeds the limit") != std::string::npos ? 413 : 400;
    default:
      return 500;
  }
}

std::string_view ApiFinishReason(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    default: return {};
  }
}

void AppendJsonString(crypto::SecretString& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

ResponseFormatter::ResponseFormatter(RequestKind kind, std::string id, std::string model,
                                     int64_t created, bool include_usage)
    : kind_(kind),
      id_(std::move(id)),
      model_(std::move(model)),
      created_(created),
      include_usage_(include_usage) {}

void ResponseFormatter::AppendPrefix(crypto::SecretString& out) const {
  // id, object, created and model: metadata only. The model name is the operator's.
  crypto::SecretString model;
  AppendJsonString(model, model_);
  out += "{\"id\":\"";
  out += id_;
  out += "\",\"object\":";
  out += kind_ == RequestKind::kChat ? "\"chat.completion.chunk\"" : "\"text_completion\"";
  out += ",\"created\":" + std::to_string(created_) + ",\"model\":";
  out += model;
}

crypto::SecretString ResponseFormatter::Begin() const {
  crypto::SecretString out;
  if (kind_ != RequestKind::kChat) return out;
  out += "data: ";
  AppendPrefix(out);
  out += ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
         "\"logprobs\":null,\"finish_reason\":null}]}\n\n";
  return out;
}

crypto::SecretString ResponseFormatter::Delta(std::string_view text) const {
  crypto::SecretString out = "data: ";
  AppendPrefix(out);
  if (kind_ == RequestKind::kChat) {
    out += ",\"choices\":[{\"index\":0,\"delta\":{\"content\":";
    AppendJsonString(out, text);
    out += "},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
  } else {
    out += ",\"choices\":[{\"text\":";
    AppendJsonString(out, text);
    out += ",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n";
  }
  return out;
}

namespace {

std::string UsageJson(const Usage& usage) {
  return "{\"prompt_tokens\":" + std::to_string(usage.prompt_tokens) +
         ",\"completion_tokens\":" + std::to_string(usage.completion_tokens) +
         ",\"total_tokens\":" + std::to_string(usage.prompt_tokens + usage.completion_tokens) + "}";
}

std::string FinishJson(FinishReason reason) {
  std::string_view name = ApiFinishReason(reason);
  return name.empty() ? "null" : "\"" + std::string(name) + "\"";
}

}  // namespace

crypto::SecretString ResponseFormatter::End(const Finish& finish) const {
  crypto::SecretString out = "data: ";
  AppendPrefix(out);
  if (kind_ == RequestKind::kChat) {
    out += ",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":";
  } else {
    out += ",\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":";
  }
  out += FinishJson(finish.reason);
  out += "}]}\n\n";
  if (include_usage_) {
    out += "data: ";
    AppendPrefix(out);
    out += ",\"choices\":[],\"usage\":" + UsageJson(finish.usage) + "}\n\n";
  }
  out += "data: [DONE]\n\n";
  return out;
}

crypto::SecretString ResponseFormatter::Whole(std::string_view text, const Finish& finish) const {
  crypto::SecretString model;
  AppendJsonString(model, model_);
  crypto::SecretString out = "{\"id\":\"";
  out += id_;
  out += "\",\"object\":";
  out += kind_ == RequestKind::kChat ? "\"chat.completion\"" : "\"text_completion\"";
  out += ",\"created\":" + std::to_string(created_) + ",\"model\":";
  out += model;
  if (kind_ == RequestKind::kChat) {
    out += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":";
    AppendJsonString(out, text);
    out += "},\"logprobs\":null,\"finish_reason\":";
  } else {
    out += ",\"choices\":[{\"text\":";
    AppendJsonString(out, text);
    out += ",\"index\":0,\"logprobs\":null,\"finish_reason\":";
  }
  out += FinishJson(finish.reason);
  out += "}],\"usage\":" + UsageJson(finish.usage) + "}";
  return out;
}

std::string ResponseFormatter::StreamError(std::string_view message) const {
  return "data: " + ApiErrorJson(message, "server_error") + "\n\n";
}

}  // namespace openpcc::engine
