#include "openpcc/attest/nvgpu/xml.h"

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <utility>

namespace openpcc::attest::nvgpu::xml {
namespace {

Error Malformed(const std::string& message, size_t offset) {
  return Error(ErrorCode::kMalformed,
               "nvgpu: rim xml: " + message + " at offset " + std::to_string(offset));
}
Error Unsupported(const std::string& message, size_t offset) {
  return Error(ErrorCode::kUnsupported,
               "nvgpu: rim xml: " + message + " at offset " + std::to_string(offset));
}

bool IsNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n'; }

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A cursor over the (line-end normalized) document. Every read is bounds-checked.
class Parser {
 public:
  explicit Parser(std::string text) : s_(std::move(text)) {}

  Result<Node> Document() {
    if (StartsWith("<?xml")) {
      size_t end = s_.find("?>", pos_);
      if (end == std::string::npos) return Malformed("unterminated XML declaration", pos_);
      pos_ = end + 2;
    }
    OPENPCC_RETURN_IF_ERROR(Misc());
    if (!StartsWith("<") || StartsWith("</")) return Malformed("expected the document element", pos_);
    std::map<std::string, std::string> no_scope;
    OPENPCC_ASSIGN_OR_RETURN(Node root, Element(no_scope, 1));
    OPENPCC_RETURN_IF_ERROR(Misc());
    if (pos_ != s_.size()) return Malformed("content after the document element", pos_);
    return root;
  }

 private:
  bool StartsWith(std::string_view prefix) const {
    return s_.size() - pos_ >= prefix.size() && s_.compare(pos_, prefix.size(), prefix) == 0;
  }
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return s_[pos_]; }  // callers check AtEnd() first
  void SkipSpace() {
    while (!AtEnd() && IsSpace(Peek())) ++pos_;
  }

  // Whitespace and comments around the document element; everything else there is refused.
  Status Misc() {
    while (true) {
      SkipSpace();
      if (StartsWith("<!--")) {
        OPENPCC_RETURN_IF_ERROR(Comment());
      } else if (StartsWith("<!DOCTYPE")) {
        return Unsupported("DOCTYPE is not accepted", pos_);
      } else if (StartsWith("<?")) {
        return Unsupported("processing instructions are not accepted", pos_);
      } else {
        return OkStatus();
      }
    }
  }

  Status Comment() {
    size_t end = s_.find("-->", pos_ + 4);
    if (end == std::string::npos) return Malformed("unterminated comment", pos_);
    pos_ = end + 3;
    return OkStatus();
  }

