// mmoe::Model: loading (file mapping or caller's buffer), verification and accessors.
#include <cstring>
#include <new>

#include "mmoe/mmoe.h"
#include "mmoe_generated.h"
#include "model_bytes.h"
#include "model_data.h"
#include "plan/program_cache.h"

namespace mmoe {
namespace {

// Preparation builds small tables (std::vector); running out of memory there is reported,
// not thrown, like every other failure.
Status Finish(std::unique_ptr<ModelBytes> bytes, const LoadOptions& options,
              std::shared_ptr<const Model>* model, Model* (*make)(std::unique_ptr<ModelData>)) {
  try {
    std::unique_ptr<ModelData> data(new ModelData());
    if (Status s = VerifyAndPrepare(std::move(bytes), options, data.get()); !s.ok()) return s;
    model->reset(make(std::move(data)));
    return Status::Ok();
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory, "out of memory preparing the model");
  }
}

}  // namespace

const char* RuntimeVersion() { return "0.1.0"; }

Model::Model(std::unique_ptr<ModelData> data) : data_(std::move(data)), programs_(new ProgramCache()) {}
Model::~Model() = default;

Status Model::LoadFile(const char* path, std::shared_ptr<const Model>* model) {
  return LoadFile(path, LoadOptions(), model);
}

Status Model::LoadFile(const char* path, const LoadOptions& options, std::shared_ptr<const Model>* model) {
  if (!path || !model) return Status::Error(StatusCode::kInvalidArgument, "LoadFile: null argument");
  std::unique_ptr<ModelBytes> bytes;
  if (Status s = MapFile(path, &bytes); !s.ok()) return s;
  Status s = Finish(std::move(bytes), options, model,
                    [](std::unique_ptr<ModelData> d) { return new Model(std::move(d)); });
  if (!s.ok()) {
    // Prefix the path so that messages about the contents say which file they are about.
    Status named = Status::Error(s.code(), "%s: %s", path, s.message());
    return named;
  }
  return s;
}

Status Model::LoadBuffer(const void* data, size_t size, std::shared_ptr<const Model>* model, bool copy) {
  return LoadBuffer(data, size, copy, LoadOptions(), model);
}

Status Model::LoadBuffer(const void* data, size_t size, bool copy, const LoadOptions& options,
                         std::shared_ptr<const Model>* model) {
  if (!data || !model) return Status::Error(StatusCode::kInvalidArgument, "LoadBuffer: null argument");
  if (size < 8) {
    return Status::Error(StatusCode::kNotAModel, "buffer of %zu bytes is too small to be a model", size);
  }
  std::unique_ptr<ModelBytes> bytes;
  Status s = copy ? CopyBuffer(data, size, &bytes) : BorrowBuffer(data, size, &bytes);
  if (!s.ok()) return s;
  return Finish(std::move(bytes), options, model,
                [](std::unique_ptr<ModelData> d) { return new Model(std::move(d)); });
}

const char* Model::name() const { return data_->model->name() ? data_->model->name()->c_str() : ""; }
int Model::input_dim() const { return data_->input_dim; }
const char* Model::packed_input_name() const {
  return data_->graph.packed.present() ? data_->graph.packed.name.c_str() : nullptr;
}
namespace {
// Input i's entry of a packed row's column list, -1 when out of range or not packed.
int PackedColumn(const graph::PackedInput& p, const std::vector<int32_t>& column, int i) {
  return p.present() && i >= 0 && static_cast<size_t>(i) < column.size() ? column[static_cast<size_t>(i)]
                                                                         : -1;
}
}  // namespace
int Model::packed_first(int i) const {
  return PackedColumn(data_->graph.packed, data_->graph.packed.first, i);
}
int Model::packed_count(int i) const {
  return PackedColumn(data_->graph.packed, data_->graph.packed.count, i);
}
int Model::num_inputs() const { return static_cast<int>(data_->graph.inputs.size()); }
InputInfo Model::input(int i) const {
  InputInfo info;
  if (i < 0 || i >= num_inputs()) return info;
  const graph::Input& input = data_->graph.inputs[static_cast<size_t>(i)];
  const InputSpec& spec = data_->inputs[static_cast<size_t>(i)];
  info.name = input.name.c_str();
  info.kind = static_cast<InputKind>(input.kind);  // the same values
  info.width = spec.width;
  info.rows = static_cast<int64_t>(spec.rows);
  return info;
}
int Model::input_index(const char* name) const {
  for (int i = 0; name && i < num_inputs(); ++i)
    if (data_->graph.inputs[static_cast<size_t>(i)].name == name) return i;
  return -1;
}
int Model::num_tasks() const { return data_->num_tasks(); }
const char* Model::task_name(int task) const {
  return task >= 0 && task < num_tasks() ? data_->graph.outputs[task].name.c_str() : nullptr;
}
int64_t Model::parameter_count() const { return data_->parameters; }
int64_t Model::macs_per_item() const { return data_->macs; }
const void* Model::flatbuffer() const { return data_->bytes->data(); }
size_t Model::flatbuffer_size() const { return data_->flatbuffer_size; }
int Model::format_version_major() const { return data_->format_major; }
int Model::format_version_minor() const { return data_->format_minor; }
bool Model::checksum_verified() const { return data_->checksum_verified; }

const char* BackendName(Backend backend) {
  switch (backend) {
    case Backend::kAuto:
      return "auto";
    case Backend::kReference:
      return "reference";
    case Backend::kSimd:
      return "simd";
    case Backend::kXnnpack:
      return "xnnpack";
  }
  return "unknown";
}

bool ParseBackend(const char* name, Backend* backend) {
  if (!name || !backend) return false;
  for (Backend b : {Backend::kAuto, Backend::kReference, Backend::kSimd, Backend::kXnnpack}) {
    if (std::strcmp(name, BackendName(b)) == 0) {
      *backend = b;
      return true;
    }
  }
  return false;
}

}  // namespace mmoe
