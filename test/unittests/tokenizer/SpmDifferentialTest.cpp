//===- SpmDifferentialTest.cpp - Our encoding against spm_encode ----------===//
//
// Thousands of random strings (a fixed seed) encoded by us and by the
// SentencePiece command-line tool. spm_encode reads one string per line, so
// these strings hold no newline; the vectors cover newlines.
//
// Parsing special tokens is checked against spm_encode too: Hugging Face's
// legacy mode is the concatenation of spm_encode's encodings of the text
// between special tokens, with the special tokens' ids in between.
//
//===----------------------------------------------------------------------===//

#include "TokenizerTestSupport.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace llamac::testing {
namespace {

constexpr int kStringsPerModel = 3000;

const std::vector<std::string> &specialStrings() {
  static const std::vector<std::string> strings = {"<s>", "</s>", "<unk>"};
  return strings;
}

/// One random fragment; strings are a few of them end to end.
void appendFragment(Draw &draw, std::string &out) {
  static const std::vector<char32_t> spaces = {' ',    ' ',  ' ',    '\t',
                                               0x3000, 0xA0, 0x2003, 0x200B};
  static const std::vector<std::string> words = {
      " the", " Hello", " world", "Once", " upon", " a", " time", ","};
  static const std::string punctuation = "07.,!?'\"(-<>/[]";

  auto appendRepeated = [&](auto next, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i)
      appendUtf8(next(), out);
  };
  auto between = [&](char32_t low, char32_t high) {
    return [&draw, low, high] { return char32_t(draw.between(low, high)); };
  };
  switch (draw.below(10)) {
  case 0:
    appendRepeated(between('a', 'z'), draw.between(1, 10));
    break;
  case 1:
    appendRepeated([&] { return draw.oneOf(spaces); }, draw.between(1, 6));
    break;
  case 2: // the Basic Multilingual Plane, surrogates excluded
    appendRepeated(
        [&] {
          char32_t c = draw.between(0x20, 0xFFFD);
          return c >= 0xD800 && c <= 0xDFFF ? char32_t(0xFFFD) : c;
        },
        draw.between(1, 4));
    break;
  case 3: // the supplementary planes
    appendRepeated(between(0x10000, 0x10FFFF), draw.between(1, 3));
    break;
  case 4:
    out += draw.oneOf(sampleEmoji());
    break;
  case 5: // CJK
    appendRepeated(between(0x4E00, 0x9FFF), draw.between(1, 6));
    break;
  case 6: // control characters, C0 (but the newline) and C1
    appendRepeated(
        [&] {
          char32_t c = draw.chance(70) ? draw.between(0x01, 0x1F)
                                       : draw.between(0x7F, 0x9F);
          return c == '\n' ? char32_t('\t') : c;
        },
        draw.between(1, 3));
    break;
  case 7:
    appendRepeated(
        [&] {
          return char32_t(punctuation[draw.below(
              static_cast<uint32_t>(punctuation.size()))]);
        },
        draw.between(1, 5));
    break;
  case 8:
    out += draw.oneOf(specialStrings());
    break;
  default:
    out += draw.oneOf(words);
  }
}

std::string randomString(Draw &draw) {
  std::string text;
  if (draw.chance(15))
    text.append(draw.between(1, 3), ' ');
  for (uint32_t i = 0, n = draw.between(1, 8); i < n; ++i)
    appendFragment(draw, text);
  if (draw.chance(15))
    text.append(draw.between(1, 3), ' ');
  return text;
}

