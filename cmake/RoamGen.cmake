# roam_generate(<target> DEFINITIONS <file.rs>... [OUTPUT_DIR <dir>])
#
# Runs roam-gen at build time on each definition (Rust-syntax roam service
# definitions) and adds the generated <stem>.c to <target>, with <dir>
# (default: ${CMAKE_CURRENT_BINARY_DIR}/roam-gen) on its include path so
# that `#include "<stem>.h"` works. The definition file and roam-gen itself
# are dependencies: editing the definition regenerates the code.
#
# roam-gen is the in-tree target `roam-gen` when building roam itself, the
# imported target `roam::roam-gen` after find_package(roam), or else the
# program ROAM_GEN_EXECUTABLE (searched on PATH).
function(roam_generate target)
  cmake_parse_arguments(RG "" "OUTPUT_DIR" "DEFINITIONS" ${ARGN})
  if(NOT RG_DEFINITIONS)
    message(FATAL_ERROR "roam_generate(${target}): no DEFINITIONS given")
  endif()
  if(NOT RG_OUTPUT_DIR)
    set(RG_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/roam-gen)
  endif()
  if(TARGET roam-gen)
    set(_gen $<TARGET_FILE:roam-gen>)
    set(_gen_dep roam-gen)
  elseif(TARGET roam::roam-gen)
    set(_gen $<TARGET_FILE:roam::roam-gen>)
    set(_gen_dep roam::roam-gen)
  else()
    find_program(ROAM_GEN_EXECUTABLE roam-gen)
    if(NOT ROAM_GEN_EXECUTABLE)
      message(FATAL_ERROR "roam_generate: roam-gen not found (set ROAM_GEN_EXECUTABLE)")
    endif()
    set(_gen ${ROAM_GEN_EXECUTABLE})
    set(_gen_dep ${ROAM_GEN_EXECUTABLE})
  endif()
  file(MAKE_DIRECTORY ${RG_OUTPUT_DIR})
  foreach(def ${RG_DEFINITIONS})
    get_filename_component(_abs ${def} ABSOLUTE)
    get_filename_component(_stem ${def} NAME_WLE)
    set(_out ${RG_OUTPUT_DIR}/${_stem}.h ${RG_OUTPUT_DIR}/${_stem}.c)
    add_custom_command(
      OUTPUT ${_out}
      COMMAND ${_gen} -o ${RG_OUTPUT_DIR} ${_abs}
      DEPENDS ${_abs} ${_gen_dep}
      COMMENT "roam-gen ${def}"
      VERBATIM)
    target_sources(${target} PRIVATE ${_out})
  endforeach()
  target_include_directories(${target} PUBLIC ${RG_OUTPUT_DIR})
endfunction()
