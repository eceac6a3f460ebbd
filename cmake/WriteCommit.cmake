# Writes OUT (a header defining STRAND_GIT_COMMIT) from the repository at SRC; run at every build
# (the strand_commit target), rewriting the file only when the commit changes, so `strand info`,
# checkpoints and benchmark output name the commit the binary was built from, not the one CMake
# was configured at, and an unchanged commit rebuilds nothing. "-dirty": uncommitted changes.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT commit)
  set(commit unknown)
else()
  execute_process(COMMAND git diff --quiet HEAD -- WORKING_DIRECTORY ${SRC}
                  RESULT_VARIABLE dirty ERROR_QUIET)
  if(dirty EQUAL 1)
    string(APPEND commit "-dirty")
  endif()
endif()
set(text "#define STRAND_GIT_COMMIT \"${commit}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
