//===- Tokenizer.cpp - Loading and encoding -------------------------------===//

#include "runtime/tokenizer/Tokenizer.h"

#include "runtime/tokenizer/Utf8.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace llamac {

namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81"; // "▁"

/// A serialized ModelProto fragment {normalizer_spec {add_dummy_prefix: V}}.
/// Protobuf merges a repeated occurrence of a message field into the first,
/// so appending it to a model file overrides just that one setting; this
/// spares us protobuf and the model schema, which Debian does not ship.
std::string dummyPrefixOverride(bool enabled) {
  const char fragment[] = {0x1A, 0x02, 0x18, static_cast<char>(enabled)};
  return std::string(fragment, sizeof(fragment));
}

/// Real SentencePiece models are well under 10 MiB (Llama 2's is 500 KB);
/// the file is read whole, so anything larger is refused before reading.
constexpr uintmax_t kMaxModelBytes = uintmax_t(64) << 20;

bool readFile(const std::string &path, std::string &bytes,
              std::string &problem) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    problem = "is a directory, not a tokenizer.model file";
    return false;
  }
  // A FIFO or a device (/dev/zero) would be read without end.
  std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (!ec && !std::filesystem::is_regular_file(status)) {
    problem = "not a regular file";
    return false;
  }
  if (uintmax_t size = std::filesystem::file_size(path, ec);
      !ec && size > kMaxModelBytes) {
    problem = "file is " + std::to_string(size) + " bytes, more than the " +
              std::to_string(kMaxModelBytes >> 20) +
              " MiB a tokenizer model may have";
    return false;
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    problem = std::strerror(errno);
    return false;
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) {
    problem = "read failed";
    return false;
  }
  bytes = std::move(contents).str();
  return true;
}

/// "<0x0A>" -> 0x0A.
std::optional<char> parseBytePiece(const std::string &spelling) {
  if (spelling.size() != 6 || spelling.compare(0, 3, "<0x") != 0 ||
      spelling[5] != '>')
    return std::nullopt;
  unsigned value = 0;
  for (char digit : spelling.substr(3, 2)) {
    value <<= 4;
    if (digit >= '0' && digit <= '9')
      value |= digit - '0';
    else if (digit >= 'A' && digit <= 'F')
      value |= digit - 'A' + 10;
    else
      return std::nullopt;
  }
  return static_cast<char>(value);
}

std::string replaceAll(std::string text, std::string_view from,
                       std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

/// SentencePiece's messages quote the model file ("byte piece <...> is
/// invalid"): control bytes, newlines and bytes that may not be UTF-8 are
/// shown as '?' and the message is cut, so an error stays one printable
/// line whatever the file holds.
std::string printableMessage(std::string text) {
  constexpr size_t kMaxChars = 200;
  bool cut = text.size() > kMaxChars;
  text.resize(std::min(text.size(), kMaxChars));
  for (char &c : text)
    if (c < 0x20 || c > 0x7e)
      c = '?';
  return cut ? text + "..." : text;
}

std::string printableStatus(const sentencepiece::util::Status &status) {
  return printableMessage(status.ToString());
}

bool startsWithSpace(std::string_view text) {
  return text.substr(0, 1) == " " ||
         text.substr(0, kSpaceSymbol.size()) == kSpaceSymbol;
}

} // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string &path,
                                           std::string &error) {
  std::string bytes, problem;
  if (!readFile(path, bytes, problem)) {
    error = path + ": " + problem;
    return nullptr;
  }
  return loadFromBytes(bytes, path, error);
}

std::unique_ptr<Tokenizer> Tokenizer::loadFromBytes(const std::string &bytes,
                                                    const std::string &name,
                                                    std::string &error) {
  std::unique_ptr<Tokenizer> tokenizer(new Tokenizer());
  std::string problem;
  if (!tokenizer->initialize(bytes, problem)) {
    error = name + ": " + problem;
    return nullptr;
  }
  return tokenizer;
}

