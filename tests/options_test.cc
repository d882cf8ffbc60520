// cli/options: config file, flags overriding it, and the errors a user sees.
#include <gtest/gtest.h>

#include "openpcc/cli/options.h"

namespace openpcc::cli {
namespace {

using namespace std::chrono_literals;

struct Settings {
  std::string listen = "127.0.0.1:7200";
  int64_t workers = 2;
  bool verbose = false;
  std::chrono::milliseconds epoch = 1h;
  std::vector<std::string> witnesses = {"default"};
  std::string file;
};

OptionSet MakeOptions(Settings& s) {
  OptionSet options("test [options] FILE", "A command for tests.");
  options.AddString("listen", &s.listen, "Address to listen on.", "HOST:PORT");
  options.AddInt("workers", &s.workers, "Worker threads.", 1, 64);
  options.AddBool("verbose", &s.verbose, "Say more.");
  options.AddDuration("epoch", &s.epoch, "Directory epoch length.");
  options.AddList("witness", &s.witnesses, "A witness.");
  options.AddPositional("FILE", &s.file, "Input file.", true);
  return options;
}

TEST(OptionsTest, FlagsOverrideConfig) {
  Settings s;
  OptionSet options = MakeOptions(s);
  ASSERT_TRUE(options
                  .ApplyConfigText("# comment\nlisten = 127.0.0.1:9000\nworkers = 4\n"
                                   "witness = \"w1 key#1\"  # trailing comment\nwitness = w2\n"
                                   "epoch = 5m\n",
                                   "test.conf")
                  .ok());
  EXPECT_EQ(s.listen, "127.0.0.1:9000");
  EXPECT_EQ(s.workers, 4);
  EXPECT_EQ(s.epoch, 5min);
  EXPECT_EQ(s.witnesses, (std::vector<std::string>{"w1 key#1", "w2"}));
  auto outcome = options.Parse({"--workers", "8", "--verbose", "--witness=w3", "in.txt"});
  ASSERT_TRUE(outcome.ok()) << outcome.error().ToString();
  EXPECT_EQ(s.workers, 8);
  EXPECT_TRUE(s.verbose);
  EXPECT_EQ(s.witnesses, (std::vector<std::string>{"w3"}));
  EXPECT_EQ(s.file, "in.txt");
  EXPECT_EQ(s.listen, "127.0.0.1:9000");
}

TEST(OptionsTest, ErrorsNameTheKeyAndPlace) {
  Settings s;
  OptionSet options = MakeOptions(s);
  EXPECT_EQ(options.ApplyConfigText("\nlisen = x\n", "a.conf").error().message(),
            "a.conf:2: unknown setting 'lisen' (see --help)");
  EXPECT_EQ(options.ApplyConfigText("workers = 100\n", "a.conf").error().message(),
            "a.conf:1: workers: value 100 is outside 1..64");
  EXPECT_EQ(options.ApplyConfigText("workers\n", "a.conf").error().message(),
            "a.conf:1: expected 'key = value'");
  EXPECT_EQ(options.Parse({"--bogus", "x"}).error().message(),
            "unknown option '--bogus' (see --help)");
  EXPECT_EQ(options.Parse({"--epoch", "5y", "f"}).error().message(),
            "flag: epoch: duration '5y': unknown unit 'y' (ms, s, m, h, d)");
  EXPECT_EQ(options.Parse({}).error().message(), "missing argument FILE");
  EXPECT_EQ(options.Parse({"a", "b"}).error().message(), "unexpected argument 'b' (see --help)");
  EXPECT_EQ(options.Parse({"--config", "/nonexistent/x.conf", "f"}).error().message(),
            "--config: cannot read '/nonexistent/x.conf'");
}

TEST(OptionsTest, HelpListsEveryOptionWithDefaults) {
  Settings s;
  OptionSet options = MakeOptions(s);
  std::string help = options.Help();
  for (const char* text : {"Usage: openpcc test [options] FILE", "--listen HOST:PORT",
                           "(default: 127.0.0.1:7200)", "[1..64]", "(default: 1h)",
                           "--witness VALUE (repeatable)", "--config FILE", "FILE\n"}) {
    EXPECT_NE(help.find(text), std::string::npos) << text;
  }
}

TEST(OptionsTest, HelpOfACommandWithoutConfigFileDoesNotOfferOne) {
  Settings s;
  OptionSet options = MakeOptions(s);
  options.DisableConfigFile();
  std::string help = options.Help();
  EXPECT_EQ(help.find("config"), std::string::npos) << help;
  EXPECT_NE(help.find("\nOptions:\n"), std::string::npos) << help;
}

TEST(OptionsTest, DurationsRoundTrip) {
  EXPECT_EQ(ParseDuration("250ms").value(), 250ms);
  EXPECT_EQ(ParseDuration("30").value(), 30s);
  EXPECT_EQ(ParseDuration("2d").value(), 48h);
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("-5s").ok());
  EXPECT_EQ(FormatDuration(15min), "15m");
  EXPECT_EQ(FormatDuration(1500ms), "1500ms");
}

TEST(OptionsTest, NegatedBoolAndDoubleDash) {
  Settings s;
  s.verbose = true;
  OptionSet options = MakeOptions(s);
  ASSERT_TRUE(options.Parse({"--no-verbose", "--", "--file-like"}).ok());
  EXPECT_FALSE(s.verbose);
  EXPECT_EQ(s.file, "--file-like");
}

}  // namespace
}  // namespace openpcc::cli
