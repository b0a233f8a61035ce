//===- TokenizerTestSupport.cpp - Helpers for the tokenizer tests ---------===//

#include "TokenizerTestSupport.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <unordered_map>

namespace llamac::testing {

std::string sharedPath(const std::string &relative) {
  std::string path = std::string(LLAMAC_SHARED_DIR) + "/" + relative;
  if (!std::filesystem::exists(path))
    throw std::runtime_error(path + " is missing: the tokenizer tests need "
                                    "the shared reference directory");
  return path;
}

const nlohmann::json &sharedJson(const std::string &relative) {
  static std::map<std::string, nlohmann::json> cache;
  auto found = cache.find(relative);
  if (found == cache.end()) {
    std::ifstream file(sharedPath(relative));
    found = cache.emplace(relative, nlohmann::json::parse(file)).first;
  }
  return found->second;
}

const Tokenizer &sharedTokenizer(const std::string &relative) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  std::unique_ptr<Tokenizer> &tokenizer = cache[relative];
  if (!tokenizer) {
    std::string error;
    tokenizer = Tokenizer::load(sharedPath(relative), error);
    if (!tokenizer)
      throw std::runtime_error(error);
  }
  return *tokenizer;
}

std::vector<TokenId> idsOf(const nlohmann::json &array) {
  return array.get<std::vector<TokenId>>();
}

std::vector<TokenId> encodeOrThrow(const Tokenizer &tokenizer,
                                   const std::string &text,
                                   const EncodeOptions &options) {
  std::string error;
  std::optional<std::vector<TokenId>> ids =
      tokenizer.encode(text, options, error);
  if (!ids)
    throw std::runtime_error("encoding failed: " + error);
  return *ids;
}

std::string decodeOrThrow(const Tokenizer &tokenizer,
                          const std::vector<TokenId> &ids,
                          const DecodeOptions &options) {
  std::string error;
  std::optional<std::string> text = tokenizer.decode(ids, options, error);
  if (!text)
    throw std::runtime_error("decoding failed: " + error);
  return *text;
}

TokenId pieceId(const Tokenizer &tokenizer, const std::string &spelling) {
  static std::map<const Tokenizer *, std::unordered_map<std::string, TokenId>>
      vocabularies;
  std::unordered_map<std::string, TokenId> &vocabulary =
      vocabularies[&tokenizer];
  if (vocabulary.empty())
    for (TokenId id = 0; id < tokenizer.vocabSize(); ++id)
      vocabulary.emplace(tokenizer.pieceString(id), id);
  auto found = vocabulary.find(spelling);
  if (found == vocabulary.end())
    throw std::runtime_error("no piece '" + spelling + "' in the vocabulary");
  return found->second;
}

std::vector<TokenId> bytePieceIds(const Tokenizer &tokenizer,
                                  const std::string &bytes) {
  std::vector<TokenId> ids;
  for (unsigned char byte : bytes) {
    char spelling[8];
    std::snprintf(spelling, sizeof(spelling), "<0x%02X>", byte);
    ids.push_back(pieceId(tokenizer, spelling));
  }
  return ids;
}

const std::vector<std::string> &sampleEmoji() {
  // Llama, grinning face, family (ZWJ), rainbow flag (VS16 + ZWJ), woman
  // technologist with skin tone, heart on fire, airplane + VS16, flag of
  // France, keycap 1.
  static const std::vector<std::string> emoji = {
      "\xF0\x9F\xA6\x99",
      "\xF0\x9F\x98\x80",
      "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91"
      "\xA7\xE2\x80\x8D\xF0\x9F\x91\xA6",
      "\xF0\x9F\x8F\xB3\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x8C\x88",
      "\xF0\x9F\x91\xA9\xF0\x9F\x8F\xBD\xE2\x80\x8D\xF0\x9F\x92\xBB",
      "\xE2\x9D\xA4\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x94\xA5",
      "\xE2\x9C\x88\xEF\xB8\x8F",
      "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7",
      "1\xEF\xB8\x8F\xE2\x83\xA3",
  };
  return emoji;
}

void appendUtf8(char32_t codePoint, std::string &out) {
  if (codePoint < 0x80) {
    out += static_cast<char>(codePoint);
  } else if (codePoint < 0x800) {
    out += static_cast<char>(0xC0 | (codePoint >> 6));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  } else if (codePoint < 0x10000) {
    out += static_cast<char>(0xE0 | (codePoint >> 12));
    out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (codePoint >> 18));
    out += static_cast<char>(0x80 | ((codePoint >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  }
}

} // namespace llamac::testing
