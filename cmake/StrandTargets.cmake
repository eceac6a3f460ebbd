# Helpers that turn the folder conventions into targets, so adding a file needs no CMake edit:
#   <layer>/**/*.cpp and *.cu        -> that layer's library (*.cu only when CUDA is on)
#   apps/*.cpp                       -> the `strand` program
#   examples/*.cpp                   -> one program each
#   tests/**/*_test.cpp              -> one GoogleTest program each, label cpu
#   tests/**/*_cuda_test.cpp         -> label gpu, built only with CUDA (tests skip without a device)
#   tests/**/*_mpi_test.cpp          -> label mpi, run under `mpirun -np 2` (and -np 3 when the
#                                       file name ends in _mpi3_test.cpp)
#   tests/**/*_slow_test.cpp         -> label slow
#   tests/apps/*_test.cpp            -> also get STRAND_CLI_PATH, the built `strand` program
#   bench/*.cpp                      -> one Google Benchmark program each
set(STRAND_LIBRARIES "" CACHE INTERNAL "")

function(strand_add_library name)
  cmake_parse_arguments(ARG "" "FOLDER" "DEPS" ${ARGN})
  # What linking this layer means: itself, or (while it has no sources) what it would link.
  set(links "")
  foreach(dep ${ARG_DEPS})
    get_property(dep_links GLOBAL PROPERTY STRAND_LINK_${dep})
    if(dep_links)
      list(APPEND links ${dep_links})
    else()
      list(APPEND links ${dep})
    endif()
  endforeach()
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${ARG_FOLDER}/*.cpp)
  set(hopper_sources "")
  if(STRAND_WITH_CUDA)
    file(GLOB_RECURSE cuda_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${ARG_FOLDER}/*.cu)
    # *_sm90a.cu use Hopper-only instructions (wgmma, TMA, setmaxnreg): compiled for sm_90a alone
    # and dispatched only on compute capability 9.0.
    set(hopper_sources ${cuda_sources})
    list(FILTER hopper_sources INCLUDE REGEX "_sm90a\\.cu$")
    list(FILTER cuda_sources EXCLUDE REGEX "_sm90a\\.cu$")
    list(APPEND sources ${cuda_sources})
  endif()
  if(NOT sources)
    set_property(GLOBAL PROPERTY STRAND_LINK_${name} ${links})
    return()
  endif()
  add_library(${name} SHARED ${sources})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${links})
  target_compile_options(${name} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${STRAND_CXX_WARNINGS} ${STRAND_CXX_FLAGS}>)
  if(STRAND_WITH_CUDA)
    # ptxas refuses register spills and any local memory (a run-time-indexed register array, a
    # stack frame): both are slow paths a GPU run would be the first to notice. The same rule is
    # read back from the built library by scripts/sass-check.py (ctest cuda_sass_check).
    set(cuda_flags --expt-relaxed-constexpr --extended-lambda -lineinfo
        -Xptxas=--warn-on-spills,--warn-on-local-memory-usage,--warning-as-error)
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:${cuda_flags}>)
    if(hopper_sources)
      add_library(${name}_sm90a OBJECT ${hopper_sources})
      set_target_properties(${name}_sm90a PROPERTIES CUDA_ARCHITECTURES 90a
                                                     POSITION_INDEPENDENT_CODE ON)
      target_include_directories(${name}_sm90a PRIVATE ${CMAKE_SOURCE_DIR})
      target_include_directories(${name}_sm90a SYSTEM PRIVATE ${STRAND_CUTLASS_INCLUDE})
      target_link_libraries(${name}_sm90a PRIVATE ${links})
      target_compile_options(${name}_sm90a PRIVATE ${cuda_flags})
      target_sources(${name} PRIVATE $<TARGET_OBJECTS:${name}_sm90a>)
    endif()
  endif()
  set_property(GLOBAL PROPERTY STRAND_LINK_${name} ${name})
  set(STRAND_LIBRARIES ${STRAND_LIBRARIES} ${name} CACHE INTERNAL "")
endfunction()

function(strand_test_name out path)
  file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR}/tests ${path})
  string(REGEX REPLACE "_test\\.cpp$" "" rel ${rel})
  string(REPLACE "/" "_" rel ${rel})
  set(${out} test_${rel} PARENT_SCOPE)
endfunction()

# The CPU tests the sanitizer build (STRAND_SANITIZE) runs: the readers and writers of untrusted
# files and what lies under them, as many as CI's time allows (paths under tests/, no _test.cpp;
# kernels/rnn keeps the use-after-free of issue 23 fixed).
set(STRAND_SANITIZE_TESTS
  core/checked
  data/fasta data/labels data/bed data/text_reader
  runtime/safetensors runtime/file_io
  rules/sequence_stream
  layers/model_file
  train/config train/checkpoint
  kernels/rnn)
# Sanitizer reports abort the test; OpenMPI's own leaks are suppressed (fuzz/lsan.supp).
set(STRAND_SANITIZE_ENV
  "ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:detect_stack_use_after_return=1"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  "LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/fuzz/lsan.supp:print_suppressions=0")

function(strand_add_tests)
  file(GLOB_RECURSE support CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/support/*.cpp)
  add_library(strand_test_support STATIC ${support})
  target_link_libraries(strand_test_support PUBLIC strand_all GTest::gtest GTest::gmock)
  target_include_directories(strand_test_support PUBLIC ${CMAKE_SOURCE_DIR})

  file(GLOB_RECURSE tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/*_test.cpp)
  find_program(MPIEXEC_BIN NAMES mpirun mpiexec)
  foreach(path ${tests})
    strand_test_name(name ${path})
    if(STRAND_SANITIZE)
      file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR}/tests ${path})
      string(REGEX REPLACE "_test\\.cpp$" "" rel ${rel})
      if(NOT rel IN_LIST STRAND_SANITIZE_TESTS)
        continue()
      endif()
    endif()
    set(label cpu)
    if(path MATCHES "_cuda_test\\.cpp$")
      if(NOT STRAND_WITH_CUDA)
        continue()
      endif()
      set(label gpu)
    elseif(path MATCHES "_mpi3?_test\\.cpp$")
      if(NOT STRAND_WITH_MPI)
        continue()
      endif()
      set(label mpi)
    elseif(path MATCHES "_slow_test\\.cpp$")
      set(label slow)
    endif()
    add_executable(${name} ${path})
    target_link_libraries(${name} PRIVATE strand_test_support GTest::gtest_main)
    # Tests reading files the repository ships (data/motifs/*.meme) find them here.
    target_compile_definitions(${name} PRIVATE STRAND_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
    if(path MATCHES "/tests/apps/" AND TARGET strand_cli)
      # Command-line tests run the real `strand` program.
      add_dependencies(${name} strand_cli)
      target_compile_definitions(${name} PRIVATE STRAND_CLI_PATH="$<TARGET_FILE:strand_cli>")
    endif()
    target_compile_options(${name} PRIVATE ${STRAND_CXX_WARNINGS})
    if(label STREQUAL "mpi")
      # Whole programs under a real launcher: one CTest entry per process count.
      set(counts 2)
      if(path MATCHES "_mpi3_test\\.cpp$")
        list(APPEND counts 3)
      endif()
      foreach(np ${counts})
        add_test(NAME ${name}_np${np}
                 COMMAND ${MPIEXEC_BIN} --allow-run-as-root --oversubscribe --bind-to none
                         -np ${np} $<TARGET_FILE:${name}>)
        # The ranks share the cores: one OpenMP and one OpenBLAS thread each, since spinning
        # OpenMP teams on oversubscribed cores stall each other by orders of magnitude.
        set_tests_properties(${name}_np${np} PROPERTIES LABELS mpi TIMEOUT 300
                             ENVIRONMENT "OMPI_MCA_btl=self,tcp;OMPI_MCA_btl_tcp_if_include=lo;OMPI_MCA_oob_tcp_if_include=lo;OMP_NUM_THREADS=1;OPENBLAS_NUM_THREADS=1")
      endforeach()
    else()
      # ctest runs one test per core, so each gets one OpenMP and one OpenBLAS thread.
      set(env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1)
      if(STRAND_SANITIZE)
        list(APPEND env ${STRAND_SANITIZE_ENV})
      endif()
      gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
                           PROPERTIES LABELS ${label} TIMEOUT 600 ENVIRONMENT "${env}"
                           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
    endif()
  endforeach()
endfunction()

function(strand_add_benchmarks)
  file(GLOB benches CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bench/*.cpp)
  foreach(path ${benches})
    get_filename_component(stem ${path} NAME_WE)
    add_executable(bench_${stem} ${path})
    target_link_libraries(bench_${stem} PRIVATE strand_all benchmark::benchmark)
    target_compile_options(bench_${stem} PRIVATE ${STRAND_CXX_WARNINGS})
  endforeach()
endfunction()

function(strand_add_cli)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/apps/*.cpp)
  if(NOT sources)
    return()
  endif()
  add_executable(strand_cli ${sources})
  set_target_properties(strand_cli PROPERTIES OUTPUT_NAME strand)
  target_link_libraries(strand_cli PRIVATE strand_all)
  target_compile_options(strand_cli PRIVATE ${STRAND_CXX_WARNINGS})
endfunction()

function(strand_add_examples)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/examples/*.cpp)
  foreach(path ${sources})
    get_filename_component(stem ${path} NAME_WE)
    add_executable(example_${stem} ${path})
    target_link_libraries(example_${stem} PRIVATE strand_all)
    target_compile_options(example_${stem} PRIVATE ${STRAND_CXX_WARNINGS})
  endforeach()
endfunction()
