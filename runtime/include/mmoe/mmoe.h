// mmoe-edge runtime, C++ API.
//
//   std::shared_ptr<const mmoe::Model> model;
//   mmoe::Status s = mmoe::Model::LoadFile("model.mmoe", &model);   // mmap + verify
//   std::unique_ptr<mmoe::Session> session;
//   s = mmoe::Session::Create(model, mmoe::SessionOptions(), &session);
//   s = session->Score(features, n_items, scores, n_items * model->num_tasks());
//
// A Model is immutable once loaded and may be shared by any number of threads; each thread
// scores through its own Session. Score calls never allocate, throw or lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "mmoe/status.h"

namespace mmoe {

struct ModelData;    // verified, prepared model (runtime/src/model_data.h)
class ProgramCache;  // the simd backend's plans of a model (runtime/src/plan/program_cache.h)

// Format version this runtime writes and reads (schema/mmoe.fbs, docs/model-format.md).
// 2.0 stores the model as a graph; 2.1 adds embedding tables (sparse features); 2.2 inputs
// packed in one float row (DeepCTR-Torch's X); 1.0 and 1.1 files (one MMoE-shaped network)
// still load.
constexpr int kFormatVersionMajor = 2;
constexpr int kFormatVersionMinor = 3;
const char* RuntimeVersion();  // e.g. "0.1.0"

// A model file of format 1.1 or later is the FlatBuffer followed by an 8-byte trailer: the
// CRC-32C of every byte before the trailer (little-endian), then the magic "MMCK".
constexpr size_t kChecksumTrailerSize = 8;
constexpr char kChecksumMagic[5] = "MMCK";
// CRC-32C (Castagnoli polynomial, as in iSCSI and ext4) of `size` bytes; with `previous` the
// CRC of the bytes before them, the CRC of both (Crc32c(b, m, Crc32c(a, n)) is that of a then b).
uint32_t Crc32c(const void* data, size_t size, uint32_t previous = 0);
// Fills `trailer` with the checksum trailer of `payload`: what the converter appends.
void WriteChecksumTrailer(const void* payload, size_t payload_size, uint8_t trailer[kChecksumTrailerSize]);

// A file with embedding tables (format 2.1) keeps them in segments after the FlatBuffer, from
// the first kSegmentAlign boundary at or after its end, and ends in a 16-byte segment footer
// before the trailer: the FlatBuffer's size (uint64), its CRC-32C (uint32), the magic "MMSG"
// (docs/model-format.md, "Segments"). The trailer still covers every byte before it.
constexpr size_t kSegmentAlign = 64;
constexpr size_t kSegmentFooterSize = 16;
constexpr char kSegmentMagic[5] = "MMSG";
// Fills `footer` for a FlatBuffer of `size` bytes.
void WriteSegmentFooter(const void* flatbuffer, size_t size, uint8_t footer[kSegmentFooterSize]);

struct LoadOptions {
  // Check the CRC-32C trailer (and require it in files of format 1.1 or later). Only tests
  // that show the verifier alone copes with damaged files turn this off.
  bool verify_checksum = true;
  // Also check the CRC-32C of every embedding table, reading all of it (by default a table's
  // bytes are only read, and paged in, row by row as items look them up, so that loading does
  // not grow with the tables; an id is always checked against the table's rows).
  bool verify_tables = false;
};

// What a caller passes for one model input.
enum class InputKind : int {
  kDense = 0,  // `width` float32 features per item
  kIds = 1,    // one id per item (a categorical feature), int32 or int64
  kBag = 2,    // any number of ids per item (a multi-valued feature), pooled by the model
};
enum class DataType : int { kFloat32 = 0, kInt32 = 1, kInt64 = 2 };

struct InputInfo {
  const char* name = nullptr;
  InputKind kind = InputKind::kDense;
  int width = 0;     // dense: floats per item; ids and bag: 1
  int64_t rows = 0;  // ids and bag: the valid ids are [0, rows) (the embedding table's rows)
};

// One input's values for the n_items of a Score call:
//   dense: `data` holds n_items x width float32, row-major (`size` = n_items * width);
//   ids:   `data` holds n_items ids (`type` int32 or int64);
//   bag:   `data` holds every item's ids back to back (`size` in all), item i's being
//          [offsets[i], offsets[i + 1]): n_items + 1 non-decreasing offsets from 0 to `size`.
// With `name` set, views are matched to the model's inputs by name, in any order; without, by
// position.
struct InputView {
  const char* name = nullptr;
  const void* data = nullptr;
  DataType type = DataType::kFloat32;
  size_t size = 0;                   // elements at `data`
  const int64_t* offsets = nullptr;  // bags only
};

class Model {
 public:
  // Maps the file read-only and verifies it. The mapping lives as long as the Model, and the
  // file must stay unchanged as long: a write to it changes what the reference backend reads,
  // and truncating it makes reads fault (SIGBUS), as with any shared mapping. Where the file
  // may change under the app, read it and LoadBuffer it with copy == true.
  static Status LoadFile(const char* path, std::shared_ptr<const Model>* model);
  // Verifies a model held in memory. With copy == false the caller keeps `data` alive and
  // unchanged for the Model's lifetime (zero-copy); otherwise the bytes are copied.
  static Status LoadBuffer(const void* data, size_t size, std::shared_ptr<const Model>* model,
                           bool copy = true);
  // The same with options.
  static Status LoadFile(const char* path, const LoadOptions& options, std::shared_ptr<const Model>* model);
  static Status LoadBuffer(const void* data, size_t size, bool copy, const LoadOptions& options,
                           std::shared_ptr<const Model>* model);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const char* name() const;
  // The model's inputs, in the order Score takes them by position.
  int num_inputs() const;
  InputInfo input(int i) const;             // a default InputInfo when out of range
  int input_index(const char* name) const;  // -1 if no input has that name
  // Floats per item that Score(features) takes: the width of a model's one dense input, or of
  // the row its inputs are packed in (packed_input_name()); 0 when inputs go one by one.
  int input_dim() const;
  // The name of the row that packs every input side by side (format 2.2, e.g. DeepCTR-Torch's
  // "X": ids as floats), or nullptr. Input i sits in columns [packed_first(i), + packed_count(i)).
  const char* packed_input_name() const;
  int packed_first(int i) const;  // -1 when out of range or not packed
  int packed_count(int i) const;
  int num_tasks() const;
  const char* task_name(int task) const;  // nullptr when out of range
  // Parameters (dense layers' weights and biases) and multiply-accumulates per scored item.
  int64_t parameter_count() const;
  int64_t macs_per_item() const;
  // The verified FlatBuffer (schema/mmoe.fbs) for tools that print it, without the trailer.
  const void* flatbuffer() const;
  size_t flatbuffer_size() const;
  // The format version in the file, and whether its checksum trailer was checked.
  int format_version_major() const;
  int format_version_minor() const;
  bool checksum_verified() const;

