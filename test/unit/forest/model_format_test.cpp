#include "core/forest/model_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"
#include "support/forest_batch.h"
#include "support/synthetic.h"
#include "core/forest/train.h"
#include "core/hashes.h"

using namespace ltv::forest;
using ltv::Checksum64;
using ltv::Fnv1a64;
using Blob = std::vector<uint8_t>;

namespace {

Forest SmallForest(const std::string& params = R"({"n_trees": 3, "max_depth": 4})") {
  const SyntheticData d = MakeSynthetic(300, 3, 3, 3, 5);
  TrainingSet set(3);
  set.AddRows(d.values.data(), d.labels.data(), d.n_rows);
  ltv::json::Value p = ltv::json::Parse(params);
  p.Set("feature_names",
        ltv::json::Value(ltv::json::Value::Array{"recency", "frequency", "monetary"}));
  return Train(set, ParseForestParams(p), ltv::CancelCheck::None());
}

uint32_t GetU32(const Blob& b, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{b[at + i]} << (8 * i);
  return v;
}
void PutU32(Blob& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutF64(Blob& b, size_t at, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<uint8_t>(bits >> (8 * i));
}

// Offsets of the fields of a serialized model, found by walking the documented layout.
struct Layout {
  size_t n_features, n_classes, params, summary, importances, n_trees, tree0, nodes0, leaves0;
  uint32_t classes, tree0_nodes, tree0_leaves;
};

Layout Walk(const Blob& b) {
  Layout l{};
  l.n_features = 7;
  size_t at = 11;
  for (uint32_t f = 0; f < GetU32(b, l.n_features); ++f) at += 4 + GetU32(b, at);
  l.n_classes = at;
  l.classes = GetU32(b, at);
  l.params = at + 4;
  l.summary = l.params + 4 + GetU32(b, l.params);
  l.importances = l.summary + 16 + 32 + 3 * 8 * l.classes;
  l.n_trees = l.importances + 8 * GetU32(b, l.n_features);
  l.tree0 = l.n_trees + 4;
  l.tree0_nodes = GetU32(b, l.tree0);
  l.tree0_leaves = GetU32(b, l.tree0 + 4);
  l.nodes0 = l.tree0 + 8;
  l.leaves0 = l.nodes0 + 16 * l.tree0_nodes;
  return l;
}

// Expects kDataCorrupted whose message contains `fragment`.
void ExpectCorrupt(const Blob& b, const std::string& fragment) {
  try {
    Deserialize(b.data(), b.size());
    FAIL() << "accepted a model that should say: " << fragment;
  } catch (const ltv::Error& e) {
    EXPECT_EQ(e.kind(), ltv::ErrorKind::kDataCorrupted);
    EXPECT_EQ(std::string(e.what()).rfind("model is corrupt: ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// First internal node of tree 0.
size_t FirstSplit(const Blob& b, const Layout& l) {
  for (uint32_t i = 0; i < l.tree0_nodes; ++i)
    if (static_cast<int32_t>(GetU32(b, l.nodes0 + 16 * i + 8)) != -1) return i;
  return SIZE_MAX;
}

}  // namespace

TEST(ModelFormat, ThreadsWriteTheSameBytesIntoHostMemory) {
  // Over 16 MB, so that trees are written on threads.
  const SyntheticData d = MakeSynthetic(40000, 6, 4, 4, 3);
  TrainingSet set(6);
  set.AddRows(d.values.data(), d.labels.data(), d.n_rows);
  const Forest forest =
      Train(set, ParseForestParams(std::string(R"({"n_trees": 48})")), ltv::CancelCheck::None());
  const Blob one = Serialize(forest);
  ASSERT_GT(one.size(), size_t{16} << 20);
  Blob host;
  int allocations = 0;
  SerializeInto(
      forest,
      [&](size_t size) {
        ++allocations;
        host.assign(size, 0xAB);  // what the host hands over is not zeroed
        return host.data();
      },
      4);
  EXPECT_EQ(allocations, 1);
  EXPECT_EQ(host, one);
  EXPECT_EQ(Serialize(Deserialize(host.data(), host.size())), one);
}

TEST(ModelFormat, RoundTripGivesIdenticalModelAndPredictions) {
  const SyntheticData d = MakeSynthetic(2000, 6, 4, 4, 3);
  TrainingSet set(6);
  set.AddRows(d.values.data(), d.labels.data(), d.n_rows);
  const Forest forest =
      Train(set, ParseForestParams(std::string(R"({"n_trees": 10, "decision": "tuned"})")),
            ltv::CancelCheck::None());
  const Blob blob = Serialize(forest);
  const Forest loaded = Deserialize(blob.data(), blob.size());
  EXPECT_EQ(Serialize(loaded), blob);
  const RowMatrix a = PredictProbaBatch(forest, d.values.data(), d.n_rows, 6);
  const RowMatrix b = PredictProbaBatch(loaded, d.values.data(), d.n_rows, 6);
  EXPECT_TRUE((a.array() == b.array()).all());
  for (size_t r = 0; r < 100; ++r)
    EXPECT_EQ(forest.Predict(d.values.data() + r * 6, 6),
              loaded.Predict(d.values.data() + r * 6, 6));
  EXPECT_EQ(loaded.params().decision, DecisionRule::kTuned);
  EXPECT_EQ(loaded.summary().tuned_weights, forest.summary().tuned_weights);
  EXPECT_EQ(loaded.summary().oob_macro_f1, forest.summary().oob_macro_f1);
  EXPECT_EQ(loaded.feature_names(), forest.feature_names());
}

TEST(ModelFormat, InfoDescribesTheModel) {
  const Forest forest = SmallForest();
  const ltv::json::Value info = Info(forest);
  EXPECT_EQ(info.Find("n_trees")->as_number(), 3);
  EXPECT_EQ(info.Find("n_classes")->as_number(), 3);
  EXPECT_EQ(info.Find("feature_names")->as_array()[2].as_string(), "monetary");
  EXPECT_LE(info.Find("depth")->Find("max")->as_number(), 4);
  EXPECT_GE(info.Find("depth")->Find("max")->as_number(),
            info.Find("depth")->Find("min")->as_number());
  EXPECT_GT(info.Find("nodes")->Find("total")->as_number(), 3);
  EXPECT_EQ(info.Find("params")->Find("max_depth")->as_number(), 4);
  EXPECT_TRUE(info.Find("training")->Find("oob_macro_f1")->is_number());
  EXPECT_TRUE(info.Find("training")->Find("oob_macro_f1_tuned")->is_number());
  const auto& imp = info.Find("feature_importance")->as_array();
  ASSERT_EQ(imp.size(), 3u);
  EXPECT_GE(imp[0].Find("importance")->as_number(), imp[1].Find("importance")->as_number());
  // Info of a loaded model is the same text.
  const Blob blob = Serialize(forest);
  EXPECT_EQ(Info(Deserialize(blob.data(), blob.size())).Dump(), info.Dump());
}

TEST(ModelFormat, WritesVersion2AndStillReadsVersion1) {
  const Forest forest = SmallForest();
  const Blob v2 = Serialize(forest);
  EXPECT_EQ(v2[5] | v2[6] << 8, 2);
  EXPECT_EQ(kFormatVersion, 2);
  // Version 1 is the same layout sealed with FNV-1a 64.
  Blob v1 = v2;
  v1[5] = 1;
  const size_t body = v1.size() - kChecksumBytes;
  const uint64_t fnv = Fnv1a64(v1.data(), body);
  for (size_t i = 0; i < 8; ++i) v1[body + i] = static_cast<uint8_t>(fnv >> (8 * i));
  EXPECT_EQ(Serialize(Deserialize(v1.data(), v1.size())), v2);
  // A version 1 blob sealed with the new checksum, or the reverse, is corrupt.
  Blob mixed = v1;
  const uint64_t sum = Checksum64(mixed.data(), body);
  for (size_t i = 0; i < 8; ++i) mixed[body + i] = static_cast<uint8_t>(sum >> (8 * i));
  ExpectCorrupt(mixed, "checksum");
  mixed = v2;
  for (size_t i = 0; i < 8; ++i) mixed[body + i] = static_cast<uint8_t>(fnv >> (8 * i));
  ExpectCorrupt(mixed, "checksum");
  // Reseal follows the blob's version.
  Blob resealed = v1;
  resealed.back() ^= 0x10;
  Reseal(resealed);
  EXPECT_EQ(resealed, v1);
}

TEST(ModelFormat, Checksum64KeepsItsValues) {
  std::vector<uint8_t> data(77);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 37 + 11);
  // Stored version-2 models carry these sums: values from an independent Python rendering of
  // the algorithm (lanes of 8-byte little-endian words, then the tail bytes and the length).
  EXPECT_EQ(Checksum64(data.data(), 0), 0x26e4c217143a0f45ULL);
  EXPECT_EQ(Checksum64(data.data(), 31), 0x24a82cb2799e55ccULL);
  EXPECT_EQ(Checksum64(data.data(), 77), 0x1895ea44ff22cc03ULL);
}

TEST(ModelFormat, Checksum64SeesEveryByteAndTheLength) {
  std::vector<uint8_t> data(77);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 37 + 11);
  for (size_t size : {0, 1, 8, 31, 32, 33, 64, 77}) {
    const uint64_t base = Checksum64(data.data(), size);
    for (size_t i = 0; i < size; ++i)
      for (uint8_t bit : {0x01, 0x80}) {
        std::vector<uint8_t> changed(data.begin(), data.begin() + size);
        changed[i] ^= bit;
        EXPECT_NE(Checksum64(changed.data(), size), base) << "size " << size << " byte " << i;
      }
    // Zero bytes appended change it too.
    std::vector<uint8_t> longer(data.begin(), data.begin() + size);
    longer.push_back(0);
    EXPECT_NE(Checksum64(longer.data(), longer.size()), base) << "size " << size;
  }
  // Two words swapped between lanes change it.
  std::vector<uint8_t> swapped(data.begin(), data.begin() + 64);
  std::swap_ranges(swapped.begin(), swapped.begin() + 8, swapped.begin() + 8);
  EXPECT_NE(Checksum64(swapped.data(), 64), Checksum64(data.data(), 64));
}

TEST(ModelFormat, RejectsBadMagicVersionAndChecksum) {
  const Blob good = Serialize(SmallForest());
  Blob b = good;
  b[0] = 'X';
  ExpectCorrupt(b, "LTVRF");
  for (uint8_t version : {0, 3, 0xFF}) {
    b = good;
    b[5] = version;  // version 0, 3 or 255: outside the versions this build reads
    Reseal(b);
    ExpectCorrupt(b, "format version " + std::to_string(version) + " is not supported");
  }
  b = good;
  b[good.size() / 2] ^= 0x40;
  ExpectCorrupt(b, "checksum");
  b = good;
  b.back() ^= 1;
  ExpectCorrupt(b, "checksum");
  ExpectCorrupt(Blob{}, "too short");
  Blob extra = good;
  extra.insert(extra.end() - 8, 3, 0);
  Reseal(extra);
  ExpectCorrupt(extra, "unexpected bytes");
}

TEST(ModelFormat, RejectsEveryTruncation) {
  const Blob good = Serialize(SmallForest());
  for (size_t len = 0; len < good.size(); ++len) {
    Blob cut(good.begin(), good.begin() + len);
    // As cut (checksum fails or too short) ...
    EXPECT_THROW(Deserialize(cut.data(), cut.size()), ltv::Error) << len;
    // ... and with a valid checksum over the cut body, so every length check is reached.
    if (len >= 15 && len != good.size() - 8) {  // the full body sealed again is the model
      Blob sealed(good.begin(), good.begin() + len);
      sealed.resize(len + 8);
      Reseal(sealed);
      try {
        Deserialize(sealed.data(), sealed.size());
        ADD_FAILURE() << "accepted a model cut at " << len;
      } catch (const ltv::Error& e) {
        EXPECT_EQ(e.kind(), ltv::ErrorKind::kDataCorrupted) << len;
      }
    }
  }
}

TEST(ModelFormat, RejectsAbsurdCountsWithoutAllocating) {
  const Blob good = Serialize(SmallForest());
  const Layout l = Walk(good);
  Blob b = good;
  PutU32(b, l.n_features, 0xFFFFFFFFu);
  Reseal(b);
  ExpectCorrupt(b, "feature names needs");
  b = good;
  PutU32(b, l.n_features + 4, 0x7FFFFFFFu);  // first name length
  Reseal(b);
  ExpectCorrupt(b, "feature name");
  b = good;
  PutU32(b, l.n_classes, 1u << 30);
  Reseal(b);
  ExpectCorrupt(b, "class count");
  b = good;
  PutU32(b, l.params, 0xFFFFFFF0u);
  Reseal(b);
  ExpectCorrupt(b, "parameters");
  b = good;
  PutU32(b, l.n_trees, 0xFFFFFFFFu);
  Reseal(b);
  ExpectCorrupt(b, "tree count");
  b = good;
  PutU32(b, l.n_trees, 9999);
  Reseal(b);
  ExpectCorrupt(b, "trees");
  b = good;
  PutU32(b, l.tree0, 0xFFFFFFFFu);
  PutU32(b, l.tree0 + 4, 0x80000000u);
  Reseal(b);
  ExpectCorrupt(b, "tree 0 nodes and leaves needs");
  b = good;
  PutU32(b, l.tree0, 0);
  Reseal(b);
  ExpectCorrupt(b, "tree 0 has no nodes");
  b = good;
  PutU32(b, l.tree0 + 4, l.tree0_leaves + 1);
  Reseal(b);
  ExpectCorrupt(b, "a binary tree has");
}

TEST(ModelFormat, RejectsBadFeatureIndexAndThreshold) {
  const Blob good = Serialize(SmallForest());
  const Layout l = Walk(good);
  const size_t split = FirstSplit(good, l);
  ASSERT_NE(split, SIZE_MAX);
  Blob b = good;
  PutU32(b, l.nodes0 + 16 * split + 8, 3);  // the model has features 0..2
  Reseal(b);
  ExpectCorrupt(b, "splits on feature 3 (the model has 3 features)");
  b = good;
  PutU32(b, l.nodes0 + 16 * split + 8, static_cast<uint32_t>(-7));
  Reseal(b);
  ExpectCorrupt(b, "splits on feature -7");
  for (double bad : {std::nan(""), double{INFINITY}, -double{INFINITY}}) {
    b = good;
    PutF64(b, l.nodes0 + 16 * split, bad);
    Reseal(b);
    ExpectCorrupt(b, "non-finite threshold");
  }
}

TEST(ModelFormat, RejectsBrokenTreeLinks) {
  const Blob good = Serialize(SmallForest());
  const Layout l = Walk(good);
  const size_t split = FirstSplit(good, l);
  ASSERT_EQ(split, 0u);  // the root splits
  const size_t root_child = l.nodes0 + 12;
  Blob b = good;
  PutU32(b, root_child, 9999);
  Reseal(b);
  ExpectCorrupt(b, "node 0 of tree 0 points to child 9999 (tree has " +
                       std::to_string(l.tree0_nodes) + " nodes");
  b = good;
  PutU32(b, root_child, 0);  // self loop
  Reseal(b);
  ExpectCorrupt(b, "children must follow their parent");
  // A later node pointing back to the root's children: a cycle/shared subtree.
  for (uint32_t i = 1; i < l.tree0_nodes; ++i) {
    if (static_cast<int32_t>(GetU32(good, l.nodes0 + 16 * i + 8)) == -1) continue;
    b = good;
    PutU32(b, l.nodes0 + 16 * i + 12, i - 1 > 0 ? i - 1 : 1);
    Reseal(b);
    EXPECT_THROW(Deserialize(b.data(), b.size()), ltv::Error);
    break;
  }
  // Two internal nodes sharing children.
  b = good;
  uint32_t second = 0;
  for (uint32_t i = 1; i < l.tree0_nodes && !second; ++i)
    if (static_cast<int32_t>(GetU32(good, l.nodes0 + 16 * i + 8)) != -1) second = i;
  ASSERT_NE(second, 0u);
  const uint32_t their_child = GetU32(good, l.nodes0 + 16 * second + 12);
  // Make the root's children those of `second` when that keeps the order valid.
  PutU32(b, root_child, their_child);
  Reseal(b);
  ExpectCorrupt(b, "already has a parent");
  // A leaf whose number is out of range, and a leaf number used twice.
  uint32_t leaf_node = 0;
  for (uint32_t i = 0; i < l.tree0_nodes && !leaf_node; ++i)
    if (static_cast<int32_t>(GetU32(good, l.nodes0 + 16 * i + 8)) == -1) leaf_node = i;
  b = good;
  PutU32(b, l.nodes0 + 16 * leaf_node + 12, l.tree0_leaves);
  Reseal(b);
  ExpectCorrupt(b, "leaves");
  b = good;
  const uint32_t used = GetU32(good, l.nodes0 + 16 * leaf_node + 12);
  for (uint32_t i = leaf_node + 1; i < l.tree0_nodes; ++i) {
    if (static_cast<int32_t>(GetU32(good, l.nodes0 + 16 * i + 8)) != -1) continue;
    PutU32(b, l.nodes0 + 16 * i + 12, used);
    break;
  }
  Reseal(b);
  ExpectCorrupt(b, "reuses leaf");
}

TEST(ModelFormat, RejectsBadLeafProbabilities) {
  const Blob good = Serialize(SmallForest());
  const Layout l = Walk(good);
  Blob b = good;
  PutF64(b, l.leaves0, 0.5);  // leaf 0 no longer sums to 1 (unless it already was 0.5)
  PutF64(b, l.leaves0 + 8, 0.1);
  PutF64(b, l.leaves0 + 16, 0.1);
  Reseal(b);
  ExpectCorrupt(b, "summing to");
  b = good;
  PutF64(b, l.leaves0, std::nan(""));
  Reseal(b);
  ExpectCorrupt(b, "has probability");
  b = good;
  PutF64(b, l.leaves0, -0.5);
  PutF64(b, l.leaves0 + 8, 1.5);
  PutF64(b, l.leaves0 + 16, 0.0);
  Reseal(b);
  ExpectCorrupt(b, "has probability");
}

TEST(ModelFormat, RejectsInconsistentHeaderAndSummary) {
  const Blob good = Serialize(SmallForest());
  const Layout l = Walk(good);
  Blob b = good;
  PutU32(b, l.n_classes, 4);  // header says 4, parameters say 3
  Reseal(b);
  ExpectCorrupt(b, "classes");
  b = good;
  PutF64(b, l.summary + 16, 1.5);  // OOB accuracy
  Reseal(b);
  ExpectCorrupt(b, "OOB accuracy");
  b = good;
  PutF64(b, l.importances, 0.9);  // importances no longer sum to 1
  PutF64(b, l.importances + 8, 0.9);
  Reseal(b);
  ExpectCorrupt(b, "importance");
  b = good;
  PutF64(b, l.summary + 48 + 8 * 3, -1.0);  // class weight 0
  Reseal(b);
  ExpectCorrupt(b, "class weight 0");
  b = good;
  b[l.params + 4] = '[';  // parameters no longer a JSON object
  Reseal(b);
  ExpectCorrupt(b, "stored parameters");
}

TEST(ModelFormat, PredictRejectsWrongWidthAndNaN) {
  const Forest forest = SmallForest();
  const double row[3] = {1, 2, 3};
  double proba[3];
  EXPECT_THROW(forest.PredictProba(row, 2, proba), ltv::Error);
  const double nan_row[3] = {1, std::nan(""), 3};
  try {
    forest.PredictProba(nan_row, 3, proba);
    FAIL();
  } catch (const ltv::Error& e) {
    EXPECT_EQ(e.kind(), ltv::ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("frequency"), std::string::npos);
  }
  const double inf_row[3] = {INFINITY, -INFINITY, 0};
  EXPECT_NO_THROW(forest.PredictProba(inf_row, 3, proba));
}
