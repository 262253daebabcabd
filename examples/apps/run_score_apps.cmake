# ctest driver (cmake -P) for examples.score_apps: turns eval.npy into a headerless .f32,
# runs score_c and score_cpp on it, and fails unless both succeed with identical output.
#
#   cmake -DSCORE_C=... -DSCORE_CPP=... -DMODEL=seed.mmoe -DEVAL_NPY=eval.npy -DWORK_DIR=dir
#         -P run_score_apps.cmake
cmake_minimum_required(VERSION 3.18)

foreach(var SCORE_C SCORE_CPP MODEL EVAL_NPY WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_score_apps.cmake: -D${var}=... is required")
  endif()
endforeach()
file(MAKE_DIRECTORY ${WORK_DIR})

# .npy v1: 6-byte magic, 2-byte version, 2-byte little-endian header length, header text.
# Read the length rather than assume the seed's 128 bytes, and the row count from the shape.
file(READ ${EVAL_NPY} prefix LIMIT 10 HEX)
if(NOT prefix MATCHES "^934e554d50590100")
  message(FATAL_ERROR "${EVAL_NPY}: not a version 1.0 .npy file")
endif()
string(SUBSTRING ${prefix} 16 2 len_lo)
string(SUBSTRING ${prefix} 18 2 len_hi)
math(EXPR data_offset "10 + 0x${len_lo} + 256 * 0x${len_hi}")
file(STRINGS ${EVAL_NPY} header LIMIT_INPUT ${data_offset} REGEX "'shape': \\(")
if(NOT header MATCHES "'descr': '<f4'.*'shape': \\(([0-9]+), [0-9]+\\)")
  message(FATAL_ERROR "${EVAL_NPY}: expected a 2-D little-endian float32 array, header: ${header}")
endif()
set(rows ${CMAKE_MATCH_1})

# Strip the header. tail is fine: these tests run on Linux (CMake cannot write binary data).
set(features ${WORK_DIR}/eval.f32)
math(EXPR tail_start "${data_offset} + 1")
execute_process(COMMAND tail -c +${tail_start} ${EVAL_NPY} OUTPUT_FILE ${features} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tail -c +${tail_start} ${EVAL_NPY} failed: ${rc}")
endif()

foreach(app SCORE_C SCORE_CPP)
  string(TOLOWER ${app} name)
  execute_process(COMMAND ${${app}} ${MODEL} ${features} ${rows} ${WORK_DIR}/${name}.scores.f32
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out_${name} ERROR_VARIABLE err)
  message("---- ${name} ${rows} rows (exit ${rc}):\n${out_${name}}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name} failed with exit code ${rc}")
  endif()
endforeach()

if(NOT out_score_c MATCHES "scored ${rows} rows")
  message(FATAL_ERROR "score_c did not report scoring ${rows} rows")
endif()
if(NOT out_score_c STREQUAL out_score_cpp)
  message(FATAL_ERROR "score_c and score_cpp printed different output")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK_DIR}/score_c.scores.f32
                        ${WORK_DIR}/score_cpp.scores.f32 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "score_c and score_cpp wrote different score files")
endif()
message("score_c and score_cpp agree on all ${rows} rows")
