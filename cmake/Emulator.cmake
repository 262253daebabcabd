# mmoe_runnable(TARGET VAR): sets VAR to a command that runs TARGET's executable. Natively that
# is the executable itself; in a cross build with CMAKE_CROSSCOMPILING_EMULATOR it is a small
# generated wrapper, `emulator executable "$@"`, so that tests which pass programs to scripts
# (cmake -P, bash) run them under qemu too.
function(mmoe_runnable target var)
  if(NOT (CMAKE_CROSSCOMPILING AND CMAKE_CROSSCOMPILING_EMULATOR))
    set(${var} $<TARGET_FILE:${target}> PARENT_SCOPE)
    return()
  endif()
  if(CMAKE_VERSION VERSION_LESS 3.20)
    message(FATAL_ERROR "Testing a cross build needs CMake 3.20 or newer (file(GENERATE) FILE_PERMISSIONS)")
  endif()
  set(emulator "")
  foreach(arg IN LISTS CMAKE_CROSSCOMPILING_EMULATOR)
    string(APPEND emulator "'${arg}' ")
  endforeach()
  set(wrapper ${PROJECT_BINARY_DIR}/emulated/${target}.sh)
  set(${var} ${wrapper} PARENT_SCOPE)
  # Several directories may ask for the same program: generate its wrapper once.
  get_property(done GLOBAL PROPERTY MMOE_EMULATED_${target})
  if(done)
    return()
  endif()
  set_property(GLOBAL PROPERTY MMOE_EMULATED_${target} TRUE)
  file(GENERATE OUTPUT ${wrapper}
       CONTENT "#!/bin/sh\nexec ${emulator}'$<TARGET_FILE:${target}>' \"$@\"\n"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endfunction()
