// net/http_text.h — internal to net/: the few pieces of HTTP/1.1 text the server and the client
// write themselves (status lines, header fields, chunk framing). Parsing is Beast's.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace openpcc::net::detail {

// RFC 9110 token: a method or a field name.
bool IsToken(std::string_view s);
// A field value without CR, LF, NUL or other control bytes except tab.
bool IsFieldValue(std::string_view s);
// Fields that frame the message or the connection; only the server and client set them.
bool IsFramingHeader(std::string_view name);
// "HTTP/1.1 200 OK\r\n".
std::string StatusLine(unsigned status);
// "1a\r\n": the line before a chunk of `size` bytes.
std::string ChunkSizeLine(size_t size);
inline constexpr std::string_view kCrlf = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";
// JSON string contents with the escapes RFC 8259 requires.
std::string JsonEscape(std::string_view s);

}  // namespace openpcc::net::detail