  Result<std::string> Name() {
    size_t start = pos_;
    if (AtEnd() || !IsNameStart(Peek())) return Malformed("expected a name", pos_);
    while (!AtEnd() && IsNameChar(Peek())) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  // Decodes an entity or character reference starting at '&'.
  Status Reference(std::string& out) {
    size_t start = pos_;
    size_t end = s_.find(';', pos_);
    if (end == std::string::npos || end - pos_ > 12) return Malformed("bad reference", start);
    std::string_view ref(s_.data() + pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    if (ref == "amp") { out.push_back('&'); return OkStatus(); }
    if (ref == "lt") { out.push_back('<'); return OkStatus(); }
    if (ref == "gt") { out.push_back('>'); return OkStatus(); }
    if (ref == "quot") { out.push_back('"'); return OkStatus(); }
    if (ref == "apos") { out.push_back('\''); return OkStatus(); }
    if (ref.size() >= 2 && ref[0] == '#') {
      bool hex = ref[1] == 'x';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      if (digits.empty() || digits.size() > 6) return Malformed("bad character reference", start);
      uint32_t cp = 0;
      for (char c : digits) {
        uint32_t d = 0;
        if (c >= '0' && c <= '9') d = static_cast<uint32_t>(c - '0');
        else if (hex && c >= 'a' && c <= 'f') d = static_cast<uint32_t>(c - 'a' + 10);
        else if (hex && c >= 'A' && c <= 'F') d = static_cast<uint32_t>(c - 'A' + 10);
        else return Malformed("bad character reference", start);
        cp = cp * (hex ? 16 : 10) + d;
      }
      bool valid = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
                   (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
      if (!valid) return Malformed("character reference to an invalid character", start);
      AppendUtf8(out, cp);
      return OkStatus();
    }
    return Unsupported("entity reference '&" + std::string(ref) + ";' is not predefined", start);
  }

  Result<std::string> AttributeValue() {
    if (AtEnd() || (Peek() != '"' && Peek() != '\'')) return Malformed("expected a quoted value", pos_);
    char quote = Peek();
    ++pos_;
    std::string value;
    while (true) {
      if (AtEnd()) return Malformed("unterminated attribute value", pos_);
      char c = Peek();
      if (c == quote) break;
      if (c == '<') return Malformed("'<' in an attribute value", pos_);
      if (c == '&') {
        OPENPCC_RETURN_IF_ERROR(Reference(value));
        continue;
      }
      // Attribute-value normalization: literal whitespace becomes a space (references do not).
      value.push_back(c == '\t' || c == '\n' ? ' ' : c);
      ++pos_;
    }
    ++pos_;
    return value;
  }

  static Result<std::pair<std::string, std::string>> Split(const std::string& qname, size_t at) {
    size_t colon = qname.find(':');
    if (colon == std::string::npos) return std::make_pair(std::string(), qname);
    if (colon == 0 || colon + 1 == qname.size() || qname.find(':', colon + 1) != std::string::npos) {
      return Malformed("bad qualified name '" + qname + "'", at);
    }
    return std::make_pair(qname.substr(0, colon), qname.substr(colon + 1));
  }

  Result<Node> Element(const std::map<std::string, std::string>& parent_scope, size_t depth) {
    if (depth > kMaxXmlDepth) return Error(ErrorCode::kOutOfRange, "nvgpu: rim xml: nesting too deep");
    if (++nodes_ > kMaxXmlNodes) return Error(ErrorCode::kOutOfRange, "nvgpu: rim xml: too many nodes");
    size_t start = pos_;
    ++pos_;  // '<'
    Node node;
    OPENPCC_ASSIGN_OR_RETURN(node.qname, Name());
    std::vector<std::pair<std::string, std::string>> raw;  // qname, value
    while (true) {
      bool had_space = !AtEnd() && IsSpace(Peek());
      SkipSpace();
      if (AtEnd()) return Malformed("unterminated start tag", start);
      if (Peek() == '>' || StartsWith("/>")) break;
      if (!had_space) return Malformed("expected whitespace before an attribute", pos_);
      size_t at = pos_;
      OPENPCC_ASSIGN_OR_RETURN(std::string name, Name());
      SkipSpace();
      if (AtEnd() || Peek() != '=') return Malformed("expected '=' after attribute " + name, pos_);
      ++pos_;
      SkipSpace();
      OPENPCC_ASSIGN_OR_RETURN(std::string value, AttributeValue());
      for (const auto& [other, unused] : raw) {
        if (other == name) return Malformed("attribute " + name + " repeated", at);
      }
      if (raw.size() >= kMaxXmlAttributes) {
        return Error(ErrorCode::kOutOfRange, "nvgpu: rim xml: too many attributes on " + node.qname);
      }
      raw.emplace_back(std::move(name), std::move(value));
    }
    // Namespace declarations first, so attributes and the element name resolve against them.
    node.in_scope = parent_scope;
    for (const auto& [name, value] : raw) {
      if (name == "xmlns") {
        node.ns_decls[""] = value;
      } else if (name.rfind("xmlns:", 0) == 0) {
        std::string prefix = name.substr(6);
        if (prefix.empty() || prefix == "xml" || prefix == "xmlns" || value.empty()) {
          return Unsupported("namespace declaration " + name, start);
        }
        node.ns_decls[prefix] = value;
      }
    }
    for (const auto& [prefix, uri] : node.ns_decls) {
      if (uri.empty()) node.in_scope.erase(prefix);
      else node.in_scope[prefix] = uri;
    }
    for (auto& [name, value] : raw) {
      if (name == "xmlns" || name.rfind("xmlns:", 0) == 0) continue;
      OPENPCC_ASSIGN_OR_RETURN(auto parts, Split(name, start));
      Attribute attr;
      if (!parts.first.empty()) {
        if (parts.first == "xml") return Unsupported("xml:* attributes are not accepted", start);
        auto it = node.in_scope.find(parts.first);
        if (it == node.in_scope.end()) return Malformed("unbound prefix in " + name, start);
        attr.ns_uri = it->second;
      }
      attr.local = parts.second;
      attr.qname = name;
      attr.value = std::move(value);
      for (const Attribute& other : node.attributes) {
        if (other.ns_uri == attr.ns_uri && other.local == attr.local) {
          return Malformed("attribute {" + attr.ns_uri + "}" + attr.local + " repeated", start);
        }
      }
      node.attributes.push_back(std::move(attr));
    }
    OPENPCC_ASSIGN_OR_RETURN(auto parts, Split(node.qname, start));
    node.local = parts.second;
    auto it = node.in_scope.find(parts.first);
    if (it != node.in_scope.end()) {
      node.ns_uri = it->second;
    } else if (!parts.first.empty()) {
      return Malformed("unbound prefix in element " + node.qname, start);
    }

    if (StartsWith("/>")) {
      pos_ += 2;
      return node;
    }
    ++pos_;  // '>'
    std::string text;
    auto flush_text = [&]() {
      if (text.empty()) return;
      Node t;
      t.is_text = true;
      t.text = std::move(text);
      text.clear();
      node.children.push_back(std::move(t));
    };
    while (true) {
      if (AtEnd()) return Malformed("element " + node.qname + " is not closed", start);
      if (StartsWith("</")) {
        flush_text();
        pos_ += 2;
        size_t at = pos_;
        OPENPCC_ASSIGN_OR_RETURN(std::string name, Name());
        if (name != node.qname) {
          return Malformed("end tag " + name + " does not close " + node.qname, at);
        }
        SkipSpace();
        if (AtEnd() || Peek() != '>') return Malformed("unterminated end tag", at);
        ++pos_;
        return node;
      }
      if (StartsWith("<!--")) {
        OPENPCC_RETURN_IF_ERROR(Comment());
        continue;
      }
      if (StartsWith("<![CDATA[")) return Unsupported("CDATA sections are not accepted", pos_);
      if (StartsWith("<!") || StartsWith("<?")) {
        return Unsupported("markup declarations and processing instructions are not accepted", pos_);
      }
      if (Peek() == '<') {
        flush_text();
        OPENPCC_ASSIGN_OR_RETURN(Node child, Element(node.in_scope, depth + 1));
        node.children.push_back(std::move(child));
        continue;
      }
      if (Peek() == '&') {
        OPENPCC_RETURN_IF_ERROR(Reference(text));
        continue;
      }
      if (StartsWith("]]>")) return Malformed("']]>' in character data", pos_);
      if (text.empty() && ++nodes_ > kMaxXmlNodes) {
        return Error(ErrorCode::kOutOfRange, "nvgpu: rim xml: too many nodes");
      }
      text.push_back(Peek());
      ++pos_;
    }
  }

  std::string s_;
  size_t pos_ = 0;
  size_t nodes_ = 0;
};

void EscapeAttr(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '"': out += "&quot;"; break;
      case '\t': out += "&#x9;"; break;
      case '\n': out += "&#xA;"; break;
      case '\r': out += "&#xD;"; break;
      default: out.push_back(c);
    }
  }
}

void EscapeText(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\r': out += "&#xD;"; break;
      default: out.push_back(c);
    }
  }
}

