# Generates the C++ header for schema/mmoe.fbs with the build host's flatc.
# Cross builds set FLATC to a host flatc when the default search would find none.
find_program(FLATC flatc REQUIRED)
find_path(FLATBUFFERS_INCLUDE_DIR flatbuffers/flatbuffers.h REQUIRED)

set(MMOE_SCHEMA ${PROJECT_SOURCE_DIR}/schema/mmoe.fbs)
set(MMOE_GENERATED_DIR ${PROJECT_BINARY_DIR}/generated)
set(MMOE_SCHEMA_HEADER ${MMOE_GENERATED_DIR}/mmoe_generated.h)

add_custom_command(
  OUTPUT ${MMOE_SCHEMA_HEADER}
  COMMAND ${FLATC} --cpp --scoped-enums -o ${MMOE_GENERATED_DIR} ${MMOE_SCHEMA}
  DEPENDS ${MMOE_SCHEMA}
  COMMENT "flatc: generating the model file's C++ accessors from schema/mmoe.fbs")
add_custom_target(mmoe_schema DEPENDS ${MMOE_SCHEMA_HEADER})

# Interface target: the generated header and FlatBuffers' header-only library.
add_library(mmoe_schema_headers INTERFACE)
add_dependencies(mmoe_schema_headers mmoe_schema)
target_include_directories(mmoe_schema_headers INTERFACE
  $<BUILD_INTERFACE:${MMOE_GENERATED_DIR}> $<BUILD_INTERFACE:${FLATBUFFERS_INCLUDE_DIR}>)
