// attest/nvgpu/xml.h — a small, bounded XML reader and inclusive XML canonicalization, for the
// subset of XML that NVIDIA's signed RIMs (SWID tags with an enveloped XML-DSig signature) use.
//
// RIMs are untrusted input until their signature verifies, and their signature is over the
// canonical form of the parsed document, so this reader is deliberately narrow rather than general:
//   - accepted: an optional XML declaration, elements, attributes (with namespace declarations),
//     character data, the five predefined entities and numeric character references, comments
//     (dropped, as canonical XML without comments drops them);
//   - refused: DOCTYPE (no entity expansion, no external resources), CDATA sections, processing
//     instructions other than the declaration, xml:* attributes (whose inheritance rules differ
//     between C14N 1.0 and 1.1), unbound prefixes, non-ASCII names;
//   - limits: kMaxXmlBytes of input, kMaxXmlDepth of nesting, kMaxXmlNodes nodes, kMaxXmlAttributes
//     attributes per element.
// Line ends are normalized to LF and whitespace in attribute values to spaces, as XML 1.0 requires.
//
// Canonicalize implements inclusive Canonical XML (1.0 and 1.1 give the same bytes on this subset)
// without comments, of a whole element subtree, optionally leaving out one descendant element:
// that is what XML-DSig needs for an enveloped signature over URI="" and for SignedInfo.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/util/result.h"

namespace openpcc::attest::nvgpu::xml {

inline constexpr size_t kMaxXmlBytes = 1024 * 1024;
inline constexpr size_t kMaxXmlDepth = 32;
inline constexpr size_t kMaxXmlNodes = 20000;
inline constexpr size_t kMaxXmlAttributes = 64;

struct Attribute {
  std::string qname;   // as written: "ns2:Hash0", "index"
  std::string ns_uri;  // resolved namespace ("" for unprefixed attributes)
  std::string local;   // "Hash0"
  std::string value;   // entity-decoded, normalized
};

struct Node {
  bool is_text = false;
  std::string text;  // text nodes: decoded character data

  // Elements.
  std::string qname;
  std::string ns_uri;
  std::string local;
  std::vector<Attribute> attributes;             // excluding namespace declarations
  std::map<std::string, std::string> ns_decls;   // declared here: prefix ("" = default) -> URI
  std::map<std::string, std::string> in_scope;   // all in scope here (own and inherited)
  std::vector<Node> children;

  // First child element with this namespace and local name, or nullptr.
  const Node* Child(std::string_view ns, std::string_view local_name) const;
  // Every child element with this namespace and local name.
  std::vector<const Node*> Children(std::string_view ns, std::string_view local_name) const;
  // Value of the attribute with this namespace ("" for none) and local name, or nullptr.
  const std::string* Attr(std::string_view ns, std::string_view local_name) const;
  // Concatenated character data of the direct text children.
  std::string Text() const;
};

// Parses a whole document; returns its root element.
Result<Node> Parse(std::string_view document);

// Canonical XML of `element`'s subtree, leaving out the subtree of `omit` (if non-null). When
// `element` is the document element the result is the canonical form of the whole document.
// Namespace declarations in scope at `element` are rendered on it (inclusive canonicalization).
std::string Canonicalize(const Node& element, const Node* omit = nullptr);

}  // namespace openpcc::attest::nvgpu::xml
