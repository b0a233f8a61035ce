//===- PromptIds.cpp - Prompts given as token ids -------------------------===//

#include "runtime/PromptIds.h"

#include <limits>

namespace llamac {

static std::vector<std::string> split(const std::string &text, char separator) {
  std::vector<std::string> pieces(1);
  for (char c : text) {
    if (c == separator)
      pieces.emplace_back();
    else
      pieces.back() += c;
  }
  return pieces;
}

static std::string trim(const std::string &text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos)
    return "";
  size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

static std::optional<int32_t> parseTokenId(const std::string &text) {
  if (text.empty() || text.size() > 10 ||
      text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  int64_t value = std::stoll(text);
  if (value > std::numeric_limits<int32_t>::max())
    return std::nullopt;
  return int32_t(value);
}

std::optional<std::vector<std::vector<int32_t>>>
parsePromptIds(const std::string &text, std::string &error) {
  std::vector<std::vector<int32_t>> rows;
  for (const std::string &rowText : split(text, ';')) {
    if (trim(rowText).empty()) {
      error = "prompt row " + std::to_string(rows.size()) + " has no token ids";
      return std::nullopt;
    }
    std::vector<int32_t> row;
    for (const std::string &idText : split(rowText, ',')) {
      std::optional<int32_t> id = parseTokenId(trim(idText));
      if (!id) {
        error = "'" + trim(idText) + "' in prompt row " +
                std::to_string(rows.size()) + " is not a token id";
        return std::nullopt;
      }
      row.push_back(*id);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string checkPrompts(const std::vector<std::vector<int32_t>> &rows,
                         int64_t vocabSize) {
  if (rows.empty())
    return "no prompt given";
  for (size_t row = 0; row < rows.size(); ++row) {
    if (rows[row].empty())
      return "prompt row " + std::to_string(row) + " has no token ids";
    for (int32_t id : rows[row])
      if (id < 0 || id >= vocabSize)
        return "token id " + std::to_string(id) + " in prompt row " +
               std::to_string(row) + " is outside the vocabulary of " +
               std::to_string(vocabSize);
  }
  return "";
}

} // namespace llamac