// `rendered`: the namespace declarations in effect in the output at the parent (prefix -> URI).
void Render(std::string& out, const Node& node, const Node* omit,
            const std::map<std::string, std::string>& rendered, bool apex) {
  if (node.is_text) {
    EscapeText(out, node.text);
    return;
  }
  // Inclusive canonicalization: the apex renders every namespace in scope; below it, an element
  // renders the namespaces whose binding differs from what its output parent already has.
  std::map<std::string, std::string> mine = rendered;
  std::vector<std::pair<std::string, std::string>> to_render;
  for (const auto& [prefix, uri] : node.in_scope) {
    auto it = rendered.find(prefix);
    if (apex || it == rendered.end() || it->second != uri) {
      to_render.emplace_back(prefix, uri);
      mine[prefix] = uri;
    }
  }
  // A default namespace undeclared here (xmlns="") must be rendered only if the output parent has
  // a non-empty default.
  if (!apex && node.in_scope.count("") == 0) {
    auto it = rendered.find("");
    if (it != rendered.end() && !it->second.empty()) {
      to_render.emplace_back("", "");
      mine.erase("");
    }
  }
  std::sort(to_render.begin(), to_render.end());  // default ("") first, then by prefix
  out.push_back('<');
  out += node.qname;
  for (const auto& [prefix, uri] : to_render) {
    out += prefix.empty() ? " xmlns=\"" : " xmlns:" + prefix + "=\"";
    EscapeAttr(out, uri);
    out.push_back('"');
  }
  std::vector<const Attribute*> attrs;
  for (const Attribute& a : node.attributes) attrs.push_back(&a);
  std::sort(attrs.begin(), attrs.end(), [](const Attribute* a, const Attribute* b) {
    return std::tie(a->ns_uri, a->local) < std::tie(b->ns_uri, b->local);
  });
  for (const Attribute* a : attrs) {
    out.push_back(' ');
    out += a->qname;
    out += "=\"";
    EscapeAttr(out, a->value);
    out.push_back('"');
  }
  out.push_back('>');
  for (const Node& child : node.children) {
    if (&child == omit) continue;
    Render(out, child, omit, mine, false);
  }
  out += "</";
  out += node.qname;
  out.push_back('>');
}

}  // namespace

