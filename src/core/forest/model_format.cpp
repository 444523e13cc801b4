#include "core/forest/model_format.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/forest/parallel.h"
#include "core/hashes.h"
#include "core/le_bytes.h"

namespace ltv::forest {
namespace {

constexpr char kMagic[5] = {'L', 'T', 'V', 'R', 'F'};
constexpr uint32_t kMaxTrees = 10000;
constexpr uint32_t kMaxNameBytes = 1 << 16;
// Model bytes from which Serialize writes trees on threads (below, starting them costs more).
constexpr size_t kParallelBytes = 16 << 20;

[[noreturn]] void Corrupt(const std::string& what) {
  throw Error(ErrorKind::kDataCorrupted, "model is corrupt: " + what, {},
              "Retrain the model, or load the bytea that ltv.rf_train produced unchanged.");
}

class Writer {
 public:
  void Bytes(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void I32(int32_t v) { Le(static_cast<uint32_t>(v), 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void F64(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    Le(bits, 8);
  }
  void String(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    Bytes(s.data(), s.size());
  }
  std::vector<uint8_t>& out() { return out_; }
  // Grows the output by n bytes and returns where they start, for bulk writes with Put.
  uint8_t* Extend(size_t n) {
    const size_t at = out_.size();
    out_.resize(at + n);
    return out_.data() + at;
  }
  static uint8_t* Put(uint8_t* p, uint64_t v, int n) { return StoreLe(p, v, n); }

 private:
  void Le(uint64_t v, int n) { Put(Extend(n), v, n); }
  std::vector<uint8_t> out_;
};

void ShortModel(const char* what, uint64_t needed, size_t, size_t remaining) {
  Corrupt(std::string(what ? what : "a field") + " needs " + std::to_string(needed) +
          " bytes but only " + std::to_string(remaining) + " remain (truncated model?)");
}

class Reader : public LeReader {
 public:
  Reader(const uint8_t* data, size_t size) : LeReader(data, size, ShortModel) {}
  std::string String(const char* what, uint32_t max_bytes) {
    const uint32_t n = U32(what);
    if (n > max_bytes) Corrupt(std::string(what) + " is " + std::to_string(n) + " bytes long");
    const uint8_t* p = Take(n, what);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
};

void WriteSummary(Writer& w, const Forest& forest) {
  const TrainingSummary& s = forest.summary();
  w.U64(s.n_rows);
  w.U64(s.oob_rows);
  w.F64(s.oob_accuracy);
  w.F64(s.oob_macro_f1);
  w.F64(s.oob_macro_f1_tuned);
  w.F64(s.oob_log_loss);
  const size_t n_classes = forest.n_classes();
  for (size_t c = 0; c < n_classes; ++c) w.U64(c < s.class_counts.size() ? s.class_counts[c] : 0);
  for (size_t c = 0; c < n_classes; ++c)
    w.F64(c < s.class_weights.size() ? s.class_weights[c] : 1.0);
  for (size_t c = 0; c < n_classes; ++c)
    w.F64(c < s.tuned_weights.size() ? s.tuned_weights[c] : 1.0);
  for (size_t f = 0; f < static_cast<size_t>(forest.n_features()); ++f)
    w.F64(f < s.impurity_importance.size() ? s.impurity_importance[f] : 0.0);
}

// A score that is either "not available" (NaN) or in [lo, hi].
void CheckScore(double v, double lo, double hi, const char* what) {
  if (std::isnan(v)) return;
  if (!(v >= lo && v <= hi)) Corrupt(std::string(what) + " is out of range");
}

TrainingSummary ReadSummary(Reader& r, uint32_t n_classes, uint32_t n_features) {
  TrainingSummary s;
  s.n_rows = r.U64("row count");
  s.oob_rows = r.U64("OOB row count");
  if (s.oob_rows > s.n_rows) Corrupt("more OOB rows than training rows");
  s.oob_accuracy = r.F64("OOB accuracy");
  s.oob_macro_f1 = r.F64("OOB macro F1");
  s.oob_macro_f1_tuned = r.F64("tuned OOB macro F1");
  s.oob_log_loss = r.F64("OOB log loss");
  CheckScore(s.oob_accuracy, 0, 1, "OOB accuracy");
  CheckScore(s.oob_macro_f1, 0, 1, "OOB macro F1");
  CheckScore(s.oob_macro_f1_tuned, 0, 1, "tuned OOB macro F1");
  CheckScore(s.oob_log_loss, 0, 1e6, "OOB log loss");
  // Three per-class arrays and one per-feature array of 8-byte values.
  r.Need((3 * uint64_t{n_classes} + n_features) * 8, "training summary");
  uint64_t total = 0;
  for (uint32_t c = 0; c < n_classes; ++c) {
    const uint64_t count = r.U64("class count");
    if (count > s.n_rows || total + count > s.n_rows) Corrupt("class counts exceed the row count");
    total += count;
    s.class_counts.push_back(count);
  }
  if (total != s.n_rows) Corrupt("class counts do not add up to the row count");
  for (auto* weights : {&s.class_weights, &s.tuned_weights}) {
    for (uint32_t c = 0; c < n_classes; ++c) {
      const double w = r.F64("class weight");
      if (!std::isfinite(w) || !(w > 0))
        Corrupt((weights == &s.class_weights ? "class weight " : "tuned weight ") +
                std::to_string(c) + " is not a finite positive number");
      weights->push_back(w);
    }
  }
  double sum = 0;
  for (uint32_t f = 0; f < n_features; ++f) {
    const double v = r.F64("importance");
    if (!std::isfinite(v) || v < 0 || v > 1)
      Corrupt("importance of feature " + std::to_string(f) + " is not in [0, 1]");
    sum += v;
    s.impurity_importance.push_back(v);
  }
  if (sum != 0 && std::fabs(sum - 1) > 1e-6) Corrupt("feature importances do not sum to 1");
  return s;
}

Tree ReadTree(Reader& r, uint32_t tree_number, uint32_t n_classes, uint32_t n_features) {
  const std::string where = "tree " + std::to_string(tree_number);
  const uint32_t n_nodes = r.U32("node count");
  const uint32_t n_leaves = r.U32("leaf count");
  if (n_nodes == 0) Corrupt(where + " has no nodes");
  if (uint64_t{n_nodes} != 2 * uint64_t{n_leaves} - 1)
    Corrupt(where + " has " + std::to_string(n_nodes) + " nodes and " + std::to_string(n_leaves) +
            " leaves; a binary tree has one node less than twice its leaves");
  const uint64_t node_bytes = uint64_t{n_nodes} * 16;
  const uint64_t leaf_bytes = uint64_t{n_leaves} * n_classes * 8;
  r.Need(node_bytes + leaf_bytes, (where + " nodes and leaves").c_str());

  Tree tree;
  tree.nodes.resize(n_nodes);
  tree.leaf_number.assign(n_nodes, 0);
  const uint8_t* p = r.Take(node_bytes, "nodes");
  std::vector<uint8_t> parents(n_nodes, 0);
  std::vector<uint8_t> leaf_seen(n_leaves, 0);
  for (uint32_t i = 0; i < n_nodes; ++i, p += 16) {
    const double threshold = LoadLeF64(p);
    const int32_t feature = static_cast<int32_t>(uint32_t{p[8]} | uint32_t{p[9]} << 8 |
                                                 uint32_t{p[10]} << 16 | uint32_t{p[11]} << 24);
    const uint32_t index =
        uint32_t{p[12]} | uint32_t{p[13]} << 8 | uint32_t{p[14]} << 16 | uint32_t{p[15]} << 24;
    // Built only for a message: a string per node took most of the time of loading a model.
    auto node_where = [&] { return "node " + std::to_string(i) + " of " + where; };
    if (feature == -1) {
      if (index >= n_leaves)
        Corrupt(node_where() + " is leaf " + std::to_string(index) + " but the tree has " +
                std::to_string(n_leaves) + " leaves");
      if (leaf_seen[index]++) Corrupt(node_where() + " reuses leaf " + std::to_string(index));
      tree.MakeLeaf(i, index);
      continue;
    }
    if (feature < 0 || static_cast<uint32_t>(feature) >= n_features)
      Corrupt(node_where() + " splits on feature " + std::to_string(feature) + " (the model has " +
              std::to_string(n_features) + " features)");
    if (!std::isfinite(threshold)) Corrupt(node_where() + " has a non-finite threshold");
    // Children after their parent and each node with one parent: together this rules out
    // cycles and shared subtrees, so every walk from the root ends at a leaf.
    if (index <= i || uint64_t{index} + 1 >= n_nodes)
      Corrupt(node_where() + " points to child " + std::to_string(index) + " (tree has " +
              std::to_string(n_nodes) + " nodes; children must follow their parent)");
    if (parents[index]++ || parents[index + 1]++)
      Corrupt(node_where() + " points to child " + std::to_string(index) +
              ", which already has a parent");
    tree.MakeSplit(i, feature, threshold, index);
  }
  for (uint32_t i = 1; i < n_nodes; ++i)
    if (parents[i] != 1) Corrupt("node " + std::to_string(i) + " of " + where + " is unreachable");

  tree.leaf_proba.resize(uint64_t{n_leaves} * n_classes);
  p = r.Take(leaf_bytes, "leaf probabilities");
  for (uint32_t leaf = 0; leaf < n_leaves; ++leaf) {
    double sum = 0;
    for (uint32_t c = 0; c < n_classes; ++c, p += 8) {
      const double v = LoadLeF64(p);
      if (!std::isfinite(v) || v < 0 || v > 1)
        Corrupt("leaf " + std::to_string(leaf) + " of " + where + " has probability " +
                std::to_string(v) + " for class " + std::to_string(c));
      tree.leaf_proba[uint64_t{leaf} * n_classes + c] = v;
      sum += v;
    }
    if (std::fabs(sum - 1) > 1e-6)
      Corrupt("leaf " + std::to_string(leaf) + " of " + where + " has probabilities summing to " +
              std::to_string(sum));
  }
  tree.ComputeDepth();
  return tree;
}

}  // namespace

namespace {

uint64_t ChecksumOf(uint16_t version, const uint8_t* data, size_t size) {
  return version == 1 ? Fnv1a64(data, size) : Checksum64(data, size);
}

}  // namespace

void Reseal(std::vector<uint8_t>& blob) {
  if (blob.size() < kChecksumBytes) return;
  const size_t body = blob.size() - kChecksumBytes;
  const uint16_t version =
      blob.size() >= 7 ? static_cast<uint16_t>(blob[5] | blob[6] << 8) : kFormatVersion;
  const uint64_t h = ChecksumOf(version, blob.data(), body);
  for (size_t i = 0; i < 8; ++i) blob[body + i] = static_cast<uint8_t>(h >> (8 * i));
}

void SerializeInto(const Forest& forest, const std::function<uint8_t*(size_t)>& allocate,
                   int threads, CancelCheck& cancel) {
  // Everything before the trees, then the exact size and each tree's offset, so the trees
  // go straight to their final place.
  Writer w;
  w.Bytes(kMagic, sizeof kMagic);
  w.U16(kFormatVersion);
  w.U32(static_cast<uint32_t>(forest.n_features()));
  for (const std::string& name : forest.feature_names()) w.String(name);
  w.U32(static_cast<uint32_t>(forest.n_classes()));
  w.String(ToJson(forest.params()).Dump(json::NumberStyle::kSeventeenDigits));
  WriteSummary(w, forest);
  w.U32(static_cast<uint32_t>(forest.trees().size()));
  const std::vector<uint8_t>& head = w.out();
  const std::vector<Tree>& trees = forest.trees();
  std::vector<size_t> offsets(trees.size() + 1);
  offsets[0] = head.size();
  for (size_t t = 0; t < trees.size(); ++t)
    offsets[t + 1] = offsets[t] + 8 + 16 * trees[t].nodes.size() + 8 * trees[t].leaf_proba.size();
  const size_t body = offsets.back();
  uint8_t* const out = allocate(body + kChecksumBytes);
  std::memcpy(out, head.data(), head.size());
  // Trees on threads for large models: most of the time then goes to first-touch page
  // faults of the output (hundreds of MB for large forests), which threads share.
  const size_t n_classes = forest.n_classes();
  ParallelForShortTasks(
      trees.size(), body >= kParallelBytes ? threads : 1, cancel,
      [&](size_t t, int, const std::atomic<bool>&) {
        const Tree& tree = trees[t];
        uint8_t* p = out + offsets[t];
        p = Writer::Put(p, static_cast<uint32_t>(tree.nodes.size()), 4);
        p = Writer::Put(p, static_cast<uint32_t>(tree.leaf_proba.size() / n_classes), 4);
        // On disk a leaf is feature -1 with its leaf number, which the loader can check
        // without trusting self-links. Branch-free (half of the nodes are leaves, in no
        // predictable order): all-ones `leaf` selects the leaf's fields.
        for (uint32_t i = 0; i < tree.nodes.size(); ++i) {
          const Node& node = tree.nodes[i];
          const uint32_t leaf = 0u - static_cast<uint32_t>(node.index == i);
          uint64_t threshold;
          std::memcpy(&threshold, &node.threshold, 8);
          p = Writer::Put(p, threshold & ~(uint64_t{leaf} << 32 | leaf), 8);  // +0.0 for leaves
          p = Writer::Put(p, static_cast<uint32_t>(node.feature) | leaf, 4);  // -1 for leaves
          p = Writer::Put(p, node.index ^ ((node.index ^ tree.leaf_number[i]) & leaf), 4);
        }
        for (double d : tree.leaf_proba) {
          uint64_t bits;
          std::memcpy(&bits, &d, 8);
          p = Writer::Put(p, bits, 8);
        }
      });
  Writer::Put(out + body, Checksum64(out, body), 8);
}

std::vector<uint8_t> Serialize(const Forest& forest) {
  std::vector<uint8_t> out;
  SerializeInto(forest, [&](size_t size) {
    out.resize(size);
    return out.data();
  });
  return out;
}

Forest Deserialize(const uint8_t* data, size_t size) {
  if (data == nullptr || size < sizeof kMagic + 2 + kChecksumBytes)
    Corrupt("only " + std::to_string(size) + " bytes, too short for a forest model");
  if (std::memcmp(data, kMagic, sizeof kMagic) != 0)
    Corrupt("it does not start with \"LTVRF\" (not a retail_ltv forest model)");
  Reader r(data, size - kChecksumBytes);
  r.Take(sizeof kMagic, "magic");
  const uint16_t version = r.U16("format version");
  if (version < kOldestReadableVersion || version > kFormatVersion)
    Corrupt("format version " + std::to_string(version) + " is not supported (this build reads " +
            std::to_string(kOldestReadableVersion) + " to " + std::to_string(kFormatVersion) + ")");
  uint64_t stored_sum = 0;
  for (size_t i = 0; i < 8; ++i)
    stored_sum |= static_cast<uint64_t>(data[size - kChecksumBytes + i]) << (8 * i);
  if (stored_sum != ChecksumOf(version, data, size - kChecksumBytes))
    Corrupt("checksum mismatch (the bytes were changed or cut)");

  const uint32_t n_features = r.U32("feature count");
  if (n_features == 0) Corrupt("it has no features");
  r.Need(uint64_t{n_features} * 4, "feature names");
  std::vector<std::string> names;
  names.reserve(n_features);
  for (uint32_t f = 0; f < n_features; ++f) {
    names.push_back(r.String("feature name", kMaxNameBytes));
    // Names reach jsonb (ltv.rf_info) and messages: invalid UTF-8 there makes a value that
    // breaks a dump's restore. The message never quotes the bytes.
    if (!IsValidUtf8(names.back()))
      Corrupt("feature name " + std::to_string(f) + " is not valid UTF-8");
  }

  const uint32_t n_classes = r.U32("class count");
  if (n_classes == 0 || n_classes > static_cast<uint32_t>(kMaxClasses))
    Corrupt("class count " + std::to_string(n_classes) + " is not in 1.." +
            std::to_string(kMaxClasses));

  const std::string params_text = r.String("parameters", kMaxNameBytes);
  if (!IsValidUtf8(params_text)) Corrupt("stored parameters are not valid UTF-8");
  ForestParams params;
  try {
    params = ParseForestParams(params_text);
  } catch (const Error& e) {
    // e.what() may quote the stored text: at most an excerpt of it (see params.cpp Shown).
    std::string what = e.what();
    size_t cut = std::min<size_t>(what.size(), 200);
    while (cut < what.size() && cut > 0 && (static_cast<unsigned char>(what[cut]) & 0xC0) == 0x80)
      --cut;
    Corrupt("stored parameters are invalid: " + what.substr(0, cut));
  }
  if (params.n_classes != static_cast<int>(n_classes))
    Corrupt("stored parameters say " + std::to_string(params.n_classes) + " classes, header says " +
            std::to_string(n_classes));
  if (params.class_weight == ClassWeightMode::kExplicit && params.class_weights.size() != n_classes)
    Corrupt("stored class weights do not match the class count");
  if (!params.feature_names.empty()) Corrupt("stored parameters repeat the feature names");

  TrainingSummary summary = ReadSummary(r, n_classes, n_features);

  const uint32_t n_trees = r.U32("tree count");
  if (n_trees == 0 || n_trees > kMaxTrees)
    Corrupt("tree count " + std::to_string(n_trees) + " is not in 1.." + std::to_string(kMaxTrees));
  if (static_cast<int>(n_trees) != params.n_trees)
    Corrupt("it has " + std::to_string(n_trees) + " trees but its parameters say " +
            std::to_string(params.n_trees));
  // The smallest tree (one leaf) takes 8 + 16 + 8 * n_classes bytes.
  r.Need(uint64_t{n_trees} * (24 + 8 * uint64_t{n_classes}), "trees");
  std::vector<Tree> trees;
  trees.reserve(n_trees);
  for (uint32_t t = 0; t < n_trees; ++t) trees.push_back(ReadTree(r, t, n_classes, n_features));
  if (r.remaining() != 0)
    Corrupt(std::to_string(r.remaining()) + " unexpected bytes after the last tree");
  return Forest(std::move(params), std::move(names), static_cast<int>(n_classes), std::move(trees),
                std::move(summary));
}

json::Value Info(const Forest& forest) {
  json::Value info = json::Value::MakeObject();
  info.Set("format_version", static_cast<int>(kFormatVersion));
  info.Set("algorithm", "random_forest");
  info.Set("params", ToJson(forest.params()));
  info.Set("n_features", forest.n_features());
  json::Value names = json::Value::MakeArray();
  for (const auto& n : forest.feature_names()) names.Push(n);
  info.Set("feature_names", std::move(names));
  info.Set("n_classes", forest.n_classes());
  info.Set("n_trees", static_cast<int64_t>(forest.trees().size()));

  int64_t total_nodes = 0, total_leaves = 0;
  int64_t min_nodes = INT64_MAX, max_nodes = 0;
  int min_depth = INT32_MAX, max_depth = 0;
  double depth_sum = 0;
  for (const Tree& tree : forest.trees()) {
    const int64_t nodes = static_cast<int64_t>(tree.nodes.size());
    total_nodes += nodes;
    total_leaves += static_cast<int64_t>(tree.n_leaves());
    min_nodes = std::min(min_nodes, nodes);
    max_nodes = std::max(max_nodes, nodes);
    const int depth = tree.depth;
    min_depth = std::min(min_depth, depth);
    max_depth = std::max(max_depth, depth);
    depth_sum += depth;
  }
  const double n_trees = std::max<double>(1, static_cast<double>(forest.trees().size()));
  json::Value nodes = json::Value::MakeObject();
  nodes.Set("total", total_nodes);
  nodes.Set("leaves", total_leaves);
  nodes.Set("min", forest.trees().empty() ? 0 : min_nodes);
  nodes.Set("mean", static_cast<double>(total_nodes) / n_trees);
  nodes.Set("max", max_nodes);
  info.Set("nodes", std::move(nodes));
  json::Value depth = json::Value::MakeObject();
  depth.Set("min", forest.trees().empty() ? 0 : min_depth);
  depth.Set("mean", depth_sum / n_trees);
  depth.Set("max", max_depth);
  info.Set("depth", std::move(depth));

  const TrainingSummary& s = forest.summary();
  json::Value training = json::Value::MakeObject();
  training.Set("n_rows", static_cast<int64_t>(s.n_rows));
  json::Value counts = json::Value::MakeArray(), weights = json::Value::MakeArray(),
              tuned = json::Value::MakeArray();
  for (uint64_t c : s.class_counts) counts.Push(static_cast<int64_t>(c));
  for (double w : s.class_weights) weights.Push(w);
  for (double w : s.tuned_weights) tuned.Push(w);
  training.Set("class_counts", std::move(counts));
  training.Set("class_weights", std::move(weights));
  training.Set("oob_rows", static_cast<int64_t>(s.oob_rows));
  training.Set("oob_accuracy", s.oob_accuracy);  // NaN (no OOB rows) dumps as null
  training.Set("oob_macro_f1", s.oob_macro_f1);
  training.Set("oob_macro_f1_tuned", s.oob_macro_f1_tuned);
  training.Set("oob_log_loss", s.oob_log_loss);
  training.Set("tuned_weights", std::move(tuned));
  info.Set("training", std::move(training));

  std::vector<size_t> order(forest.n_features());
  for (size_t f = 0; f < order.size(); ++f) order[f] = f;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return s.impurity_importance.at(a) > s.impurity_importance.at(b);
  });
  json::Value importance = json::Value::MakeArray();
  for (size_t f : order) {
    json::Value item = json::Value::MakeObject();
    item.Set("feature", forest.feature_names()[f]);
    item.Set("importance", s.impurity_importance[f]);
    importance.Push(std::move(item));
  }
  info.Set("feature_importance", std::move(importance));
  return info;
}

}  // namespace ltv::forest
