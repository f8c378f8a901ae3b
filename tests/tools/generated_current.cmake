# cmake -DGEN=roam-gen -DDEF=testbed.rs -DCOMMITTED=dir -DOUT=dir -P generated_current.cmake
# Fails when the committed generated code differs from roam-gen's output
# (regenerate: roam-gen -o tools/testbed/generated tools/testbed/testbed.rs).
file(MAKE_DIRECTORY ${OUT})
execute_process(COMMAND ${GEN} -o ${OUT} ${DEF} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "roam-gen failed on ${DEF}")
endif()
foreach(f testbed.h testbed.c)
  file(READ ${OUT}/${f} fresh)
  file(READ ${COMMITTED}/${f} committed)
  if(NOT fresh STREQUAL committed)
    message(FATAL_ERROR "${COMMITTED}/${f} is out of date: run\n"
                        "  roam-gen -o tools/testbed/generated tools/testbed/testbed.rs")
  endif()
endforeach()
