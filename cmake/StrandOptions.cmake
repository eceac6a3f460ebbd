# Build options, CUDA detection and compiler flags.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
# A rebuilt shared library (every layer is one) does not relink what links it: symbols resolve
# at load time, and a changed header recompiles its users anyway. Without this, the build commit
# recorded in libstrand_core (cmake/WriteCommit.cmake) would relink every program per commit.
set(CMAKE_LINK_DEPENDS_NO_SHARED ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

option(STRAND_BUILD_TESTS "Build the GoogleTest suite" ON)
option(STRAND_BUILD_BENCHMARKS "Build the Google Benchmark programs" ON)

# STRAND_CUDA: AUTO (on when nvcc is found), ON (required) or OFF.
set(STRAND_CUDA AUTO CACHE STRING "Build the CUDA backend: AUTO, ON or OFF")
set_property(CACHE STRAND_CUDA PROPERTY STRINGS AUTO ON OFF)
# STRAND_PYTHON: AUTO (on when the Python found, e.g. -DPython_EXECUTABLE=venv/bin/python, has
# nanobind), ON (required) or OFF. Builds the extension strand._strand (python/).
set(STRAND_PYTHON AUTO CACHE STRING "Build the Python package: AUTO, ON or OFF")
set_property(CACHE STRAND_PYTHON PROPERTY STRINGS AUTO ON OFF)
# STRAND_SANITIZE: a CPU-only clang build with AddressSanitizer + UndefinedBehaviorSanitizer
# (scripts/sanitize.sh): the libraries up to train/, the CPU test subset named in
# cmake/StrandTargets.cmake and the libFuzzer harnesses of fuzz/. No CUDA, Python or benchmarks.
option(STRAND_SANITIZE "CPU-only ASan+UBSan clang build: tests subset and fuzz harnesses" OFF)
if(STRAND_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "STRAND_SANITIZE needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  set(STRAND_CUDA OFF CACHE STRING "" FORCE)
  set(STRAND_PYTHON OFF CACHE STRING "" FORCE)
  set(STRAND_BUILD_BENCHMARKS OFF CACHE BOOL "" FORCE)
  # Every object gets the sanitizers and libFuzzer's coverage counters; any report aborts, so a
  # test or a fuzz run fails on it.
  add_compile_options(-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
set(STRAND_WITH_PYTHON OFF)
if(STRAND_PYTHON STREQUAL "ON")
  set(STRAND_WITH_PYTHON ON)
elseif(STRAND_PYTHON STREQUAL "AUTO")
  find_package(Python 3.9 COMPONENTS Interpreter Development.Module)
  if(Python_FOUND)
    execute_process(COMMAND "${Python_EXECUTABLE}" -c "import nanobind"
                    RESULT_VARIABLE nanobind_missing OUTPUT_QUIET ERROR_QUIET)
    if(nanobind_missing EQUAL 0)
      set(STRAND_WITH_PYTHON ON)
    endif()
  endif()
endif()
message(STATUS "strand: Python package ${STRAND_WITH_PYTHON}")
set(STRAND_MPI AUTO CACHE STRING "Build the MPI communicator: AUTO, ON or OFF")
set_property(CACHE STRAND_MPI PROPERTY STRINGS AUTO ON OFF)

set(STRAND_WITH_CUDA OFF)
if(NOT STRAND_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90 CACHE STRING "CUDA architectures (90 = Hopper)")
    endif()
    enable_language(CUDA)
    # CMake 3.25 does not know nvcc's C++20 flag; teach it, then ask for C++20 as for C++.
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(STRAND_WITH_CUDA ON)
    # CuTe/CUTLASS headers for the Hopper kernels (kernels/**/*_sm90a.cu); scripts/setup.sh puts
    # the pinned release under /opt/strand-tools.
    file(GLOB cutlass_hints /opt/strand-tools/cutlass-*/include)
    find_path(STRAND_CUTLASS_INCLUDE cute/tensor.hpp
              HINTS ${cutlass_hints} ENV CUTLASS_INCLUDE PATHS /usr/local/cuda/include /usr/include)
    if(NOT STRAND_CUTLASS_INCLUDE)
      message(FATAL_ERROR "The CUDA backend needs the CUTLASS 4.2 headers (cute/tensor.hpp): run "
                          "scripts/setup.sh, or pass -DSTRAND_CUTLASS_INCLUDE=<dir>, or "
                          "-DSTRAND_CUDA=OFF")
    endif()
    message(STATUS "strand: CUTLASS headers ${STRAND_CUTLASS_INCLUDE}")
  elseif(STRAND_CUDA STREQUAL "ON")
    message(FATAL_ERROR "STRAND_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
endif()
message(STATUS "strand: CUDA backend ${STRAND_WITH_CUDA}")

set(STRAND_CXX_WARNINGS -Wall -Wextra -Wno-unused-parameter)
# Lets GCC turn branches such as relu's x > 0 ? x : 0 into vector selects; strand never reads
# floating-point exception flags, so no result changes.
set(STRAND_CXX_FLAGS -fno-trapping-math)
find_package(OpenMP REQUIRED COMPONENTS CXX)

