// tests/support/node.h — runs an independent Node.js implementation (tests/interop/*.mjs) as a
// test peer. The script reads one JSON document on stdin and writes one JSON document to stdout;
// a non-zero exit or unparsable output fails the calling test with the script's stderr.
#pragma once

#include <boost/json.hpp>

#include <string_view>

namespace openpcc::testing {

// Runs `node <source>/tests/interop/<script>` with `input` on stdin and returns the parsed stdout.
// Calls ADD_FAILURE and returns null on any failure.
boost::json::value RunNodePeer(std::string_view script, const boost::json::value& input);

}  // namespace openpcc::testing
