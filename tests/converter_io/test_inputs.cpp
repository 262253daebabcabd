// A model's inputs from files: .npz (stored, deflated, zip64) and .csv with a header.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "io_test_support.h"
#include "mmoe/converter/float_model.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/io.h"

using namespace mmoe::converter;
using mmoe::converter::testing::ErrorOf;
using mmoe::graph::InputKind;

namespace {

std::string Data(const std::string& name) { return std::string(MMOE_SOURCE_DIR) + "/tests/data/" + name; }

// The inputs of tests/data/sparse_inputs.*: user and item ids, a bag of 4 tags, 3 dense floats.
mmoe::graph::Graph SparseInputs() {
  GraphBuilder b("inputs");
  b.IdsInput("user", InputKind::kIds);
  b.IdsInput("item", InputKind::kIds);
  b.IdsInput("tags", InputKind::kBag);
  b.Input("dense", 3, {"age", "price", "hour"});
  return b.model().graph;
}

// numpy wrote these (tests/data/sparse_inputs.csv lists the same rows).
const std::vector<int64_t> kUser = {47, 31, 34, 44, 28, 38};
const std::vector<int64_t> kTags0 = {27, 0, 14, 24};

void CheckSparseInputs(const Inputs& in) {
  REQUIRE(in.rows == 6);
  REQUIRE(in.arrays.size() == 4);
  CHECK(in.arrays[0].name == "user");
  CHECK(in.arrays[0].ids == kUser);
  CHECK(in.arrays[1].ids[0] == 83);
  const InputArray& tags = in.arrays[2];
  CHECK(tags.kind == InputKind::kBag);
  CHECK(std::vector<int64_t>(tags.ids.begin(), tags.ids.begin() + 4) == kTags0);
  CHECK(tags.offsets == std::vector<int64_t>{0, 4, 8, 12, 16, 20, 24});
  CHECK(in.arrays[3].floats.cols == 3);
  CHECK(in.arrays[3].floats.row(0)[0] == 0.622f);
  CHECK(in.arrays[3].floats.row(5)[2] == 0.201f);
}

}  // namespace

TEST_CASE("inputs: .npz (stored and deflated) and .csv with a header give the same arrays") {
  const mmoe::graph::Graph g = SparseInputs();
  const Inputs stored = ReadNpzInputs(ReadFileBytes(Data("sparse_inputs.npz")), "stored", g);
  CheckSparseInputs(stored);
  const Inputs csv = ParseCsvInputs(ReadFileBytes(Data("sparse_inputs.csv")), "csv", g);
  CheckSparseInputs(csv);
  CHECK(csv.arrays[3].floats.data == stored.arrays[3].floats.data);
#if MMOE_HAVE_ZLIB
  const Inputs deflated = ReadNpzInputs(ReadFileBytes(Data("sparse_inputs_compressed.npz")), "deflated", g);
  CheckSparseInputs(deflated);
#endif
  // OpenInputs picks the reader by extension.
  const auto source = OpenInputs(Data("sparse_inputs.npz"), g);
  CHECK(source->rows() == 6);
  CHECK(source->Read(2, 3).arrays[0].ids == std::vector<int64_t>{34, 44, 28});
  CHECK(source->Read(2, 3).arrays[2].offsets == std::vector<int64_t>{0, 4, 8, 12});
}

TEST_CASE("inputs: a zip64 archive (sizes and offsets in zip64 fields) reads") {
  GraphBuilder b("zip64");
  b.IdsInput("user", InputKind::kIds);
  b.Input("dense", 1);
  const Inputs in = ReadNpzInputs(ReadFileBytes(Data("zip64.npz")), "zip64", b.model().graph);
  CHECK(in.arrays[0].ids == std::vector<int64_t>{1, 2, 3});
  CHECK(in.arrays[1].floats.data == std::vector<float>{0.5f, 1.5f, 2.5f});
}