bool Tokenizer::initialize(const std::string &bytes, std::string &problem) {
  // An empty string parses as an empty ModelProto, which SentencePiece
  // accepts as a model without pieces.
  if (bytes.empty()) {
    problem = "empty file, not a SentencePiece model";
    return false;
  }
  withDummyPrefix = std::make_unique<sentencepiece::SentencePieceProcessor>();
  withoutDummyPrefix =
      std::make_unique<sentencepiece::SentencePieceProcessor>();
  for (auto [processor, dummyPrefix] :
       {std::pair{withDummyPrefix.get(), true},
        std::pair{withoutDummyPrefix.get(), false}}) {
    sentencepiece::util::Status status;
    try {
      status = processor->LoadFromSerializedProto(
          bytes + dummyPrefixOverride(dummyPrefix));
    } catch (const std::exception &e) {
      // SentencePiece's trie builder throws on some malformed models (a
      // piece of zero length: "failed to insert key: zero-length key").
      problem = "not a SentencePiece model (" + printableMessage(e.what()) + ")";
      return false;
    }
    if (!status.ok()) {
      problem = "not a SentencePiece model (" + printableStatus(status) + ")";
      return false;
    }
  }

  const sentencepiece::SentencePieceProcessor &model = *withDummyPrefix;
  bos = model.bos_id();
  eos = model.eos_id();
  if (bos < 0 || eos < 0) {
    problem = "the model defines no <s> or no </s> piece";
    return false;
  }
  pieces.resize(model.GetPieceSize());
  for (TokenId id = 0; id < vocabSize(); ++id) {
    Piece &piece = pieces[id];
    piece.spelling = model.IdToPiece(id);
    std::optional<char> byte = parseBytePiece(piece.spelling);
    if (model.IsControl(id) || model.IsUnknown(id)) {
      piece.kind = PieceKind::Special;
      specialIds.push_back(id);
    } else if (model.IsByte(id) && byte) {
      piece.kind = PieceKind::Byte;
      piece.byte = *byte;
    } else {
      piece.text = replaceAll(piece.spelling, kSpaceSymbol, " ");
    }
  }
  std::stable_sort(
      specialIds.begin(), specialIds.end(), [&](TokenId a, TokenId b) {
        return pieces[a].spelling.size() > pieces[b].spelling.size();
      });
  return true;
}

bool Tokenizer::isSpecial(TokenId id) const {
  return contains(id) && pieces[id].kind == PieceKind::Special;
}

const std::string &Tokenizer::pieceString(TokenId id) const {
  return pieces.at(id).spelling;
}

std::string Tokenizer::pieceBytes(TokenId id) const {
  const Piece &piece = pieces.at(id);
  switch (piece.kind) {
  case PieceKind::Text:
    return piece.text;
  case PieceKind::Byte:
    return std::string(1, piece.byte);
  case PieceKind::Special:
    return piece.spelling;
  }
  return piece.spelling;
}

std::optional<std::vector<TokenId>>
Tokenizer::encode(std::string_view text, const EncodeOptions &options,
                  std::string &error) const {
  if (std::optional<size_t> offset = findIllFormedUtf8(text)) {
    error = "text is not valid UTF-8 (ill-formed sequence at byte " +
            std::to_string(*offset) + ")";
    return std::nullopt;
  }
  std::vector<TokenId> ids;
  if (options.addSpecialTokens)
    ids.push_back(bos);
  bool encoded = options.specialTokens == SpecialTokenText::Plain
                     ? appendSegment(text, options.addDummyPrefix, ids, error)
                     : appendWithSpecialTokens(text, options, ids, error);
  if (!encoded)
    return std::nullopt;
  return ids;
}

bool Tokenizer::appendSegment(std::string_view text, bool dummyPrefix,
                              std::vector<TokenId> &ids,
                              std::string &error) const {
  std::vector<int> segmentIds;
  const sentencepiece::SentencePieceProcessor &processor =
      dummyPrefix ? *withDummyPrefix : *withoutDummyPrefix;
  sentencepiece::util::Status status;
  try {
    status = processor.Encode(text, &segmentIds);
  } catch (const std::exception &e) {
    error = "SentencePiece failed to encode the text: " +
            printableMessage(e.what());
    return false;
  }
  if (!status.ok()) {
    error = "SentencePiece failed to encode the text: " + printableStatus(status);
    return false;
  }
  ids.insert(ids.end(), segmentIds.begin(), segmentIds.end());
  return true;
}

std::optional<TokenId> Tokenizer::matchSpecial(std::string_view text) const {
  for (TokenId id : specialIds)
    if (text.substr(0, pieces[id].spelling.size()) == pieces[id].spelling)
      return id;
  return std::nullopt;
}

bool Tokenizer::appendWithSpecialTokens(std::string_view text,
                                        const EncodeOptions &options,
                                        std::vector<TokenId> &ids,
                                        std::string &error) const {
  // Hugging Face splits the text at special-token strings and encodes every
  // stretch between them on its own; empty stretches produce nothing.
  auto appendStretch = [&](size_t begin, size_t end) {
    std::string_view stretch = text.substr(begin, end - begin);
    if (stretch.empty())
      return true;
    bool dummyPrefix = options.addDummyPrefix;
    // Non-legacy: a Metaspace pre-tokenizer with prepend_scheme="first".
    if (options.specialTokens == SpecialTokenText::Parse)
      dummyPrefix = dummyPrefix && begin == 0 && !startsWithSpace(stretch);
    return appendSegment(stretch, dummyPrefix, ids, error);
  };

  size_t stretchBegin = 0;
  for (size_t at = 0; at < text.size();) {
    std::optional<TokenId> special = matchSpecial(text.substr(at));
    if (!special) {
      ++at;
      continue;
    }
    if (!appendStretch(stretchBegin, at))
      return false;
    ids.push_back(*special);
    at += pieces[*special].spelling.size();
    stretchBegin = at;
  }
  return appendStretch(stretchBegin, text.size());
}

} // namespace llamac