  const ModelData& data() const { return *data_; }
  const ProgramCache& programs() const { return *programs_; }

 private:
  explicit Model(std::unique_ptr<ModelData> data);
  std::unique_ptr<ModelData> data_;
  std::unique_ptr<ProgramCache> programs_;
};

enum class Backend : int {
  kAuto = 0,       // the fastest available on this CPU
  kReference = 1,  // scalar specification kernels, one layer at a time
  kSimd = 2,       // the project's fused SIMD kernels, ISA chosen from the CPU's features
  kXnnpack = 3,    // XNNPACK's int8 operators (builds with MMOE_WITH_XNNPACK)
};
const char* BackendName(Backend backend);
// "auto", "reference", "simd", "xnnpack" -> backend; false if the name is unknown.
bool ParseBackend(const char* name, Backend* backend);
// Whether this build and CPU can run `backend`.
bool BackendAvailable(Backend backend);

struct SessionOptions {
  Backend backend = Backend::kAuto;
  // Items processed together; the arena holds one tile's activations. Any n_items can be
  // scored; larger tiles amortise per-layer overhead and weight loads, smaller ones keep the
  // activations in L1. 0: the backend's choice (64, or 256 for the AVX-512 VNNI kernels),
  // halved while one thread's arena would exceed 512 KB; Session::tile_items() tells it.
  int tile_items = 0;
  // Instruction set for Backend::kSimd (and for the layers kXnnpack leaves to the project's
  // kernels): empty picks the best the CPU supports; otherwise a
  // name from SimdIsaNames() (e.g. "avx2"), refused with kUnavailable if the CPU lacks it.
  const char* isa = nullptr;
  // Threads splitting a Score call's tiles (1: the calling thread only). With more than one
  // the session owns worker threads and Score waits for them.
  int threads = 1;
};

// Instruction sets the simd backend has kernels for in this build, best first, that this
// CPU supports, e.g. {"avx512vnni", "avxvnni", "avx2", "generic"}; nullptr-terminated.
const char* const* SimdIsaNames();

class Session {
 public:
  // Plans and allocates the session's arena. Keeps `model` alive.
  static Status Create(std::shared_ptr<const Model> model, const SessionOptions& options,
                       std::unique_ptr<Session>* session);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // features: n_items rows of input_dim float32 (row-major). NaN features count as 0.
  // scores: n_items rows of num_tasks float32 (probabilities for sigmoid tasks).
  // scores_capacity is the number of floats `scores` can hold. For models whose one input is
  // dense.
  Status Score(const float* features, size_t n_items, float* scores, size_t scores_capacity);
  // Any model: one view per model input (by position, or by name). Every view is checked
  // (sizes, types, offsets, and ids against the tables unless the model gives a default row
  // for bad ids) before any item is scored; an error names the input and the item.
  Status Score(const InputView* inputs, size_t num_inputs, size_t n_items, float* scores,
               size_t scores_capacity);
  // The same from features already quantized with the model's input quantization (a model
  // whose one input is int8; one with an int16 input, format 2.3, gives INVALID_ARGUMENT).
  Status ScoreQuantized(const int8_t* features, size_t n_items, float* scores, size_t scores_capacity);

  // Quantizes float features exactly as Score does (n_items * input_dim values; int8 inputs).
  Status QuantizeInput(const float* features, size_t n_items, int8_t* quantized,
                       size_t quantized_capacity) const;

  Backend backend() const;
  // The kernels in use, e.g. "reference", "avx512vnni".
  const char* isa() const;
  size_t arena_bytes() const;
  // Items per tile: SessionOptions::tile_items, or the backend's choice when that was 0.
  int tile_items() const;
  const Model& model() const { return *model_; }

  struct Impl;

 private:
  Session(std::shared_ptr<const Model> model, std::unique_ptr<Impl> impl);
  static Status CreateImpl(std::shared_ptr<const Model> model, const SessionOptions& options,
                           std::unique_ptr<Session>* session);
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mmoe