TEST_CASE("inputs: files that do not fit the model are refused naming the array, line or column") {
  const mmoe::graph::Graph g = SparseInputs();
  const std::string npz = ReadFileBytes(Data("sparse_inputs.npz"));
  GraphBuilder other("other");
  other.IdsInput("user", InputKind::kIds);
  other.IdsInput("city", InputKind::kIds);
  CHECK(ErrorOf([&] {
          ReadNpzInputs(npz, "x.npz", other.model().graph);
        }).find("x.npz: no array 'city'; the model's inputs are 'user' (ids), 'city' (ids)") !=
        std::string::npos);
  GraphBuilder fewer("fewer");
  fewer.IdsInput("user", InputKind::kIds);
  CHECK(ErrorOf([&] {
          ReadNpzInputs(npz, "x.npz", fewer.model().graph);
        }).find("array 'dense' is not an input of the model") != std::string::npos);
  GraphBuilder floats("floats");
  floats.IdsInput("dense", InputKind::kIds);
  CHECK(ErrorOf([&] {
          ReadNpzInputs(npz, "x.npz", floats.model().graph);
        }).find("x.npz: 'dense' holds floats; a sparse input's ids are integers") != std::string::npos);
  GraphBuilder wide("wide");
  wide.Input("dense", 4);
  CHECK(ErrorOf([&] {
          ReadNpzInputs(npz, "x.npz", wide.model().graph);
        }).find("'dense' has shape [6, 3]; the model reads 4 floats per row") != std::string::npos);
  // A damaged member fails its CRC.
  std::string damaged = npz;
  damaged[damaged.find("NUMPY") + 130] ^= 0x20;  // in user.npy's data
  CHECK(ErrorOf([&] {
          ReadNpzInputs(damaged, "d.npz", g);
        }).find("fails its CRC-32: the archive is damaged") != std::string::npos);
  CHECK(ErrorOf([&] { ReadNpzInputs(npz.substr(0, npz.size() - 30), "t.npz", g); }).find("t.npz: ") !=
        std::string::npos);
  CHECK(ErrorOf([&] {
          ReadNpzInputs("not a zip at all, just words", "w.npz", g);
        }).find("not a zip archive") != std::string::npos);

  const std::string csv = ReadFileBytes(Data("sparse_inputs.csv"));
  const auto csv_error = [&](std::string text) { return ErrorOf([&] { ParseCsvInputs(text, "c.csv", g); }); };
  CHECK(csv_error("user,item,tags,age,price\n1,2,3,4,5\n")
            .find("c.csv: line 1 has no column 'hour' (input 'dense')") != std::string::npos);
  CHECK(csv_error("user,item,tags,age,price,hour,x\n1,2,3,4,5,6,7\n").find("column 'x' is not an input") !=
        std::string::npos);
  CHECK(csv_error("user,item,tags,age,price,hour\n1.5,2,3,4,5,6\n")
            .find("c.csv: line 2, column 'user': '1.5' is not an integer id") != std::string::npos);
  CHECK(csv_error("user,item,tags,age,price,hour\n1 2,2,3,4,5,6\n")
            .find("holds 2 ids; this input takes one per row") != std::string::npos);
  CHECK(csv_error("user,item,tags,age,price,hour\n1,2,3,4,five,6\n")
            .find("line 2, column 'price': 'five' is not a finite number") != std::string::npos);
  CHECK(csv_error("user,item,tags,age,price,hour\n1,2,3,4,5\n").find("line 2 has 5 fields, the header 6") !=
        std::string::npos);
  // An empty bag is an empty cell.
  const Inputs empty = ParseCsvInputs("user,item,tags,age,price,hour\n1,2,,4,5,6\n", "e.csv", g);
  CHECK(empty.arrays[2].offsets == std::vector<int64_t>{0, 0});
  // A model with sparse inputs takes no .npy.
  CHECK(ErrorOf([&] { OpenInputs("x.npy", g); }).find("give them as .npz") != std::string::npos);
}