std::string shellQuoted(const std::string &text) {
  std::string quoted = "'";
  for (char c : text)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

/// spm_encode's ids for each line.
std::vector<std::vector<TokenId>>
spmEncode(const std::string &model, const std::vector<std::string> &lines) {
  std::string directory = ::testing::TempDir();
  std::string input =
      directory + "spm_differential_" + std::to_string(::getpid()) + ".txt";
  std::string output = input + ".ids";
  {
    std::ofstream file(input, std::ios::binary);
    for (const std::string &line : lines)
      file << line << '\n';
  }
  std::string command = shellQuoted(LLAMAC_SPM_ENCODE) +
                        " --model=" + shellQuoted(model) +
                        " --output_format=id --input=" + shellQuoted(input) +
                        " --output=" + shellQuoted(output);
  int status = std::system(command.c_str());
  std::remove(input.c_str());
  if (status != 0)
    throw std::runtime_error("'" + command + "' failed");

  std::ifstream file(output);
  std::vector<std::vector<TokenId>> encodings;
  for (std::string line; std::getline(file, line);) {
    std::istringstream ids(line);
    encodings.emplace_back(std::istream_iterator<TokenId>(ids),
                           std::istream_iterator<TokenId>());
  }
  std::remove(output.c_str());
  if (encodings.size() != lines.size())
    throw std::runtime_error("spm_encode gave " +
                             std::to_string(encodings.size()) + " lines for " +
                             std::to_string(lines.size()));
  return encodings;
}

/// The text between special-token strings, and the special strings.
struct Split {
  std::vector<std::string> stretches;
  std::vector<std::string> specials;
};

Split splitAtSpecialStrings(const std::string &text) {
  Split split;
  size_t begin = 0;
  for (size_t at = 0; at < text.size();) {
    auto special =
        std::find_if(specialStrings().begin(), specialStrings().end(),
                     [&](const std::string &s) {
                       return text.compare(at, s.size(), s) == 0;
                     });
    if (special == specialStrings().end()) {
      ++at;
      continue;
    }
    split.stretches.push_back(text.substr(begin, at - begin));
    split.specials.push_back(*special);
    at += special->size();
    begin = at;
  }
  split.stretches.push_back(text.substr(begin));
  return split;
}

void compareWithSpmEncode(const std::string &modelPath) {
  const Tokenizer &tokenizer = sharedTokenizer(modelPath);
  Draw draw(0x5EED);
  std::vector<std::string> strings;
  for (int i = 0; i < kStringsPerModel; ++i)
    strings.push_back(randomString(draw));

  // Every string, then the stretches of those with special strings in them.
  std::vector<std::string> lines = strings;
  std::vector<Split> splits;
  for (const std::string &text : strings) {
    splits.push_back(splitAtSpecialStrings(text));
    if (!splits.back().specials.empty())
      lines.insert(lines.end(), splits.back().stretches.begin(),
                   splits.back().stretches.end());
  }
  std::vector<std::vector<TokenId>> reference =
      spmEncode(sharedPath(modelPath), lines);

  EncodeOptions plain;
  plain.addSpecialTokens = false;
  EncodeOptions legacy = plain;
  legacy.specialTokens = SpecialTokenText::ParseLegacy;
  size_t nextStretch = strings.size();
  int withSpecials = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    ASSERT_EQ(encodeOrThrow(tokenizer, strings[i], plain), reference[i])
        << "string " << i << ": '" << strings[i] << "'";
    const Split &split = splits[i];
    if (split.specials.empty())
      continue;
    ++withSpecials;
    std::vector<TokenId> expected;
    for (size_t s = 0; s < split.stretches.size(); ++s, ++nextStretch) {
      expected.insert(expected.end(), reference[nextStretch].begin(),
                      reference[nextStretch].end());
      if (s < split.specials.size())
        expected.push_back(pieceId(tokenizer, split.specials[s]));
    }
    ASSERT_EQ(encodeOrThrow(tokenizer, strings[i], legacy), expected)
        << "string " << i << ": '" << strings[i] << "'";
  }
  EXPECT_GT(withSpecials, kStringsPerModel / 4);
}

TEST(SpmDifferential, Llama2) { compareWithSpmEncode(kLlama2TokenizerPath); }

TEST(SpmDifferential, Stories260K) {
  compareWithSpmEncode(kStoriesTokenizerPath);
}

} // namespace
} // namespace llamac::testing
