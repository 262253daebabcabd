/* mmoe-edge runtime, C API (for C apps, JNI and Swift).
 *
 *   mmoe_model* model = NULL;
 *   mmoe_status st = mmoe_model_load_file("model.mmoe", &model);
 *   mmoe_session* session = NULL;
 *   st = mmoe_session_create(model, NULL, &session);
 *   st = mmoe_session_score(session, features, n_items, scores, n_items * mmoe_model_num_tasks(model));
 *   if (st != MMOE_OK) fprintf(stderr, "%s\n", mmoe_last_error());
 *   mmoe_session_destroy(session);
 *   mmoe_model_destroy(model);
 *
 * Every function returns a status code; the message of the calling thread's last failure is
 * mmoe_last_error(). No C++ exception crosses this API. A session keeps its model alive, so
 * the model may be destroyed before its sessions. Score calls never allocate.
 *
 * Threads: a model may be shared by any number of threads. A session may not: it holds one
 * call's scratch memory, so two threads scoring through one session at once get wrong scores
 * and no error. Give each thread its own session (mmoe_session_options.threads splits one
 * call's work over threads the session owns).
 */
#ifndef MMOE_MMOE_C_H_
#define MMOE_MMOE_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Same values as mmoe::StatusCode. */
typedef enum mmoe_status {
  MMOE_OK = 0,
  MMOE_INVALID_ARGUMENT = 1,
  MMOE_IO_ERROR = 2,
  MMOE_NOT_A_MODEL = 3,
  MMOE_UNSUPPORTED_VERSION = 4,
  MMOE_CORRUPT_MODEL = 5,
  MMOE_INVALID_MODEL = 6,
  MMOE_BUFFER_TOO_SMALL = 7,
  MMOE_UNAVAILABLE = 8,
  MMOE_OUT_OF_MEMORY = 9,
  MMOE_INTERNAL = 10,
  MMOE_CHECKSUM_MISMATCH = 11,
  MMOE_UNSUPPORTED_FEATURE = 12
} mmoe_status;

/* Same values as mmoe::Backend. */
typedef enum mmoe_backend {
  MMOE_BACKEND_AUTO = 0,      /* the fastest available on this CPU */
  MMOE_BACKEND_REFERENCE = 1, /* scalar specification kernels */
  MMOE_BACKEND_SIMD = 2,      /* fused SIMD kernels, ISA chosen from the CPU */
  MMOE_BACKEND_XNNPACK = 3    /* XNNPACK for the int8 layers (builds with MMOE_WITH_XNNPACK) */
} mmoe_backend;

typedef struct mmoe_model mmoe_model;
typedef struct mmoe_session mmoe_session;

typedef struct mmoe_session_options {
  mmoe_backend backend; /* MMOE_BACKEND_AUTO */
  int tile_items;       /* 0: the backend's choice (64 or 256); else items processed together */
  const char* isa;      /* NULL: the best the CPU supports; else e.g. "avx2", "neon" */
  int threads;          /* 1; threads splitting a score call's tiles */
} mmoe_session_options;

/* Library version, e.g. "0.1.0". */
const char* mmoe_version(void);
/* Message of this thread's last failed call ("" if none). Valid until the next failing call. */
const char* mmoe_last_error(void);
/* Name of a status code, e.g. "INVALID_MODEL". */
const char* mmoe_status_name(mmoe_status status);

/* Maps and verifies a model file. The file is mapped, not copied: it must stay unchanged while
 * the model lives. A write to it changes what a reference-backend session reads, and
 * truncating it makes reads fault (SIGBUS), as with any shared mapping (TensorFlow Lite's
 * too). Where the file may change under the app, read it and use mmoe_model_load_buffer with
 * copy != 0. */
mmoe_status mmoe_model_load_file(const char* path, mmoe_model** model);
/* Verifies a model in memory: copied when copy != 0, else borrowed (the caller keeps it alive
 * and unchanged, 8-byte aligned, until the model and all its sessions are destroyed). */
mmoe_status mmoe_model_load_buffer(const void* data, size_t size, int copy, mmoe_model** model);
void mmoe_model_destroy(mmoe_model* model); /* NULL is ignored */

