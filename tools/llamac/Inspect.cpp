//===- Inspect.cpp - llamac inspect: an artifact in words -----------------===//
#include "tools/llamac/Inspect.h"

#include "llvm/Support/FormatVariadic.h"
#include <map>
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace llamac {
namespace {

std::string formatBytes(int64_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = bytes;
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return formatv("{0:F1} {1}", value, units[unit]).str();
}

int64_t integer(const json::Object *object, StringRef key) {
  if (!object)
    return 0;
  return object->getInteger(key).value_or(0);
}

std::string text(const json::Object *object, StringRef key) {
  if (!object)
    return "?";
  if (std::optional<StringRef> value = object->getString(key))
    return value->str();
  return "none";
}

/// ", N of them int4 in groups of G" for the table's quantized entries.
std::string describeInt4(const json::Array *table) {
  std::map<int64_t, int64_t> tensorsByGroupSize;
  for (const json::Value &entry : table ? *table : json::Array()) {
    const json::Object *object = entry.getAsObject();
    if (const json::Object *quantization =
            object ? object->getObject("quantization") : nullptr)
      ++tensorsByGroupSize[integer(quantization, "group_size")];
  }
  std::string text;
  for (auto [groupSize, tensors] : tensorsByGroupSize)
    text += formatv(", {0} of them int4 in groups of {1}", tensors, groupSize).str();
  return text;
}

void printModel(raw_ostream &os, const json::Object &manifest) {
  const json::Object *config = manifest.getObject("config");
  int64_t heads = integer(config, "num_attention_heads");
  int64_t kvHeads = integer(config, "num_key_value_heads");
  std::string attention =
      heads == kvHeads ? "multi-head"
                       : formatv("grouped-query, {0} query heads per kv head",
                                 kvHeads ? heads / kvHeads : 0)
                             .str();
  std::string architecture = "?";
  if (const json::Array *architectures = config ? config->getArray("architectures") : nullptr)
    if (!architectures->empty() && architectures->front().getAsString())
      architecture = architectures->front().getAsString()->str();
  os << formatv("model:      {0}: {1} layers, hidden {2}, {3} heads / {4} kv heads "
                "({5}), head_dim {6}, ffn {7}, vocab {8}\n",
                architecture, integer(config, "num_hidden_layers"),
                integer(config, "hidden_size"), heads, kvHeads, attention,
                integer(config, "head_dim"), integer(config, "intermediate_size"),
                integer(config, "vocab_size"));
  const json::Object *weights = manifest.getObject("weights");
  const json::Array *table = weights ? weights->getArray("table") : nullptr;
  std::optional<StringRef> source = weights ? weights->getString("source") : std::nullopt;
  std::string origin =
      source ? formatv("{0} checkpoint from {1}", text(weights, "format"), *source).str()
             : "no checkpoint (compiled from a config: run it with --weights, or bench "
               "--random-weights)";
  os << formatv("weights:    {0} tensors{1}, {2}\n", table ? table->size() : 0,
                describeInt4(table), origin);
}

void printTarget(raw_ostream &os, const json::Object &manifest) {
  os << formatv("target:     {0} ({1}), -O{2}, compute {3}",
                text(&manifest, "target"), text(&manifest, "chip"),
                integer(&manifest, "opt_level"), text(&manifest, "compute_dtype"));
  if (std::optional<StringRef> cores = manifest.getString("prefill_tensor_cores"))
    os << ", prefill tensor cores " << *cores;
  std::optional<StringRef> tile = manifest.getString("gemm_tile");
  if (tile)
    os << ", GEMM tile " << *tile;
  if (std::optional<StringRef> narrow = manifest.getString("narrow_gemm_tile");
      narrow && narrow != tile)
    os << " (o_proj, down_proj " << *narrow << ")";
  if (std::optional<bool> folded = manifest.getBoolean("fold_decode_norms"))
    os << ", decode norm folding " << (*folded ? "on" : "off");
  if (std::optional<bool> folded = manifest.getBoolean("fold_prefill_rope"))
    os << ", prefill rope folding " << (*folded ? "on" : "off");
  if (std::optional<int64_t> blocks = manifest.getInteger("matvec_min_blocks"))
    os << ", decode split-K " << (*blocks ? "below " + std::to_string(*blocks) + " blocks"
                                          : std::string("off"));
  if (std::optional<int64_t> lanes = manifest.getInteger("int4_lanes"))
    os << ", int4 " << *lanes << " codes a load";
  os << "\n";
  os << formatv("limits:     batch {0}, context {1} tokens\n",
                integer(&manifest, "max_batch"), integer(&manifest, "max_seq"));
}

void printFunctions(raw_ostream &os, const json::Object &manifest) {
  const json::Array *functions = manifest.getArray("functions");
  if (!functions)
    return;
  os << "functions:\n";
  for (const json::Value &value : *functions) {
    const json::Object *function = value.getAsObject();
    if (!function)
      continue;
    os << formatv("  {0}: {1} kernels, {2} per layer; a layer is", text(function, "name"),
                  integer(function, "kernels"), integer(function, "kernels_per_layer"));
    if (const json::Object *ops = function->getObject("layer_ops")) {
      std::map<std::string, int64_t> sorted;
      for (const auto &[name, count] : *ops)
        sorted[name.str()] = count.getAsInteger().value_or(0);
      for (const auto &[name, count] : sorted)
        os << formatv(" {0} x{1}", name, count);
    }
    os << "\n";
  }
}

void printMemory(raw_ostream &os, const json::Object &manifest) {
  const json::Object *plan = manifest.getObject("memory_plan");
  os << formatv("memory:     weights {0}, KV cache {1}, scratch at most {2}\n",
                formatBytes(integer(plan, "weight_bytes")),
                formatBytes(integer(plan, "kv_cache_bytes")),
                formatBytes(integer(plan, "scratch_bytes")));
  os << formatv("tokenizer:  {0}\n", text(&manifest, "tokenizer"));
}

} // namespace

int runInspect(int argc, char **argv) {
  if (argc != 3) {
    errs() << "usage: llamac inspect OUT.lmc\n";
    return 2;
  }
  SmallString<256> path(argv[2]);
  sys::path::append(path, "manifest.json");
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer = MemoryBuffer::getFile(path);
  if (!buffer) {
    errs() << "llamac: error: " << path << ": " << buffer.getError().message() << "\n";
    return 1;
  }
  Expected<json::Value> parsed = json::parse((*buffer)->getBuffer());
  if (!parsed) {
    errs() << "llamac: error: " << path << ": " << toString(parsed.takeError()) << "\n";
    return 1;
  }
  const json::Object *manifest = parsed->getAsObject();
  if (!manifest || manifest->getString("format") != "llamac-artifact") {
    errs() << "llamac: error: " << path << ": not a llamac artifact manifest\n";
    return 1;
  }
  outs() << formatv("artifact:   {0} (format version {1}, {2})\n", argv[2],
                    integer(manifest, "format_version"), text(manifest, "producer"));
  printModel(outs(), *manifest);
  printTarget(outs(), *manifest);
  printFunctions(outs(), *manifest);
  printMemory(outs(), *manifest);
  return 0;
}

} // namespace llamac