const Node* Node::Child(std::string_view ns, std::string_view local_name) const {
  for (const Node& child : children) {
    if (!child.is_text && child.ns_uri == ns && child.local == local_name) return &child;
  }
  return nullptr;
}

std::vector<const Node*> Node::Children(std::string_view ns, std::string_view local_name) const {
  std::vector<const Node*> out;
  for (const Node& child : children) {
    if (!child.is_text && child.ns_uri == ns && child.local == local_name) out.push_back(&child);
  }
  return out;
}

const std::string* Node::Attr(std::string_view ns, std::string_view local_name) const {
  for (const Attribute& a : attributes) {
    if (a.ns_uri == ns && a.local == local_name) return &a.value;
  }
  return nullptr;
}

std::string Node::Text() const {
  std::string out;
  for (const Node& child : children) {
    if (child.is_text) out += child.text;
  }
  return out;
}

Result<Node> Parse(std::string_view document) {
  if (document.size() > kMaxXmlBytes) {
    return Error(ErrorCode::kOutOfRange, "nvgpu: rim xml: document of " +
                                             std::to_string(document.size()) +
                                             " bytes exceeds the limit");
  }
  if (document.find('\0') != std::string_view::npos) {
    return Error(ErrorCode::kMalformed, "nvgpu: rim xml: NUL byte in the document");
  }
  // XML 1.0 §2.11: CRLF and lone CR become LF before parsing.
  std::string text;
  text.reserve(document.size());
  for (size_t i = 0; i < document.size(); ++i) {
    if (document[i] == '\r') {
      text.push_back('\n');
      if (i + 1 < document.size() && document[i + 1] == '\n') ++i;
    } else {
      text.push_back(document[i]);
    }
  }
  return Parser(std::move(text)).Document();
}

std::string Canonicalize(const Node& element, const Node* omit) {
  std::string out;
  Render(out, element, omit, {}, true);
  return out;
}

}  // namespace openpcc::attest::nvgpu::xml