int mmoe_model_input_dim(const mmoe_model* model);
int mmoe_model_num_tasks(const mmoe_model* model);
/* NULL when out of range. */
const char* mmoe_model_task_name(const mmoe_model* model, int task);
const char* mmoe_model_name(const mmoe_model* model);

/* Same values as mmoe::InputKind and mmoe::DataType. */
typedef enum mmoe_input_kind {
  MMOE_INPUT_DENSE = 0, /* width float32 features per item */
  MMOE_INPUT_IDS = 1,   /* one id per item */
  MMOE_INPUT_BAG = 2    /* any number of ids per item, pooled by the model */
} mmoe_input_kind;
typedef enum mmoe_data_type { MMOE_FLOAT32 = 0, MMOE_INT32 = 1, MMOE_INT64 = 2 } mmoe_data_type;

/* The model's inputs, in the order mmoe_session_score_inputs takes them by position. */
int mmoe_model_num_inputs(const mmoe_model* model);
/* NULL when out of range. */
const char* mmoe_model_input_name(const mmoe_model* model, int input);
/* -1 when out of range. */
int mmoe_model_input_kind(const mmoe_model* model, int input);
/* dense: floats per item; ids and bag: 1; 0 when out of range. */
int mmoe_model_input_width(const mmoe_model* model, int input);
/* ids and bag: the valid ids are [0, rows); 0 otherwise. */
int64_t mmoe_model_input_rows(const mmoe_model* model, int input);
/* -1 if no input has that name. */
int mmoe_model_input_index(const mmoe_model* model, const char* name);
/* Format 2.2: the name of the float row that packs every input (e.g. DeepCTR-Torch's "X"), which
 * mmoe_session_score takes as features (input_dim floats per item), or NULL; input `input` sits
 * in its columns [first, first + count) (*first and *count -1 when out of range or not packed). */
const char* mmoe_model_packed_input_name(const mmoe_model* model);
void mmoe_model_packed_columns(const mmoe_model* model, int input, int* first, int* count);

/* One input's values for the n_items of a score call (as mmoe::InputView):
 *   dense: data holds n_items x width float32 (size = n_items * width);
 *   ids:   data holds n_items ids (type MMOE_INT32 or MMOE_INT64);
 *   bag:   data holds every item's ids back to back (size in all), item i's being
 *          [offsets[i], offsets[i + 1]): n_items + 1 non-decreasing offsets from 0 to size.
 * With name set, inputs are matched by name; without, by position. */
typedef struct mmoe_input {
  const char* name;
  const void* data;
  mmoe_data_type type;
  size_t size;
  const int64_t* offsets;
} mmoe_input;

/* Fills the defaults. */
void mmoe_session_options_init(mmoe_session_options* options);
/* options may be NULL (defaults). */
mmoe_status mmoe_session_create(const mmoe_model* model, const mmoe_session_options* options,
                                mmoe_session** session);
void mmoe_session_destroy(mmoe_session* session); /* NULL is ignored */

/* features: n_items x input_dim float32; scores: n_items x num_tasks float32, capacity in floats. */
mmoe_status mmoe_session_score(mmoe_session* session, const float* features, size_t n_items, float* scores,
                               size_t scores_capacity);
/* Any model: one mmoe_input per model input. Every input is checked (sizes, types, offsets, ids
 * against the tables) before any item is scored; an error names the input and the item. */
mmoe_status mmoe_session_score_inputs(mmoe_session* session, const mmoe_input* inputs, size_t num_inputs,
                                      size_t n_items, float* scores, size_t scores_capacity);
/* features already quantized with the model's input quantization (int8; a model whose input
 * is int16, format 2.3, gives MMOE_INVALID_ARGUMENT). */
mmoe_status mmoe_session_score_quantized(mmoe_session* session, const int8_t* features, size_t n_items,
                                         float* scores, size_t scores_capacity);
size_t mmoe_session_arena_bytes(const mmoe_session* session);
/* Items per tile: the options' tile_items, or the backend's choice when that was 0 (0 for a
 * NULL session). */
int mmoe_session_tile_items(const mmoe_session* session);

#ifdef __cplusplus
}
#endif

#endif /* MMOE_MMOE_C_H_ */
