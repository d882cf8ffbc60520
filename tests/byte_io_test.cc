// wire/byte_reader.h and byte_writer.h: the one reader of untrusted bytes and the one writer.
// QUIC varints against RFC 9000 Appendix A.1; failed reads leave the cursor untouched; writers
// refuse values that do not fit instead of truncating them.
#include <gtest/gtest.h>

#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"
#include "support/vectors.h"

namespace openpcc::wire {
namespace {

using openpcc::testing::Hex;

TEST(ByteReaderTest, DecodesRfc9000VarintExamples) {
  const std::pair<const char*, uint64_t> examples[] = {
      {"c2197c5eff14e88c", 151288809941952652u}, {"9d7f3e7d", 494878333u},
      {"7bbd", 15293u}, {"25", 37u}, {"4025", 37u},  // the last is a non-minimal 37
  };
  for (const auto& [hex, value] : examples) {
    const Bytes bytes = Hex(hex);
    ByteReader reader(bytes);
    uint64_t decoded = 0;
    ASSERT_TRUE(reader.ReadVarint(&decoded)) << hex;
    EXPECT_EQ(decoded, value) << hex;
    EXPECT_TRUE(reader.empty()) << hex;
  }
}

TEST(ByteWriterTest, EncodesMinimalVarintsAndRefusesTooLarge) {
  const std::pair<uint64_t, const char*> examples[] = {
      {151288809941952652u, "c2197c5eff14e88c"}, {494878333u, "9d7f3e7d"}, {15293u, "7bbd"}, {37u, "25"},
      {63u, "3f"}, {64u, "4040"}, {kMaxVarint, "ffffffffffffffff"}};
  for (const auto& [value, hex] : examples) {
    ByteWriter writer;
    ASSERT_TRUE(writer.WriteVarint(value));
    EXPECT_EQ(HexEncode(writer.view()), hex);
  }
  ByteWriter writer;
  EXPECT_FALSE(writer.WriteVarint(kMaxVarint + 1));
  EXPECT_EQ(writer.size(), 0u);
  EXPECT_FALSE(writer.WriteUint(2, 0x10000));
  EXPECT_FALSE(writer.WriteU8Prefixed(Bytes(256, 0)));
  EXPECT_FALSE(writer.WriteU16Prefixed(Bytes(65536, 0)));
  EXPECT_EQ(writer.size(), 0u);
}

TEST(ByteReaderTest, FailedReadsLeaveTheCursorWhereItWas) {
  const Bytes bytes = Hex("0005aabbcc");  // u16 length 5, but only 3 bytes follow
  ByteReader reader(bytes);
  ByteReader child;
  EXPECT_FALSE(reader.ReadU16Prefixed(&child));
  EXPECT_EQ(reader.remaining(), 5u);
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  EXPECT_TRUE(reader.ReadU32(&u32));
  EXPECT_EQ(u32, 0x0005aabbu);
  EXPECT_FALSE(reader.ReadU64(&u64));
  uint16_t u16 = 0;
  EXPECT_FALSE(reader.ReadU16(&u16));
  EXPECT_EQ(reader.remaining(), 1u);
  const Bytes truncated_varint = Hex("c2197c");  // announces 8 bytes, has 3
  ByteReader varint_reader(truncated_varint);
  EXPECT_FALSE(varint_reader.ReadVarint(&u64));
  EXPECT_EQ(varint_reader.remaining(), 3u);
}

TEST(ByteReaderTest, ChildReadersCannotReadPastTheirField) {
  const Bytes bytes = Hex("02aabbcc");
  ByteReader reader(bytes);
  ByteReader child;
  ASSERT_TRUE(reader.ReadU8Prefixed(&child));
  uint16_t inside = 0;
  uint8_t beyond = 0;
  ASSERT_TRUE(child.ReadU16(&inside));
  EXPECT_EQ(inside, 0xaabbu);
  EXPECT_FALSE(child.ReadU8(&beyond));  // 0xcc belongs to the parent
  ASSERT_TRUE(reader.ReadU8(&beyond));
  EXPECT_EQ(beyond, 0xcc);
}

TEST(ByteReaderTest, ReadsLittleEndianForAttestationFormats) {
  const Bytes bytes = Hex("0100020003000000");
  ByteReader reader(bytes);
  uint16_t a = 0;
  uint16_t b = 0;
  uint32_t c = 0;
  ASSERT_TRUE(reader.ReadU16Le(&a) && reader.ReadU16Le(&b) && reader.ReadU32Le(&c));
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  EXPECT_EQ(c, 3u);
}

TEST(FillToTest, BuffersExactlyUpToWhatIsWanted) {
  std::vector<uint8_t> buffer;
  const Bytes input = Hex("0102030405");
  ByteView rest = input;
  EXPECT_FALSE(FillTo(buffer, 8, rest));
  EXPECT_EQ(buffer.size(), 5u);
  EXPECT_TRUE(rest.empty());
  buffer.clear();
  rest = input;
  EXPECT_TRUE(FillTo(buffer, 2, rest));
  EXPECT_EQ(HexEncode(buffer), "0102");
  EXPECT_EQ(rest.size(), 3u);
}

}  // namespace
}  // namespace openpcc::wire
