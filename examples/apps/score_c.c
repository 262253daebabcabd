/* score_c: scores raw float32 feature rows with an mmoe-edge model through the C API.
 *
 *   score_c MODEL.mmoe FEATURES.f32 N [SCORES.f32]
 *
 * FEATURES.f32 holds N x input_dim little-endian float32 values, row-major, no header.
 * Prints "row task score" lines for the first rows and a per-task summary; with SCORES.f32,
 * also writes all N x num_tasks scores there as little-endian float32.
 * score_cpp prints exactly the same text with the C++ API; keep the two in step.
 *
 * Plain C99 on purpose: this file is also the check that mmoe_c.h compiles as C.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmoe/mmoe_c.h"

enum { kRowsShown = 5 };

/* Decodes little-endian float32 in place, whatever the host byte order. */
static void FromLittleEndian(float* values, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i) {
    const unsigned char* b = (const unsigned char*)&values[i];
    const uint32_t bits = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    memcpy(&values[i], &bits, sizeof bits);
  }
}

/* Encodes host floats as little-endian float32 in place (the inverse of FromLittleEndian). */
static void ToLittleEndian(float* values, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i) {
    uint32_t bits;
    unsigned char* b = (unsigned char*)&values[i];
    memcpy(&bits, &values[i], sizeof bits);
    b[0] = (unsigned char)(bits & 0xFF);
    b[1] = (unsigned char)(bits >> 8 & 0xFF);
    b[2] = (unsigned char)(bits >> 16 & 0xFF);
    b[3] = (unsigned char)(bits >> 24 & 0xFF);
  }
}

/* Parses a positive row count; 0 on anything else. */
static size_t ParseRows(const char* text) {
  char* end = NULL;
  unsigned long long n;
  if (text[0] < '0' || text[0] > '9') return 0;
  errno = 0;
  n = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || n > (unsigned long long)SIZE_MAX) return 0;
  return (size_t)n;
}

/* Reads exactly `count` float32 values from the start of `path`. Returns 0 on success. */
static int ReadFeatures(const char* path, float* out, size_t count) {
  size_t got;
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "score_c: cannot open features '%s': %s\n", path, strerror(errno));
    return 1;
  }
  got = fread(out, sizeof(float), count, f);
  fclose(f);
  if (got != count) {
    fprintf(stderr, "score_c: '%s' holds %zu float32 values, expected %zu (N x input_dim)\n", path, got,
            count);
    return 1;
  }
  FromLittleEndian(out, count);
  return 0;
}

static int WriteScores(const char* path, float* scores, size_t count) {
  int failed;
  FILE* f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "score_c: cannot create '%s': %s\n", path, strerror(errno));
    return 1;
  }
  ToLittleEndian(scores, count);
  failed = fwrite(scores, sizeof(float), count, f) != count;
  failed |= fclose(f) != 0;
  if (failed) fprintf(stderr, "score_c: cannot write '%s'\n", path);
  return failed;
}

static void PrintScores(const mmoe_model* model, const float* scores, size_t n_rows) {
  const int n_tasks = mmoe_model_num_tasks(model);
  const size_t shown = n_rows < kRowsShown ? n_rows : kRowsShown;
  size_t row;
  int t;
  printf("row task score\n");
  for (row = 0; row < shown; ++row) {
    for (t = 0; t < n_tasks; ++t) {
      /* %.9g round-trips a float32, so equal text means equal scores. */
      printf("%zu %s %.9g\n", row, mmoe_model_task_name(model, t), scores[row * n_tasks + t]);
    }
  }
  printf("scored %zu rows x %d tasks with model '%s'\n", n_rows, n_tasks, mmoe_model_name(model));
  for (t = 0; t < n_tasks; ++t) {
    double sum = 0.0;
    for (row = 0; row < n_rows; ++row) sum += scores[row * n_tasks + t];
    printf("mean %s %.9g\n", mmoe_model_task_name(model, t), sum / (double)n_rows);
  }
}

/* Prints the failed call's status and message; returns the process exit code. */
static int Fail(const char* what, mmoe_status status) {
  fprintf(stderr, "score_c: %s failed: %s: %s\n", what, mmoe_status_name(status), mmoe_last_error());
  return 1;
}

static int Run(const char* model_path, const char* features_path, size_t n_rows, const char* scores_path) {
  mmoe_model* model = NULL;
  mmoe_session* session = NULL;
  float* features = NULL;
  float* scores = NULL;
  size_t n_features, n_scores, widest;
  int rc = 1;
  mmoe_status st = mmoe_model_load_file(model_path, &model);
  if (st != MMOE_OK) return Fail("loading the model", st);
  st = mmoe_session_create(model, NULL, &session);
  if (st != MMOE_OK) {
    rc = Fail("creating a session", st);
    goto done;
  }
  widest = (size_t)mmoe_model_input_dim(model);
  if ((size_t)mmoe_model_num_tasks(model) > widest) widest = (size_t)mmoe_model_num_tasks(model);
  if (n_rows > SIZE_MAX / sizeof(float) / widest) {
    fprintf(stderr, "score_c: %zu rows is too many\n", n_rows);
    goto done;
  }
  n_features = n_rows * (size_t)mmoe_model_input_dim(model);
  n_scores = n_rows * (size_t)mmoe_model_num_tasks(model);
  features = (float*)malloc(n_features * sizeof(float));
  scores = (float*)malloc(n_scores * sizeof(float));
  if (!features || !scores) {
    fprintf(stderr, "score_c: out of memory for %zu rows\n", n_rows);
    goto done;
  }
  if (ReadFeatures(features_path, features, n_features) != 0) goto done;
  st = mmoe_session_score(session, features, n_rows, scores, n_scores);
  if (st != MMOE_OK) {
    rc = Fail("scoring", st);
    goto done;
  }
  PrintScores(model, scores, n_rows);
  rc = scores_path ? WriteScores(scores_path, scores, n_scores) : 0;
done:
  free(scores);
  free(features);
  mmoe_session_destroy(session);
  mmoe_model_destroy(model);
  return rc;
}

int main(int argc, char** argv) {
  size_t n_rows;
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s MODEL.mmoe FEATURES.f32 N [SCORES.f32]\n", argv[0]);
    return 2;
  }
  n_rows = ParseRows(argv[3]);
  if (n_rows == 0) {
    fprintf(stderr, "score_c: N must be a positive row count, got '%s'\n", argv[3]);
    return 2;
  }
  return Run(argv[1], argv[2], n_rows, argc == 5 ? argv[4] : NULL);
}
