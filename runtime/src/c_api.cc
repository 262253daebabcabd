// The C API (mmoe_c.h): a thin, exception-proof layer over the C++ API.
//
// Every entry point validates its pointers, forwards to mmoe::Model / mmoe::Session and turns
// a failed mmoe::Status into an mmoe_status plus a thread-local message. Nothing here may let
// a C++ exception escape into C (or JNI / Swift) callers, and the score path must stay
// allocation-free even when it fails, so the message lives in a fixed thread-local buffer.
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>

#include "mmoe/mmoe.h"
#include "mmoe/mmoe_c.h"

// The C handles. A session owns its mmoe::Session, which holds a shared_ptr to the model,
// so a model handle may be destroyed before the sessions created from it.
struct mmoe_model {
  std::shared_ptr<const mmoe::Model> model;
};
struct mmoe_session {
  std::unique_ptr<mmoe::Session> session;
};

namespace {

using mmoe::StatusCode;

// The C codes are documented as the C++ codes' values; casting between them relies on it.
#define MMOE_SAME_CODE(c, cpp) \
  static_assert(static_cast<int>(c) == static_cast<int>(StatusCode::cpp), #c " != StatusCode::" #cpp)
MMOE_SAME_CODE(MMOE_OK, kOk);
MMOE_SAME_CODE(MMOE_INVALID_ARGUMENT, kInvalidArgument);
MMOE_SAME_CODE(MMOE_IO_ERROR, kIoError);
MMOE_SAME_CODE(MMOE_NOT_A_MODEL, kNotAModel);
MMOE_SAME_CODE(MMOE_UNSUPPORTED_VERSION, kUnsupportedVersion);
MMOE_SAME_CODE(MMOE_CORRUPT_MODEL, kCorruptModel);
MMOE_SAME_CODE(MMOE_INVALID_MODEL, kInvalidModel);
MMOE_SAME_CODE(MMOE_BUFFER_TOO_SMALL, kBufferTooSmall);
MMOE_SAME_CODE(MMOE_UNAVAILABLE, kUnavailable);
MMOE_SAME_CODE(MMOE_OUT_OF_MEMORY, kOutOfMemory);
MMOE_SAME_CODE(MMOE_INTERNAL, kInternal);
MMOE_SAME_CODE(MMOE_CHECKSUM_MISMATCH, kChecksumMismatch);
MMOE_SAME_CODE(MMOE_UNSUPPORTED_FEATURE, kUnsupportedFeature);
#undef MMOE_SAME_CODE
static_assert(static_cast<int>(MMOE_BACKEND_AUTO) == static_cast<int>(mmoe::Backend::kAuto),
              "backend values");
static_assert(static_cast<int>(MMOE_BACKEND_REFERENCE) == static_cast<int>(mmoe::Backend::kReference),
              "backend values");
static_assert(static_cast<int>(MMOE_BACKEND_SIMD) == static_cast<int>(mmoe::Backend::kSimd),
              "backend values");
static_assert(static_cast<int>(MMOE_BACKEND_XNNPACK) == static_cast<int>(mmoe::Backend::kXnnpack),
              "backend values");

// Large enough for any mmoe::Status message (256) plus a function-name prefix.
constexpr size_t kMaxError = 512;
// Constant-initialised, so touching it never allocates or runs a constructor.
thread_local char t_last_error[kMaxError] = {0};

mmoe_status Fail(mmoe_status code, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

mmoe_status Fail(mmoe_status code, const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::vsnprintf(t_last_error, kMaxError, format, args);
  va_end(args);
  return code;
}

// Records a C++ failure verbatim: its message already says what and where. A plain copy
// rather than printf, because this runs on the (allocation-free) score path.
mmoe_status FromStatus(const mmoe::Status& s) {
  if (s.ok()) return MMOE_OK;
  std::strncpy(t_last_error, s.message(), kMaxError - 1);
  t_last_error[kMaxError - 1] = '\0';
  return static_cast<mmoe_status>(s.code());
}

// Runs `body`, converting any exception into a status: the C++ API reports failures by
// Status, but a standard-library call or a future change could still throw, and unwinding
// into a C frame is undefined behaviour.
template <typename Body>
mmoe_status Guarded(const char* function, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(MMOE_OUT_OF_MEMORY, "%s: out of memory", function);
  } catch (const std::exception& e) {
    return Fail(MMOE_INTERNAL, "%s: internal error: %s", function, e.what());
  } catch (...) {
    return Fail(MMOE_INTERNAL, "%s: internal error: unknown exception", function);
  }
}

// The int a C caller stored in an enum. C lets any int live in an enum object, but in C++
// loading a value outside the range of an enum without a fixed underlying type is undefined
// (UBSan flags it), so the bytes are copied rather than the enum read.
template <typename Enum>
int RawEnumValue(const Enum& value) {
  static_assert(sizeof(Enum) == sizeof(int), "C enums are int-sized on supported ABIs");
  int raw;
  std::memcpy(&raw, &value, sizeof raw);
  return raw;
}

mmoe_status NullArgument(const char* function, const char* argument) {
  return Fail(MMOE_INVALID_ARGUMENT, "%s: %s is NULL", function, argument);
}

// Wraps a loaded model in a handle; the handle allocation is the only thing that can fail.
mmoe_status Publish(std::shared_ptr<const mmoe::Model> loaded, mmoe_model** model) {
  std::unique_ptr<mmoe_model> handle(new mmoe_model());
  handle->model = std::move(loaded);
  *model = handle.release();
  return MMOE_OK;
}

template <typename Feature, typename ScoreFn>
mmoe_status Score(const char* function, mmoe_session* session, const Feature* features, size_t n_items,
                  float* scores, size_t scores_capacity, ScoreFn score) {
  if (!session) return NullArgument(function, "session");
  if (!features) return NullArgument(function, "features");
  if (!scores) return NullArgument(function, "scores");
  return Guarded(function, [&] {
    return FromStatus(score(*session->session, features, n_items, scores, scores_capacity));
  });
}

// mmoe_input is mmoe::InputView field for field, so a score call passes the caller's array
// through without copying (and without allocating).
static_assert(sizeof(mmoe_input) == sizeof(mmoe::InputView) &&
              alignof(mmoe_input) == alignof(mmoe::InputView));
static_assert(offsetof(mmoe_input, name) == offsetof(mmoe::InputView, name) &&
              offsetof(mmoe_input, data) == offsetof(mmoe::InputView, data) &&
              offsetof(mmoe_input, type) == offsetof(mmoe::InputView, type) &&
              offsetof(mmoe_input, size) == offsetof(mmoe::InputView, size) &&
              offsetof(mmoe_input, offsets) == offsetof(mmoe::InputView, offsets));
static_assert(sizeof(mmoe_data_type) == sizeof(mmoe::DataType));
static_assert(MMOE_FLOAT32 == static_cast<int>(mmoe::DataType::kFloat32) &&
              MMOE_INT32 == static_cast<int>(mmoe::DataType::kInt32) &&
              MMOE_INT64 == static_cast<int>(mmoe::DataType::kInt64));
static_assert(MMOE_INPUT_DENSE == static_cast<int>(mmoe::InputKind::kDense) &&
              MMOE_INPUT_IDS == static_cast<int>(mmoe::InputKind::kIds) &&
              MMOE_INPUT_BAG == static_cast<int>(mmoe::InputKind::kBag));

// The model's input `i`, or null (recording why) when the model is null or i out of range.
const mmoe::InputInfo* InputAt(const char* function, const mmoe_model* model, int i, mmoe::InputInfo* info) {
  if (!model) {
    NullArgument(function, "model");
    return nullptr;
  }
  if (i < 0 || i >= model->model->num_inputs()) {
    Fail(MMOE_INVALID_ARGUMENT, "%s: input %d is out of range (the model has %d)", function, i,
         model->model->num_inputs());
    return nullptr;
  }
  *info = model->model->input(i);
  return info;
}

}  // namespace

extern "C" {

const char* mmoe_version(void) { return mmoe::RuntimeVersion(); }

const char* mmoe_last_error(void) { return t_last_error; }

const char* mmoe_status_name(mmoe_status status) {
  return mmoe::StatusCodeName(static_cast<StatusCode>(RawEnumValue(status)));
}

mmoe_status mmoe_model_load_file(const char* path, mmoe_model** model) {
  constexpr const char* kFunction = "mmoe_model_load_file";
  if (!model) return NullArgument(kFunction, "model");
  *model = nullptr;
  if (!path) return NullArgument(kFunction, "path");
  return Guarded(kFunction, [&] {
    std::shared_ptr<const mmoe::Model> loaded;
    if (mmoe_status st = FromStatus(mmoe::Model::LoadFile(path, &loaded)); st != MMOE_OK) return st;
    return Publish(std::move(loaded), model);
  });
}

mmoe_status mmoe_model_load_buffer(const void* data, size_t size, int copy, mmoe_model** model) {
  constexpr const char* kFunction = "mmoe_model_load_buffer";
  if (!model) return NullArgument(kFunction, "model");
  *model = nullptr;
  if (!data) return NullArgument(kFunction, "data");
  return Guarded(kFunction, [&] {
    std::shared_ptr<const mmoe::Model> loaded;
    const mmoe::Status s = mmoe::Model::LoadBuffer(data, size, &loaded, copy != 0);
    if (mmoe_status st = FromStatus(s); st != MMOE_OK) return st;
    return Publish(std::move(loaded), model);
  });
}

void mmoe_model_destroy(mmoe_model* model) { delete model; }

// Accessors cannot return a status: a NULL model gives 0 / NULL and records why.
int mmoe_model_input_dim(const mmoe_model* model) {
  if (!model) {
    NullArgument("mmoe_model_input_dim", "model");
    return 0;
  }
  return model->model->input_dim();
}

int mmoe_model_num_inputs(const mmoe_model* model) {
  if (!model) {
    NullArgument("mmoe_model_num_inputs", "model");
    return 0;
  }
  return model->model->num_inputs();
}

const char* mmoe_model_input_name(const mmoe_model* model, int input) {
  mmoe::InputInfo info;
  const mmoe::InputInfo* i = InputAt("mmoe_model_input_name", model, input, &info);
  return i ? i->name : nullptr;
}

int mmoe_model_input_kind(const mmoe_model* model, int input) {
  mmoe::InputInfo info;
  const mmoe::InputInfo* i = InputAt("mmoe_model_input_kind", model, input, &info);
  return i ? static_cast<int>(i->kind) : -1;
}

int mmoe_model_input_width(const mmoe_model* model, int input) {
  mmoe::InputInfo info;
  const mmoe::InputInfo* i = InputAt("mmoe_model_input_width", model, input, &info);
  return i ? i->width : 0;
}

int64_t mmoe_model_input_rows(const mmoe_model* model, int input) {
  mmoe::InputInfo info;
  const mmoe::InputInfo* i = InputAt("mmoe_model_input_rows", model, input, &info);
  return i ? i->rows : 0;
}

int mmoe_model_input_index(const mmoe_model* model, const char* name) {
  if (!model) {
    NullArgument("mmoe_model_input_index", "model");
    return -1;
  }
  if (!name) {
    NullArgument("mmoe_model_input_index", "name");
    return -1;
  }
  return model->model->input_index(name);
}

const char* mmoe_model_packed_input_name(const mmoe_model* model) {
  if (!model) {
    NullArgument("mmoe_model_packed_input_name", "model");
    return nullptr;
  }
  return model->model->packed_input_name();
}

void mmoe_model_packed_columns(const mmoe_model* model, int input, int* first, int* count) {
  if (!model || !first || !count) {
    NullArgument("mmoe_model_packed_columns", !model ? "model" : !first ? "first" : "count");
    if (first) *first = -1;
    if (count) *count = -1;
    return;
  }
  *first = model->model->packed_first(input);
  *count = model->model->packed_count(input);
}

int mmoe_model_num_tasks(const mmoe_model* model) {
  if (!model) {
    NullArgument("mmoe_model_num_tasks", "model");
    return 0;
  }
  return model->model->num_tasks();
}

const char* mmoe_model_task_name(const mmoe_model* model, int task) {
  if (!model) {
    NullArgument("mmoe_model_task_name", "model");
    return nullptr;
  }
  const char* name = model->model->task_name(task);
  if (!name) {
    Fail(MMOE_INVALID_ARGUMENT, "mmoe_model_task_name: task %d is outside [0, %d)", task,
         model->model->num_tasks());
  }
  return name;
}

const char* mmoe_model_name(const mmoe_model* model) {
  if (!model) {
    NullArgument("mmoe_model_name", "model");
    return nullptr;
  }
  return model->model->name();
}

void mmoe_session_options_init(mmoe_session_options* options) {
  if (!options) {
    NullArgument("mmoe_session_options_init", "options");
    return;
  }
  // Taken from the C++ defaults so that the two APIs cannot drift apart.
  const mmoe::SessionOptions defaults;
  options->backend = static_cast<mmoe_backend>(defaults.backend);
  options->tile_items = defaults.tile_items;
  options->isa = defaults.isa;
  options->threads = defaults.threads;
}

mmoe_status mmoe_session_create(const mmoe_model* model, const mmoe_session_options* options,
                                mmoe_session** session) {
  constexpr const char* kFunction = "mmoe_session_create";
  if (!session) return NullArgument(kFunction, "session");
  *session = nullptr;
  if (!model) return NullArgument(kFunction, "model");
  return Guarded(kFunction, [&] {
    mmoe::SessionOptions cpp_options;
    if (options) {
      cpp_options.backend = static_cast<mmoe::Backend>(RawEnumValue(options->backend));
      cpp_options.tile_items = options->tile_items;
      cpp_options.isa = options->isa;
      cpp_options.threads = options->threads;
    }
    std::unique_ptr<mmoe_session> handle(new mmoe_session());
    if (mmoe_status st = FromStatus(mmoe::Session::Create(model->model, cpp_options, &handle->session));
        st != MMOE_OK) {
      return st;
    }
    *session = handle.release();
    return MMOE_OK;
  });
}

void mmoe_session_destroy(mmoe_session* session) { delete session; }

mmoe_status mmoe_session_score(mmoe_session* session, const float* features, size_t n_items, float* scores,
                               size_t scores_capacity) {
  return Score("mmoe_session_score", session, features, n_items, scores, scores_capacity,
               [](mmoe::Session& s, const float* x, size_t n, float* out, size_t capacity) {
                 return s.Score(x, n, out, capacity);
               });
}

mmoe_status mmoe_session_score_inputs(mmoe_session* session, const mmoe_input* inputs, size_t num_inputs,
                                      size_t n_items, float* scores, size_t scores_capacity) {
  constexpr const char* kFunction = "mmoe_session_score_inputs";
  if (!session) return NullArgument(kFunction, "session");
  if (!inputs) return NullArgument(kFunction, "inputs");
  if (!scores) return NullArgument(kFunction, "scores");
  return Guarded(kFunction, [&] {
    return FromStatus(session->session->Score(reinterpret_cast<const mmoe::InputView*>(inputs), num_inputs,
                                              n_items, scores, scores_capacity));
  });
}

mmoe_status mmoe_session_score_quantized(mmoe_session* session, const int8_t* features, size_t n_items,
                                         float* scores, size_t scores_capacity) {
  return Score("mmoe_session_score_quantized", session, features, n_items, scores, scores_capacity,
               [](mmoe::Session& s, const int8_t* x, size_t n, float* out, size_t capacity) {
                 return s.ScoreQuantized(x, n, out, capacity);
               });
}

size_t mmoe_session_arena_bytes(const mmoe_session* session) {
  if (!session) {
    NullArgument("mmoe_session_arena_bytes", "session");
    return 0;
  }
  return session->session->arena_bytes();
}

int mmoe_session_tile_items(const mmoe_session* session) {
  if (!session) {
    NullArgument("mmoe_session_tile_items", "session");
    return 0;
  }
  return session->session->tile_items();
}

}  // extern "C"
